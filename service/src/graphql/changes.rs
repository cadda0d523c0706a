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
use crate::domain::changes::{Change, ChangeKind, Counts, DesignationChanges, FieldCounts, ItemRef, ReferenceChanges};
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

/// A sector or domain as the change objects show it: the sector (CI) or the domain (ESPA).
fn sector_of(snap: &Arc<ReferenceSnapshot>, field: FieldRef, as_of: NaiveDate) -> Option<SectorObject> {
    (field.regime == Regime::Ci).then(|| SectorObject::new(snap.clone(), field.index, as_of))
}

fn domain_of(snap: &Arc<ReferenceSnapshot>, field: FieldRef, as_of: NaiveDate) -> Option<DomainObject> {
    (field.regime == Regime::Espa).then(|| DomainObject::new(snap.clone(), field.index, as_of))
}

/// A CI sector or ESPA business domain that started or ended.
pub struct FieldChangeObject {
    snap: Arc<ReferenceSnapshot>,
    change: Change<FieldRef>,
}

/// A CI sector or ESPA business domain that started or ended.
#[Object(name = "FieldChange")]
impl FieldChangeObject {
    /// Its regime.
    async fn regime(&self) -> RegimeValue {
        self.change.subject.regime.into()
    }

    /// The sector (CI only), as on its first day (started) or its last (ended).
    async fn sector(&self) -> Option<SectorObject> {
        sector_of(&self.snap, self.change.subject, self.change.seen_on())
    }

    /// The business domain (ESPA only), as on its first day (started) or its last (ended).
    async fn domain(&self) -> Option<DomainObject> {
        domain_of(&self.snap, self.change.subject, self.change.seen_on())
    }

    /// Whether it started or ended.
    async fn change(&self) -> ChangeKindValue {
        self.change.kind.into()
    }

    /// The day: its first day, or the first day it no longer holds.
    async fn on(&self) -> Date {
        Date(self.change.on)
    }
}

/// A service (CI) or sub-business (ESPA) that started or ended (with its own dates or
/// its sector's or domain's).
pub struct ScopeItemChangeObject {
    snap: Arc<ReferenceSnapshot>,
    change: Change<ItemRef>,
}

impl ScopeItemChangeObject {
    fn parent(&self) -> Option<FieldRef> {
        let ItemRef { regime, index } = self.change.subject;
        let parent = &self.snap.items(regime)[index].parent;
        self.snap.field_index(regime, parent).map(|index| FieldRef { regime, index })
    }
}

/// A service (CI) or sub-business (ESPA) that started or ended (with its own dates or
/// its sector's or domain's).
#[Object(name = "ScopeItemChange")]
impl ScopeItemChangeObject {
    /// Its regime.
    async fn regime(&self) -> RegimeValue {
        self.change.subject.regime.into()
    }

    /// The service or sub-business.
    async fn scope_item(&self) -> ScopeItemObject {
        let ItemRef { regime, index } = self.change.subject;
        ScopeItemObject::new(self.snap.clone(), regime, index, self.change.seen_on())
    }

    /// The sector it belongs to (CI only).
    async fn sector(&self) -> Option<SectorObject> {
        self.parent().and_then(|field| sector_of(&self.snap, field, self.change.seen_on()))
    }

    /// The business domain it belongs to (ESPA only).
    async fn domain(&self) -> Option<DomainObject> {
        self.parent().and_then(|field| domain_of(&self.snap, field, self.change.seen_on()))
    }

    /// Whether it started or ended.
    async fn change(&self) -> ChangeKindValue {
        self.change.kind.into()
    }

    /// The day: its first day, or the first day it no longer holds.
    async fn on(&self) -> Date {
        Date(self.change.on)
    }
}

/// A sector–domain link that started or ended (with its own dates or its ends').
pub struct LinkChangeObject {
    snap: Arc<ReferenceSnapshot>,
    change: Change<usize>,
}

