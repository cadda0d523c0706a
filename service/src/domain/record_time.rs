//! Record time beside valid time: what the registry said at an instant (`knownAt`).
//!
//! `asOf` asks what held on a date; `knownAt` asks what the registry had recorded at an
//! instant. Nothing but the audit trail is kept for it: the state at an instant is the
//! current state with every change recorded after that instant undone, newest first,
//! each by the `before` state its event recorded (a record created after it is absent).
//! Event ids and times increase together (`storage::audit::append` draws the time
//! inside the lock that orders appends), so "recorded after the instant" is every event
//! after one id: the instant's *horizon*.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::CorporateNumber;
use super::audit::AuditAction;
use super::designation::{Designation, DesignationStatus};
use super::operator::Operator;
use super::special_operator::SpecialPeriod;

/// An instant asked about, checked against the trail: the id of the last event recorded
/// at or before it (everything after is undone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Horizon {
    pub at: DateTime<Utc>,
    /// The last event recorded at or before `at`.
    pub last_event: i64,
}

/// Why an instant cannot be asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstantRefused {
    Future { asked: DateTime<Utc>, now: DateTime<Utc> },
    BeforeRecords { asked: DateTime<Utc>, first: Option<DateTime<Utc>> },
}

impl std::fmt::Display for InstantRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stamp = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        match self {
            InstantRefused::Future { asked, now } => write!(
                f,
                "knownAt {} is in the future (it is now {}): the registry can only say what it has recorded",
                stamp(asked),
                stamp(now)
            ),
            InstantRefused::BeforeRecords { asked, first: Some(first) } => write!(
                f,
                "knownAt {} is before this registry recorded anything (its first record is from {})",
                stamp(asked),
                stamp(first)
            ),
            InstantRefused::BeforeRecords { asked, first: None } => {
                write!(f, "knownAt {}: this registry has recorded nothing yet", stamp(asked))
            }
        }
    }
}

/// Checks an instant: not after `now`, not before the first recorded event (`first`,
/// with its time); `last_event` is the last event at or before it.
pub fn horizon(
    asked: DateTime<Utc>,
    now: DateTime<Utc>,
    first: Option<DateTime<Utc>>,
    last_event: Option<i64>,
) -> Result<Horizon, InstantRefused> {
    if asked > now {
        return Err(InstantRefused::Future { asked, now });
    }
    match last_event {
        Some(last_event) if first.is_some_and(|first| first <= asked) => Ok(Horizon { at: asked, last_event }),
        _ => Err(InstantRefused::BeforeRecords { asked, first }),
    }
}

/// A change to an operator recorded after a horizon, as far as undoing it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LaterChange {
    pub event: i64,
    pub action: AuditAction,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    /// The designations it created (a designation's id; every one an import made).
    pub created: Arc<HashSet<Uuid>>,
}

/// An operator with all its designations and 特別社会基盤事業者 periods, as the
/// registry holds (or held) them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorState {
    pub operator: Operator,
    pub designations: Vec<Designation>,
    pub special: Vec<SpecialPeriod>,
}

/// A recorded state that cannot be read back (a corrupt or foreign trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableState(pub String);

impl std::fmt::Display for UnreadableState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an audit event's recorded state cannot be read: {}", self.0)
    }
}

impl AuditAction {
    /// Whether an operator's first event with this action is the one that registered it.
    pub fn registers_operators(self) -> bool {
        matches!(self, AuditAction::RegisterOperator | AuditAction::ImportDesignations)
    }
}

/// Operator fields as `AuditState` records them (`updatedAt` since record time existed).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordedOperator {
    name_ja: String,
    name_en: Option<String>,
    closed_on: Option<NaiveDate>,
    successor_corporate_number: Option<String>,
    version: i32,
    updated_at: Option<DateTime<Utc>>,
}

/// Designation fields as `AuditState` records them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordedDesignation {
    id: Uuid,
    effective_from: NaiveDate,
    effective_to: Option<NaiveDate>,
    status: String,
    legal_basis: Option<String>,
    reference: Option<String>,
    revocation_reason: Option<String>,
    version: i32,
    updated_at: Option<DateTime<Utc>>,
}

