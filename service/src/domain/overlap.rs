//! Overlap analysis: which operators are protected under both regimes, one, or where
//! the crosswalk says they should be and they are not.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use chrono::NaiveDate;

use super::Regime;
use super::reference::ReferenceSnapshot;

/// One active designation reduced to what the analysis needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveField<K> {
    pub operator: K,
    pub regime: Regime,
    pub field: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OverlapTotals {
    pub both: u64,
    pub espa_only: u64,
    pub ci_only: u64,
}

impl OverlapTotals {
    /// Operators with an active designation under `regime` (the ones its duties bind).
    pub fn under(&self, regime: Regime) -> u64 {
        self.both
            + match regime {
                Regime::Ci => self.ci_only,
                Regime::Espa => self.espa_only,
            }
    }
}

/// Operators active in both a linked sector and its domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlapCell {
    pub link_index: usize,
    pub operator_count: u64,
}

/// Operators designated in an ESPA domain but not CI operators in any linked sector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainGap {
    pub domain_index: usize,
    pub operator_count: u64,
    /// Sectors linked to the domain at the date (the gap is measured against them).
    pub linked_sectors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlapReport {
    pub as_of: NaiveDate,
    pub totals: OverlapTotals,
    /// ESPA designees recorded as 特別社会基盤事業者 at the date (None: not counted, as in
    /// a scope revision proposal's impact, which changes no operator's record).
    pub special: Option<u64>,
    pub cells: Vec<OverlapCell>,
    pub domain_gaps: Vec<DomainGap>,
}

/// The sectors and the domains one operator is active in, as bit sets over the
/// snapshot's field indexes.
#[derive(Debug, Clone, Copy, Default)]
struct Fields {
    sectors: u64,
    domains: u64,
}

fn bit(index: usize) -> u64 {
    // The regimes have 15 fields each; codes beyond 64 would share the last bit, which
    // only makes the report coarser, never wrong about who is in which regime.
    1u64 << index.min(63)
}

/// Computes the report from the designations active at `as_of`, as (operator, regime,
/// field) rows in any order (one pass over them, then bit operations per operator);
/// `special`: the operators recorded as 特別社会基盤事業者 then.
pub fn compute<'a, K: Eq + Hash + Copy>(
    snapshot: &ReferenceSnapshot,
    as_of: NaiveDate,
    active: impl IntoIterator<Item = (K, Regime, &'a str)>,
    special: &HashSet<K>,
) -> OverlapReport {
    let mut fields_of: HashMap<K, Fields> = HashMap::new();
    for (operator, regime, field) in active {
        fields_of.entry(operator).or_default().add(snapshot, regime, field);
    }
    report(snapshot, as_of, fields_of.into_iter().map(|(operator, fields)| (fields, special.contains(&operator))))
}

/// Like [`compute`], from the active (regime, field) pairs already grouped by operator,
/// one group per operator with whether it is recorded as 特別社会基盤事業者 at `as_of`:
/// nothing is held per operator. (The index counts from its own codes; this is the
/// reference the proposal tests check the impact's overlap against.)
#[cfg(test)]
pub fn compute_grouped<'a, G: IntoIterator<Item = (Regime, &'a str)>>(
    snapshot: &ReferenceSnapshot,
    as_of: NaiveDate,
    operators: impl IntoIterator<Item = (G, bool)>,
) -> OverlapReport {
    let fields = operators.into_iter().map(|(group, special)| {
        let fields = group.into_iter().fold(Fields::default(), |mut fields, (regime, field)| {
            fields.add(snapshot, regime, field);
            fields
        });
        (fields, special)
    });
    report(snapshot, as_of, fields)
}

impl Fields {
    fn add(&mut self, snapshot: &ReferenceSnapshot, regime: Regime, field: &str) {
        let Some(index) = snapshot.field_index(regime, field) else { return };
        match regime {
            Regime::Ci => self.sectors |= bit(index),
            Regime::Espa => self.domains |= bit(index),
        }
    }
}

/// One pass over the operators' fields, counting every total, cell and gap at once
/// (nothing held per operator).
fn report(
    snapshot: &ReferenceSnapshot,
    as_of: NaiveDate,
    operators: impl IntoIterator<Item = (Fields, bool)>,
) -> OverlapReport {
    let mut counter = OverlapCounter::new(snapshot, as_of);
    for (fields, special) in operators {
        counter.add_masks(fields.sectors, fields.domains, special);
    }
    counter.finish()
}

/// The bit a field at `index` of its regime takes in the masks [`OverlapCounter::add_masks`]
/// takes (fields beyond the 64th share the last bit).
pub fn field_mask(index: usize) -> u64 {
    bit(index)
}

/// Counts an [`OverlapReport`] one operator at a time, for callers that compute other
/// things in the same pass over the operators (as [`compute_grouped`] does alone).
#[derive(Debug, Clone)]
pub struct OverlapCounter {
    as_of: NaiveDate,
    totals: OverlapTotals,
    special: u64,
    cells: Vec<(OverlapCell, Fields)>,
    domain_gaps: Vec<(DomainGap, Fields)>,
}

