//! Operators: the `Operator` and `OperatorStatus` types, look-ups, listings and
//! statuses (any token), and registering, renaming and closing (admin or ministry).

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::audit::{AuditEventObject, history};
use super::designations::DesignationObject;
use super::limits::{DATABASE_COST, paged_complexity};
use super::loader::{
    Designations, OperatorRecords, feed_designations, feed_recorded, operator_with_designations, prime_designations,
    records_of_operator, wants_designations,
};
use super::pagination::{OperatorCursor, decode_after, page_size};
use super::reference::{DomainObject, FieldKind, FieldObject, ObligationObject, RegimeValue, SectorObject};
use super::scalars::Date;
use super::special_operators::SpecialPeriodObject;
use super::{ApiError, ApiResult, request, services};
use crate::domain::audit::Subject;
use crate::domain::designation::Designation;
use crate::domain::operator::{Operator, OperatorQuery};
use crate::domain::reference::{Addressee, ReferenceSnapshot};
use crate::domain::special_operator::{SpecialPeriod, is_special_at};
use crate::domain::{CorporateNumber, Regime};
use crate::services;

/// The regimes with an active designation among `designations`, CI first.
fn active_regimes(designations: &[Designation], date: NaiveDate) -> Vec<Regime> {
    Regime::ALL.into_iter().filter(|r| designations.iter().any(|d| d.regime == *r && d.is_active_at(date))).collect()
}

/// The duties that bind an operator with these designations and 特別社会基盤事業者
/// periods at `date`.
fn obligations(
    snap: &Arc<ReferenceSnapshot>,
    designations: &[Designation],
    special: &[SpecialPeriod],
    date: NaiveDate,
) -> Vec<ObligationObject> {
    let addressees = Addressee::of(&active_regimes(designations, date), is_special_at(special, date));
    snap.obligations_binding(&addressees).into_iter().map(|i| ObligationObject::new(snap.clone(), i, date)).collect()
}

/// An operator (事業者) identified by its corporate number (法人番号).
pub struct OperatorObject {
    operator: Operator,
    /// The instant it was asked about as recorded (`knownAt`), which its nested
    /// designations and obligations answer for unless they are asked for another.
    known_at: Option<DateTime<Utc>>,
}

impl OperatorObject {
    pub fn new(operator: Operator) -> Self {
        Self { operator, known_at: None }
    }

    /// The operator as recorded at `at`.
    pub fn recorded(operator: Operator, at: Option<DateTime<Utc>>) -> Self {
        Self { operator, known_at: at }
    }

    /// Its designations and 特別社会基盤事業者 periods (all periods) as recorded at
    /// `known_at` (default: the instant the operator was asked about, else now), with the
    /// reference data recorded then (None: the current).
    async fn all_records(
        &self,
        ctx: &Context<'_>,
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<(OperatorRecords, Option<Arc<ReferenceSnapshot>>)> {
        match known_at.or(self.known_at) {
            Some(at) => {
                let found = super::recorded(ctx).load_one((self.operator.corporate_number, at)).await?;
                Ok(found.map_or_else(Default::default, |r| (r.records, Some(r.snapshot))))
            }
            None => Ok((records_of_operator(ctx, self.operator.id).await?, None)),
        }
    }
}

/// An operator (事業者) identified by its corporate number (法人番号).
#[Object(name = "Operator")]
impl OperatorObject {
    /// Stable identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.operator.id.to_string())
    }

    /// The 13-digit corporate number (法人番号), check digit first.
    async fn corporate_number(&self) -> &str {
        self.operator.corporate_number.as_str()
    }

    /// Japanese name.
    async fn name_ja(&self) -> &str {
        &self.operator.name_ja
    }

    /// English name, when known.
    async fn name_en(&self) -> Option<&str> {
        self.operator.name_en.as_deref()
    }

    /// Increases on every change to the operator record.
    async fn version(&self) -> i32 {
        self.operator.version
    }

