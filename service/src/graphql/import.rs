//! The bulk import mutation.

use async_graphql::{Context, Object, SimpleObject};

use super::limits::DATABASE_COST;
use super::{ApiResult, request, services};
use crate::services;
use crate::services::import::Silent;

/// One invalid row of an import.
#[derive(SimpleObject)]
pub struct ImportError {
    /// Line in the file (line 1 is the header).
    line: i32,
    /// The column's name, when the problem is in one column.
    column: Option<String>,
    /// What is wrong.
    message: String,
}

/// What an import did (or, for a dry run, would do). When `errors` is not empty
/// nothing was written.
#[derive(SimpleObject)]
pub struct ImportReport {
    /// Whether this was a dry run (validated against the database, nothing written).
    dry_run: bool,
    /// Data rows read (the header not counted).
    rows_read: i32,
    /// Rows that created a designation (or registered an operator, for rows without one).
    created: i32,
    /// Rows identical to what is stored.
    unchanged: i32,
    /// Operators registered because the file named them first.
    operators_created: i32,
    /// Every invalid row, with line and column.
    errors: Vec<ImportError>,
}

fn int(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<services::import::ImportReport> for ImportReport {
    fn from(report: services::import::ImportReport) -> Self {
        Self {
            dry_run: report.dry_run,
            rows_read: int(report.rows_read),
            created: int(report.created),
            unchanged: int(report.unchanged),
            operators_created: int(report.operators_created),
            errors: report
                .errors
                .into_iter()
                .map(|e| ImportError { line: int(e.line), column: e.column.map(str::to_owned), message: e.message })
                .collect(),
        }
    }
}

/// Bulk changes.
#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports designations from CSV text (columns corporate_number, name_ja, name_en,
    /// regime, sector_or_domain, scope_item, effective_from, effective_to, legal_basis,
    /// reference; see the README), acting as the token's principal. All or nothing: any
    /// invalid row means nothing is written and every invalid row is reported. Rows
    /// identical to what is stored count as unchanged. With `dryRun` (`null` is `false`)
    /// everything is checked and nothing written.
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn import_designations(
        &self,
        ctx: &Context<'_>,
        csv: String,
        #[graphql(default_with = "Some(false)")] dry_run: Option<bool>,
    ) -> ApiResult<ImportReport> {
        let dry_run = dry_run.unwrap_or(false);
        let data = request(ctx);
        let report = services::import::import(services(ctx), &data.principal, csv.as_bytes(), dry_run, &Silent).await?;
        Ok(report.into())
    }
}
