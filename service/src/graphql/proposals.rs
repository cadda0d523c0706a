//! Scope revision proposals in the API: drafting (policy, admin), reading them with
//! their impact and comparing two (any token), promoting (admin). Thin: inputs become
//! domain changes, the use cases in `services::proposals` decide.

use std::sync::Arc;

use async_graphql::connection::{Connection, ConnectionNameType, Edge, EdgeNameType, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, MergedObject, Object, OneofObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::designations::DesignationObject;
use super::limits::{DATABASE_COST, LIST_COST, paged_complexity};
use super::operators::{OperatorConnection, connection_of};
use super::overlap::OverlapReportObject;
use super::pagination::{decode_after, page_size, parse_id};
use super::reference::{
    CrosswalkLinkObject, DomainObject, MinistryObject, ObligationObject, RegimeValue, RelationValue, ScopeGapsObject,
    ScopeItemLinkObject, ScopeItemObject, SectorObject,
};
use super::scalars::Date;
use super::{ApiError, ApiResult, limits, request, services};
use crate::domain::crosswalk::LinkKind;
use crate::domain::proposal::{
    self, CandidateGroup, FieldCode, ImpactComparison, ImpactDifference, LinkChange, MarkedRecord, MinistryImpact,
    NewScopeItem, ObligationChange, ProposalStatus, ProposedField, ProposedLink, RecordChange, ScopeChange, ScopeCodes,
    ScopeProposal,
};
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{CorporateNumber, Regime};
use crate::services;
use crate::services::operators::OperatorPage;
use crate::services::proposals::{AskedChange, NewProposal, ProposalImpact, ProposalSnapshots};

/// Where a proposal is in its life.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ScopeProposalStatus")]
pub enum ScopeProposalStatusValue {
    /// Being drafted: its changes may still change; nothing live has.
    #[graphql(name = "DRAFT")]
    Draft,
    /// Written into the live reference data from its `effectiveFrom`; it no longer changes.
    #[graphql(name = "PROMOTED")]
    Promoted,
    /// Given up; it no longer changes.
    #[graphql(name = "WITHDRAWN")]
    Withdrawn,
}

impl From<ProposalStatus> for ScopeProposalStatusValue {
    fn from(status: ProposalStatus) -> Self {
        match status {
            ProposalStatus::Draft => Self::Draft,
            ProposalStatus::Promoted => Self::Promoted,
            ProposalStatus::Withdrawn => Self::Withdrawn,
        }
    }
}

impl From<ScopeProposalStatusValue> for ProposalStatus {
    fn from(status: ScopeProposalStatusValue) -> Self {
        match status {
            ScopeProposalStatusValue::Draft => Self::Draft,
            ScopeProposalStatusValue::Promoted => Self::Promoted,
            ScopeProposalStatusValue::Withdrawn => Self::Withdrawn,
        }
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// One change of a proposal.
pub struct ScopeChangeObject {
    index: usize,
    change: ScopeChange,
}

/// One change of a proposal, in the order they apply.
#[Object(name = "ScopeChange")]
impl ScopeChangeObject {
    /// Its position in the proposal (from 0; `removeScopeProposalChange` takes it).
    async fn index(&self) -> i32 {
        count(self.index)
    }

    /// Which field of `ScopeChangeInput` it is, e.g. "addDomain".
    async fn kind(&self) -> &'static str {
        self.change.kind()
    }

    /// A short label, e.g. "setLink medical → medical (EQUAL)".
    async fn summary(&self) -> String {
        self.change.describe()
    }

    /// The change as stored: `{"addDomain": {"code": "medical", …}}` (scope-item changes
    /// with the regime they were resolved to).
    async fn input(&self) -> Value {
        serde_json::to_value(&self.change).unwrap_or(Value::Null)
    }
}

/// A proposal as the API shows it.
pub struct ScopeProposalObject(pub ScopeProposal);

/// A scope revision proposal: changes to the protection scope from `effectiveFrom`,
/// drafted without changing anything live, with their impact.
#[Object(name = "ScopeProposal")]
impl ScopeProposalObject {
    /// Stable identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// A short name for the proposal.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// What it is for ("" when none was given).
    async fn description(&self) -> &str {
        self.0.description.as_deref().unwrap_or_default()
    }

    /// DRAFT, PROMOTED or WITHDRAWN.
    async fn status(&self) -> ScopeProposalStatusValue {
        self.0.status.into()
    }

    /// The first day its changes would hold.
    async fn effective_from(&self) -> Date {
        Date(self.0.effective_from)
    }

    /// 1 when created, one more with every change: pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Who created it: "token:<token id>" or "cli:<user>".
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }

    /// When it was promoted (null unless PROMOTED).
    async fn promoted_at(&self) -> Option<DateTime<Utc>> {
        self.0.promoted_at
    }

    /// Who promoted it (null unless PROMOTED).
    async fn promoted_by(&self) -> Option<&str> {
        self.0.promoted_by.as_deref()
    }

    /// Its changes, in the order they apply.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn changes(&self) -> Vec<ScopeChangeObject> {
        self.0.changes.iter().cloned().enumerate().map(|(index, change)| ScopeChangeObject { index, change }).collect()
    }

    /// What it would change at `effectiveFrom`, against the live data on that date
    /// (`CONFLICT` when the live data changed so that one of its changes no longer
    /// applies). Once promoted its changes are the live data, which it is then compared
    /// with (no differences; the promotion's audit event holds what it wrote).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn impact(&self, ctx: &Context<'_>) -> ApiResult<ScopeImpactObject> {
        let impact = services::proposals::impact(services(ctx), &request(ctx).principal, &self.0).await?;
        Ok(ScopeImpactObject(Arc::new(impact)))
    }

    /// The scope as it would stand at `effectiveFrom`: every sector, domain (with its
    /// scope items) and link holding then with the proposal or without it, each marked
    /// with what the proposal does to it, against the live data on that date (the same
    /// as `impact`, and `CONFLICT` as there). Once promoted, it is the live scope,
    /// unmarked.
    async fn proposed_scope(&self, ctx: &Context<'_>) -> ApiResult<ProposedScopeObject> {
        let snapshots = services::proposals::snapshots(services(ctx), &request(ctx).principal, &self.0)?;
        Ok(ProposedScopeObject(snapshots))
    }
}

