//! Subscriptions (over WebSocket, see `http::subscriptions`): changes to designations
//! and to the reference data as they commit, on whichever instance made them.
//!
//! Every message names the audit event that recorded its change. A subscriber that
//! reconnects passes the last one it received as `after` and first receives what it
//! missed, read back from the audit trail, then live changes: none lost, none twice.
//! A subscription ends with `UNAUTHENTICATED` when its token is revoked or expires.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Subscription};
use async_stream::try_stream;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::audit::{AuditActionValue, SubjectTypeValue};
use super::designations::DesignationObject;
use super::loader::Designations;
use super::operators::OperatorStatusObject;
use super::reference::RegimeValue;
use super::{ApiError, ApiResult, request, services};
use crate::domain::{Principal, today};
use crate::services::ServiceError;
use crate::services::authentication::{Session, TokenRefusal};
use crate::services::subscriptions::{
    self as follow, Change, ChangedDesignation, DesignationFilter, WantedDesignations,
};

/// Designations read per round trip when one change touched many (an import).
const READ_BATCH: usize = 500;

/// Where a subscriber resumes: after an event, or after one message inside an event
/// that touched several designations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resume {
    event: i64,
    /// The position of the last designation received within `event`.
    position: Option<usize>,
}

impl Resume {
    /// Parses `after`: an event id ("42"), or a message cursor ("42:7").
    fn parse(after: &ID, positions: bool) -> ApiResult<Self> {
        let text = after.as_str().trim();
        let invalid = || {
            let form = if positions { "an audit event id or a message cursor" } else { "an audit event id" };
            ApiError::bad_input(format!("after: \"{text}\" is not {form}"))
        };
        let (event, position) = match text.split_once(':') {
            Some((event, position)) if positions => (event, Some(position.parse().map_err(|_| invalid())?)),
            Some(_) => return Err(invalid()),
            None => (text, None),
        };
        Ok(Self { event: event.parse().map_err(|_| invalid())?, position })
    }

    /// The event after which the changes to replay start.
    fn after_event(self) -> i64 {
        match self.position {
            Some(_) => self.event - 1,
            None => self.event,
        }
    }

    /// How many of a change's designations the subscriber already has.
    fn received_of(self, change: &Change) -> usize {
        match self.position {
            Some(position) if change.event.id == self.event => position + 1,
            _ => 0,
        }
    }
}

/// Where a change's messages resume after the one at `position` of `count`: the event
/// id after the last one, so that a plain event id always resumes after a whole event.
fn cursor(event: i64, position: usize, count: usize) -> String {
    if position + 1 >= count { event.to_string() } else { format!("{event}:{position}") }
}

/// Where a subscription starts: the event after which its changes begin, and where it
/// resumes (`after`, checked against the trail); without `after`, now.
async fn starting_point(ctx: &Context<'_>, after: Option<ID>, positions: bool) -> ApiResult<(i64, Option<Resume>)> {
    let Some(after) = after else {
        return Ok((follow::last_event_id(services(ctx)), None));
    };
    let resume = Resume::parse(&after, positions)?;
    follow::check_recorded(services(ctx), resume.event).await?;
    Ok((resume.after_event(), Some(resume)))
}

/// Every change after event `after`, ending with `UNAUTHENTICATED` when the
/// connection's token is revoked or expires.
fn changes_while_authorised(
    ctx: &Context<'_>,
    after: i64,
) -> impl Stream<Item = ApiResult<Arc<Change>>> + Send + use<> {
    let changes = follow::changes_after(services(ctx), after);
    let token = match &request(ctx).principal {
        Principal::Token { id, .. } => Some(*id),
        _ => None,
    };
    let expires_at = ctx.data_opt::<Session>().and_then(|session| session.expires_at);
    try_stream! {
        let expiry = until(expires_at);
        tokio::pin!(expiry, changes);
        loop {
            let next = tokio::select! {
                () = &mut expiry => Some(Err(ServiceError::from(TokenRefusal::Expired))),
                next = changes.next() => next,
            };
            let Some(change) = next else { break };
            let change = change?;
            if token.is_some_and(|token| change.revokes_token(token)) {
                Err(ServiceError::from(TokenRefusal::Revoked))?;
            }
            yield change;
        }
    }
}

