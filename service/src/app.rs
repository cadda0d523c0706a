//! Start-up: open and migrate the database, load reference data, bind the listener.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::changes::{Change, ChangeFeed, ChangeListener};
use crate::config::{DatabaseArgs, HttpSettings, SeedArgs, ServeSettings};
use crate::domain::Principal;
use crate::graphql::{Introspection, QueryLimits, Services, build_schema};
use crate::http::body::BodyLimits;
use crate::http::rate_limit::RateLimiter;
use crate::http::{AppState, SharedState, router};
use crate::metrics::Metrics;
use crate::reference::{ReferenceStore, SeedErrors, SeedSource, files};
use crate::registry::index::RegistryIndex;
use crate::registry::{self, RegistryError};
use crate::storage::{self, Db, PoolSettings, StorageError};

/// Why the service could not start; each is one clear line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Seed(#[from] SeedErrors),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}

/// Opens the database and applies pending migrations.
pub async fn open_database(args: &DatabaseArgs) -> Result<Db, StorageError> {
    let pool = PoolSettings { max_connections: args.db_max_connections, ..PoolSettings::default() };
    let db = Db::connect(&args.database_url, &pool).await?;
    db.migrate().await?;
    Ok(db)
}

/// The principal of the command line (and of what `serve` does at start-up): an
/// administrator named after the local user, or a ministry when asked to act as one.
pub fn cli_principal(ministry: Option<String>) -> Principal {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into());
    Principal::Cli { user, ministry }
}

/// Validates the seed-data files and syncs them into the database as the command-line
/// user (see [`registry::reference::sync`] for `keep_curated`).
pub async fn seed_reference_data(
    db: &Db,
    args: &SeedArgs,
    keep_curated: bool,
) -> Result<storage::reference::SyncReport, StartupError> {
    let source = SeedSource::resolve(args.seed_dir.as_deref());
    let data = files::load(&source)?;
    let report = registry::reference::sync(db, &cli_principal(None), &data, &source.to_string(), keep_curated).await?;
    tracing::info!(%source, changed = report.changed(), "reference data synced");
    Ok(report)
}

/// Opens and migrates the database, loading the reference data when it has none yet
/// (a new database works with every command, not only `serve`).
pub async fn open_seeded_database(database: &DatabaseArgs, seed: &SeedArgs) -> Result<Db, StartupError> {
    let db = open_database(database).await?;
    if storage::reference::is_empty(&db.conn).await? {
        seed_reference_data(&db, seed, false).await?;
    }
    Ok(db)
}

/// Keeps the reference snapshot in step with reference-data changes made anywhere
/// (another instance's curation, a `seed` run by another process).
struct ReferenceFollower {
    store: ReferenceStore,
    db: Db,
}

impl ChangeListener for ReferenceFollower {
    fn changed<'a>(&'a self, change: &'a Change) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if change.is_to_reference_data() {
                let reloaded = self.store.reload(|| storage::reference::load(&self.db.conn)).await;
                if let Err(e) = reloaded {
                    tracing::error!(error = %e, "could not reload the reference data after a change");
                }
            }
        })
    }
}

/// Opens, migrates and (when new) seeds the database and builds what requests share.
pub async fn build_state(settings: &ServeSettings) -> Result<AppState, StartupError> {
    let db = open_seeded_database(&settings.database, &settings.seed).await?;
    // The feed polls on a small pool of its own, so that it never waits behind requests
    // (and does not count in their statement metric). It starts after the newest change;
    // the caches load after that, so that no change falls between.
    let feed_pool = PoolSettings { max_connections: 2, ..PoolSettings::default() };
    let changes = ChangeFeed::new(Db::connect(&settings.database.database_url, &feed_pool).await?).await?;
    let reference = ReferenceStore::new(storage::reference::load(&db.conn).await?);
    changes.listen(Arc::new(ReferenceFollower { store: reference.clone(), db: db.clone() }));
    let index = RegistryIndex::new(db.clone());
    changes.listen(index.clone());
    let auth = Arc::new(Authenticator::new(db.clone(), changes.clone()));
    let limits = &settings.limits;
    let query_limits = QueryLimits::from(limits);
    let introspection = if limits.disable_introspection { Introspection::Disabled } else { Introspection::Enabled };
    let services =
        Services { db: db.clone(), reference: reference.clone(), index: index.clone(), changes: changes.clone() };
    Ok(AppState::new(SharedState {
        schema: build_schema(Some(services), query_limits, introspection),
        reference,
        auth,
        changes,
        index,
        parsed: Arc::default(),
        metrics: Metrics::new(db.clone()),
        rate_limiter: Arc::new(RateLimiter::new(limits)),
        body_limits: BodyLimits::from(limits),
        query_limits,
        db,
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
        &self.state.db
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` completes, then stops accepting connections, lets
    /// in-flight requests finish (for at most the shutdown grace period) and closes the
    /// database pool. The change feed and the index load run in the background meanwhile.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let db = self.state.db.clone();
        let mut background = self.state.changes.spawn(self.poll_interval, self.listen_for_notifications);
        let index = self.state.index.clone();
        background.push(tokio::spawn(async move {
            if let Err(e) = index.load_all().await {
                tracing::error!(error = %e, "could not load the registry index; look-ups keep reading the database");
            }
        }));
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
