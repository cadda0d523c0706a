//! A ministry's effective-dated jurisdiction over one sector or domain, or over one
//! scope item of it (`sector_item_code` / `domain_item_code`, its regime's column).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "jurisdiction")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub ministry_code: String,
    pub sector_code: Option<String>,
    pub domain_code: Option<String>,
    // Left out of the audit trail's row states when null, so a row that is not narrowed
    // reads as it did before the column existed.
    /// Narrowed to this CI scope item of the sector (co-competence for part of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_item_code: Option<String>,
    /// Narrowed to this ESPA scope item of the domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_item_code: Option<String>,
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
