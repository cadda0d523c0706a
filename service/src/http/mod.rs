//! HTTP wiring: the axum router, the GraphQL endpoint, exports, the scope map page,
//! health, readiness and metrics, and the layers around every request (request id,
//! logs, metrics, time limit, security headers, CORS).

pub mod body;
pub mod connections;
pub mod error;
mod export;
mod graphiql;
mod graphql;
mod observe;
mod page;
mod proposal_export;
pub mod rate_limit;
mod subscriptions;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql_axum::GraphQLProtocol;
use axum::Extension;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state, map_request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::{BoxError, ServiceBuilder};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use self::observe::REQUEST_ID;

pub(crate) use self::graphql::{code_every_error, execute, with_request_data};

use self::body::BodyLimits;
use self::connections::Connections;
use self::error::{Reason, Rejection};
use self::rate_limit::RateLimiter;
use crate::config::HttpSettings;
use crate::graphql::QueryLimits;
use crate::graphql::executor::Executor;
use crate::graphql::persisted::PersistedDocuments;
use crate::metrics::{self, Metrics};
use crate::services::Services;
use crate::storage::StorageError;

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

/// How long a WebSocket connection may take to say who it is, and stay idle.
#[derive(Debug, Clone, Copy)]
pub struct WsTimeouts {
    pub init: Duration,
    pub idle: Duration,
}

impl From<&crate::config::Limits> for WsTimeouts {
    fn from(limits: &crate::config::Limits) -> Self {
        Self {
            init: Duration::from_secs(limits.ws_init_timeout_secs),
            idle: Duration::from_secs(limits.ws_idle_timeout_secs),
        }
    }
}

pub struct SharedState {
    pub executor: Executor,
    pub services: Arc<Services>,
    pub metrics: Metrics,
    pub rate_limiter: Arc<RateLimiter>,
    pub body_limits: BodyLimits,
    /// Bodies larger than the ordinary limit (imports) being read at once.
    pub large_bodies: Arc<tokio::sync::Semaphore>,
    /// Open WebSocket connections and their caps.
    pub connections: Arc<Connections>,
    pub ws_timeouts: WsTimeouts,
    pub query_limits: QueryLimits,
    /// Documents known by hash (automatic persisted queries, trusted documents).
    pub documents: PersistedDocuments,
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
    let limit = http.request_timeout();
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql::graphql))
        .route("/export/{file}", get(export::export_file))
        .route("/export/proposals/{id}/{file}", get(proposal_export::impact_file))
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
            // a request id, a span and log line, metrics and the security headers.
            ServiceBuilder::new()
                .layer(map_request(observe::drop_unfit_request_id))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(observe::RequestSpan)
                        .on_request(())
                        .on_response(observe::Finished)
                        .on_failure(()),
                )
                .layer(from_fn_with_state(metrics, observe::count))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    observe::html_content_security_policy,
                ))
                .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, observe::html_frame_options))
                .layer(from_fn(observe::no_store_when_authenticated))
                .option_layer(cors)
                .layer(HandleErrorLayer::new(move |_: BoxError| async move { observe::timed_out(limit) }))
                .timeout(limit),
        )
}

/// `GET /graphql`: a WebSocket for subscriptions, else GraphiQL for a browser.
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, StatusCode>,
) -> Response {
    let address = connection.map(|Extension(ConnectInfo(address))| address.ip());
    match upgrade {
        Ok(upgrade) => subscriptions::upgrade(state, &headers, address, upgrade, protocol),
        Err(_) => graphiql::page(),
    }
}

/// Before any request reads: pass on the changes made elsewhere that a notification
/// announced or the database files show, so that no cache answers with what they
/// changed (see `ChangeFeed::settle`).
async fn settle_changes(State(state): State<AppState>, request: axum::extract::Request, next: Next) -> Response {
    state.services.read_model().settle().await;
    next.run(request).await
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database is reachable and migrated by this version, and the registry index is
/// loaded (until then look-ups read the database: correct, but slow under load).
async fn readyz(State(state): State<AppState>) -> Response {
    match state.services.db().is_migrated().await {
        Ok(true) if !state.services.read_model().index().is_loaded() => {
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
