//! Record time in the database: where an instant falls in the audit trail, and the
//! changes to operators recorded after it (see `domain::record_time`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::entities::{audit_event, audit_event_effect, audit_event_subject};
use super::operators::LOOKUP_CHUNK;
use super::{StorageError, corrupt};
use crate::domain::CorporateNumber;
use crate::domain::audit::{AuditAction, AuditEvent, AuditOutcome, EffectKind, SubjectType};
use crate::domain::record_time::LaterChange;

/// The time of the first recorded event and the last event recorded at or before `at`.
pub async fn position(
    conn: &impl ConnectionTrait,
    at: DateTime<Utc>,
) -> Result<(Option<DateTime<Utc>>, Option<i64>), StorageError> {
    let first: Option<DateTime<Utc>> = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::At)
        .order_by_asc(audit_event::Column::Id)
        .into_tuple()
        .one(conn)
        .await?;
    let last: Option<Option<i64>> = audit_event::Entity::find()
        .select_only()
        .column_as(audit_event::Column::Id.max(), "last")
        .filter(audit_event::Column::At.lte(at))
        .into_tuple()
        .one(conn)
        .await?;
    Ok((first, last.flatten()))
}

/// Which operators a reading is about (None: all of them).
pub struct Scope<'a> {
    pub operators: &'a [CorporateNumber],
    /// Their designations (an import's created designations are read for these only).
    pub designations: &'a [Uuid],
}

/// The changes to operators recorded after event `after`.
#[derive(Debug, Default)]
pub struct LaterChanges {
    /// Per operator, its changes (in any order).
    pub by_operator: HashMap<CorporateNumber, Vec<Arc<LaterChange>>>,
    /// Operators registered after it (their first event registered them).
    pub registered: HashSet<CorporateNumber>,
}

fn number(text: &str) -> Result<CorporateNumber, StorageError> {
    CorporateNumber::parse(text).map_err(|_| corrupt("operator effect"))
}

/// The changes to operators (all, or those of `scope`) recorded after event `after`.
pub async fn later_changes(
    conn: &impl ConnectionTrait,
    after: i64,
    scope: Option<&Scope<'_>>,
) -> Result<LaterChanges, StorageError> {
    let operator_effects = || {
        audit_event_effect::Entity::find().filter(audit_event_effect::Column::Effect.eq(EffectKind::Operator.as_str()))
    };
    let keys: Option<Vec<&str>> = scope.map(|s| s.operators.iter().map(CorporateNumber::as_str).collect());
    let chunks: Vec<Option<&[&str]>> = match &keys {
        Some(keys) => keys.chunks(LOOKUP_CHUNK).map(Some).collect(),
        None => vec![None],
    };

    // Which operator each later event changed.
    let mut operators_of: HashMap<i64, Vec<CorporateNumber>> = HashMap::new();
    // Each concerned operator's first event ever (the one that registered it).
    let mut first_of: Vec<(CorporateNumber, i64)> = Vec::new();
    for chunk in &chunks {
        let narrow = |select: sea_orm::Select<audit_event_effect::Entity>| match chunk {
            Some(keys) => select.filter(audit_event_effect::Column::Subject.is_in(keys.iter().copied())),
            None => select,
        };
        let rows: Vec<(i64, String)> = narrow(operator_effects())
            .filter(audit_event_effect::Column::EventId.gt(after))
            .select_only()
            .columns([audit_event_effect::Column::EventId, audit_event_effect::Column::Subject])
            .into_tuple()
            .all(conn)
            .await?;
        for (event, subject) in rows {
            operators_of.entry(event).or_default().push(number(&subject)?);
        }
        let firsts: Vec<(String, i64)> = narrow(operator_effects())
            .select_only()
            .column(audit_event_effect::Column::Subject)
            .column_as(audit_event_effect::Column::EventId.min(), "first")
            .group_by(audit_event_effect::Column::Subject)
            .having(Expr::col(audit_event_effect::Column::EventId).min().gt(after))
            .into_tuple()
            .all(conn)
            .await?;
        for (subject, first) in firsts {
            first_of.push((number(&subject)?, first));
        }
    }

    let ids: Vec<i64> = operators_of.keys().copied().collect();
    let mut events: HashMap<i64, AuditEvent> = HashMap::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let found = audit_event::Entity::find()
            .filter(audit_event::Column::Id.is_in(chunk.iter().copied()))
            .filter(audit_event::Column::Outcome.eq(AuditOutcome::Succeeded.as_str()))
            .all(conn)
            .await?;
        for model in found {
            let event = AuditEvent::try_from(model)?;
            events.insert(event.id, event);
        }
    }
    let imports: Vec<i64> =
        events.values().filter(|e| e.record.action == AuditAction::ImportDesignations).map(|e| e.id).collect();
    let created_by_imports = created_designations(conn, &imports, scope.map(|s| s.designations)).await?;

    let mut changes = LaterChanges::default();
    for (id, operators) in operators_of {
        let Some(event) = events.remove(&id) else { continue };
        let record = event.record;
        let created = match record.action {
            AuditAction::ImportDesignations => created_by_imports.get(&id).cloned().unwrap_or_default(),
            AuditAction::Designate => {
                let made = record.entity_id.as_deref().and_then(|id| Uuid::parse_str(id).ok());
                Arc::new(made.into_iter().collect())
            }
            _ => Arc::default(),
        };
        let change = Arc::new(LaterChange {
            event: id,
            action: record.action,
            entity_id: record.entity_id,
            before: record.before,
            created,
        });
        for operator in operators {
            changes.by_operator.entry(operator).or_default().push(change.clone());
        }
    }
    let registering = registering_events(conn, first_of.iter().map(|(_, first)| *first).collect()).await?;
    changes.registered =
        first_of.into_iter().filter(|(_, first)| registering.contains(first)).map(|(number, _)| number).collect();
    Ok(changes)
}

