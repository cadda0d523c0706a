//! A crosswalk link between a CI and an ESPA scope item.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "scope_item_link")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub sector_item_code: String,
    pub domain_item_code: String,
    pub relation: String,
    pub rationale: String,
    pub origin: String,
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
