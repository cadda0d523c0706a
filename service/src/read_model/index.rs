//! An in-memory read model of every operator and its designations, so that status
//! look-ups and the overlap report cost no query. It is loaded in the background at
//! start (until then, reads go to the database) and kept coherent through the change
//! feed: every change's effects name the operators it changed, which are marked stale
//! and read again from the database on their next use. A change made here marks them
//! before the use case that made it returns (see `read_model`), so this instance never
//! serves what it just changed; other instances follow within the feed's bound.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use quick_cache::sync::Cache;
use uuid::Uuid;

use super::held::{HeldOperator, Symbols, TooLarge};
use super::snapshot::{self, Snapshot, SnapshotError, SnapshotWriter, Stamp};
use crate::domain::changes::{self, DesignationChanges, Window};
use crate::domain::designation::{self, Designation};
use crate::domain::operator::{DesignatedPeriod, Operator, OperatorQuery};
use crate::domain::overlap::{OverlapCounter, OverlapReport, field_mask};
use crate::domain::proposal::{self, OperatorDesignations, ScopeImpact};
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::special_operator::{SpecialPeriod, is_special_at};
use crate::domain::{CorporateNumber, Regime};
use crate::storage::{self, Db, StorageError, audit, corrupt, designations, operators, special_operators};

/// One operator with all its designations and 特別社会基盤事業者 periods (any period).
#[derive(Debug)]
pub struct OperatorEntry {
    pub operator: Operator,
    pub designations: Arc<Vec<Designation>>,
    pub special: Arc<Vec<SpecialPeriod>>,
}

/// Operators answered in place of the index's own (None: absent), by corporate number.
pub type Overrides = HashMap<CorporateNumber, Option<Arc<OperatorEntry>>>;

/// Operators handed over at once while loading (one short hold of the write lock each).
const LOAD_BATCH: usize = 1000;
/// Listing totals kept (by query, for the state they were counted in).
const KEPT_TOTALS: usize = 256;
/// A snapshot is used while the changes made since name at most this share of its
/// operators (each is read again from the database), and at least this many.
const SNAPSHOT_CHANGED_SHARE: usize = 4;
const SNAPSHOT_CHANGED_ANYWAY: usize = 10_000;

/// Where the index came from at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    Database,
    /// Its snapshot, with this many operators changed since marked stale.
    Snapshot {
        changed_since: usize,
    },
}

impl Loaded {
    /// Whether a new snapshot would save the next start anything.
    pub fn worth_a_snapshot(self) -> bool {
        self != Loaded::Snapshot { changed_since: 0 }
    }
}

/// One page of a listing answered from memory.
pub struct ListedPage {
    pub entries: Vec<Arc<OperatorEntry>>,
    pub total_count: u64,
    pub has_next_page: bool,
}

#[derive(Default)]
struct State {
    /// Every operator has an entry (the background load finished).
    complete: bool,
    /// In corporate-number order, as listings page through them.
    entries: BTreeMap<CorporateNumber, HeldOperator>,
    symbols: Symbols,
    /// Operators changed since their entry was read, with the epoch of the change.
    stale: HashMap<CorporateNumber, u64>,
}

impl State {
    /// Holds freshly read operators (and forgets the numbers not found), unless a change
    /// newer than the read (at `epoch`) marked them stale meanwhile.
    fn store(
        &mut self,
        numbers: &[CorporateNumber],
        loaded: &HashMap<CorporateNumber, Arc<OperatorEntry>>,
        epoch: u64,
    ) {
        for number in numbers {
            if self.stale.get(number).is_some_and(|&changed| changed > epoch) {
                continue;
            }
            self.stale.remove(number);
            let Some(entry) = loaded.get(number) else {
                self.entries.remove(number);
                continue;
            };
            match HeldOperator::new(&entry.operator, &entry.designations, &entry.special, &mut self.symbols) {
                Ok(held) => {
                    self.entries.insert(*number, held);
                }
                Err(too_large) => self.never_held(*number, &too_large),
            }
        }
    }

    /// An operator the index cannot hold stays stale: every use reads it from the database.
    fn never_held(&mut self, number: CorporateNumber, why: &TooLarge) {
        tracing::warn!(%number, %why, "operator read from the database on every use");
        self.entries.remove(&number);
        self.stale.insert(number, u64::MAX);
    }
}

pub struct RegistryIndex {
    db: Db,
    state: RwLock<State>,
    /// Counts invalidations, so that a load that started before a change cannot clear
    /// the change's mark.
    epoch: AtomicU64,
    /// The background load failed: reads keep going to the database.
    load_failed: AtomicBool,
    /// Listing totals by query and the epoch they were counted at: paging through a
    /// listing counts its matches once, not once per page.
    totals: Cache<(OperatorQuery, u64), u64>,
    /// Where the index is written after a load and read back at start (see `snapshot`).
    snapshot: Option<PathBuf>,
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