/// What a proposal does to a record of the scope at its date.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ScopeRecordChange")]
pub enum ScopeRecordChangeValue {
    /// It holds at the date only with the proposal.
    Added,
    /// It holds at the date only without the proposal, which ends it then.
    Retired,
    /// It holds either way and the proposal alters it: a sector's or domain's ministries
    /// or scope items, a link's relation or rationale.
    Changed,
}

impl From<RecordChange> for ScopeRecordChangeValue {
    fn from(change: RecordChange) -> Self {
        match change {
            RecordChange::Added => Self::Added,
            RecordChange::Retired => Self::Retired,
            RecordChange::Changed => Self::Changed,
        }
    }
}

/// A scope item as a proposal would make it at its date.
#[derive(SimpleObject)]
#[graphql(name = "ProposedScopeItem")]
pub struct ProposedScopeItemObject {
    /// The service (CI) or sub-business (ESPA); one the proposal retires as it stands live.
    scope_item: ScopeItemObject,
    /// What the proposal does to it (null: nothing).
    change: Option<ScopeRecordChangeValue>,
}

/// What a proposal does to a sector or domain (the fields `ProposedSector` and
/// `ProposedBusinessDomain` share).
#[derive(SimpleObject)]
pub struct FieldMarks {
    /// What the proposal does to it (null: nothing).
    change: Option<ScopeRecordChangeValue>,
    /// Its services (CI) or sub-businesses (ESPA) at the date with the proposal or
    /// without it, each marked.
    scope_items: Vec<ProposedScopeItemObject>,
}

/// What a proposal does to a link (the fields `ProposedCrosswalkLink` and
/// `ProposedScopeItemLink` share).
#[derive(SimpleObject)]
pub struct LinkMarks {
    /// What the proposal does to it (null: nothing).
    change: Option<ScopeRecordChangeValue>,
    /// The live link's relation, for a link it changes (null otherwise).
    relation_before: Option<RelationValue>,
}

// Each proposed record names its record after the record's type, as `scopeItem` does.
#[derive(SimpleObject)]
pub struct MarkedSector {
    /// The sector at the date with the proposal; one it retires as it stands live.
    sector: SectorObject,
}

#[derive(SimpleObject)]
pub struct MarkedDomain {
    /// The domain at the date with the proposal; one it retires as it stands live.
    domain: DomainObject,
}

#[derive(SimpleObject)]
pub struct MarkedCrosswalkLink {
    /// The link at the date with the proposal; one it retires as it stands live.
    crosswalk_link: CrosswalkLinkObject,
}

#[derive(SimpleObject)]
pub struct MarkedScopeItemLink {
    /// The link at the date with the proposal; one it retires as it stands live.
    scope_item_link: ScopeItemLinkObject,
}

/// Declares the GraphQL type of a proposed record: its record's part and its marks,
/// merged.
macro_rules! proposed_record {
    ($($(#[$doc:meta])* $name:literal $object:ident($record:ident, $marks:ident);)*) => {$(
        $(#[$doc])*
        #[derive(MergedObject)]
        #[graphql(name = $name)]
        pub struct $object($record, $marks);
    )*};
}

proposed_record! {
    /// A CI sector as a proposal would make it at its date.
    "ProposedSector" ProposedSectorObject(MarkedSector, FieldMarks);
    /// An ESPA business domain as a proposal would make it at its date.
    "ProposedBusinessDomain" ProposedDomainObject(MarkedDomain, FieldMarks);
    /// A sector–domain link as a proposal would make it at its date.
    "ProposedCrosswalkLink" ProposedCrosswalkLinkObject(MarkedCrosswalkLink, LinkMarks);
    /// A scope-item link as a proposal would make it at its date.
    "ProposedScopeItemLink" ProposedScopeItemLinkObject(MarkedScopeItemLink, LinkMarks);
}

/// A proposal's scope at its date, marked as each list is asked for.
pub struct ProposedScopeObject(ProposalSnapshots);

impl ProposedScopeObject {
    fn date(&self) -> NaiveDate {
        self.0.date
    }

    /// The reference object (`new`) of a record, read from the proposed snapshot, or the
    /// live one for what the proposal retires.
    fn record<T>(&self, record: &MarkedRecord, new: impl FnOnce(Arc<ReferenceSnapshot>, usize, NaiveDate) -> T) -> T {
        let snap = if record.is_live() { &self.0.before } else { &self.0.after };
        new(snap.clone(), record.index, self.date())
    }

    fn change(record: &MarkedRecord) -> Option<ScopeRecordChangeValue> {
        record.change.map(Into::into)
    }

    /// The sectors or domains, each made by `wrap` from its record and its marks.
    fn fields<T>(&self, regime: Regime, wrap: impl Fn(&MarkedRecord, FieldMarks) -> T) -> Vec<T> {
        let fields = proposal::proposed_fields(&self.0.before, &self.0.after, self.date(), regime);
        fields.iter().map(|f| wrap(&f.field, self.field_marks(regime, f))).collect()
    }

    /// The links of `kind`, each made by `wrap` from its record and its marks.
    fn links<T>(&self, kind: LinkKind, wrap: impl Fn(&MarkedRecord, LinkMarks) -> T) -> Vec<T> {
        let links = proposal::proposed_links(&self.0.before, &self.0.after, self.date(), kind);
        let marks = |l: &ProposedLink| LinkMarks {
            change: Self::change(&l.link),
            relation_before: l.relation_before.map(Into::into),
        };
        links.iter().map(|l| wrap(&l.link, marks(l))).collect()
    }

    fn field_marks(&self, regime: Regime, field: &ProposedField) -> FieldMarks {
        let item = |i: &MarkedRecord| ProposedScopeItemObject {
            scope_item: self.record(i, |snap, index, as_of| ScopeItemObject::new(snap, regime, index, as_of)),
            change: Self::change(i),
        };
        FieldMarks { change: Self::change(&field.field), scope_items: field.items.iter().map(item).collect() }
    }
}

/// The scope as a proposal would make it at its date: what holds then with it or
/// without it, each record marked with what the proposal does to it. Sectors, domains
/// and their scope items are in display order (the live ones, then the proposal's);
/// links holding with the proposal come first, then those it retires.
#[Object(name = "ProposedScope")]
impl ProposedScopeObject {
    /// The date (the proposal's `effectiveFrom`).
    async fn as_of(&self) -> Date {
        Date(self.date())
    }

    /// The CI sectors.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn sectors(&self) -> Vec<ProposedSectorObject> {
        self.fields(Regime::Ci, |f, marks| {
            ProposedSectorObject(MarkedSector { sector: self.record(f, SectorObject::new) }, marks)
        })
    }

    /// The ESPA business domains.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn business_domains(&self) -> Vec<ProposedDomainObject> {
        self.fields(Regime::Espa, |f, marks| {
            ProposedDomainObject(MarkedDomain { domain: self.record(f, DomainObject::new) }, marks)
        })
    }

    /// The sector–domain links.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn crosswalk(&self) -> Vec<ProposedCrosswalkLinkObject> {
        self.links(LinkKind::Fields, |l, marks| {
            let link = MarkedCrosswalkLink { crosswalk_link: self.record(l, CrosswalkLinkObject::new) };
            ProposedCrosswalkLinkObject(link, marks)
        })
    }

    /// The scope-item links.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn scope_item_crosswalk(&self) -> Vec<ProposedScopeItemLinkObject> {
        self.links(LinkKind::ScopeItems, |l, marks| {
            let link = MarkedScopeItemLink { scope_item_link: self.record(l, ScopeItemLinkObject::new) };
            ProposedScopeItemLinkObject(link, marks)
        })
    }
}