/// A sector–domain link that started or ended (with its own dates or its ends').
#[Object(name = "LinkChange")]
impl LinkChangeObject {
    /// The link, as on its first day (started) or its last (ended).
    async fn link(&self) -> CrosswalkLinkObject {
        CrosswalkLinkObject::new(self.snap.clone(), self.change.subject, self.change.seen_on())
    }

    /// Whether it started or ended.
    async fn change(&self) -> ChangeKindValue {
        self.change.kind.into()
    }

    /// The day: its first day, or the first day it no longer holds.
    async fn on(&self) -> Date {
        Date(self.change.on)
    }
}

/// One sector's or domain's reference-data changes in the window.
pub struct FieldChangeCountsObject {
    snap: Arc<ReferenceSnapshot>,
    field: FieldRef,
    counts: FieldCounts,
    as_of: NaiveDate,
}

/// One sector's or domain's reference-data changes in the window.
#[Object(name = "FieldChangeCounts")]
impl FieldChangeCountsObject {
    /// Its regime.
    async fn regime(&self) -> RegimeValue {
        self.field.regime.into()
    }

    /// The sector (CI only), as on the window's second date.
    async fn sector(&self) -> Option<SectorObject> {
        sector_of(&self.snap, self.field, self.as_of)
    }

    /// The business domain (ESPA only), as on the window's second date.
    async fn domain(&self) -> Option<DomainObject> {
        domain_of(&self.snap, self.field, self.as_of)
    }

    /// Its services or sub-businesses that started or ended.
    async fn scope_items(&self) -> ChangeCounts {
        self.counts.scope_items.into()
    }

    /// Its links to the other regime that started or ended.
    async fn links(&self) -> ChangeCounts {
        self.counts.links.into()
    }
}

/// One sector's or domain's designations that started or ended in the window.
pub struct FieldDesignationChangesObject {
    snap: Arc<ReferenceSnapshot>,
    field: FieldRef,
    counts: Counts,
    as_of: NaiveDate,
}

/// One sector's or domain's designations that started or ended in the window.
#[Object(name = "FieldDesignationChanges")]
impl FieldDesignationChangesObject {
    /// Its regime.
    async fn regime(&self) -> RegimeValue {
        self.field.regime.into()
    }

    /// The sector (CI only), as on the window's second date.
    async fn sector(&self) -> Option<SectorObject> {
        sector_of(&self.snap, self.field, self.as_of)
    }

    /// The business domain (ESPA only), as on the window's second date.
    async fn domain(&self) -> Option<DomainObject> {
        domain_of(&self.snap, self.field, self.as_of)
    }

    /// Its designations that started and ended.
    async fn designations(&self) -> ChangeCounts {
        self.counts.into()
    }
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
                snap: self.snap.clone(),
                field,
                counts,
                as_of: self.as_of,
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
        self.changes.fields.iter().map(|&change| FieldChangeObject { snap: self.snap.clone(), change }).collect()
    }

    /// Services and sub-businesses that started or ended, in date order.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn scope_items(&self) -> Vec<ScopeItemChangeObject> {
        self.changes
            .scope_items
            .iter()
            .map(|&change| ScopeItemChangeObject { snap: self.snap.clone(), change })
            .collect()
    }

    /// Sector–domain links that started or ended, in date order.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn links(&self) -> Vec<LinkChangeObject> {
        self.changes.links.iter().map(|&change| LinkChangeObject { snap: self.snap.clone(), change }).collect()
    }

    /// Per sector and domain whose scope items or links changed (a link counts for
    /// both its ends), sectors first.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn by_field(&self) -> Vec<FieldChangeCountsObject> {
        self.changes
            .by_field
            .iter()
            .map(|&(field, counts)| FieldChangeCountsObject {
                snap: self.snap.clone(),
                field,
                counts,
                as_of: self.changes.window.to(),
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
