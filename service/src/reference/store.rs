//! The current reference snapshot, shared by all requests.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::domain::reference::{ReferenceData, ReferenceSnapshot};

/// Holds the snapshot behind an atomic pointer: readers never wait, a change swaps in a
/// whole new snapshot.
#[derive(Clone)]
pub struct ReferenceStore {
    current: Arc<ArcSwap<ReferenceSnapshot>>,
}

impl ReferenceStore {
    pub fn new(data: ReferenceData) -> Self {
        Self { current: Arc::new(ArcSwap::from_pointee(ReferenceSnapshot::new(data))) }
    }

    /// The snapshot to answer one request with (consistent for the whole request).
    pub fn snapshot(&self) -> Arc<ReferenceSnapshot> {
        self.current.load_full()
    }

    pub fn replace(&self, data: ReferenceData) {
        self.current.store(Arc::new(ReferenceSnapshot::new(data)));
    }
}