/// Sectors, domains and scope items, by regime.
pub struct ScopeCodesObject {
    snap: Arc<ReferenceSnapshot>,
    codes: ScopeCodes,
    as_of: NaiveDate,
}

/// Sectors, domains and scope items a proposal covers or uncovers.
#[Object(name = "ScopeCoverageChange")]
impl ScopeCodesObject {
    /// CI sectors.
    async fn sectors(&self) -> Vec<SectorObject> {
        self.codes.sectors.iter().filter_map(|c| SectorObject::by_code(&self.snap, c, self.as_of)).collect()
    }

    /// ESPA business domains.
    async fn domains(&self) -> Vec<DomainObject> {
        self.codes.domains.iter().filter_map(|c| DomainObject::by_code(&self.snap, c, self.as_of)).collect()
    }

    /// CI services.
    async fn sector_scope_items(&self) -> Vec<ScopeItemObject> {
        self.items(Regime::Ci, &self.codes.sector_items)
    }

    /// ESPA sub-businesses.
    async fn domain_scope_items(&self) -> Vec<ScopeItemObject> {
        self.items(Regime::Espa, &self.codes.domain_items)
    }
}

impl ScopeCodesObject {
    fn items(&self, regime: Regime, codes: &[String]) -> Vec<ScopeItemObject> {
        codes
            .iter()
            .filter_map(|c| self.snap.item_index(regime, c))
            .map(|i| ScopeItemObject::new(self.snap.clone(), regime, i, self.as_of))
            .collect()
    }
}

/// How a link that candidates are listed for differs from the live one.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ScopeLinkChange {
    /// No link held between the two.
    Added,
    /// A link held with another relation or rationale.
    Changed,
}

/// For a link a proposal adds or changes: the operators designated on one side and not
/// on the other.
pub struct CandidateGroupObject {
    snap: Arc<ReferenceSnapshot>,
    group: CandidateGroup,
    as_of: NaiveDate,
}

/// For a sector–domain link a proposal adds or changes: the operators active in one of
/// the two and not in the other, candidates for designation under `side`.
#[Object(name = "CandidateGroup")]
impl CandidateGroupObject {
    /// The CI side of the link.
    async fn sector(&self) -> ApiResult<SectorObject> {
        SectorObject::by_code(&self.snap, &self.group.sector, self.as_of).ok_or(ApiError::Internal)
    }

    /// The ESPA side of the link.
    async fn domain(&self) -> ApiResult<DomainObject> {
        DomainObject::by_code(&self.snap, &self.group.domain, self.as_of).ok_or(ApiError::Internal)
    }

    /// The regime they are missing (ESPA: the sector's CI operators without an ESPA
    /// designation in the domain).
    async fn side(&self) -> RegimeValue {
        self.group.side.into()
    }

    /// The link's relation in the proposal.
    async fn relation(&self) -> RelationValue {
        self.group.relation.into()
    }

    /// Whether the proposal adds the link or changes it.
    async fn change(&self) -> ScopeLinkChange {
        match self.group.change {
            LinkChange::Added => ScopeLinkChange::Added,
            LinkChange::Changed { .. } => ScopeLinkChange::Changed,
        }
    }

    /// The live link's relation, for a changed link.
    async fn relation_before(&self) -> Option<RelationValue> {
        match self.group.change {
            LinkChange::Added => None,
            LinkChange::Changed { before } => Some(before.into()),
        }
    }

    /// How many candidates.
    async fn operator_count(&self) -> i32 {
        count(self.group.count)
    }

