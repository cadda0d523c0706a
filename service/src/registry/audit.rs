//! The audit trail for use cases: recording a change inside the transaction that makes
//! it, recording a refused attempt, and reading the trail with the reader's rights.
//!
//! A use case describes its change as a [`Change`] and calls [`record`] just before it
//! commits; it wraps its work in [`guard`] so that a `FORBIDDEN` refusal is recorded as
//! a denied attempt (in a transaction of its own, since the refused change writes
//! nothing).

use std::collections::BTreeSet;
use std::future::Future;

use chrono::Utc;
use sea_orm::ConnectionTrait;
use serde_json::Value;

use super::{RegistryError, require_reader};
use crate::domain::Principal;
use crate::domain::audit::{
    AuditAction, AuditActor, AuditEvent, AuditOutcome, AuditRecord, NewAuditEvent, Subject, SubjectType,
};
use crate::storage::audit::{self as trail, AuditQuery};
use crate::storage::{Db, StorageError};

/// A change as the use case that makes it describes it.
#[derive(Debug, Clone)]
pub struct Change {
    action: AuditAction,
    entity_type: SubjectType,
    entity_id: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
    reason: Option<String>,
    subjects: Vec<Subject>,
}

impl Change {
    fn new(action: AuditAction, entity_type: SubjectType, entity_id: Option<String>) -> Self {
        Self { action, entity_type, entity_id, before: None, after: None, reason: None, subjects: Vec::new() }
    }

    /// A change to `entity`.
    pub fn of(action: AuditAction, entity: Subject) -> Self {
        Self::new(action, entity.kind, Some(entity.id))
    }

    /// An attempt to create a record of `kind` (it has no id yet).
    pub fn creating(action: AuditAction, kind: SubjectType) -> Self {
        Self::new(action, kind, None)
    }

    /// The entity's state before the change.
    pub fn before(self, state: Value) -> Self {
        Self { before: Some(state), ..self }
    }

    /// The entity's state after the change; for an attempt, what was asked for.
    pub fn after(self, state: Value) -> Self {
        Self { after: Some(state), ..self }
    }

    /// Why the change was made, as its author said.
    pub fn reason(self, reason: Option<&str>) -> Self {
        Self { reason: reason.map(str::to_owned), ..self }
    }

    /// Another record the change concerns (it shows in that record's history).
    pub fn concerning(mut self, subject: Subject) -> Self {
        self.subjects.push(subject);
        self
    }

    /// A ministry in whose jurisdiction the change falls (it may read the event).
    pub fn in_jurisdiction_of<'a>(mut self, ministries: impl IntoIterator<Item = &'a str>) -> Self {
        self.subjects.extend(ministries.into_iter().map(Subject::ministry));
        self
    }

    fn into_event(self, actor: AuditActor, outcome: AuditOutcome, denial: Option<String>) -> NewAuditEvent {
        let mut subjects: BTreeSet<Subject> = self.subjects.into_iter().collect();
        if let Some(id) = &self.entity_id {
            subjects.insert(Subject::new(self.entity_type, id.clone()));
        }
        // A ministry always sees what it did itself.
        if let Some(ministry) = &actor.ministry {
            subjects.insert(Subject::ministry(ministry));
        }
        NewAuditEvent {
            record: AuditRecord {
                at: Utc::now(),
                actor,
                action: self.action,
                entity_type: self.entity_type,
                entity_id: self.entity_id,
                before: self.before,
                after: self.after,
                reason: self.reason,
                outcome,
                denial,
            },
            subjects,
        }
    }
}

/// Records `change`, made by `principal`, inside the write transaction that makes it.
/// Call it last, just before committing.
pub async fn record(
    txn: &impl ConnectionTrait,
    principal: &Principal,
    change: Change,
) -> Result<AuditEvent, RegistryError> {
    let actor = AuditActor::of(principal)
        .ok_or_else(|| RegistryError::Unauthenticated("changes need a bearer token".to_owned()))?;
    let event = change.into_event(actor, AuditOutcome::Succeeded, None);
    let id = trail::append(txn, &event).await?;
    Ok(AuditEvent { id, record: event.record })
}

/// Runs `work`; when it is refused as `FORBIDDEN`, records the attempt (`attempt`
/// describes it) as denied before passing the refusal on.
pub async fn guard<T>(
    db: &Db,
    principal: &Principal,
    attempt: impl FnOnce() -> Change,
    work: impl Future<Output = Result<T, RegistryError>>,
) -> Result<T, RegistryError> {
    let result = work.await;
    // Only authenticated callers are ever refused as FORBIDDEN, so there is an actor.
    if let (Err(RegistryError::Forbidden(message)), Some(actor)) = (&result, AuditActor::of(principal)) {
        let event = attempt().into_event(actor, AuditOutcome::Denied, Some(message.clone()));
        if let Err(e) = append_alone(db, &event).await {
            // The refusal stands either way; a lost denial record is an operational problem.
            let record = &event.record;
            tracing::error!(error = %e, action = %record.action, actor = %record.actor.id, "could not record a denied attempt");
        }
    }
    result
}

async fn append_alone(db: &Db, event: &NewAuditEvent) -> Result<(), StorageError> {
    let txn = db.begin_write().await?;
    trail::append(&txn, event).await?;
    txn.commit().await?;
    Ok(())
}

/// Narrows a reading of the trail to what `principal` may read: everything for admins
/// and readers, the events in its jurisdiction for a ministry.
fn readable(principal: &Principal, mut query: AuditQuery) -> Result<AuditQuery, RegistryError> {
    require_reader(principal)?;
    query.ministry = principal.acting_ministry().map(str::to_owned);
    Ok(query)
}

/// One page of the trail in id order plus the number of matching events.
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub total_count: u64,
    pub has_next_page: bool,
}

/// Events matching `query` after event `after`, in id order.
pub async fn events(
    db: &Db,
    principal: &Principal,
    query: AuditQuery,
    after: Option<i64>,
    first: u64,
) -> Result<AuditPage, RegistryError> {
    let query = readable(principal, query)?;
    let mut events = trail::page(&db.conn, &query, after, Some(first + 1)).await?;
    let has_next_page = events.len() as u64 > first;
    events.truncate(first as usize);
    let total_count = trail::count(&db.conn, &query).await?;
    Ok(AuditPage { events, total_count, has_next_page })
}

/// Every event concerning one record, oldest first.
pub async fn history(db: &Db, principal: &Principal, subject: Subject) -> Result<Vec<AuditEvent>, RegistryError> {
    let query = readable(principal, AuditQuery { subject: Some(subject), ..AuditQuery::default() })?;
    Ok(trail::page(&db.conn, &query, None, None).await?)
}
