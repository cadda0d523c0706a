//! What a proposal would change for the registry: gaps, overlap, designations that end,
//! operators that the new links make candidates for designation, duties and ministries.
//! One pass over the operators, with bit sets over the snapshots' field indexes.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use uuid::Uuid;

use super::plan::RecordKey;
use super::scope::{RecordChange, ministries, proposed_links};
use crate::domain::crosswalk::LinkKind;
use crate::domain::designation::{Designation, is_active};
use crate::domain::overlap::{OverlapCell, OverlapCounter, OverlapReport, OverlapTotals, field_mask};
use crate::domain::reference::{ReferenceSnapshot, ScopeGaps};
use crate::domain::{CorporateNumber, Regime, Relation};

/// What the impact needs to know of one designation; implemented by the stored
/// [`Designation`] and the borrowed [`DesignationView`], and by whatever form an
/// in-memory index holds designations in.
pub trait DesignationFacts {
    fn id(&self) -> Uuid;
    fn regime(&self) -> Regime;
    /// The sector (CI) or domain (ESPA) code.
    fn field(&self) -> &str;
    fn scope_item(&self) -> Option<&str>;
    fn effective_from(&self) -> NaiveDate;
    /// Exclusive; open when absent.
    fn effective_to(&self) -> Option<NaiveDate>;
    /// The ministry that made it.
    fn ministry(&self) -> &str;
}

/// One designation, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesignationView<'a> {
    pub id: Uuid,
    pub regime: Regime,
    pub field: &'a str,
    pub scope_item: Option<&'a str>,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub ministry: &'a str,
}

impl DesignationFacts for DesignationView<'_> {
    fn id(&self) -> Uuid {
        self.id
    }
    fn regime(&self) -> Regime {
        self.regime
    }
    fn field(&self) -> &str {
        self.field
    }
    fn scope_item(&self) -> Option<&str> {
        self.scope_item
    }
    fn effective_from(&self) -> NaiveDate {
        self.effective_from
    }
    fn effective_to(&self) -> Option<NaiveDate> {
        self.effective_to
    }
    fn ministry(&self) -> &str {
        self.ministry
    }
}

impl DesignationFacts for Designation {
    fn id(&self) -> Uuid {
        self.id
    }
    fn regime(&self) -> Regime {
        self.regime
    }
    fn field(&self) -> &str {
        &self.field
    }
    fn scope_item(&self) -> Option<&str> {
        self.scope_item.as_deref()
    }
    fn effective_from(&self) -> NaiveDate {
        self.effective_from
    }
    fn effective_to(&self) -> Option<NaiveDate> {
        self.effective_to
    }
    fn ministry(&self) -> &str {
        &self.ministry
    }
}

/// One operator with its designations (of any period: the impact picks what holds),
/// as anything that lists [`DesignationFacts`] (a slice, or views made as they are read).
#[derive(Debug, Clone, Copy)]
pub struct OperatorDesignations<I> {
    pub operator: CorporateNumber,
    pub designations: I,
}

impl<D: DesignationFacts> DesignationFacts for &D {
    fn id(&self) -> Uuid {
        (*self).id()
    }
    fn regime(&self) -> Regime {
        (*self).regime()
    }
    fn field(&self) -> &str {
        (*self).field()
    }
    fn scope_item(&self) -> Option<&str> {
        (*self).scope_item()
    }
    fn effective_from(&self) -> NaiveDate {
        (*self).effective_from()
    }
    fn effective_to(&self) -> Option<NaiveDate> {
        (*self).effective_to()
    }
    fn ministry(&self) -> &str {
        (*self).ministry()
    }
}

/// Codes of sectors, domains and their scope items, each list in display order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeCodes {
    pub sectors: Vec<String>,
    pub domains: Vec<String>,
    pub sector_items: Vec<String>,
    pub domain_items: Vec<String>,
}

