//! `POST /graphql`: authenticate, rate-limit, read and check the body, execute, and map
//! every error to a code.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use async_graphql::{ErrorExtensionValues, ServerError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::body::{self, Decoded};
use super::error::{Rejection, request_error};
use super::observe::record_operation;
use crate::domain::{Principal, today};
use crate::graphql::error::UNAVAILABLE_RETRY_AFTER_SECS;
use crate::graphql::loader::DesignationLoader;
use crate::graphql::{ApiError, RequestData};
use crate::read_model::answers::Answer;
use crate::services::authentication;

/// The label of requests refused before their operation was read.
const UNREAD_OPERATION: &str = "unread";
/// How long a large body waits for one of the places to be read in.
const LARGE_BODY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn graphql(State(state): State<AppState>, request: Request) -> Response {
    let started = Instant::now();
    let address = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let (parts, body) = request.into_parts();
    let principal = match state.admit(&parts.headers, address).await {
        Ok(principal) => principal,
        Err(refusal) => {
            let (outcome, response) = match refusal {
                Refusal::RateLimited(rejection) => (rejection.outcome(), rejection.into_response()),
                Refusal::Unauthenticated(error) => (error.code(), request_error(&error)),
            };
            state.metrics.graphql_request(Some(UNREAD_OPERATION), outcome, started.elapsed());
            return response;
        }
    };
    // Only a principal that may import gets the import allowance, and only so many such
    // bodies are read at once (the others are asked to come back): the body is read
    // after authentication.
    let limits = state.body_limits.for_principal(&principal);
    let _large_body = if limits.may_be_large(&parts.headers) {
        let wait = tokio::time::timeout(LARGE_BODY_WAIT, state.large_bodies.clone().acquire_owned());
        match wait.await {
            Ok(Ok(permit)) => Some(permit),
            _ => return state.rejected(Rejection::too_many_large_bodies(), started),
        }
    } else {
        None
    };
    let bytes = match body::read(&parts.headers, body, limits).await {
        Ok(bytes) => bytes,
        Err(rejection) => return state.rejected(rejection, started),
    };
    // The same request by the same asker since the last change: its answer as it was.
    let answers = state.services.read_model().answers();
    let key = answers.key(&principal, today(), &bytes);
    if let Some(answer) = key.as_ref().and_then(|key| answers.get(key)) {
        record_operation(answer.operation_name.as_deref());
        state.metrics.graphql_request(answer.operation_name.as_deref(), "ok", started.elapsed());
        return answer_response(answer.body, answer.cache_control.as_deref());
    }
    let decoded =
        body::decode(&bytes, limits, &state.query_limits, state.services.read_model().parsed(), |reference| {
            state.documents.resolve(&principal, reference)
        });
    // The decoded request holds what it needs: a large body (an import) is not kept
    // in memory while it runs.
    drop(bytes);
    let Decoded { operation_name, outcome, may_be_kept } = match decoded {
        Ok(decoded) => decoded,
        Err(rejection) => return state.rejected(rejection, started),
    };
    record_operation(operation_name.as_deref());
    let response = match outcome {
        Ok(request) => execute(&state, principal, request).await,
        Err(error) => async_graphql::Response::from_errors(vec![server_error(&error)]),
    };
    let outcome = response.errors.first().and_then(code_of).unwrap_or("ok").to_owned();
    state.metrics.graphql_request(operation_name.as_deref(), &outcome, started.elapsed());
    // The database could not be reached: 503 with `Retry-After`, so that clients and load
    // balancers know to come back (the body still carries whatever could be answered).
    let unavailable = response.errors.iter().any(|e| code_of(e) == Some("UNAVAILABLE"));
    let cache_control = if response.errors.is_empty() { response.cache_control.value() } else { None };
    let body = match serde_json::to_vec(&response) {
        Ok(body) => Bytes::from(body),
        Err(e) => {
            tracing::error!(error = %e, "could not serialize an answer");
            return request_error(&ApiError::Internal);
        }
    };
    if let Some(key) = key.filter(|_| may_be_kept && response.errors.is_empty()) {
        let answer = Answer { body: body.clone(), cache_control: cache_control.clone(), operation_name };
        answers.keep(key, answer);
    }
    let mut http = answer_response(body, cache_control.as_deref());
    if unavailable {
        *http.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
        http.headers_mut().insert(header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER_SECS.into());
    }
    http
}

