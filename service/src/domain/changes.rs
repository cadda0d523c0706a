//! What changed between two dates: the sectors, domains, scope items, links and
//! designations that started or ended in between, and how many per sector and domain.
//!
//! A change happens on a day `D`: a period `[from, to)` starts on `from` and ends on
//! `to` (the first day it no longer holds). The window between dates `A` and `B` holds the
//! days `A < D <= B`: exactly what differs between the registry as of `A` and as of `B`
//! (a period that starts and ends inside the window counts both). A record holds only
//! while what it belongs to does: a scope item within its sector's or domain's period, a
//! link within both of its ends'.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::Regime;
use super::date::Validity;
use super::reference::{FieldRef, ReferenceSnapshot};

/// The days between two dates, `from < D <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    from: NaiveDate,
    to: NaiveDate,
}

/// Why a window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`from` ({from}) is after `to` ({to}): give the earlier date as `from`")]
pub struct WindowError {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    /// The window from `from` to `to`; `from == to` is an empty window.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, WindowError> {
        if from > to { Err(WindowError { from, to }) } else { Ok(Self { from, to }) }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    fn contains(&self, day: NaiveDate) -> bool {
        self.from < day && day <= self.to
    }

    /// The starts and ends of `period` that fall in the window (an empty period, one
    /// cancelled before it took effect, has none).
    fn changes_of(&self, period: Validity) -> impl Iterator<Item = (ChangeKind, NaiveDate)> + use<> {
        let holds = period.is_well_formed();
        let window = *self;
        let start = period.from.filter(|&d| holds && window.contains(d)).map(|d| (ChangeKind::Started, d));
        let end = period.to.filter(|&d| holds && window.contains(d)).map(|d| (ChangeKind::Ended, d));
        start.into_iter().chain(end)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    Started,
    Ended,
}

/// One start or end of `subject`, on the day `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change<T> {
    pub subject: T,
    pub kind: ChangeKind,
    pub on: NaiveDate,
}

impl<T> Change<T> {
    /// The day the subject is seen at: its first day for a start, its last for an end.
    pub fn seen_on(&self) -> NaiveDate {
        match self.kind {
            ChangeKind::Started => self.on,
            ChangeKind::Ended => self.on.pred_opt().unwrap_or(self.on),
        }
    }
}

/// A scope item of one regime, by its index in the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemRef {
    pub regime: Regime,
    pub index: usize,
}

/// How many started and how many ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub started: u64,
    pub ended: u64,
}

impl Counts {
    fn add(&mut self, kind: ChangeKind) {
        match kind {
            ChangeKind::Started => self.started += 1,
            ChangeKind::Ended => self.ended += 1,
        }
    }
}

/// The reference-data changes counted for one sector or domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldCounts {
    pub scope_items: Counts,
    pub links: Counts,
}

/// The reference data's changes in a window, each list in date order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceChanges {
    pub window: Window,
    /// Sectors and domains.
    pub fields: Vec<Change<FieldRef>>,
    pub scope_items: Vec<Change<ItemRef>>,
    /// Sector–domain links, by index in the snapshot's links.
    pub links: Vec<Change<usize>>,
    /// Per sector and domain with a change to its scope items or links (a link counts
    /// for both of its ends), sectors first, each in snapshot order.
    pub by_field: Vec<(FieldRef, FieldCounts)>,
}

/// The period of a regime's field, by code.
fn field_period(snapshot: &ReferenceSnapshot, regime: Regime, code: &str) -> Validity {
    // A record whose field is unknown never holds (the seed checks make this unreachable).
    let never = Validity::new(Some(super::date::EARLIEST_DATE), Some(super::date::EARLIEST_DATE));
    snapshot.field(regime, code).map_or(never, |f| f.validity)
}

/// Every start and end of the reference data in `window`.
pub fn reference_changes(snapshot: &ReferenceSnapshot, window: Window) -> ReferenceChanges {
    let mut fields = Vec::new();
    let mut scope_items = Vec::new();
    for regime in Regime::ALL {
        for (index, field) in snapshot.fields(regime).iter().enumerate() {
            let subject = FieldRef { regime, index };
            fields.extend(window.changes_of(field.validity).map(|(kind, on)| Change { subject, kind, on }));
        }
        for (index, item) in snapshot.items(regime).iter().enumerate() {
            let period = item.validity.intersect(&field_period(snapshot, regime, &item.parent));
            let subject = ItemRef { regime, index };
            scope_items.extend(window.changes_of(period).map(|(kind, on)| Change { subject, kind, on }));
        }
    }
    let mut links = Vec::new();
    for (index, link) in snapshot.data().links.iter().enumerate() {
        let period = link.validity.intersect(&field_period(snapshot, Regime::Ci, &link.ci)).intersect(&field_period(
            snapshot,
            Regime::Espa,
            &link.espa,
        ));
        links.extend(window.changes_of(period).map(|(kind, on)| Change { subject: index, kind, on }));
    }
    // Stable sorts: one day's changes stay in snapshot order.
    fields.sort_by_key(|c| c.on);
    scope_items.sort_by_key(|c| c.on);
    links.sort_by_key(|c| c.on);

    let mut by_field: BTreeMap<(Regime, usize), FieldCounts> = BTreeMap::new();
    for change in &scope_items {
        let item = &snapshot.items(change.subject.regime)[change.subject.index];
        if let Some(index) = snapshot.field_index(change.subject.regime, &item.parent) {
            by_field.entry((change.subject.regime, index)).or_default().scope_items.add(change.kind);
        }
    }
    for change in &links {
        let link = &snapshot.data().links[change.subject];
        for (regime, code) in [(Regime::Ci, &link.ci), (Regime::Espa, &link.espa)] {
            if let Some(index) = snapshot.field_index(regime, code) {
                by_field.entry((regime, index)).or_default().links.add(change.kind);
            }
        }
    }
    let by_field = by_field.into_iter().map(|((regime, index), counts)| (FieldRef { regime, index }, counts)).collect();
    ReferenceChanges { window, fields, scope_items, links, by_field }
}

