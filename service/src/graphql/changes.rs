//! What changed between two dates (`changesBetween`): reference data for anyone, the
//! designations' counts with a token.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::NaiveDate;

use super::limits::{DATABASE_COST, LIST_COST};
use super::reference::{CrosswalkLinkObject, DomainObject, RegimeValue, ScopeItemObject, SectorObject};
use super::scalars::Date;
use super::{ApiResult, request, services};
use crate::domain::Regime;
use crate::domain::changes::{Change, ChangeKind, Counts, DesignationChanges, ItemRef, ReferenceChanges};
use crate::domain::reference::{FieldRef, ReferenceSnapshot};
use crate::services;

/// Whether something started (its first day) or ended (the first day it no longer holds).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(name = "ChangeKind")]
pub enum ChangeKindValue {
    /// It holds from this day.
    Started,
    /// It no longer holds from this day.
    Ended,
}

impl From<ChangeKind> for ChangeKindValue {
    fn from(kind: ChangeKind) -> Self {
        match kind {
            ChangeKind::Started => ChangeKindValue::Started,
            ChangeKind::Ended => ChangeKindValue::Ended,
        }
    }
}

/// How many started and how many ended in the window.
#[derive(SimpleObject)]
pub struct ChangeCounts {
    /// How many started.
    started: i32,
    /// How many ended.
    ended: i32,
}

impl From<Counts> for ChangeCounts {
    fn from(counts: Counts) -> Self {
        let count = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        ChangeCounts { started: count(counts.started), ended: count(counts.ended) }
    }
}

/// Which sector or domain a change concerns: the sector (CI) or the domain (ESPA).
#[derive(SimpleObject)]
pub struct FieldSide {
    /// Its regime.
    regime: RegimeValue,
    /// The sector (CI only).
    sector: Option<SectorObject>,
    /// The business domain (ESPA only).
    domain: Option<DomainObject>,
}

impl FieldSide {
    /// The field as seen at `as_of` (the date its nested fields answer for).
    fn new(snap: &Arc<ReferenceSnapshot>, field: FieldRef, as_of: NaiveDate) -> Self {
        Self {
            regime: field.regime.into(),
            sector: (field.regime == Regime::Ci).then(|| SectorObject::new(snap.clone(), field.index, as_of)),
            domain: (field.regime == Regime::Espa).then(|| DomainObject::new(snap.clone(), field.index, as_of)),
        }
    }
}

/// A CI sector or ESPA business domain that started or ended (seen on its first day, or
/// its last).
#[derive(SimpleObject)]
#[graphql(name = "FieldChange")]
pub struct FieldChangeObject {
    #[graphql(flatten)]
    side: FieldSide,
    /// Whether it started or ended.
    change: ChangeKindValue,
    /// The day: its first day, or the first day it no longer holds.
    on: Date,
}

impl FieldChangeObject {
    fn new(snap: &Arc<ReferenceSnapshot>, change: &Change<FieldRef>) -> Self {
        Self {
            side: FieldSide::new(snap, change.subject, change.seen_on()),
            change: change.kind.into(),
            on: Date(change.on),
        }
    }
}

/// A service (CI) or sub-business (ESPA) that started or ended, with its own dates or
/// its sector's or domain's (seen on its first day, or its last); `sector` or `domain`
/// is the one it belongs to.
#[derive(SimpleObject)]
#[graphql(name = "ScopeItemChange")]
pub struct ScopeItemChangeObject {
    #[graphql(flatten)]
    side: FieldSide,
    /// The service or sub-business.
    scope_item: ScopeItemObject,
    /// Whether it started or ended.
    change: ChangeKindValue,
    /// The day: its first day, or the first day it no longer holds.
    on: Date,
}

impl ScopeItemChangeObject {
    /// None for an item whose sector or domain is unknown (the seed checks rule it out).
    fn new(snap: &Arc<ReferenceSnapshot>, change: &Change<ItemRef>) -> Option<Self> {
        let ItemRef { regime, index } = change.subject;
        let parent = snap.field_index(regime, &snap.items(regime)[index].parent)?;
        let seen_on = change.seen_on();
        Some(Self {
            side: FieldSide::new(snap, FieldRef { regime, index: parent }, seen_on),
            scope_item: ScopeItemObject::new(snap.clone(), regime, index, seen_on),
            change: change.kind.into(),
            on: Date(change.on),
        })
    }
}

/// A sector–domain link that started or ended, with its own dates or its ends'.
#[derive(SimpleObject)]
#[graphql(name = "LinkChange")]
pub struct LinkChangeObject {
    /// The link, as on its first day (started) or its last (ended).
    link: CrosswalkLinkObject,
    /// Whether it started or ended.
    change: ChangeKindValue,
    /// The day: its first day, or the first day it no longer holds.
    on: Date,
}

