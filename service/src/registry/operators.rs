//! Operators: registration, look-ups, listings and status answers.

use std::collections::HashMap;

use chrono::Utc;
use uuid::Uuid;

use super::{RegistryError, parse_corporate_number, require_reader, require_writer};
use crate::domain::designation::Designation;
use crate::domain::operator::Operator;
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
    txn.commit().await.map_err(StorageError::from)?;
    Ok(operator)
}

/// The operator with this corporate number (None when unknown).
pub async fn find(db: &Db, principal: &Principal, corporate_number: &str) -> Result<Option<Operator>, RegistryError> {
    require_reader(principal)?;
    let number = parse_corporate_number(corporate_number)?;
    Ok(operators::find_by_corporate_number(&db.conn, &number).await?)
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
    pub operator: Option<Operator>,
    /// All the operator's designations (any period).
    pub designations: Vec<Designation>,
    /// Why it was not found, when the number itself is invalid.
    pub problem: Option<String>,
}

/// Statuses for up to `max_batch` numbers, in input order; unknown or invalid numbers
/// are answered as not found. Two queries whatever the batch size.
pub async fn statuses(
    db: &Db,
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
    let found = operators::find_by_corporate_numbers(&db.conn, &valid).await?;
    let ids: Vec<Uuid> = found.iter().map(|o| o.id).collect();
    let mut by_operator: HashMap<Uuid, Vec<Designation>> = HashMap::new();
    for designation in designations::of_operators(&db.conn, &ids).await? {
        by_operator.entry(designation.operator_id).or_default().push(designation);
    }
    let by_number: HashMap<CorporateNumber, Operator> = found.into_iter().map(|o| (o.corporate_number, o)).collect();
    Ok(asked
        .iter()
        .zip(parsed)
        .map(|(raw, parsed)| match parsed {
            Ok(number) => {
                let operator = by_number.get(&number).cloned();
                let designations = operator.as_ref().and_then(|o| by_operator.get(&o.id).cloned()).unwrap_or_default();
                OperatorStatus { asked: number.to_string(), operator, designations, problem: None }
            }
            Err(problem) => OperatorStatus {
                asked: raw.trim().to_owned(),
                operator: None,
                designations: Vec::new(),
                problem: Some(problem),
            },
        })
        .collect())
}
