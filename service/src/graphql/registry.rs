//! Registry types and resolvers: operators, designations, statuses and the overlap
//! report. Operator data needs a token; changes need an admin or ministry token.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::audit::{AuditEventObject, history};
use super::limits::{DATABASE_COST, LIST_COST, paged_complexity};
use super::reference::{DomainObject, MinistryObject, ObligationObject, RegimeValue, ScopeItemObject, SectorObject};
use super::scalars::Date;
use super::{ApiError, ApiResult, db, index, request};
use crate::domain::audit::Subject;
use crate::domain::designation::{Correction, Designation, DesignationRequest, DesignationStatus};
use crate::domain::operator::Operator;
use crate::domain::overlap::OverlapReport;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{CorporateNumber, Regime, today};
use crate::registry::index::OperatorEntry;
use crate::registry::{self, RegistryError};
use crate::storage::Db;
use crate::storage::operators::OperatorQuery;

/// Page size of operator listings when `first` is not given.
pub const DEFAULT_PAGE_SIZE: u64 = 50;

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Unauthenticated(m) => ApiError::Unauthenticated(m),
            RegistryError::Forbidden(m) => ApiError::Forbidden(m),
            RegistryError::Invalid(m) => ApiError::BadUserInput(m),
            RegistryError::NotFound(m) => ApiError::NotFound(m),
            RegistryError::Conflict(m) => ApiError::Conflict(m),
            RegistryError::Storage(e) => e.into(),
        }
    }
}

fn date_or_today(as_of: Option<Date>) -> NaiveDate {
    as_of.map_or_else(today, |d| d.0)
}

/// Loads every designation of many operators in one query. One loader per request, so
/// nothing is shared between requests; resolvers that fetch a set of operators prime it
/// with their designations (one query for the set), so nested fields never query per
/// operator and batching does not depend on timing.
pub struct DesignationLoader {
    db: Db,
}

pub type Designations = DataLoader<DesignationLoader, HashMapCache>;

impl DesignationLoader {
    pub fn per_request(db: Db) -> Designations {
        DataLoader::with_cache(DesignationLoader { db }, tokio::spawn, HashMapCache::default())
    }
}

impl Loader<Uuid> for DesignationLoader {
    type Value = Arc<Vec<Designation>>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let grouped = registry::designations::of_operators(&self.db, keys).await?;
        Ok(grouped.into_iter().map(|(id, list)| (id, Arc::new(list))).collect())
    }
}

async fn designations_of(ctx: &Context<'_>, operator: Uuid) -> ApiResult<Arc<Vec<Designation>>> {
    Ok(ctx.data_unchecked::<Designations>().load_one(operator).await?.unwrap_or_default())
}

/// An operator from the index, with its designations handed to the request's loader
/// (so that nested `designations` and `obligations` cost nothing more).
async fn operator_with_designations(ctx: &Context<'_>, entry: &OperatorEntry) -> OperatorObject {
    ctx.data_unchecked::<Designations>().feed_one(entry.operator.id, entry.designations.clone()).await;
    OperatorObject(entry.operator.clone())
}

/// Loads the designations of a set of operators in one query into the request's loader.
async fn prime_designations(ctx: &Context<'_>, operators: &[Uuid]) -> ApiResult<()> {
    let grouped = registry::designations::of_operators(db(ctx), operators).await?;
    ctx.data_unchecked::<Designations>().feed_many(grouped.into_iter().map(|(id, list)| (id, Arc::new(list)))).await;
    Ok(())
}

/// Whether the selection under `node` asks for anything built from designations.
fn wants_designations(node: async_graphql::Lookahead<'_>) -> bool {
    node.field("designations").exists() || node.field("obligations").exists()
}

/// The regimes with an active designation among `designations`, CI first.
fn active_regimes(designations: &[Designation], date: NaiveDate) -> Vec<Regime> {
    Regime::ALL.into_iter().filter(|r| designations.iter().any(|d| d.regime == *r && d.is_active_at(date))).collect()
}