/// Resolves at `at`, or never.
async fn until(at: Option<DateTime<Utc>>) {
    match at {
        Some(at) => tokio::time::sleep((at - Utc::now()).to_std().unwrap_or_default()).await,
        None => std::future::pending().await,
    }
}

/// Which designation changes to receive; all conditions are AND-ed.
#[derive(InputObject, Default)]
pub struct DesignationChangeFilter {
    /// Designations of these operators only (at most 1,000 corporate numbers).
    corporate_numbers: Option<Vec<String>>,
    /// Designations under this regime only.
    regime: Option<RegimeValue>,
    /// CI designations in this sector only.
    sector: Option<String>,
    /// ESPA designations in this business domain only (not together with `sector`).
    domain: Option<String>,
}

impl From<DesignationChangeFilter> for WantedDesignations {
    fn from(filter: DesignationChangeFilter) -> Self {
        Self {
            corporate_numbers: filter.corporate_numbers,
            regime: filter.regime.map(Into::into),
            sector: filter.sector,
            domain: filter.domain,
        }
    }
}

/// One designation a committed change touched.
pub struct DesignationChangeObject {
    change: Arc<Change>,
    cursor: String,
    designation: DesignationObject,
    status: OperatorStatusObject,
}

/// One designation a committed change touched: `designate`, `revokeDesignation` and
/// `correctDesignation` touch one; `closeOperator` each designation it ended; an import
/// (one audit event) each designation it created, in consecutive messages.
#[Object(name = "DesignationChange")]
impl DesignationChangeObject {
    /// The audit event that recorded the change (see `auditEvents`); every message of
    /// one change carries the same id.
    async fn event_id(&self) -> ID {
        ID(self.change.event.id.to_string())
    }

    /// Pass the cursor of the last message processed as `after` to resume right after
    /// it. It is the event id itself, except inside a change that touched several
    /// designations, where it is "<event id>:<position>" until that change's last one.
    async fn cursor(&self) -> ID {
        ID(self.cursor.clone())
    }

    /// When the change was made.
    async fn at(&self) -> DateTime<Utc> {
        self.change.event.record.at
    }

    /// What the change did.
    async fn action(&self) -> AuditActionValue {
        self.change.event.record.action.into()
    }

    /// The designation as it stands when the message is sent (replayed messages show
    /// its present state; later changes follow in later messages).
    async fn designation(&self) -> &DesignationObject {
        &self.designation
    }

    /// Its operator's status today, after the change (when the message is sent).
    async fn status(&self) -> &OperatorStatusObject {
        &self.status
    }
}

/// A committed change to the reference data: a seed-data load or a crosswalk curation.
/// Queries to the instance that sent it already answer with the new data.
pub struct ReferenceDataChangeObject(Arc<Change>);

/// A committed change to the reference data: a seed-data load or a crosswalk curation.
/// Queries to the instance that sent it already answer with the new data.
#[Object(name = "ReferenceDataChange")]
impl ReferenceDataChangeObject {
    /// The audit event that recorded the change; pass it as `after` to resume after it.
    async fn event_id(&self) -> ID {
        ID(self.0.event.id.to_string())
    }

    /// When the change was made.
    async fn at(&self) -> DateTime<Utc> {
        self.0.event.record.at
    }

    /// What the change did.
    async fn action(&self) -> AuditActionValue {
        self.0.event.record.action.into()
    }

    /// What was changed: the reference data as a whole, a crosswalk link or a scope-item
    /// link.
    async fn entity_type(&self) -> SubjectTypeValue {
        self.0.event.record.entity_type.into()
    }

    /// The link changed ("<sector>:<domain>", or the two scope items), or for a
    /// seed-data load the seed data it came from.
    async fn entity_id(&self) -> Option<&str> {
        self.0.event.record.entity_id.as_deref()
    }
}

