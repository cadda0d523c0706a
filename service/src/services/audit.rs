//! The audit trail for use cases: recording a change inside the transaction that makes
//! it, recording a refused attempt, and reading the trail with the reader's rights.
//!
//! A use case describes its change as a [`Change`] built from the records it changed
//! (an operator; a designation *with its operator*; the reference data; a token), and
//! calls [`record`] just before it commits. The change's effects — what the read models
//! must follow — are derived from those records here, so a use case cannot record a
//! change without them. Work is wrapped in [`guard`] so that a `FORBIDDEN` refusal is
//! recorded as a denied attempt (in a transaction of its own, since the refused change
//! writes nothing).

use std::future::Future;

use chrono::Utc;
use sea_orm::ConnectionTrait;
use serde_json::Value;

use super::{ServiceError, Services, authorize};
use crate::domain::audit::{
    AuditAction, AuditActor, AuditEvent, AuditOutcome, AuditQuery, AuditRecord, Effects, NewAuditEvent, Subject,
    SubjectType, Subjects,
};
use crate::domain::authorization::Operation;
use crate::domain::designation::Designation;
use crate::domain::operator::Operator;
use crate::domain::special_operator::SpecialPeriod;
use crate::domain::token::ApiToken;
use crate::domain::{CorporateNumber, Principal};
use crate::storage::audit as trail;
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
    subjects: Subjects,
    effects: Effects,
}

impl Change {
    fn new(action: AuditAction, entity_type: SubjectType, entity_id: Option<String>) -> Self {
        Self {
            action,
            entity_type,
            entity_id,
            before: None,
            after: None,
            reason: None,
            subjects: Subjects::default(),
            effects: Effects::default(),
        }
    }

    /// A change to an operator's own record.
    pub fn to_operator(action: AuditAction, operator: &Operator) -> Self {
        Self::new(action, SubjectType::Operator, Some(operator.corporate_number.to_string())).and_operator(operator)
    }

    /// A change to one designation of `operator`: it concerns the operator too, falls in
    /// the designating ministry's jurisdiction, and changes what the operator's status is.
    pub fn to_designation(action: AuditAction, designation: &Designation, operator: &Operator) -> Self {
        Self::new(action, SubjectType::Designation, Some(designation.id.to_string()))
            .and_designation(designation, &operator.corporate_number)
    }

    /// A change to the reference data: `entity` is the crosswalk pair curated, or the
    /// seed-data source loaded.
    pub fn to_reference_data(action: AuditAction, entity: Subject) -> Self {
        let mut change = Self::new(action, entity.kind, Some(entity.id));
        change.effects.reference_data = true;
        change
    }

    /// A change to one 特別社会基盤事業者 period of `operator`: like a designation's, it
    /// concerns the operator, falls in the recording ministry's jurisdiction, and changes
    /// what the operator's obligations are.
    pub fn to_special_period(action: AuditAction, period: &SpecialPeriod, operator: &Operator) -> Self {
        let mut change = Self::new(action, SubjectType::SpecialOperatorPeriod, Some(period.id.to_string()));
        change.subjects.add_operator(operator.corporate_number);
        change.subjects.insert(Subject::ministry(&period.ministry));
        change.effects.operators.insert(operator.corporate_number);
        change
    }

    /// A change to a scope revision proposal that leaves the live data as it is
    /// (drafting, withdrawing): no cache has anything to follow.
    pub fn to_proposal(action: AuditAction, id: uuid::Uuid) -> Self {
        Self::new(action, SubjectType::ScopeProposal, Some(id.to_string()))
    }

    /// A change to a token's record.
    pub fn to_token(action: AuditAction, token: &ApiToken) -> Self {
        let mut change = Self::new(action, SubjectType::Token, Some(token.id.to_string()));
        change.effects.tokens.insert(token.id);
        change.in_jurisdiction_of(token.ministry.as_deref())
    }

    /// A bulk import; name what it created with [`Change::and_operator`] and
    /// [`Change::and_designation`].
    pub fn import() -> Self {
        Self::new(AuditAction::ImportDesignations, SubjectType::Import, None)
    }

    /// An attempt, as asked for, to be recorded only when it is refused ([`guard`]):
    /// `entity` is what it names (as typed), or None when it would have created a record.
    pub fn attempt(action: AuditAction, kind: SubjectType, entity: Option<String>, asked: Value) -> Self {
        Self::new(action, kind, entity).after(asked)
    }

    /// Another operator whose record the change changed too.
    pub fn and_operator(mut self, operator: &Operator) -> Self {
        self.subjects.add_operator(operator.corporate_number);
        self.effects.operators.insert(operator.corporate_number);
        self
    }

