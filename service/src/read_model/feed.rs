//! The change feed: every committed change, in commit order, read back from the audit
//! trail (whose ids increase in commit order). One mechanism serves this process's own
//! writes, other processes on the same SQLite file (the CLI) and other instances on the
//! same PostgreSQL database, for caches and subscribers alike:
//!
//! - a change made by this process is applied to its caches when it commits (see
//!   `ReadModel::committed`), and the feed is woken to pass it on to subscribers;
//! - on PostgreSQL every appending transaction runs `pg_notify`, delivered at commit, and
//!   a listener wakes the feed at once; a request that starts after a notification
//!   arrived first waits for the feed to pass that change on ([`ChangeFeed::settle`]);
//! - on SQLite every request first looks (two `stat` calls) whether the database file or
//!   its write-ahead log changed since the last look, and catches up when they did, so a
//!   change committed by another process (the CLI) is followed before the request is
//!   answered ([`ChangeFeed::settle`] too);
//! - and the feed polls at a fixed interval (for subscribers when no request comes, and
//!   a fallback should a notification be lost).
//!
//! The feed's one listener (the read model's caches, see `read_model`) runs inside the
//! catch-up, before it returns and before subscribers hear of the change; subscribers
//! get the changes through a broadcast channel, or through
//! [`ChangeFeed::changes_after`], which replays what they missed first.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_stream::try_stream;
use futures_util::Stream;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Mutex, Notify, broadcast, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::domain::audit::{AuditAction, AuditEvent, AuditOutcome, AuditQuery, Effects, Subject, SubjectType};
use crate::storage::audit::{self, PG_CHANGE_CHANNEL};
use crate::storage::{Db, StorageError};

/// Events read per round trip while catching up or replaying.
const READ_PAGE: u64 = 500;
/// Changes a slow subscriber may fall behind the live channel before it has to read
/// them back from the audit trail.
const BROADCAST_CAPACITY: usize = 4096;

/// One committed change with every record it concerns and what it did to the data
/// read models hold.
#[derive(Debug, Clone)]
pub struct Change {
    pub event: AuditEvent,
    pub subjects: Vec<Subject>,
    pub effects: Effects,
}

impl Change {
    fn succeeded(&self) -> bool {
        self.event.record.outcome == AuditOutcome::Succeeded
    }

    /// Whether it changed the reference data (a seed-data load, a crosswalk curation).
    pub fn is_to_reference_data(&self) -> bool {
        self.effects.reference_data
    }

    /// Whether it revoked this token.
    pub fn revokes_token(&self, token: Uuid) -> bool {
        let record = &self.event.record;
        self.succeeded()
            && record.action == AuditAction::RevokeToken
            && record.entity_id.as_deref() == Some(Subject::token(token).id.as_str())
    }

    /// The designations it touched, in id order: the one designated, revoked or
    /// corrected, every one an operator's closing ended, every one an import created
    /// (none for a refused attempt).
    pub fn designations(&self) -> Vec<Uuid> {
        if !self.succeeded() {
            return Vec::new();
        }
        let mut ids: Vec<Uuid> = self
            .subjects
            .iter()
            .filter(|s| s.kind == SubjectType::Designation)
            .filter_map(|s| Uuid::parse_str(&s.id).ok())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// What must follow every change before subscribers hear of it: the read model's caches.
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
    listener: Arc<dyn ChangeListener>,
    sender: broadcast::Sender<Arc<Change>>,
    wake: Notify,
    /// Change notifications received from PostgreSQL so far.
    notified: AtomicU64,
    /// How many notifications had been received when the last completed catch-up began:
    /// what those announced has been passed on.
    settled: AtomicU64,
    /// SQLite: the database file and its write-ahead log as last seen.
    files: Option<SqliteFiles>,
    freshness: Freshness,
}

/// What a SQLite database's files looked like; any commit changes the log.
struct SqliteFiles {
    database: WatchedFile,
    log: WatchedFile,
    last: std::sync::Mutex<Option<FileStamp>>,
}

type FileStamp = [(Option<SystemTime>, u64); 2];

impl SqliteFiles {
    fn new(database: &Path) -> Self {
        let mut log = database.as_os_str().to_owned();
        log.push("-wal");
        Self {
            database: WatchedFile::new(database.to_path_buf()),
            log: WatchedFile::new(PathBuf::from(log)),
            last: std::sync::Mutex::new(None),
        }
    }

