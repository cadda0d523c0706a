//! The audit trail in the database: appending events (inside the caller's transaction)
//! and reading them back. Nothing here updates or deletes an event; the database's
//! triggers would refuse it anyway.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};

use super::entities::{audit_event, audit_event_effect, audit_event_subject};
use super::{StorageError, corrupt};
use crate::domain::CorporateNumber;
use crate::domain::audit::{
    ActorKind, AuditAction, AuditActor, AuditEvent, AuditOutcome, AuditQuery, AuditRecord, EffectKind, Effects,
    NewAuditEvent, Subject, SubjectType,
};

/// The PostgreSQL channel on which every appending transaction notifies (delivered at
/// commit, so nothing is announced that did not commit).
pub const PG_CHANGE_CHANNEL: &str = "scope_registry_changes";

/// The PostgreSQL advisory lock that orders appending transactions (any fixed number
/// that nothing else uses; these are the bytes of "scopeaud").
const PG_APPEND_LOCK: i64 = 0x7363_6f70_6561_7564;

/// Appends one event and its subjects, inside the caller's write transaction, and
/// returns its id.
///
/// Ids increase in commit order, so that a reader who saw event N can ask for the
/// events after N and miss none: SQLite runs one writer at a time, and on PostgreSQL
/// every appending transaction takes a transaction-scoped advisory lock first, so that
/// the next one draws its id only after this one has committed. Append last, just before
/// committing, to keep that lock short.
pub async fn append(conn: &impl ConnectionTrait, event: &NewAuditEvent) -> Result<i64, StorageError> {
    order_appends(conn).await?;
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [PG_CHANGE_CHANNEL.into()],
        ))
        .await?;
    }
    let (event, subjects, effects) = (&event.record, &event.subjects, &event.effects);
    let actor = &event.actor;
    let row = audit_event::ActiveModel {
        id: NotSet,
        at: Set(event.at),
        actor: Set(actor.id.clone()),
        actor_kind: Set(actor.kind.as_str().to_owned()),
        token_id: Set(actor.token_id),
        actor_label: Set(actor.label.clone()),
        actor_role: Set(actor.role.map(|r| r.as_str().to_owned())),
        actor_ministry: Set(actor.ministry.clone()),
        action: Set(event.action.as_str().to_owned()),
        entity_type: Set(event.entity_type.as_str().to_owned()),
        entity_id: Set(event.entity_id.clone()),
        before: Set(event.before.clone()),
        after: Set(event.after.clone()),
        reason: Set(event.reason.clone()),
        outcome: Set(event.outcome.as_str().to_owned()),
        denial: Set(event.denial.clone()),
    };
    let id = audit_event::Entity::insert(row).exec(conn).await?.last_insert_id;
    // An import concerns every record it created: insert them in chunks that stay under
    // the databases' bound-parameter limits.
    // (spelled out one chunk at a time: an import's subjects and effects are millions).
    let mut subjects = subjects.iter().peekable();
    while subjects.peek().is_some() {
        let rows = subjects.by_ref().take(super::operators::INSERT_CHUNK).map(|s| audit_event_subject::ActiveModel {
            event_id: Set(id),
            subject_type: Set(s.kind.as_str().to_owned()),
            subject_id: Set(s.id),
        });
        audit_event_subject::Entity::insert_many(rows.collect::<Vec<_>>()).exec_without_returning(conn).await?;
    }
    let mut effects = effects.rows().peekable();
    while effects.peek().is_some() {
        let rows =
            effects.by_ref().take(super::operators::INSERT_CHUNK).map(|(kind, key)| audit_event_effect::ActiveModel {
                event_id: Set(id),
                effect: Set(kind.as_str().to_owned()),
                subject: Set(key),
            });
        audit_event_effect::Entity::insert_many(rows.collect::<Vec<_>>()).exec_without_returning(conn).await?;
    }
    Ok(id)
}

/// Takes the lock that orders appending transactions (PostgreSQL; SQLite write
/// transactions hold the write lock from their start). Taken again by [`append`]; a
/// caller that draws the event's time after it gets times that increase with ids, which
/// record time (`knownAt`) rests on.
pub async fn order_appends(conn: &impl ConnectionTrait) -> Result<(), StorageError> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [PG_APPEND_LOCK.into()],
        ))
        .await?;
    }
    Ok(())
}

fn parse<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, StorageError> {
    text.parse().map_err(|_| corrupt(what))
}

impl TryFrom<audit_event::Model> for AuditEvent {
    type Error = StorageError;
    fn try_from(m: audit_event::Model) -> Result<Self, StorageError> {
        let record = AuditRecord {
            at: m.at,
            actor: AuditActor {
                id: m.actor,
                kind: parse::<ActorKind>("audit actor kind", &m.actor_kind)?,
                token_id: m.token_id,
                label: m.actor_label,
                role: m.actor_role.as_deref().map(|r| parse("audit actor role", r)).transpose()?,
                ministry: m.actor_ministry,
            },
            action: parse::<AuditAction>("audit action", &m.action)?,
            entity_type: parse::<SubjectType>("audit entity type", &m.entity_type)?,
            entity_id: m.entity_id,
            before: m.before,
            after: m.after,
            reason: m.reason,
            outcome: parse::<AuditOutcome>("audit outcome", &m.outcome)?,
            denial: m.denial,
        };
        Ok(AuditEvent { id: m.id, record })
    }
}

