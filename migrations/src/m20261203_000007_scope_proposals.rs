//! Scope revision proposals: a draft of changes to the protection scope from a date on,
//! its changes in order (JSON, one object per change, as the GraphQL one-of input names
//! them), and once promoted, the source its records cite and the keys of the reference
//! records the promotion inserted or ended (so that a later seed keeps them).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ScopeProposal {
    Table,
    Id,
    Title,
    Description,
    Status,
    EffectiveFrom,
    Version,
    Changes,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
    PromotedAt,
    PromotedBy,
    SourceCode,
    PromotedRecords,
}

const STATUSES: [&str; 3] = ["DRAFT", "PROMOTED", "WITHDRAWN"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ScopeProposal::Table)
                    .col(uuid(ScopeProposal::Id).primary_key())
                    .col(text(ScopeProposal::Title))
                    .col(text(ScopeProposal::Description))
                    .col(text(ScopeProposal::Status))
                    .col(date(ScopeProposal::EffectiveFrom))
                    .col(integer(ScopeProposal::Version))
                    .col(text(ScopeProposal::Changes))
                    .col(timestamp_with_time_zone(ScopeProposal::CreatedAt))
                    .col(text(ScopeProposal::CreatedBy))
                    .col(timestamp_with_time_zone(ScopeProposal::UpdatedAt))
                    .col(timestamp_with_time_zone_null(ScopeProposal::PromotedAt))
                    .col(text_null(ScopeProposal::PromotedBy))
                    // Not a foreign key: the source row is written in the promotion's
                    // transaction, after this row exists.
                    .col(text_null(ScopeProposal::SourceCode))
                    .col(text_null(ScopeProposal::PromotedRecords))
                    .check(Expr::col(ScopeProposal::Status).is_in(STATUSES))
                    .check(Expr::col(ScopeProposal::Version).gte(1))
                    // Promoted exactly when it says when, by whom, and what it wrote.
                    .check(
                        Cond::any()
                            .add(
                                Expr::col(ScopeProposal::Status)
                                    .eq("PROMOTED")
                                    .and(Expr::col(ScopeProposal::PromotedAt).is_not_null())
                                    .and(Expr::col(ScopeProposal::PromotedBy).is_not_null())
                                    .and(Expr::col(ScopeProposal::SourceCode).is_not_null())
                                    .and(Expr::col(ScopeProposal::PromotedRecords).is_not_null()),
                            )
                            .add(
                                Expr::col(ScopeProposal::Status)
                                    .ne("PROMOTED")
                                    .and(Expr::col(ScopeProposal::PromotedAt).is_null()),
                            ),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scope_proposal_status")
                    .table(ScopeProposal::Table)
                    .col(ScopeProposal::Status)
                    .col(ScopeProposal::CreatedAt)
                    .to_owned(),
            )
            .await
    }
}