    pub fn new(db: Db, snapshot: Option<PathBuf>) -> Arc<Self> {
        Arc::new(Self {
            db,
            state: RwLock::new(State::default()),
            epoch: AtomicU64::new(0),
            load_failed: AtomicBool::new(false),
            totals: Cache::new(KEPT_TOTALS),
            snapshot,
        })
    }

    /// Whether the background load is over (done, or failed so that reads stay on the
    /// database). Until then look-ups go to the database, which is slow under load: the
    /// instance reports itself not ready.
    pub fn is_loaded(&self) -> bool {
        self.load_failed.load(Ordering::Acquire) || self.read().complete
    }

    /// Reads every operator into memory (run in the background at start): from the
    /// snapshot when there is one it can vouch for, from the database otherwise.
    pub async fn load_all(&self) -> Result<Loaded, StorageError> {
        if let Some(path) = &self.snapshot {
            match self.load_snapshot(path).await {
                Ok(Some(changed_since)) => return Ok(Loaded::Snapshot { changed_since }),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not check the index snapshot; loading from the database"),
            }
        }
        let loaded = self.load_everything().await;
        if loaded.is_err() {
            self.load_failed.store(true, Ordering::Release);
        }
        loaded.map(|()| Loaded::Database)
    }

    /// Installs the snapshot at `path` and marks stale what changed since it was
    /// written; None (logged) when it cannot be used. The count of operators marked.
    async fn load_snapshot(&self, path: &Path) -> Result<Option<usize>, StorageError> {
        let started = std::time::Instant::now();
        let epoch = self.epoch.load(Ordering::Acquire);
        let schema = storage::newest_migration();
        let file = path.to_owned();
        let read = tokio::task::spawn_blocking(move || snapshot::read(&file, &schema)).await;
        let mut snapshot = match read {
            Ok(Ok(snapshot)) => snapshot,
            Ok(Err(SnapshotError::Io(e))) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Ok(Err(why)) => {
                tracing::warn!(path = %path.display(), %why, "index snapshot not used; loading from the database");
                return Ok(None);
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the index snapshot failed; loading from the database");
                return Ok(None);
            }
        };
        // The stamped event, as stamped: otherwise another database, or one restored
        // from before the snapshot.
        let recorded = audit::recorded_at(&self.db.conn, snapshot.stamp.event).await?;
        if recorded.and_then(|at| at.timestamp_nanos_opt()) != Some(snapshot.stamp.recorded_at) {
            tracing::warn!(path = %path.display(), "index snapshot of another database state; loading from the database");
            return Ok(None);
        }
        let bound = (snapshot.entries.len() / SNAPSHOT_CHANGED_SHARE).max(SNAPSHOT_CHANGED_ANYWAY);
        let Some(changed) = audit::operators_changed_after(&self.db.conn, snapshot.stamp.event, bound).await? else {
            tracing::info!("too many changes since the index snapshot; loading from the database");
            return Ok(None);
        };
        if !self.adopt_symbols(&mut snapshot) {
            tracing::warn!(path = %path.display(), "index snapshot refers to codes it does not hold; loading from the database");
            return Ok(None);
        }
        let changed_since = changed.len();
        // Marked after `epoch` was read: installing leaves them stale.
        self.invalidate(changed.into_iter().chain(snapshot.stale));
        let count = snapshot.entries.len();
        self.install(snapshot.entries, epoch);
        tracing::info!(
            operators = count,
            changed_since,
            seconds = started.elapsed().as_secs_f64(),
            "registry index loaded from its snapshot"
        );
        Ok(Some(changed_since))
    }

    /// Points the snapshot's symbols at this process's code table.
    fn adopt_symbols(&self, snapshot: &mut Snapshot) -> bool {
        let Some(table) = self.write().symbols.adopt(&snapshot.symbols, snapshot.legal_bases) else { return false };
        snapshot.entries.iter_mut().all(|(_, held)| held.remap(&table))
    }

    /// Writes the index to its snapshot file (nothing when it has none or is not loaded),
    /// stamped with event `stamp`: the newest the index has followed. Each chunk is taken
    /// under a short read lock; an operator changed meanwhile is named by a later event,
    /// which the next start marks stale.
    pub async fn write_snapshot(self: &Arc<Self>, stamp: i64) -> Result<(), SnapshotError> {
        let Some(path) = self.snapshot.clone() else { return Ok(()) };
        let recorded = audit::recorded_at(&self.db.conn, stamp).await?;
        let Some(recorded_at) = recorded.and_then(|at| at.timestamp_nanos_opt()) else { return Ok(()) };
        let stamp = Stamp { event: stamp, recorded_at };
        let index = self.clone();
        let started = std::time::Instant::now();
        let written = tokio::task::spawn_blocking(move || index.write_snapshot_to(&path, stamp)).await??;
        tracing::info!(operators = written, seconds = started.elapsed().as_secs_f64(), "index snapshot written");
        Ok(())
    }

