//! A CI sector (重要インフラ分野).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "sector")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    pub position: i32,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
    pub source_code: String,
    pub source_locator: Option<String>,
    pub confirmed: bool,
    pub note: Option<String>,
    pub exhaustive: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
