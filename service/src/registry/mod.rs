//! Application services: the registry's use cases (register, designate, revoke, correct,
//! close, look up, list, report, curate, manage tokens). They check who may act, apply
//! the domain rules and run the storage calls in one transaction, which also records the
//! change in the audit trail. GraphQL, the CLI and imports all go through here.

pub mod audit;
pub mod crosswalk;
pub mod demo;
pub mod designations;
pub mod export;
pub mod generate;
pub mod import;
pub mod index;
pub mod operators;
pub mod overlap;
pub mod reference;
pub mod subscriptions;
pub mod tokens;

use crate::domain::designation::RuleViolation;
use crate::domain::text::TextError;
use crate::domain::{CorporateNumber, Principal};
use crate::storage::StorageError;

/// Why a use case failed, in terms the API maps to error codes.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<RuleViolation> for RegistryError {
    fn from(violation: RuleViolation) -> Self {
        match violation {
            RuleViolation::Invalid(message) => RegistryError::Invalid(message),
            RuleViolation::Forbidden(message) => RegistryError::Forbidden(message),
        }
    }
}

impl From<TextError> for RegistryError {
    fn from(error: TextError) -> Self {
        RegistryError::Invalid(error.to_string())
    }
}

/// How often a write transaction is attempted when the database aborts it because of a
/// concurrent one.
const WRITE_ATTEMPTS: usize = 3;

/// Runs a write transaction, again when it collided with a concurrent one (PostgreSQL
/// may abort one of two concurrent inserts checked by the exclusion constraint with a
/// deadlock instead of a violation; the retry then sees the committed row).
pub async fn with_retry<T, F, Fut>(mut attempt: F) -> Result<T, RegistryError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RegistryError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(RegistryError::Storage(StorageError::Transient)) if tries < WRITE_ATTEMPTS => tries += 1,
            Err(RegistryError::Storage(StorageError::Transient)) => {
                return Err(RegistryError::Conflict("a concurrent change collided with this one; retry".into()));
            }
            other => return other,
        }
    }
}

/// Operator data needs a token (any role).
pub fn require_reader(principal: &Principal) -> Result<(), RegistryError> {
    if principal.is_authenticated() {
        Ok(())
    } else {
        Err(RegistryError::Unauthenticated("operator data needs a bearer token".into()))
    }
}

/// Changes need an admin or ministry token.
pub fn require_writer(principal: &Principal) -> Result<(), RegistryError> {
    require_reader(principal)?;
    if principal.can_write() {
        Ok(())
    } else {
        Err(RegistryError::Forbidden("a reader token cannot change the registry".into()))
    }
}

/// Administrators only (admin tokens and the command line).
pub fn require_admin(principal: &Principal, what: &str) -> Result<(), RegistryError> {
    require_reader(principal)?;
    if principal.is_admin() {
        Ok(())
    } else {
        Err(RegistryError::Forbidden(format!("only an administrator may {what}")))
    }
}

/// Refuses a change made against a version that is no longer current (lost-update
/// protection: the caller read `expected`, somebody else changed it since).
pub fn check_version(what: &str, current: i32, expected: i32) -> Result<(), RegistryError> {
    if current == expected {
        Ok(())
    } else {
        Err(RegistryError::Conflict(format!(
            "{what} is at version {current}, not {expected}: it changed since it was read; reload it and retry"
        )))
    }
}

/// The refusal when a conditional write found the record changed under it.
pub fn changed_concurrently(what: &str) -> RegistryError {
    RegistryError::Conflict(format!("{what} was changed concurrently; reload it and retry"))
}

/// Parses a corporate number from user input, saying what is wrong.
pub fn parse_corporate_number(input: &str) -> Result<CorporateNumber, RegistryError> {
    CorporateNumber::parse(input).map_err(|e| RegistryError::Invalid(e.to_string()))
}
