//! Loading reference data from seed-data into the database, as one audited change.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::audit::{self, Change};
use super::{ServiceError, Services, authorize, with_retry};
use crate::domain::Principal;
use crate::domain::audit::{AuditAction, Subject, SubjectType};
use crate::domain::authorization::Operation;
use crate::domain::proposal;
use crate::domain::reference::ReferenceData;
use crate::storage::reference::{self as stored, RowChange, SyncReport};
use crate::storage::{self, StorageError};

/// Makes the database hold `data` (read from `source`), in one transaction that also
/// records what changed. Crosswalk pairs curated through the API are never overwritten:
/// where seed-data says something else, nothing is written and the conflicts are
/// reported, unless `keep_curated` is set, in which case everything else is applied and
/// the curated pairs stay as they are.
pub async fn sync(
    services: &Services,
    principal: &Principal,
    data: &ReferenceData,
    source: &str,
    keep_curated: bool,
) -> Result<SyncReport, ServiceError> {
    authorize(principal, Operation::LoadReferenceData)?;
    with_retry(|| sync_once(services, principal, data, source, keep_curated)).await
}

async fn sync_once(
    services: &Services,
    principal: &Principal,
    data: &ReferenceData,
    source: &str,
    keep_curated: bool,
) -> Result<SyncReport, ServiceError> {
    let txn = services.db.begin_write().await?;
    // Promoted scope revision proposals stand until seed-data states them itself.
    let promotions = storage::proposals::promotions(&txn).await?;
    let data = if promotions.is_empty() {
        Cow::Borrowed(data)
    } else {
        Cow::Owned(proposal::keep_promoted(data, &stored::load(&txn).await?, &promotions))
    };
    let report = stored::sync(&txn, &data).await?;
    if !report.conflicts.is_empty() && !keep_curated {
        let lines: Vec<String> = report.conflicts.iter().map(|c| format!("  {c}")).collect();
        return Err(ServiceError::Conflict(format!(
            "seed-data conflicts with {} crosswalk pair(s) curated through the API; nothing was written:\n{}\n\
             Make seed-data/crosswalk.toml say what the curated links say, or run `seed --keep-curated` to apply \
             everything else and keep the curated links.",
            report.conflicts.len(),
            lines.join("\n")
        )));
    }
    if !report.changed() {
        txn.commit().await.map_err(StorageError::from)?;
        return Ok(report);
    }
    let change =
        Change::to_reference_data(AuditAction::SyncReferenceData, Subject::new(SubjectType::ReferenceData, source))
            .before(states(&report.changes, |c| c.before.as_ref()))
            .after(states(&report.changes, |c| c.after.as_ref()));
    let recorded = audit::record(&txn, principal, change).await?;
    services.commit(txn, recorded).await?;
    Ok(report)
}

/// `{ kind: { key: row } }` for the rows that changed (one side of the change).
pub(super) fn states(changes: &[RowChange], side: impl Fn(&RowChange) -> Option<&Value>) -> Value {
    let mut kinds = Map::new();
    for change in changes {
        if let Some(state) = side(change)
            && let Value::Object(rows) = kinds.entry(change.kind).or_insert_with(|| Value::Object(Map::new()))
        {
            rows.insert(change.key.clone(), state.clone());
        }
    }
    Value::Object(kinds)
}
