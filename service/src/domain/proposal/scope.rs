//! The scope a proposal would make at its date, each sector, domain, scope item and link
//! marked with what the proposal does to it: the proposal's crosswalk as the scope map
//! draws it. Computed from the same two snapshots as the impact (the live data, and the
//! live data with the proposal applied), so that the picture and the figures agree.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;

use super::apply::Dated;
use crate::domain::crosswalk::LinkKind;
use crate::domain::reference::{LinkRecord, ReferenceSnapshot};
use crate::domain::{Regime, Relation};

/// What a proposal does to one record of the scope at its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordChange {
    /// It holds at the date only with the proposal.
    Added,
    /// It holds at the date only without it (the proposal ends it then).
    Retired,
    /// It holds either way, and differs: a field's ministries or scope items, a link's
    /// relation or rationale.
    Changed,
}

/// One record of the scope at the date. `index` is its position in the proposed
/// snapshot, or, for a record the proposal retires, in the live one, where it still
/// holds at the date (see [`MarkedRecord::is_live`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkedRecord {
    pub index: usize,
    /// None: the proposal leaves it as it is.
    pub change: Option<RecordChange>,
}

impl MarkedRecord {
    fn new(index: usize, change: Option<RecordChange>) -> Self {
        Self { index, change }
    }

    /// Whether `index` is into the live snapshot (a retired record) rather than the
    /// proposed one.
    pub fn is_live(&self) -> bool {
        self.change == Some(RecordChange::Retired)
    }
}

/// A sector or domain with its scope items (those it retires included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedField {
    pub field: MarkedRecord,
    pub items: Vec<MarkedRecord>,
}

/// A link of either kind; `relation_before` is the live relation of a changed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposedLink {
    pub link: MarkedRecord,
    pub relation_before: Option<Relation>,
}

/// The sectors (CI) or domains (ESPA) that hold at `date` with the proposal or without
/// it, each with its scope items, marked: `after` is the proposal applied to `before`,
/// the live data. In the proposed data's order (the live records, then the proposal's).
pub fn proposed_fields(
    before: &ReferenceSnapshot,
    after: &ReferenceSnapshot,
    date: NaiveDate,
    regime: Regime,
) -> Vec<ProposedField> {
    Compared { before, after, date }.fields(regime)
}

/// A record's mark from whether it holds at the date without the proposal (`was`, its
/// live index) and with it (`is`), and whether it differs when it holds both ways.
/// None when it holds neither way.
fn mark(was: Option<usize>, is: Option<usize>, differs: impl FnOnce() -> bool) -> Option<MarkedRecord> {
    match (was, is) {
        (None, None) => None,
        (Some(live), None) => Some(MarkedRecord::new(live, Some(RecordChange::Retired))),
        (None, Some(index)) => Some(MarkedRecord::new(index, Some(RecordChange::Added))),
        (Some(_), Some(index)) => Some(MarkedRecord::new(index, differs().then_some(RecordChange::Changed))),
    }
}

/// The ministry codes with jurisdiction over a field at `date`.
pub(super) fn ministries(
    snapshot: &ReferenceSnapshot,
    regime: Regime,
    code: &str,
    date: NaiveDate,
) -> BTreeSet<String> {
    snapshot.ministries_of(regime, code, date).into_iter().map(|i| snapshot.data().ministries[i].code.clone()).collect()
}

/// `index` (of a record in `records`) when that record holds at `date`.
fn holding<T: Dated>(records: &[T], index: Option<usize>, date: NaiveDate) -> Option<usize> {
    index.filter(|&i| records[i].validity().contains(date))
}

/// The live data and the proposed data at one date. Every live record is in the
/// proposed data too (a proposal deletes nothing), so walking the proposed records
/// meets every one that holds either way.
struct Compared<'a> {
    before: &'a ReferenceSnapshot,
    after: &'a ReferenceSnapshot,
    date: NaiveDate,
}

impl Compared<'_> {
    fn fields(&self, regime: Regime) -> Vec<ProposedField> {
        let (before, after, date) = (self.before, self.after, self.date);
        let held = |s: &ReferenceSnapshot, code: &str| holding(s.fields(regime), s.field_index(regime, code), date);
        let field = |code: &str| {
            let items = self.items(regime, code);
            let differs = || {
                items.iter().any(|i| i.change.is_some())
                    || ministries(before, regime, code, date) != ministries(after, regime, code, date)
            };
            let field = mark(held(before, code), held(after, code), differs)?;
            Some(ProposedField { field, items })
        };
        after.fields(regime).iter().filter_map(|f| field(&f.code)).collect()
    }

    /// The scope items of the field `parent`.
    fn items(&self, regime: Regime, parent: &str) -> Vec<MarkedRecord> {
        let held = |s: &ReferenceSnapshot, code: &str| holding(s.items(regime), s.item_index(regime, code), self.date);
        let item = |code: &str| mark(held(self.before, code), held(self.after, code), || false);
        self.after.items(regime).iter().filter(|i| i.parent == parent).filter_map(|i| item(&i.code)).collect()
    }
}

fn links_of(snapshot: &ReferenceSnapshot, kind: LinkKind) -> &[LinkRecord] {
    match kind {
        LinkKind::Fields => &snapshot.data().links,
        LinkKind::ScopeItems => &snapshot.data().item_links,
    }
}

/// The links of `kind` holding at `date` (both ends existing then) with the proposal
/// (`after`, the proposal applied to `before`), in the proposed data's order (the live
/// ones, then those the proposal sets, in its order: a changed link is a new record),
/// marked; then those it retires, in the live order. A link is a pair's: set again with
/// the same relation and rationale, it is unchanged.
pub fn proposed_links(
    before: &ReferenceSnapshot,
    after: &ReferenceSnapshot,
    date: NaiveDate,
    kind: LinkKind,
) -> Vec<ProposedLink> {
    let at = |snapshot: &ReferenceSnapshot| match kind {
        LinkKind::Fields => snapshot.links_at(date),
        LinkKind::ScopeItems => snapshot.item_links_at(date),
    };
    let (was_list, is_list) = (links_of(before, kind), links_of(after, kind));
    let pair = |link: &LinkRecord| (link.ci.clone(), link.espa.clone());
    let was: HashMap<(String, String), usize> = at(before).into_iter().map(|i| (pair(&was_list[i]), i)).collect();
    let is = at(after);
    let kept: BTreeSet<(String, String)> = is.iter().map(|&i| pair(&is_list[i])).collect();
    let held = is.iter().map(|&index| {
        let link = &is_list[index];
        let live = was.get(&pair(link)).map(|&i| &was_list[i]);
        let differs = live.filter(|l| l.relation != link.relation || l.rationale != link.rationale);
        let change = match live {
            None => Some(RecordChange::Added),
            Some(_) => differs.map(|_| RecordChange::Changed),
        };
        ProposedLink { link: MarkedRecord::new(index, change), relation_before: differs.map(|l| l.relation) }
    });
    let ended = at(before)
        .into_iter()
        .filter(|&i| !kept.contains(&pair(&was_list[i])))
        .map(|i| ProposedLink { link: MarkedRecord::new(i, Some(RecordChange::Retired)), relation_before: None });
    held.chain(ended).collect()
}