    /// Whether the files changed since the last call (the first call says yes).
    fn changed(&self) -> bool {
        let now = [self.database.stamp(), self.log.stamp()];
        match self.last.lock() {
            Ok(mut last) => last.replace(now) != Some(now),
            Err(_) => true,
        }
    }
}

/// A file looked at before every request: kept open, so that a look is one `fstat`
/// rather than a walk of its path. SQLite deletes the log when its last connection
/// closes and makes a new one later: a file gone from its directory (no links left) is
/// opened again by its path.
struct WatchedFile {
    path: PathBuf,
    open: std::sync::Mutex<Option<std::fs::File>>,
}

impl WatchedFile {
    fn new(path: PathBuf) -> Self {
        Self { path, open: std::sync::Mutex::new(None) }
    }

    /// Its modification time and length (`(None, 0)` while it does not exist).
    fn stamp(&self) -> (Option<SystemTime>, u64) {
        use std::os::unix::fs::MetadataExt;
        let of = |metadata: std::fs::Metadata| (metadata.modified().ok(), metadata.len());
        let Ok(mut open) = self.open.lock() else {
            return std::fs::metadata(&self.path).map_or((None, 0), of);
        };
        if let Some(metadata) = open.as_ref().and_then(|file| file.metadata().ok()).filter(|m| m.nlink() > 0) {
            return of(metadata);
        }
        *open = std::fs::File::open(&self.path).ok();
        open.as_ref().and_then(|file| file.metadata().ok()).map_or((None, 0), of)
    }
}

/// Rounds of "which is the newest committed change?", shared by whoever asks at the same
/// time. A caller needs the answer of a round that began after it asked (an earlier
/// round's query may not see what committed just before the caller came); one round runs
/// at a time, and when it ends everyone waiting wakes at once: those it answers return,
/// one of the others leads the next round.
struct Freshness {
    /// Rounds begun so far (only counted up by the round's leader).
    begun: AtomicU64,
    /// Held by the caller running a round.
    leading: Mutex<()>,
    /// The number of the last finished round and its answer.
    finished: watch::Sender<(u64, i64)>,
}

impl Default for Freshness {
    fn default() -> Self {
        Self { begun: AtomicU64::new(0), leading: Mutex::new(()), finished: watch::Sender::new((0, 0)) }
    }
}

impl Freshness {
    async fn newest(&self, conn: &DatabaseConnection) -> Result<i64, StorageError> {
        let needed = self.begun.load(Ordering::Acquire) + 1;
        // Subscribed before looking, so that a round ending in between still wakes us.
        let mut finished = self.finished.subscribe();
        loop {
            let (round, newest) = *finished.borrow_and_update();
            if round >= needed {
                return Ok(newest);
            }
            if let Ok(leading) = self.leading.try_lock() {
                let mut round = LeadRound { freshness: self, leading: Some(leading), answer: None };
                let number = self.begun.fetch_add(1, Ordering::AcqRel) + 1;
                let newest = audit::latest_id(conn).await?;
                round.answer = Some((number, newest));
                return Ok(newest);
            }
            // The sender lives as long as `self`.
            let _ = finished.changed().await;
        }
    }
}

/// A round being led. However it ends (answered, failed, or its request dropped), the
/// lead is given up first and then the waiters are woken, so that one of them can lead
/// the next round.
struct LeadRound<'a> {
    freshness: &'a Freshness,
    leading: Option<tokio::sync::MutexGuard<'a, ()>>,
    answer: Option<(u64, i64)>,
}

