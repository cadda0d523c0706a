//! Loading reference data from seed-data into the database, as one audited change.

use serde_json::{Map, Value};

use super::audit::{self, Change};
use super::{RegistryError, require_admin};
use crate::domain::Principal;
use crate::domain::audit::{AuditAction, Subject, SubjectType};
use crate::domain::reference::ReferenceData;
use crate::storage::reference::{self as stored, RowChange, SyncReport};
use crate::storage::{Db, StorageError};

/// Makes the database hold `data` (read from `source`), in one transaction that also
/// records what changed. Crosswalk pairs curated through the API are never overwritten:
/// where seed-data says something else, nothing is written and the conflicts are
/// reported, unless `keep_curated` is set, in which case everything else is applied and
/// the curated pairs stay as they are.
pub async fn sync(
    db: &Db,
    principal: &Principal,
    data: &ReferenceData,
    source: &str,
    keep_curated: bool,
) -> Result<SyncReport, RegistryError> {
    require_admin(principal, "load reference data")?;
    let txn = db.begin_write().await?;
    let report = stored::sync(&txn, data).await?;
    if !report.conflicts.is_empty() && !keep_curated {
        let lines: Vec<String> = report.conflicts.iter().map(|c| format!("  {c}")).collect();
        return Err(RegistryError::Conflict(format!(
            "seed-data conflicts with {} crosswalk pair(s) curated through the API; nothing was written:\n{}\n\
             Make seed-data/crosswalk.toml say what the curated links say, or run `seed --keep-curated` to apply \
             everything else and keep the curated links.",
            report.conflicts.len(),
            lines.join("\n")
        )));
    }
    if report.changed() {
        let change = Change::of(AuditAction::SyncReferenceData, Subject::new(SubjectType::ReferenceData, source))
            .before(states(&report.changes, |c| c.before.as_ref()))
            .after(states(&report.changes, |c| c.after.as_ref()));
        audit::record(&txn, principal, change).await?;
    }
    txn.commit().await.map_err(StorageError::from)?;
    Ok(report)
}

/// `{ kind: { key: row } }` for the rows that changed (one side of the change).
fn states(changes: &[RowChange], side: impl Fn(&RowChange) -> Option<&Value>) -> Value {
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