    /// The candidates, in corporate-number order.
    #[graphql(complexity = "paged_complexity(first, child_complexity)")]
    async fn operators(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<OperatorConnection> {
        operator_page(ctx, &self.group.operators, first, after).await
    }
}

/// A page of `numbers` (sorted) as an operator connection.
async fn operator_page(
    ctx: &Context<'_>,
    numbers: &[CorporateNumber],
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<OperatorConnection> {
    let first = page_size(first, limits(ctx).max_page_size)? as usize;
    let after = decode_after(after)?;
    let start = after.as_deref().map_or(0, |after| numbers.partition_point(|n| n.as_str() <= after));
    let page = &numbers[start.min(numbers.len())..];
    let chosen = &page[..first.min(page.len())];
    let operators = services::proposals::operators(services(ctx), &request(ctx).principal, chosen).await?;
    let page = OperatorPage {
        operators,
        entries: Vec::new(),
        total_count: numbers.len() as u64,
        has_next_page: page.len() > chosen.len(),
    };
    Ok(connection_of(page, after.is_some(), None))
}

/// How many operators would start or stop being subject to one obligation rule.
pub struct ObligationChangeObject {
    snap: Arc<ReferenceSnapshot>,
    change: ObligationChange,
    as_of: NaiveDate,
}

/// How many operators would start or stop being subject to one obligation rule (an
/// operator is subject when it has an active designation under the rule's regime).
#[Object(name = "ObligationChange")]
impl ObligationChangeObject {
    /// The rule.
    async fn obligation(&self) -> ApiResult<ObligationObject> {
        let index = self.snap.data().obligations.iter().position(|o| o.code == self.change.rule);
        index.map(|i| ObligationObject::new(self.snap.clone(), i, self.as_of)).ok_or(ApiError::Internal)
    }

    /// The regime whose designations trigger it.
    async fn triggered_by(&self) -> RegimeValue {
        self.change.triggered_by.into()
    }

    /// Whether the rule is in force at the proposal's date.
    async fn in_force(&self) -> bool {
        self.change.in_force
    }

    /// Operators subject to it with the live scope.
    async fn subject_before(&self) -> i32 {
        count(self.change.subject_before)
    }

    /// Operators subject before whose every triggering designation the proposal ends.
    async fn would_stop(&self) -> i32 {
        count(self.change.would_stop)
    }

    /// Operators the scope change alone makes subject: 0, a proposal designates nobody.
    async fn would_start(&self) -> i32 {
        count(self.change.would_start)
    }

    /// Candidates on the rule's side not subject to it: how many would become subject
    /// if each were designated where the proposal makes it a candidate.
    async fn candidates_would_start(&self) -> i32 {
        count(self.change.candidates_would_start)
    }
}

/// What one ministry gains or loses.
pub struct MinistryImpactObject {
    snap: Arc<ReferenceSnapshot>,
    impact: MinistryImpact,
    as_of: NaiveDate,
}

impl MinistryImpactObject {
    fn sectors(&self, fields: &[FieldCode]) -> Vec<SectorObject> {
        let codes = fields.iter().filter(|f| f.regime == Regime::Ci);
        codes.filter_map(|f| SectorObject::by_code(&self.snap, &f.code, self.as_of)).collect()
    }

    fn domains(&self, fields: &[FieldCode]) -> Vec<DomainObject> {
        let codes = fields.iter().filter(|f| f.regime == Regime::Espa);
        codes.filter_map(|f| DomainObject::by_code(&self.snap, &f.code, self.as_of)).collect()
    }
}

/// What one ministry gains or loses at the proposal's date: jurisdiction over sectors
/// and domains, and operators.
#[Object(name = "MinistryImpact")]
impl MinistryImpactObject {
    /// The ministry.
    async fn ministry(&self) -> ApiResult<MinistryObject> {
        MinistryObject::by_code(&self.snap, &self.impact.ministry, self.as_of).ok_or(ApiError::Internal)
    }

    /// Sectors it has jurisdiction over after and not before.
    async fn gains_sectors(&self) -> Vec<SectorObject> {
        self.sectors(&self.impact.gains)
    }

    /// Domains it has jurisdiction over after and not before.
    async fn gains_domains(&self) -> Vec<DomainObject> {
        self.domains(&self.impact.gains)
    }

    /// Sectors it has jurisdiction over before and not after.
    async fn loses_sectors(&self) -> Vec<SectorObject> {
        self.sectors(&self.impact.loses)
    }

    /// Domains it has jurisdiction over before and not after.
    async fn loses_domains(&self) -> Vec<DomainObject> {
        self.domains(&self.impact.loses)
    }

    /// Candidates it would designate (their missing field is one it gains).
    async fn operators_gained(&self) -> i32 {
        count(self.impact.operators_gained)
    }

    /// Operators with an ending designation it made.
    async fn operators_lost(&self) -> i32 {
        count(self.impact.operators_lost)
    }
}

/// Extra fields of the ending designations' connection.
#[derive(SimpleObject)]
pub struct EndingDesignationFields {
    /// How many designations end, over all pages.
    total_count: i32,
}

pub struct EndingDesignationConnectionName;
pub struct EndingDesignationEdgeName;

impl ConnectionNameType for EndingDesignationConnectionName {
    fn type_name<T: async_graphql::OutputType>() -> String {
        "EndingDesignationConnection".into()
    }
}

impl EdgeNameType for EndingDesignationEdgeName {
    fn type_name<T: async_graphql::OutputType>() -> String {
        "EndingDesignationEdge".into()
    }
}

type EndingDesignationConnection = Connection<
    usize,
    DesignationObject,
    EndingDesignationFields,
    EmptyFields,
    EndingDesignationConnectionName,
    EndingDesignationEdgeName,
>;

/// A proposal's impact.
pub struct ScopeImpactObject(Arc<ProposalImpact>);

impl ScopeImpactObject {
    fn date(&self) -> NaiveDate {
        self.0.impact.date
    }

    fn codes(&self, codes: &ScopeCodes) -> ScopeCodesObject {
        ScopeCodesObject { snap: self.0.after.clone(), codes: codes.clone(), as_of: self.date() }
    }
}

/// What a proposal would change at its `effectiveFrom`: gaps, overlap, designations that
/// end, candidates for designation, duties and ministries.
#[Object(name = "ScopeImpact")]
impl ScopeImpactObject {
    /// The date it is computed for (the proposal's `effectiveFrom`).
    async fn as_of(&self) -> Date {
        Date(self.date())
    }

    /// The gaps of the live scope at the date.
    async fn gaps_before(&self) -> ScopeGapsObject {
        ScopeGapsObject::at(self.0.before.clone(), self.date())
    }

    /// The gaps of the proposed scope at the date.
    async fn gaps_after(&self) -> ScopeGapsObject {
        ScopeGapsObject::at(self.0.after.clone(), self.date())
    }

    /// In force and covered by a link after, not before: gaps closed, new linked records.
    async fn newly_covered(&self) -> ScopeCodesObject {
        self.codes(&self.0.impact.newly_covered)
    }

    /// In a gap after, not before: links removed, new unlinked records.
    async fn newly_uncovered(&self) -> ScopeCodesObject {
        self.codes(&self.0.impact.newly_uncovered)
    }

    /// The overlap report over the live scope.
    async fn overlap_before(&self) -> OverlapReportObject {
        let report = self.0.impact.overlap_before.to_report(&self.0.before);
        OverlapReportObject::new(self.0.before.clone(), report)
    }

    /// The overlap report over the proposed scope (ending designations counted as ended).
    async fn overlap_after(&self) -> OverlapReportObject {
        let report = self.0.impact.overlap_after.to_report(&self.0.after);
        OverlapReportObject::new(self.0.after.clone(), report)
    }

    /// Designations on a sector, domain or scope item the proposal retires, which would
    /// end at `effectiveFrom`.
    async fn ending_designation_count(&self) -> i32 {
        count(self.0.impact.ending.count)
    }

    /// Operators with at least one ending designation.
    async fn ending_operator_count(&self) -> i32 {
        count(self.0.impact.ending.operator_count)
    }

    /// Those designations, by operator's corporate number.
    #[graphql(complexity = "paged_complexity(first, child_complexity)")]
    async fn ending_designations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<EndingDesignationConnection> {
        use async_graphql::connection::CursorType;
        let first = page_size(first, limits(ctx).max_page_size)? as usize;
        let start = after
            .as_deref()
            .map(|a| usize::decode_cursor(a).map(|i| i + 1).map_err(|_| ApiError::bad_input("invalid cursor in after")))
            .transpose()?
            .unwrap_or(0);
        let all = &self.0.impact.ending.designations;
        let chosen = &all[start.min(all.len())..(start + first).min(all.len())];
        let ids: Vec<uuid::Uuid> = chosen.iter().map(|e| e.id).collect();
        let found = services::proposals::designations(services(ctx), &request(ctx).principal, &ids).await?;
        let mut connection = Connection::with_additional_fields(
            start > 0,
            start + chosen.len() < all.len(),
            EndingDesignationFields { total_count: count(all.len()) },
        );
        connection.edges.extend(
            found
                .into_iter()
                .enumerate()
                .map(|(i, designation)| Edge::new(start + i, DesignationObject::at(designation, self.date()))),
        );
        Ok(connection)
    }

    /// For each link the proposal adds or changes (side ESPA, then CI), the operators
    /// designated on one side and not the other.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn candidates(&self) -> Vec<CandidateGroupObject> {
        let groups = self.0.impact.candidates.iter().cloned();
        groups.map(|group| CandidateGroupObject { snap: self.0.after.clone(), group, as_of: self.date() }).collect()
    }

    /// Per obligation rule, operators that would start or stop being subject to it.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn obligation_changes(&self) -> Vec<ObligationChangeObject> {
        let changes = self.0.impact.obligation_changes.iter().cloned();
        changes
            .map(|change| ObligationChangeObject { snap: self.0.after.clone(), change, as_of: self.date() })
            .collect()
    }