impl OverlapCounter {
    /// A counter for the links and domains of `snapshot` in force at `as_of`.
    pub fn new(snapshot: &ReferenceSnapshot, as_of: NaiveDate) -> Self {
        let field_bit = |regime: Regime, code: &str| snapshot.field_index(regime, code).map_or(0, bit);
        let cells = snapshot
            .links_at(as_of)
            .into_iter()
            .map(|link_index| {
                let link = &snapshot.data().links[link_index];
                let pair =
                    Fields { sectors: field_bit(Regime::Ci, &link.ci), domains: field_bit(Regime::Espa, &link.espa) };
                (OverlapCell { link_index, operator_count: 0 }, pair)
            })
            .collect();
        // For each domain: its bit and the bits of its linked sectors.
        let domain_gaps = snapshot
            .fields_at(Regime::Espa, as_of)
            .into_iter()
            .map(|domain_index| {
                let domain = snapshot.fields(Regime::Espa)[domain_index].code.as_str();
                let linked_sectors: Vec<String> =
                    snapshot.sectors_linked_to(domain, as_of).into_iter().map(str::to_owned).collect();
                let linked = linked_sectors.iter().fold(0u64, |mask, s| mask | field_bit(Regime::Ci, s));
                let masks = Fields { sectors: linked, domains: bit(domain_index) };
                (DomainGap { domain_index, operator_count: 0, linked_sectors }, masks)
            })
            .collect();
        Self { as_of, totals: OverlapTotals::default(), special: 0, cells, domain_gaps }
    }

    /// Counts one operator from the sectors and domains it is active in, as masks of
    /// [`field_mask`] over the snapshot's field indexes, and whether it is recorded as
    /// 特別社会基盤事業者 at the date (which binds it only while it is an ESPA designee).
    pub fn add_masks(&mut self, sectors: u64, domains: u64, special: bool) {
        self.special += u64::from(special && domains != 0);
        match (sectors != 0, domains != 0) {
            (true, true) => self.totals.both += 1,
            (true, false) => self.totals.ci_only += 1,
            (false, true) => self.totals.espa_only += 1,
            (false, false) => return,
        }
        for (cell, pair) in &mut self.cells {
            if sectors & pair.sectors != 0 && domains & pair.domains != 0 {
                cell.operator_count += 1;
            }
        }
        for (gap, masks) in &mut self.domain_gaps {
            if domains & masks.domains != 0 && sectors & masks.sectors == 0 {
                gap.operator_count += 1;
            }
        }
    }

    pub fn finish(self) -> OverlapReport {
        OverlapReport {
            as_of: self.as_of,
            totals: self.totals,
            special: Some(self.special),
            cells: self.cells.into_iter().map(|(cell, _)| cell).collect(),
            domain_gaps: self.domain_gaps.into_iter().map(|(gap, _)| gap).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::strategies::embedded_snapshot;

    /// Rows and groups give the same report: operator 1 in both regimes on a linked
    /// pair, 2 CI only, 3 ESPA only (in a domain with no linked sector), 4 with an
    /// unknown code only (in neither).
    #[test]
    fn rows_in_any_order_and_groups_per_operator_agree() {
        let snapshot = embedded_snapshot();
        let as_of = NaiveDate::from_ymd_opt(2025, 6, 1).expect("date");
        let groups: Vec<(u32, Vec<(Regime, &str)>)> = vec![
            (1, vec![(Regime::Ci, "electricity"), (Regime::Espa, "electricity")]),
            (2, vec![(Regime::Ci, "gas")]),
            (3, vec![(Regime::Espa, "postal")]),
            (4, vec![(Regime::Ci, "no-such-sector")]),
        ];
        let mut rows: Vec<(u32, Regime, &str)> =
            groups.iter().flat_map(|(k, fields)| fields.iter().map(move |(r, f)| (*k, *r, *f))).collect();
        rows.reverse();
        // 1 and 2 are recorded as 特別社会基盤事業者: only 1, an ESPA designee, counts.
        let special: HashSet<u32> = [1, 2].into();
        let grouped = compute_grouped(
            &snapshot,
            as_of,
            groups.iter().map(|(k, fields)| (fields.iter().copied(), special.contains(k))),
        );
        assert_eq!(compute(&snapshot, as_of, rows, &special), grouped);
        assert_eq!(grouped.totals, OverlapTotals { both: 1, ci_only: 1, espa_only: 1 });
        assert_eq!(grouped.special, Some(1));
        assert_eq!((grouped.totals.under(Regime::Ci), grouped.totals.under(Regime::Espa)), (2, 2));
        let postal = snapshot.field_index(Regime::Espa, "postal").expect("postal domain");
        let gap = grouped.domain_gaps.iter().find(|g| g.domain_index == postal).expect("postal gap");
        assert_eq!(gap.operator_count, 1);
    }
}
