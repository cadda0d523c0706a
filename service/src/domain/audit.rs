//! The audit trail: who changed what, when and why, with the state before and after.
//!
//! An event names one entity (what was changed) and lists its subjects: every record it
//! concerns (a designation event also concerns its operator; closing an operator also
//! concerns the designations it ended) and every ministry in whose jurisdiction it
//! falls. History look-ups and the ministries' view of the trail go through subjects.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::designation::Designation;
use super::operator::Operator;
use super::proposal::ScopeProposal;
use super::reference::LinkRecord;
use super::token::ApiToken;
use super::{CorporateNumber, Principal, Regime, Role};

/// Defines a closed set of names stored as text: `as_str`, `FromStr` and `ALL`.
macro_rules! stored_names {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} \"{other}\"", stringify!($name))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_names! {
    /// What was done.
    AuditAction {
        RegisterOperator => "REGISTER_OPERATOR",
        UpdateOperator => "UPDATE_OPERATOR",
        CloseOperator => "CLOSE_OPERATOR",
        Designate => "DESIGNATE",
        RevokeDesignation => "REVOKE_DESIGNATION",
        CorrectDesignation => "CORRECT_DESIGNATION",
        RecordSpecialOperator => "RECORD_SPECIAL_OPERATOR",
        EndSpecialOperator => "END_SPECIAL_OPERATOR",
        IssueToken => "ISSUE_TOKEN",
        RevokeToken => "REVOKE_TOKEN",
        UpsertCrosswalkLink => "UPSERT_CROSSWALK_LINK",
        RemoveCrosswalkLink => "REMOVE_CROSSWALK_LINK",
        UpsertScopeItemLink => "UPSERT_SCOPE_ITEM_LINK",
        RemoveScopeItemLink => "REMOVE_SCOPE_ITEM_LINK",
        SyncReferenceData => "SYNC_REFERENCE_DATA",
        ImportDesignations => "IMPORT_DESIGNATIONS",
        CreateScopeProposal => "CREATE_SCOPE_PROPOSAL",
        AddScopeProposalChange => "ADD_SCOPE_PROPOSAL_CHANGE",
        RemoveScopeProposalChange => "REMOVE_SCOPE_PROPOSAL_CHANGE",
        WithdrawScopeProposal => "WITHDRAW_SCOPE_PROPOSAL",
        PromoteScopeProposal => "PROMOTE_SCOPE_PROPOSAL",
        SyncCorporateNumbers => "SYNC_CORPORATE_NUMBERS",
    }
}

stored_names! {
    /// What kind of record an event or subject is about. `Ministry` subjects say in
    /// whose jurisdiction an event falls; they are never an event's entity.
    SubjectType {
        Operator => "OPERATOR",
        Designation => "DESIGNATION",
        SpecialOperatorPeriod => "SPECIAL_OPERATOR_PERIOD",
        Token => "TOKEN",
        CrosswalkLink => "CROSSWALK_LINK",
        ScopeItemLink => "SCOPE_ITEM_LINK",
        ReferenceData => "REFERENCE_DATA",
        Import => "IMPORT",
        ScopeProposal => "SCOPE_PROPOSAL",
        Ministry => "MINISTRY",
    }
}

stored_names! {
    /// Whether the change was made, or refused because the actor may not make it.
    AuditOutcome {
        Succeeded => "SUCCEEDED",
        Denied => "DENIED",
    }
}

stored_names! {
    /// Who acts: a bearer token or the command line.
    ActorKind {
        Token => "TOKEN",
        Cli => "CLI",
    }
}

/// One record (or ministry) an event concerns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    pub kind: SubjectType,
    /// Operators: the corporate number; designations and tokens: the UUID; crosswalk
    /// links: "<sector>:<domain>" (scope items: "<sector item>:<domain item>");
    /// ministries: the code.
    pub id: String,
}

impl Subject {
    pub fn new(kind: SubjectType, id: impl Into<String>) -> Self {
        Self { kind, id: id.into() }
    }

    pub fn operator(operator: &Operator) -> Self {
        Self::operator_number(&operator.corporate_number)
    }

    pub fn operator_number(number: &CorporateNumber) -> Self {
        Self::new(SubjectType::Operator, number.as_str())
    }

    /// The operator a request names, as typed: normalised when it is a valid corporate
    /// number (so that it matches the operator's history), else as given.
    pub fn operator_asked(asked: &str) -> Self {
        match CorporateNumber::parse(asked) {
            Ok(number) => Self::operator_number(&number),
            Err(_) => Self::new(SubjectType::Operator, asked.trim()),
        }
    }

    pub fn designation(id: Uuid) -> Self {
        Self::new(SubjectType::Designation, id.to_string())
    }

    pub fn token(id: Uuid) -> Self {
        Self::new(SubjectType::Token, id.to_string())
    }

    pub fn ministry(code: &str) -> Self {
        Self::new(SubjectType::Ministry, code)
    }

    /// A crosswalk pair: the link between two fields (or two scope items) over time.
    pub fn link(kind: SubjectType, ci: &str, espa: &str) -> Self {
        Self::new(kind, format!("{ci}:{espa}"))
    }
}