fn read<T: for<'de> Deserialize<'de>>(what: &str, state: &Value) -> Result<T, UnreadableState> {
    T::deserialize(state).map_err(|e| UnreadableState(format!("{what}: {e}")))
}

/// The operator as it was before a change that recorded `before`; what the state does
/// not record (its id, creation, and, in events older than record time, its last
/// change) is taken from the later state.
fn operator_before(later: &Operator, before: &Value) -> Result<Operator, UnreadableState> {
    let recorded: RecordedOperator = read("operator", before)?;
    let successor = recorded
        .successor_corporate_number
        .map(|n| CorporateNumber::parse(&n).map_err(|e| UnreadableState(format!("operator successor: {e}"))))
        .transpose()?;
    Ok(Operator {
        name_ja: recorded.name_ja,
        name_en: recorded.name_en,
        closed_on: recorded.closed_on,
        successor,
        version: recorded.version,
        updated_at: recorded.updated_at.unwrap_or(later.created_at),
        ..later.clone()
    })
}

/// The designation as it was before a change that recorded `before` (its target,
/// ministry and creation never change; a revocation happens once, so a revoked state's
/// time is the later state's).
fn designation_before(later: &Designation, before: &RecordedDesignation) -> Result<Designation, UnreadableState> {
    let status = DesignationStatus::parse(&before.status)
        .ok_or_else(|| UnreadableState(format!("designation status \"{}\"", before.status)))?;
    Ok(Designation {
        effective_from: before.effective_from,
        effective_to: before.effective_to,
        status,
        legal_basis: before.legal_basis.clone(),
        reference: before.reference.clone(),
        revocation_reason: before.revocation_reason.clone(),
        revoked_at: match status {
            DesignationStatus::Designated => None,
            DesignationStatus::Revoked => later.revoked_at,
        },
        version: before.version,
        updated_at: before.updated_at.unwrap_or(later.created_at),
        ..later.clone()
    })
}

impl OperatorState {
    fn restore_designation(&mut self, before: &Value) -> Result<(), UnreadableState> {
        let recorded: RecordedDesignation = read("designation", before)?;
        if let Some(current) = self.designations.iter_mut().find(|d| d.id == recorded.id) {
            *current = designation_before(current, &recorded)?;
        }
        Ok(())
    }

    /// Puts back a 特別社会基盤事業者 period as `before` recorded it (whole).
    fn restore_special(&mut self, before: &Value) -> Result<(), UnreadableState> {
        let recorded: SpecialPeriod = read("特別社会基盤事業者 period", before)?;
        if let Some(current) = self.special.iter_mut().find(|p| p.id == recorded.id) {
            *current = recorded;
        }
        Ok(())
    }

    /// Undoes one change recorded after the horizon.
    fn undo(&mut self, change: &LaterChange) -> Result<(), UnreadableState> {
        let before = change.before.as_ref();
        match (change.action, before) {
            (AuditAction::UpdateOperator, Some(before)) => self.operator = operator_before(&self.operator, before)?,
            (AuditAction::CloseOperator, Some(before)) => {
                self.operator = operator_before(&self.operator, &before["operator"])?;
                for ended in before["endedDesignations"].as_array().into_iter().flatten() {
                    self.restore_designation(ended)?;
                }
                for ended in before["endedSpecialPeriods"].as_array().into_iter().flatten() {
                    self.restore_special(ended)?;
                }
            }
            // A promoted scope revision proposal ends the designations on what it retires.
            (AuditAction::PromoteScopeProposal, Some(before)) => {
                for ended in before["designations"].as_array().into_iter().flatten() {
                    self.restore_designation(ended)?;
                }
            }
            (AuditAction::RevokeDesignation | AuditAction::CorrectDesignation, Some(before)) => {
                self.restore_designation(before)?;
            }
            (AuditAction::Designate | AuditAction::ImportDesignations, _) => {
                self.designations.retain(|d| !change.created.contains(&d.id));
            }
            // A period's state is recorded whole (`SpecialPeriod` serialised).
            (AuditAction::RecordSpecialOperator, _) => {
                self.special.retain(|p| change.entity_id.as_deref() != Some(p.id.to_string().as_str()));
            }
            (AuditAction::EndSpecialOperator, Some(before)) => self.restore_special(before)?,
            _ => {}
        }
        Ok(())
    }
}

