//! A scope revision proposal (its changes and, once promoted, what it wrote, as JSON).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scope_proposal")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: String,
    pub effective_from: Date,
    pub version: i32,
    pub changes: String,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    pub updated_at: DateTimeUtc,
    pub promoted_at: Option<DateTimeUtc>,
    pub promoted_by: Option<String>,
    pub source_code: Option<String>,
    pub promoted_records: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