/// The subjects of one event, each once. An import concerns millions of operators and
/// designations: those are kept as numbers and ids (a few bytes each, not a string) and
/// spelled out as [`Subject`]s only while they are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subjects {
    operators: BTreeSet<CorporateNumber>,
    designations: BTreeSet<Uuid>,
    others: BTreeSet<Subject>,
}

impl Subjects {
    pub fn insert(&mut self, subject: Subject) {
        // Only the spelling the constructors give is kept compactly, so that a subject
        // reads back exactly as it was inserted.
        match subject.kind {
            SubjectType::Operator => match CorporateNumber::parse(&subject.id) {
                Ok(number) if number.as_str() == subject.id => return self.add_operator(number),
                _ => {}
            },
            SubjectType::Designation => match Uuid::parse_str(&subject.id) {
                Ok(id) if id.to_string() == subject.id => return self.add_designation(id),
                _ => {}
            },
            _ => {}
        }
        self.others.insert(subject);
    }

    pub fn add_operator(&mut self, number: CorporateNumber) {
        self.operators.insert(number);
    }

    pub fn add_designation(&mut self, id: Uuid) {
        self.designations.insert(id);
    }

    /// Every subject (operators, then designations, then the rest).
    pub fn iter(&self) -> impl Iterator<Item = Subject> + '_ {
        let operators = self.operators.iter().map(Subject::operator_number);
        let designations = self.designations.iter().map(|id| Subject::designation(*id));
        operators.chain(designations).chain(self.others.iter().cloned())
    }
}

impl FromIterator<Subject> for Subjects {
    fn from_iter<I: IntoIterator<Item = Subject>>(subjects: I) -> Self {
        let mut set = Self::default();
        for subject in subjects {
            set.insert(subject);
        }
        set
    }
}

/// Who made a change, as recorded (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    /// "token:<uuid>" or "cli:<user>": what the `actor` filter matches.
    pub id: String,
    pub kind: ActorKind,
    pub token_id: Option<Uuid>,
    pub label: Option<String>,
    pub role: Option<Role>,
    pub ministry: Option<String>,
}

impl AuditActor {
    /// The actor behind a principal; None for anonymous callers, who change nothing.
    pub fn of(principal: &Principal) -> Option<Self> {
        match principal {
            Principal::Anonymous => None,
            Principal::Token { id, label, role, ministry } => Some(Self {
                id: format!("token:{id}"),
                kind: ActorKind::Token,
                token_id: Some(*id),
                label: Some(label.clone()),
                role: Some(*role),
                ministry: ministry.clone(),
            }),
            Principal::Cli { user, ministry } => Some(Self {
                id: format!("cli:{user}"),
                kind: ActorKind::Cli,
                token_id: None,
                label: None,
                role: principal.role(),
                ministry: ministry.clone(),
            }),
        }
    }
}

stored_names! {
    /// What a change did to the data that in-memory read models hold.
    EffectKind {
        /// An operator's record or designations changed (keyed by corporate number).
        Operator => "OPERATOR",
        /// The reference data changed (sectors, domains, scope items, links,
        /// jurisdictions, obligation rules).
        ReferenceData => "REFERENCE_DATA",
        /// A token's record changed (keyed by its id).
        Token => "TOKEN",
    }
}

/// What a committed change did to the data that read models hold, derived from the
/// records the change was recorded with (see `services::audit::Change`) and stored with
/// its event, so that every instance's caches follow exactly what changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Operators whose record or designations changed.
    pub operators: BTreeSet<CorporateNumber>,
    /// Whether the reference data changed.
    pub reference_data: bool,
    /// Tokens whose record changed.
    pub tokens: BTreeSet<Uuid>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.operators.is_empty() && !self.reference_data && self.tokens.is_empty()
    }

    /// As stored: one (kind, key) per effect.
    pub fn rows(&self) -> impl Iterator<Item = (EffectKind, String)> + '_ {
        let operators = self.operators.iter().map(|n| (EffectKind::Operator, n.as_str().to_owned()));
        let reference = self.reference_data.then(|| (EffectKind::ReferenceData, String::new()));
        let tokens = self.tokens.iter().map(|t| (EffectKind::Token, t.to_string()));
        operators.chain(reference).chain(tokens)
    }

    /// Adds one stored (kind, key); None when the key does not fit its kind.
    pub fn add_row(&mut self, kind: EffectKind, key: &str) -> Option<()> {
        match kind {
            EffectKind::Operator => {
                self.operators.insert(CorporateNumber::parse(key).ok()?);
            }
            EffectKind::ReferenceData => self.reference_data = true,
            EffectKind::Token => {
                self.tokens.insert(Uuid::parse_str(key).ok()?);
            }
        }
        Some(())
    }

    /// Everything either changed.
    pub fn merge(&mut self, other: Effects) {
        self.operators.extend(other.operators);
        self.reference_data |= other.reference_data;
        self.tokens.extend(other.tokens);
    }
}