impl ScopeCodes {
    pub fn is_empty(&self) -> bool {
        self.sectors.is_empty()
            && self.domains.is_empty()
            && self.sector_items.is_empty()
            && self.domain_items.is_empty()
    }

    /// The scope's gaps by code (sectors without a domain, domains without a sector,
    /// scope items no link covers).
    pub fn of_gaps(snapshot: &ReferenceSnapshot, gaps: &ScopeGaps) -> Self {
        let fields = |regime: Regime, idx: &[usize]| -> Vec<String> {
            idx.iter().map(|&i| snapshot.fields(regime)[i].code.clone()).collect()
        };
        let items = |regime: Regime, idx: &[usize]| -> Vec<String> {
            idx.iter().map(|&i| snapshot.items(regime)[i].code.clone()).collect()
        };
        Self {
            sectors: fields(Regime::Ci, &gaps.sectors_without_domain),
            domains: fields(Regime::Espa, &gaps.domains_without_sector),
            sector_items: items(Regime::Ci, &gaps.sector_items_without_link),
            domain_items: items(Regime::Espa, &gaps.domain_items_without_link),
        }
    }
}

/// Operators active in both fields of a linked pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellCount {
    pub sector: String,
    pub domain: String,
    pub operator_count: u64,
}

/// Operators designated in a domain that are CI operators in none of its linked sectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainGapCount {
    pub domain: String,
    pub linked_sectors: Vec<String>,
    pub operator_count: u64,
}

/// An [`OverlapReport`] by code, so that it stands without its snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlapSummary {
    pub as_of: NaiveDate,
    pub totals: OverlapTotals,
    pub cells: Vec<CellCount>,
    pub domain_gaps: Vec<DomainGapCount>,
}

impl OverlapSummary {
    pub fn new(snapshot: &ReferenceSnapshot, report: &OverlapReport) -> Self {
        let links = &snapshot.data().links;
        Self {
            as_of: report.as_of,
            totals: report.totals,
            cells: report
                .cells
                .iter()
                .map(|c| CellCount {
                    sector: links[c.link_index].ci.clone(),
                    domain: links[c.link_index].espa.clone(),
                    operator_count: c.operator_count,
                })
                .collect(),
            domain_gaps: report
                .domain_gaps
                .iter()
                .map(|g| DomainGapCount {
                    domain: snapshot.fields(Regime::Espa)[g.domain_index].code.clone(),
                    linked_sectors: g.linked_sectors.clone(),
                    operator_count: g.operator_count,
                })
                .collect(),
        }
    }

    /// The report with indexes into `snapshot` (the one it was computed over: the live
    /// snapshot for `overlap_before`, the proposed one for `overlap_after`), for code that
    /// shows [`OverlapReport`]s.
    pub fn to_report(&self, snapshot: &ReferenceSnapshot) -> OverlapReport {
        let links = snapshot.links_at(self.as_of);
        OverlapReport {
            as_of: self.as_of,
            totals: self.totals,
            special: None,
            cells: self
                .cells
                .iter()
                .filter_map(|c| {
                    let link_index = links.iter().copied().find(|&i| {
                        let link = &snapshot.data().links[i];
                        link.ci == c.sector && link.espa == c.domain
                    })?;
                    Some(OverlapCell { link_index, operator_count: c.operator_count })
                })
                .collect(),
            domain_gaps: self
                .domain_gaps
                .iter()
                .filter_map(|g| {
                    Some(crate::domain::overlap::DomainGap {
                        domain_index: snapshot.field_index(Regime::Espa, &g.domain)?,
                        operator_count: g.operator_count,
                        linked_sectors: g.linked_sectors.clone(),
                    })
                })
                .collect(),
        }
    }
}

/// A designation that ends because the proposal retires what it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndingDesignation {
    pub operator: CorporateNumber,
    pub id: Uuid,
    pub regime: Regime,
    pub field: String,
    pub scope_item: Option<String>,
    pub ministry: String,
    /// The day it ends (the retired record's end).
    pub ends_on: NaiveDate,
    /// The retired record it is on: its sector or domain, or else its scope item.
    pub cause: RecordKey,
}

