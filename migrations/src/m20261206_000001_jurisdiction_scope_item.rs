//! A jurisdiction narrowed to one scope item of its sector or domain: co-competent
//! ministers for part of a field (ESPA finance: MOF beside the FSA for the deposit
//! insurance corporation; MOF and MAFF for the agricultural and fishery cooperatives'
//! savings insurance) without giving them the whole field. Null: the whole field, as
//! every row was before.
//!
//! Like `sector_code` / `domain_code`, one column per regime, each referencing its
//! regime's scope-item table (a column constraint: SQLite adds a foreign key to an
//! existing table only that way). That the item belongs to the row's own sector or
//! domain is checked where rows are written (the seed loader and proposals). Existing
//! rows keep null; the next reference-data sync adds the narrowed rows seed-data
//! states, through the audited path.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jurisdiction {
    Table,
    SectorItemCode,
    DomainItemCode,
}

/// `<column> text NULL REFERENCES <table> (code)`.
fn item_column(column: Jurisdiction, items: &str) -> ColumnDef {
    text_null(column).extra(format!("REFERENCES {items} (code)")).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (column, items) in
            [(Jurisdiction::SectorItemCode, "sector_scope_item"), (Jurisdiction::DomainItemCode, "domain_scope_item")]
        {
            manager
                .alter_table(
                    Table::alter().table(Jurisdiction::Table).add_column(item_column(column, items)).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