fn obligations(snap: &Arc<ReferenceSnapshot>, designations: &[Designation], date: NaiveDate) -> Vec<ObligationObject> {
    snap.obligations_triggered_by(&active_regimes(designations, date))
        .into_iter()
        .map(|i| ObligationObject::new(snap.clone(), i, date))
        .collect()
}

/// An operator (事業者) identified by its corporate number (法人番号).
pub struct OperatorObject(pub Operator);

/// An operator (事業者) identified by its corporate number (法人番号).
#[Object(name = "Operator")]
impl OperatorObject {
    /// Stable identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The 13-digit corporate number (法人番号), check digit first.
    async fn corporate_number(&self) -> &str {
        self.0.corporate_number.as_str()
    }

    /// Japanese name.
    async fn name_ja(&self) -> &str {
        &self.0.name_ja
    }

    /// English name, when known.
    async fn name_en(&self) -> Option<&str> {
        self.0.name_en.as_deref()
    }

    /// Increases on every change to the operator record.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// The day the corporation closed (merger, dissolution), if it has.
    async fn closed_on(&self) -> Option<Date> {
        self.0.closed_on.map(Date)
    }

    /// The corporate number of its successor, if it merged into another.
    async fn successor_corporate_number(&self) -> Option<&str> {
        self.0.successor.as_ref().map(CorporateNumber::as_str)
    }

    /// When the record was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the record last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Designations active at `asOf` (default today), or with `includeHistory` all of them
    /// (past, revoked and future), oldest first. `includeHistory: null` is `false`.
    async fn designations(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(default_with = "Some(false)")] include_history: Option<bool>,
    ) -> ApiResult<Vec<DesignationObject>> {
        let include_history = include_history.unwrap_or(false);
        let date = date_or_today(as_of);
        let all = designations_of(ctx, self.0.id).await?;
        Ok(all
            .iter()
            .filter(|d| include_history || d.is_active_at(date))
            .map(|d| DesignationObject { designation: d.clone(), as_of: date })
            .collect())
    }

    /// Duties its designations active at `asOf` (default today) trigger.
    async fn obligations(&self, ctx: &Context<'_>, as_of: Option<Date>) -> ApiResult<Vec<ObligationObject>> {
        let date = date_or_today(as_of);
        let all = designations_of(ctx, self.0.id).await?;
        Ok(obligations(&request(ctx).snapshot(), &all, date))
    }

    /// The operator it merged into, when that one is registered (see `closeOperator`).
    async fn successor(&self, ctx: &Context<'_>) -> ApiResult<Option<OperatorObject>> {
        let Some(successor) = &self.0.successor else { return Ok(None) };
        let found = registry::operators::find(index(ctx), &request(ctx).principal, successor.as_str()).await?;
        Ok(match found {
            Some(entry) => Some(operator_with_designations(ctx, &entry).await),
            None => None,
        })
    }

    /// The operators that merged into it (they name it as their successor).
    async fn predecessors(&self, ctx: &Context<'_>) -> ApiResult<Vec<OperatorObject>> {
        let found =
            registry::operators::predecessors(db(ctx), &request(ctx).principal, &self.0.corporate_number).await?;
        Ok(found.into_iter().map(OperatorObject).collect())
    }

    /// Every change to it and to its designations, oldest first, from the audit trail
    /// (a ministry sees those in its jurisdiction).
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<AuditEventObject>> {
        history(ctx, Subject::operator(&self.0)).await
    }
}

/// Whether a designation stands or was revoked.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "DesignationStatus")]
pub enum DesignationStatusValue {
    /// Designated (its period may still have ended on its own `effectiveTo`).
    Designated,
    /// Revoked: the period was closed early, see `revocationReason`.
    Revoked,
}

