//! HTTP wiring: the axum router, authentication of requests, the GraphQL endpoint and
//! the scope map page.

mod page;

mod export;
mod subscriptions;

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::auth::Authenticator;
use crate::changes::ChangeFeed;
use crate::domain::Principal;
use crate::graphql::registry::DesignationLoader;
use crate::graphql::{ApiError, AppSchema, RequestData};
use crate::reference::ReferenceStore;
use crate::storage::Db;
use crate::storage::audit::appended_in_this_process;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub reference: ReferenceStore,
    pub auth: Arc<Authenticator>,
    /// Every committed change; a request that wrote catches it up before answering.
    pub changes: Arc<ChangeFeed>,
    pub db: Db,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql))
        .route("/export/{file}", get(export::export_file))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(page::routes())
        .layer(middleware::from_fn_with_state(state.clone(), settle_changes))
        .with_state(state)
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql").title("Scope Registry").finish(),
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
        Err(_) => graphiql().await.into_response(),
    }
}

/// Before any request reads: pass on the changes a notification has announced, so that
/// no cache answers with what they changed (see `ChangeFeed::settle`).
async fn settle_changes(State(state): State<AppState>, request: axum::extract::Request, next: Next) -> Response {
    if let Err(e) = state.changes.settle().await {
        tracing::warn!(error = %e, "could not pass announced changes on; the feed retries shortly");
        state.changes.wake();
    }
    next.run(request).await
}

/// The principal behind a request's `Authorization` header.
async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let authorization = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => return Err(ApiError::Unauthenticated("the Authorization header is not valid text".into())),
    };
    Ok(state.auth.authenticate(authorization).await?)
}

async fn graphql(State(state): State<AppState>, headers: HeaderMap, request: GraphQLRequest) -> Response {
    let principal = match principal(&state, &headers).await {
        Ok(principal) => principal,
        Err(e) => return error_response(e),
    };
    GraphQLResponse::from(execute(&state, principal, request.into_inner()).await).into_response()
}

/// What every operation is answered with: who asks, the reference snapshot, and a
/// designation loader of its own.
fn with_request_data(
    state: &AppState,
    principal: Principal,
    request: async_graphql::Request,
) -> async_graphql::Request {
    request
        .data(RequestData::new(principal, state.reference.snapshot()))
        .data(DesignationLoader::per_request(state.db.clone()))
}

/// Runs a query or mutation as `principal` (over HTTP, or sent over a WebSocket).
async fn execute(state: &AppState, principal: Principal, request: async_graphql::Request) -> async_graphql::Response {
    let request = with_request_data(state, principal, request);
    let appended_before = appended_in_this_process();
    let mut response = state.schema.execute(request).await;
    if appended_in_this_process() != appended_before {
        // This request (or one running beside it) wrote: pass the change on to the caches
        // before answering, so that the next read here sees it.
        if let Err(e) = state.changes.catch_up().await {
            tracing::warn!(error = %e, "could not pass a change on; the feed retries shortly");
            state.changes.wake();
        }
    }
    code_every_error(&mut response);
    response
}

/// Parse and validation errors come from async-graphql without a code: they are always
/// the request's fault.
fn code_every_error(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            error.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
        }
    }
}

/// A request-level GraphQL error (no data), e.g. for a bad token.
fn error_response(error: ApiError) -> Response {
    let body = serde_json::json!({
        "data": null,
        "errors": [{ "message": error.message(), "extensions": { "code": error.code() } }],
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    if matches!(error, ApiError::Unauthenticated(_)) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    }
    response
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.is_migrated().await {
        Ok(true) => (StatusCode::OK, "ready").into_response(),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "database not migrated").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}