/// Which events a reading selects; all conditions are AND-ed.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The event's own entity is of this type.
    pub entity_type: Option<SubjectType>,
    /// The event concerns this record (its entity or another subject).
    pub subject: Option<Subject>,
    /// The actor's id ("token:<uuid>", "cli:<user>").
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub outcome: Option<AuditOutcome>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
    /// Only events in this ministry's jurisdiction (what a ministry may read).
    pub ministry: Option<String>,
}

/// What an event records.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    pub actor: AuditActor,
    pub action: AuditAction,
    pub entity_type: SubjectType,
    /// None only for a denied attempt to create a record.
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub reason: Option<String>,
    pub outcome: AuditOutcome,
    /// Why a denied attempt was refused.
    pub denial: Option<String>,
}

/// An event about to be appended (the database assigns its id).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub record: AuditRecord,
    /// The entity, every other record concerned and the ministries of the jurisdiction.
    pub subjects: Subjects,
    /// What it did to the data read models hold (nothing, for a denied attempt).
    pub effects: Effects,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Increases in commit order.
    pub id: i64,
    pub record: AuditRecord,
}

/// The state of a record as the audit trail shows it (field names as in the API).
pub trait AuditState {
    fn audit_state(&self) -> Value;
}

impl AuditState for Operator {
    fn audit_state(&self) -> Value {
        json!({
            "id": self.id,
            "corporateNumber": self.corporate_number.as_str(),
            "nameJa": self.name_ja,
            "nameEn": self.name_en,
            "closedOn": self.closed_on,
            "successorCorporateNumber": self.successor.as_ref().map(|s| s.as_str()),
            "version": self.version,
            "updatedAt": self.updated_at,
        })
    }
}

impl AuditState for Designation {
    fn audit_state(&self) -> Value {
        let (sector, domain) = match self.regime {
            Regime::Ci => (Some(&self.field), None),
            Regime::Espa => (None, Some(&self.field)),
        };
        json!({
            "id": self.id,
            "operatorId": self.operator_id,
            "regime": self.regime.as_str(),
            "sector": sector,
            "domain": domain,
            "scopeItem": self.scope_item,
            "effectiveFrom": self.effective_from,
            "effectiveTo": self.effective_to,
            "status": self.status.as_str(),
            "legalBasis": self.legal_basis,
            "reference": self.reference,
            "ministry": self.ministry,
            "revocationReason": self.revocation_reason,
            "version": self.version,
            "updatedAt": self.updated_at,
        })
    }
}

impl AuditState for ScopeProposal {
    fn audit_state(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "status": self.status.as_str(),
            "effectiveFrom": self.effective_from,
            "version": self.version,
            "changes": self.changes,
            "promotedAt": self.promoted_at,
            "promotedBy": self.promoted_by,
        })
    }
}

impl AuditState for ApiToken {
    fn audit_state(&self) -> Value {
        json!({
            "id": self.id,
            "label": self.label,
            "role": self.role.as_str(),
            "ministry": self.ministry,
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
            "revokedAt": self.revoked_at,
        })
    }
}

impl AuditState for LinkRecord {
    fn audit_state(&self) -> Value {
        json!({
            "ci": self.ci,
            "espa": self.espa,
            "relation": self.relation.as_str(),
            "rationale": self.rationale,
            "source": self.provenance.source,
            "locator": self.provenance.locator,
            "confirmed": self.provenance.confirmed,
            "note": self.provenance.note,
            "validFrom": self.validity.from,
            "validTo": self.validity.to,
            "origin": self.origin.as_str(),
        })
    }
}

impl<T: AuditState> AuditState for [T] {
    fn audit_state(&self) -> Value {
        Value::Array(self.iter().map(AuditState::audit_state).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(*action));
        }
        for kind in SubjectType::ALL {
            assert_eq!(kind.as_str().parse::<SubjectType>(), Ok(*kind));
        }
        assert!("designate".parse::<AuditAction>().is_err());
    }

    #[test]
    fn operators_are_named_by_their_normalised_corporate_number() {
        assert_eq!(Subject::operator_asked(" ７００００１２０５０００２ ").id, "7000012050002");
        assert_eq!(Subject::operator_asked(" not a number ").id, "not a number");
    }

    #[test]
    fn actors_name_tokens_by_id_and_never_carry_secrets() {
        let id = Uuid::nil();
        let token = Principal::Token { id, label: "ops".into(), role: Role::Ministry, ministry: Some("MLIT".into()) };
        let actor = AuditActor::of(&token).expect("a token acts");
        assert_eq!(actor.id, format!("token:{id}"));
        assert_eq!((actor.role, actor.ministry.as_deref()), (Some(Role::Ministry), Some("MLIT")));
        let cli = AuditActor::of(&Principal::Cli { user: "kato".into(), ministry: None }).expect("the CLI acts");
        assert_eq!((cli.id.as_str(), cli.role), ("cli:kato", Some(Role::Admin)));
        assert_eq!(AuditActor::of(&Principal::Anonymous), None);
    }
}
