//! Keeping operators in step with the National Tax Agency's corporate-number files:
//! the file is read (every bad line reported, nothing written), planned against the
//! registered operators ([`crate::domain::nta::plan`]), and — unless it is a dry run —
//! applied in one transaction: renames as `UPDATE_OPERATOR` and closings (designations
//! ended) as `CLOSE_OPERATOR` events, each with the file line as its reason.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::audit::{self, Change, guard};
use super::operators::{Closing, Renaming, close_in, rename_in};
use super::{ServiceError, Services, authorize, with_retry};
use crate::domain::CorporateNumber;
use crate::domain::Principal;
use crate::domain::audit::{AuditAction, SubjectType};
use crate::domain::authorization::Operation;
use crate::domain::nta::{self, NtaLineError, SyncPlan, SyncStep};
use crate::storage::operators;

/// Bad lines named in one error message (the rest are counted).
const ERRORS_SHOWN: usize = 20;

/// What a sync found and (unless a dry run) did.
#[derive(Debug, Clone)]
pub struct SyncReport {
    pub dry_run: bool,
    pub plan: SyncPlan,
}

impl SyncReport {
    pub fn count(&self, matches: impl Fn(&SyncStep) -> bool) -> usize {
        self.plan.steps.iter().filter(|step| matches(step)).count()
    }
}

/// Reads `file` (the text of an NTA CSV file, Unicode edition) and syncs the registered
/// operators it names; with `dry_run`, only says what it would do.
pub async fn sync(
    services: &Services,
    principal: &Principal,
    file: &str,
    dry_run: bool,
) -> Result<SyncReport, ServiceError> {
    let attempt = || {
        Change::attempt(
            AuditAction::SyncCorporateNumbers,
            SubjectType::Operator,
            None,
            json!({ "bytes": file.len(), "dryRun": dry_run }),
        )
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::SyncCorporateNumbers)?;
        let records = nta::parse(file).map_err(refused)?;
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let mut named: Vec<CorporateNumber> = records.iter().map(|r| r.corporate_number).collect();
            named.extend(records.iter().filter_map(|r| r.closing.and_then(|c| c.successor)));
            named.sort_unstable();
            named.dedup();
            let found = operators::find_by_corporate_numbers(&txn, &named).await?;
            let registered: HashSet<CorporateNumber> = found.iter().map(|o| o.corporate_number).collect();
            let by_number: HashMap<_, _> = found.into_iter().map(|o| (o.corporate_number, o)).collect();
            let plan = without_unregistered_successors(nta::plan(&records, &by_number), &registered);
            if dry_run {
                return Ok(SyncReport { dry_run, plan });
            }
            let mut recorded = Vec::new();
            for step in &plan.steps {
                let change = match step {
                    SyncStep::Rename { operator, to, line, changed_on, .. } => {
                        let current = current(&txn, operator).await?;
                        let renaming = Renaming {
                            name_ja: Some(to.clone()),
                            name_en: None,
                            reason: Some(format!("nta-sync: the NTA's name since {changed_on} (line {line})")),
                        };
                        rename_in(&txn, services, principal, &current, renaming).await?.map(|(_, change)| change)
                    }
                    SyncStep::Close { operator, closing, line } => {
                        let current = current(&txn, operator).await?;
                        let reason = format!(
                            "nta-sync: 登記記録の閉鎖等 ({}) on {} (line {line})",
                            closing.cause.name_ja(),
                            closing.on
                        );
                        let closing = Closing { closed_on: closing.on, successor: closing.successor, reason };
                        Some(close_in(&txn, services, principal, &current, closing).await?.1)
                    }
                    SyncStep::Review { .. } => None,
                };
                if let Some(change) = change {
                    recorded.push(audit::record(&txn, principal, change).await?);
                }
            }
            services.commit_all(txn, recorded).await?;
            Ok(SyncReport { dry_run, plan })
        })
        .await
    })
    .await
}

async fn current(
    txn: &impl sea_orm::ConnectionTrait,
    number: &CorporateNumber,
) -> Result<crate::domain::operator::Operator, ServiceError> {
    operators::find_by_corporate_number(txn, number)
        .await?
        .ok_or_else(|| ServiceError::internal(format!("operator {number} went away during the sync")))
}

/// A closing names a successor the registry does not know: the operator is closed
/// without it, and the step asks for a look.
fn without_unregistered_successors(mut plan: SyncPlan, registered: &HashSet<CorporateNumber>) -> SyncPlan {
    let mut notes = Vec::new();
    for step in &mut plan.steps {
        if let SyncStep::Close { operator, closing, line } = step
            && let Some(successor) = closing.successor.filter(|s| !registered.contains(s))
        {
            closing.successor = None;
            notes.push(SyncStep::Review {
                operator: *operator,
                line: *line,
                note: format!("successor {successor} is not a registered operator: closed without a successor"),
            });
        }
    }
    plan.steps.extend(notes);
    plan
}

fn refused(errors: Vec<NtaLineError>) -> ServiceError {
    let shown: Vec<String> = errors.iter().take(ERRORS_SHOWN).map(ToString::to_string).collect();
    let more = errors.len().saturating_sub(ERRORS_SHOWN);
    let tail = if more > 0 { format!("; and {more} more") } else { String::new() };
    ServiceError::Invalid(format!(
        "the file was not applied: {} line(s) cannot be read as the NTA's corporate-number layout: {}{tail}",
        errors.len(),
        shown.join("; ")
    ))
}