/// One operator's status under one regime for one sector (CI) or domain (ESPA),
/// optionally one scope item, over `effectiveFrom` ..< `effectiveTo`.
pub struct DesignationObject {
    designation: Designation,
    as_of: NaiveDate,
}

impl DesignationObject {
    /// A designation just changed: its sector or domain as of its first day.
    pub fn changed(designation: Designation) -> Self {
        Self { as_of: designation.effective_from, designation }
    }
}

/// One operator's status under one regime for one sector (CI) or domain (ESPA),
/// optionally one scope item, over `effectiveFrom` ..< `effectiveTo`.
#[Object(name = "Designation")]
impl DesignationObject {
    /// Stable identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.designation.id.to_string())
    }

    /// The regime it is made under.
    async fn regime(&self) -> RegimeValue {
        self.designation.regime.into()
    }

    /// The CI sector (CI designations only).
    async fn sector(&self, ctx: &Context<'_>) -> Option<SectorObject> {
        (self.designation.regime == Regime::Ci)
            .then(|| SectorObject::by_code(&request(ctx).snapshot(), &self.designation.field, self.as_of))
            .flatten()
    }

    /// The ESPA business domain (ESPA designations only).
    async fn domain(&self, ctx: &Context<'_>) -> Option<DomainObject> {
        (self.designation.regime == Regime::Espa)
            .then(|| DomainObject::by_code(&request(ctx).snapshot(), &self.designation.field, self.as_of))
            .flatten()
    }

    /// The scope item it is narrowed to (null: the whole sector or domain).
    async fn scope_item(&self, ctx: &Context<'_>) -> Option<ScopeItemObject> {
        let snap = &request(ctx).snapshot();
        let code = self.designation.scope_item.as_deref()?;
        snap.item_index(self.designation.regime, code)
            .map(|i| ScopeItemObject::new(snap.clone(), self.designation.regime, i, self.as_of))
    }

    /// First day it holds.
    async fn effective_from(&self) -> Date {
        Date(self.designation.effective_from)
    }

    /// First day it no longer holds (exclusive; null: open).
    async fn effective_to(&self) -> Option<Date> {
        self.designation.effective_to.map(Date)
    }

    /// Designated or revoked.
    async fn status(&self) -> DesignationStatusValue {
        match self.designation.status {
            DesignationStatus::Designated => DesignationStatusValue::Designated,
            DesignationStatus::Revoked => DesignationStatusValue::Revoked,
        }
    }

    /// The legal basis, e.g. "経済安全保障推進法第50条第1項".
    async fn legal_basis(&self) -> Option<&str> {
        self.designation.legal_basis.as_deref()
    }

    /// The official reference (notice number).
    async fn reference(&self) -> Option<&str> {
        self.designation.reference.as_deref()
    }

    /// The ministry that made it.
    async fn ministry(&self, ctx: &Context<'_>) -> ApiResult<MinistryObject> {
        MinistryObject::by_code(&request(ctx).snapshot(), &self.designation.ministry, self.as_of)
            .ok_or(ApiError::Internal)
    }

    /// Why it was revoked.
    async fn revocation_reason(&self) -> Option<&str> {
        self.designation.revocation_reason.as_deref()
    }

    /// When it was revoked.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.designation.revoked_at
    }

    /// Increases on every change to the designation.
    async fn version(&self) -> i32 {
        self.designation.version
    }

    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.designation.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.designation.updated_at
    }

    /// Every change to it, oldest first, from the audit trail (including its end when
    /// its operator closed; a ministry sees those in its jurisdiction).
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<AuditEventObject>> {
        history(ctx, Subject::designation(self.designation.id)).await
    }
}

/// The answer for one corporate number of an `operatorStatuses` batch.
pub struct OperatorStatusObject {
    status: registry::operators::OperatorStatus,
    as_of: NaiveDate,
}

impl OperatorStatusObject {
    pub fn new(status: registry::operators::OperatorStatus, as_of: NaiveDate) -> Self {
        Self { status, as_of }
    }