/// Designations ending on one retired record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndingByRecord {
    pub record: RecordKey,
    pub ends_on: NaiveDate,
    pub designation_count: usize,
    pub operator_count: usize,
}

/// The designations active at the date (or starting later) on a sector, domain or
/// scope item the proposal retires, whose period would reach past the retirement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndingDesignations {
    pub count: usize,
    /// Operators with at least one ending designation.
    pub operator_count: usize,
    /// By corporate number, then designation id.
    pub designations: Vec<EndingDesignation>,
    /// Per retired record (sectors, domains, then scope items, in display order), those
    /// with at least one ending designation.
    pub by_record: Vec<EndingByRecord>,
}

/// How a link the candidates are listed for differs from the live one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkChange {
    /// No link held between the two fields.
    Added,
    /// A link held with this relation (or the same relation and another rationale).
    Changed { before: Relation },
}

/// For a sector–domain link the proposal adds or changes, the operators active at the
/// date in one of the two fields and not in the other: the candidates for designation
/// under `side`, the regime they lack there (for a new ESPA domain linked to a CI
/// sector, side ESPA lists that sector's CI operators without an ESPA designation in the
/// domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateGroup {
    pub sector: String,
    pub domain: String,
    pub relation: Relation,
    pub change: LinkChange,
    pub side: Regime,
    pub count: usize,
    /// By corporate number.
    pub operators: Vec<CorporateNumber>,
}

/// How many operators would start or stop being subject to one obligation rule.
///
/// An operator is *subject* to a rule at the date when it has an active designation
/// under the rule's triggering regime (whether the rule is in force then is `in_force`).
/// - `would_stop`: operators subject before whose every triggering designation ends.
/// - `would_start`: operators a scope change alone makes subject; always 0, since a
///   proposal creates no designation (it is here so that the figure is stated).
/// - `candidates_would_start`: candidates (see [`CandidateGroup`]) on the rule's
///   triggering side that are not subject to it even after the change: how many
///   would become subject if each were designated where the new or changed link makes
///   it a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObligationChange {
    pub rule: String,
    pub triggered_by: Regime,
    pub in_force: bool,
    pub subject_before: usize,
    pub would_stop: usize,
    pub would_start: usize,
    pub candidates_would_start: usize,
}

/// A sector (CI) or domain (ESPA).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldCode {
    pub regime: Regime,
    pub code: String,
}

/// What one ministry gains or loses at the date.
///
/// - `gains` / `loses`: fields it has jurisdiction over after and not before, and the
///   other way round.
/// - `operators_gained`: distinct candidates whose missing field (the domain for side
///   ESPA, the sector for side CI) is one the ministry gains: operators it would designate.
/// - `operators_lost`: distinct operators with an ending designation made by the ministry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinistryImpact {
    pub ministry: String,
    pub gains: Vec<FieldCode>,
    pub loses: Vec<FieldCode>,
    pub operators_gained: usize,
    pub operators_lost: usize,
}

/// What a proposal changes at `date`. Every code in it is one of the proposed reference
/// data, which holds every live record too (a proposal deletes nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeImpact {
    pub date: NaiveDate,
    /// [`ReferenceSnapshot::gaps_at`] of the live data.
    pub gaps_before: ScopeCodes,
    /// [`ReferenceSnapshot::gaps_at`] of the proposed data.
    pub gaps_after: ScopeCodes,
    /// Covered (in force, and not in a gap) after and not covered before: the gap closed,
    /// or the record is new and linked.
    pub newly_covered: ScopeCodes,
    /// In a gap after and not before: its link went, or it is new and unlinked. Retired
    /// records are in neither list.
    pub newly_uncovered: ScopeCodes,
    /// The overlap report over the live data.
    pub overlap_before: OverlapSummary,
    /// The overlap report over the proposed data, the ending designations counted as
    /// ended at the date.
    pub overlap_after: OverlapSummary,
    pub ending: EndingDesignations,
    /// Per link added or changed (in the proposed data's link order), side ESPA then CI.
    pub candidates: Vec<CandidateGroup>,
    /// Per obligation rule, in rule order.
    pub obligation_changes: Vec<ObligationChange>,
    /// Ministries that gain or lose anything, in ministry order.
    pub by_ministry: Vec<MinistryImpact>,
}