impl Drop for LeadRound<'_> {
    fn drop(&mut self) {
        drop(self.leading.take());
        match self.answer {
            Some(answer) => {
                self.freshness.finished.send_replace(answer);
            }
            None => self.freshness.finished.send_modify(|_| {}),
        }
    }
}

impl ChangeFeed {
    /// A feed that starts after event `latest` (the newest when the caches were read)
    /// and passes every change to `listener` first.
    pub fn starting_after(db: Db, listener: Arc<dyn ChangeListener>, latest: i64) -> Arc<Self> {
        Self::with_capacity(db, listener, latest, BROADCAST_CAPACITY)
    }

    fn with_capacity(db: Db, listener: Arc<dyn ChangeListener>, latest: i64, capacity: usize) -> Arc<Self> {
        let (sender, _) = broadcast::channel(capacity);
        Arc::new(Self {
            files: db.sqlite_file().map(SqliteFiles::new),
            db,
            position: Mutex::new(latest),
            last_seen: AtomicI64::new(latest),
            listener,
            sender,
            wake: Notify::new(),
            notified: AtomicU64::new(0),
            settled: AtomicU64::new(0),
            freshness: Freshness::default(),
        })
    }

    /// Changes from now on. Subscribers that need what came before use
    /// [`ChangeFeed::changes_after`].
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

    /// Passes on every event committed since the last one passed on: the listener first
    /// (awaited), then subscribers.
    pub async fn catch_up(&self) -> Result<(), StorageError> {
        let mut position = self.position.lock().await;
        self.pass_on(&mut position).await
    }

    /// Catches up when a change notification arrived since the last catch-up began
    /// (PostgreSQL), or when the database files changed since the last look (SQLite), so
    /// that a read which starts after another process committed never answers from a
    /// cache that has not followed the change. Costs nothing (or two `stat` calls)
    /// otherwise.
    pub async fn settle(&self) -> Result<(), StorageError> {
        let files_changed = self.files.as_ref().is_some_and(SqliteFiles::changed);
        if !files_changed && !self.unsettled() {
            return Ok(());
        }
        let mut position = self.position.lock().await;
        // The catch-up we waited for may have covered a notification.
        if !files_changed && !self.unsettled() {
            return Ok(());
        }
        self.pass_on(&mut position).await
    }

    /// Like [`ChangeFeed::settle`], and on PostgreSQL without relying on a notification
    /// having arrived: asks the database for its newest change (in a query that starts
    /// after this call) and catches up to it. Requests that ask at the same time share
    /// one such query ([`Freshness`]), so that under load it costs a fraction of a query
    /// per request. Used before a remembered token is trusted, so that a revocation
    /// committed anywhere before the request began is followed.
    pub async fn settle_strictly(&self) -> Result<(), StorageError> {
        if self.files.is_some() {
            return self.settle().await;
        }
        let newest = self.freshness.newest(&self.db.conn).await?;
        if self.last_event_id() >= newest {
            return Ok(());
        }
        let mut position = self.position.lock().await;
        if *position >= newest {
            return Ok(());
        }
        self.pass_on(&mut position).await
    }

    fn unsettled(&self) -> bool {
        self.notified.load(Ordering::Acquire) > self.settled.load(Ordering::Acquire)
    }

    /// Counts a notification (or a possibly lost one) and wakes the feed.
    fn notice(&self) {
        self.notified.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_one();
    }

    async fn pass_on(&self, position: &mut i64) -> Result<(), StorageError> {
        let notified = self.notified.load(Ordering::Acquire);
        loop {
            let changes = read_after(&self.db.conn, *position, i64::MAX).await?;
            let Some(last) = changes.last().map(|c| c.event.id) else { break };
            for change in changes {
                let change = Arc::new(change);
                self.listener.changed(&change).await;
                // No subscriber is not an error.
                let _ = self.sender.send(change);
            }
            *position = last;
            self.last_seen.store(last, Ordering::Release);
        }
        self.settled.fetch_max(notified, Ordering::AcqRel);
        Ok(())
    }

