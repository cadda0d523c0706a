//! The corporate-number sync mutation (the NTA's files; see `services::nta_sync`).

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::limits::DATABASE_COST;
use super::{ApiResult, request, services};
use crate::domain::nta::SyncStep;
use crate::services;

/// What a step of a sync does.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CorporateNumberSyncKind {
    /// The operator takes the NTA's name (`UPDATE_OPERATOR`).
    Rename,
    /// The operator closes on the NTA's closing date, with its successor when registered;
    /// its open designations end (`CLOSE_OPERATOR`).
    Close,
    /// Not applied: a person must look (reinstated, deleted, dates that disagree…).
    Review,
}

/// One step of a sync, for one registered operator.
#[derive(SimpleObject)]
pub struct CorporateNumberSyncStep {
    kind: CorporateNumberSyncKind,
    corporate_number: String,
    /// The line of the file the step comes from.
    line: i32,
    /// The step in words.
    detail: String,
}

/// What a sync did (or, for a dry run, would do).
pub struct CorporateNumberSync(services::nta_sync::SyncReport);

fn int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Unknown corporate numbers listed when `first` is not given.
const DEFAULT_UNKNOWN_SHOWN: usize = 100;

#[Object]
impl CorporateNumberSync {
    /// Whether this was a dry run (nothing written).
    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }

    /// Records in the file.
    async fn records_read(&self) -> i32 {
        int(self.0.plan.records)
    }

    /// Operators renamed.
    async fn renamed(&self) -> i32 {
        int(self.0.count(|step| matches!(step, SyncStep::Rename { .. })))
    }

    /// Operators closed.
    async fn closed(&self) -> i32 {
        int(self.0.count(|step| matches!(step, SyncStep::Close { .. })))
    }

    /// Steps left for a person.
    async fn to_review(&self) -> i32 {
        int(self.0.count(|step| matches!(step, SyncStep::Review { .. })))
    }

    /// Registered operators in the file that needed nothing.
    async fn unchanged(&self) -> i32 {
        int(self.0.plan.unchanged)
    }

    /// Every step, in file order of the operators.
    async fn steps(&self) -> Vec<CorporateNumberSyncStep> {
        (self.0.plan.steps.iter())
            .map(|step| CorporateNumberSyncStep {
                kind: match step {
                    SyncStep::Rename { .. } => CorporateNumberSyncKind::Rename,
                    SyncStep::Close { .. } => CorporateNumberSyncKind::Close,
                    SyncStep::Review { .. } => CorporateNumberSyncKind::Review,
                },
                corporate_number: step.corporate_number().to_string(),
                line: int(step.line()),
                detail: step.detail(),
            })
            .collect()
    }

    /// Corporate numbers in the file that are not registered operators.
    async fn unknown_count(&self) -> i32 {
        int(self.0.plan.unknown.len())
    }

    /// The first of them, in file order (100 unless `first` says otherwise).
    async fn unknown_corporate_numbers(&self, first: Option<u32>) -> Vec<String> {
        let shown = first.map_or(DEFAULT_UNKNOWN_SHOWN, |n| n as usize);
        self.0.plan.unknown.iter().take(shown).map(ToString::to_string).collect()
    }
}

/// Keeping operators in step with the national corporate-number registry.
#[derive(Default)]
pub struct NtaSyncMutation;

#[Object]
impl NtaSyncMutation {
    /// Reads a corporate-number file as the National Tax Agency publishes it (基本3情報
    /// ダウンロード, CSV Unicode edition, full or daily difference file: 30 columns, no
    /// header) and, for the registered operators it names, renames (商号又は名称),
    /// closes (登記記録の閉鎖等, with the successor 承継先法人番号 when registered) and
    /// lists what needs a person, in one audited transaction. Any line that cannot be
    /// read (an unknown 処理区分, a bad corporate number or date) is `BAD_USER_INPUT`
    /// with its line number, and nothing is written. With `dryRun`, says what it would do.
    /// Admins only.
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn sync_corporate_numbers(
        &self,
        ctx: &Context<'_>,
        file: String,
        #[graphql(default_with = "Some(false)")] dry_run: Option<bool>,
    ) -> ApiResult<CorporateNumberSync> {
        let data = request(ctx);
        let report = services::nta_sync::sync(services(ctx), &data.principal, &file, dry_run.unwrap_or(false)).await?;
        Ok(CorporateNumberSync(report))
    }
}