const REGIMES: [Regime; 2] = [Regime::Ci, Regime::Espa];

fn slot(regime: Regime) -> usize {
    match regime {
        Regime::Ci => 0,
        Regime::Espa => 1,
    }
}

/// What one field code means for a designation on it.
#[derive(Debug, Clone, Copy, Default)]
struct FieldFacts {
    before_bit: u64,
    after_bit: u64,
    /// The proposal retires it: its end and its index in the retired list.
    retired: Option<(NaiveDate, usize)>,
}

/// A link candidates are listed for, while the operators are read.
struct CandidateLink {
    sector_bit: u64,
    domain_bit: u64,
    /// Ministries gaining the domain (for side ESPA) and the sector (side CI).
    gainers: [Vec<usize>; 2],
    groups: [CandidateGroup; 2],
}

/// The record's end in `after` when it is earlier than in `before`.
fn retired_on(before: crate::domain::Validity, after: crate::domain::Validity) -> Option<NaiveDate> {
    let to = after.to?;
    before.to.is_none_or(|b| b > to).then_some(to)
}

/// Covered and uncovered codes of each kind at `date` (kinds as in [`ScopeCodes`]).
fn coverage(
    snapshot: &ReferenceSnapshot,
    date: NaiveDate,
    gaps: &ScopeCodes,
) -> [(BTreeSet<String>, BTreeSet<String>); 4] {
    let field_in_force =
        |regime: Regime, code: &str| snapshot.field(regime, code).is_some_and(|f| f.validity.contains(date));
    let split = |present: Vec<String>, gap: &[String]| {
        let uncovered: BTreeSet<String> = gap.iter().cloned().collect();
        let covered = present.into_iter().filter(|c| !uncovered.contains(c)).collect();
        (covered, uncovered)
    };
    let fields = |regime: Regime| -> Vec<String> {
        snapshot.fields_at(regime, date).into_iter().map(|i| snapshot.fields(regime)[i].code.clone()).collect()
    };
    let items = |regime: Regime| -> Vec<String> {
        snapshot
            .items(regime)
            .iter()
            .filter(|i| i.validity.contains(date) && field_in_force(regime, &i.parent))
            .map(|i| i.code.clone())
            .collect()
    };
    [
        split(fields(Regime::Ci), &gaps.sectors),
        split(fields(Regime::Espa), &gaps.domains),
        split(items(Regime::Ci), &gaps.sector_items),
        split(items(Regime::Espa), &gaps.domain_items),
    ]
}

/// Codes `after` puts in `state` (0 covered, 1 uncovered) that `before` did not, in the
/// after snapshot's display order.
fn newly(
    after_snapshot: &ReferenceSnapshot,
    before: &[(BTreeSet<String>, BTreeSet<String>); 4],
    after: &[(BTreeSet<String>, BTreeSet<String>); 4],
    uncovered: bool,
) -> ScopeCodes {
    fn state(sets: &(BTreeSet<String>, BTreeSet<String>), uncovered: bool) -> &BTreeSet<String> {
        if uncovered { &sets.1 } else { &sets.0 }
    }
    let pick = |kind: usize, codes: Vec<&String>| -> Vec<String> {
        let (now, was) = (state(&after[kind], uncovered), state(&before[kind], uncovered));
        codes.into_iter().filter(|c| now.contains(*c) && !was.contains(*c)).cloned().collect()
    };
    let fields = |regime: Regime| after_snapshot.fields(regime).iter().map(|f| &f.code).collect::<Vec<_>>();
    let items = |regime: Regime| after_snapshot.items(regime).iter().map(|i| &i.code).collect::<Vec<_>>();
    ScopeCodes {
        sectors: pick(0, fields(Regime::Ci)),
        domains: pick(1, fields(Regime::Espa)),
        sector_items: pick(2, items(Regime::Ci)),
        domain_items: pick(3, items(Regime::Espa)),
    }
}

