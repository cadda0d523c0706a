//! Operators: registration, corrections, closing (with successor), look-ups, listings
//! and status answers.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

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
use crate::domain::designation::{self, Designation};
use crate::domain::operator::{Operator, OperatorQuery};
use crate::domain::text;
use crate::domain::{CorporateNumber, Principal, today};
pub use crate::read_model::OperatorEntry;
use crate::storage::{ConflictKind, StorageError, designations, operators, special_operators};

/// What registering an operator takes.
#[derive(Debug, Clone)]
pub struct NewOperator {
    pub corporate_number: String,
    pub name_ja: String,
    pub name_en: Option<String>,
}

pub async fn register(
    services: &Services,
    principal: &Principal,
    input: NewOperator,
) -> Result<Operator, ServiceError> {
    let attempt = || {
        Change::attempt(
            AuditAction::RegisterOperator,
            SubjectType::Operator,
            Some(Subject::operator_asked(&input.corporate_number).id),
            json!({ "corporateNumber": input.corporate_number, "nameJa": input.name_ja, "nameEn": input.name_en }),
        )
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::RegisterOperator)?;
        let corporate_number = parse_corporate_number(&input.corporate_number)?;
        let name_ja = text::required("nameJa", &input.name_ja)?;
        let name_en = text::optional("nameEn", input.name_en.as_deref())?;
        with_retry(|| async {
            let operator =
                Operator::register(Uuid::now_v7(), corporate_number, name_ja.clone(), name_en.clone(), Utc::now());
            let txn = services.db.begin_write().await?;
            operators::insert(&txn, &operator).await.map_err(|e| match e {
                StorageError::Conflict(ConflictKind::Unique) => ServiceError::Conflict(format!(
                    "an operator with corporate number {corporate_number} is already registered"
                )),
                other => other.into(),
            })?;
            let change = Change::to_operator(AuditAction::RegisterOperator, &operator).after(operator.audit_state());
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(operator)
        })
        .await
    })
    .await
}

/// Loads an operator for a change inside `txn`, refusing unknown ones and stale versions.
async fn current_operator(
    txn: &impl ConnectionTrait,
    number: &CorporateNumber,
    expected_version: Option<i32>,
) -> Result<Operator, ServiceError> {
    let operator = operators::find_by_corporate_number(txn, number)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no operator with corporate number {number}")))?;
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
pub async fn update(
    services: &Services,
    principal: &Principal,
    input: OperatorUpdate,
) -> Result<Operator, ServiceError> {
    let attempt = || {
        Change::attempt(
            AuditAction::UpdateOperator,
            SubjectType::Operator,
            Some(Subject::operator_asked(&input.corporate_number).id),
            json!({ "nameJa": input.name_ja, "nameEn": input.name_en, "expectedVersion": input.expected_version }),
        )
        .reason(input.reason.as_deref())
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::UpdateOperator)?;
        let number = parse_corporate_number(&input.corporate_number)?;
        let name_ja = input.name_ja.as_deref().map(|name| text::required("nameJa", name)).transpose()?;
        let name_en = input.name_en.as_ref().map(|name| text::optional("nameEn", name.as_deref())).transpose()?;
        let reason = text::optional("reason", input.reason.as_deref())?;
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let current = current_operator(&txn, &number, Some(input.expected_version)).await?;
            let renaming = Renaming { name_ja: name_ja.clone(), name_en: name_en.clone(), reason: reason.clone() };
            let Some((updated, change)) = rename_in(&txn, services, principal, &current, renaming).await? else {
                return Ok(current);
            };
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(updated)
        })
        .await
    })
    .await
}

/// New names for an operator (absent names stay; `Some(None)` clears the English name).
pub(super) struct Renaming {
    pub name_ja: Option<String>,
    pub name_en: Option<Option<String>>,
    pub reason: Option<String>,
}

