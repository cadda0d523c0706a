//! The registry itself: operators and their designations over time.
//!
//! Periods of one operator under one regime for one sector-or-domain and scope item
//! never overlap. The database enforces it, so two concurrent writers cannot both
//! succeed: an exclusion constraint on PostgreSQL, a trigger on SQLite (where writers
//! are serialised, so the trigger's check cannot race).

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use crate::provenance::exactly_one_of;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Operator {
    Table,
    Id,
    CorporateNumber,
    NameJa,
    NameEn,
    ClosedOn,
    SuccessorCorporateNumber,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Designation {
    Table,
    Id,
    OperatorId,
    Regime,
    SectorCode,
    DomainCode,
    SectorItemCode,
    DomainItemCode,
    EffectiveFrom,
    EffectiveTo,
    Status,
    LegalBasis,
    Reference,
    MinistryCode,
    RevocationReason,
    RevokedAt,
    Version,
    CreatedAt,
    UpdatedAt,
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

#[derive(DeriveIden)]
enum SectorScopeItem {
    Table,
    Code,
    SectorCode,
}

#[derive(DeriveIden)]
enum DomainScopeItem {
    Table,
    Code,
    DomainCode,
}

#[derive(DeriveIden)]
enum Ministry {
    Table,
    Code,
}

/// Error text raised by the SQLite trigger; the service maps it to `CONFLICT`.
pub const OVERLAP_MESSAGE: &str = "designation_period_overlap";

const PG_EXCLUSION: &str = r#"
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE designation ADD CONSTRAINT designation_no_overlap EXCLUDE USING gist (
    operator_id WITH =,
    regime WITH =,
    (coalesce(sector_code, domain_code)) WITH =,
    (coalesce(sector_item_code, domain_item_code, '')) WITH =,
    daterange(effective_from, effective_to) WITH &&
);
"#;

fn sqlite_overlap_trigger(event: &str, exclude_self: &str) -> String {
    format!(
        r#"
CREATE TRIGGER designation_no_overlap_{name} BEFORE {event} ON designation
WHEN EXISTS (
    SELECT 1 FROM designation d
    WHERE d.operator_id = NEW.operator_id
      AND d.regime = NEW.regime
      AND coalesce(d.sector_code, d.domain_code) = coalesce(NEW.sector_code, NEW.domain_code)
      AND coalesce(d.sector_item_code, d.domain_item_code, '')
          = coalesce(NEW.sector_item_code, NEW.domain_item_code, '')
      AND (d.effective_to IS NULL OR NEW.effective_from < d.effective_to)
      AND (NEW.effective_to IS NULL OR d.effective_from < NEW.effective_to)
      -- empty periods (revoked before taking effect) overlap nothing, as in PostgreSQL
      AND (d.effective_to IS NULL OR d.effective_from < d.effective_to)
      AND (NEW.effective_to IS NULL OR NEW.effective_from < NEW.effective_to)
      {exclude_self}
)
BEGIN
    SELECT RAISE(ABORT, '{OVERLAP_MESSAGE}');
END;
"#,
        name = event.split_whitespace().next().unwrap_or(event).to_lowercase(),
    )
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
                    .table(Operator::Table)
                    .col(uuid(Operator::Id).primary_key())
                    .col(text_uniq(Operator::CorporateNumber))
                    .col(text(Operator::NameJa))
                    .col(text_null(Operator::NameEn))
                    .col(date_null(Operator::ClosedOn))
                    .col(text_null(Operator::SuccessorCorporateNumber))
                    .col(integer(Operator::Version).default(1))
                    .col(timestamp_with_time_zone(Operator::CreatedAt))
                    .col(timestamp_with_time_zone(Operator::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Designation::Table)
                    .col(uuid(Designation::Id).primary_key())
                    .col(uuid(Designation::OperatorId))
                    .col(text(Designation::Regime))
                    .col(text_null(Designation::SectorCode))
                    .col(text_null(Designation::DomainCode))
                    .col(text_null(Designation::SectorItemCode))
                    .col(text_null(Designation::DomainItemCode))
                    .col(date(Designation::EffectiveFrom))
                    .col(date_null(Designation::EffectiveTo))
                    .col(text(Designation::Status))
                    .col(text_null(Designation::LegalBasis))
                    .col(text_null(Designation::Reference))
                    .col(text(Designation::MinistryCode))
                    .col(text_null(Designation::RevocationReason))
                    .col(timestamp_with_time_zone_null(Designation::RevokedAt))
                    .col(integer(Designation::Version).default(1))
                    .col(timestamp_with_time_zone(Designation::CreatedAt))
                    .col(timestamp_with_time_zone(Designation::UpdatedAt))
                    .check(Expr::col(Designation::Regime).is_in(["CI", "ESPA"]))
                    .check(Expr::col(Designation::Status).is_in(["DESIGNATED", "REVOKED"]))
                    .check(exactly_one_of(Designation::SectorCode, Designation::DomainCode))
                    // CI designations point at a sector, ESPA ones at a business domain.
                    .check(
                        Cond::any()
                            .add(
                                Expr::col(Designation::Regime)
                                    .eq("CI")
                                    .and(Expr::col(Designation::SectorCode).is_not_null())
                                    .and(Expr::col(Designation::DomainItemCode).is_null()),
                            )
                            .add(
                                Expr::col(Designation::Regime)
                                    .eq("ESPA")
                                    .and(Expr::col(Designation::DomainCode).is_not_null())
                                    .and(Expr::col(Designation::SectorItemCode).is_null()),
                            ),
                    )
                    // effective_to = effective_from is an empty period: a designation
                    // revoked before it took effect.
                    .check(
                        Expr::col(Designation::EffectiveTo)
                            .is_null()
                            .or(Expr::col(Designation::EffectiveTo).gte(Expr::col(Designation::EffectiveFrom))),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_designation_operator")
                            .from_col(Designation::OperatorId)
                            .to(Operator::Table, Operator::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_designation_sector")
                            .from_col(Designation::SectorCode)
                            .to(Sector::Table, Sector::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_designation_domain")
                            .from_col(Designation::DomainCode)
                            .to(BusinessDomain::Table, BusinessDomain::Code),
                    )
                    // Composite keys: a scope item must belong to the designation's own
                    // sector or domain (not checked while the item is null).
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_designation_sector_item")
                            .from_col(Designation::SectorCode)
                            .from_col(Designation::SectorItemCode)
                            .to_tbl(SectorScopeItem::Table)
                            .to_col(SectorScopeItem::SectorCode)
                            .to_col(SectorScopeItem::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_designation_domain_item")
                            .from_col(Designation::DomainCode)
                            .from_col(Designation::DomainItemCode)
                            .to_tbl(DomainScopeItem::Table)
                            .to_col(DomainScopeItem::DomainCode)
                            .to_col(DomainScopeItem::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_designation_ministry")
                            .from_col(Designation::MinistryCode)
                            .to(Ministry::Table, Ministry::Code),
                    )
                    .to_owned(),
            )
            .await?;

        for (name, columns) in [
            ("ix_designation_operator", vec![Designation::OperatorId, Designation::EffectiveFrom]),
            ("ix_designation_sector", vec![Designation::SectorCode]),
            ("ix_designation_domain", vec![Designation::DomainCode]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Designation::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }

        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(PG_EXCLUSION).await?;
            }
            DatabaseBackend::Sqlite => {
                db.execute_unprepared(&sqlite_overlap_trigger("INSERT", "")).await?;
                db.execute_unprepared(&sqlite_overlap_trigger(
                    "UPDATE OF operator_id, regime, sector_code, domain_code, sector_item_code, domain_item_code, effective_from, effective_to",
                    "AND d.id <> NEW.id",
                ))
                .await?;
            }
            other => {
                return Err(DbErr::Migration(format!("unsupported database backend {other:?}")));
            }
        }
        Ok(())
    }
}
