//! A ministry's effective-dated jurisdiction over one sector or domain.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "jurisdiction")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub ministry_code: String,
    pub sector_code: Option<String>,
    pub domain_code: Option<String>,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
    pub source_code: String,
    pub source_locator: Option<String>,
    pub confirmed: bool,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