/// Computes the impact at `date` of replacing the reference data `before` (live) by
/// `after` (the proposal applied), for the operators given (each once, with all its
/// designations). See [`ScopeImpact`] and its parts for what each figure means.
pub fn impact<I>(
    before: &ReferenceSnapshot,
    after: &ReferenceSnapshot,
    date: NaiveDate,
    operators: impl IntoIterator<Item = OperatorDesignations<I>>,
) -> ScopeImpact
where
    I: IntoIterator,
    I::Item: DesignationFacts,
{
    let gaps_before = ScopeCodes::of_gaps(before, &before.gaps_at(date));
    let gaps_after = ScopeCodes::of_gaps(after, &after.gaps_at(date));
    let coverage_before = coverage(before, date, &gaps_before);
    let coverage_after = coverage(after, date, &gaps_after);
    let newly_covered = newly(after, &coverage_before, &coverage_after, false);
    let newly_uncovered = newly(after, &coverage_before, &coverage_after, true);

    // Retired records (their end moved earlier), and what each field code stands for.
    let mut retired: Vec<(RecordKey, NaiveDate)> = Vec::new();
    let mut fields: [HashMap<&str, FieldFacts>; 2] = [HashMap::new(), HashMap::new()];
    let mut retired_items: [HashMap<&str, (NaiveDate, usize)>; 2] = [HashMap::new(), HashMap::new()];
    for regime in REGIMES {
        for (index, field) in after.fields(regime).iter().enumerate() {
            let previous = before.field_index(regime, &field.code).map(|i| &before.fields(regime)[i]);
            let retirement = previous.and_then(|p| retired_on(p.validity, field.validity)).map(|on| {
                let key = match regime {
                    Regime::Ci => RecordKey::Sector(field.code.clone()),
                    Regime::Espa => RecordKey::Domain(field.code.clone()),
                };
                retired.push((key, on));
                (on, retired.len() - 1)
            });
            let facts = FieldFacts {
                before_bit: before.field_index(regime, &field.code).map_or(0, field_mask),
                after_bit: field_mask(index),
                retired: retirement,
            };
            fields[slot(regime)].insert(field.code.as_str(), facts);
        }
        // Codes only the live data knows (not expected: a proposal deletes nothing).
        for (index, field) in before.fields(regime).iter().enumerate() {
            fields[slot(regime)]
                .entry(field.code.as_str())
                .or_insert(FieldFacts { before_bit: field_mask(index), ..FieldFacts::default() });
        }
    }
    for regime in REGIMES {
        for item in after.items(regime) {
            let previous = before.item_index(regime, &item.code).map(|i| &before.items(regime)[i]);
            if let Some(on) = previous.and_then(|p| retired_on(p.validity, item.validity)) {
                let key = match regime {
                    Regime::Ci => RecordKey::SectorItem(item.code.clone()),
                    Regime::Espa => RecordKey::DomainItem(item.code.clone()),
                };
                retired.push((key, on));
                retired_items[slot(regime)].insert(item.code.as_str(), (on, retired.len() - 1));
            }
        }
    }

    // Jurisdiction gained and lost, per ministry (by the after snapshot's index).
    let ministry_codes: Vec<&str> = after.data().ministries.iter().map(|m| m.code.as_str()).collect();
    let mut gains: Vec<Vec<FieldCode>> = vec![Vec::new(); ministry_codes.len()];
    let mut loses: Vec<Vec<FieldCode>> = vec![Vec::new(); ministry_codes.len()];
    for regime in REGIMES {
        for field in after.fields(regime) {
            let was = ministries(before, regime, &field.code, date);
            let is = ministries(after, regime, &field.code, date);
            let code = || FieldCode { regime, code: field.code.clone() };
            for m in is.difference(&was).filter_map(|m| after.ministry_index(m)) {
                gains[m].push(code());
            }
            for m in was.difference(&is).filter_map(|m| after.ministry_index(m)) {
                loses[m].push(code());
            }
        }
    }
    let gainers_of = |regime: Regime, code: &str| -> Vec<usize> {
        (0..gains.len()).filter(|&m| gains[m].iter().any(|f| f.regime == regime && f.code == code)).collect()
    };

    // The links added or changed.
    let mut candidate_links: Vec<CandidateLink> = Vec::new();
    for proposed in proposed_links(before, after, date, LinkKind::Fields) {
        let change = match (proposed.link.change, proposed.relation_before) {
            (Some(RecordChange::Added), _) => LinkChange::Added,
            (Some(RecordChange::Changed), Some(before)) => LinkChange::Changed { before },
            _ => continue,
        };
        let link = &after.data().links[proposed.link.index];
        let group = |side: Regime| CandidateGroup {
            sector: link.ci.clone(),
            domain: link.espa.clone(),
            relation: link.relation,
            change,
            side,
            count: 0,
            operators: Vec::new(),
        };
        candidate_links.push(CandidateLink {
            sector_bit: after.field_index(Regime::Ci, &link.ci).map_or(0, field_mask),
            domain_bit: after.field_index(Regime::Espa, &link.espa).map_or(0, field_mask),
            gainers: [gainers_of(Regime::Espa, &link.espa), gainers_of(Regime::Ci, &link.ci)],
            groups: [group(Regime::Espa), group(Regime::Ci)],
        });
    }

    // The one pass over the operators.
    let mut overlap_before = OverlapCounter::new(before, date);
    let mut overlap_after = OverlapCounter::new(after, date);
    let mut ending: Vec<EndingDesignation> = Vec::new();
    let mut ending_operators = 0usize;
    let mut subject_before = [0usize; 2];
    let mut would_stop = [0usize; 2];
    let mut candidates_would_start = [0usize; 2];
    let mut gained_operators = vec![0usize; ministry_codes.len()];
    let mut lost_operators = vec![0usize; ministry_codes.len()];
    // Reused for every operator: the ministries it counts for.
    let mut gained: Vec<usize> = Vec::new();
    let mut lost: Vec<usize> = Vec::new();
    let mut causes: Vec<usize> = Vec::new();
    let mut by_record: Vec<EndingByRecord> = retired
        .iter()
        .map(|(key, on)| EndingByRecord { record: key.clone(), ends_on: *on, designation_count: 0, operator_count: 0 })
        .collect();
    let any_retired_items = [!retired_items[0].is_empty(), !retired_items[1].is_empty()];
    for operator in operators {
        let mut before_bits = [0u64; 2];
        let mut after_bits = [0u64; 2];
        let mut active_before = [false; 2];
        let mut active_after = [false; 2];
        let mut ends_any = false;
        lost.clear();
        causes.clear();
        for d in operator.designations {
            let (from, to) = (d.effective_from(), d.effective_to());
            let active = is_active(from, to, date);
            if !active && from <= date {
                continue;
            }
            let regime = slot(d.regime());
            let facts = fields[regime].get(d.field()).copied().unwrap_or_default();
            let mut retirement = facts.retired;
            if retirement.is_none()
                && any_retired_items[regime]
                && let Some(item) = d.scope_item()
            {
                retirement = retired_items[regime].get(item).copied();
            }
            let ends = retirement.filter(|(on, _)| to.is_none_or(|to| to > *on));
            if let Some((on, cause)) = ends {
                ends_any = true;
                ending.push(EndingDesignation {
                    operator: operator.operator,
                    id: d.id(),
                    regime: d.regime(),
                    field: d.field().to_owned(),
                    scope_item: d.scope_item().map(str::to_owned),
                    ministry: d.ministry().to_owned(),
                    ends_on: on,
                    cause: retired[cause].0.clone(),
                });
                by_record[cause].designation_count += 1;
                if !causes.contains(&cause) {
                    causes.push(cause);
                    by_record[cause].operator_count += 1;
                }
                if let Some(m) = after.ministry_index(d.ministry())
                    && !lost.contains(&m)
                {
                    lost.push(m);
                }
            }
            if active {
                active_before[regime] = true;
                before_bits[regime] |= facts.before_bit;
                if ends.is_none() {
                    active_after[regime] = true;
                    after_bits[regime] |= facts.after_bit;
                }
            }
        }
        // A proposal changes no operator's record: 特別社会基盤事業者 are not counted here.
        overlap_before.add_masks(before_bits[0], before_bits[1], false);
        overlap_after.add_masks(after_bits[0], after_bits[1], false);
        for regime in 0..2 {
            if active_before[regime] {
                subject_before[regime] += 1;
                if !active_after[regime] {
                    would_stop[regime] += 1;
                }
            }
        }
        let mut candidate_side = [false; 2];
        gained.clear();
        for link in &mut candidate_links {
            let in_sector = after_bits[0] & link.sector_bit != 0;
            let in_domain = after_bits[1] & link.domain_bit != 0;
            // groups[0]: missing ESPA (side ESPA); groups[1]: missing CI.
            let missing = match (in_sector, in_domain) {
                (true, false) => 0,
                (false, true) => 1,
                _ => continue,
            };
            link.groups[missing].operators.push(operator.operator);
            candidate_side[1 - missing] = true;
            for &m in &link.gainers[missing] {
                if !gained.contains(&m) {
                    gained.push(m);
                }
            }
        }
        for regime in 0..2 {
            if candidate_side[regime] && !active_after[regime] {
                candidates_would_start[regime] += 1;
            }
        }
        for &m in &gained {
            gained_operators[m] += 1;
        }
        for &m in &lost {
            lost_operators[m] += 1;
        }
        ending_operators += usize::from(ends_any);
    }

    ending.sort_by_key(|e| (e.operator, e.id));
    by_record.retain(|r| r.designation_count > 0);

    let candidates: Vec<CandidateGroup> = candidate_links
        .into_iter()
        .flat_map(|link| link.groups)
        .map(|mut group| {
            group.operators.sort_unstable();
            group.count = group.operators.len();
            group
        })
        .collect();

    let obligation_changes = after
        .data()
        .obligations
        .iter()
        .map(|rule| {
            let regime = slot(rule.triggered_by);
            ObligationChange {
                rule: rule.code.clone(),
                triggered_by: rule.triggered_by,
                in_force: rule.in_force_at(date),
                subject_before: subject_before[regime],
                would_stop: would_stop[regime],
                would_start: 0,
                candidates_would_start: candidates_would_start[regime],
            }
        })
        .collect();

    let by_ministry = ministry_codes
        .iter()
        .enumerate()
        .map(|(m, code)| MinistryImpact {
            ministry: (*code).to_owned(),
            gains: std::mem::take(&mut gains[m]),
            loses: std::mem::take(&mut loses[m]),
            operators_gained: gained_operators[m],
            operators_lost: lost_operators[m],
        })
        .filter(|m| !m.gains.is_empty() || !m.loses.is_empty() || m.operators_gained > 0 || m.operators_lost > 0)
        .collect();

    ScopeImpact {
        date,
        overlap_before: OverlapSummary::new(before, &overlap_before.finish()),
        overlap_after: OverlapSummary::new(after, &overlap_after.finish()),
        gaps_before,
        gaps_after,
        newly_covered,
        newly_uncovered,
        ending: EndingDesignations {
            count: ending.len(),
            operator_count: ending_operators,
            designations: ending,
            by_record,
        },
        candidates,
        obligation_changes,
        by_ministry,
    }
}