/// Of these events, the ones that register operators when they are an operator's first.
async fn registering_events(conn: &impl ConnectionTrait, mut ids: Vec<i64>) -> Result<HashSet<i64>, StorageError> {
    ids.sort_unstable();
    ids.dedup();
    let mut found = HashSet::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let rows: Vec<(i64, String)> = audit_event::Entity::find()
            .select_only()
            .columns([audit_event::Column::Id, audit_event::Column::Action])
            .filter(audit_event::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (id, action) in rows {
            let action: AuditAction = action.parse().map_err(|_| corrupt("audit action"))?;
            if action.registers_operators() {
                found.insert(id);
            }
        }
    }
    Ok(found)
}

/// The designations each import created (only those among `of`, when given).
async fn created_designations(
    conn: &impl ConnectionTrait,
    imports: &[i64],
    of: Option<&[Uuid]>,
) -> Result<HashMap<i64, Arc<HashSet<Uuid>>>, StorageError> {
    let mut created: HashMap<i64, HashSet<Uuid>> = HashMap::new();
    if imports.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted: Option<Vec<String>> = of.map(|ids| ids.iter().map(Uuid::to_string).collect());
    let chunks: Vec<Option<&[String]>> = match &wanted {
        Some(ids) if ids.is_empty() => Vec::new(),
        Some(ids) => ids.chunks(LOOKUP_CHUNK).map(Some).collect(),
        None => vec![None],
    };
    for chunk in chunks {
        let mut select = audit_event_subject::Entity::find()
            .select_only()
            .columns([audit_event_subject::Column::EventId, audit_event_subject::Column::SubjectId])
            .filter(audit_event_subject::Column::EventId.is_in(imports.iter().copied()))
            .filter(audit_event_subject::Column::SubjectType.eq(SubjectType::Designation.as_str()));
        if let Some(ids) = chunk {
            select = select.filter(audit_event_subject::Column::SubjectId.is_in(ids.iter().map(String::as_str)));
        }
        let rows: Vec<(i64, String)> = select.into_tuple().all(conn).await?;
        for (event, id) in rows {
            let id = Uuid::parse_str(&id).map_err(|_| corrupt("designation subject"))?;
            created.entry(event).or_default().insert(id);
        }
    }
    Ok(created.into_iter().map(|(event, ids)| (event, Arc::new(ids))).collect())
}

/// Events after `after` that changed the reference data, newest first.
pub async fn later_reference_changes(conn: &impl ConnectionTrait, after: i64) -> Result<Vec<AuditEvent>, StorageError> {
    let ids: Vec<i64> = audit_event_effect::Entity::find()
        .select_only()
        .column(audit_event_effect::Column::EventId)
        .filter(audit_event_effect::Column::Effect.eq(EffectKind::ReferenceData.as_str()))
        .filter(audit_event_effect::Column::EventId.gt(after))
        .into_tuple()
        .all(conn)
        .await?;
    let mut events = Vec::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let found = audit_event::Entity::find()
            .filter(audit_event::Column::Id.is_in(chunk.iter().copied()))
            .order_by_desc(audit_event::Column::Id)
            .all(conn)
            .await?;
        for model in found {
            events.push(AuditEvent::try_from(model)?);
        }
    }
    events.sort_by_key(|e| std::cmp::Reverse(e.id));
    Ok(events)
}
