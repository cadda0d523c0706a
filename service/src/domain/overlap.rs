//! Overlap analysis: which operators are protected under both regimes, one, or where
//! the crosswalk says they should be and they are not.

use std::collections::HashMap;
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

/// Computes the report from the designations active at `as_of` (one pass over them,
/// then bit operations per operator).
pub fn compute<'a, K: Eq + Hash + Copy>(
    snapshot: &ReferenceSnapshot,
    as_of: NaiveDate,
    active: impl IntoIterator<Item = (K, Regime, &'a str)>,
) -> OverlapReport {
    let mut fields_of: HashMap<K, Fields> = HashMap::new();
    for (operator, regime, field) in active {
        let Some(index) = snapshot.field_index(regime, field) else {
            continue;
        };
        let fields = fields_of.entry(operator).or_default();
        match regime {
            Regime::Ci => fields.sectors |= bit(index),
            Regime::Espa => fields.domains |= bit(index),
        }
    }

    let mut totals = OverlapTotals::default();
    for fields in fields_of.values() {
        match (fields.sectors != 0, fields.domains != 0) {
            (true, true) => totals.both += 1,
            (true, false) => totals.ci_only += 1,
            (false, true) => totals.espa_only += 1,
            (false, false) => {}
        }
    }

    let field_bit = |regime: Regime, code: &str| snapshot.field_index(regime, code).map_or(0, bit);
    let count = |wanted: &dyn Fn(&Fields) -> bool| fields_of.values().filter(|f| wanted(f)).count() as u64;

    let cells = snapshot
        .links_at(as_of)
        .into_iter()
        .map(|link_index| {
            let link = &snapshot.data().links[link_index];
            let (sector, domain) = (field_bit(Regime::Ci, &link.ci), field_bit(Regime::Espa, &link.espa));
            let operator_count = count(&|f| f.sectors & sector != 0 && f.domains & domain != 0);
            OverlapCell { link_index, operator_count }
        })
        .collect();

    let domain_gaps = snapshot
        .fields_at(Regime::Espa, as_of)
        .into_iter()
        .map(|domain_index| {
            let domain = snapshot.fields(Regime::Espa)[domain_index].code.as_str();
            let linked_sectors: Vec<String> =
                snapshot.sectors_linked_to(domain, as_of).into_iter().map(str::to_owned).collect();
            let linked = linked_sectors.iter().fold(0u64, |mask, s| mask | field_bit(Regime::Ci, s));
            let operator_count = count(&|f| f.domains & bit(domain_index) != 0 && f.sectors & linked == 0);
            DomainGap { domain_index, operator_count, linked_sectors }
        })
        .collect();

    OverlapReport { as_of, totals, cells, domain_gaps }
}
