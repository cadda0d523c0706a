//! `POST /graphql`: authenticate, rate-limit, read and check the body, execute, and map
//! every error to a code.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use async_graphql::{ErrorExtensionValues, ServerError};
use async_graphql_axum::GraphQLResponse;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::body::{self, Decoded};
use super::error::{Rejection, request_error};
use super::observe::record_operation;
use crate::domain::Principal;
use crate::graphql::loader::DesignationLoader;
use crate::graphql::{ApiError, RequestData};
use crate::services::authentication;

/// The label of requests refused before their operation was read.
const UNREAD_OPERATION: &str = "unread";

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
    let decoded = match body::read(&parts.headers, body, state.body_limits).await {
        Ok(bytes) => body::decode(&bytes, state.body_limits, &state.query_limits, state.services.read_model().parsed()),
        Err(rejection) => Err(rejection),
    };
    let Decoded { operation_name, outcome } = match decoded {
        Ok(decoded) => decoded,
        Err(rejection) => return state.rejected(rejection, started),
    };
    record_operation(operation_name.as_deref());
    let response = match outcome {
        Ok(request) => execute(&state, principal, request).await,
        Err(error) => async_graphql::Response::from_errors(vec![server_error(&error)]),
    };
    let outcome = response
        .errors
        .first()
        .and_then(|e| e.extensions.as_ref())
        .and_then(|ext| ext.get("code"))
        .and_then(|code| match code {
            async_graphql::Value::String(code) => Some(code.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "ok".to_owned());
    state.metrics.graphql_request(operation_name.as_deref(), &outcome, started.elapsed());
    GraphQLResponse::from(response).into_response()
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
    let request = with_request_data(state, principal, request);
    // A use case that wrote has made this process's caches follow before it returned.
    let mut response = state.schema.execute(request).await;
    code_every_error(&mut response);
    response
}

/// Parse and validation errors come from async-graphql without a code: they are always
/// the request's fault.
pub fn code_every_error(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            error.extensions.get_or_insert_with(Default::default).set("code", "BAD_USER_INPUT");
        }
    }
}

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