    fn fields_of<K: super::reference::FieldKind>(
        &self,
        snap: &Arc<ReferenceSnapshot>,
    ) -> Vec<super::reference::FieldObject<K>> {
        let designations = self.status.entry.iter().flat_map(|e| e.designations.iter());
        let mut indexes: Vec<usize> = designations
            .filter(|d| d.regime == K::REGIME && d.is_active_at(self.as_of))
            .filter_map(|d| snap.field_index(K::REGIME, &d.field))
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes.into_iter().map(|i| super::reference::FieldObject::new(snap.clone(), i, self.as_of)).collect()
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
        self.status.entry.as_ref().map(|e| OperatorObject(e.operator.clone()))
    }

    /// CI sectors it is designated in at the date.
    async fn ci_sectors(&self, ctx: &Context<'_>) -> Vec<SectorObject> {
        self.fields_of(&request(ctx).snapshot())
    }

    /// ESPA business domains it is designated in at the date.
    async fn espa_domains(&self, ctx: &Context<'_>) -> Vec<DomainObject> {
        self.fields_of(&request(ctx).snapshot())
    }

    /// Duties its active designations trigger.
    async fn obligations(&self, ctx: &Context<'_>) -> Vec<ObligationObject> {
        let designations = self.status.entry.as_ref().map(|e| e.designations.as_slice()).unwrap_or_default();
        obligations(&request(ctx).snapshot(), designations, self.as_of)
    }

    /// Why the number is invalid (null when it is a valid corporate number).
    async fn problem(&self) -> Option<&str> {
        self.status.problem.as_deref()
    }
}

/// Opaque cursor of operator listings (they are ordered by corporate number).
pub struct OperatorCursor(String);

impl CursorType for OperatorCursor {
    type Error = String;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| "invalid cursor".to_owned())?;
        let text = String::from_utf8(bytes).map_err(|_| "invalid cursor".to_owned())?;
        let number = text.strip_prefix("cn:").ok_or_else(|| "invalid cursor".to_owned())?;
        CorporateNumber::parse(number).map(|n| OperatorCursor(n.to_string())).map_err(|_| "invalid cursor".to_owned())
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("cn:{}", self.0))
    }
}

/// Extra fields of operator connections.
#[derive(SimpleObject)]
pub struct OperatorConnectionFields {
    /// How many operators match, over all pages.
    total_count: i32,
}

pub type OperatorConnection = Connection<OperatorCursor, OperatorObject, OperatorConnectionFields>;

/// The page size a connection's `first` asks for (default 50, at most `max`).
pub fn page_size(first: Option<i32>, max: u64) -> ApiResult<u64> {
    match first {
        None => Ok(DEFAULT_PAGE_SIZE.min(max)),
        Some(n) if n < 0 => Err(ApiError::bad_input("first must not be negative")),
        Some(n) if n as u64 > max => Err(ApiError::bad_input(format!("first must be at most {max}, got {n}"))),
        Some(n) => Ok(n as u64),
    }
}

fn decode_after(after: Option<String>) -> ApiResult<Option<String>> {
    after
        .map(|a| {
            OperatorCursor::decode_cursor(&a).map(|c| c.0).map_err(|_| ApiError::bad_input("invalid cursor in after"))
        })
        .transpose()
}

