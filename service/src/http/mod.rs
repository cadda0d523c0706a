//! HTTP wiring: the axum router, the GraphQL endpoint, exports, the scope map page,
//! health, readiness and metrics, and the layers around every request (request id,
//! logs, metrics, time limit, security headers, CORS).

pub mod body;
mod export;
mod graphiql;
mod graphql;
mod observe;
mod page;
mod parsed;
pub mod rate_limit;
pub mod rejection;
mod subscriptions;

use std::sync::Arc;
use std::time::Duration;

use async_graphql_axum::GraphQLProtocol;
use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};

use self::observe::REQUEST_ID;

pub(crate) use self::graphql::{code_every_error, execute, with_request_data};

use self::body::BodyLimits;
use self::rate_limit::RateLimiter;
use self::rejection::{Reason, Rejection};
use crate::auth::Authenticator;
use crate::changes::ChangeFeed;
use crate::config::HttpSettings;
use crate::graphql::{AppSchema, QueryLimits};
use crate::metrics::{self, Metrics};
use crate::reference::ReferenceStore;
use crate::registry::index::RegistryIndex;
use crate::storage::{Db, StorageError};
pub use parsed::ParsedQueries;

/// Everything a request handler needs; one pointer, since every middleware layer clones
/// it for every request.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub struct SharedState {
    pub schema: AppSchema,
    pub reference: ReferenceStore,
    pub auth: Arc<Authenticator>,
    /// Every committed change; a request that wrote catches it up before answering.
    pub changes: Arc<ChangeFeed>,
    /// Operators and their designations in memory.
    pub index: Arc<RegistryIndex>,
    /// Parsed documents of the queries seen so far.
    pub parsed: Arc<ParsedQueries>,
    pub db: Db,
    pub metrics: Metrics,
    pub rate_limiter: Arc<RateLimiter>,
    pub body_limits: BodyLimits,
    pub query_limits: QueryLimits,
}

pub fn router(state: AppState, http: &HttpSettings) -> Router {
    let cors = (!http.cors_allow_origins.is_empty()).then(|| {
        let origins: Vec<HeaderValue> =
            http.cors_allow_origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([REQUEST_ID])
            .max_age(Duration::from_secs(600))
    });
    let metrics = state.metrics.clone();
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql::graphql))
        .route("/export/{file}", get(export::export_file))
        .merge(page::routes())
        .merge(graphiql::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .route_layer(from_fn(observe::expose_route))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state.clone(), settle_changes))
        .with_state(state)
        .layer(
            // Outermost first: every response, even a time-out or a CORS preflight, gets
            // a request id, a log line, metrics and the security headers.
            ServiceBuilder::new()
                .layer(from_fn_with_state(metrics, observe::trace))
                .layer(from_fn(observe::security_headers))
                .option_layer(cors)
                .layer(from_fn_with_state(http.request_timeout(), observe::time_limit)),
        )
}

/// `GET /graphql`: a WebSocket for subscriptions, else GraphiQL for a browser.
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, StatusCode>,
) -> Response {
    match upgrade {
        Ok(upgrade) => subscriptions::upgrade(state, &headers, upgrade, protocol),
        Err(_) => graphiql::page(),
    }
}

/// Before any request reads: pass on the changes made elsewhere that a notification
/// announced or the database files show, so that no cache answers with what they
/// changed (see `ChangeFeed::settle`).
async fn settle_changes(State(state): State<AppState>, request: axum::extract::Request, next: Next) -> Response {
    if let Err(e) = state.changes.settle().await {
        tracing::warn!(error = %e, "could not pass changes made elsewhere on; the feed retries shortly");
        state.changes.wake();
    }
    next.run(request).await
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database is reachable and migrated by this version, and the registry index is
/// loaded (until then look-ups read the database: correct, but slow under load).
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.is_migrated().await {
        Ok(true) if !state.index.is_loaded() => {
            (StatusCode::SERVICE_UNAVAILABLE, "loading the registry index").into_response()
        }
        Ok(true) => (StatusCode::OK, "ready").into_response(),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "database not migrated").into_response(),
        Err(StorageError::NewerSchema(_)) => {
            (StatusCode::SERVICE_UNAVAILABLE, "database migrated by a newer version").into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn render_metrics(State(state): State<AppState>) -> Response {
    match state.metrics.render() {
        Ok(text) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn not_found() -> Rejection {
    Rejection::new(Reason::NotFound, "no such endpoint; the API is POST /graphql")
}

async fn method_not_allowed() -> Rejection {
    Rejection::new(Reason::MethodNotAllowed, "method not allowed here; the API is POST /graphql")
}
