//! The law and article that define a scope item's business (`ScopeItem.legalBasis`),
//! where found. Existing rows start without one; the next reference-data sync fills in
//! what seed-data states.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SectorScopeItem {
    Table,
    LegalBasis,
}

#[derive(DeriveIden)]
enum DomainScopeItem {
    Table,
    LegalBasis,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SectorScopeItem::Table)
                    .add_column(text_null(SectorScopeItem::LegalBasis))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DomainScopeItem::Table)
                    .add_column(text_null(DomainScopeItem::LegalBasis))
                    .to_owned(),
            )
            .await
    }
}
