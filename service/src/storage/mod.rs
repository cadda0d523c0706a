//! Storage: the database connection, sea-orm entities and the queries the service
//! needs, one module per aggregate. Database errors are classified here once.

pub mod audit;
pub mod crosswalk;
pub mod designations;
pub mod entities;
pub mod operators;
pub mod proposals;
pub mod record_time;
pub mod reference;
pub mod special_operators;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migrations::{Migrator, MigratorTrait, OVERLAP_MESSAGE};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityName, EntityTrait, IsolationLevel, RuntimeErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::seaql_migrations;

/// What can go wrong in storage, classified for the layers above.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness or non-overlap rule of the database refused the write.
    #[error("conflict: {0}")]
    Conflict(ConflictKind),
    /// The database aborted the transaction because of a concurrent one (deadlock or
    /// serialization failure); running it again may succeed.
    #[error("the transaction collided with a concurrent one")]
    Transient,
    /// A referenced row does not exist (foreign key).
    #[error("a referenced record does not exist")]
    MissingReference,
    /// A record cannot be removed because others still refer to it.
    #[error("{0}")]
    InUse(String),
    /// The database could not be reached or opened (in time).
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A one-off command was pointed at a SQLite file that does not exist.
    #[error(
        "there is no database at {0} (the file does not exist); this command does not create one. Point it at the \
         server's database with --database-url or DATABASE_URL, or pass --create to create a new one here"
    )]
    NoDatabase(String),
    /// The database schema is newer than this program.
    #[error(
        "the database was migrated by a newer version of scope-registry (unknown migration {0}); refusing to start"
    )]
    NewerSchema(String),
    #[error("database error: {0}")]
    Database(#[source] DbErr),
}

/// Which database rule a conflicting write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    Unique,
    OverlappingPeriod,
}

impl std::fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConflictKind::Unique => "a record with the same key exists",
            ConflictKind::OverlappingPeriod => "the period overlaps an existing one",
        })
    }
}

impl From<DbErr> for StorageError {
    fn from(err: DbErr) -> Self {
        classify(err)
    }
}

/// PostgreSQL SQLSTATE codes and SQLite extended codes we tell apart.
const PG_UNIQUE_VIOLATION: &str = "23505";
const PG_EXCLUSION_VIOLATION: &str = "23P01";
const PG_FOREIGN_KEY_VIOLATION: &str = "23503";
const PG_DEADLOCK_DETECTED: &str = "40P01";
const PG_SERIALIZATION_FAILURE: &str = "40001";
const SQLITE_CONSTRAINT_UNIQUE: &str = "2067";
const SQLITE_CONSTRAINT_PRIMARYKEY: &str = "1555";
const SQLITE_CONSTRAINT_FOREIGNKEY: &str = "787";
/// SQLSTATE classes of a connection that broke (08) and of a server shutting down or
/// not accepting connections yet (57).
const PG_CONNECTION_EXCEPTION_CLASS: &str = "08";
const PG_OPERATOR_INTERVENTION_CLASS: &str = "57";

/// Whether a failed statement failed because the database could not be reached: the
/// connection broke, or no connection could be had in time.
fn is_unreachable(error: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    matches!(error, Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed | Error::Tls(_))
}

fn classify(err: DbErr) -> StorageError {
    let database_error = match &err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) if is_unreachable(e) => {
            return StorageError::Connect(e.to_string());
        }
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e.as_database_error(),
        DbErr::Conn(RuntimeErr::SqlxError(e)) => return StorageError::Connect(e.to_string()),
        DbErr::ConnectionAcquire(e) => return StorageError::Connect(e.to_string()),
        _ => None,
    };
    let Some(db_err) = database_error else {
        return StorageError::Database(err);
    };
    let code = db_err.code().unwrap_or_default();
    if code.starts_with(PG_CONNECTION_EXCEPTION_CLASS) || code.starts_with(PG_OPERATOR_INTERVENTION_CLASS) {
        // The server is shutting down or restarting, or the connection broke.
        StorageError::Connect(db_err.message().to_owned())
    } else if code == PG_EXCLUSION_VIOLATION || db_err.message().contains(OVERLAP_MESSAGE) {
        StorageError::Conflict(ConflictKind::OverlappingPeriod)
    } else if code == PG_UNIQUE_VIOLATION || code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY {
        StorageError::Conflict(ConflictKind::Unique)
    } else if code == PG_DEADLOCK_DETECTED || code == PG_SERIALIZATION_FAILURE {
        // Concurrent inserts checked by an exclusion constraint can deadlock each other.
        StorageError::Transient
    } else if code == PG_FOREIGN_KEY_VIOLATION || code == SQLITE_CONSTRAINT_FOREIGNKEY {
        StorageError::MissingReference
    } else {
        StorageError::Database(err)
    }
}

/// An error for data in the database that the program could not have written.
pub(crate) fn corrupt(what: &str) -> StorageError {
    StorageError::Database(DbErr::Custom(format!("invalid {what} in the database")))
}

/// The database connection plus counts of what it has done, exposed as metrics (tests
/// also use the statement count to prove that nested fields load in batches).
#[derive(Clone)]
pub struct Db {
    pub conn: DatabaseConnection,
    statements: Arc<AtomicU64>,
    max_connections: u32,
    /// The database file, for SQLite.
    sqlite_file: Option<PathBuf>,
}

/// How many connections the pool holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Open connections, busy or idle.
    pub size: u32,
    pub idle: u32,
    /// The most the pool will open.
    pub max: u32,
}

