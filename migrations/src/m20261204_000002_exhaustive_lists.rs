//! Whether a sector's or domain's list of scope items is complete: false where the source
//! document's list ends in 「等」, so that a gap beside it may be an unlisted item rather
//! than a real gap. Existing rows are backfilled from the shipped data (CI finance, ESPA
//! electricity and finance); the next reference-data sync keeps them as seed-data says.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sector {
    Table,
    Exhaustive,
}

#[derive(DeriveIden)]
enum BusinessDomain {
    Table,
    Exhaustive,
}

const BACKFILL: [&str; 2] = [
    "UPDATE sector SET exhaustive = FALSE WHERE code = 'finance'",
    "UPDATE business_domain SET exhaustive = FALSE WHERE code IN ('electricity', 'finance')",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Sector::Table).add_column(boolean(Sector::Exhaustive).default(true)).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(BusinessDomain::Table)
                    .add_column(boolean(BusinessDomain::Exhaustive).default(true))
                    .to_owned(),
            )
            .await?;
        for statement in BACKFILL {
            manager.get_connection().execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
