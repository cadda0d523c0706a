//! The `policy` role (policy staff: read everything, draft scope revision proposals,
//! never change live data) joins the roles a token may have.
//!
//! PostgreSQL replaces the role check in place; SQLite cannot alter a CHECK constraint,
//! so its `api_token` table is rebuilt with the new check and every row copied over.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiToken {
    Id,
    Label,
    Role,
    MinistryCode,
    SecretHash,
    CreatedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Ministry {
    Table,
    Code,
}

const ROLES: [&str; 4] = ["admin", "ministry", "policy", "reader"];

/// The SQLite copy the rows move into (renamed to `api_token` afterwards).
#[derive(DeriveIden)]
enum ApiTokenRebuilt {
    Table,
}

fn api_token_table(name: impl IntoIden) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(uuid(ApiToken::Id).primary_key())
        .col(text(ApiToken::Label))
        .col(text(ApiToken::Role))
        .col(text_null(ApiToken::MinistryCode))
        .col(text_uniq(ApiToken::SecretHash))
        .col(timestamp_with_time_zone(ApiToken::CreatedAt))
        .col(timestamp_with_time_zone_null(ApiToken::ExpiresAt))
        .col(timestamp_with_time_zone_null(ApiToken::LastUsedAt))
        .col(timestamp_with_time_zone_null(ApiToken::RevokedAt))
        .check(Expr::col(ApiToken::Role).is_in(ROLES))
        // A ministry token is bound to exactly one ministry; other roles to none.
        .check(
            Cond::any()
                .add(Expr::col(ApiToken::Role).eq("ministry").and(Expr::col(ApiToken::MinistryCode).is_not_null()))
                .add(Expr::col(ApiToken::Role).ne("ministry").and(Expr::col(ApiToken::MinistryCode).is_null())),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_api_token_ministry")
                .from_col(ApiToken::MinistryCode)
                .to(Ministry::Table, Ministry::Code),
        )
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let roles = ROLES.map(|r| format!("'{r}'")).join(", ");
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(&format!(
                    "ALTER TABLE api_token DROP CONSTRAINT api_token_role_check;
                     ALTER TABLE api_token ADD CONSTRAINT api_token_role_check CHECK (role IN ({roles}))"
                ))
                .await?;
            }
            DatabaseBackend::Sqlite => {
                manager.create_table(api_token_table(ApiTokenRebuilt::Table)).await?;
                db.execute_unprepared(
                    "INSERT INTO api_token_rebuilt (id, label, role, ministry_code, secret_hash, created_at,
                         expires_at, last_used_at, revoked_at)
                     SELECT id, label, role, ministry_code, secret_hash, created_at, expires_at, last_used_at,
                         revoked_at FROM api_token;
                     DROP TABLE api_token;
                     ALTER TABLE api_token_rebuilt RENAME TO api_token;",
                )
                .await?;
            }
            other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
        }
        Ok(())
    }
}