    /// Per ministry that gains or loses anything.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn by_ministry(&self) -> Vec<MinistryImpactObject> {
        let impacts = self.0.impact.by_ministry.iter().cloned();
        impacts.map(|impact| MinistryImpactObject { snap: self.0.after.clone(), impact, as_of: self.date() }).collect()
    }
}

/// Which figure two impacts differ in.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ImpactDifferenceKind {
    /// Computed for different dates.
    Date,
    /// A sector, domain or scope item is in one proposal's gaps after and not the other's.
    GapAfter,
    /// An overlap total after (`subject`: both, espaOnly or ciOnly).
    OverlapTotal,
    /// A cell of the overlap after (`subject`: "<sector>:<domain>").
    Cell,
    /// A domain gap of the overlap after (`subject`: the domain).
    DomainGap,
    /// Candidates of a link and side (`subject`: "<sector>:<domain>:<side>").
    Candidates,
    /// Ending designations, in all (`subject`: "all") or on one retired record.
    Ending,
    /// An obligation figure (`subject`: "<rule>:<figure>").
    Obligation,
    /// A ministry's jurisdiction gained or lost (`subject`: "<ministry>:<gains|loses>:<REGIME>:<code>").
    MinistryJurisdiction,
    /// A ministry's operators gained or lost (`subject`: "<ministry>:<gained|lost>").
    MinistryOperators,
}

/// One place where two proposals' impacts differ.
#[derive(SimpleObject)]
#[graphql(name = "ImpactDifference")]
pub struct ImpactDifferenceObject {
    /// Which figure differs.
    kind: ImpactDifferenceKind,
    /// What differs, as its kind says.
    subject: String,
    /// The first proposal's value (a count, a date, or "yes"/"no" for membership; null:
    /// it has no such entry).
    a: Option<String>,
    /// The second proposal's value.
    b: Option<String>,
}

fn yes_no(value: bool) -> Option<String> {
    Some(if value { "yes" } else { "no" }.into())
}

fn shown<T: ToString>(value: Option<T>) -> Option<String> {
    value.map(|v| v.to_string())
}

