//! Change control: the append-only audit trail, and the index that answers "which
//! operators did this one succeed".
//!
//! Every change to the registry, its tokens and its reference data records one
//! `audit_event` in the same transaction; `audit_event_subject` lists what the event
//! concerns (the changed records, and the ministries in whose jurisdiction it falls), so
//! that history and jurisdiction filters are indexed look-ups. Both tables refuse UPDATE
//! and DELETE (and on PostgreSQL TRUNCATE) at the database level: nothing can rewrite
//! the trail, whatever path a write takes.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    At,
    Actor,
    ActorKind,
    TokenId,
    ActorLabel,
    ActorRole,
    ActorMinistry,
    Action,
    EntityType,
    EntityId,
    Before,
    After,
    Reason,
    Outcome,
    Denial,
}

#[derive(DeriveIden)]
enum AuditEventSubject {
    Table,
    EventId,
    SubjectType,
    SubjectId,
}

#[derive(DeriveIden)]
enum Operator {
    Table,
    SuccessorCorporateNumber,
}

/// Error text the append-only triggers raise; the service maps it to a storage error.
pub const APPEND_ONLY_MESSAGE: &str = "audit_trail_is_append_only";

const AUDIT_TABLES: [&str; 2] = ["audit_event", "audit_event_subject"];

pub(crate) fn sqlite_append_only(table: &str, event: &str) -> String {
    format!(
        "CREATE TRIGGER {table}_no_{name} BEFORE {event} ON {table}
         BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END;",
        name = event.to_lowercase(),
    )
}

pub(crate) fn pg_append_only(table: &str) -> String {
    format!(
        "CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
             FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only();
         CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
             FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_append_only();"
    )
}

fn pg_append_only_function() -> String {
    format!(
        "CREATE FUNCTION audit_trail_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END
         $$;"
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
                    .table(AuditEvent::Table)
                    // Ids increase in commit order: subscribers resume from the last id they saw.
                    .col(big_pk_auto(AuditEvent::Id))
                    .col(timestamp_with_time_zone(AuditEvent::At))
                    .col(text(AuditEvent::Actor))
                    .col(text(AuditEvent::ActorKind))
                    .col(uuid_null(AuditEvent::TokenId))
                    .col(text_null(AuditEvent::ActorLabel))
                    .col(text_null(AuditEvent::ActorRole))
                    .col(text_null(AuditEvent::ActorMinistry))
                    .col(text(AuditEvent::Action))
                    .col(text(AuditEvent::EntityType))
                    .col(text_null(AuditEvent::EntityId))
                    .col(json_binary_null(AuditEvent::Before))
                    .col(json_binary_null(AuditEvent::After))
                    .col(text_null(AuditEvent::Reason))
                    .col(text(AuditEvent::Outcome))
                    .col(text_null(AuditEvent::Denial))
                    .check(Expr::col(AuditEvent::ActorKind).is_in(["TOKEN", "CLI"]))
                    .check(Expr::col(AuditEvent::Outcome).is_in(["SUCCEEDED", "DENIED"]))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEventSubject::Table)
                    .col(big_integer(AuditEventSubject::EventId))
                    .col(text(AuditEventSubject::SubjectType))
                    .col(text(AuditEventSubject::SubjectId))
                    .primary_key(
                        Index::create()
                            .col(AuditEventSubject::EventId)
                            .col(AuditEventSubject::SubjectType)
                            .col(AuditEventSubject::SubjectId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_event_subject_event")
                            .from_col(AuditEventSubject::EventId)
                            .to(AuditEvent::Table, AuditEvent::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_event_subject_lookup")
                    .table(AuditEventSubject::Table)
                    .col(AuditEventSubject::SubjectType)
                    .col(AuditEventSubject::SubjectId)
                    .col(AuditEventSubject::EventId)
                    .to_owned(),
            )
            .await?;
        for (name, column) in [("ix_audit_event_at", AuditEvent::At), ("ix_audit_event_actor", AuditEvent::Actor)] {
            manager.create_index(Index::create().name(name).table(AuditEvent::Table).col(column).to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_operator_successor")
                    .table(Operator::Table)
                    .col(Operator::SuccessorCorporateNumber)
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(&pg_append_only_function()).await?;
                for table in AUDIT_TABLES {
                    db.execute_unprepared(&pg_append_only(table)).await?;
                }
            }
            DatabaseBackend::Sqlite => {
                for table in AUDIT_TABLES {
                    for event in ["UPDATE", "DELETE"] {
                        db.execute_unprepared(&sqlite_append_only(table, event)).await?;
                    }
                }
            }
            other => {
                return Err(DbErr::Migration(format!("unsupported database backend {other:?}")));
            }
        }
        Ok(())
    }
}
