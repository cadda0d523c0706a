//! The overlap report of the two regimes (any token).

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use super::limits::{DATABASE_COST, LIST_COST, paged_complexity};
use super::operators::{OperatorConnection, known_field, operator_connection};
use super::reference::{DomainObject, ObligationObject, SectorObject};
use super::scalars::Date;
use super::{ApiError, ApiResult, request, services};
use crate::domain::Regime;
use crate::domain::operator::OperatorQuery;
use crate::domain::overlap::OverlapReport;
use crate::domain::reference::{Addressee, ReferenceSnapshot};
use crate::services;

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
    known_at: Option<DateTime<Utc>>,
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

    /// Those operators, in corporate-number order (as recorded at the report's `knownAt`).
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
        operator_connection(ctx, &query, first, after, self.known_at).await
    }
}

/// How many operators a duty for `addressee` binds in `report`.
fn bound_by(report: &OverlapReport, addressee: Addressee) -> u64 {
    match (addressee, report.special) {
        (Addressee::SpecialSocialInfrastructureOperator, Some(special)) => special,
        _ => report.totals.under(addressee.regime()),
    }
}

/// How many operators one duty binds at a date.
pub struct ObligationCountObject {
    snap: Arc<ReferenceSnapshot>,
    index: usize,
    as_of: NaiveDate,
    operator_count: u64,
}

/// How many operators one duty binds at a date.
#[Object(name = "ObligationCount")]
impl ObligationCountObject {
    /// The obligation rule (with whether it is in force at the date).
    async fn obligation(&self) -> ObligationObject {
        ObligationObject::new(self.snap.clone(), self.index, self.as_of)
    }

    /// Operators it binds at the date: those with an active designation under the regime
    /// that triggers it, for the Cyber Response Act's duties only those recorded as
    /// 特別社会基盤事業者 (in a scope revision proposal's impact, which does not count
    /// them, all ESPA designees: an upper bound).
    async fn operator_count(&self) -> i32 {
        count(self.operator_count)
    }
}

/// How the two regimes' designated operators overlap at a date.
pub struct OverlapReportObject {
    snap: Arc<ReferenceSnapshot>,
    report: OverlapReport,
    /// The instant it was counted as recorded at (None: now).
    known_at: Option<DateTime<Utc>>,
}

impl OverlapReportObject {
    /// A report computed over `snap` (a proposal's impact shows two).
    pub fn new(snap: Arc<ReferenceSnapshot>, report: OverlapReport) -> Self {
        Self { snap, report, known_at: None }
    }
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

    /// Per obligation rule, in rule order: the operators it binds, those with an active
    /// designation under the regime that triggers it (counted whether or not the rule is
    /// in force yet: see `obligation.inForce`).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn obligations(&self) -> Vec<ObligationCountObject> {
        self.snap
            .data()
            .obligations
            .iter()
            .enumerate()
            .map(|(index, rule)| ObligationCountObject {
                snap: self.snap.clone(),
                index,
                as_of: self.report.as_of,
                operator_count: bound_by(&self.report, rule.binds),
            })
            .collect()
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
            .map(|gap| DomainGapObject {
                snap: self.snap.clone(),
                gap: gap.clone(),
                as_of: self.report.as_of,
                known_at: self.known_at,
            })
            .collect())
    }
}

/// The overlap report (any token).
#[derive(Default)]
pub struct OverlapQuery;

#[Object]
impl OverlapQuery {
    /// How CI and ESPA designations overlap at `asOf` (default today). With `knownAt`, as
    /// the registry had recorded designations and the crosswalk at that instant: the same
    /// `asOf` and `knownAt` always give the same report.
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn overlap(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(desc = "The instant to answer as recorded at (default: now); see `Query.operator`.")]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<OverlapReportObject> {
        let data = request(ctx);
        let as_of = Date::or_today(as_of);
        let (report, snap) = match known_at {
            None => (
                services::overlap::report(services(ctx), &data.snapshot(), &data.principal, as_of).await?,
                data.snapshot(),
            ),
            Some(at) => services::record_time::overlap(services(ctx), &data.principal, as_of, at).await?,
        };
        Ok(OverlapReportObject { snap, report, known_at })
    }
}
