//! HTTP wiring: the axum router, authentication of requests, the GraphQL endpoint and
//! the scope map page.

mod page;

mod export;
mod parsed;

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::auth::Authenticator;
use crate::changes::ChangeFeed;
use crate::domain::Principal;
use crate::graphql::registry::DesignationLoader;
use crate::graphql::{ApiError, AppSchema, RequestData};
use crate::reference::ReferenceStore;
use crate::registry::index::RegistryIndex;
use crate::storage::Db;
use crate::storage::audit::appended_in_this_process;
pub use parsed::ParsedQueries;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
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
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/export/{file}", get(export::export_file))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(page::routes())
        .with_state(state)
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").title("Scope Registry").finish())
}

/// The principal behind a request's `Authorization` header. First catches up with
/// changes made elsewhere (a revoked token, a CLI import), so that the request is
/// answered from current data.
async fn principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if let Err(e) = state.changes.ensure_current().await {
        tracing::warn!(error = %e, "could not look for changes made elsewhere");
    }
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
    let mut request = request.into_inner();
    state.parsed.prepare(&mut request);
    let request = request
        .data(RequestData { principal, snapshot: state.reference.snapshot() })
        .data(DesignationLoader::per_request(state.db.clone()));
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
    for error in &mut response.errors {
        // Parse and validation errors come from async-graphql without a code: they are
        // always the request's fault.
        let has_code = error.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            error.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
        }
    }
    GraphQLResponse::from(response).into_response()
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
