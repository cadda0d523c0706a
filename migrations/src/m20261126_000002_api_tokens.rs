//! Bearer tokens. Only a hash of each secret is stored; the secret is shown once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiToken {
    Table,
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiToken::Table)
                    .col(uuid(ApiToken::Id).primary_key())
                    .col(text(ApiToken::Label))
                    .col(text(ApiToken::Role))
                    .col(text_null(ApiToken::MinistryCode))
                    .col(text_uniq(ApiToken::SecretHash))
                    .col(timestamp_with_time_zone(ApiToken::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiToken::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiToken::RevokedAt))
                    .check(Expr::col(ApiToken::Role).is_in(["admin", "ministry", "reader"]))
                    // A ministry token is bound to exactly one ministry; other roles to none.
                    .check(
                        Cond::any()
                            .add(
                                Expr::col(ApiToken::Role)
                                    .eq("ministry")
                                    .and(Expr::col(ApiToken::MinistryCode).is_not_null()),
                            )
                            .add(
                                Expr::col(ApiToken::Role)
                                    .ne("ministry")
                                    .and(Expr::col(ApiToken::MinistryCode).is_null()),
                            ),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_token_ministry")
                            .from_col(ApiToken::MinistryCode)
                            .to(Ministry::Table, Ministry::Code),
                    )
                    .to_owned(),
            )
            .await
    }
}
