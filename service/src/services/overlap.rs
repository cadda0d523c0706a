//! The overlap report between the two regimes.

use chrono::NaiveDate;

use super::{ServiceError, Services, authorize};
use crate::domain::Principal;
use crate::domain::authorization::Operation;
use crate::domain::overlap::{self, OverlapReport};
use crate::domain::reference::ReferenceSnapshot;
use crate::storage::{designations, special_operators};

/// Totals, per-link cells and per-domain gaps at `as_of`: one query, then one pass in
/// memory.
pub async fn report(
    services: &Services,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    as_of: NaiveDate,
) -> Result<OverlapReport, ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    if let Some(report) = services.read.index().overlap(snapshot, as_of).await? {
        return Ok(report);
    }
    // While the index is still loading after start-up: one query, then the same pass.
    let active = designations::active_fields(&services.db.conn, as_of).await?;
    let special = special_operators::active_at(&services.db.conn, as_of).await?;
    let rows = active.iter().map(|a| (a.operator, a.regime, a.field.as_str()));
    Ok(overlap::compute(snapshot, as_of, rows, &special))
}
