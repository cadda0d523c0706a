//! An operator (事業者), identified by its corporate number.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "operator")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub corporate_number: String,
    pub name_ja: String,
    pub name_en: Option<String>,
    pub closed_on: Option<Date>,
    pub successor_corporate_number: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::designation::Entity")]
    Designation,
}

impl Related<super::designation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Designation.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