/// Renames `current` inside `txn` (checked, not yet recorded): the renamed operator and
/// the change to record, or None when the names are already these.
pub(super) async fn rename_in(
    txn: &impl ConnectionTrait,
    services: &Services,
    principal: &Principal,
    current: &Operator,
    renaming: Renaming,
) -> Result<Option<(Operator, Change)>, ServiceError> {
    let designations = designations::of_operators(txn, &[current.id]).await?;
    current.check_master_data_change(&services.snapshot(), principal, &designations, today())?;
    let Some(updated) = current.renamed(renaming.name_ja, renaming.name_en, Utc::now()) else {
        return Ok(None);
    };
    if !operators::update_names(txn, &updated, current.version).await? {
        return Err(changed_concurrently(&format!("operator {}", current.corporate_number)));
    }
    let change = Change::to_operator(AuditAction::UpdateOperator, &updated)
        .before(current.audit_state())
        .after(updated.audit_state())
        .reason(renaming.reason.as_deref())
        .in_jurisdiction_of(ministries_of(&designations));
    Ok(Some((updated, change)))
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
pub async fn close(services: &Services, principal: &Principal, input: Closure) -> Result<Operator, ServiceError> {
    let attempt = || {
        Change::attempt(
            AuditAction::CloseOperator,
            SubjectType::Operator,
            Some(Subject::operator_asked(&input.corporate_number).id),
            json!({ "closedOn": input.closed_on, "successorCorporateNumber": input.successor }),
        )
        .reason(Some(&input.reason))
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::CloseOperator)?;
        let number = parse_corporate_number(&input.corporate_number)?;
        let successor = input.successor.as_deref().map(parse_corporate_number).transpose()?;
        let reason = text::required("reason", &input.reason)?;
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let current = current_operator(&txn, &number, input.expected_version).await?;
            let closing = Closing { closed_on: input.closed_on, successor, reason: reason.clone() };
            let (closed, change) = close_in(&txn, services, principal, &current, closing).await?;
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(closed)
        })
        .await
    })
    .await
}

/// A closing, checked as far as it can be without the database.
pub(super) struct Closing {
    pub closed_on: NaiveDate,
    pub successor: Option<CorporateNumber>,
    pub reason: String,
}

/// Closes `current` inside `txn`, ending its designations still open on the day (checked,
/// not yet recorded): the closed operator and the change to record.
pub(super) async fn close_in(
    txn: &impl ConnectionTrait,
    services: &Services,
    principal: &Principal,
    current: &Operator,
    closing: Closing,
) -> Result<(Operator, Change), ServiceError> {
    let Closing { closed_on, successor, reason } = closing;
    let number = current.corporate_number;
    let now = Utc::now();
    let closed = current.closed(closed_on, successor, now)?;
    if let Some(successor) = &successor {
        check_succession(txn, &number, successor).await?;
    }
    let snapshot = services.snapshot();
    let all = designations::of_operators(txn, &[current.id]).await?;
    let ending = format!("operator closed on {closed_on}: {reason}");
    let mut ended = Vec::new();
    for designation in &all {
        let Some(end) = designation.ended_by_closure(closed_on, &ending, now) else { continue };
        let ends_on = end.effective_to.unwrap_or(closed_on);
        designation::check_revocation(&snapshot, principal, designation.target(), ends_on)?;
        if !designations::end(txn, &end, designation.version).await? {
            return Err(changed_concurrently(&format!("designation {}", designation.id)));
        }
        ended.push(end);
    }
    // Its 特別社会基盤事業者 periods end with it too (within its lifetime).
    let periods = special_operators::of_operators(txn, &[current.id]).await?.remove(&current.id).unwrap_or_default();
    let mut periods_before = Vec::new();
    let mut periods_after = Vec::new();
    for period in &periods {
        let Some(end) = period.ended_by_closure(closed_on, &ending, now) else { continue };
        if !special_operators::end(txn, &end, period.version).await? {
            return Err(changed_concurrently(&format!("特別社会基盤事業者 period {}", period.id)));
        }
        periods_before.push(serde_json::to_value(period).unwrap_or_default());
        periods_after.push(serde_json::to_value(&end).unwrap_or_default());
    }
    if !operators::close(txn, &closed, current.version).await? {
        return Err(changed_concurrently(&format!("operator {number}")));
    }
    let ended_before: Vec<&Designation> = all.iter().filter(|d| ended.iter().any(|e| e.id == d.id)).collect();
    let mut change = Change::to_operator(AuditAction::CloseOperator, &closed)
        .before(json!({
            "operator": current.audit_state(),
            "endedDesignations": ended_before.iter().map(|d| d.audit_state()).collect::<Vec<_>>(),
            "endedSpecialPeriods": periods_before,
        }))
        .after(json!({
            "operator": closed.audit_state(),
            "endedDesignations": ended.audit_state(),
            "endedSpecialPeriods": periods_after,
        }))
        .reason(Some(&reason))
        .in_jurisdiction_of(ministries_of(&all));
    for designation in &ended {
        change = change.and_designation(designation, &number);
    }
    if let Some(successor) = &successor {
        change = change.mentioning(Subject::operator_number(successor));
    }
    Ok((closed, change))
}

