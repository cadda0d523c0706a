//! Designating and revoking.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use super::{RegistryError, parse_corporate_number, require_writer, with_retry};
use crate::domain::designation::{self, Designation, DesignationRequest, DesignationStatus};
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{Principal, text};
use crate::storage::{ConflictKind, Db, StorageError, designations, operators};

/// What designating takes.
#[derive(Debug, Clone, Default)]
pub struct DesignateInput {
    pub corporate_number: String,
    pub request: DesignationRequest,
    pub legal_basis: Option<String>,
    pub reference: Option<String>,
}

pub async fn designate(
    db: &Db,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    input: DesignateInput,
) -> Result<Designation, RegistryError> {
    require_writer(principal)?;
    let corporate_number = parse_corporate_number(&input.corporate_number)?;
    let plan = designation::plan(snapshot, principal, &input.request)?;
    let legal_basis = text::optional("legalBasis", input.legal_basis.as_deref())?;
    let reference = text::optional("reference", input.reference.as_deref())?;

    with_retry(|| async {
        let txn = db.begin_write().await?;
        let operator = operators::find_by_corporate_number(&txn, &corporate_number).await?.ok_or_else(|| {
            RegistryError::NotFound(format!("no operator with corporate number {corporate_number}; register it first"))
        })?;
        let now = Utc::now();
        let designation = Designation {
            id: Uuid::now_v7(),
            operator_id: operator.id,
            regime: plan.regime,
            field: plan.field.clone(),
            scope_item: plan.scope_item.clone(),
            effective_from: plan.effective_from,
            effective_to: plan.effective_to,
            status: DesignationStatus::Designated,
            legal_basis: legal_basis.clone(),
            reference: reference.clone(),
            ministry: plan.ministry.clone(),
            revocation_reason: None,
            revoked_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        designations::insert(&txn, &designation).await.map_err(|e| match e {
            StorageError::Conflict(ConflictKind::OverlappingPeriod) => RegistryError::Conflict(format!(
                "operator {corporate_number} already has a {} designation for {} \"{}\"{} overlapping {}",
                designation.regime,
                designation.regime.field_noun(),
                designation.field,
                designation.scope_item.as_ref().map(|i| format!(" (scope item \"{i}\")")).unwrap_or_default(),
                describe_period(designation.effective_from, designation.effective_to),
            )),
            other => other.into(),
        })?;
        txn.commit().await.map_err(StorageError::from)?;
        Ok(designation)
    })
    .await
}

fn describe_period(from: NaiveDate, to: Option<NaiveDate>) -> String {
    match to {
        Some(to) => format!("the period {from} to {to}"),
        None => format!("the open period from {from}"),
    }
}

/// What revoking takes.
#[derive(Debug, Clone)]
pub struct RevokeInput {
    pub id: Uuid,
    /// First day it no longer holds; default: today in Japan.
    pub effective_to: Option<NaiveDate>,
    pub reason: String,
}

/// Closes a designation's period (the record and its history stay).
pub async fn revoke(
    db: &Db,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    input: RevokeInput,
) -> Result<Designation, RegistryError> {
    require_writer(principal)?;
    let reason = text::required("reason", &input.reason)?;
    let txn = db.begin_write().await?;
    let current = designations::find(&txn, input.id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no designation with id {}", input.id)))?;
    let effective_to = input.effective_to.unwrap_or_else(crate::domain::today);
    designation::check_revocation(
        snapshot,
        principal,
        current.regime,
        &current.field,
        current.effective_from,
        effective_to,
    )?;
    if current.status == DesignationStatus::Revoked {
        return Err(RegistryError::Conflict(format!("designation {} is already revoked", current.id)));
    }
    if effective_to < current.effective_from {
        return Err(RegistryError::Invalid(format!(
            "effectiveTo ({effective_to}) is before the designation's effectiveFrom ({})",
            current.effective_from
        )));
    }
    if let Some(end) = current.effective_to
        && effective_to > end
    {
        return Err(RegistryError::Invalid(format!(
            "effectiveTo ({effective_to}) is after the designation's current end ({end}); revocation cannot extend it"
        )));
    }
    let now = Utc::now();
    if !designations::revoke(&txn, current.id, current.version, effective_to, &reason, now).await? {
        return Err(RegistryError::Conflict(format!("designation {} was changed concurrently; retry", current.id)));
    }
    txn.commit().await.map_err(StorageError::from)?;
    Ok(Designation {
        effective_to: Some(effective_to),
        status: DesignationStatus::Revoked,
        revocation_reason: Some(reason),
        revoked_at: Some(now),
        version: current.version + 1,
        updated_at: now,
        ..current
    })
}

/// Every designation of the given operators, grouped by operator (one query).
pub async fn of_operators(db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Designation>>, RegistryError> {
    let mut grouped: HashMap<Uuid, Vec<Designation>> = ids.iter().map(|id| (*id, Vec::new())).collect();
    for designation in designations::of_operators(&db.conn, ids).await? {
        grouped.entry(designation.operator_id).or_default().push(designation);
    }
    Ok(grouped)
}
