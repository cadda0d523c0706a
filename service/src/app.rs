//! Start-up: open and migrate the database, load reference data, build the read model
//! and the use cases, bind the listener.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{CreateArgs, DatabaseArgs, HttpSettings, SeedArgs, ServeSettings};
use crate::domain::Principal;
use crate::graphql::executor::Executor;
use crate::graphql::persisted::{PersistedDocuments, TrustedDocuments, TrustedDocumentsError};
use crate::graphql::{Introspection, QueryLimits};
use crate::http::body::BodyLimits;
use crate::http::connections::Connections;
use crate::http::rate_limit::RateLimiter;
use crate::http::{AppState, SharedState, WsTimeouts, router};
use crate::metrics::Metrics;
use crate::read_model::ReadModel;
use crate::seed::{SeedErrors, SeedSource, files};
use crate::services::{self, ServiceError, Services};
use crate::storage::{self, Db, PoolSettings, StorageError};

/// Why the service could not start; each is one clear line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Seed(#[from] SeedErrors),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    TrustedDocuments(#[from] TrustedDocumentsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}

/// Opens (creating it when new) the database and applies pending migrations: for
/// `serve`, `migrate` and `seed`.
pub async fn open_database(args: &DatabaseArgs) -> Result<Db, StorageError> {
    open(args, true).await
}

/// Opens the database for a one-off command, which creates a new one only when asked
/// (`--create`): otherwise a mistyped URL would give, say, a token no server knows.
pub async fn open_existing_database(args: &DatabaseArgs, create: CreateArgs) -> Result<Db, StorageError> {
    open(args, create.create).await
}

async fn open(args: &DatabaseArgs, may_create: bool) -> Result<Db, StorageError> {
    let pool = PoolSettings { max_connections: args.db_max_connections, acquire_timeout: args.acquire_timeout() };
    let db = Db::connect(&args.database_url, &pool, may_create).await?;
    db.migrate().await?;
    Ok(db)
}

/// The principal of the command line (and of what `serve` does at start-up): an
/// administrator named after the local user, or a ministry when asked to act as one.
pub fn cli_principal(ministry: Option<String>) -> Principal {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into());
    Principal::Cli { user, ministry }
}

/// The use cases over an open database, for a one-off command (its read model reads
/// the feed on the same pool, and nothing runs in the background).
pub async fn command_services(db: &Db) -> Result<Arc<Services>, StorageError> {
    Ok(Services::new(db.clone(), ReadModel::on_one_pool(db).await?))
}

/// Validates the seed-data files and syncs them into the database as the command-line
/// user (see [`services::reference::sync`] for `keep_curated`).
pub async fn seed_reference_data(
    services: &Services,
    args: &SeedArgs,
    keep_curated: bool,
) -> Result<storage::reference::SyncReport, StartupError> {
    let source = SeedSource::resolve(args.seed_dir.as_deref());
    let data = files::load(&source)?;
    let report =
        services::reference::sync(services, &cli_principal(None), &data, &source.to_string(), keep_curated).await?;
    tracing::info!(%source, changed = report.changed(), "reference data synced");
    Ok(report)
}

/// Loads the reference data into a database that has none yet (a new database works
/// with every command, not only `serve`).
async fn seed_when_new(services: &Services, seed: &SeedArgs) -> Result<(), StartupError> {
    if storage::reference::is_empty(&services.db().conn).await? {
        seed_reference_data(services, seed, false).await?;
    }
    Ok(())
}

/// Opens, migrates and (when new, as `create` allows) seeds the database for a one-off
/// command.
pub async fn open_seeded_services(
    database: &DatabaseArgs,
    seed: &SeedArgs,
    create: CreateArgs,
) -> Result<Arc<Services>, StartupError> {
    let db = open_existing_database(database, create).await?;
    let services = command_services(&db).await?;
    seed_when_new(&services, seed).await?;
    Ok(services)
}

/// Opens, migrates and (when new) seeds the database and builds what requests share.
pub async fn build_state(settings: &ServeSettings) -> Result<AppState, StartupError> {
    let db = open_database(&settings.database).await?;
    let snapshot = settings.index_snapshot(db.sqlite_file());
    let read = ReadModel::open(&db, &settings.database.database_url, snapshot).await?;
    let services = Services::new(db, read);
    seed_when_new(&services, &settings.seed).await?;
    let limits = &settings.limits;
    let trusted = limits.trusted_documents.as_deref().map(TrustedDocuments::load).transpose()?;
    if let Some(trusted) = &trusted {
        tracing::info!(documents = trusted.len(), "only trusted documents run for tokens other than admin");
    }
    let query_limits = QueryLimits::from(limits);
    let introspection = if limits.disable_introspection { Introspection::Disabled } else { Introspection::Enabled };
    Ok(AppState::new(SharedState {
        executor: Executor::new(services.clone(), query_limits, introspection),
        metrics: Metrics::new(services.clone()),
        services,
        rate_limiter: Arc::new(RateLimiter::new(limits)),
        body_limits: BodyLimits::from(limits),
        large_bodies: Arc::new(tokio::sync::Semaphore::new(limits.max_large_bodies as usize)),
        connections: Connections::new(limits, &settings.http),
        ws_timeouts: WsTimeouts::from(limits),
        query_limits,
        documents: PersistedDocuments::new(trusted),
    }))
}

/// A started (bound, not yet serving) application.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    http: HttpSettings,
    poll_interval: std::time::Duration,
    listen_for_notifications: bool,
}

impl Application {
    /// Builds the shared state, then binds the listener.
    pub async fn build(settings: &ServeSettings) -> Result<Self, StartupError> {
        let state = build_state(settings).await?;
        let listener = TcpListener::bind(&settings.bind)
            .await
            .map_err(|source| StartupError::Bind { addr: settings.bind.clone(), source })?;
        Ok(Self {
            listener,
            state,
            http: settings.http.clone(),
            poll_interval: settings.poll_interval(),
            listen_for_notifications: !settings.without_notifications,
        })
    }

    /// The database handle (tests read its statement counter).
    pub fn db(&self) -> &Db {
        self.state.services.db()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` completes, then stops accepting connections, lets
    /// in-flight requests finish (for at most the shutdown grace period) and closes the
    /// database pool. The change feed and the index load run in the background meanwhile.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let db = self.state.services.db().clone();
        let background = self.state.services.read_model().spawn(self.poll_interval, self.listen_for_notifications);
        let app = router(self.state, &self.http).into_make_service_with_connect_info::<SocketAddr>();
        let (signalled, mut on_signal) = watch::channel(false);
        let server = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            signalled.send_replace(true);
        });
        let grace = self.http.shutdown_grace();
        let grace_over = async move {
            if on_signal.wait_for(|signalled| *signalled).await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = server.into_future() => served?,
            () = grace_over => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the shutdown grace period are abandoned");
            }
        }
        for task in background {
            task.abort();
        }
        if let Err(e) = db.close().await {
            tracing::warn!(error = %e, "closing the database pool failed");
        }
        Ok(())
    }
}
