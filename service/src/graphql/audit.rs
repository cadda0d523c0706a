//! The audit trail in the API: events, their filter and the `auditEvents` connection.
//! Admins and readers read every event; a ministry reads the events in its jurisdiction.

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::pagination::page_size;
use super::reference::MinistryObject;
use super::tokens::RoleValue;
use super::{ApiError, ApiResult, request, services};
use crate::domain::audit::{
    ActorKind, AuditAction, AuditEvent, AuditOutcome, AuditQuery, AuditRecord, Subject, SubjectType,
};
use crate::domain::today;
use crate::services;

/// Declares an API enum that mirrors a domain enum variant by variant (each variant's
/// doc comment is its description), with `From` both ways.
macro_rules! mirrored_enum {
    ($(#[$meta:meta])* $api:ident mirrors $domain:ident { $($(#[$vmeta:meta])* $variant:ident,)+ }) => {
        #[derive(Enum, Clone, Copy, PartialEq, Eq)]
        $(#[$meta])*
        pub enum $api {
            $($(#[$vmeta])* $variant,)+
        }

        impl From<$domain> for $api {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $api::$variant,)+
                }
            }
        }

        impl From<$api> for $domain {
            fn from(value: $api) -> Self {
                match value {
                    $($api::$variant => $domain::$variant,)+
                }
            }
        }
    };
}

mirrored_enum! {
    /// What a change did.
    #[graphql(name = "AuditAction")]
    AuditActionValue mirrors AuditAction {
        /// `registerOperator`.
        RegisterOperator,
        /// `updateOperator`: names corrected.
        UpdateOperator,
        /// `closeOperator`: the operator closed; its open designations ended.
        CloseOperator,
        /// `designate`.
        Designate,
        /// `revokeDesignation`.
        RevokeDesignation,
        /// `correctDesignation`: a wrong date or reference fixed.
        CorrectDesignation,
        /// `recordSpecialSocialInfrastructureOperator`: an operator recorded as
        /// 特別社会基盤事業者 from a date.
        RecordSpecialOperator,
        /// `endSpecialSocialInfrastructureOperator`: its 特別社会基盤事業者 period ended.
        EndSpecialOperator,
        /// A token was issued (`scope-registry token issue`).
        IssueToken,
        /// `revokeToken` or `scope-registry token revoke`.
        RevokeToken,
        /// `upsertCrosswalkLink`.
        UpsertCrosswalkLink,
        /// `removeCrosswalkLink`.
        RemoveCrosswalkLink,
        /// `upsertScopeItemLink`.
        UpsertScopeItemLink,
        /// `removeScopeItemLink`.
        RemoveScopeItemLink,
        /// Reference data loaded from seed-data (`scope-registry seed`, or `serve` on a new
        /// database); `before` and `after` hold the rows that changed, by kind and key.
        SyncReferenceData,
        /// `importDesignations` or `scope-registry import`: one event per import; `after`
        /// counts what it did and every operator and designation it created is a subject.
        ImportDesignations,
        /// `createScopeProposal`.
        CreateScopeProposal,
        /// `addScopeProposalChange`.
        AddScopeProposalChange,
        /// `removeScopeProposalChange`.
        RemoveScopeProposalChange,
        /// `withdrawScopeProposal`.
        WithdrawScopeProposal,
        /// `promoteScopeProposal`: `after` holds the reference rows written and the
        /// designations ended; every ended designation and its operator is a subject.
        PromoteScopeProposal,
        /// A refused `syncCorporateNumbers` or `scope-registry nta-sync` (what a sync does
        /// is recorded as `UPDATE_OPERATOR` and `CLOSE_OPERATOR` events).
        SyncCorporateNumbers,
    }
}

mirrored_enum! {
    /// What kind of record an event is about.
    #[graphql(name = "AuditEntityType")]
    SubjectTypeValue mirrors SubjectType {
        /// An operator; its id is the corporate number.
        Operator,
        /// A designation; its id is the designation's id.
        Designation,
        /// A period in which an operator is recorded as 特別社会基盤事業者; its id is the
        /// period's id.
        SpecialOperatorPeriod,
        /// A bearer token; its id is the token's id.
        Token,
        /// The link between a sector and a domain over time; its id is "<sector>:<domain>".
        CrosswalkLink,
        /// The link between two scope items over time; its id is "<sector item>:<domain item>".
        ScopeItemLink,
        /// The reference data as a whole; its id names the seed-data it was loaded from.
        ReferenceData,
        /// A bulk import as a whole (it has no id).
        Import,
        /// A scope revision proposal; its id is the proposal's id.
        ScopeProposal,
        /// A ministry (as a filter: the events in its jurisdiction).
        Ministry,
    }
}

mirrored_enum! {
    /// Whether a change was made.
    #[graphql(name = "AuditOutcome")]
    AuditOutcomeValue mirrors AuditOutcome {
        /// The change was made.
        Succeeded,
        /// The change was refused as `FORBIDDEN` and nothing was changed; `after` holds what
        /// was asked for and `denial` why it was refused.
        Denied,
    }
}

mirrored_enum! {
    /// How an actor reached the registry.
    #[graphql(name = "ActorKind")]
    ActorKindValue mirrors ActorKind {
        /// A bearer token over the API.
        Token,
        /// The `scope-registry` command line, run by a local user.
        Cli,
    }
}

/// One recorded change: who did what to which record, when and why, with its state
/// before and after. The trail is append-only.
pub struct AuditEventObject(pub AuditEvent);

impl AuditEventObject {
    fn record(&self) -> &AuditRecord {
        &self.0.record
    }
}

/// One recorded change: who did what to which record, when and why, with its state
/// before and after. The trail is append-only.
#[Object(name = "AuditEvent")]
impl AuditEventObject {
    /// Increases in commit order: the events after one you saw are those with larger ids.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// When it was recorded.
    async fn at(&self) -> DateTime<Utc> {
        self.record().at
    }

    /// Who made (or attempted) it: "token:<token id>" or "cli:<user>" (what the `actor`
    /// filter matches).
    async fn actor(&self) -> &str {
        &self.record().actor.id
    }

    /// Whether the actor used a bearer token or the command line.
    async fn actor_kind(&self) -> ActorKindValue {
        self.record().actor.kind.into()
    }

    /// The actor's token (tokens only).
    async fn actor_token_id(&self) -> Option<ID> {
        self.record().actor.token_id.map(|id| ID(id.to_string()))
    }

    /// The actor's token label (tokens only).
    async fn actor_label(&self) -> Option<&str> {
        self.record().actor.label.as_deref()
    }

    /// The role the actor acted with.
    async fn actor_role(&self) -> Option<RoleValue> {
        self.record().actor.role.map(Into::into)
    }

    /// The ministry the actor acted for (ministry tokens, and the command line acting as one).
    async fn actor_ministry(&self, ctx: &Context<'_>) -> Option<MinistryObject> {
        let code = self.record().actor.ministry.as_deref()?;
        MinistryObject::by_code(&request(ctx).snapshot(), code, today())
    }

    /// What was done.
    async fn action(&self) -> AuditActionValue {
        self.record().action.into()
    }

    /// The kind of record changed.
    async fn entity_type(&self) -> SubjectTypeValue {
        self.record().entity_type.into()
    }

    /// The record changed (see `AuditEntityType` for the form); null only for a denied
    /// attempt to create one.
    async fn entity_id(&self) -> Option<&str> {
        self.record().entity_id.as_deref()
    }

    /// The record's state before the change (field names as in the API; null when it
    /// was created).
    async fn before(&self) -> Option<&Value> {
        self.record().before.as_ref()
    }

    /// The record's state after the change; for a denied attempt, what was asked for.
    async fn after(&self) -> Option<&Value> {
        self.record().after.as_ref()
    }

    /// Why, as the actor said.
    async fn reason(&self) -> Option<&str> {
        self.record().reason.as_deref()
    }

    /// Made, or refused as `FORBIDDEN`.
    async fn outcome(&self) -> AuditOutcomeValue {
        self.record().outcome.into()
    }

    /// Why a denied attempt was refused.
    async fn denial(&self) -> Option<&str> {
        self.record().denial.as_deref()
    }
}

/// Which events to read; all conditions are AND-ed.
#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    /// Events about records of this type (with `entityId`: events concerning that record,
    /// including those that changed it as a side effect, e.g. a designation ended by
    /// `closeOperator`, or a designation of an operator).
    entity_type: Option<SubjectTypeValue>,
    /// Events concerning this record (see `AuditEntityType` for the form of ids).
    entity_id: Option<String>,
    /// The actor's id: "token:<token id>" or "cli:<user>".
    actor: Option<String>,
    /// What was done.
    action: Option<AuditActionValue>,
    /// Made or denied.
    outcome: Option<AuditOutcomeValue>,
    /// Recorded at or after this time.
    since: Option<DateTime<Utc>>,
    /// Recorded before this time.
    until: Option<DateTime<Utc>>,
}