/// One sector's or domain's reference-data changes in the window (seen on its second date).
#[derive(SimpleObject)]
#[graphql(name = "FieldChangeCounts")]
pub struct FieldChangeCountsObject {
    #[graphql(flatten)]
    side: FieldSide,
    /// Its services or sub-businesses that started or ended.
    scope_items: ChangeCounts,
    /// Its links to the other regime that started or ended.
    links: ChangeCounts,
}

/// One sector's or domain's designations that started or ended in the window (seen on
/// its second date).
#[derive(SimpleObject)]
#[graphql(name = "FieldDesignationChanges")]
pub struct FieldDesignationChangesObject {
    #[graphql(flatten)]
    side: FieldSide,
    /// Its designations that started and ended.
    designations: ChangeCounts,
}

/// The designations that started or ended in the window.
pub struct DesignationChangesObject {
    snap: Arc<ReferenceSnapshot>,
    changes: DesignationChanges,
    as_of: NaiveDate,
}

/// The designations that started or ended in the window (a designation revoked before
/// it took effect never held, and counts for neither).
#[Object(name = "DesignationChanges")]
impl DesignationChangesObject {
    /// All of them.
    async fn total(&self) -> ChangeCounts {
        self.changes.total.into()
    }

    /// Per sector and domain with a change, sectors first.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn by_field(&self) -> Vec<FieldDesignationChangesObject> {
        self.changes
            .by_field
            .iter()
            .map(|&(field, counts)| FieldDesignationChangesObject {
                side: FieldSide::new(&self.snap, field, self.as_of),
                designations: counts.into(),
            })
            .collect()
    }
}

/// What started and ended on the days after `from` up to and including `to`: what
/// differs between the registry as of `from` and as of `to`.
pub struct ChangesBetweenObject {
    snap: Arc<ReferenceSnapshot>,
    changes: ReferenceChanges,
}

/// What started and ended on the days after `from` up to and including `to`: what
/// differs between the registry as of `from` and as of `to`. A scope item holds only
/// while its sector or domain does, a link only while both its ends do.
#[Object(name = "ChangesBetween")]
impl ChangesBetweenObject {
    /// The first date (its own changes are not in the window).
    async fn from(&self) -> Date {
        Date(self.changes.window.from())
    }

    /// The second date (its changes are in the window).
    async fn to(&self) -> Date {
        Date(self.changes.window.to())
    }

    /// Sectors and business domains that started or ended, in date order.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn fields(&self) -> Vec<FieldChangeObject> {
        self.changes.fields.iter().map(|change| FieldChangeObject::new(&self.snap, change)).collect()
    }

    /// Services and sub-businesses that started or ended, in date order.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn scope_items(&self) -> Vec<ScopeItemChangeObject> {
        self.changes.scope_items.iter().filter_map(|change| ScopeItemChangeObject::new(&self.snap, change)).collect()
    }

    /// Sector–domain links that started or ended, in date order.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn links(&self) -> Vec<LinkChangeObject> {
        self.changes
            .links
            .iter()
            .map(|change| LinkChangeObject {
                link: CrosswalkLinkObject::new(self.snap.clone(), change.subject, change.seen_on()),
                change: change.kind.into(),
                on: Date(change.on),
            })
            .collect()
    }

    /// Per sector and domain whose scope items or links changed (a link counts for
    /// both its ends), sectors first.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn by_field(&self) -> Vec<FieldChangeCountsObject> {
        self.changes
            .by_field
            .iter()
            .map(|&(field, counts)| FieldChangeCountsObject {
                side: FieldSide::new(&self.snap, field, self.changes.window.to()),
                scope_items: counts.scope_items.into(),
                links: counts.links.into(),
            })
            .collect()
    }

    /// The designations that started or ended, in all and per sector and domain
    /// (operator data: needs a token).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn designations(&self, ctx: &Context<'_>) -> ApiResult<DesignationChangesObject> {
        let data = request(ctx);
        let window = self.changes.window;
        let changes =
            services::changes::designation_changes(services(ctx), &self.snap, &data.principal, window).await?;
        Ok(DesignationChangesObject { snap: self.snap.clone(), changes, as_of: window.to() })
    }
}

/// What changed between two dates.
#[derive(Default)]
pub struct ChangesQuery;

#[Object]
impl ChangesQuery {
    /// What started and ended after `from` up to and including `to` (`from` must not be
    /// after `to`; equal dates: nothing). Reference data is public; `designations` needs
    /// a token.
    async fn changes_between(&self, ctx: &Context<'_>, from: Date, to: Date) -> ApiResult<ChangesBetweenObject> {
        let snap = request(ctx).snapshot();
        let changes = services::changes::reference_changes(&snap, from.0, to.0)?;
        Ok(ChangesBetweenObject { snap, changes })
    }
}
