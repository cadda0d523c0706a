//! Use cases: everything the registry does, for GraphQL, the command line and imports
//! alike (register, designate, revoke, correct, close, look up, list, report, curate,
//! load reference data, manage and verify tokens, import, export, subscribe). Each
//! checks who may act, lets the domain decide the new state, runs the storage calls in
//! one transaction that also records the change with its effects ([`audit`]), and
//! commits through [`Services::commit`], which makes this process's caches follow the
//! change before the use case returns.

pub mod audit;
pub mod authentication;
pub mod changes;
pub mod crosswalk;
pub mod demo;
pub mod designations;
pub mod export;
pub mod generate;
pub mod import;
pub mod nta_sync;
pub mod operators;
pub mod overlap;
pub mod proposals;
pub mod record_time;
pub mod reference;
pub mod special_operators;
pub mod subscriptions;
pub mod tokens;
pub mod workbook;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::DatabaseTransaction;

use self::audit::Recorded;
use crate::domain::audit::AuditEvent;
use crate::domain::authorization::{self, Operation, Refusal};
use crate::domain::designation::RuleViolation;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::text::TextError;
use crate::domain::{CorporateNumber, Principal};
use crate::read_model::ReadModel;
use crate::storage::{ConflictKind, Db, StorageError};

/// Why a use case failed, in terms the API maps to error codes.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
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
    /// The transaction collided with a concurrent one; [`with_retry`] runs it again.
    #[error("the transaction collided with a concurrent one")]
    Collided,
    /// The database could not be reached in time: the caller may retry later.
    #[error("the database is unavailable")]
    Unavailable(#[source] StorageError),
    /// Anything else: a fault, never the caller's (the cause is logged, never sent).
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    /// A fault with this cause.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ServiceError::Internal(cause.into())
    }
}

impl From<StorageError> for ServiceError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Conflict(ConflictKind::Unique) => {
                ServiceError::Conflict("a record with the same key exists".into())
            }
            StorageError::Conflict(ConflictKind::OverlappingPeriod) => {
                ServiceError::Conflict("the period overlaps an existing designation".into())
            }
            StorageError::InUse(message) => ServiceError::Conflict(message),
            StorageError::Transient => ServiceError::Collided,
            StorageError::Connect(_) => ServiceError::Unavailable(error),
            other => ServiceError::internal(other),
        }
    }
}

impl From<RuleViolation> for ServiceError {
    fn from(violation: RuleViolation) -> Self {
        match violation {
            RuleViolation::Invalid(message) => ServiceError::Invalid(message),
            RuleViolation::Forbidden(message) => ServiceError::Forbidden(message),
            RuleViolation::Conflict(message) => ServiceError::Conflict(message),
        }
    }
}

impl From<TextError> for ServiceError {
    fn from(error: TextError) -> Self {
        ServiceError::Invalid(error.to_string())
    }
}

/// What every use case works with: the database and this process's read model.
pub struct Services {
    db: Db,
    read: ReadModel,
    /// Audit events this process recorded (committed changes and denied attempts).
    audit_events_written: AtomicU64,
}

impl Services {
    pub fn new(db: Db, read: ReadModel) -> Arc<Self> {
        Arc::new(Self { db, read, audit_events_written: AtomicU64::new(0) })
    }

    pub fn audit_events_written(&self) -> u64 {
        self.audit_events_written.load(Ordering::Relaxed)
    }

    pub fn read_model(&self) -> &ReadModel {
        &self.read
    }

    /// The current reference snapshot.
    pub fn snapshot(&self) -> Arc<ReferenceSnapshot> {
        self.read.snapshot()
    }

    /// The database (start-up, readiness and metrics use it; use cases go through here).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Commits a write transaction in which `recorded` was recorded, then makes this
    /// process's caches follow the change. Once the commit succeeded the change stands:
    /// nothing after it can fail the use case (a cache that cannot follow now is
    /// recovered by the read model, and logged).
    async fn commit(&self, txn: DatabaseTransaction, recorded: Recorded) -> Result<AuditEvent, ServiceError> {
        let mut events = self.commit_all(txn, vec![recorded]).await?;
        events.pop().ok_or_else(|| ServiceError::internal("a committed change without its event"))
    }

    /// [`Services::commit`] for a transaction that recorded several changes, one event
    /// each (a corporate-number sync renames and closes many operators at once).
    async fn commit_all(
        &self,
        txn: DatabaseTransaction,
        recorded: Vec<Recorded>,
    ) -> Result<Vec<AuditEvent>, ServiceError> {
        txn.commit().await.map_err(StorageError::from)?;
        self.audit_events_written.fetch_add(recorded.len() as u64, Ordering::Relaxed);
        let mut events = Vec::with_capacity(recorded.len());
        for Recorded { event, effects } in recorded {
            self.read.committed(event.id, &effects).await;
            events.push(event);
        }
        Ok(events)
    }
}