/// The designations' changes in a window: in all, and per sector and domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesignationChanges {
    pub total: Counts,
    /// Sectors first, each in snapshot order; only those with a change.
    pub by_field: Vec<(FieldRef, Counts)>,
}

/// Counts the starts and ends in `window` of designations given as (regime, sector or
/// domain code, effective from, effective to), in one pass.
pub fn designation_changes<'a>(
    snapshot: &ReferenceSnapshot,
    window: Window,
    designations: impl IntoIterator<Item = (Regime, &'a str, NaiveDate, Option<NaiveDate>)>,
) -> DesignationChanges {
    let mut total = Counts::default();
    let mut by_field: BTreeMap<(Regime, usize), Counts> = BTreeMap::new();
    for (regime, field, from, to) in designations {
        let index = snapshot.field_index(regime, field);
        for (kind, _) in window.changes_of(Validity::new(Some(from), to)) {
            total.add(kind);
            if let Some(index) = index {
                by_field.entry((regime, index)).or_default().add(kind);
            }
        }
    }
    let by_field = by_field.into_iter().map(|((regime, index), counts)| (FieldRef { regime, index }, counts)).collect();
    DesignationChanges { total, by_field }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::strategies::embedded_snapshot;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn a_window_holds_the_days_after_its_first_date_up_to_its_second() {
        let window = Window::new(d("2024-01-01"), d("2024-12-31")).expect("in order");
        let changes = |from: &str, to: Option<&str>| -> Vec<(ChangeKind, NaiveDate)> {
            window.changes_of(Validity::new(Some(d(from)), to.map(d))).collect()
        };
        assert_eq!(changes("2024-01-01", None), [], "held on the first date already");
        assert_eq!(changes("2024-01-02", None), [(ChangeKind::Started, d("2024-01-02"))]);
        assert_eq!(
            changes("2024-03-01", Some("2024-12-31")),
            [(ChangeKind::Started, d("2024-03-01")), (ChangeKind::Ended, d("2024-12-31"))],
            "started and ended in between: both"
        );
        assert_eq!(changes("2024-06-01", Some("2024-06-01")), [], "cancelled before it took effect");
        assert_eq!(
            Window::new(d("2024-02-01"), d("2024-01-01")),
            Err(WindowError { from: d("2024-02-01"), to: d("2024-01-01") })
        );
        let empty = Window::new(d("2024-03-08"), d("2024-03-08")).expect("equal dates");
        assert_eq!(empty.changes_of(Validity::new(Some(d("2024-03-08")), None)).count(), 0);
    }

    /// The seed data's ports sector starts on 2024-03-08, port transport on 2025-04-01:
    /// the window across both sees them, its counts as the lists say.
    #[test]
    fn the_reference_changes_of_the_seed_data() {
        let snapshot = embedded_snapshot();
        let window = Window::new(d("2024-01-01"), d("2025-06-01")).expect("in order");
        let changes = reference_changes(&snapshot, window);
        let field_codes: Vec<(&str, ChangeKind)> = changes
            .fields
            .iter()
            .map(|c| (snapshot.fields(c.subject.regime)[c.subject.index].code.as_str(), c.kind))
            .collect();
        assert!(field_codes.contains(&("ports", ChangeKind::Started)), "{field_codes:?}");
        assert!(changes.fields.windows(2).all(|w| w[0].on <= w[1].on), "in date order");
        let item_total: u64 = changes.by_field.iter().map(|(_, c)| c.scope_items.started + c.scope_items.ended).sum();
        assert_eq!(item_total, changes.scope_items.len() as u64);
        let link_total: u64 = changes.by_field.iter().map(|(_, c)| c.links.started + c.links.ended).sum();
        assert_eq!(link_total, 2 * changes.links.len() as u64, "a link counts for both its ends");
        let nothing = reference_changes(&snapshot, Window::new(d("2025-06-01"), d("2025-06-01")).expect("equal"));
        assert!(nothing.fields.is_empty() && nothing.scope_items.is_empty() && nothing.links.is_empty());
    }

    #[test]
    fn designations_count_per_field() {
        let snapshot = embedded_snapshot();
        let window = Window::new(d("2025-01-01"), d("2025-12-31")).expect("in order");
        let rows = [
            (Regime::Espa, "electricity", d("2024-05-17"), Some(d("2025-10-01"))),
            (Regime::Espa, "electricity", d("2025-10-01"), None),
            (Regime::Ci, "gas", d("2025-02-01"), Some(d("2025-02-01"))),
            (Regime::Ci, "gas", d("2020-01-01"), None),
        ];
        let counts = designation_changes(&snapshot, window, rows.iter().map(|&(r, f, a, b)| (r, f, a, b)));
        assert_eq!(counts.total, Counts { started: 1, ended: 1 });
        let electricity =
            FieldRef { regime: Regime::Espa, index: snapshot.field_index(Regime::Espa, "electricity").expect("known") };
        assert_eq!(counts.by_field, [(electricity, Counts { started: 1, ended: 1 })]);
    }
}