    /// The day the corporation closed (merger, dissolution), if it has.
    async fn closed_on(&self) -> Option<Date> {
        self.operator.closed_on.map(Date)
    }

    /// The corporate number of its successor, if it merged into another.
    async fn successor_corporate_number(&self) -> Option<&str> {
        self.operator.successor.as_ref().map(CorporateNumber::as_str)
    }

    /// When the record was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.operator.created_at
    }

    /// When the record last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.operator.updated_at
    }

    /// Designations active at `asOf` (default today), or with `includeHistory` all of them
    /// (past, revoked and future), oldest first. `includeHistory: null` is `false`.
    /// With `knownAt`, as the registry had recorded them at that instant (default: the
    /// instant the operator was asked about, else now).
    async fn designations(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(default_with = "Some(false)")] include_history: Option<bool>,
        #[graphql(desc = "The instant to answer as recorded at (default: now); see `Query.operator`.")]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<DesignationObject>> {
        let include_history = include_history.unwrap_or(false);
        let date = Date::or_today(as_of);
        let (all, snapshot) = self.all_records(ctx, known_at).await?;
        Ok(all
            .designations
            .iter()
            .filter(|d| include_history || d.is_active_at(date))
            .map(|d| DesignationObject::at(d.clone(), date).in_snapshot(snapshot.clone()))
            .collect())
    }

    /// Duties that bind it at `asOf` (default today): those its active designations
    /// trigger, the Cyber Response Act's only while it is recorded as 特別社会基盤事業者
    /// (see `Obligation.binds`); with `knownAt`, as recorded at that instant
    /// (designations, periods and obligation rules alike).
    async fn obligations(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(desc = "The instant to answer as recorded at (default: now); see `Query.operator`.")]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<ObligationObject>> {
        let date = Date::or_today(as_of);
        let (all, snapshot) = self.all_records(ctx, known_at).await?;
        let snap = snapshot.unwrap_or_else(|| request(ctx).snapshot());
        Ok(obligations(&snap, &all.designations, &all.special, date))
    }

    /// Whether it is recorded as 特別社会基盤事業者 (Cyber Response Act Art. 2(3): an ESPA
    /// designee that uses 重要電子計算機) at `asOf` (default today), which makes the
    /// Act's duties bind it while it holds an ESPA designation; with `knownAt`, as
    /// recorded at that instant.
    async fn special_social_infrastructure_operator(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(desc = "The instant to answer as recorded at (default: now); see `Query.operator`.")]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<bool> {
        let (all, _) = self.all_records(ctx, known_at).await?;
        Ok(is_special_at(&all.special, Date::or_today(as_of)))
    }

    /// Every period in which it is (or was, or will be) recorded as 特別社会基盤事業者,
    /// oldest first; with `knownAt`, as recorded at that instant.
    async fn special_social_infrastructure_periods(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The instant to answer as recorded at (default: now); see `Query.operator`.")]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<SpecialPeriodObject>> {
        let (all, _) = self.all_records(ctx, known_at).await?;
        Ok(all.special.iter().cloned().map(SpecialPeriodObject).collect())
    }

    /// The operator it merged into, when that one is registered (see `closeOperator`).
    async fn successor(&self, ctx: &Context<'_>) -> ApiResult<Option<OperatorObject>> {
        let Some(successor) = &self.operator.successor else { return Ok(None) };
        let found = services::operators::find(services(ctx), &request(ctx).principal, successor.as_str()).await?;
        Ok(match found {
            Some(entry) => Some(operator_with_designations(ctx, &entry).await),
            None => None,
        })
    }

    /// The operators that merged into it (they name it as their successor).
    async fn predecessors(&self, ctx: &Context<'_>) -> ApiResult<Vec<OperatorObject>> {
        let found =
            services::operators::predecessors(services(ctx), &request(ctx).principal, &self.operator.corporate_number)
                .await?;
        Ok(found.into_iter().map(OperatorObject::new).collect())
    }

    /// Every change to it and to its designations, oldest first, from the audit trail
    /// (a ministry sees those in its jurisdiction).
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<AuditEventObject>> {
        history(ctx, Subject::operator(&self.operator)).await
    }
}

