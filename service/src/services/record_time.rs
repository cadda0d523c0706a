//! Answers as the registry recorded them at a past instant (`knownAt`): the current
//! state with every change recorded after the instant undone (see
//! `domain::record_time`). Reference data and the operators that differ are kept for
//! the instants asked about lately (`read_model::record_time`); the answers without
//! `knownAt` never come here.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::operators::{OperatorPage, OperatorStatus, answer_batch, parse_batch};
use super::{ServiceError, Services, authorize, parse_corporate_number};
use crate::domain::authorization::Operation;
use crate::domain::designation::is_active;
use crate::domain::operator::{DesignatedPeriod, Operator, OperatorQuery};
use crate::domain::overlap::{OverlapCounter, OverlapReport, field_mask};
use crate::domain::record_time::{self, Horizon, OperatorState};
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::special_operator::{SpecialPeriod, is_special_at};
use crate::domain::{CorporateNumber, Principal, Regime};
use crate::read_model::OperatorEntry;
use crate::read_model::index::Overrides;
use crate::storage::record_time::{LaterChanges, Scope, later_changes, position};
use crate::storage::{self, StorageError};

/// Times a reading is taken again when a change was committed while it was read (so
/// that it never mixes states from before and after that change).
const ATTEMPTS: usize = 5;

/// Where `at` falls in the audit trail; `BAD_USER_INPUT` in the future or before the
/// first record.
pub async fn horizon(services: &Services, at: DateTime<Utc>) -> Result<Horizon, ServiceError> {
    let (first, last) = position(&services.db.conn, at).await?;
    record_time::horizon(at, Utc::now(), first, last).map_err(|refused| ServiceError::Invalid(refused.to_string()))
}

/// The reference data as recorded at `at` (public, like the current one).
pub async fn reference(services: &Services, at: DateTime<Utc>) -> Result<Arc<ReferenceSnapshot>, ServiceError> {
    reference_at(services, horizon(services, at).await?).await
}

async fn reference_at(services: &Services, horizon: Horizon) -> Result<Arc<ReferenceSnapshot>, ServiceError> {
    let cache = &services.read.recorded().reference;
    let snapshot = cache
        .get_or_insert_async(&horizon.last_event, async {
            let data = storage::reference::load_as_recorded(&services.db.conn, horizon.last_event).await?;
            Ok::<_, StorageError>(Arc::new(ReferenceSnapshot::new(data)))
        })
        .await?;
    Ok(snapshot)
}

/// The operators of `current` as recorded at the horizon of `later`.
fn undo_all(
    current: &HashMap<CorporateNumber, Arc<OperatorEntry>>,
    mut later: LaterChanges,
) -> Result<Overrides, ServiceError> {
    let mut overrides = Overrides::new();
    for (number, changes) in later.by_operator.drain() {
        let Some(entry) = current.get(&number) else { continue };
        let state = OperatorState {
            operator: entry.operator.clone(),
            designations: entry.designations.to_vec(),
            special: entry.special.to_vec(),
        };
        let known = record_time::as_recorded(state, &changes, later.registered.contains(&number))
            .map_err(|e| ServiceError::internal(e.to_string()))?;
        let known = known.map(|s| {
            Arc::new(OperatorEntry {
                operator: s.operator,
                designations: Arc::new(s.designations),
                special: Arc::new(s.special),
            })
        });
        overrides.insert(number, known);
    }
    Ok(overrides)
}

/// Runs `read` until no change was committed while it ran (at most [`ATTEMPTS`] times);
/// it gets the newest event id at its start.
async fn consistently<T, F, Fut>(services: &Services, mut read: F) -> Result<T, ServiceError>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<T, ServiceError>>,
{
    let conn = &services.db.conn;
    let mut newest = storage::audit::latest_id(conn).await?;
    let mut attempt = 1;
    loop {
        let value = read(newest).await?;
        let after = storage::audit::latest_id(conn).await?;
        if after == newest || attempt == ATTEMPTS {
            return Ok(value);
        }
        (newest, attempt) = (after, attempt + 1);
    }
}

/// The given operators as recorded at `horizon` (absent: not registered then).
async fn operators_at(
    services: &Services,
    numbers: &[CorporateNumber],
    horizon: Horizon,
) -> Result<HashMap<CorporateNumber, Arc<OperatorEntry>>, ServiceError> {
    consistently(services, |_| async move {
        let mut current = services.read.index().get_many(numbers).await?;
        let designations: Vec<_> = current.values().flat_map(|e| e.designations.iter().map(|d| d.id)).collect();
        let scope = Scope { operators: numbers, designations: &designations };
        let later = later_changes(&services.db.conn, horizon.last_event, Some(&scope)).await?;
        for (number, known) in undo_all(&current, later)? {
            match known {
                Some(entry) => current.insert(number, entry),
                None => current.remove(&number),
            };
        }
        Ok(current)
    })
    .await
}

/// The operators that differ from the index's at `horizon`, given the newest event.
async fn all_operators_at(services: &Services, horizon: Horizon, newest: i64) -> Result<Arc<Overrides>, ServiceError> {
    let cache = &services.read.recorded().operators;
    cache
        .get_or_insert_async(&(horizon.last_event, newest), async {
            let later = later_changes(&services.db.conn, horizon.last_event, None).await?;
            let numbers: Vec<CorporateNumber> = later.by_operator.keys().copied().collect();
            let current = services.read.index().get_many(&numbers).await?;
            Ok(Arc::new(undo_all(&current, later)?))
        })
        .await
}