    fn write_snapshot_to(&self, path: &Path, stamp: Stamp) -> Result<u64, SnapshotError> {
        if !self.read().complete {
            return Ok(0);
        }
        let mut writer = SnapshotWriter::create(path, &storage::newest_migration(), stamp)?;
        let mut stale = BTreeSet::new();
        let mut after: Option<CorporateNumber> = None;
        loop {
            let state = self.read();
            let from = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
            let mut chunk = Vec::with_capacity(snapshot::CHUNK);
            for (number, held) in state.entries.range::<CorporateNumber, _>((from, Bound::Unbounded)) {
                after = Some(*number);
                if state.stale.contains_key(number) {
                    stale.insert(*number);
                } else {
                    chunk.push((*number, held));
                    if chunk.len() == snapshot::CHUNK {
                        break;
                    }
                }
            }
            let last = chunk.len() < snapshot::CHUNK;
            writer.entries(&chunk)?;
            if last {
                stale.extend(state.stale.keys().copied());
                let (symbols, legal_bases) = state.symbols.texts();
                return writer.finish(symbols, legal_bases, stale.into_iter().collect());
            }
        }
    }

    /// Streams every operator and every designation, both in corporate-number order, and
    /// pairs them as they come (no query per page); the entries go in all at once at the
    /// end, so the ordered map is built densely, and what each operator holds lies in
    /// memory in the order listings and reports pass over it.
    async fn load_everything(&self) -> Result<(), StorageError> {
        let started = std::time::Instant::now();
        let epoch = self.epoch.load(Ordering::Acquire);
        let conn = &self.db.conn;
        let mut special = special_operators::all(conn).await?;
        let mut operators = pin!(operators::all_in_number_order(conn).await?);
        let mut designations = pin!(designations::all_in_operator_order(conn).await?);
        let mut next_designation = designations.try_next().await?;
        let mut batch: Vec<(Operator, Vec<Designation>, Vec<SpecialPeriod>)> = Vec::with_capacity(LOAD_BATCH);
        let mut held: Vec<(CorporateNumber, HeldOperator)> = Vec::new();
        while let Some(operator) = operators.try_next().await? {
            let mut own = Vec::new();
            while let Some(designation) = next_designation.take_if(|d| d.operator_id == operator.id) {
                own.push(designation);
                next_designation = designations.try_next().await?;
            }
            let periods = special.remove(&operator.id).unwrap_or_default();
            batch.push((operator, own, periods));
            if batch.len() == LOAD_BATCH {
                self.hold(&mut batch, &mut held);
            }
        }
        self.hold(&mut batch, &mut held);
        if next_designation.is_some() {
            // Both streams are ordered by the same column: a designation left over means
            // the database ordered them differently (or one has no operator).
            return Err(corrupt("designation order while loading the index"));
        }
        let count = held.len();
        self.install(held, epoch);
        tracing::info!(operators = count, seconds = started.elapsed().as_secs_f64(), "registry index loaded");
        Ok(())
    }

    /// Makes a whole load the index's entries, but for operators read on their own or
    /// changed since the load began (at `epoch`); the index is complete from then on.
    fn install(&self, mut held: Vec<(CorporateNumber, HeldOperator)>, epoch: u64) {
        let mut guard = self.write();
        let state = &mut *guard;
        let current = std::mem::take(&mut state.entries);
        // Filtered in place, so the load is not held twice while the map is built.
        held.retain(|(number, _)| {
            // An operator read on its own meanwhile is as current as the load's.
            if current.contains_key(number) || state.stale.get(number).is_some_and(|&changed| changed > epoch) {
                return false;
            }
            state.stale.remove(number);
            true
        });
        held.extend(current);
        state.entries = BTreeMap::from_iter(held);
        state.complete = true;
    }