/// The answer for one corporate number of an `operatorStatuses` batch.
pub struct OperatorStatusObject {
    status: services::operators::OperatorStatus,
    as_of: NaiveDate,
    /// The instant it was answered as recorded at, with the reference data then.
    recorded: Option<(DateTime<Utc>, Arc<ReferenceSnapshot>)>,
}

impl OperatorStatusObject {
    pub fn new(status: services::operators::OperatorStatus, as_of: NaiveDate) -> Self {
        Self { status, as_of, recorded: None }
    }

    fn snapshot(&self, ctx: &Context<'_>) -> Arc<ReferenceSnapshot> {
        self.recorded.as_ref().map_or_else(|| request(ctx).snapshot(), |(_, snap)| snap.clone())
    }

    fn fields_of<K: FieldKind>(&self, snap: &Arc<ReferenceSnapshot>) -> Vec<FieldObject<K>> {
        let designations = self.status.entry.iter().flat_map(|e| e.designations.iter());
        let mut indexes: Vec<usize> = designations
            .filter(|d| d.regime == K::REGIME && d.is_active_at(self.as_of))
            .filter_map(|d| snap.field_index(K::REGIME, &d.field))
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes.into_iter().map(|i| FieldObject::new(snap.clone(), i, self.as_of)).collect()
    }
}

/// The answer for one corporate number of an `operatorStatuses` batch.
#[Object(name = "OperatorStatus")]
impl OperatorStatusObject {
    /// The corporate number as asked (normalised when valid).
    async fn corporate_number(&self) -> &str {
        &self.status.asked
    }

    /// Whether a registered operator has this corporate number.
    async fn found(&self) -> bool {
        self.status.entry.is_some()
    }

    /// The operator, when found.
    async fn operator(&self) -> Option<OperatorObject> {
        let known_at = self.recorded.as_ref().map(|(at, _)| *at);
        self.status.entry.as_ref().map(|e| OperatorObject::recorded(e.operator.clone(), known_at))
    }

    /// CI sectors it is designated in at the date.
    async fn ci_sectors(&self, ctx: &Context<'_>) -> Vec<SectorObject> {
        self.fields_of(&self.snapshot(ctx))
    }

    /// ESPA business domains it is designated in at the date.
    async fn espa_domains(&self, ctx: &Context<'_>) -> Vec<DomainObject> {
        self.fields_of(&self.snapshot(ctx))
    }

    /// Duties that bind it at the date (see `Operator.obligations`).
    async fn obligations(&self, ctx: &Context<'_>) -> Vec<ObligationObject> {
        let Some(entry) = &self.status.entry else { return Vec::new() };
        obligations(&self.snapshot(ctx), &entry.designations, &entry.special, self.as_of)
    }

    /// Why the number is invalid (null when it is a valid corporate number).
    async fn problem(&self) -> Option<&str> {
        self.status.problem.as_deref()
    }
}

/// Extra fields of operator connections.
#[derive(SimpleObject)]
pub struct OperatorConnectionFields {
    /// How many operators match, over all pages.
    total_count: i32,
}

pub type OperatorConnection = Connection<OperatorCursor, OperatorObject, OperatorConnectionFields>;

