//! Why a sector–domain link's declared relation stands although its scope-item links
//! imply another.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "crosswalk_override")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sector_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub domain_code: String,
    pub reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