    /// Makes a loaded batch compact (interning its codes under one short write lock).
    fn hold(
        &self,
        batch: &mut Vec<(Operator, Vec<Designation>, Vec<SpecialPeriod>)>,
        held: &mut Vec<(CorporateNumber, HeldOperator)>,
    ) {
        let mut state = self.write();
        for (operator, designations, special) in batch.drain(..) {
            match HeldOperator::new(&operator, &designations, &special, &mut state.symbols) {
                Ok(compact) => held.push((operator.corporate_number, compact)),
                Err(too_large) => state.never_held(operator.corporate_number, &too_large),
            }
        }
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

    /// Reads the given operators from the database and keeps what is current.
    async fn load(
        &self,
        numbers: &[CorporateNumber],
    ) -> Result<HashMap<CorporateNumber, Arc<OperatorEntry>>, StorageError> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let found = operators::find_by_corporate_numbers(&self.db.conn, numbers).await?;
        let loaded = self.entries_for(found).await?;
        self.write().store(numbers, &loaded, epoch);
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
                        found.insert(*number, held.entry(*number, &state.symbols));
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

    /// The overlap report from memory, or None while the index is still loading. Each
    /// code is looked up in the snapshot once per report, not once per designation.
    pub async fn overlap(
        &self,
        snapshot: &ReferenceSnapshot,
        as_of: NaiveDate,
    ) -> Result<Option<OverlapReport>, StorageError> {
        let Some(state) = self.current().await? else { return Ok(None) };
        let masks = state.symbols.table(|code| {
            [Regime::Ci, Regime::Espa].map(|regime| snapshot.field_index(regime, code).map_or(0, field_mask))
        });
        let mut counter = OverlapCounter::new(snapshot, as_of);
        for held in state.entries.values() {
            let mut bits = [0u64; 2];
            for d in
                held.designations.iter().filter(|d| designation::is_active(d.effective_from, d.effective_to, as_of))
            {
                let slot = usize::from(d.regime == Regime::Espa);
                bits[slot] |= masks.get(d.field.index()).map_or(0, |mask| mask[slot]);
            }
            counter.add_masks(bits[0], bits[1], is_special_at(held.special(), as_of));
        }
        Ok(Some(counter.finish()))
    }

    /// One page of the operators matching `query`, in corporate-number order after
    /// `after`, with the total number of matches; None while the index is still loading.
    /// The same conditions as the database's listing ([`OperatorQuery::matches`]).
    pub async fn list(
        &self,
        query: &OperatorQuery,
        after: Option<&str>,
        first: usize,
    ) -> Result<Option<ListedPage>, StorageError> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let Some(state) = self.current().await? else { return Ok(None) };
        let mut matcher = Matcher::new(query, &state.symbols);
        let after = after.map_or(Bound::Unbounded, |after| Bound::Excluded(after.as_bytes()));
        let mut entries = Vec::new();
        let mut has_next_page = false;
        for (number, held) in state.entries.range::<[u8], _>((after, Bound::Unbounded)) {
            if matcher.matches(held) {
                if entries.len() == first {
                    has_next_page = true;
                    break;
                }
                entries.push(held.entry(*number, &state.symbols));
            }
        }
        let key = (query.clone(), epoch);
        let total_count = match self.totals.get(&key) {
            Some(total) => total,
            None => {
                let total = state.entries.values().filter(|held| matcher.matches(held)).count() as u64;
                self.totals.insert(key, total);
                total
            }
        };
        Ok(Some(ListedPage { entries, total_count, has_next_page }))
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
        let mut scratch: Option<Operator> = None;
        for (number, held) in &state.entries {
            if instead.contains_key(number) {
                continue;
            }
            periods.clear();
            periods.extend(held.periods(&state.symbols));
            visit(reused(&mut scratch, *number, held), &periods, held.special());
        }
        for entry in instead.values().flatten() {
            periods.clear();
            periods.extend(entry.designations.iter().map(|d| DesignatedPeriod {
                regime: d.regime,
                field: &d.field,
                effective_from: d.effective_from,
                effective_to: d.effective_to,
            }));
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
        let symbols = &state.symbols;
        let operators = state
            .entries
            .iter()
            .map(|(number, held)| OperatorDesignations { operator: *number, designations: held.views(symbols) });
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
            .flat_map(|held| held.periods(&state.symbols))
            .map(|d| (d.regime, d.field, d.effective_from, d.effective_to));
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

/// The operator `held` as a reused value (allocated once per pass, not per operator).
fn reused<'a>(scratch: &'a mut Option<Operator>, number: CorporateNumber, held: &HeldOperator) -> &'a Operator {
    match scratch {
        Some(operator) => {
            held.operator_into(number, operator);
            operator
        }
        None => scratch.insert(held.operator(number)),
    }
}

/// Applies a listing's conditions to held operators without allocating per operator.
struct Matcher<'a> {
    query: &'a OperatorQuery,
    symbols: &'a Symbols,
    periods: Vec<DesignatedPeriod<'a>>,
}

impl<'a> Matcher<'a> {
    fn new(query: &'a OperatorQuery, symbols: &'a Symbols) -> Self {
        Self { query, symbols, periods: Vec::new() }
    }

    fn matches(&mut self, held: &'a HeldOperator) -> bool {
        self.periods.clear();
        self.periods.extend(held.periods(self.symbols));
        self.query.matches_designations(&self.periods) && self.query.matches_name(held.name_ja(), held.name_en())
    }
}