/// The successor must be registered, and following successors from it must not lead
/// back to the operator being closed.
async fn check_succession(
    txn: &impl ConnectionTrait,
    closing: &CorporateNumber,
    successor: &CorporateNumber,
) -> Result<(), ServiceError> {
    let mut chain = vec![*successor];
    let mut next = Some(*successor);
    while let Some(number) = next {
        let operator = operators::find_by_corporate_number(txn, &number).await?;
        if chain.len() == 1 && operator.is_none() {
            return Err(ServiceError::NotFound(format!(
                "successor {successor} is not a registered operator; register it first"
            )));
        }
        next = operator.and_then(|o| o.successor);
        if let Some(following) = next {
            chain.push(following);
            if following == *closing {
                let path: Vec<String> = chain.iter().map(ToString::to_string).collect();
                return Err(ServiceError::Invalid(format!(
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
    services: &Services,
    principal: &Principal,
    corporate_number: &str,
) -> Result<Option<Arc<OperatorEntry>>, ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    let number = parse_corporate_number(corporate_number)?;
    Ok(services.read.index().get(number).await?)
}

/// The operators that named this one as their successor (they merged into it).
pub async fn predecessors(
    services: &Services,
    principal: &Principal,
    successor: &CorporateNumber,
) -> Result<Vec<Operator>, ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    Ok(operators::predecessors(&services.db.conn, successor).await?)
}

/// One page of a listing plus the total number of matches.
pub struct OperatorPage {
    pub operators: Vec<Operator>,
    /// The same operators with their designations, when the page was answered from
    /// memory (empty when it was read from the database).
    pub entries: Vec<Arc<OperatorEntry>>,
    pub total_count: u64,
    pub has_next_page: bool,
}

/// Operators matching `query`, in corporate-number order after `after`: from the
/// in-memory index once it is loaded, from the database until then.
pub async fn list(
    services: &Services,
    principal: &Principal,
    query: &OperatorQuery,
    after: Option<&str>,
    first: u64,
) -> Result<OperatorPage, ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    let first_usize = usize::try_from(first).unwrap_or(usize::MAX);
    if let Some(listed) = services.read.index().list(query, after, first_usize).await? {
        let operators = listed.entries.iter().map(|entry| entry.operator.clone()).collect();
        return Ok(OperatorPage {
            operators,
            entries: listed.entries,
            total_count: listed.total_count,
            has_next_page: listed.has_next_page,
        });
    }
    let conn = &services.db.conn;
    let mut page = operators::page(conn, query, after, first + 1).await?;
    let has_next_page = page.len() as u64 > first;
    page.truncate(first_usize);
    let total_count = operators::count(conn, query).await?;
    Ok(OperatorPage { operators: page, entries: Vec::new(), total_count, has_next_page })
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
    services: &Services,
    principal: &Principal,
    asked: &[String],
    max_batch: usize,
) -> Result<Vec<OperatorStatus>, ServiceError> {
    let parsed = parse_batch(principal, asked, max_batch)?;
    let valid: Vec<CorporateNumber> = parsed.iter().filter_map(|p| p.as_ref().ok().copied()).collect();
    let found = services.read.index().get_many(&valid).await?;
    Ok(answer_batch(asked, parsed, &found))
}

/// Checks a status batch: the caller may read operators, the batch is not too large;
/// each number parsed (or why it is invalid).
pub(super) fn parse_batch(
    principal: &Principal,
    asked: &[String],
    max_batch: usize,
) -> Result<Vec<Result<CorporateNumber, String>>, ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    if asked.len() > max_batch {
        return Err(ServiceError::Invalid(format!(
            "at most {max_batch} corporate numbers per request, got {}",
            asked.len()
        )));
    }
    Ok(asked.iter().map(|a| CorporateNumber::parse(a).map_err(|e| e.to_string())).collect())
}

/// One status per asked number, in input order, from the operators found.
pub(super) fn answer_batch(
    asked: &[String],
    parsed: Vec<Result<CorporateNumber, String>>,
    found: &HashMap<CorporateNumber, Arc<OperatorEntry>>,
) -> Vec<OperatorStatus> {
    asked
        .iter()
        .zip(parsed)
        .map(|(raw, parsed)| match parsed {
            Ok(number) => {
                OperatorStatus { asked: number.to_string(), entry: found.get(&number).cloned(), problem: None }
            }
            Err(problem) => OperatorStatus { asked: raw.trim().to_owned(), entry: None, problem: Some(problem) },
        })
        .collect()
}