impl From<ImpactDifference> for ImpactDifferenceObject {
    fn from(difference: ImpactDifference) -> Self {
        use ImpactDifference as D;
        use ImpactDifferenceKind as K;
        let (kind, subject, a, b) = match difference {
            D::Date { a, b } => (K::Date, "effectiveFrom".to_owned(), shown(Some(a)), shown(Some(b))),
            D::GapAfter { kind, code, in_a, in_b } => {
                (K::GapAfter, format!("{kind:?}:{code}"), yes_no(in_a), yes_no(in_b))
            }
            D::OverlapTotal { measure, a, b } => {
                (K::OverlapTotal, format!("{measure:?}"), shown(Some(a)), shown(Some(b)))
            }
            D::Cell { sector, domain, a, b } => (K::Cell, format!("{sector}:{domain}"), shown(a), shown(b)),
            D::DomainGap { domain, a, b } => (K::DomainGap, domain, shown(a), shown(b)),
            D::Candidates { sector, domain, side, a, b } => {
                (K::Candidates, format!("{sector}:{domain}:{side}"), shown(a), shown(b))
            }
            D::Ending { record, a, b } => {
                let subject = record.map_or_else(|| "all".to_owned(), |r| r.to_string());
                (K::Ending, subject, shown(Some(a)), shown(Some(b)))
            }
            D::Obligation { rule, measure, a, b } => {
                (K::Obligation, format!("{rule}:{measure:?}"), shown(Some(a)), shown(Some(b)))
            }
            D::MinistryJurisdiction { ministry, change, field, in_a, in_b } => (
                K::MinistryJurisdiction,
                format!("{ministry}:{change:?}:{}:{}", field.regime, field.code),
                yes_no(in_a),
                yes_no(in_b),
            ),
            D::MinistryOperators { ministry, measure, a, b } => {
                (K::MinistryOperators, format!("{ministry}:{measure:?}"), shown(Some(a)), shown(Some(b)))
            }
        };
        Self { kind, subject, a, b }
    }
}

/// Two proposals' impacts side by side and where they differ.
pub struct ScopeProposalComparisonObject {
    a: ScopeProposal,
    b: ScopeProposal,
    impact_a: Arc<ProposalImpact>,
    impact_b: Arc<ProposalImpact>,
    comparison: ImpactComparison,
}

/// Two proposals' impacts side by side and where they differ.
#[Object(name = "ScopeProposalComparison")]
impl ScopeProposalComparisonObject {
    /// The first proposal.
    async fn a(&self) -> ScopeProposalObject {
        ScopeProposalObject(self.a.clone())
    }

    /// The second proposal.
    async fn b(&self) -> ScopeProposalObject {
        ScopeProposalObject(self.b.clone())
    }

    /// The first proposal's impact.
    async fn impact_a(&self) -> ScopeImpactObject {
        ScopeImpactObject(self.impact_a.clone())
    }

    /// The second proposal's impact.
    async fn impact_b(&self) -> ScopeImpactObject {
        ScopeImpactObject(self.impact_b.clone())
    }

    /// True when the two lead to the same results.
    async fn same(&self) -> bool {
        self.comparison.is_same()
    }

    /// Every figure they differ in: gaps after, overlap after, candidates, ending
    /// designations, obligations, ministries.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn differences(&self) -> Vec<ImpactDifferenceObject> {
        self.comparison.differences.iter().cloned().map(Into::into).collect()
    }
}

async fn proposal_by_id(ctx: &Context<'_>, id: &ID) -> ApiResult<Option<ScopeProposal>> {
    let id = parse_id(id, "scope proposal")?;
    Ok(services::proposals::find(services(ctx), &request(ctx).principal, id).await?)
}

/// Reading scope revision proposals (any token).
#[derive(Default)]
pub struct ProposalQuery;

#[Object]
impl ProposalQuery {
    /// Every proposal (with this status), oldest first.
    #[graphql(complexity = "DATABASE_COST + LIST_COST * child_complexity")]
    async fn scope_proposals(
        &self,
        ctx: &Context<'_>,
        status: Option<ScopeProposalStatusValue>,
    ) -> ApiResult<Vec<ScopeProposalObject>> {
        let proposals =
            services::proposals::list(services(ctx), &request(ctx).principal, status.map(Into::into)).await?;
        Ok(proposals.into_iter().map(ScopeProposalObject).collect())
    }

    /// The proposal with this id (null when there is none).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn scope_proposal(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<ScopeProposalObject>> {
        Ok(proposal_by_id(ctx, &id).await?.map(ScopeProposalObject))
    }

    /// The impacts of two proposals side by side, and where they differ.
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn compare_scope_proposals(
        &self,
        ctx: &Context<'_>,
        a: ID,
        b: ID,
    ) -> ApiResult<ScopeProposalComparisonObject> {
        let missing = |id: &ID| ApiError::NotFound(format!("no scope proposal {}", id.as_str()));
        let first = proposal_by_id(ctx, &a).await?.ok_or_else(|| missing(&a))?;
        let second = proposal_by_id(ctx, &b).await?.ok_or_else(|| missing(&b))?;
        let (impact_a, impact_b, comparison) =
            services::proposals::compare(services(ctx), &request(ctx).principal, &first, &second).await?;
        Ok(ScopeProposalComparisonObject {
            a: first,
            b: second,
            impact_a: Arc::new(impact_a),
            impact_b: Arc::new(impact_b),
            comparison,
        })
    }
}

/// A new proposal.
#[derive(InputObject)]
pub struct CreateScopeProposalInput {
    /// A short name for the proposal.
    title: String,
    /// What the proposal is for, at more length (optional).
    description: Option<String>,
    /// The first day its changes would hold (today or later).
    effective_from: Date,
}

/// A scope item a new sector or domain comes with.
#[derive(InputObject)]
pub struct NewScopeItemInput {
    /// "parent/item", or just "item".
    code: String,
    /// Japanese name.
    name_ja: String,
    /// English name.
    name_en: String,
}

/// A new sector (CI) or business domain (ESPA) with its scope items.
#[derive(InputObject)]
pub struct AddScopeFieldInput {
    /// Lower-kebab code, never published before in the regime.
    code: String,
    /// Japanese name.
    name_ja: String,
    /// English name.
    name_en: String,
    /// The ministry with jurisdiction over it.
    ministry: String,
    /// Its scope items (services of a sector, sub-businesses of a domain); none when
    /// left out (nullable, as every argument with a default).
    #[graphql(default_with = "Some(Vec::new())")]
    scope_items: Option<Vec<NewScopeItemInput>>,
}