    /// Every change after event `after`, in commit order and each once: first those this
    /// feed has already passed on, read back from the audit trail through `reader`, then
    /// the live ones as the feed passes them on (so caches have followed each change
    /// before it is delivered). A subscriber that falls behind the live channel reads
    /// what it missed from the trail again instead of losing it.
    ///
    /// No gap: the stream subscribes before it reads how far the feed has got, so every
    /// later change reaches it live; what it replayed it skips when it comes live.
    pub fn changes_after(
        self: &Arc<Self>,
        reader: Db,
        after: i64,
    ) -> impl Stream<Item = Result<Arc<Change>, StorageError>> + Send + use<> {
        let feed = self.clone();
        try_stream! {
            let mut live = feed.subscribe();
            let mut last = after;
            loop {
                let through = feed.last_event_id();
                while last < through {
                    let changes = read_after(&reader.conn, last, through).await?;
                    if changes.is_empty() {
                        break;
                    }
                    for change in changes {
                        last = change.event.id;
                        yield Arc::new(change);
                    }
                }
                loop {
                    match live.recv().await {
                        Ok(change) if change.event.id <= last => {}
                        Ok(change) => {
                            last = change.event.id;
                            yield change;
                        }
                        Err(RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, after = last, "a subscriber fell behind; replaying from the audit trail");
                            break;
                        }
                        // The feed outlives every stream (the stream holds it), so this
                        // only happens at shutdown.
                        Err(RecvError::Closed) => return,
                    }
                }
            }
        }
    }

    /// Runs the feed in the background: woken by local writes and (when `listen`)
    /// PostgreSQL notifications, and every `poll` in any case.
    pub fn spawn(self: &Arc<Self>, poll: Duration, listen: bool) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if listen && self.db.backend() == DbBackend::Postgres {
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
                // Whatever committed while nobody listened was announced to nobody.
                self.notice();
                loop {
                    // `None`: the connection was lost and has been re-established;
                    // notifications sent in between are lost, so look anyway.
                    listener.try_recv().await?;
                    self.notice();
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

/// The changes recorded after event `after` up to event `through`, at most one page, in
/// id order.
async fn read_after(conn: &DatabaseConnection, after: i64, through: i64) -> Result<Vec<Change>, StorageError> {
    let mut events = audit::page(conn, &AuditQuery::default(), Some(after), Some(READ_PAGE)).await?;
    events.retain(|e| e.id <= through);
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    let mut subjects = audit::subjects_of(conn, &ids).await?;
    let mut effects = audit::effects_of(conn, &ids).await?;
    Ok(events
        .into_iter()
        .map(|event| Change {
            subjects: subjects.remove(&event.id).unwrap_or_default(),
            effects: effects.remove(&event.id).unwrap_or_default(),
            event,
        })
        .collect())
}

#[cfg(test)]
mod tests {

    use chrono::Utc;
    use futures_util::StreamExt;

    use super::*;
    use crate::domain::Principal;
    use crate::domain::audit::{AuditActor, AuditRecord, NewAuditEvent};
    use crate::storage::PoolSettings;

    async fn database(dir: &tempfile::TempDir) -> Db {
        let url = format!("sqlite://{}", dir.path().join("feed.db").display());
        let db = Db::connect(&url, &PoolSettings::default(), true).await.expect("open");
        db.migrate().await.expect("migrate");
        db
    }

    async fn append(db: &Db, number: usize) {
        let actor = AuditActor::of(&Principal::Cli { user: "test".into(), ministry: None }).expect("an actor");
        let event = NewAuditEvent {
            record: AuditRecord {
                at: Utc::now(),
                actor,
                action: AuditAction::RegisterOperator,
                entity_type: SubjectType::Operator,
                entity_id: Some(number.to_string()),
                before: None,
                after: None,
                reason: None,
                outcome: AuditOutcome::Succeeded,
                denial: None,
            },
            subjects: [Subject::new(SubjectType::Operator, number.to_string())].into_iter().collect(),
            effects: Effects::default(),
        };
        let txn = db.begin_write().await.expect("begin");
        audit::append(&txn, &event).await.expect("append");
        txn.commit().await.expect("commit");
    }

    #[tokio::test]
    async fn callers_that_ask_together_share_a_round_and_each_sees_what_committed_before_it_asked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = database(&dir).await;
        let freshness = Arc::new(Freshness::default());
        for number in 1..=3 {
            append(&db, number).await;
            let latest = audit::latest_id(&db.conn).await.expect("latest");
            // An answer from an earlier round would miss the change just committed.
            assert_eq!(freshness.newest(&db.conn).await.expect("newest"), latest);
        }

        let before = db.statement_count();
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let (freshness, db) = (freshness.clone(), db.clone());
                tokio::spawn(async move { freshness.newest(&db.conn).await.expect("newest") })
            })
            .collect();
        let latest = audit::latest_id(&db.conn).await.expect("latest");
        for caller in callers {
            assert_eq!(caller.await.expect("joined"), latest);
        }
        let rounds = db.statement_count() - before - 1;
        assert!(rounds < 50, "50 callers at once took {rounds} queries");
    }

    #[tokio::test]
    async fn a_round_whose_leader_is_dropped_does_not_strand_the_waiters() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = database(&dir).await;
        append(&db, 1).await;
        let freshness = Arc::new(Freshness::default());
        let ask = || {
            let (freshness, db) = (freshness.clone(), db.clone());
            tokio::spawn(async move { freshness.newest(&db.conn).await })
        };
        let leader = ask();
        let waiter = ask();
        // Both started: the leader is inside its query, the waiter waits for the round.
        // (On a busy machine the leader may finish first; the waiter must be answered all
        // the same, and the wait must not spin for ever.)
        while (freshness.begun.load(Ordering::Acquire) == 0 || freshness.finished.receiver_count() < 2)
            && !leader.is_finished()
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        leader.abort();
        let answer = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        let latest = audit::latest_id(&db.conn).await.expect("latest");
        assert_eq!(answer.expect("the waiter is answered").expect("joined").expect("newest"), latest);
    }

    /// A listener that follows nothing.
    struct Nobody;

    impl ChangeListener for Nobody {
        fn changed<'a>(&'a self, _: &'a Change) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
            Box::pin(async {})
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_gets_every_change_once_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = database(&dir).await;
        append(&db, 1).await;
        append(&db, 2).await;
        let latest = audit::latest_id(&db.conn).await.expect("latest");
        let feed = ChangeFeed::with_capacity(db.clone(), Arc::new(Nobody), latest, 2);
        let start = feed.last_event_id();
        let first = audit::page(&db.conn, &AuditQuery::default(), None, None).await.expect("read")[0].id;

        // From the first event: two recorded before the feed started, then ten live ones,
        // far more than the live channel holds while nobody reads it.
        let mut changes = Box::pin(feed.changes_after(db.clone(), first - 1));
        let replayed = changes.next().await.expect("an item").expect("a change");
        assert_eq!(replayed.event.id, first);
        for number in 3..=12 {
            append(&db, number).await;
            feed.catch_up().await.expect("catch up");
        }
        let mut seen = vec![replayed.event.id];
        while seen.len() < 12 {
            let change = changes.next().await.expect("an item").expect("a change");
            assert_eq!(
                change.subjects,
                [Subject::new(SubjectType::Operator, change.event.record.entity_id.clone().unwrap())]
            );
            seen.push(change.event.id);
        }
        let expected: Vec<i64> = (0..12).map(|n| first + n).collect();
        assert_eq!(seen, expected, "every change once, in order (the feed started at {start})");

        // Nothing more until the next change.
        let next = tokio::time::timeout(Duration::from_millis(100), changes.next()).await;
        assert!(next.is_err(), "no change is delivered twice");
        append(&db, 13).await;
        feed.catch_up().await.expect("catch up");
        assert_eq!(changes.next().await.expect("an item").expect("a change").event.id, first + 12);
    }
}
