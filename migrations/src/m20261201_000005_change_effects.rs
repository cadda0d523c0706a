//! Change effects: what each committed change did to the data that in-memory read models
//! hold (which operators, whether the reference data, which tokens), recorded with the
//! event in the same transaction, so that every instance's caches follow a change by
//! reading back what it did instead of guessing it from the event's subjects.
//!
//! Append-only like the rest of the trail. Events recorded before this migration get
//! their effects derived once from their subjects and entity types.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use crate::m20261127_000004_change_control::{pg_append_only, sqlite_append_only};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum AuditEventEffect {
    Table,
    EventId,
    Effect,
    Subject,
}

/// The effects of the events recorded before effects were, from what those events
/// name: their operator subjects, their tokens, and reference-data entities.
const BACKFILL: &str = "
    INSERT INTO audit_event_effect (event_id, effect, subject)
    SELECT s.event_id, 'OPERATOR', s.subject_id
      FROM audit_event_subject s JOIN audit_event e ON e.id = s.event_id
     WHERE e.outcome = 'SUCCEEDED' AND s.subject_type = 'OPERATOR'
    UNION
    SELECT e.id, 'TOKEN', e.entity_id
      FROM audit_event e
     WHERE e.outcome = 'SUCCEEDED' AND e.entity_type = 'TOKEN' AND e.entity_id IS NOT NULL
    UNION
    SELECT e.id, 'REFERENCE_DATA', ''
      FROM audit_event e
     WHERE e.outcome = 'SUCCEEDED' AND e.entity_type IN ('REFERENCE_DATA', 'CROSSWALK_LINK', 'SCOPE_ITEM_LINK')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEventEffect::Table)
                    .col(big_integer(AuditEventEffect::EventId))
                    .col(text(AuditEventEffect::Effect))
                    .col(text(AuditEventEffect::Subject))
                    .primary_key(
                        Index::create()
                            .col(AuditEventEffect::EventId)
                            .col(AuditEventEffect::Effect)
                            .col(AuditEventEffect::Subject),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_event_effect_event")
                            .from_col(AuditEventEffect::EventId)
                            .to(AuditEvent::Table, AuditEvent::Id),
                    )
                    .check(Expr::col(AuditEventEffect::Effect).is_in(["OPERATOR", "REFERENCE_DATA", "TOKEN"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_event_effect_subject")
                    .table(AuditEventEffect::Table)
                    .col(AuditEventEffect::Effect)
                    .col(AuditEventEffect::Subject)
                    .col(AuditEventEffect::EventId)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(BACKFILL).await?;
        let table = "audit_event_effect";
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => db.execute_unprepared(&pg_append_only(table)).await?,
            DatabaseBackend::Sqlite => {
                for event in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&sqlite_append_only(table, event)).await?;
                }
                return Ok(());
            }
            other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
        };
        Ok(())
    }
}
