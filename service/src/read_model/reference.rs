//! The current reference snapshot, shared by all requests.

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::Mutex;

use crate::domain::reference::{ReferenceData, ReferenceSnapshot};

/// Holds the snapshot behind an atomic pointer: readers never wait, a change swaps in a
/// whole new snapshot.
#[derive(Clone)]
pub struct ReferenceStore {
    current: Arc<ArcSwap<ReferenceSnapshot>>,
    /// Serialises reloads, so that the last one to finish read the latest data.
    reloading: Arc<Mutex<()>>,
}

impl ReferenceStore {
    pub fn new(data: ReferenceData) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(ReferenceSnapshot::new(data))),
            reloading: Arc::new(Mutex::new(())),
        }
    }

    /// The snapshot to answer one request with (consistent for the whole request).
    pub fn snapshot(&self) -> Arc<ReferenceSnapshot> {
        self.current.load_full()
    }

    pub fn replace(&self, data: ReferenceData) {
        self.current.store(Arc::new(ReferenceSnapshot::new(data)));
    }

    /// Loads the data again (call after committing a change) and swaps it in. Reloads
    /// run one at a time and each starts after its own change committed, so that
    /// whatever order concurrent changes commit in, the snapshot ends up with all of them.
    pub async fn reload<E, Fut>(&self, load: impl FnOnce() -> Fut) -> Result<(), E>
    where
        Fut: Future<Output = Result<ReferenceData, E>>,
    {
        let _one_at_a_time = self.reloading.lock().await;
        self.replace(load().await?);
        Ok(())
    }
}
