//! An in-memory read model of every operator and its designations, so that status
//! look-ups and the overlap report cost no query. It is loaded in the background at
//! start (until then, reads go to the database) and kept coherent through the change
//! feed: every change marks the operators it concerns stale, and a stale operator is
//! read again from the database on its next use. Marking happens before the request
//! that made the change answers (see `changes`), so this instance never serves what it
//! just changed; other instances follow within the feed's bound.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;
use uuid::Uuid;

use crate::changes::{Change, ChangeListener};
use crate::domain::audit::{AuditOutcome, SubjectType};
use crate::domain::designation::Designation;
use crate::domain::operator::Operator;
use crate::domain::overlap::{self, OverlapReport};
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{CorporateNumber, today};
use crate::storage::operators::OperatorQuery;
use crate::storage::{Db, StorageError, designations, operators};

/// One operator with all its designations (any period).
#[derive(Debug)]
pub struct OperatorEntry {
    pub operator: Operator,
    pub designations: Arc<Vec<Designation>>,
}

/// Operators read per round trip while loading.
const LOAD_PAGE: u64 = 5000;

#[derive(Default)]
struct State {
    /// Every operator has an entry (the background load finished).
    complete: bool,
    entries: HashMap<CorporateNumber, Arc<OperatorEntry>>,
    /// Operators changed since their entry was read, with the epoch of the change.
    stale: HashMap<CorporateNumber, u64>,
}

pub struct RegistryIndex {
    db: Db,
    state: RwLock<State>,
    /// Counts invalidations, so that a load that started before a change cannot clear
    /// the change's mark.
    epoch: AtomicU64,
}

impl RegistryIndex {
    pub fn new(db: Db) -> Arc<Self> {
        Arc::new(Self { db, state: RwLock::new(State::default()), epoch: AtomicU64::new(0) })
    }

    /// Reads every operator into memory (run in the background at start).
    pub async fn load_all(&self) -> Result<(), StorageError> {
        let started = std::time::Instant::now();
        let query = OperatorQuery::at(today());
        let mut after: Option<String> = None;
        let mut count = 0usize;
        loop {
            let epoch = self.epoch.load(Ordering::Acquire);
            let page = operators::page(&self.db.conn, &query, after.as_deref(), LOAD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.corporate_number.to_string());
            let numbers: Vec<CorporateNumber> = page.iter().map(|o| o.corporate_number).collect();
            count += page.len();
            let loaded = self.entries_for(page).await?;
            self.store(&numbers, loaded, epoch);
        }
        if let Ok(mut state) = self.state.write() {
            state.complete = true;
        }
        tracing::info!(operators = count, seconds = started.elapsed().as_secs_f64(), "registry index loaded");
        Ok(())
    }

    /// Pairs operators with their designations (one query).
    async fn entries_for(
        &self,
        found: Vec<Operator>,
    ) -> Result<HashMap<CorporateNumber, Arc<OperatorEntry>>, StorageError> {
        let ids: Vec<Uuid> = found.iter().map(|o| o.id).collect();
        let mut by_operator: HashMap<Uuid, Vec<Designation>> = HashMap::new();
        for d in designations::of_operators(&self.db.conn, &ids).await? {
            by_operator.entry(d.operator_id).or_default().push(d);
        }
        Ok(found
            .into_iter()
            .map(|operator| {
                let designations = Arc::new(by_operator.remove(&operator.id).unwrap_or_default());
                (operator.corporate_number, Arc::new(OperatorEntry { operator, designations }))
            })
            .collect())
    }

    /// Puts freshly read entries in (and forgets the numbers not found), unless a change
    /// newer than the read marked them stale meanwhile.
    fn store(&self, numbers: &[CorporateNumber], mut loaded: HashMap<CorporateNumber, Arc<OperatorEntry>>, epoch: u64) {
        let Ok(mut state) = self.state.write() else { return };
        for number in numbers {
            if state.stale.get(number).is_some_and(|&changed| changed > epoch) {
                continue;
            }
            state.stale.remove(number);
            match loaded.remove(number) {
                Some(entry) => state.entries.insert(*number, entry),
                None => state.entries.remove(number),
            };
        }
    }

    /// Reads the given operators from the database and keeps what is current.
    async fn load(
        &self,
        numbers: &[CorporateNumber],
    ) -> Result<HashMap<CorporateNumber, Arc<OperatorEntry>>, StorageError> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let found = operators::find_by_corporate_numbers(&self.db.conn, numbers).await?;
        let loaded = self.entries_for(found).await?;
        self.store(numbers, loaded.clone(), epoch);
        Ok(loaded)
    }

    /// The entries for the given numbers (absent: no such operator); from memory where
    /// current, from the database otherwise (one round trip for all of those).
    pub async fn get_many(
        &self,
        numbers: &[CorporateNumber],
    ) -> Result<HashMap<CorporateNumber, Arc<OperatorEntry>>, StorageError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        if let Ok(state) = self.state.read() {
            for number in numbers {
                match state.entries.get(number) {
                    _ if state.stale.contains_key(number) => missing.push(*number),
                    Some(entry) => {
                        found.insert(*number, entry.clone());
                    }
                    None if state.complete => {}
                    None => missing.push(*number),
                }
            }
        }
        if !missing.is_empty() {
            found.extend(self.load(&missing).await?);
        }
        Ok(found)
    }

    pub async fn get(&self, number: CorporateNumber) -> Result<Option<Arc<OperatorEntry>>, StorageError> {
        Ok(self.get_many(&[number]).await?.remove(&number))
    }

    /// The overlap report from memory, or None while the index is still loading.
    pub async fn overlap(
        &self,
        snapshot: &ReferenceSnapshot,
        as_of: NaiveDate,
    ) -> Result<Option<OverlapReport>, StorageError> {
        let stale: Vec<CorporateNumber> = match self.state.read() {
            Ok(state) if state.complete => state.stale.keys().copied().collect(),
            _ => return Ok(None),
        };
        if !stale.is_empty() {
            self.load(&stale).await?;
        }
        let Ok(state) = self.state.read() else { return Ok(None) };
        let active = state.entries.iter().flat_map(|(number, entry)| {
            entry
                .designations
                .iter()
                .filter(move |d| d.is_active_at(as_of))
                .map(move |d| (*number, d.regime, d.field.as_str()))
        });
        Ok(Some(overlap::compute(snapshot, as_of, active)))
    }

    /// Marks operators stale: their next use reads them again.
    pub fn invalidate(&self, numbers: impl IntoIterator<Item = CorporateNumber>) {
        let epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        if let Ok(mut state) = self.state.write() {
            for number in numbers {
                state.stale.insert(number, epoch);
            }
        }
    }
}

impl ChangeListener for RegistryIndex {
    fn changed<'a>(&'a self, change: &'a Change) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if change.event.record.outcome != AuditOutcome::Succeeded {
                return;
            }
            // Every change to an operator or its designations names the operator.
            let operators = change
                .subjects
                .iter()
                .filter(|s| s.kind == SubjectType::Operator)
                .filter_map(|s| CorporateNumber::parse(&s.id).ok());
            self.invalidate(operators);
        })
    }
}
