//! Start-up: open and migrate the database, load reference data, bind the listener.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::config::{DatabaseArgs, HttpSettings, SeedArgs, ServeSettings};
use crate::graphql::{Introspection, QueryLimits, build_schema};
use crate::http::body::BodyLimits;
use crate::http::rate_limit::RateLimiter;
use crate::http::{AppState, router};
use crate::metrics::Metrics;
use crate::reference::{ReferenceStore, SeedErrors, SeedSource, files};
use crate::storage::{self, Db, PoolSettings, StorageError};

/// Why the service could not start; each is one clear line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Seed(#[from] SeedErrors),
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

/// Validates the seed-data files and syncs them into the database.
pub async fn seed_reference_data(db: &Db, args: &SeedArgs) -> Result<storage::reference::SyncReport, StartupError> {
    let source = SeedSource::resolve(args.seed_dir.as_deref());
    let data = files::load(&source)?;
    let report = storage::reference::sync(&db.conn, &data).await?;
    tracing::info!(%source, changed = report.changed(), "reference data synced");
    Ok(report)
}

/// Opens, migrates and (when new) seeds the database and builds what requests share.
pub async fn build_state(settings: &ServeSettings) -> Result<AppState, StartupError> {
    let db = open_database(&settings.database).await?;
    if storage::reference::is_empty(&db.conn).await? {
        seed_reference_data(&db, &settings.seed).await?;
    }
    let reference = ReferenceStore::new(storage::reference::load(&db.conn).await?);
    let limits = &settings.limits;
    let query_limits = QueryLimits::from(limits);
    let introspection = if limits.disable_introspection { Introspection::Disabled } else { Introspection::Enabled };
    Ok(AppState {
        schema: build_schema(Some(db.clone()), query_limits, introspection),
        reference,
        auth: Arc::new(Authenticator::new(db.clone())),
        metrics: Metrics::new(db.clone()),
        rate_limiter: Arc::new(RateLimiter::new(limits)),
        body_limits: BodyLimits::from(limits),
        query_limits,
        db,
    })
}

/// A started (bound, not yet serving) application.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    http: HttpSettings,
}

impl Application {
    /// Builds the shared state, then binds the listener.
    pub async fn build(settings: &ServeSettings) -> Result<Self, StartupError> {
        let state = build_state(settings).await?;
        let listener = TcpListener::bind(&settings.bind)
            .await
            .map_err(|source| StartupError::Bind { addr: settings.bind.clone(), source })?;
        Ok(Self { listener, state, http: settings.http.clone() })
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
    /// database pool.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let db = self.state.db.clone();
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
        if let Err(e) = db.close().await {
            tracing::warn!(error = %e, "closing the database pool failed");
        }
        Ok(())
    }
}
