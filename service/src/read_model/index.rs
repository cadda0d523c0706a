//! An in-memory read model of every operator and its designations, so that status
//! look-ups and the overlap report cost no query. It is loaded in the background at
//! start (until then, reads go to the database) and kept coherent through the change
//! feed: every change's effects name the operators it changed, which are marked stale
//! and read again from the database on their next use. A change made here marks them
//! before the use case that made it returns (see `read_model`), so this instance never
//! serves what it just changed; other instances follow within the feed's bound.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::changes::{self, DesignationChanges, Window};
use crate::domain::designation::{self, Designation, DesignationStatus};
use crate::domain::operator::Operator;
use crate::domain::operator::{DesignatedPeriod, OperatorQuery};
use crate::domain::overlap::{self, OverlapReport};
use crate::domain::proposal::{self, DesignationFacts, OperatorDesignations, ScopeImpact};
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::special_operator::{SpecialPeriod, is_special_at};
use crate::domain::{CorporateNumber, Regime, today};
use crate::storage::{Db, StorageError, designations, operators, special_operators};

/// One operator with all its designations and 特別社会基盤事業者 periods (any period).
#[derive(Debug)]
pub struct OperatorEntry {
    pub operator: Operator,
    pub designations: Arc<Vec<Designation>>,
    pub special: Arc<Vec<SpecialPeriod>>,
}

/// What a listing looks at in one designation, held or read.
fn period(d: &impl DesignationFacts) -> DesignatedPeriod<'_> {
    DesignatedPeriod {
        regime: d.regime(),
        field: d.field(),
        effective_from: d.effective_from(),
        effective_to: d.effective_to(),
    }
}

/// Operators answered in place of the index's own (None: absent), by corporate number.
pub type Overrides = HashMap<CorporateNumber, Option<Arc<OperatorEntry>>>;

/// Operators read per round trip while loading.
const LOAD_PAGE: u64 = 1000;
/// Distinct repeated strings shared between held designations; beyond this many (free
/// text that does not repeat) further ones are simply not shared.
const SHARED_STRINGS_LIMIT: usize = 10_000;

/// An operator as the index holds it for the life of the process: compact, since it
/// is held for every operator (an [`OperatorEntry`] is made from it on each read).
struct HeldOperator {
    operator: Operator,
    designations: Box<[HeldDesignation]>,
    /// Few operators have any: held as they are.
    special: Arc<Vec<SpecialPeriod>>,
}

