//! What changed between two dates: reference data for anyone, designations with a token.

use chrono::NaiveDate;

use super::{ServiceError, Services, authorize};
use crate::domain::Principal;
use crate::domain::authorization::Operation;
use crate::domain::changes::{self, DesignationChanges, ReferenceChanges, Window};
use crate::domain::reference::ReferenceSnapshot;
use crate::storage::designations;

/// The reference data's changes after `from` up to `to`; refused when `from` is after `to`.
pub fn reference_changes(
    snapshot: &ReferenceSnapshot,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<ReferenceChanges, ServiceError> {
    let window = Window::new(from, to).map_err(|e| ServiceError::Invalid(e.to_string()))?;
    Ok(changes::reference_changes(snapshot, window))
}

/// The designations that started and ended in `window`, per sector and domain: from the
/// read model, or one query while it is still loading after start-up.
pub async fn designation_changes(
    services: &Services,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    window: Window,
) -> Result<DesignationChanges, ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    if let Some(counted) = services.read.index().designation_changes(snapshot, window).await? {
        return Ok(counted);
    }
    let periods = designations::starting_or_ending(&services.db.conn, window.from(), window.to()).await?;
    Ok(changes::designation_changes(
        snapshot,
        window,
        periods.iter().map(|p| (p.regime, p.field.as_str(), p.effective_from, p.effective_to)),
    ))
}
