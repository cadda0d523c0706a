//! Requests refused before GraphQL runs (too large, not JSON, too many, too slow):
//! a 4xx or 5xx status with the body shape of a GraphQL error, so that clients parse
//! one shape. `extensions.code` stays within the public contract's codes;
//! `extensions.reason` says precisely what happened.

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
            Reason::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Reason::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Reason::NotFound => StatusCode::NOT_FOUND,
            Reason::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The public contract's code closest to the reason.
    fn code(self) -> &'static str {
        match self {
            Reason::RateLimited => "FORBIDDEN",
            Reason::Timeout => "INTERNAL",
            Reason::NotFound => "NOT_FOUND",
            _ => "BAD_USER_INPUT",
        }
    }
}

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
        let body = json!({
            "errors": [{
                "message": self.message,
                "extensions": { "code": self.reason.code(), "reason": self.reason.as_str() },
            }],
        });
        let mut response = (self.reason.status(), Json(body)).into_response();
        if let Some(after) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs()));
        }
        response
    }
}

/// A GraphQL-shaped error for the whole request (no data), e.g. for a bad token.
pub fn request_error(error: &ApiError) -> Response {
    let body = json!({
        "data": null,
        "errors": [{ "message": error.message(), "extensions": { "code": error.code() } }],
    });
    let mut response = (StatusCode::OK, Json(body)).into_response();
    if matches!(error, ApiError::Unauthenticated(_)) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
