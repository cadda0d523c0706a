//! States as recorded at past instants (`knownAt`), kept for the instants asked about
//! lately: rebuilding one costs a pass over the changes recorded since.

use std::sync::Arc;

use quick_cache::sync::Cache;

use super::index::Overrides;
use crate::domain::reference::ReferenceSnapshot;

/// Instants kept per kind of state; the least used go first beyond this.
const CAPACITY: usize = 8;

pub struct RecordedStates {
    /// The reference data by horizon (the last event known then): a past state never
    /// changes, so it is kept as it is.
    pub reference: Cache<i64, Arc<ReferenceSnapshot>>,
    /// The operators that differ from the index's, by (horizon, newest event followed):
    /// they are relative to the current state, so a later change makes a new one.
    pub operators: Cache<(i64, i64), Arc<Overrides>>,
}

impl Default for RecordedStates {
    fn default() -> Self {
        Self { reference: Cache::new(CAPACITY), operators: Cache::new(CAPACITY) }
    }
}
