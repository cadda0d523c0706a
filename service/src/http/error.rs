//! Every error answer over HTTP, in one body shape — that of a GraphQL error,
//! `{"errors": [{"message", "extensions": {"code", "reason"?}}]}` — so that clients parse
//! one shape: requests refused before GraphQL runs (too large, not JSON, too many, too
//! slow), requests refused as a whole (a bad token, an unavailable database), and the
//! errors of the other endpoints (exports). `extensions.code` stays within the public
//! contract's codes; `extensions.reason`, where present, says precisely what happened.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::graphql::ApiError;

/// Why a request was refused at the HTTP level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidUtf8,
    MalformedJson,
    InvalidRequest,
    BatchNotSupported,
    UnreadableBody,
    RateLimited,
    TooManyConnections,
    TooManyLargeBodies,
    ForbiddenOrigin,
    Timeout,
    NotFound,
    MethodNotAllowed,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Reason::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Reason::InvalidUtf8 => "INVALID_UTF8",
            Reason::MalformedJson => "MALFORMED_JSON",
            Reason::InvalidRequest => "INVALID_REQUEST",
            Reason::BatchNotSupported => "BATCH_NOT_SUPPORTED",
            Reason::UnreadableBody => "UNREADABLE_BODY",
            Reason::RateLimited => "RATE_LIMITED",
            Reason::TooManyConnections => "TOO_MANY_CONNECTIONS",
            Reason::TooManyLargeBodies => "TOO_MANY_LARGE_BODIES",
            Reason::ForbiddenOrigin => "FORBIDDEN_ORIGIN",
            Reason::Timeout => "TIMEOUT",
            Reason::NotFound => "NOT_FOUND",
            Reason::MethodNotAllowed => "METHOD_NOT_ALLOWED",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Reason::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Reason::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Reason::InvalidUtf8
            | Reason::MalformedJson
            | Reason::InvalidRequest
            | Reason::BatchNotSupported
            | Reason::UnreadableBody => StatusCode::BAD_REQUEST,
            Reason::RateLimited | Reason::TooManyConnections | Reason::TooManyLargeBodies => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Reason::ForbiddenOrigin => StatusCode::FORBIDDEN,
            Reason::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Reason::NotFound => StatusCode::NOT_FOUND,
            Reason::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The public contract's code closest to the reason.
    fn code(self) -> &'static str {
        match self {
            Reason::RateLimited | Reason::TooManyConnections | Reason::TooManyLargeBodies => "RATE_LIMITED",
            Reason::ForbiddenOrigin => "FORBIDDEN",
            Reason::Timeout => "INTERNAL",
            Reason::NotFound => "NOT_FOUND",
            _ => "BAD_USER_INPUT",
        }
    }
}

/// When a client refused for too many connections should try again.
pub const TOO_MANY_CONNECTIONS_RETRY_AFTER_SECS: u64 = 10;

/// A refused request: its reason, a message for people and, for rate limits, when to
/// come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: Reason,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl Rejection {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self { reason, message: message.into(), retry_after: None }
    }

    /// Too many large bodies (imports) being read at once: come back shortly.
    pub fn too_many_large_bodies() -> Self {
        Self {
            reason: Reason::TooManyLargeBodies,
            message: "too many large requests are being read right now; retry shortly".into(),
            retry_after: Some(Duration::from_secs(2)),
        }
    }

    /// Too many WebSocket connections open: come back after a while.
    pub fn too_many_connections(message: String) -> Self {
        Self {
            reason: Reason::TooManyConnections,
            message,
            retry_after: Some(Duration::from_secs(TOO_MANY_CONNECTIONS_RETRY_AFTER_SECS)),
        }
    }

    pub fn rate_limited(retry_after: Duration) -> Self {
        // Whole seconds, rounded up: "Retry-After: 0" would invite an immediate retry.
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self {
            reason: Reason::RateLimited,
            message: format!("too many requests; retry in {seconds} s"),
            retry_after: Some(Duration::from_secs(seconds.max(1))),
        }
    }

    /// The outcome label of the request metrics.
    pub fn outcome(&self) -> &'static str {
        self.reason.as_str()
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let reason = self.reason;
        let body = error_body(&self.message, reason.code(), Some(reason.as_str()));
        respond(reason.status(), body, self.retry_after.map(|after| after.as_secs()))
    }
}

/// `{"errors": [{"message", "extensions": {"code", "reason"?}}]}`.
fn error_body(message: &str, code: &str, reason: Option<&str>) -> serde_json::Value {
    let mut extensions = json!({ "code": code });
    if let Some(reason) = reason {
        extensions["reason"] = json!(reason);
    }
    json!({ "errors": [{ "message": message, "extensions": extensions }] })
}

fn respond(status: StatusCode, body: serde_json::Value, retry_after_secs: Option<u64>) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Some(after) = retry_after_secs {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(after));
    }
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// The HTTP status an API error is answered with outside GraphQL (where the answer is
/// the error), and for GraphQL requests refused as a whole when it is a 429 or 503.
fn status_of(error: &ApiError) -> StatusCode {
    match error {
        ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::BadUserInput(_) | ApiError::QueryTooComplex(_) => StatusCode::BAD_REQUEST,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Conflict(_) => StatusCode::CONFLICT,
        ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The answer of an endpoint other than GraphQL (an export) that failed.
pub fn endpoint_error(error: &ApiError) -> Response {
    respond(status_of(error), error_body(error.message(), error.code(), None), error.retry_after_secs())
}

/// A GraphQL request refused as a whole (a bad token, the database away), as GraphQL
/// over HTTP answers it: `data: null` and the error, with status 200 — or 429 / 503 with
/// `Retry-After` when the client should come back later.
pub fn request_error(error: &ApiError) -> Response {
    let mut body = error_body(error.message(), error.code(), None);
    body["data"] = serde_json::Value::Null;
    let status = match status_of(error) {
        status @ (StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) => status,
        _ => StatusCode::OK,
    };
    let mut response = respond(status, body, error.retry_after_secs());
    if matches!(error, ApiError::Unauthenticated(_)) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