/// Pool settings that fit a 2-core machine.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 10, acquire_timeout: Duration::from_secs(3) }
    }
}

impl Db {
    /// Opens (and for SQLite creates) the database. SQLite runs in WAL mode with a busy
    /// timeout so that readers never block the writer and writers queue instead of failing.
    pub async fn connect(url: &str, pool: &PoolSettings, may_create: bool) -> Result<Self, StorageError> {
        let sqlite_file = sqlite_file(url);
        if let Some(file) = &sqlite_file
            && !may_create
            && !file.exists()
        {
            return Err(StorageError::NoDatabase(normalise_url(url)));
        }
        let mut options = ConnectOptions::new(normalise_url(url));
        options
            .max_connections(pool.max_connections)
            .min_connections(1)
            .acquire_timeout(pool.acquire_timeout)
            .connect_timeout(pool.acquire_timeout)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        let mut conn = Database::connect(options).await.map_err(|e| match classify(e) {
            StorageError::Database(e) => StorageError::Connect(e.to_string()),
            other => other,
        })?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        conn.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        Ok(Self { conn, statements, max_connections: pool.max_connections, sqlite_file })
    }

    /// The SQLite database file (None on PostgreSQL).
    pub fn sqlite_file(&self) -> Option<&Path> {
        self.sqlite_file.as_deref()
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Statements executed since start.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Open and idle connections of the pool.
    pub fn pool_status(&self) -> PoolStatus {
        let (size, idle) = match self.backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DbBackend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            // `connect` opens SQLite and PostgreSQL only.
            _ => (0, 0),
        };
        PoolStatus { size, idle: u32::try_from(idle).unwrap_or(u32::MAX), max: self.max_connections }
    }

    /// Brings the query planner's statistics up to date after a bulk change (an import):
    /// without them PostgreSQL guessed that a page of operators has thousands of
    /// designations and read the whole table instead of its index (16 ms instead of
    /// 0.6 ms per page), until autovacuum got round to it, if it runs at all.
    pub async fn refresh_statistics(&self) -> Result<(), StorageError> {
        let statement = match self.backend() {
            DbBackend::Postgres => format!(
                "ANALYZE {}, {}",
                entities::operator::Entity.table_name(),
                entities::designation::Entity.table_name()
            ),
            _ => "PRAGMA optimize".to_owned(),
        };
        self.conn.execute_unprepared(&statement).await?;
        Ok(())
    }

    /// Applies pending migrations; refuses a database that a newer version migrated.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        self.check_not_newer().await?;
        Migrator::up(&self.conn, None).await.map_err(StorageError::from)
    }

    /// True when every migration this program knows has been applied.
    pub async fn is_migrated(&self) -> Result<bool, StorageError> {
        self.check_not_newer().await?;
        Ok(Migrator::get_pending_migrations(&self.conn).await?.is_empty())
    }

    async fn check_not_newer(&self) -> Result<(), StorageError> {
        let known: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
        let has_table = self
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                self.backend(),
                match self.backend() {
                    DbBackend::Postgres => {
                        "SELECT 1 FROM information_schema.tables WHERE table_name = 'seaql_migrations' AND table_schema = current_schema()"
                    }
                    _ => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
                },
            ))
            .await?
            .is_some();
        if !has_table {
            return Ok(());
        }
        let applied = seaql_migrations::Entity::find().all(&self.conn).await?;
        match applied.into_iter().find(|m| !known.contains(&m.version)) {
            Some(unknown) => Err(StorageError::NewerSchema(unknown.version)),
            None => Ok(()),
        }
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (BEGIN IMMEDIATE): a transaction that read first and then tried to write could
    /// otherwise fail with SQLITE_BUSY after another writer committed.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, StorageError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.conn.begin_with_options(options).await?)
    }

    /// Starts a read-only transaction whose reads all see one snapshot of the database,
    /// however long it runs and whatever commits meanwhile (exports read page after page
    /// through it): REPEATABLE READ on PostgreSQL; on SQLite in WAL mode every read
    /// transaction is one snapshot from its first read.
    pub async fn begin_snapshot(&self) -> Result<DatabaseTransaction, StorageError> {
        let options = match self.backend() {
            DbBackend::Postgres => TransactionOptions {
                isolation_level: Some(IsolationLevel::RepeatableRead),
                access_mode: Some(AccessMode::ReadOnly),
                ..TransactionOptions::default()
            },
            _ => TransactionOptions::default(),
        };
        Ok(self.conn.begin_with_options(options).await?)
    }

    pub async fn ping(&self) -> Result<(), StorageError> {
        self.conn.ping().await.map_err(StorageError::from)
    }

    pub async fn close(self) -> Result<(), StorageError> {
        self.conn.close().await.map_err(StorageError::from)
    }
}

/// The newest migration this program applies: what a served database's schema is.
pub fn newest_migration() -> String {
    Migrator::migrations().last().map(|m| m.name().to_owned()).unwrap_or_default()
}

/// The file a SQLite URL names (`sqlite://path?options`, `sqlite:path`).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let normalised = normalise_url(url);
    let rest = normalised.strip_prefix("sqlite://").or_else(|| normalised.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Accepts `sqlite:file.db`, `sqlite://file.db` and plain paths ending in `.db`.
fn normalise_url(url: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:") {
        url.to_owned()
    } else {
        format!("sqlite://{url}")
    }
}
