//! A duty triggered by a regime status.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "obligation_rule")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    pub legal_basis: String,
    pub triggered_by: String,
    /// Whom it binds (`Addressee::as_str`); null in rows (and recorded states) from before
    /// addressees existed, when every rule bound its regime's designees.
    pub binds: Option<String>,
    pub in_force_from: Option<Date>,
    pub description: Option<String>,
    pub position: i32,
    pub source_code: String,
    pub source_locator: Option<String>,
    pub confirmed: bool,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