impl AuditEventFilter {
    fn into_query(self) -> ApiResult<AuditQuery> {
        let entity_type = self.entity_type.map(SubjectType::from);
        let (entity_type, subject) = match (entity_type, self.entity_id) {
            (Some(kind), Some(id)) => (None, Some(Subject::new(kind, id.trim()))),
            (None, Some(_)) => return Err(ApiError::bad_input("entityId needs an entityType")),
            (kind, None) => (kind, None),
        };
        Ok(AuditQuery {
            entity_type,
            subject,
            actor: self.actor.map(|a| a.trim().to_owned()),
            action: self.action.map(Into::into),
            outcome: self.outcome.map(Into::into),
            since: self.since,
            until: self.until,
            ministry: None,
        })
    }
}

/// Cursor of `auditEvents`: the event's id, so that `after: "<id>"` resumes after it.
pub struct AuditCursor(i64);

impl CursorType for AuditCursor {
    type Error = String;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        s.trim().parse().map(AuditCursor).map_err(|_| format!("\"{s}\" is not an audit event id"))
    }

    fn encode_cursor(&self) -> String {
        self.0.to_string()
    }
}

/// Extra fields of the `auditEvents` connection.
#[derive(SimpleObject)]
pub struct AuditConnectionFields {
    /// How many events match, over all pages.
    total_count: i32,
}

