//! One operator's status under one regime for one sector or domain, over a period.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "designation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub operator_id: Uuid,
    pub regime: String,
    pub sector_code: Option<String>,
    pub domain_code: Option<String>,
    pub sector_item_code: Option<String>,
    pub domain_item_code: Option<String>,
    pub effective_from: Date,
    pub effective_to: Option<Date>,
    pub status: String,
    pub legal_basis: Option<String>,
    pub reference: Option<String>,
    pub ministry_code: String,
    pub revocation_reason: Option<String>,
    pub revoked_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::operator::Entity", from = "Column::OperatorId", to = "super::operator::Column::Id")]
    Operator,
}

impl Related<super::operator::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Operator.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