/// Passes over every operator as recorded at `horizon`, visiting each with a state
/// made fresh for the pass (a pass is made again when a change was committed while it
/// ran), and returns that state.
async fn scan_at<S>(
    services: &Services,
    horizon: Horizon,
    fresh: impl Fn() -> S,
    visit: impl Fn(&mut S, &Operator, &[DesignatedPeriod<'_>], &[SpecialPeriod]),
) -> Result<S, ServiceError> {
    let conn = &services.db.conn;
    let mut newest = storage::audit::latest_id(conn).await?;
    let mut attempt = 1;
    loop {
        let overrides = all_operators_at(services, horizon, newest).await?;
        let mut state = fresh();
        let scanned = services
            .read
            .index()
            .scan(&overrides, |operator, periods, special| visit(&mut state, operator, periods, special));
        if !scanned.await? {
            return Err(ServiceError::Unavailable(StorageError::Connect(
                "the registry index is still loading; answers with knownAt need it".into(),
            )));
        }
        let after = storage::audit::latest_id(conn).await?;
        if after == newest || attempt == ATTEMPTS {
            return Ok(state);
        }
        (newest, attempt) = (after, attempt + 1);
    }
}

/// The operator with this corporate number as recorded at `at`, with the reference data
/// recorded then.
pub async fn find(
    services: &Services,
    principal: &Principal,
    corporate_number: &str,
    at: DateTime<Utc>,
) -> Result<(Option<Arc<OperatorEntry>>, Arc<ReferenceSnapshot>), ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    let number = parse_corporate_number(corporate_number)?;
    let (mut found, snapshot) = operators(services, &[number], at).await?;
    Ok((found.remove(&number), snapshot))
}

/// The given operators as recorded at `at` (absent: not registered then), with the
/// reference data recorded then, for a resolver that has checked that its caller may
/// read them.
pub async fn operators(
    services: &Services,
    numbers: &[CorporateNumber],
    at: DateTime<Utc>,
) -> Result<(HashMap<CorporateNumber, Arc<OperatorEntry>>, Arc<ReferenceSnapshot>), ServiceError> {
    let horizon = horizon(services, at).await?;
    Ok((operators_at(services, numbers, horizon).await?, reference_at(services, horizon).await?))
}

/// Statuses as recorded at `at` (see `operators::statuses`).
pub async fn statuses(
    services: &Services,
    principal: &Principal,
    asked: &[String],
    max_batch: usize,
    at: DateTime<Utc>,
) -> Result<(Vec<OperatorStatus>, Arc<ReferenceSnapshot>), ServiceError> {
    let parsed = parse_batch(principal, asked, max_batch)?;
    let horizon = horizon(services, at).await?;
    let valid: Vec<CorporateNumber> = parsed.iter().filter_map(|p| p.as_ref().ok().copied()).collect();
    let found = operators_at(services, &valid, horizon).await?;
    Ok((answer_batch(asked, parsed, &found), reference_at(services, horizon).await?))
}

/// The overlap report at `as_of` as recorded at `at`, counted against the reference data
/// recorded then.
pub async fn overlap(
    services: &Services,
    principal: &Principal,
    as_of: chrono::NaiveDate,
    at: DateTime<Utc>,
) -> Result<(OverlapReport, Arc<ReferenceSnapshot>), ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    let horizon = horizon(services, at).await?;
    let snapshot = reference_at(services, horizon).await?;
    let fresh = || OverlapCounter::new(&snapshot, as_of);
    let count =
        |counter: &mut OverlapCounter, _: &Operator, periods: &[DesignatedPeriod<'_>], special: &[SpecialPeriod]| {
            let (mut sectors, mut domains) = (0u64, 0u64);
            for d in periods.iter().filter(|d| is_active(d.effective_from, d.effective_to, as_of)) {
                let Some(index) = snapshot.field_index(d.regime, d.field) else { continue };
                match d.regime {
                    Regime::Ci => sectors |= field_mask(index),
                    Regime::Espa => domains |= field_mask(index),
                }
            }
            counter.add_masks(sectors, domains, is_special_at(special, as_of));
        };
    let counter = scan_at(services, horizon, fresh, count).await?;
    Ok((counter.finish(), snapshot))
}

/// Operators matching `query` as recorded at `at`, in corporate-number order after
/// `after` (see `operators::list`).
pub async fn list(
    services: &Services,
    principal: &Principal,
    query: &OperatorQuery,
    after: Option<&str>,
    first: u64,
    at: DateTime<Utc>,
) -> Result<OperatorPage, ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    let horizon = horizon(services, at).await?;
    let keep =
        |matching: &mut Vec<Operator>, operator: &Operator, periods: &[DesignatedPeriod<'_>], _: &[SpecialPeriod]| {
            if query.matches(operator, periods) {
                matching.push(operator.clone());
            }
        };
    let mut matching = scan_at(services, horizon, Vec::new, keep).await?;
    matching.sort_by(|a, b| a.corporate_number.as_str().cmp(b.corporate_number.as_str()));
    let total_count = matching.len() as u64;
    let start = after.map_or(0, |after| matching.partition_point(|o| o.corporate_number.as_str() <= after));
    let mut page: Vec<Operator> = matching.drain(start..).take(first as usize + 1).collect();
    let has_next_page = page.len() as u64 > first;
    page.truncate(first as usize);
    Ok(OperatorPage { operators: page, entries: Vec::new(), total_count, has_next_page })
}