/// A sector or business domain to retire (with its scope items, links and jurisdictions).
#[derive(InputObject)]
pub struct RetireScopeFieldInput {
    /// The code (lower-kebab; scope items "parent/item").
    code: String,
}

/// A new scope item of a sector or domain.
#[derive(InputObject)]
pub struct AddScopeItemInput {
    /// The sector or domain code.
    parent: String,
    /// "parent/item", or just "item".
    code: String,
    /// Japanese name.
    name_ja: String,
    /// English name.
    name_en: String,
    /// CI for a sector's service, ESPA for a domain's sub-business; needed only when the
    /// parent code is both a sector and a domain.
    regime: Option<RegimeValue>,
}

/// A scope item to retire (with its scope-item links).
#[derive(InputObject)]
pub struct RetireScopeItemInput {
    /// The code (lower-kebab; scope items "parent/item").
    code: String,
    /// Needed only when the code is a scope item of both regimes.
    regime: Option<RegimeValue>,
}

/// A sector–domain link from the proposal's date.
#[derive(InputObject)]
pub struct SetLinkInput {
    /// The CI sector code.
    sector: String,
    /// The ESPA business domain code.
    domain: String,
    /// How the CI side relates to the ESPA side.
    relation: RelationValue,
    /// One sentence on why this relation holds.
    rationale: String,
}

/// A sector–domain link to end (with the scope-item links between their items).
#[derive(InputObject)]
pub struct UnlinkFieldsInput {
    /// The CI sector code.
    sector: String,
    /// The ESPA business domain code.
    domain: String,
}

/// A scope-item link from the proposal's date (CI item on the left).
#[derive(InputObject)]
pub struct SetScopeItemLinkInput {
    /// The CI scope item code.
    sector_item: String,
    /// The ESPA scope item code.
    domain_item: String,
    /// How the CI side relates to the ESPA side.
    relation: RelationValue,
    /// One sentence on why this relation holds.
    rationale: String,
}

/// A scope-item link to end.
#[derive(InputObject)]
pub struct UnlinkScopeItemsInput {
    /// The CI scope item code.
    sector_item: String,
    /// The ESPA scope item code.
    domain_item: String,
}

/// The ministry that alone has jurisdiction over a sector or (exactly one of them) a
/// domain from the proposal's date (a transfer); with `scopeItem`, the ministry that has
/// jurisdiction over that scope item of it beside the ministries that have the whole
/// field (co-competence).
#[derive(InputObject)]
pub struct SetJurisdictionInput {
    /// The ministry code (e.g. "MHLW").
    ministry: String,
    /// The CI sector code.
    sector: Option<String>,
    /// The ESPA business domain code.
    domain: Option<String>,
    /// A scope item of the sector or domain ("finance/deposit-insurance", or just
    /// "deposit-insurance"): the jurisdiction is narrowed to it, and nothing else ends.
    scope_item: Option<String>,
}

/// One change to the protection scope: exactly one field.
#[derive(OneofObject)]
pub enum ScopeChangeInput {
    /// A new CI sector, with its scope items, under a ministry.
    AddSector(AddScopeFieldInput),
    /// The CI sector ends (with its scope items, links and jurisdictions).
    RetireSector(RetireScopeFieldInput),
    /// A new ESPA business domain, with its scope items, under a ministry.
    AddDomain(AddScopeFieldInput),
    /// The ESPA business domain ends (with its scope items, links and jurisdictions).
    RetireDomain(RetireScopeFieldInput),
    /// A new scope item of an existing sector or domain.
    AddScopeItem(AddScopeItemInput),
    /// The scope item ends (with its scope-item links).
    RetireScopeItem(RetireScopeItemInput),
    /// The sector and the domain are linked with this relation.
    SetLink(SetLinkInput),
    /// The sector–domain link ends (with the scope-item links between their items).
    RemoveLink(UnlinkFieldsInput),
    /// The two scope items are linked with this relation.
    SetScopeItemLink(SetScopeItemLinkInput),
    /// The scope-item link ends.
    RemoveScopeItemLink(UnlinkScopeItemsInput),
    /// The ministry alone has jurisdiction over the sector or domain (a transfer), or with
    /// `scopeItem` has it over that scope item beside the others (co-competence).
    SetJurisdiction(SetJurisdictionInput),
}

fn new_items(items: Option<Vec<NewScopeItemInput>>) -> Vec<NewScopeItem> {
    items
        .unwrap_or_default()
        .into_iter()
        .map(|i| NewScopeItem { code: i.code, name_ja: i.name_ja, name_en: i.name_en })
        .collect()
}

