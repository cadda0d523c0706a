//! Designating, revoking and correcting designations.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::{RegistryError, changed_concurrently, check_version, parse_corporate_number, require_writer, with_retry};
use crate::domain::audit::{AuditAction, AuditState, Subject, SubjectType};
use crate::domain::designation::{self, Correction, Designation, DesignationRequest, DesignationStatus};
use crate::domain::operator::Operator;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{CorporateNumber, Principal, Regime, text};
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
    let attempt = || {
        let request = &input.request;
        Change::creating(AuditAction::Designate, SubjectType::Designation)
            .after(json!({
                "corporateNumber": input.corporate_number,
                "regime": request.regime.map(Regime::as_str),
                "sector": request.sector,
                "domain": request.domain,
                "scopeItem": request.scope_item,
                "effectiveFrom": request.effective_from,
                "effectiveTo": request.effective_to,
                "ministry": request.ministry,
            }))
            .concerning(Subject::operator_asked(&input.corporate_number))
    };
    guard(db, principal, attempt, async {
        require_writer(principal)?;
        let corporate_number = parse_corporate_number(&input.corporate_number)?;
        let plan = designation::plan(snapshot, principal, &input.request)?;
        let legal_basis = text::optional("legalBasis", input.legal_basis.as_deref())?;
        let reference = text::optional("reference", input.reference.as_deref())?;

        with_retry(|| async {
            let txn = db.begin_write().await?;
            let operator = operators::find_by_corporate_number(&txn, &corporate_number).await?.ok_or_else(|| {
                RegistryError::NotFound(format!(
                    "no operator with corporate number {corporate_number}; register it first"
                ))
            })?;
            check_within_lifetime(&operator, plan.effective_from, plan.effective_to)?;
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
            designations::insert(&txn, &designation)
                .await
                .map_err(|e| overlap_conflict(e, &corporate_number, &designation))?;
            let change = Change::of(AuditAction::Designate, Subject::designation(designation.id))
                .after(designation.audit_state())
                .concerning(Subject::operator(&operator))
                .in_jurisdiction_of([designation.ministry.as_str()]);
            audit::record(&txn, principal, change).await?;
            txn.commit().await.map_err(StorageError::from)?;
            Ok(designation)
        })
        .await
    })
    .await
}

/// Says which period a refused write would have overlapped.
fn overlap_conflict(error: StorageError, corporate_number: &CorporateNumber, d: &Designation) -> RegistryError {
    match error {
        StorageError::Conflict(ConflictKind::OverlappingPeriod) => RegistryError::Conflict(format!(
            "operator {corporate_number} already has a {} designation for {} \"{}\"{} overlapping {}",
            d.regime,
            d.regime.field_noun(),
            d.field,
            d.scope_item.as_ref().map(|i| format!(" (scope item \"{i}\")")).unwrap_or_default(),
            describe_period(d.effective_from, d.effective_to),
        )),
        other => other.into(),
    }
}

/// A closed operator's designations end by the day it closed.
fn check_within_lifetime(operator: &Operator, from: NaiveDate, to: Option<NaiveDate>) -> Result<(), RegistryError> {
    match operator.closed_on {
        Some(closed_on) if from >= closed_on || to.is_none_or(|to| to > closed_on) => {
            Err(RegistryError::Invalid(format!(
                "operator {} closed on {closed_on}: its designations must end by then (effectiveTo at most {closed_on})",
                operator.corporate_number
            )))
        }
        _ => Ok(()),
    }
}

fn describe_period(from: NaiveDate, to: Option<NaiveDate>) -> String {
    match to {
        Some(to) => format!("the period {from} to {to}"),
        None => format!("the open period from {from}"),
    }
}