/// A designation as the index holds it: the strings that repeat across designations
/// (codes, ministry, legal basis) shared, the others boxed, the operator implied.
struct HeldDesignation {
    id: Uuid,
    regime: Regime,
    field: Arc<str>,
    scope_item: Option<Arc<str>>,
    effective_from: NaiveDate,
    effective_to: Option<NaiveDate>,
    status: DesignationStatus,
    legal_basis: Option<Arc<str>>,
    reference: Option<Box<str>>,
    ministry: Arc<str>,
    revocation_reason: Option<Box<str>>,
    revoked_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl HeldOperator {
    fn new(entry: &OperatorEntry, shared: &mut HashSet<Arc<str>>) -> Self {
        let mut share = |text: &str| -> Arc<str> {
            if let Some(known) = shared.get(text) {
                return known.clone();
            }
            let text: Arc<str> = Arc::from(text);
            if shared.len() < SHARED_STRINGS_LIMIT {
                shared.insert(text.clone());
            }
            text
        };
        let designations = entry
            .designations
            .iter()
            .map(|d| HeldDesignation {
                id: d.id,
                regime: d.regime,
                field: share(&d.field),
                scope_item: d.scope_item.as_deref().map(&mut share),
                effective_from: d.effective_from,
                effective_to: d.effective_to,
                status: d.status,
                legal_basis: d.legal_basis.as_deref().map(&mut share),
                reference: d.reference.as_deref().map(Box::from),
                ministry: share(&d.ministry),
                revocation_reason: d.revocation_reason.as_deref().map(Box::from),
                revoked_at: d.revoked_at,
                version: d.version,
                created_at: d.created_at,
                updated_at: d.updated_at,
            })
            .collect();
        Self { operator: entry.operator.clone(), designations, special: entry.special.clone() }
    }

    fn entry(&self) -> Arc<OperatorEntry> {
        let operator_id = self.operator.id;
        let designations = self
            .designations
            .iter()
            .map(|d| Designation {
                id: d.id,
                operator_id,
                regime: d.regime,
                field: d.field.to_string(),
                scope_item: d.scope_item.as_deref().map(str::to_owned),
                effective_from: d.effective_from,
                effective_to: d.effective_to,
                status: d.status,
                legal_basis: d.legal_basis.as_deref().map(str::to_owned),
                reference: d.reference.as_deref().map(str::to_owned),
                ministry: d.ministry.to_string(),
                revocation_reason: d.revocation_reason.as_deref().map(str::to_owned),
                revoked_at: d.revoked_at,
                version: d.version,
                created_at: d.created_at,
                updated_at: d.updated_at,
            })
            .collect();
        Arc::new(OperatorEntry {
            operator: self.operator.clone(),
            designations: Arc::new(designations),
            special: self.special.clone(),
        })
    }
}

impl DesignationFacts for HeldDesignation {
    fn id(&self) -> Uuid {
        self.id
    }
    fn regime(&self) -> Regime {
        self.regime
    }
    fn field(&self) -> &str {
        &self.field
    }
    fn scope_item(&self) -> Option<&str> {
        self.scope_item.as_deref()
    }
    fn effective_from(&self) -> NaiveDate {
        self.effective_from
    }
    fn effective_to(&self) -> Option<NaiveDate> {
        self.effective_to
    }
    fn ministry(&self) -> &str {
        &self.ministry
    }
}

#[derive(Default)]
struct State {
    /// Every operator has an entry (the background load finished).
    complete: bool,
    entries: HashMap<CorporateNumber, HeldOperator>,
    shared_strings: HashSet<Arc<str>>,
    /// Operators changed since their entry was read, with the epoch of the change.
    stale: HashMap<CorporateNumber, u64>,
}

pub struct RegistryIndex {
    db: Db,
    state: RwLock<State>,
    /// Counts invalidations, so that a load that started before a change cannot clear
    /// the change's mark.
    epoch: AtomicU64,
    /// The background load failed: reads keep going to the database.
    load_failed: AtomicBool,
}

impl RegistryIndex {
    /// The state for reading. A panic while the state was being changed leaves it
    /// suspect: it is then started afresh (reads go to the database until the next load),
    /// so that no look-up answers from a half-changed entry.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        if self.state.is_poisoned() {
            drop(self.write());
        }
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The state for changing (see [`RegistryIndex::read`] for a poisoned one).
    fn write(&self) -> RwLockWriteGuard<'_, State> {
        match self.state.write() {
            Ok(state) => state,
            Err(poisoned) => {
                tracing::error!("the registry index was poisoned by a panic; starting it afresh");
                let mut state = poisoned.into_inner();
                *state = State::default();
                self.state.clear_poison();
                self.load_failed.store(true, Ordering::Release);
                state
            }
        }
    }

    pub fn new(db: Db) -> Arc<Self> {
        Arc::new(Self {
            db,
            state: RwLock::new(State::default()),
            epoch: AtomicU64::new(0),
            load_failed: AtomicBool::new(false),
        })
    }

    /// Whether the background load is over (done, or failed so that reads stay on the
    /// database). Until then look-ups go to the database, which is slow under load: the
    /// instance reports itself not ready.
    pub fn is_loaded(&self) -> bool {
        self.load_failed.load(Ordering::Acquire) || self.read().complete
    }

    /// Reads every operator into memory (run in the background at start).
    pub async fn load_all(&self) -> Result<(), StorageError> {
        let loaded = self.load_pages().await;
        if loaded.is_err() {
            self.load_failed.store(true, Ordering::Release);
        }
        loaded
    }

    async fn load_pages(&self) -> Result<(), StorageError> {
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
            self.store(&numbers, &loaded, epoch);
        }
        self.write().complete = true;
        tracing::info!(operators = count, seconds = started.elapsed().as_secs_f64(), "registry index loaded");
        Ok(())
    }

    /// Pairs operators with their designations and periods (two queries).
    async fn entries_for(
        &self,
        found: Vec<Operator>,
    ) -> Result<HashMap<CorporateNumber, Arc<OperatorEntry>>, StorageError> {
        let ids: Vec<Uuid> = found.iter().map(|o| o.id).collect();
        let mut by_operator: HashMap<Uuid, Vec<Designation>> = HashMap::new();
        for d in designations::of_operators(&self.db.conn, &ids).await? {
            by_operator.entry(d.operator_id).or_default().push(d);
        }
        let mut special = special_operators::of_operators(&self.db.conn, &ids).await?;
        Ok(found
            .into_iter()
            .map(|operator| {
                let designations = Arc::new(by_operator.remove(&operator.id).unwrap_or_default());
                let special = Arc::new(special.remove(&operator.id).unwrap_or_default());
                (operator.corporate_number, Arc::new(OperatorEntry { operator, designations, special }))
            })
            .collect())
    }

    /// Puts freshly read entries in (and forgets the numbers not found), unless a change
    /// newer than the read marked them stale meanwhile.
    fn store(&self, numbers: &[CorporateNumber], loaded: &HashMap<CorporateNumber, Arc<OperatorEntry>>, epoch: u64) {
        let mut guard = self.write();
        let state = &mut *guard;
        for number in numbers {
            if state.stale.get(number).is_some_and(|&changed| changed > epoch) {
                continue;
            }
            state.stale.remove(number);
            match loaded.get(number) {
                Some(entry) => state.entries.insert(*number, HeldOperator::new(entry, &mut state.shared_strings)),
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
        self.store(numbers, &loaded, epoch);
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
        {
            let state = self.read();
            for number in numbers {
                match state.entries.get(number) {
                    _ if state.stale.contains_key(number) => missing.push(*number),
                    Some(held) => {
                        found.insert(*number, held.entry());
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

    /// The state with every operator current (stale ones read again first), or None
    /// while the index is still loading.
    async fn current(&self) -> Result<Option<RwLockReadGuard<'_, State>>, StorageError> {
        let stale: Vec<CorporateNumber> = {
            let state = self.read();
            if !state.complete {
                return Ok(None);
            }
            state.stale.keys().copied().collect()
        };
        if !stale.is_empty() {
            self.load(&stale).await?;
        }
        Ok(Some(self.read()))
    }

    /// The overlap report from memory, or None while the index is still loading.
    pub async fn overlap(
        &self,
        snapshot: &ReferenceSnapshot,
        as_of: NaiveDate,
    ) -> Result<Option<OverlapReport>, StorageError> {
        let Some(state) = self.current().await? else { return Ok(None) };
        let active = state.entries.values().map(|held| {
            let fields = held
                .designations
                .iter()
                .filter(move |d| designation::is_active(d.effective_from, d.effective_to, as_of))
                .map(|d| (d.regime, &*d.field));
            (fields, is_special_at(&held.special, as_of))
        });
        Ok(Some(overlap::compute_grouped(snapshot, as_of, active)))
    }

    /// Visits every operator with its designations and 特別社会基盤事業者 periods,
    /// `instead` taking the place of the held ones (None there: absent), in no particular
    /// order; false while the index is still loading. Answers as recorded at an instant
    /// (`knownAt`) pass over it.
    pub async fn scan(
        &self,
        instead: &Overrides,
        mut visit: impl FnMut(&Operator, &[DesignatedPeriod<'_>], &[SpecialPeriod]),
    ) -> Result<bool, StorageError> {
        let Some(state) = self.current().await? else { return Ok(false) };
        let mut periods: Vec<DesignatedPeriod<'_>> = Vec::new();
        for (number, held) in &state.entries {
            if instead.contains_key(number) {
                continue;
            }
            periods.clear();
            periods.extend(held.designations.iter().map(period));
            visit(&held.operator, &periods, &held.special);
        }
        for entry in instead.values().flatten() {
            periods.clear();
            periods.extend(entry.designations.iter().map(period));
            visit(&entry.operator, &periods, &entry.special);
        }
        Ok(true)
    }

    /// What a scope revision proposal would change (`before`: the live snapshot,
    /// `after`: the proposal applied) at `date`, over every operator in one pass in
    /// memory; None while the index is still loading.
    pub async fn impact(
        &self,
        before: &ReferenceSnapshot,
        after: &ReferenceSnapshot,
        date: NaiveDate,
    ) -> Result<Option<ScopeImpact>, StorageError> {
        let Some(state) = self.current().await? else { return Ok(None) };
        let operators = state
            .entries
            .iter()
            .map(|(number, held)| OperatorDesignations { operator: *number, designations: &held.designations[..] });
        Ok(Some(proposal::impact(before, after, date, operators)))
    }

    /// What designations started and ended in `window`, from memory, or None while the
    /// index is still loading.
    pub async fn designation_changes(
        &self,
        snapshot: &ReferenceSnapshot,
        window: Window,
    ) -> Result<Option<DesignationChanges>, StorageError> {
        let Some(state) = self.current().await? else { return Ok(None) };
        let periods = state
            .entries
            .values()
            .flat_map(|held| held.designations.iter().map(|d| (d.regime, &*d.field, d.effective_from, d.effective_to)));
        Ok(Some(changes::designation_changes(snapshot, window, periods)))
    }

    /// Marks operators stale: their next use reads them again.
    pub fn invalidate(&self, numbers: impl IntoIterator<Item = CorporateNumber>) {
        let epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        let mut state = self.write();
        for number in numbers {
            state.stale.insert(number, epoch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn designation(operator_id: Uuid, reference: Option<&str>) -> Designation {
        let at = Utc::now();
        Designation {
            id: Uuid::new_v4(),
            operator_id,
            regime: Regime::Espa,
            field: "electricity".into(),
            scope_item: Some("electricity/transmission".into()),
            effective_from: NaiveDate::from_ymd_opt(2024, 5, 17).expect("date"),
            effective_to: NaiveDate::from_ymd_opt(2026, 1, 1),
            status: DesignationStatus::Revoked,
            legal_basis: Some("経済安全保障推進法第50条第1項".into()),
            reference: reference.map(str::to_owned),
            ministry: "METI".into(),
            revocation_reason: Some("事業譲渡".into()),
            revoked_at: Some(at),
            version: 3,
            created_at: at,
            updated_at: at,
        }
    }

    /// What the index holds reads back exactly as stored, and repeated strings are
    /// held once.
    #[test]
    fn a_held_operator_reads_back_as_stored() {
        let at = Utc::now();
        let operator = Operator {
            id: Uuid::new_v4(),
            corporate_number: CorporateNumber::parse("7000012050002").expect("valid"),
            name_ja: "テスト電力株式会社".into(),
            name_en: Some("Test Power".into()),
            closed_on: None,
            successor: None,
            version: 2,
            created_at: at,
            updated_at: at,
        };
        let designations = vec![designation(operator.id, Some("官報 2024-05-17")), designation(operator.id, None)];
        let entry = OperatorEntry { operator, designations: Arc::new(designations), special: Arc::default() };
        let mut shared = HashSet::new();
        let held = HeldOperator::new(&entry, &mut shared);
        let read = held.entry();
        assert_eq!(read.operator, entry.operator);
        assert_eq!(*read.designations, *entry.designations);
        assert!(Arc::ptr_eq(&held.designations[0].ministry, &held.designations[1].ministry));
        assert_eq!(shared.len(), 4, "field, scope item, legal basis and ministry: {shared:?}");
    }
}
