//! Recording operators as 特別社会基盤事業者 (Cyber Response Act Art. 2(3)) and ending
//! those periods: the status that makes the Act's duties bind an ESPA designee.

use chrono::{NaiveDate, Utc};
use sea_orm::DatabaseTransaction;
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::{ServiceError, Services, authorize, changed_concurrently, parse_corporate_number, with_retry};
use crate::domain::audit::{AuditAction, Subject, SubjectType};
use crate::domain::authorization::Operation;
use crate::domain::designation::Designation;
use crate::domain::operator::Operator;
use crate::domain::special_operator::{self, SpecialPeriod};
use crate::domain::{CorporateNumber, Principal, text};
use crate::storage::{ConflictKind, StorageError, designations, operators, special_operators};

/// What recording takes.
#[derive(Debug, Clone)]
pub struct RecordInput {
    pub corporate_number: String,
    pub effective_from: NaiveDate,
    pub reference: Option<String>,
    /// The recording ministry (administrators choose when several designated the operator).
    pub ministry: Option<String>,
}

/// What ending takes.
#[derive(Debug, Clone)]
pub struct EndInput {
    pub corporate_number: String,
    /// First day it no longer holds; default: today in Japan.
    pub effective_to: Option<NaiveDate>,
    pub reason: String,
}

/// An operator with everything the rules look at, read inside `txn`.
struct Current {
    operator: Operator,
    designations: Vec<Designation>,
    periods: Vec<SpecialPeriod>,
}

async fn current(txn: &DatabaseTransaction, number: &CorporateNumber) -> Result<Current, ServiceError> {
    let operator = operators::find_by_corporate_number(txn, number)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no operator with corporate number {number}")))?;
    let designations = designations::of_operators(txn, &[operator.id]).await?;
    let periods = special_operators::of_operators(txn, &[operator.id]).await?.remove(&operator.id).unwrap_or_default();
    Ok(Current { operator, designations, periods })
}

/// Records `corporate_number` as 特別社会基盤事業者 from `effective_from` on (an open
/// period), as the ministry that designated it under ESPA then says.
pub async fn record(
    services: &Services,
    principal: &Principal,
    input: RecordInput,
) -> Result<SpecialPeriod, ServiceError> {
    let attempt = || {
        Change::attempt(
            AuditAction::RecordSpecialOperator,
            SubjectType::SpecialOperatorPeriod,
            None,
            json!({
                "corporateNumber": input.corporate_number,
                "effectiveFrom": input.effective_from,
                "reference": input.reference,
                "ministry": input.ministry,
            }),
        )
        .mentioning(Subject::operator_asked(&input.corporate_number))
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::RecordSpecialOperator)?;
        let number = parse_corporate_number(&input.corporate_number)?;
        let reference = text::optional("reference", input.reference.as_deref())?;
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let now = current(&txn, &number).await?;
            let planned = special_operator::plan_recording(
                principal,
                &now.operator,
                &now.designations,
                &now.periods,
                input.effective_from,
                input.ministry.as_deref().map(str::trim),
            )?;
            let at = Utc::now();
            let period = SpecialPeriod {
                id: Uuid::now_v7(),
                operator_id: now.operator.id,
                effective_from: planned.effective_from,
                effective_to: None,
                ministry: planned.ministry,
                reference: reference.clone(),
                end_reason: None,
                version: 1,
                created_at: at,
                updated_at: at,
            };
            special_operators::insert(&txn, &period).await.map_err(|e| match e {
                // Another writer opened a period meanwhile (the one-open-period index).
                StorageError::Conflict(ConflictKind::Unique) => ServiceError::Conflict(format!(
                    "operator {number} was recorded as 特別社会基盤事業者 concurrently; reload it and retry"
                )),
                other => other.into(),
            })?;
            let change = Change::to_special_period(AuditAction::RecordSpecialOperator, &period, &now.operator)
                .after(state(&period));
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(period)
        })
        .await
    })
    .await
}

/// Ends the open 特別社会基盤事業者 period of `corporate_number` from `effective_to` on
/// (the record and its history stay).
pub async fn end(services: &Services, principal: &Principal, input: EndInput) -> Result<SpecialPeriod, ServiceError> {
    let attempt = || {
        Change::attempt(
            AuditAction::EndSpecialOperator,
            SubjectType::SpecialOperatorPeriod,
            None,
            json!({ "corporateNumber": input.corporate_number, "effectiveTo": input.effective_to }),
        )
        .mentioning(Subject::operator_asked(&input.corporate_number))
        .reason(Some(&input.reason))
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::EndSpecialOperator)?;
        let number = parse_corporate_number(&input.corporate_number)?;
        let reason = text::required("reason", &input.reason)?;
        let effective_to = input.effective_to.unwrap_or_else(crate::domain::today);
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let now = current(&txn, &number).await?;
            let open =
                special_operator::plan_ending(principal, &now.operator, &now.designations, &now.periods, effective_to)?;
            let ended = open.ended(effective_to, reason.clone(), Utc::now())?;
            if !special_operators::end(&txn, &ended, open.version).await? {
                return Err(changed_concurrently(&format!("特別社会基盤事業者 period {}", open.id)));
            }
            let change = Change::to_special_period(AuditAction::EndSpecialOperator, &ended, &now.operator)
                .before(state(open))
                .after(state(&ended))
                .reason(Some(&reason));
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(ended)
        })
        .await
    })
    .await
}

/// A period's state as the audit trail records it: whole, so that record time can read
/// it back exactly (`domain::record_time`).
fn state(period: &SpecialPeriod) -> serde_json::Value {
    serde_json::to_value(period).unwrap_or_default()
}

/// Every 特別社会基盤事業者 period of the given operators, grouped by operator (one query;
/// operators without any are absent).
pub async fn of_operators(
    services: &Services,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<SpecialPeriod>>, ServiceError> {
    Ok(special_operators::of_operators(&services.db.conn, ids).await?)
}