/// The operator a designation belongs to, for a change inside `txn`.
async fn operator_of(txn: &impl ConnectionTrait, designation: &Designation) -> Result<Operator, RegistryError> {
    operators::find_by_ids(txn, &[designation.operator_id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| RegistryError::Storage(crate::storage::corrupt("designation operator")))
}

/// Loads a designation for a change inside `txn`, refusing unknown ones and stale versions.
async fn current_designation(
    txn: &impl ConnectionTrait,
    id: Uuid,
    expected_version: Option<i32>,
) -> Result<Designation, RegistryError> {
    let designation = designations::find(txn, id)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no designation with id {id}")))?;
    if let Some(expected) = expected_version {
        check_version(&format!("designation {id}"), designation.version, expected)?;
    }
    Ok(designation)
}

/// What revoking takes.
#[derive(Debug, Clone)]
pub struct RevokeInput {
    pub id: Uuid,
    /// First day it no longer holds; default: today in Japan.
    pub effective_to: Option<NaiveDate>,
    pub reason: String,
    /// When given, the designation must still be at this version.
    pub expected_version: Option<i32>,
}

/// Closes a designation's period (the record and its history stay).
pub async fn revoke(
    db: &Db,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    input: RevokeInput,
) -> Result<Designation, RegistryError> {
    let attempt = || {
        Change::of(AuditAction::RevokeDesignation, Subject::designation(input.id))
            .after(json!({ "effectiveTo": input.effective_to }))
            .reason(Some(&input.reason))
    };
    guard(db, principal, attempt, async {
        require_writer(principal)?;
        let reason = text::required("reason", &input.reason)?;
        let txn = db.begin_write().await?;
        let current = current_designation(&txn, input.id, input.expected_version).await?;
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
            return Err(changed_concurrently(&format!("designation {}", current.id)));
        }
        let revoked = Designation {
            effective_to: Some(effective_to),
            status: DesignationStatus::Revoked,
            revocation_reason: Some(reason.clone()),
            revoked_at: Some(now),
            version: current.version + 1,
            updated_at: now,
            ..current.clone()
        };
        let operator = operator_of(&txn, &current).await?;
        let change = Change::of(AuditAction::RevokeDesignation, Subject::designation(current.id))
            .before(current.audit_state())
            .after(revoked.audit_state())
            .reason(Some(&reason))
            .concerning(Subject::operator(&operator))
            .in_jurisdiction_of([current.ministry.as_str()]);
        audit::record(&txn, principal, change).await?;
        txn.commit().await.map_err(StorageError::from)?;
        Ok(revoked)
    })
    .await
}

/// What correcting a designation takes.
#[derive(Debug, Clone)]
pub struct CorrectInput {
    pub id: Uuid,
    pub expected_version: i32,
    pub correction: Correction,
    pub reason: String,
}

/// Fixes a wrong date or reference of a designation without revoking it, if it is
/// still at the version the caller read. The corrected designation meets every rule a
/// new one meets (periods never overlap: the database checks). A correction that
/// changes nothing writes nothing.
pub async fn correct(
    db: &Db,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    input: CorrectInput,
) -> Result<Designation, RegistryError> {
    let attempt = || {
        let c = &input.correction;
        Change::of(AuditAction::CorrectDesignation, Subject::designation(input.id))
            .after(json!({
                "effectiveFrom": c.effective_from,
                "effectiveTo": c.effective_to,
                "legalBasis": c.legal_basis,
                "reference": c.reference,
                "expectedVersion": input.expected_version,
            }))
            .reason(Some(&input.reason))
    };
    guard(db, principal, attempt, async {
        require_writer(principal)?;
        let reason = text::required("reason", &input.reason)?;
        let checked_text = |field: &'static str, value: &Option<Option<String>>| {
            value.as_ref().map(|v| text::optional(field, v.as_deref())).transpose()
        };
        let correction = Correction {
            legal_basis: checked_text("legalBasis", &input.correction.legal_basis)?,
            reference: checked_text("reference", &input.correction.reference)?,
            ..input.correction.clone()
        };
        with_retry(|| async {
            let txn = db.begin_write().await?;
            let current = current_designation(&txn, input.id, Some(input.expected_version)).await?;
            let planned = designation::plan_correction(snapshot, principal, &current, &correction)?;
            if planned == current {
                return Ok(current);
            }
            let operator = operator_of(&txn, &current).await?;
            if (planned.effective_from, planned.effective_to) != (current.effective_from, current.effective_to) {
                check_within_lifetime(&operator, planned.effective_from, planned.effective_to)?;
            }
            let corrected = Designation { version: current.version + 1, updated_at: Utc::now(), ..planned };
            let written = designations::correct(&txn, &corrected, current.version)
                .await
                .map_err(|e| overlap_conflict(e, &operator.corporate_number, &corrected))?;
            if !written {
                return Err(changed_concurrently(&format!("designation {}", current.id)));
            }
            let change = Change::of(AuditAction::CorrectDesignation, Subject::designation(current.id))
                .before(current.audit_state())
                .after(corrected.audit_state())
                .reason(Some(&reason))
                .concerning(Subject::operator(&operator))
                .in_jurisdiction_of([current.ministry.as_str()]);
            audit::record(&txn, principal, change).await?;
            txn.commit().await.map_err(StorageError::from)?;
            Ok(corrected)
        })
        .await
    })
    .await
}

/// Every designation of the given operators, grouped by operator (one query).
pub async fn of_operators(db: &Db, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Designation>>, RegistryError> {
    let mut grouped: HashMap<Uuid, Vec<Designation>> = ids.iter().map(|id| (*id, Vec::new())).collect();
    for designation in designations::of_operators(&db.conn, ids).await? {
        grouped.entry(designation.operator_id).or_default().push(designation);
    }
    Ok(grouped)
}