    /// Another designation the change changed (of the operator `operator`).
    pub fn and_designation(mut self, designation: &Designation, operator: &CorporateNumber) -> Self {
        self.subjects.add_designation(designation.id);
        self.subjects.add_operator(*operator);
        self.subjects.insert(Subject::ministry(&designation.ministry));
        self.effects.operators.insert(*operator);
        self
    }

    /// A record the change refers to without changing it (a successor named in a
    /// closing; the operator an attempt names): it shows in that record's history.
    pub fn mentioning(mut self, subject: Subject) -> Self {
        self.subjects.insert(subject);
        self
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

    /// A ministry in whose jurisdiction the change falls (it may read the event).
    pub fn in_jurisdiction_of<'a>(mut self, ministries: impl IntoIterator<Item = &'a str>) -> Self {
        for ministry in ministries {
            self.subjects.insert(Subject::ministry(ministry));
        }
        self
    }

    fn into_event(self, actor: AuditActor, outcome: AuditOutcome, denial: Option<String>) -> NewAuditEvent {
        let mut subjects = self.subjects;
        if let Some(id) = &self.entity_id {
            subjects.insert(Subject::new(self.entity_type, id.clone()));
        }
        // A ministry always sees what it did itself.
        if let Some(ministry) = &actor.ministry {
            subjects.insert(Subject::ministry(ministry));
        }
        // A refused attempt changed nothing.
        let effects = if outcome == AuditOutcome::Succeeded { self.effects } else { Effects::default() };
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
            effects,
        }
    }
}

/// A change recorded inside a transaction not yet committed: commit it with
/// [`Services::commit`].
#[derive(Debug)]
pub struct Recorded {
    pub event: AuditEvent,
    pub effects: Effects,
}

/// Records `change`, made by `principal`, inside the write transaction that makes it.
/// Call it last, just before committing.
pub async fn record(
    txn: &impl ConnectionTrait,
    principal: &Principal,
    change: Change,
) -> Result<Recorded, ServiceError> {
    let actor = AuditActor::of(principal)
        .ok_or_else(|| ServiceError::Unauthenticated("changes need a bearer token".to_owned()))?;
    // The event's time is drawn once appends are ordered, so times increase with ids.
    trail::order_appends(txn).await?;
    let event = change.into_event(actor, AuditOutcome::Succeeded, None);
    let id = trail::append(txn, &event).await?;
    Ok(Recorded { event: AuditEvent { id, record: event.record }, effects: event.effects })
}

/// Runs `work`; when it is refused as `FORBIDDEN`, records the attempt (`attempt`
/// describes it) as denied before passing the refusal on.
pub async fn guard<T>(
    services: &Services,
    principal: &Principal,
    attempt: impl FnOnce() -> Change,
    work: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    let result = work.await;
    // Only authenticated callers are ever refused as FORBIDDEN, so there is an actor.
    if let (Err(ServiceError::Forbidden(message)), Some(actor)) = (&result, AuditActor::of(principal)) {
        let event = attempt().into_event(actor, AuditOutcome::Denied, Some(message.clone()));
        match append_alone(&services.db, &event).await {
            Ok(()) => {
                services.audit_events_written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // It changes no cache, but it is in the trail an answer may show.
                services.read_model().forget_answers();
            }
            Err(e) => {
                // The refusal stands either way; a lost denial record is an operational problem.
                let record = &event.record;
                tracing::error!(error = %e, action = %record.action, actor = %record.actor.id, "could not record a denied attempt");
            }
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
fn readable(principal: &Principal, mut query: AuditQuery) -> Result<AuditQuery, ServiceError> {
    authorize(principal, Operation::ReadAuditTrail)?;
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
    services: &Services,
    principal: &Principal,
    query: AuditQuery,
    after: Option<i64>,
    first: u64,
) -> Result<AuditPage, ServiceError> {
    let query = readable(principal, query)?;
    let conn = &services.db.conn;
    let mut events = trail::page(conn, &query, after, Some(first + 1)).await?;
    let has_next_page = events.len() as u64 > first;
    events.truncate(first as usize);
    let total_count = trail::count(conn, &query).await?;
    Ok(AuditPage { events, total_count, has_next_page })
}

/// Every event concerning one record, oldest first.
pub async fn history(
    services: &Services,
    principal: &Principal,
    subject: Subject,
) -> Result<Vec<AuditEvent>, ServiceError> {
    let query = readable(principal, AuditQuery { subject: Some(subject), ..AuditQuery::default() })?;
    Ok(trail::page(&services.db.conn, &query, None, None).await?)
}
