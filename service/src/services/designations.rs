//! Designating, revoking and correcting designations.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::{
    ServiceError, Services, authorize, changed_concurrently, check_version, parse_corporate_number, with_retry,
};
use crate::domain::audit::{AuditAction, AuditState, Subject, SubjectType};
use crate::domain::authorization::Operation;
use crate::domain::designation::{self, Correction, Designation, DesignationRequest};
use crate::domain::operator::Operator;
use crate::domain::{CorporateNumber, Principal, Regime, text};
use crate::storage::{ConflictKind, StorageError, designations, operators};

/// What designating takes.
#[derive(Debug, Clone, Default)]
pub struct DesignateInput {
    pub corporate_number: String,
    pub request: DesignationRequest,
    pub legal_basis: Option<String>,
    pub reference: Option<String>,
}

pub async fn designate(
    services: &Services,
    principal: &Principal,
    input: DesignateInput,
) -> Result<Designation, ServiceError> {
    let attempt = || {
        let request = &input.request;
        Change::attempt(
            AuditAction::Designate,
            SubjectType::Designation,
            None,
            json!({
                "corporateNumber": input.corporate_number,
                "regime": request.regime.map(Regime::as_str),
                "sector": request.sector,
                "domain": request.domain,
                "scopeItem": request.scope_item,
                "effectiveFrom": request.effective_from,
                "effectiveTo": request.effective_to,
                "ministry": request.ministry,
            }),
        )
        .mentioning(Subject::operator_asked(&input.corporate_number))
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::Designate)?;
        let corporate_number = parse_corporate_number(&input.corporate_number)?;
        let plan = designation::plan(&services.snapshot(), principal, &input.request)?;
        let legal_basis = text::optional("legalBasis", input.legal_basis.as_deref())?;
        let reference = text::optional("reference", input.reference.as_deref())?;

        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let operator = operators::find_by_corporate_number(&txn, &corporate_number).await?.ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "no operator with corporate number {corporate_number}; register it first"
                ))
            })?;
            operator.check_period(plan.effective_from, plan.effective_to)?;
            let designation = Designation::new(
                Uuid::now_v7(),
                operator.id,
                &plan,
                legal_basis.clone(),
                reference.clone(),
                Utc::now(),
            );
            designations::insert(&txn, &designation)
                .await
                .map_err(|e| overlap_conflict(e, &corporate_number, &designation))?;
            let change = Change::to_designation(AuditAction::Designate, &designation, &operator)
                .after(designation.audit_state());
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(designation)
        })
        .await
    })
    .await
}

/// Says which period a refused write would have overlapped.
fn overlap_conflict(error: StorageError, corporate_number: &CorporateNumber, d: &Designation) -> ServiceError {
    match error {
        StorageError::Conflict(ConflictKind::OverlappingPeriod) => ServiceError::Conflict(format!(
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

fn describe_period(from: NaiveDate, to: Option<NaiveDate>) -> String {
    match to {
        Some(to) => format!("the period {from} to {to}"),
        None => format!("the open period from {from}"),
    }
}

/// The operator a designation belongs to, for a change inside `txn`.
async fn operator_of(txn: &impl ConnectionTrait, designation: &Designation) -> Result<Operator, ServiceError> {
    operators::find_by_ids(txn, &[designation.operator_id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ServiceError::internal(crate::storage::corrupt("designation operator")))
}

/// Loads a designation for a change inside `txn`, refusing unknown ones and stale versions.
async fn current_designation(
    txn: &impl ConnectionTrait,
    id: Uuid,
    expected_version: Option<i32>,
) -> Result<Designation, ServiceError> {
    let designation = designations::find(txn, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no designation with id {id}")))?;
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
    services: &Services,
    principal: &Principal,
    input: RevokeInput,
) -> Result<Designation, ServiceError> {
    let attempt = || {
        Change::attempt(
            AuditAction::RevokeDesignation,
            SubjectType::Designation,
            Some(input.id.to_string()),
            json!({ "effectiveTo": input.effective_to }),
        )
        .reason(Some(&input.reason))
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::RevokeDesignation)?;
        let reason = text::required("reason", &input.reason)?;
        let effective_to = input.effective_to.unwrap_or_else(crate::domain::today);
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let current = current_designation(&txn, input.id, input.expected_version).await?;
            designation::check_revocation(&services.snapshot(), principal, current.target(), effective_to)?;
            let revoked = current.revoked(effective_to, reason.clone(), Utc::now())?;
            if !designations::end(&txn, &revoked, current.version).await? {
                return Err(changed_concurrently(&format!("designation {}", current.id)));
            }
            let operator = operator_of(&txn, &current).await?;
            let change = Change::to_designation(AuditAction::RevokeDesignation, &revoked, &operator)
                .before(current.audit_state())
                .after(revoked.audit_state())
                .reason(Some(&reason));
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(revoked)
        })
        .await
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
    services: &Services,
    principal: &Principal,
    input: CorrectInput,
) -> Result<Designation, ServiceError> {
    let attempt = || {
        let c = &input.correction;
        Change::attempt(
            AuditAction::CorrectDesignation,
            SubjectType::Designation,
            Some(input.id.to_string()),
            json!({
                "effectiveFrom": c.effective_from,
                "effectiveTo": c.effective_to,
                "legalBasis": c.legal_basis,
                "reference": c.reference,
                "expectedVersion": input.expected_version,
            }),
        )
        .reason(Some(&input.reason))
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::CorrectDesignation)?;
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
            let txn = services.db.begin_write().await?;
            let current = current_designation(&txn, input.id, Some(input.expected_version)).await?;
            let planned = designation::plan_correction(&services.snapshot(), principal, &current, &correction)?;
            if planned == current {
                return Ok(current);
            }
            let operator = operator_of(&txn, &current).await?;
            if (planned.effective_from, planned.effective_to) != (current.effective_from, current.effective_to) {
                operator.check_period(planned.effective_from, planned.effective_to)?;
            }
            let corrected = Designation { version: current.version + 1, updated_at: Utc::now(), ..planned };
            let written = designations::correct(&txn, &corrected, current.version)
                .await
                .map_err(|e| overlap_conflict(e, &operator.corporate_number, &corrected))?;
            if !written {
                return Err(changed_concurrently(&format!("designation {}", current.id)));
            }
            let change = Change::to_designation(AuditAction::CorrectDesignation, &corrected, &operator)
                .before(current.audit_state())
                .after(corrected.audit_state())
                .reason(Some(&reason));
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(corrected)
        })
        .await
    })
    .await
}

/// Every designation of the given operators, grouped by operator (one query; an
/// operator without any has an empty list).
pub async fn of_operators(services: &Services, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Designation>>, ServiceError> {
    Ok(designations::grouped_by_operator(&services.db.conn, ids).await?)
}