/// How often a write transaction is attempted when the database aborts it because of a
/// concurrent one.
const WRITE_ATTEMPTS: usize = 3;

/// Runs a write transaction, again when it collided with a concurrent one (PostgreSQL
/// may abort one of two concurrent inserts checked by the exclusion constraint with a
/// deadlock instead of a violation; the retry then sees the committed row). Every write
/// use case runs its transaction through here.
pub async fn with_retry<T, F, Fut>(mut attempt: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(ServiceError::Collided) if tries < WRITE_ATTEMPTS => tries += 1,
            Err(ServiceError::Collided) => {
                return Err(ServiceError::Conflict("a concurrent change collided with this one; retry".into()));
            }
            other => return other,
        }
    }
}

/// Whether `principal` may run `operation` at all (the authorization matrix,
/// `domain::authorization`); what confines a ministry within it is the operation's own
/// rule.
pub fn authorize(principal: &Principal, operation: Operation) -> Result<(), ServiceError> {
    authorization::authorize(principal, operation).map_err(|refusal| match refusal {
        Refusal::Unauthenticated(message) => ServiceError::Unauthenticated(message),
        Refusal::Forbidden(message) => ServiceError::Forbidden(message),
    })
}

/// Refuses a change made against a version that is no longer current (lost-update
/// protection: the caller read `expected`, somebody else changed it since).
pub fn check_version(what: &str, current: i32, expected: i32) -> Result<(), ServiceError> {
    if current == expected {
        Ok(())
    } else {
        Err(ServiceError::Conflict(format!(
            "{what} is at version {current}, not {expected}: it changed since it was read; reload it and retry"
        )))
    }
}

/// The refusal when a conditional write found the record changed under it.
pub fn changed_concurrently(what: &str) -> ServiceError {
    ServiceError::Conflict(format!("{what} was changed concurrently; reload it and retry"))
}

/// Parses a corporate number from user input, saying what is wrong.
pub fn parse_corporate_number(input: &str) -> Result<CorporateNumber, ServiceError> {
    CorporateNumber::parse(input).map_err(|e| ServiceError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::audit::AuditAction;
    use crate::storage::{PoolSettings, operators as stored_operators};

    async fn instance(url: &str) -> Arc<Services> {
        let db = Db::connect(url, &PoolSettings::default(), true).await.expect("open");
        db.migrate().await.expect("migrate");
        Services::new(db.clone(), ReadModel::on_one_pool(&db).await.expect("read model"))
    }

    /// A use case nobody has written yet — it renames an operator through storage
    /// directly — records its change like any other, and the caches follow with no
    /// wiring of its own: this instance's index at once, another instance's (another
    /// process on the same database file) through the change feed.
    #[tokio::test]
    async fn the_caches_follow_a_new_use_case_without_wiring() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("coherence.db").display());
        let here = instance(&url).await;
        let elsewhere = instance(&url).await;
        let admin = Principal::Cli { user: "test".into(), ministry: None };
        let new = operators::NewOperator {
            corporate_number: "7000012050002".into(),
            name_ja: "旧名株式会社".into(),
            name_en: None,
        };
        let number = operators::register(&here, &admin, new).await.expect("registered").corporate_number;
        for services in [&here, &elsewhere] {
            services.read.settle().await;
            services.read.index().load_all().await.expect("index loaded");
            let held = services.read.index().get(number).await.expect("read").expect("held");
            assert_eq!(held.operator.name_ja, "旧名株式会社");
        }

        let renamed = with_retry(|| async {
            let txn = here.db.begin_write().await?;
            let current = stored_operators::find_by_corporate_number(&txn, &number).await?.expect("registered");
            let renamed = current.renamed(Some("新名株式会社".into()), None, Utc::now()).expect("a new name");
            stored_operators::update_names(&txn, &renamed, current.version).await?;
            let change = audit::Change::to_operator(AuditAction::UpdateOperator, &renamed);
            let recorded = audit::record(&txn, &admin, change).await?;
            here.commit(txn, recorded).await?;
            Ok(renamed)
        })
        .await
        .expect("renamed");

        let read_here = here.read.index().get(number).await.expect("read").expect("held");
        assert_eq!(read_here.operator.name_ja, renamed.name_ja, "this instance follows at once");
        elsewhere.read.settle().await;
        let read_elsewhere = elsewhere.read.index().get(number).await.expect("read").expect("held");
        assert_eq!(read_elsewhere.operator.name_ja, renamed.name_ja, "another instance follows through the feed");
    }
}
