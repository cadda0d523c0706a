//! The read model: everything the service answers from memory, and the one mechanism
//! that keeps it coherent with the database.
//!
//! - [`feed`]: the change feed, every committed change in commit order (this process's,
//!   other processes' on the same SQLite file, other instances' on the same PostgreSQL
//!   database), for the caches and for subscribers;
//! - [`index`]: operators and their designations;
//! - [`reference`]: the reference-data snapshot;
//! - [`tokens`]: verified bearer tokens;
//! - [`parsed`]: parsed GraphQL documents (they depend on nothing stored);
//! - [`answers`]: whole answers to repeated queries, kept under the generation of the
//!   caches above (every change they follow advances it).
//!
//! **The coherence rule.** Every recorded change carries its [`Effects`] (which
//! operators, whether the reference data, which tokens it changed), derived from the
//! records the use case recorded it with, and stored with its event. The caches follow
//! effects and nothing else, in one place ([`Caches::apply`]): a change made here is
//! applied when it commits ([`ReadModel::committed`]), before the use case returns;
//! a change made elsewhere when the feed passes it on, before subscribers hear of it.
//! A new use case cannot forget to invalidate: recording a change to a designation
//! needs its operator, and so names the operator among the effects.

pub mod answers;
pub mod feed;
mod held;
pub mod index;
pub mod parsed;
pub mod record_time;
pub mod reference;
mod snapshot;
pub mod tokens;

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use self::answers::Answers;
use self::feed::ChangeListener;
pub use self::feed::{Change, ChangeFeed};
pub use self::index::{OperatorEntry, RegistryIndex};
pub use self::parsed::ParsedQueries;
pub use self::record_time::RecordedStates;
pub use self::reference::ReferenceStore;
pub use self::tokens::VerifiedTokens;
use crate::domain::audit::Effects;
use crate::domain::reference::ReferenceSnapshot;
use crate::storage::{self, Db, PoolSettings, StorageError};

/// The caches, and how a change's effects reach each of them.
pub struct Caches {
    db: Db,
    reference: ReferenceStore,
    index: Arc<RegistryIndex>,
    tokens: VerifiedTokens,
    answers: Answers,
    /// Events this process applied when it committed them: the feed skips them.
    applied_here: Mutex<BTreeSet<i64>>,
    /// A reload of the reference data failed after a change: retried by the next request.
    reference_stale: AtomicBool,
}

impl Caches {
    /// Makes every cache follow `effects`, the kept answers last (they were computed from
    /// the others). Never fails: a reload that cannot be done now is retried (see
    /// [`ReadModel::settle`]).
    async fn apply(&self, effects: &Effects) {
        if !effects.operators.is_empty() {
            self.index.invalidate(effects.operators.iter().copied());
        }
        for token in &effects.tokens {
            self.tokens.forget(*token);
        }
        if effects.reference_data {
            self.reload_reference().await;
        }
        // Every recorded change, even one without effects (a denied attempt is in an
        // operator's history): answers are few and cheap to compute again.
        self.answers.advance();
    }

    async fn reload_reference(&self) {
        self.reference_stale.store(true, Ordering::Release);
        match self.reference.reload(|| storage::reference::load(&self.db.conn)).await {
            Ok(()) => {
                self.reference_stale.store(false, Ordering::Release);
                self.answers.advance();
            }
            Err(e) => tracing::error!(error = %e, "could not reload the reference data after a change; retrying"),
        }
    }

    /// Whether the feed should skip this event (this process applied it at commit), and
    /// forgets what the feed has passed.
    fn take_applied_here(&self, event: i64) -> bool {
        let mut applied = self.applied_here.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let found = applied.remove(&event);
        applied.retain(|&id| id > event);
        found
    }
}

impl ChangeListener for Caches {
    fn changed<'a>(&'a self, change: &'a Change) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if !self.take_applied_here(change.event.id) {
                self.apply(&change.effects).await;
            }
        })
    }
}

/// The read model of one process. Cheap to clone.
#[derive(Clone)]
pub struct ReadModel {
    caches: Arc<Caches>,
    feed: Arc<ChangeFeed>,
    parsed: Arc<ParsedQueries>,
    recorded: Arc<RecordedStates>,
}