pub type AuditEventConnection = Connection<AuditCursor, AuditEventObject, AuditConnectionFields>;

/// Every event concerning one record that the caller may read, oldest first.
pub async fn history(ctx: &Context<'_>, subject: Subject) -> ApiResult<Vec<AuditEventObject>> {
    let events = services::audit::history(services(ctx), &request(ctx).principal, subject).await?;
    Ok(events.into_iter().map(AuditEventObject).collect())
}

/// Reading the audit trail (any token; a ministry sees the events in its jurisdiction).
#[derive(Default)]
pub struct AuditTrailQuery;

#[Object]
impl AuditTrailQuery {
    /// Recorded changes in id order (oldest first), `first` (default 50, at most 500)
    /// after the event whose id is `after`. Admins and readers see every event; a
    /// ministry sees the events in its jurisdiction (about its designations, operators
    /// it designated, its tokens, links of its sectors and domains, and its own acts).
    #[graphql(complexity = "super::limits::paged_complexity(first, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<AuditEventConnection> {
        let first = page_size(first, super::limits(ctx).max_page_size)?;
        let after =
            after.map(|a| AuditCursor::decode_cursor(&a).map(|c| c.0)).transpose().map_err(ApiError::bad_input)?;
        let query = filter.unwrap_or_default().into_query()?;
        let page = services::audit::events(services(ctx), &request(ctx).principal, query, after, first).await?;
        let total_count = i32::try_from(page.total_count).unwrap_or(i32::MAX);
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            page.has_next_page,
            AuditConnectionFields { total_count },
        );
        connection
            .edges
            .extend(page.events.into_iter().map(|event| Edge::new(AuditCursor(event.id), AuditEventObject(event))));
        Ok(connection)
    }
}