/// Runs an operator listing and shapes it as a Relay connection.
async fn operator_connection(
    ctx: &Context<'_>,
    query: &OperatorQuery,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<OperatorConnection> {
    let first = page_size(first, super::limits(ctx).max_page_size)?;
    let after = decode_after(after)?;
    let page = registry::operators::list(db(ctx), &request(ctx).principal, query, after.as_deref(), first).await?;
    let look = ctx.look_ahead();
    if wants_designations(look.field("edges").field("node")) || wants_designations(look.field("nodes")) {
        let ids: Vec<Uuid> = page.operators.iter().map(|o| o.id).collect();
        prime_designations(ctx, &ids).await?;
    }
    let total_count = i32::try_from(page.total_count).unwrap_or(i32::MAX);
    let mut connection = Connection::with_additional_fields(
        after.is_some(),
        page.has_next_page,
        OperatorConnectionFields { total_count },
    );
    connection.edges.extend(
        page.operators
            .into_iter()
            .map(|operator| Edge::new(OperatorCursor(operator.corporate_number.to_string()), OperatorObject(operator))),
    );
    Ok(connection)
}

/// The index of a sector or business domain by its (trimmed) code; `BAD_USER_INPUT`
/// when there is none.
fn known_field(snap: &ReferenceSnapshot, regime: Regime, code: &str) -> ApiResult<usize> {
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
            as_of: date_or_today(self.as_of),
            regimes,
            not_regime: self.not_regime.map(Into::into),
            sector: known(Regime::Ci, self.sector)?,
            domain: known(Regime::Espa, self.domain)?,
            name_contains,
            not_in_sectors: None,
        })
    }
}

/// Operator counts of the two regimes' overlap at a date.
#[derive(SimpleObject)]
pub struct OverlapTotals {
    /// Operators with an active CI and an active ESPA designation.
    both: i32,
    /// Operators with active ESPA designations only.
    espa_only: i32,
    /// Operators with active CI designations only.
    ci_only: i32,
}

fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Operators active in both a linked sector and its domain.
pub struct OverlapCellObject {
    snap: Arc<ReferenceSnapshot>,
    cell: crate::domain::overlap::OverlapCell,
    as_of: NaiveDate,
}

/// Operators active in both a linked sector and its domain.
#[Object(name = "OverlapCell")]
impl OverlapCellObject {
    /// The CI side of the linked pair.
    async fn sector(&self) -> ApiResult<SectorObject> {
        let link = &self.snap.data().links[self.cell.link_index];
        SectorObject::by_code(&self.snap, &link.ci, self.as_of).ok_or(ApiError::Internal)
    }

    /// The ESPA side of the linked pair.
    async fn domain(&self) -> ApiResult<DomainObject> {
        let link = &self.snap.data().links[self.cell.link_index];
        DomainObject::by_code(&self.snap, &link.espa, self.as_of).ok_or(ApiError::Internal)
    }

    /// Operators with an active designation in both.
    async fn operator_count(&self) -> i32 {
        count(self.cell.operator_count)
    }
}

/// ESPA-designated operators that are not CI operators in any sector linked to the domain.
pub struct DomainGapObject {
    snap: Arc<ReferenceSnapshot>,
    gap: crate::domain::overlap::DomainGap,
    as_of: NaiveDate,
}

/// ESPA-designated operators that are not CI operators in any sector linked to the domain.
#[Object(name = "DomainGap")]
impl DomainGapObject {
    /// The ESPA business domain.
    async fn domain(&self) -> DomainObject {
        DomainObject::new(self.snap.clone(), self.gap.domain_index, self.as_of)
    }

    /// How many of its designated operators are not CI operators in a linked sector.
    async fn operator_count(&self) -> i32 {
        count(self.gap.operator_count)
    }

    /// The sectors the gap is measured against (linked to the domain at the date).
    async fn linked_sectors(&self) -> Vec<SectorObject> {
        self.gap.linked_sectors.iter().filter_map(|code| SectorObject::by_code(&self.snap, code, self.as_of)).collect()
    }

    /// Those operators, in corporate-number order.
    #[graphql(complexity = "paged_complexity(first, child_complexity)")]
    async fn operators(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<OperatorConnection> {
        let query = OperatorQuery {
            domain: Some(self.snap.fields(Regime::Espa)[self.gap.domain_index].code.clone()),
            not_in_sectors: Some(self.gap.linked_sectors.clone()),
            ..OperatorQuery::at(self.as_of)
        };
        operator_connection(ctx, &query, first, after).await
    }
}

/// How the two regimes' designated operators overlap at a date.
pub struct OverlapReportObject {
    snap: Arc<ReferenceSnapshot>,
    report: OverlapReport,
}

/// How the two regimes' designated operators overlap at a date.
#[Object(name = "OverlapReport")]
impl OverlapReportObject {
    /// The date the report answers for.
    async fn as_of(&self) -> Date {
        Date(self.report.as_of)
    }