impl ReadModel {
    /// Loads the reference snapshot and sets up the feed after the newest change (so
    /// that no change falls between the two). The feed reads on a small pool of its own,
    /// so that it never waits behind requests; the index loads when [`ReadModel::spawn`]
    /// runs, from `snapshot` when it can vouch for it (and writes it afterwards).
    pub async fn open(db: &Db, database_url: &str, snapshot: Option<PathBuf>) -> Result<Self, StorageError> {
        let feed_pool = PoolSettings { max_connections: 2, ..PoolSettings::default() };
        let feed_db = Db::connect(database_url, &feed_pool, false).await?;
        Self::with_feed_db(db, feed_db, snapshot).await
    }

    /// Like [`ReadModel::open`], reading the feed on the same pool (one-off commands),
    /// without a snapshot.
    pub async fn on_one_pool(db: &Db) -> Result<Self, StorageError> {
        Self::with_feed_db(db, db.clone(), None).await
    }

    async fn with_feed_db(db: &Db, feed_db: Db, snapshot: Option<PathBuf>) -> Result<Self, StorageError> {
        let latest = storage::audit::latest_id(&feed_db.conn).await?;
        let caches = Arc::new(Caches {
            db: db.clone(),
            reference: ReferenceStore::new(storage::reference::load(&db.conn).await?),
            index: RegistryIndex::new(db.clone(), snapshot),
            tokens: VerifiedTokens::default(),
            answers: Answers::default(),
            applied_here: Mutex::default(),
            reference_stale: AtomicBool::new(false),
        });
        let feed = ChangeFeed::starting_after(feed_db, caches.clone(), latest);
        Ok(Self { caches, feed, parsed: Arc::default(), recorded: Arc::default() })
    }

    /// Runs the feed (polling every `poll`, and on PostgreSQL listening for
    /// notifications when `listen`) and loads the index, in the background.
    pub fn spawn(&self, poll: Duration, listen: bool) -> Vec<JoinHandle<()>> {
        let mut tasks = self.feed.spawn(poll, listen);
        let index = self.caches.index.clone();
        let feed = self.feed.clone();
        tasks.push(tokio::spawn(async move {
            match index.load_all().await {
                // Stamped with the newest change the index has followed by now.
                Ok(loaded) if loaded.worth_a_snapshot() => {
                    if let Err(e) = index.write_snapshot(feed.last_event_id()).await {
                        tracing::warn!(error = %e, "could not write the index snapshot");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "could not load the registry index; look-ups keep reading the database")
                }
            }
        }));
        tasks
    }

    /// A change this process committed (event `event`): its effects reach the caches now,
    /// and the feed is woken to pass it on to subscribers (without applying it again).
    pub async fn committed(&self, event: i64, effects: &Effects) {
        self.caches.applied_here.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(event);
        self.caches.apply(effects).await;
        self.feed.wake();
    }

    /// Before a request reads: follows the changes made elsewhere that a notification
    /// announced or the database files show (see [`ChangeFeed::settle`]), and retries a
    /// reload that failed. A failure is logged and left to the feed's next round.
    pub async fn settle(&self) {
        if let Err(e) = self.feed.settle().await {
            tracing::warn!(error = %e, "could not pass changes made elsewhere on; the feed retries shortly");
            self.feed.wake();
        }
        if self.caches.reference_stale.load(Ordering::Acquire) {
            self.caches.reload_reference().await;
        }
    }

    /// Like [`ReadModel::settle`], without relying on a notification having arrived (see
    /// [`ChangeFeed::settle_strictly`]): before a remembered token is trusted.
    pub async fn settle_strictly(&self) -> Result<(), StorageError> {
        self.feed.settle_strictly().await
    }

    /// The reference snapshot to answer one request with.
    pub fn snapshot(&self) -> Arc<ReferenceSnapshot> {
        self.caches.reference.snapshot()
    }

    pub fn index(&self) -> &RegistryIndex {
        &self.caches.index
    }

    pub fn tokens(&self) -> &VerifiedTokens {
        &self.caches.tokens
    }

    /// An event without effects was recorded here (a denied attempt): no kept answer
    /// computed before it is given again.
    pub fn forget_answers(&self) {
        self.caches.answers.advance();
    }

    /// Whole answers kept for repeated queries.
    pub fn answers(&self) -> &Answers {
        &self.caches.answers
    }

    pub fn parsed(&self) -> &ParsedQueries {
        &self.parsed
    }

    /// States as recorded at instants asked about lately (`knownAt`).
    pub fn recorded(&self) -> &RecordedStates {
        &self.recorded
    }

    pub fn feed(&self) -> &Arc<ChangeFeed> {
        &self.feed
    }
}