/// Runs an operator listing and shapes it as a Relay connection.
pub(super) async fn operator_connection(
    ctx: &Context<'_>,
    query: &OperatorQuery,
    first: Option<i32>,
    after: Option<String>,
    known_at: Option<DateTime<Utc>>,
) -> ApiResult<OperatorConnection> {
    let first = page_size(first, super::limits(ctx).max_page_size)?;
    let after = decode_after(after)?;
    let (services, principal) = (services(ctx), &request(ctx).principal);
    let page = match known_at {
        None => services::operators::list(services, principal, query, after.as_deref(), first).await?,
        Some(at) => services::record_time::list(services, principal, query, after.as_deref(), first, at).await?,
    };
    let look = ctx.look_ahead();
    if wants_designations(look.field("edges").field("node")) || wants_designations(look.field("nodes")) {
        match known_at {
            None if !page.entries.is_empty() => feed_designations(ctx, &page.entries).await,
            None => {
                let ids: Vec<Uuid> = page.operators.iter().map(|o| o.id).collect();
                prime_designations(ctx, &ids).await?;
            }
            Some(at) => {
                let numbers: Vec<CorporateNumber> = page.operators.iter().map(|o| o.corporate_number).collect();
                let (entries, snapshot) = services::record_time::operators(services, &numbers, at).await?;
                feed_recorded(super::recorded(ctx), at, &snapshot, entries.into_values()).await;
            }
        }
    }
    Ok(connection_of(page, after.is_some(), known_at))
}

/// One page of operators as a Relay connection (`after_given`: it follows a cursor;
/// `known_at`: the instant the operators are as recorded at).
pub(super) fn connection_of(
    page: services::operators::OperatorPage,
    after_given: bool,
    known_at: Option<DateTime<Utc>>,
) -> OperatorConnection {
    let total_count = i32::try_from(page.total_count).unwrap_or(i32::MAX);
    let mut connection =
        Connection::with_additional_fields(after_given, page.has_next_page, OperatorConnectionFields { total_count });
    connection.edges.extend(page.operators.into_iter().map(|operator| {
        Edge::new(OperatorCursor(operator.corporate_number.to_string()), OperatorObject::recorded(operator, known_at))
    }));
    connection
}

/// The index of a sector or business domain by its (trimmed) code; `BAD_USER_INPUT`
/// when there is none.
pub(super) fn known_field(snap: &ReferenceSnapshot, regime: Regime, code: &str) -> ApiResult<usize> {
    let code = code.trim();
    snap.field_index(regime, code)
        .ok_or_else(|| ApiError::bad_input(format!("unknown {} \"{code}\"", regime.field_noun())))
}

/// Which operators to list; all conditions are AND-ed and count designations active at
/// `asOf` (default today).
#[derive(InputObject, Default)]
pub struct OperatorFilter {
    /// Has an active designation under this regime.
    regime: Option<RegimeValue>,
    /// Has an active designation under each of these regimes (`[CI, ESPA]`: operators
    /// in both).
    regimes: Option<Vec<RegimeValue>>,
    /// Has no active designation under this regime.
    not_regime: Option<RegimeValue>,
    /// Has an active CI designation in this sector.
    sector: Option<String>,
    /// Has an active ESPA designation in this business domain.
    domain: Option<String>,
    /// The date designations are counted at (default today).
    as_of: Option<Date>,
    /// Japanese or English name contains this text (case-insensitive).
    name_contains: Option<String>,
}

impl OperatorFilter {
    fn into_query(self, snap: &ReferenceSnapshot) -> ApiResult<OperatorQuery> {
        let known = |regime: Regime, code: Option<String>| -> ApiResult<Option<String>> {
            code.map(|code| known_field(snap, regime, &code).map(|_| code.trim().to_owned())).transpose()
        };
        let name_contains = crate::domain::text::optional("nameContains", self.name_contains.as_deref())
            .map_err(|e| ApiError::bad_input(e.to_string()))?;
        let mut regimes: Vec<Regime> =
            self.regime.into_iter().chain(self.regimes.into_iter().flatten()).map(Into::into).collect();
        regimes.sort_unstable();
        regimes.dedup();
        Ok(OperatorQuery {
            as_of: Date::or_today(self.as_of),
            regimes,
            not_regime: self.not_regime.map(Into::into),
            sector: known(Regime::Ci, self.sector)?,
            domain: known(Regime::Espa, self.domain)?,
            name_contains,
            not_in_sectors: None,
        })
    }
}