/// A GraphQL answer over HTTP (as async-graphql-axum writes one: the GraphQL-over-HTTP
/// media type, and the schema's cache hints).
fn answer_response(body: Bytes, cache_control: Option<&str>) -> Response {
    let mut http = Response::new(axum::body::Body::from(body));
    let headers = http.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/graphql-response+json"));
    if let Some(value) = cache_control.and_then(|value| HeaderValue::from_str(value).ok()) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    http
}

fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code),
        _ => None,
    }
}

/// What every operation is answered with: who asks, the reference snapshot, and a
/// designation loader of its own.
pub fn with_request_data(
    state: &AppState,
    principal: Principal,
    request: async_graphql::Request,
) -> async_graphql::Request {
    request
        .data(RequestData::new(principal, state.services.snapshot()))
        .data(DesignationLoader::per_request(state.services.clone()))
}

/// Runs a query or mutation as `principal` (over HTTP, or sent over a WebSocket), whose
/// document its caller parsed through [`ParsedQueries`](super::ParsedQueries).
pub async fn execute(
    state: &AppState,
    principal: Principal,
    request: async_graphql::Request,
) -> async_graphql::Response {
    // A use case that wrote has made this process's caches follow before it returned.
    let mut response =
        state.executor.execute(request, |request| with_request_data(state, principal.clone(), request)).await;
    code_every_error(&mut response);
    response
}

/// Parse and validation errors come from async-graphql without a code: they are always
/// the request's fault.
/// Also caps the errors of one answer at [`MAX_ERRORS`]: a request of 5,000 duplicate
/// directives would otherwise get 5,000 errors, an answer many times its size; the last
/// error says how many were left out.
pub fn code_every_error(response: &mut async_graphql::Response) {
    let total = response.errors.len();
    if total > MAX_ERRORS {
        response.errors.truncate(MAX_ERRORS - 1);
        let left_out = total - response.errors.len();
        let first_code = response.errors.first().and_then(code_of).unwrap_or("BAD_USER_INPUT").to_owned();
        let mut last = ServerError::new(format!("{left_out} more errors were left out ({total} in all)"), None);
        last.extensions.get_or_insert_with(Default::default).set("code", first_code);
        response.errors.push(last);
    }
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            error.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
        }
    }
}

/// The most errors one answer carries.
pub const MAX_ERRORS: usize = 50;

fn server_error(error: &ApiError) -> ServerError {
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", error.code());
    ServerError { extensions: Some(extensions), ..ServerError::new(error.message(), None) }
}

/// Why a request is not admitted.
pub enum Refusal {
    RateLimited(Rejection),
    Unauthenticated(ApiError),
}

impl AppState {
    /// Who is asking, within their rate limit. A request with a bad token is answered
    /// `UNAUTHENTICATED`, counted against its address's budget (each unknown token costs
    /// a database look-up). On refusal: the metrics outcome and the response.
    pub async fn admit(&self, headers: &HeaderMap, address: Option<IpAddr>) -> Result<Principal, Refusal> {
        let authenticated = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
            None => Ok(Principal::Anonymous),
            Some(Ok(value)) => authentication::authenticate(&self.services, Some(value)).await.map_err(ApiError::from),
            Some(Err(_)) => Err(ApiError::Unauthenticated("the Authorization header is not valid text".into())),
        };
        let budget_of = authenticated.as_ref().unwrap_or(&Principal::Anonymous);
        if let Err(wait) = self.rate_limiter.check(budget_of, address) {
            return Err(Refusal::RateLimited(Rejection::rate_limited(wait)));
        }
        authenticated.map_err(Refusal::Unauthenticated)
    }

    fn rejected(&self, rejection: Rejection, started: Instant) -> Response {
        self.metrics.graphql_request(Some(UNREAD_OPERATION), rejection.outcome(), started.elapsed());
        rejection.into_response()
    }
}