    /// Among operators with any active designation: in both regimes, ESPA only, CI only.
    async fn totals(&self) -> OverlapTotals {
        let t = self.report.totals;
        OverlapTotals { both: count(t.both), espa_only: count(t.espa_only), ci_only: count(t.ci_only) }
    }

    /// Per linked sector–domain pair: operators active in both.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn cells(&self) -> Vec<OverlapCellObject> {
        self.report
            .cells
            .iter()
            .map(|cell| OverlapCellObject { snap: self.snap.clone(), cell: cell.clone(), as_of: self.report.as_of })
            .collect()
    }

    /// Per ESPA domain: designated operators that are not CI operators in a linked sector.
    /// `domain` keeps only that business domain's gap (none when it is not in force at
    /// the date).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn domain_gaps(&self, domain: Option<String>) -> ApiResult<Vec<DomainGapObject>> {
        let only = domain.map(|code| known_field(&self.snap, Regime::Espa, &code)).transpose()?;
        Ok(self
            .report
            .domain_gaps
            .iter()
            .filter(|gap| only.is_none_or(|index| gap.domain_index == index))
            .map(|gap| DomainGapObject { snap: self.snap.clone(), gap: gap.clone(), as_of: self.report.as_of })
            .collect())
    }
}

/// Queries over operator data (any token).
#[derive(Default)]
pub struct RegistryQuery;