/// Queries over operators (any token).
#[derive(Default)]
pub struct OperatorQueries;

#[Object]
impl OperatorQueries {
    /// The operator with this corporate number (null when not registered).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    ///
    /// With `knownAt`, the operator as the registry had recorded it at that instant:
    /// changes recorded later (corrections, revocations, closings, imports) are undone,
    /// and nested designations, obligations and reference data answer as recorded then
    /// (null: not registered then). `BAD_USER_INPUT` for an instant in the future or
    /// before the registry's first record.
    async fn operator(
        &self,
        ctx: &Context<'_>,
        corporate_number: String,
        #[graphql(desc = "The instant to answer as recorded at (default: now).")] known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Option<OperatorObject>> {
        let (services, principal) = (services(ctx), &request(ctx).principal);
        let Some(at) = known_at else {
            let found = services::operators::find(services, principal, &corporate_number).await?;
            return Ok(match found {
                Some(entry) => Some(operator_with_designations(ctx, &entry).await),
                None => None,
            });
        };
        let (found, snapshot) = services::record_time::find(services, principal, &corporate_number, at).await?;
        let Some(entry) = found else { return Ok(None) };
        feed_recorded(super::recorded(ctx), at, &snapshot, [entry.clone()]).await;
        Ok(Some(OperatorObject::recorded(entry.operator.clone(), Some(at))))
    }

    /// Operators matching `filter`, in corporate-number order (Relay cursor pagination;
    /// `first` defaults to 50, at most 500 unless the server is configured otherwise);
    /// with `knownAt`, as recorded at that instant (see `operator`).
    #[graphql(complexity = "paged_complexity(first, child_complexity)")]
    async fn operators(
        &self,
        ctx: &Context<'_>,
        filter: Option<OperatorFilter>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(desc = "The instant to answer as recorded at (default: now).")] known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<OperatorConnection> {
        let query = filter.unwrap_or_default().into_query(&request(ctx).snapshot())?;
        operator_connection(ctx, &query, first, after, known_at).await
    }

    /// Statuses of up to 1,000 corporate numbers (unless the server is configured
    /// otherwise) at `asOf` (default today), one answer per input in input order; unknown
    /// or invalid numbers answer `found: false`. With `knownAt`, as recorded at that
    /// instant (see `operator`).
    #[graphql(complexity = "DATABASE_COST + corporate_numbers.len().saturating_mul(child_complexity)")]
    async fn operator_statuses(
        &self,
        ctx: &Context<'_>,
        corporate_numbers: Vec<String>,
        as_of: Option<Date>,
        #[graphql(desc = "The instant to answer as recorded at (default: now).")] known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<OperatorStatusObject>> {
        let date = Date::or_today(as_of);
        let max_batch = super::limits(ctx).max_status_batch;
        let (services, principal) = (services(ctx), &request(ctx).principal);
        if let Some(at) = known_at {
            let (statuses, snapshot) =
                services::record_time::statuses(services, principal, &corporate_numbers, max_batch, at).await?;
            let found: Vec<Arc<services::operators::OperatorEntry>> =
                statuses.iter().filter_map(|s| s.entry.clone()).collect();
            feed_recorded(super::recorded(ctx), at, &snapshot, found).await;
            return Ok(statuses
                .into_iter()
                .map(|status| OperatorStatusObject {
                    recorded: Some((at, snapshot.clone())),
                    ..OperatorStatusObject::new(status, date)
                })
                .collect());
        }
        let statuses = services::operators::statuses(services, principal, &corporate_numbers, max_batch).await?;
        // The statuses carry every designation of the operators found: nested
        // `operator { designations }` needs no further query.
        let loader = ctx.data_unchecked::<Designations>();
        loader
            .feed_many(statuses.iter().filter_map(|s| s.entry.as_ref().map(|e| (e.operator.id, e.as_ref().into()))))
            .await;
        Ok(statuses.into_iter().map(|status| OperatorStatusObject::new(status, date)).collect())
    }
}

