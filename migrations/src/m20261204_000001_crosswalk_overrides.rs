//! Why a sector–domain link may declare a relation its scope-item links do not imply
//! (the crosswalk's self-check, `crosswalkConsistency`, shows the reason). Seed-data
//! states the reasons; the table starts empty and the next reference-data sync fills it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CrosswalkOverride {
    Table,
    SectorCode,
    DomainCode,
    Reason,
}

#[derive(DeriveIden)]
enum Sector {
    Table,
    Code,
}

#[derive(DeriveIden)]
enum BusinessDomain {
    Table,
    Code,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CrosswalkOverride::Table)
                    .col(text(CrosswalkOverride::SectorCode))
                    .col(text(CrosswalkOverride::DomainCode))
                    .col(text(CrosswalkOverride::Reason))
                    .primary_key(Index::create().col(CrosswalkOverride::SectorCode).col(CrosswalkOverride::DomainCode))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_crosswalk_override_sector")
                            .from_col(CrosswalkOverride::SectorCode)
                            .to(Sector::Table, Sector::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_crosswalk_override_domain")
                            .from_col(CrosswalkOverride::DomainCode)
                            .to(BusinessDomain::Table, BusinessDomain::Code),
                    )
                    .to_owned(),
            )
            .await
    }
}