/// The operator as the registry held it at a horizon: `current` with `later` (every
/// change to it recorded after the horizon) undone newest first; None when it was
/// registered after the horizon (`registered_later`).
pub fn as_recorded(
    current: OperatorState,
    later: &[Arc<LaterChange>],
    registered_later: bool,
) -> Result<Option<OperatorState>, UnreadableState> {
    if registered_later {
        return Ok(None);
    }
    let mut state = current;
    let mut newest_first: Vec<&LaterChange> = later.iter().map(Arc::as_ref).collect();
    newest_first.sort_by_key(|c| std::cmp::Reverse(c.event));
    for change in newest_first {
        state.undo(change)?;
    }
    // The order designations are listed in (as storage lists them).
    state
        .designations
        .sort_by(|a, b| (a.effective_from, a.regime.as_str(), a.id).cmp(&(b.effective_from, b.regime.as_str(), b.id)));
    Ok(Some(state))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::Regime;
    use crate::domain::audit::AuditState;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn operator() -> Operator {
        let number = CorporateNumber::parse("7000012050002").expect("valid");
        Operator::register(Uuid::now_v7(), number, "北星電力".into(), None, at("2026-01-01T00:00:00Z"))
    }

    fn designation(operator: &Operator, from: &str) -> Designation {
        Designation {
            created_at: at("2026-01-02T00:00:00Z"),
            updated_at: at("2026-01-02T00:00:00Z"),
            ..Designation::for_test(operator.id, Regime::Ci, "electricity", date(from), "METI")
        }
    }

    fn change(event: i64, action: AuditAction, before: Option<Value>, created: &[Uuid]) -> Arc<LaterChange> {
        Arc::new(LaterChange {
            event,
            action,
            entity_id: None,
            before,
            created: Arc::new(created.iter().copied().collect()),
        })
    }

    /// A correction, a closing and a new designation after the horizon are undone:
    /// the old dates, the open operator and no new designation come back, exactly.
    #[test]
    fn later_changes_are_undone_newest_first() {
        let then_operator = operator();
        let then = designation(&then_operator, "2018-04-01");
        let corrected = Designation {
            effective_from: date("2018-05-01"),
            version: 2,
            updated_at: at("2026-02-01T00:00:00Z"),
            ..then.clone()
        };
        let ended = Designation {
            effective_to: Some(date("2026-03-01")),
            status: DesignationStatus::Revoked,
            revocation_reason: Some("merged".into()),
            revoked_at: Some(at("2026-03-01T00:00:00Z")),
            version: 3,
            updated_at: at("2026-03-01T00:00:00Z"),
            ..corrected.clone()
        };
        let closed = then_operator.closed(date("2026-03-01"), None, at("2026-03-01T00:00:00Z")).expect("closes");
        let added = designation(&closed, "2025-01-01");
        let later = vec![
            change(7, AuditAction::CorrectDesignation, Some(then.audit_state()), &[]),
            change(
                8,
                AuditAction::CloseOperator,
                Some(
                    json!({ "operator": then_operator.audit_state(), "endedDesignations": [corrected.audit_state()] }),
                ),
                &[],
            ),
            change(5, AuditAction::Designate, None, &[added.id]),
        ];
        let current = OperatorState { operator: closed, designations: vec![added, ended], special: Vec::new() };
        let known = as_recorded(current, &later, false).expect("readable").expect("registered then");
        assert_eq!(known, OperatorState { operator: then_operator, designations: vec![then], special: Vec::new() });
    }

    /// A promoted scope revision proposal ended designations on what it retired: they
    /// are open again before it.
    #[test]
    fn a_promotion_is_undone_like_a_closing() {
        let op = operator();
        let open = designation(&op, "2020-01-01");
        let ended = Designation {
            effective_to: Some(date("2027-04-01")),
            status: DesignationStatus::Revoked,
            revoked_at: Some(at("2026-12-01T00:00:00Z")),
            version: 2,
            ..open.clone()
        };
        let before = json!({ "proposal": {}, "rows": {}, "designations": [open.audit_state()] });
        let later = [change(9, AuditAction::PromoteScopeProposal, Some(before), &[])];
        let current = OperatorState { operator: op.clone(), designations: vec![ended], special: Vec::new() };
        let known = as_recorded(current, &later, false).expect("readable");
        assert_eq!(known, Some(OperatorState { operator: op, designations: vec![open], special: Vec::new() }));
    }

    /// A 特別社会基盤事業者 period recorded after the horizon is absent before it, and
    /// one ended after it is open again.
    #[test]
    fn special_periods_are_undone_like_designations() {
        let op = operator();
        let open = SpecialPeriod {
            id: Uuid::now_v7(),
            operator_id: op.id,
            effective_from: date("2026-10-01"),
            effective_to: None,
            ministry: "METI".into(),
            reference: Some("経済産業省告示".into()),
            end_reason: None,
            version: 1,
            created_at: at("2026-11-01T00:00:00Z"),
            updated_at: at("2026-11-01T00:00:00Z"),
        };
        let ended = open.ended(date("2027-04-01"), "no longer".into(), at("2026-11-02T00:00:00Z")).expect("ends");
        let before = serde_json::to_value(&open).expect("serialises");
        let ending = Arc::new(LaterChange {
            entity_id: Some(open.id.to_string()),
            ..(*change(9, AuditAction::EndSpecialOperator, Some(before), &[])).clone()
        });
        let recording = Arc::new(LaterChange {
            entity_id: Some(open.id.to_string()),
            ..(*change(8, AuditAction::RecordSpecialOperator, None, &[])).clone()
        });
        let current = OperatorState { operator: op.clone(), designations: Vec::new(), special: vec![ended] };
        let after_recording = as_recorded(current.clone(), std::slice::from_ref(&ending), false).expect("readable");
        assert_eq!(after_recording.map(|s| s.special), Some(vec![open]));
        let before_recording = as_recorded(current, &[ending, recording], false).expect("readable");
        assert_eq!(before_recording.map(|s| s.special), Some(Vec::new()));
    }

    #[test]
    fn an_operator_registered_later_is_absent_and_no_change_leaves_it_as_it_is() {
        let op = operator();
        let current =
            OperatorState { designations: vec![designation(&op, "2020-01-01")], operator: op, special: Vec::new() };
        assert_eq!(as_recorded(current.clone(), &[], true), Ok(None));
        assert_eq!(as_recorded(current.clone(), &[], false), Ok(Some(current)));
    }

    #[test]
    fn instants_in_the_future_or_before_the_first_record_are_refused() {
        let now = at("2026-12-01T12:00:00Z");
        let first = Some(at("2026-11-01T00:00:00Z"));
        let future = horizon(at("2026-12-02T00:00:00Z"), now, first, Some(9));
        assert!(future.unwrap_err().to_string().contains("is in the future"));
        let early = horizon(at("2026-10-01T00:00:00Z"), now, first, None).unwrap_err();
        assert!(early.to_string().contains("first record is from 2026-11-01T00:00:00Z"), "{early}");
        let fine = horizon(at("2026-11-15T00:00:00Z"), now, first, Some(4));
        assert_eq!(fine.map(|h| h.last_event), Ok(4));
    }

    #[test]
    fn unreadable_states_are_reported() {
        let op = operator();
        let current = OperatorState { operator: op, designations: Vec::new(), special: Vec::new() };
        let later = [change(3, AuditAction::UpdateOperator, Some(json!({ "nameJa": 5 })), &[])];
        assert!(as_recorded(current, &later, false).is_err());
    }
}
