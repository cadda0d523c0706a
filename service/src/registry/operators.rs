//! Operators: registration, corrections, closing (with successor), look-ups, listings
//! and status answers.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::index::{OperatorEntry, RegistryIndex};
use super::{
    RegistryError, changed_concurrently, check_version, parse_corporate_number, require_reader, require_writer,
    with_retry,
};
use crate::domain::audit::{AuditAction, AuditState, Subject};
use crate::domain::designation::{self, Designation, DesignationStatus};
use crate::domain::operator::Operator;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::text;
use crate::domain::{CorporateNumber, Principal};
use crate::storage::operators::OperatorQuery;
use crate::storage::{ConflictKind, Db, StorageError, designations, operators};

/// What registering an operator takes.
#[derive(Debug, Clone)]
pub struct NewOperator {
    pub corporate_number: String,
    pub name_ja: String,
    pub name_en: Option<String>,
}

pub async fn register(db: &Db, principal: &Principal, input: NewOperator) -> Result<Operator, RegistryError> {
    let attempt = || {
        Change::of(AuditAction::RegisterOperator, Subject::operator_asked(&input.corporate_number)).after(
            json!({ "corporateNumber": input.corporate_number, "nameJa": input.name_ja, "nameEn": input.name_en }),
        )
    };
    guard(db, principal, attempt, async {
        require_writer(principal)?;
        let corporate_number = parse_corporate_number(&input.corporate_number)?;
        let now = Utc::now();
        let operator = Operator {
            id: Uuid::now_v7(),
            corporate_number,
            name_ja: text::required("nameJa", &input.name_ja)?,
            name_en: text::optional("nameEn", input.name_en.as_deref())?,
            closed_on: None,
            successor: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let txn = db.begin_write().await?;
        operators::insert(&txn, &operator).await.map_err(|e| match e {
            StorageError::Conflict(ConflictKind::Unique) => RegistryError::Conflict(format!(
                "an operator with corporate number {corporate_number} is already registered"
            )),
            other => other.into(),
        })?;
        let change =
            Change::of(AuditAction::RegisterOperator, Subject::operator(&operator)).after(operator.audit_state());
        audit::record(&txn, principal, change).await?;
        txn.commit().await.map_err(StorageError::from)?;
        Ok(operator)
    })
    .await
}

/// Loads an operator for a change inside `txn`, refusing unknown ones and stale versions.
async fn current_operator(
    txn: &impl ConnectionTrait,
    number: &CorporateNumber,
    expected_version: Option<i32>,
) -> Result<Operator, RegistryError> {
    let operator = operators::find_by_corporate_number(txn, number)
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no operator with corporate number {number}")))?;
    if let Some(expected) = expected_version {
        check_version(&format!("operator {number}"), operator.version, expected)?;
    }
    Ok(operator)
}

/// The ministries whose designations of an operator make a change to it fall in their
/// jurisdiction.
fn ministries_of(designations: &[Designation]) -> BTreeSet<&str> {
    designations.iter().map(|d| d.ministry.as_str()).collect()
}

/// What correcting an operator's names takes (absent names stay; `Some(None)` clears the
/// English name).
#[derive(Debug, Clone)]
pub struct OperatorUpdate {
    pub corporate_number: String,
    pub expected_version: i32,
    pub name_ja: Option<String>,
    pub name_en: Option<Option<String>>,
    pub reason: Option<String>,
}

/// Corrects an operator's names, if it is still at the version the caller read. An
/// update that changes nothing writes nothing.
pub async fn update(db: &Db, principal: &Principal, input: OperatorUpdate) -> Result<Operator, RegistryError> {
    let attempt = || {
        Change::of(AuditAction::UpdateOperator, Subject::operator_asked(&input.corporate_number))
            .after(
                json!({ "nameJa": input.name_ja, "nameEn": input.name_en, "expectedVersion": input.expected_version }),
            )
            .reason(input.reason.as_deref())
    };
    guard(db, principal, attempt, async {
        require_writer(principal)?;
        let number = parse_corporate_number(&input.corporate_number)?;
        let name_ja = input.name_ja.as_deref().map(|name| text::required("nameJa", name)).transpose()?;
        let name_en = input.name_en.as_ref().map(|name| text::optional("nameEn", name.as_deref())).transpose()?;
        let reason = text::optional("reason", input.reason.as_deref())?;
        with_retry(|| async {
            let txn = db.begin_write().await?;
            let current = current_operator(&txn, &number, Some(input.expected_version)).await?;
            let updated = Operator {
                name_ja: name_ja.clone().unwrap_or_else(|| current.name_ja.clone()),
                name_en: name_en.clone().unwrap_or_else(|| current.name_en.clone()),
                version: current.version + 1,
                updated_at: Utc::now(),
                ..current.clone()
            };
            if (&updated.name_ja, &updated.name_en) == (&current.name_ja, &current.name_en) {
                return Ok(current);
            }
            if !operators::update_names(&txn, &updated, current.version).await? {
                return Err(changed_concurrently(&format!("operator {number}")));
            }
            let designations = designations::of_operators(&txn, &[current.id]).await?;
            let change = Change::of(AuditAction::UpdateOperator, Subject::operator(&updated))
                .before(current.audit_state())
                .after(updated.audit_state())
                .reason(reason.as_deref())
                .in_jurisdiction_of(ministries_of(&designations));
            audit::record(&txn, principal, change).await?;
            txn.commit().await.map_err(StorageError::from)?;
            Ok(updated)
        })
        .await
    })
    .await
}

/// What closing an operator takes.
#[derive(Debug, Clone)]
pub struct Closure {
    pub corporate_number: String,
    /// The day the corporation closed (its designations end there).
    pub closed_on: NaiveDate,
    /// The registered operator that took over, if any.
    pub successor: Option<String>,
    pub reason: String,
    /// When given, the operator must still be at this version.
    pub expected_version: Option<i32>,
}

/// Longest successor chain followed when looking for a cycle.
const MAX_SUCCESSION: usize = 1000;

/// Records that an operator closed (merged into `successor`, or dissolved): its
/// designations still open on `closed_on` end there, all in one transaction. A ministry
/// may close an operator only when it could revoke every designation that ends.
pub async fn close(
    db: &Db,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    input: Closure,
) -> Result<Operator, RegistryError> {
    let attempt = || {
        Change::of(AuditAction::CloseOperator, Subject::operator_asked(&input.corporate_number))
            .after(json!({ "closedOn": input.closed_on, "successorCorporateNumber": input.successor }))
            .reason(Some(&input.reason))
    };
    guard(db, principal, attempt, async {
        require_writer(principal)?;
        let number = parse_corporate_number(&input.corporate_number)?;
        let successor = input.successor.as_deref().map(parse_corporate_number).transpose()?;
        let reason = text::required("reason", &input.reason)?;
        if successor == Some(number) {
            return Err(RegistryError::Invalid(format!("operator {number} cannot be its own successor")));
        }
        with_retry(|| async {
            let txn = db.begin_write().await?;
            let current = current_operator(&txn, &number, input.expected_version).await?;
            if let Some(closed_on) = current.closed_on {
                return Err(RegistryError::Conflict(format!("operator {number} already closed on {closed_on}")));
            }
            if let Some(successor) = &successor {
                check_succession(&txn, &number, successor).await?;
            }
            let all = designations::of_operators(&txn, &[current.id]).await?;
            let now = Utc::now();
            let mut ended = Vec::new();
            for designation in &all {
                let Some(end) = designation.end_on_closure(input.closed_on) else { continue };
                designation::check_revocation(
                    snapshot,
                    principal,
                    designation.regime,
                    &designation.field,
                    designation.effective_from,
                    end,
                )?;
                let closing = format!("operator closed on {}: {reason}", input.closed_on);
                let why = match &designation.revocation_reason {
                    Some(earlier) => format!("{earlier}; {closing}"),
                    None => closing,
                };
                if !designations::revoke(&txn, designation.id, designation.version, end, &why, now).await? {
                    return Err(changed_concurrently(&format!("designation {}", designation.id)));
                }
                ended.push(Designation {
                    effective_to: Some(end),
                    status: DesignationStatus::Revoked,
                    revocation_reason: Some(why),
                    revoked_at: Some(now),
                    version: designation.version + 1,
                    updated_at: now,
                    ..designation.clone()
                });
            }
            let closed = Operator {
                closed_on: Some(input.closed_on),
                successor,
                version: current.version + 1,
                updated_at: now,
                ..current.clone()
            };
            if !operators::close(&txn, &closed, current.version).await? {
                return Err(changed_concurrently(&format!("operator {number}")));
            }
            let ended_before: Vec<&Designation> = all.iter().filter(|d| ended.iter().any(|e| e.id == d.id)).collect();
            let mut change = Change::of(AuditAction::CloseOperator, Subject::operator(&closed))
                .before(json!({
                    "operator": current.audit_state(),
                    "endedDesignations": ended_before.iter().map(|d| d.audit_state()).collect::<Vec<_>>(),
                }))
                .after(json!({ "operator": closed.audit_state(), "endedDesignations": ended.audit_state() }))
                .reason(Some(&reason))
                .in_jurisdiction_of(ministries_of(&all));
            for designation in &ended {
                change = change.concerning(Subject::designation(designation.id));
            }
            if let Some(successor) = &successor {
                change = change.concerning(Subject::operator_number(successor));
            }
            audit::record(&txn, principal, change).await?;
            txn.commit().await.map_err(StorageError::from)?;
            Ok(closed)
        })
        .await
    })
    .await
}

/// The successor must be registered, and following successors from it must not lead
/// back to the operator being closed.
async fn check_succession(
    txn: &impl ConnectionTrait,
    closing: &CorporateNumber,
    successor: &CorporateNumber,
) -> Result<(), RegistryError> {
    let mut chain = vec![*successor];
    let mut next = Some(*successor);
    while let Some(number) = next {
        let operator = operators::find_by_corporate_number(txn, &number).await?;
        if chain.len() == 1 && operator.is_none() {
            return Err(RegistryError::NotFound(format!(
                "successor {successor} is not a registered operator; register it first"
            )));
        }
        next = operator.and_then(|o| o.successor);
        if let Some(following) = next {
            chain.push(following);
            if following == *closing {
                let path: Vec<String> = chain.iter().map(ToString::to_string).collect();
                return Err(RegistryError::Invalid(format!(
                    "{successor} cannot succeed {closing}: its own successors lead back ({closing} → {})",
                    path.join(" → ")
                )));
            }
            if chain.len() > MAX_SUCCESSION {
                break;
            }
        }
    }
    Ok(())
}

/// The operator with this corporate number (None when unknown).
pub async fn find(
    index: &RegistryIndex,
    principal: &Principal,
    corporate_number: &str,
) -> Result<Option<Arc<OperatorEntry>>, RegistryError> {
    require_reader(principal)?;
    let number = parse_corporate_number(corporate_number)?;
    Ok(index.get(number).await?)
}

/// The operators that named this one as their successor (they merged into it).
pub async fn predecessors(
    db: &Db,
    principal: &Principal,
    successor: &CorporateNumber,
) -> Result<Vec<Operator>, RegistryError> {
    require_reader(principal)?;
    Ok(operators::predecessors(&db.conn, successor).await?)
}

/// One page of a listing plus the total number of matches.
pub struct OperatorPage {
    pub operators: Vec<Operator>,
    pub total_count: u64,
    pub has_next_page: bool,
}

/// Operators matching `query`, in corporate-number order after `after`.
pub async fn list(
    db: &Db,
    principal: &Principal,
    query: &OperatorQuery,
    after: Option<&str>,
    first: u64,
) -> Result<OperatorPage, RegistryError> {
    require_reader(principal)?;
    let mut page = operators::page(&db.conn, query, after, first + 1).await?;
    let has_next_page = page.len() as u64 > first;
    page.truncate(first as usize);
    let total_count = operators::count(&db.conn, query).await?;
    Ok(OperatorPage { operators: page, total_count, has_next_page })
}

/// The answer for one asked-for corporate number.
pub struct OperatorStatus {
    /// As asked (normalised when valid).
    pub asked: String,
    /// The operator with all its designations (any period), when found.
    pub entry: Option<Arc<OperatorEntry>>,
    /// Why it was not found, when the number itself is invalid.
    pub problem: Option<String>,
}

/// Statuses for up to `max_batch` numbers, in input order; unknown or invalid numbers
/// are answered as not found: from the in-memory index, with at most one round trip for
/// the numbers it does not hold current.
pub async fn statuses(
    index: &RegistryIndex,
    principal: &Principal,
    asked: &[String],
    max_batch: usize,
) -> Result<Vec<OperatorStatus>, RegistryError> {
    require_reader(principal)?;
    if asked.len() > max_batch {
        return Err(RegistryError::Invalid(format!(
            "at most {max_batch} corporate numbers per request, got {}",
            asked.len()
        )));
    }
    let parsed: Vec<Result<CorporateNumber, String>> =
        asked.iter().map(|a| CorporateNumber::parse(a).map_err(|e| e.to_string())).collect();
    let valid: Vec<CorporateNumber> = parsed.iter().filter_map(|p| p.as_ref().ok().copied()).collect();
    let found = index.get_many(&valid).await?;
    Ok(asked
        .iter()
        .zip(parsed)
        .map(|(raw, parsed)| match parsed {
            Ok(number) => {
                OperatorStatus { asked: number.to_string(), entry: found.get(&number).cloned(), problem: None }
            }
            Err(problem) => OperatorStatus { asked: raw.trim().to_owned(), entry: None, problem: Some(problem) },
        })
        .collect())
}
