//! The one place where errors become API errors with an `extensions.code` (GraphQL
//! answers and every other HTTP answer alike, see `http::error`).
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql converts any
//! `Display` error into a client-visible message, so without it the only way out of a
//! resolver is through the explicit mapping below, and no SQL text can leak.

use crate::services::ServiceError;

/// An error as the API reports it: a code from the public contract and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    BadUserInput(String),
    NotFound(String),
    Conflict(String),
    QueryTooComplex(String),
    /// Too many requests; the client may come back after the given seconds.
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// The database cannot be reached in time; safe to retry after the given seconds.
    Unavailable {
        retry_after_secs: u64,
    },
    /// Details are logged, never sent.
    Internal,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// When a client should retry after the database was unavailable.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::QueryTooComplex(_) => "QUERY_TOO_COMPLEX",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::Unavailable { .. } => "UNAVAILABLE",
            ApiError::Internal => "INTERNAL",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::BadUserInput(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::QueryTooComplex(m)
            | ApiError::RateLimited { message: m, .. } => m,
            ApiError::Unavailable { .. } => "the database cannot be reached right now; retry later",
            ApiError::Internal => "internal error",
        }
    }

    /// Seconds after which a retry may succeed (rate limits, an unavailable database).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_secs, .. } | ApiError::Unavailable { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    /// Logs an unexpected failure and hides it from the client.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %ErrorChain(cause), "internal error");
        ApiError::Internal
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }
}

/// An error with its causes, for the log: "outer: inner: innermost".
struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        use async_graphql::ErrorExtensions;
        async_graphql::Error::new(error.message()).extend_with(|_, ext| ext.set("code", code))
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Unauthenticated(m) => ApiError::Unauthenticated(m),
            ServiceError::Forbidden(m) => ApiError::Forbidden(m),
            ServiceError::Invalid(m) => ApiError::BadUserInput(m),
            ServiceError::NotFound(m) => ApiError::NotFound(m),
            ServiceError::Conflict(m) => ApiError::Conflict(m),
            // `with_retry` turns collisions into conflicts; one that escapes it is a fault.
            ServiceError::Collided => ApiError::internal(&error),
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %ErrorChain(&cause), "the database is unavailable");
                ApiError::Unavailable { retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS }
            }
            ServiceError::Internal(ref cause) => ApiError::internal(cause.as_ref()),
        }
    }
}
