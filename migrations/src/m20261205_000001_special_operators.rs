//! Whom an obligation binds (`obligation_rule.binds`), and the periods in which an ESPA
//! designee is recorded as 特別社会基盤事業者 (Cyber Response Act Art. 2(3)), whose
//! duties bind only those operators.
//!
//! An operator's periods never overlap: at most one is open (a partial unique index,
//! so two concurrent writers cannot both open one), and a new one starts no earlier
//! than the end of every earlier one (checked in the writing transaction; periods
//! only ever end by shortening the open one).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ObligationRule {
    Table,
    Binds,
}

#[derive(DeriveIden)]
enum SpecialOperatorPeriod {
    Table,
    Id,
    OperatorId,
    EffectiveFrom,
    EffectiveTo,
    MinistryCode,
    Reference,
    EndReason,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Operator {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Ministry {
    Table,
    Code,
}

const ONE_OPEN_PERIOD: &str = "CREATE UNIQUE INDEX special_operator_period_one_open \
     ON special_operator_period (operator_id) WHERE effective_to IS NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Existing rows keep null (bound by their regime, as before) until the next
        // reference-data sync writes what seed-data states, through the audited path.
        manager
            .alter_table(
                Table::alter().table(ObligationRule::Table).add_column(text_null(ObligationRule::Binds)).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SpecialOperatorPeriod::Table)
                    .col(uuid(SpecialOperatorPeriod::Id).primary_key())
                    .col(uuid(SpecialOperatorPeriod::OperatorId))
                    .col(date(SpecialOperatorPeriod::EffectiveFrom))
                    .col(date_null(SpecialOperatorPeriod::EffectiveTo))
                    .col(text(SpecialOperatorPeriod::MinistryCode))
                    .col(text_null(SpecialOperatorPeriod::Reference))
                    .col(text_null(SpecialOperatorPeriod::EndReason))
                    .col(integer(SpecialOperatorPeriod::Version))
                    .col(timestamp_with_time_zone(SpecialOperatorPeriod::CreatedAt))
                    .col(timestamp_with_time_zone(SpecialOperatorPeriod::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_special_operator_period_operator")
                            .from_col(SpecialOperatorPeriod::OperatorId)
                            .to(Operator::Table, Operator::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_special_operator_period_ministry")
                            .from_col(SpecialOperatorPeriod::MinistryCode)
                            .to(Ministry::Table, Ministry::Code),
                    )
                    .check(
                        Expr::col(SpecialOperatorPeriod::EffectiveTo)
                            .is_null()
                            .or(Expr::col(SpecialOperatorPeriod::EffectiveTo)
                                .gte(Expr::col(SpecialOperatorPeriod::EffectiveFrom))),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("special_operator_period_operator")
                    .table(SpecialOperatorPeriod::Table)
                    .col(SpecialOperatorPeriod::OperatorId)
                    .col(SpecialOperatorPeriod::EffectiveFrom)
                    .to_owned(),
            )
            .await?;
        manager.get_connection().execute_unprepared(ONE_OPEN_PERIOD).await?;
        Ok(())
    }
}
