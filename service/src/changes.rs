//! The change feed: every committed change, in commit order, read back from the audit
//! trail (whose ids increase in commit order). One mechanism serves this process's own
//! writes, other processes on the same SQLite file (the CLI) and other instances on the
//! same PostgreSQL database:
//!
//! - after a request that wrote, the request catches the feed up before it answers, so
//!   its own instance never serves what it just changed from a stale cache;
//! - on PostgreSQL every appending transaction runs `pg_notify`, delivered at commit, and
//!   a listener wakes the feed at once;
//! - on SQLite, every request first checks (two `stat` calls) whether the database file
//!   or its write-ahead log changed since the last look, and catches up when they did —
//!   so a change committed by another process (the CLI) is seen by the next request;
//! - and the feed polls at a fixed interval (a fallback should a notification be lost).
//!
//! Listeners (caches) run inside the catch-up, before it returns; subscribers get the
//! changes through a broadcast channel.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use sea_orm::DbBackend;
use tokio::sync::{Mutex, Notify, broadcast};
use tokio::task::JoinHandle;

use crate::domain::audit::{AuditEvent, Subject};
use crate::storage::audit::{self, AuditQuery, PG_CHANGE_CHANNEL};
use crate::storage::{Db, StorageError};

/// Default interval at which the feed looks for changes made elsewhere.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Events read per round trip while catching up.
const CATCH_UP_PAGE: u64 = 500;
/// Changes a slow subscriber may fall behind before it misses some (it is told).
const BROADCAST_CAPACITY: usize = 4096;

/// One committed change with every record it concerns.
#[derive(Debug, Clone)]
pub struct Change {
    pub event: AuditEvent,
    pub subjects: Vec<Subject>,
}

/// Something that must follow every change (a cache).
pub trait ChangeListener: Send + Sync {
    fn changed<'a>(&'a self, change: &'a Change) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

pub struct ChangeFeed {
    db: Db,
    /// The last event passed on; the lock serialises catch-ups so that events go out once
    /// and in order.
    position: Mutex<i64>,
    /// The same position, readable without waiting.
    last_seen: AtomicI64,
    listeners: RwLock<Vec<Arc<dyn ChangeListener>>>,
    sender: broadcast::Sender<Arc<Change>>,
    wake: Notify,
    /// SQLite: the database file and its write-ahead log as last seen.
    files: Option<SqliteFiles>,
    /// PostgreSQL: a notification arrived that no catch-up has followed yet.
    notified: AtomicBool,
}

/// What a SQLite database's files looked like; any commit changes the log.
struct SqliteFiles {
    database: PathBuf,
    log: PathBuf,
    last: std::sync::Mutex<Option<FileStamp>>,
}

type FileStamp = [(Option<SystemTime>, u64); 2];

impl SqliteFiles {
    fn new(database: &Path) -> Self {
        let mut log = database.as_os_str().to_owned();
        log.push("-wal");
        Self { database: database.to_path_buf(), log: PathBuf::from(log), last: std::sync::Mutex::new(None) }
    }

    fn stamp(&self) -> FileStamp {
        let look = |path: &Path| std::fs::metadata(path).map_or((None, 0), |m| (m.modified().ok(), m.len()));
        [look(&self.database), look(&self.log)]
    }

    /// Whether the files changed since the last call (the first call says yes).
    fn changed(&self) -> bool {
        let now = self.stamp();
        match self.last.lock() {
            Ok(mut last) => last.replace(now) != Some(now),
            Err(_) => true,
        }
    }
}

impl ChangeFeed {
    /// A feed that starts after the newest event already in the database.
    pub async fn new(db: Db) -> Result<Arc<Self>, StorageError> {
        let latest = audit::latest_id(&db.conn).await?;
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        Ok(Arc::new(Self {
            position: Mutex::new(latest),
            last_seen: AtomicI64::new(latest),
            listeners: RwLock::new(Vec::new()),
            sender,
            wake: Notify::new(),
            files: db.sqlite_file().map(SqliteFiles::new),
            notified: AtomicBool::new(false),
            db,
        }))
    }

    /// Registers a listener; it sees every change from now on.
    pub fn listen(&self, listener: Arc<dyn ChangeListener>) {
        if let Ok(mut listeners) = self.listeners.write() {
            listeners.push(listener);
        }
    }

    /// Changes from now on. Subscribers that need what came before read the audit trail
    /// from their last event id up to [`ChangeFeed::last_event_id`] first.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.sender.subscribe()
    }

    /// The id of the last event passed on.
    pub fn last_event_id(&self) -> i64 {
        self.last_seen.load(Ordering::Acquire)
    }

    /// Asks the background task to look for changes now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Before a request is answered: catches up when another process may have committed
    /// since the last look (SQLite: its files changed; PostgreSQL: a notification came).
    pub async fn ensure_current(&self) -> Result<(), StorageError> {
        let sqlite_changed = self.files.as_ref().is_some_and(SqliteFiles::changed);
        if sqlite_changed || self.notified.swap(false, Ordering::AcqRel) {
            self.catch_up().await?;
        }
        Ok(())
    }

    /// Passes on every event committed since the last one passed on: listeners first
    /// (awaited), then subscribers.
    pub async fn catch_up(&self) -> Result<(), StorageError> {
        let mut position = self.position.lock().await;
        loop {
            let events =
                audit::page(&self.db.conn, &AuditQuery::default(), Some(*position), Some(CATCH_UP_PAGE)).await?;
            let Some(last) = events.last().map(|e| e.id) else {
                return Ok(());
            };
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            let mut subjects = audit::subjects_of(&self.db.conn, &ids).await?;
            let listeners: Vec<Arc<dyn ChangeListener>> = self.listeners.read().map(|l| l.clone()).unwrap_or_default();
            for event in events {
                let change = Arc::new(Change { subjects: subjects.remove(&event.id).unwrap_or_default(), event });
                for listener in &listeners {
                    listener.changed(&change).await;
                }
                // No subscriber is not an error.
                let _ = self.sender.send(change);
            }
            *position = last;
            self.last_seen.store(last, Ordering::Release);
        }
    }

    /// Runs the feed in the background: woken by PostgreSQL notifications and local
    /// writes, and every `poll` in any case.
    pub fn spawn(self: &Arc<Self>, poll: Duration) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if self.db.backend() == DbBackend::Postgres {
            let feed = self.clone();
            tasks.push(tokio::spawn(async move { feed.listen_to_postgres().await }));
        }
        let feed = self.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = feed.wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
                if let Err(e) = feed.catch_up().await {
                    tracing::warn!(error = %e, "could not read the change feed; retrying");
                }
            }
        }));
        tasks
    }

    /// Wakes the feed on every notification; reconnects after a lost connection (the
    /// polling covers the gap).
    async fn listen_to_postgres(&self) {
        let pool = self.db.conn.get_postgres_connection_pool().clone();
        loop {
            let listener = async {
                let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.listen(PG_CHANGE_CHANNEL).await?;
                loop {
                    listener.recv().await?;
                    self.notified.store(true, Ordering::Release);
                    self.wake.notify_one();
                }
            };
            let result: Result<(), sea_orm::sqlx::Error> = listener.await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "change notifications interrupted; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