/// Registers an operator.
#[derive(InputObject)]
pub struct RegisterOperatorInput {
    /// 13-digit corporate number (full-width digits and surrounding spaces are accepted).
    corporate_number: String,
    /// Japanese name (required).
    name_ja: String,
    /// English name.
    name_en: Option<String>,
}

/// Corrects an operator's names.
#[derive(InputObject)]
pub struct UpdateOperatorInput {
    /// The operator's corporate number.
    corporate_number: String,
    /// The `version` the caller read; when stale (someone changed it since), `CONFLICT`
    /// and nothing changes.
    expected_version: i32,
    /// The Japanese name (absent: unchanged).
    name_ja: Option<String>,
    /// The English name (absent: unchanged; null: removed).
    name_en: MaybeUndefined<String>,
    /// Why (recorded in the audit trail).
    reason: Option<String>,
}

/// Records that an operator closed (merged or dissolved), as the National Tax Agency's
/// corporate number records say.
#[derive(InputObject)]
pub struct CloseOperatorInput {
    /// The operator's corporate number.
    corporate_number: String,
    /// The day it closed: its designations still open then end there.
    closed_on: Date,
    /// The registered operator it merged into (never itself, and never one whose own
    /// successors lead back to it).
    successor_corporate_number: Option<String>,
    /// Why (recorded in the audit trail and in each ended designation).
    reason: String,
    /// The `version` the caller read; when given and stale, `CONFLICT` and nothing changes.
    expected_version: Option<i32>,
}

/// Changes to operators (admin or ministry tokens).
#[derive(Default)]
pub struct OperatorMutation;

#[Object]
impl OperatorMutation {
    /// Registers an operator (admin or any ministry). `CONFLICT` when the corporate number
    /// is already registered.
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn register_operator(&self, ctx: &Context<'_>, input: RegisterOperatorInput) -> ApiResult<OperatorObject> {
        let new = services::operators::NewOperator {
            corporate_number: input.corporate_number,
            name_ja: input.name_ja,
            name_en: input.name_en,
        };
        Ok(OperatorObject::new(services::operators::register(services(ctx), &request(ctx).principal, new).await?))
    }

    /// Corrects an operator's names if it is still at `expectedVersion` (admin or any
    /// ministry); its `version` increases. An update that changes nothing writes nothing.
    async fn update_operator(&self, ctx: &Context<'_>, input: UpdateOperatorInput) -> ApiResult<OperatorObject> {
        let update = services::operators::OperatorUpdate {
            corporate_number: input.corporate_number,
            expected_version: input.expected_version,
            name_ja: input.name_ja,
            name_en: input.name_en.into(),
            reason: input.reason,
        };
        Ok(OperatorObject::new(services::operators::update(services(ctx), &request(ctx).principal, update).await?))
    }

    /// Records that an operator closed on `closedOn`, with its successor: every
    /// designation still open then ends there (revoked with the reason), and so does its
    /// 特別社会基盤事業者 period, in one change.
    /// A ministry may close an operator only when it could revoke each of those
    /// designations. `CONFLICT` when it already closed.
    async fn close_operator(&self, ctx: &Context<'_>, input: CloseOperatorInput) -> ApiResult<OperatorObject> {
        let data = request(ctx);
        let closure = services::operators::Closure {
            corporate_number: input.corporate_number,
            closed_on: input.closed_on.0,
            successor: input.successor_corporate_number,
            reason: input.reason,
            expected_version: input.expected_version,
        };
        Ok(OperatorObject::new(services::operators::close(services(ctx), &data.principal, closure).await?))
    }
}