/// Before each message of a subscription: answer from the current reference snapshot
/// and forget designations loaded for earlier messages, as a new request would.
async fn fresh_message(ctx: &Context<'_>, changed: &ChangedDesignation) {
    request(ctx).move_to(services(ctx).snapshot());
    let loader = ctx.data_unchecked::<Designations>();
    loader.clear::<Uuid>();
    if let Some(entry) = &changed.status.entry {
        loader.feed_one(entry.operator.id, entry.as_ref().into()).await;
    }
}

/// All subscriptions: changes as they commit, on any instance.
pub struct SubscriptionRoot;

/// All subscriptions (GraphQL over WebSocket at `/graphql`, protocol
/// `graphql-transport-ws`): changes as they commit, on any instance.
#[Subscription]
impl SubscriptionRoot {
    /// Every change to a designation matching `filter`, with the operator's status
    /// after it (needs a token). Without `after`, changes from now on; with `after` (the
    /// `cursor` or `eventId` of the last message received, or any audit event id), first
    /// every change since then, read back from the audit trail, then live ones, none
    /// twice. `after: "0"` replays every change ever recorded.
    async fn designation_changed(
        &self,
        ctx: &Context<'_>,
        filter: Option<DesignationChangeFilter>,
        after: Option<ID>,
    ) -> Result<impl Stream<Item = ApiResult<DesignationChangeObject>>, ApiError> {
        let data = request(ctx);
        let filter = follow::follow_designations(&data.principal, &data.snapshot(), filter.unwrap_or_default().into())?;
        let (start, resume) = starting_point(ctx, after, true).await?;
        let changes = changes_while_authorised(ctx, start);
        Ok(try_stream! {
            for await change in changes {
                let change = change?;
                if !filter.may_want(&change) {
                    continue;
                }
                let touched = change.designations();
                let received = resume.map_or(0, |resume| resume.received_of(&change));
                for batch in touched.get(received..).unwrap_or_default().chunks(READ_BATCH) {
                    for changed in designations_in(ctx, &filter, batch).await? {
                        let position = touched.binary_search(&changed.designation.id).map_err(|_| ApiError::Internal)?;
                        fresh_message(ctx, &changed).await;
                        yield DesignationChangeObject {
                            change: change.clone(),
                            cursor: cursor(change.event.id, position, touched.len()),
                            designation: DesignationObject::changed(changed.designation),
                            status: OperatorStatusObject::new(changed.status, today()),
                        };
                    }
                }
            }
        })
    }

    /// Every change to the reference data (public). Without `after`, changes from now
    /// on; with `after` (the `eventId` of the last message received), first every such
    /// change since then.
    async fn reference_data_changed(
        &self,
        ctx: &Context<'_>,
        after: Option<ID>,
    ) -> Result<impl Stream<Item = ApiResult<ReferenceDataChangeObject>>, ApiError> {
        let (start, _) = starting_point(ctx, after, false).await?;
        Ok(changes_while_authorised(ctx, start).filter_map(|change| async move {
            match change {
                Ok(change) if change.is_to_reference_data() => Some(Ok(ReferenceDataChangeObject(change))),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            }
        }))
    }
}

/// The designations of `batch` that `filter` wants, as they stand now.
async fn designations_in(
    ctx: &Context<'_>,
    filter: &DesignationFilter,
    batch: &[Uuid],
) -> ApiResult<Vec<ChangedDesignation>> {
    Ok(follow::changed_designations(services(ctx), &request(ctx).principal, filter, batch).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_resume_after_whole_events_or_inside_one() {
        assert_eq!(cursor(42, 0, 1), "42");
        assert_eq!((cursor(42, 0, 3), cursor(42, 1, 3), cursor(42, 2, 3)), ("42:0".into(), "42:1".into(), "42".into()));
        let inside = Resume::parse(&ID("42:1".into()), true).expect("a cursor");
        assert_eq!((inside.after_event(), inside.position), (41, Some(1)));
        let whole = Resume::parse(&ID(" 42 ".into()), false).expect("an event id");
        assert_eq!((whole.after_event(), whole.position), (42, None));
        assert!(Resume::parse(&ID("42:1".into()), false).is_err(), "reference data changes have no positions");
        assert!(Resume::parse(&ID("forty-two".into()), true).is_err());
    }
}