/// `EXISTS (SELECT 1 FROM audit_event_subject WHERE event_id = audit_event.id AND …)`.
fn concerns(subject: &Subject) -> Condition {
    let mut query = Query::select();
    query
        .expr(Expr::val(1))
        .from(audit_event_subject::Entity)
        .and_where(
            Expr::col((audit_event_subject::Entity, audit_event_subject::Column::EventId))
                .equals((audit_event::Entity, audit_event::Column::Id)),
        )
        .and_where(
            Expr::col((audit_event_subject::Entity, audit_event_subject::Column::SubjectType))
                .eq(subject.kind.as_str()),
        )
        .and_where(Expr::col((audit_event_subject::Entity, audit_event_subject::Column::SubjectId)).eq(&subject.id));
    Condition::all().add(Expr::exists(query))
}

fn condition(query: &AuditQuery) -> Condition {
    let mut condition = Condition::all();
    if let Some(kind) = query.entity_type {
        condition = condition.add(audit_event::Column::EntityType.eq(kind.as_str()));
    }
    if let Some(subject) = &query.subject {
        condition = condition.add(concerns(subject));
    }
    if let Some(actor) = &query.actor {
        condition = condition.add(audit_event::Column::Actor.eq(actor.as_str()));
    }
    if let Some(action) = query.action {
        condition = condition.add(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(outcome) = query.outcome {
        condition = condition.add(audit_event::Column::Outcome.eq(outcome.as_str()));
    }
    if let Some(since) = query.since {
        condition = condition.add(audit_event::Column::At.gte(since));
    }
    if let Some(until) = query.until {
        condition = condition.add(audit_event::Column::At.lt(until));
    }
    if let Some(ministry) = &query.ministry {
        condition = condition.add(concerns(&Subject::ministry(ministry)));
    }
    condition
}

/// Events in id order after `after`, at most `limit` of them (all when None).
pub async fn page(
    conn: &impl ConnectionTrait,
    query: &AuditQuery,
    after: Option<i64>,
    limit: Option<u64>,
) -> Result<Vec<AuditEvent>, StorageError> {
    let mut select = audit_event::Entity::find().filter(condition(query));
    if let Some(after) = after {
        select = select.filter(audit_event::Column::Id.gt(after));
    }
    select
        .order_by_asc(audit_event::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(AuditEvent::try_from)
        .collect()
}

pub async fn count(conn: &impl ConnectionTrait, query: &AuditQuery) -> Result<u64, StorageError> {
    Ok(audit_event::Entity::find().filter(condition(query)).count(conn).await?)
}

/// The id of the newest event (0 when there is none).
pub async fn latest_id(conn: &impl ConnectionTrait) -> Result<i64, StorageError> {
    let latest: Option<Option<i64>> = audit_event::Entity::find()
        .select_only()
        .column_as(audit_event::Column::Id.max(), "latest")
        .into_tuple()
        .one(conn)
        .await?;
    Ok(latest.flatten().unwrap_or(0))
}

/// When event `id` was recorded (None: there is no such event).
pub async fn recorded_at(conn: &impl ConnectionTrait, id: i64) -> Result<Option<DateTime<Utc>>, StorageError> {
    Ok(audit_event::Entity::find_by_id(id)
        .select_only()
        .column(audit_event::Column::At)
        .into_tuple::<DateTime<Utc>>()
        .one(conn)
        .await?)
}

/// The operators that events after `after` changed (their effects), or None when the
/// effects name more than `bound` of them.
pub async fn operators_changed_after(
    conn: &impl ConnectionTrait,
    after: i64,
    bound: usize,
) -> Result<Option<BTreeSet<CorporateNumber>>, StorageError> {
    let keys: Vec<String> = audit_event_effect::Entity::find()
        .select_only()
        .column(audit_event_effect::Column::Subject)
        .filter(audit_event_effect::Column::EventId.gt(after))
        .filter(audit_event_effect::Column::Effect.eq(EffectKind::Operator.as_str()))
        .limit(u64::try_from(bound).unwrap_or(u64::MAX).saturating_add(1))
        .into_tuple()
        .all(conn)
        .await?;
    if keys.len() > bound {
        return Ok(None);
    }
    let numbers = keys.iter().map(|key| CorporateNumber::parse(key).map_err(|_| corrupt("audit effect")));
    numbers.collect::<Result<BTreeSet<_>, _>>().map(Some)
}

/// The subjects of the given events.
pub async fn subjects_of(
    conn: &impl ConnectionTrait,
    events: &[i64],
) -> Result<HashMap<i64, Vec<Subject>>, StorageError> {
    let mut found: HashMap<i64, Vec<Subject>> = HashMap::new();
    for chunk in events.chunks(super::operators::LOOKUP_CHUNK) {
        let rows = audit_event_subject::Entity::find()
            .filter(audit_event_subject::Column::EventId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        for row in rows {
            let kind: SubjectType = row.subject_type.parse().map_err(|_| corrupt("audit subject type"))?;
            found.entry(row.event_id).or_default().push(Subject::new(kind, row.subject_id));
        }
    }
    Ok(found)
}

/// The effects of the given events.
pub async fn effects_of(conn: &impl ConnectionTrait, events: &[i64]) -> Result<HashMap<i64, Effects>, StorageError> {
    let mut found: HashMap<i64, Effects> = HashMap::new();
    for chunk in events.chunks(super::operators::LOOKUP_CHUNK) {
        let rows = audit_event_effect::Entity::find()
            .filter(audit_event_effect::Column::EventId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        for row in rows {
            let kind: EffectKind = row.effect.parse().map_err(|_| corrupt("audit effect kind"))?;
            found
                .entry(row.event_id)
                .or_default()
                .add_row(kind, &row.subject)
                .ok_or_else(|| corrupt("audit effect"))?;
        }
    }
    Ok(found)
}