impl ScopeChangeInput {
    fn into_asked(self) -> ApiResult<AskedChange> {
        // A scope item's regime, given or left for the code to say (CI until then).
        let asked = |regime: Option<RegimeValue>, change: &dyn Fn(Regime) -> ScopeChange| match regime {
            Some(regime) => AskedChange::Exact(change(regime.into())),
            None => AskedChange::RegimeFromCode(change(Regime::Ci)),
        };
        Ok(match self {
            Self::AddSector(f) => AskedChange::Exact(ScopeChange::AddSector {
                code: f.code,
                name_ja: f.name_ja,
                name_en: f.name_en,
                ministry: f.ministry,
                scope_items: new_items(f.scope_items),
            }),
            Self::AddDomain(f) => AskedChange::Exact(ScopeChange::AddDomain {
                code: f.code,
                name_ja: f.name_ja,
                name_en: f.name_en,
                ministry: f.ministry,
                scope_items: new_items(f.scope_items),
            }),
            Self::RetireSector(f) => AskedChange::Exact(ScopeChange::RetireSector { code: f.code }),
            Self::RetireDomain(f) => AskedChange::Exact(ScopeChange::RetireDomain { code: f.code }),
            Self::AddScopeItem(i) => asked(i.regime, &|regime| ScopeChange::AddScopeItem {
                regime,
                parent: i.parent.clone(),
                code: i.code.clone(),
                name_ja: i.name_ja.clone(),
                name_en: i.name_en.clone(),
            }),
            Self::RetireScopeItem(i) => {
                asked(i.regime, &|regime| ScopeChange::RetireScopeItem { regime, code: i.code.clone() })
            }
            Self::SetLink(l) => AskedChange::Exact(ScopeChange::SetLink {
                sector: l.sector,
                domain: l.domain,
                relation: l.relation.into(),
                rationale: l.rationale,
            }),
            Self::RemoveLink(l) => AskedChange::Exact(ScopeChange::RemoveLink { sector: l.sector, domain: l.domain }),
            Self::SetScopeItemLink(l) => AskedChange::Exact(ScopeChange::SetScopeItemLink {
                sector_item: l.sector_item,
                domain_item: l.domain_item,
                relation: l.relation.into(),
                rationale: l.rationale,
            }),
            Self::RemoveScopeItemLink(l) => AskedChange::Exact(ScopeChange::RemoveScopeItemLink {
                sector_item: l.sector_item,
                domain_item: l.domain_item,
            }),
            Self::SetJurisdiction(j) => {
                let (regime, field) = match (j.sector, j.domain) {
                    (Some(sector), None) => (Regime::Ci, sector),
                    (None, Some(domain)) => (Regime::Espa, domain),
                    _ => {
                        return Err(ApiError::bad_input(
                            "setJurisdiction names exactly one of sector (CI) or domain (ESPA)",
                        ));
                    }
                };
                AskedChange::Exact(ScopeChange::SetJurisdiction {
                    ministry: j.ministry,
                    regime,
                    field,
                    scope_item: j.scope_item,
                })
            }
        })
    }
}

/// A change to an existing draft, at the version the caller read.
#[derive(InputObject)]
pub struct AddScopeProposalChangeInput {
    /// The proposal (a DRAFT).
    proposal_id: ID,
    /// The `version` the caller read (`CONFLICT` when it is no longer current).
    expected_version: i32,
    /// The change: exactly one field set.
    change: ScopeChangeInput,
}

/// Removes one change of a draft, at the version the caller read.
#[derive(InputObject)]
pub struct RemoveScopeProposalChangeInput {
    /// The proposal (a DRAFT).
    proposal_id: ID,
    /// The `version` the caller read (`CONFLICT` when it is no longer current).
    expected_version: i32,
    /// The change's `index` (from 0).
    index: i32,
}

/// A proposal at the version the caller read (to withdraw or promote it).
#[derive(InputObject)]
pub struct ScopeProposalVersionInput {
    /// The proposal.
    id: ID,
    /// The `version` the caller read (`CONFLICT` when it is no longer current).
    expected_version: i32,
}

/// Drafting (policy, admin) and promoting (admin) scope revision proposals.
#[derive(Default)]
pub struct ProposalMutation;

#[Object]
impl ProposalMutation {
    /// Creates a DRAFT proposal (version 1, no changes); changes nothing live.
    async fn create_scope_proposal(
        &self,
        ctx: &Context<'_>,
        input: CreateScopeProposalInput,
    ) -> ApiResult<ScopeProposalObject> {
        let input =
            NewProposal { title: input.title, description: input.description, effective_from: input.effective_from.0 };
        Ok(ScopeProposalObject(services::proposals::create(services(ctx), &request(ctx).principal, input).await?))
    }

    /// Appends a change to a draft. `CONFLICT` when `expectedVersion` is stale;
    /// `BAD_USER_INPUT` naming the change when it cannot apply to the scope at
    /// `effectiveFrom` (nothing is stored).
    async fn add_scope_proposal_change(
        &self,
        ctx: &Context<'_>,
        input: AddScopeProposalChangeInput,
    ) -> ApiResult<ScopeProposalObject> {
        let id = parse_id(&input.proposal_id, "scope proposal")?;
        let change = input.change.into_asked()?;
        let proposal =
            services::proposals::add_change(services(ctx), &request(ctx).principal, id, input.expected_version, change)
                .await?;
        Ok(ScopeProposalObject(proposal))
    }

    /// Removes a change of a draft (refused when a later change depends on it).
    async fn remove_scope_proposal_change(
        &self,
        ctx: &Context<'_>,
        input: RemoveScopeProposalChangeInput,
    ) -> ApiResult<ScopeProposalObject> {
        let id = parse_id(&input.proposal_id, "scope proposal")?;
        let index = usize::try_from(input.index).map_err(|_| ApiError::bad_input("index must not be negative"))?;
        let proposal = services::proposals::remove_change(
            services(ctx),
            &request(ctx).principal,
            id,
            input.expected_version,
            index,
        )
        .await?;
        Ok(ScopeProposalObject(proposal))
    }

    /// Withdraws a draft (final).
    async fn withdraw_scope_proposal(
        &self,
        ctx: &Context<'_>,
        input: ScopeProposalVersionInput,
    ) -> ApiResult<ScopeProposalObject> {
        let id = parse_id(&input.id, "scope proposal")?;
        let proposal =
            services::proposals::withdraw(services(ctx), &request(ctx).principal, id, input.expected_version).await?;
        Ok(ScopeProposalObject(proposal))
    }

    /// Promotes a draft (admin only): in one transaction, its changes become
    /// effective-dated reference data from `effectiveFrom` (retirements end records,
    /// never delete them; designations on retired records end then, with the proposal
    /// as reason), audited and announced to `referenceDataChanged` subscribers on every
    /// instance; the proposal is PROMOTED and no longer changes. `CONFLICT` naming the
    /// change when the live data changed so that it no longer applies (nothing written).
    async fn promote_scope_proposal(
        &self,
        ctx: &Context<'_>,
        input: ScopeProposalVersionInput,
    ) -> ApiResult<ScopeProposalObject> {
        let id = parse_id(&input.id, "scope proposal")?;
        let proposal =
            services::proposals::promote(services(ctx), &request(ctx).principal, id, input.expected_version).await?;
        Ok(ScopeProposalObject(proposal))
    }
}
