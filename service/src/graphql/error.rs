//! The one place where errors become GraphQL errors with an `extensions.code`.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql converts any
//! `Display` error into a client-visible message, so without it the only way out of a
//! resolver is through the explicit mapping below, and no SQL text can leak.

use crate::auth::AuthError;
use crate::storage::{ConflictKind, StorageError};

/// An error as the API reports it: a code from the public contract and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    BadUserInput(String),
    NotFound(String),
    Conflict(String),
    QueryTooComplex(String),
    /// Details are logged, never sent.
    Internal,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::QueryTooComplex(_) => "QUERY_TOO_COMPLEX",
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
            | ApiError::QueryTooComplex(m) => m,
            ApiError::Internal => "internal error",
        }
    }

    /// Logs an unexpected failure and hides it from the client.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        use async_graphql::ErrorExtensions;
        async_graphql::Error::new(error.message()).extend_with(|_, ext| ext.set("code", code))
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match &error {
            StorageError::Conflict(ConflictKind::Unique) => {
                ApiError::Conflict("a record with the same key exists".into())
            }
            StorageError::Conflict(ConflictKind::OverlappingPeriod) => {
                ApiError::Conflict("the period overlaps an existing designation".into())
            }
            StorageError::InUse(message) => ApiError::Conflict(message.clone()),
            _ => ApiError::internal(&error),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Storage(e) => e.into(),
            other => ApiError::Unauthenticated(other.to_string()),
        }
    }
}