#[Object]
impl RegistryQuery {
    /// The operator with this corporate number (null when not registered).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn operator(&self, ctx: &Context<'_>, corporate_number: String) -> ApiResult<Option<OperatorObject>> {
        let found = registry::operators::find(index(ctx), &request(ctx).principal, &corporate_number).await?;
        Ok(match found {
            Some(entry) => Some(operator_with_designations(ctx, &entry).await),
            None => None,
        })
    }

    /// Operators matching `filter`, in corporate-number order (Relay cursor pagination;
    /// `first` defaults to 50, at most 500 unless the server is configured otherwise).
    #[graphql(complexity = "paged_complexity(first, child_complexity)")]
    async fn operators(
        &self,
        ctx: &Context<'_>,
        filter: Option<OperatorFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<OperatorConnection> {
        let query = filter.unwrap_or_default().into_query(&request(ctx).snapshot())?;
        operator_connection(ctx, &query, first, after).await
    }

    /// Statuses of up to 1,000 corporate numbers (unless the server is configured
    /// otherwise) at `asOf` (default today), one answer per input in input order; unknown
    /// or invalid numbers answer `found: false`.
    #[graphql(complexity = "DATABASE_COST + corporate_numbers.len().saturating_mul(child_complexity)")]
    async fn operator_statuses(
        &self,
        ctx: &Context<'_>,
        corporate_numbers: Vec<String>,
        as_of: Option<Date>,
    ) -> ApiResult<Vec<OperatorStatusObject>> {
        let date = date_or_today(as_of);
        let max_batch = super::limits(ctx).max_status_batch;
        let statuses =
            registry::operators::statuses(index(ctx), &request(ctx).principal, &corporate_numbers, max_batch).await?;
        // The statuses carry every designation of the operators found: nested
        // `operator { designations }` needs no further query.
        let loader = ctx.data_unchecked::<Designations>();
        loader
            .feed_many(
                statuses.iter().filter_map(|s| s.entry.as_ref().map(|e| (e.operator.id, e.designations.clone()))),
            )
            .await;
        Ok(statuses.into_iter().map(|status| OperatorStatusObject::new(status, date)).collect())
    }

    /// How CI and ESPA designations overlap at `asOf` (default today).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn overlap(&self, ctx: &Context<'_>, as_of: Option<Date>) -> ApiResult<OverlapReportObject> {
        let data = request(ctx);
        let report =
            registry::overlap::report(db(ctx), index(ctx), &data.snapshot(), &data.principal, date_or_today(as_of))
                .await?;
        Ok(OverlapReportObject { snap: data.snapshot(), report })
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

/// Designates an operator under one regime: CI with a `sector`, ESPA with a `domain`.
#[derive(InputObject)]
pub struct DesignateInput {
    /// The operator's corporate number (it must be registered).
    corporate_number: String,
    /// CI or ESPA.
    regime: RegimeValue,
    /// The CI sector code (CI only).
    sector: Option<String>,
    /// The ESPA business domain code (ESPA only).
    domain: Option<String>,
    /// Narrows it to one scope item of the sector or domain ("electricity/power-generation"
    /// or just "power-generation").
    scope_item: Option<String>,
    /// First day it holds; the sector or domain must be in force then.
    effective_from: Date,
    /// First day it no longer holds (exclusive); must be after `effectiveFrom`.
    effective_to: Option<Date>,
    /// The legal basis.
    legal_basis: Option<String>,
    /// The official reference (notice number).
    reference: Option<String>,
    /// The designating ministry; defaults to the caller's ministry, or for administrators
    /// to the ministry with jurisdiction at `effectiveFrom`.
    ministry: Option<String>,
}

/// Revokes a designation: its period closes at `effectiveTo`; the record stays.
#[derive(InputObject)]
pub struct RevokeDesignationInput {
    /// The designation's id.
    id: ID,
    /// First day it no longer holds (default: today in Japan); equal to its
    /// `effectiveFrom` cancels a designation that has not taken effect.
    effective_to: Option<Date>,
    /// Why it is revoked (required).
    reason: String,
    /// The `version` the caller read; when given and stale, `CONFLICT` and nothing changes.
    expected_version: Option<i32>,
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

/// Fixes a designation made with a wrong date or reference, without revoking it.
#[derive(InputObject)]
pub struct CorrectDesignationInput {
    /// The designation's id.
    id: ID,
    /// The `version` the caller read; when stale (someone changed it since), `CONFLICT`
    /// and nothing changes.
    expected_version: i32,
    /// The corrected first day (absent: unchanged); the sector or domain must be in force
    /// then and the designating ministry have jurisdiction.
    effective_from: Option<Date>,
    /// The corrected end, exclusive (absent: unchanged; null: open).
    effective_to: MaybeUndefined<Date>,
    /// The corrected legal basis (absent: unchanged; null: removed).
    legal_basis: MaybeUndefined<String>,
    /// The corrected official reference (absent: unchanged; null: removed).
    reference: MaybeUndefined<String>,
    /// What was wrong (required; recorded in the audit trail).
    reason: String,
}

/// Parses a UUID given as an `ID`, saying what it should have been.
pub fn parse_id(id: &ID, what: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(format!("\"{}\" is not a {what} id", id.as_str())))
}

/// Changes to the registry (admin or ministry tokens).
#[derive(Default)]
pub struct RegistryMutation;

#[Object]
impl RegistryMutation {
    /// Registers an operator (admin or any ministry). `CONFLICT` when the corporate number
    /// is already registered.
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn register_operator(&self, ctx: &Context<'_>, input: RegisterOperatorInput) -> ApiResult<OperatorObject> {
        let new = registry::operators::NewOperator {
            corporate_number: input.corporate_number,
            name_ja: input.name_ja,
            name_en: input.name_en,
        };
        Ok(OperatorObject(registry::operators::register(db(ctx), &request(ctx).principal, new).await?))
    }

    /// Designates an operator. A ministry token acts only where its ministry has
    /// jurisdiction at `effectiveFrom`; periods for the same operator, regime, sector or
    /// domain and scope item never overlap (`CONFLICT`).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn designate(&self, ctx: &Context<'_>, input: DesignateInput) -> ApiResult<DesignationObject> {
        let data = request(ctx);
        let designate = registry::designations::DesignateInput {
            corporate_number: input.corporate_number,
            request: DesignationRequest {
                regime: Some(input.regime.into()),
                sector: input.sector,
                domain: input.domain,
                scope_item: input.scope_item,
                effective_from: Some(input.effective_from.0),
                effective_to: input.effective_to.map(|d| d.0),
                ministry: input.ministry,
            },
            legal_basis: input.legal_basis,
            reference: input.reference,
        };
        let designation =
            registry::designations::designate(db(ctx), &data.snapshot(), &data.principal, designate).await?;
        Ok(DesignationObject::changed(designation))
    }

    /// Revokes a designation: closes its period and records the reason (history stays).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn revoke_designation(
        &self,
        ctx: &Context<'_>,
        input: RevokeDesignationInput,
    ) -> ApiResult<DesignationObject> {
        let data = request(ctx);
        let revoke = registry::designations::RevokeInput {
            id: parse_id(&input.id, "designation")?,
            effective_to: input.effective_to.map(|d| d.0),
            reason: input.reason,
            expected_version: input.expected_version,
        };
        let designation = registry::designations::revoke(db(ctx), &data.snapshot(), &data.principal, revoke).await?;
        Ok(DesignationObject::changed(designation))
    }

    /// Corrects an operator's names if it is still at `expectedVersion` (admin or any
    /// ministry); its `version` increases. An update that changes nothing writes nothing.
    async fn update_operator(&self, ctx: &Context<'_>, input: UpdateOperatorInput) -> ApiResult<OperatorObject> {
        let update = registry::operators::OperatorUpdate {
            corporate_number: input.corporate_number,
            expected_version: input.expected_version,
            name_ja: input.name_ja,
            name_en: input.name_en.into(),
            reason: input.reason,
        };
        Ok(OperatorObject(registry::operators::update(db(ctx), &request(ctx).principal, update).await?))
    }

    /// Records that an operator closed on `closedOn`, with its successor: every
    /// designation still open then ends there (revoked with the reason), in one change.
    /// A ministry may close an operator only when it could revoke each of those
    /// designations. `CONFLICT` when it already closed.
    async fn close_operator(&self, ctx: &Context<'_>, input: CloseOperatorInput) -> ApiResult<OperatorObject> {
        let data = request(ctx);
        let closure = registry::operators::Closure {
            corporate_number: input.corporate_number,
            closed_on: input.closed_on.0,
            successor: input.successor_corporate_number,
            reason: input.reason,
            expected_version: input.expected_version,
        };
        Ok(OperatorObject(registry::operators::close(db(ctx), &data.snapshot(), &data.principal, closure).await?))
    }

    /// Fixes a wrong date, legal basis or reference of a designation without revoking it,
    /// if it is still at `expectedVersion` (`CONFLICT` otherwise, and when the corrected
    /// period overlaps another). The same rules as for `designate` apply; a ministry
    /// corrects only its own ministry's designations.
    async fn correct_designation(
        &self,
        ctx: &Context<'_>,
        input: CorrectDesignationInput,
    ) -> ApiResult<DesignationObject> {
        let data = request(ctx);
        let date = |d: Date| d.0;
        let correct = registry::designations::CorrectInput {
            id: parse_id(&input.id, "designation")?,
            expected_version: input.expected_version,
            correction: Correction {
                effective_from: input.effective_from.map(date),
                effective_to: input.effective_to.map_value(date).into(),
                legal_basis: input.legal_basis.into(),
                reference: input.reference.into(),
            },
            reason: input.reason,
        };
        let designation = registry::designations::correct(db(ctx), &data.snapshot(), &data.principal, correct).await?;
        Ok(DesignationObject::changed(designation))
    }
}
