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

/// Computes the report from the designations active at `as_of` (one pass, in memory).
pub fn compute<K: Eq + Hash + Copy>(
    snapshot: &ReferenceSnapshot,
    as_of: NaiveDate,
    active: &[ActiveField<K>],
) -> OverlapReport {
    // Per operator: the sectors and the domains it is active in.
    let mut sectors_of: HashMap<K, HashSet<&str>> = HashMap::new();
    let mut domains_of: HashMap<K, HashSet<&str>> = HashMap::new();
    for entry in active {
        let map = match entry.regime {
            Regime::Ci => &mut sectors_of,
            Regime::Espa => &mut domains_of,
        };
        map.entry(entry.operator).or_default().insert(entry.field.as_str());
    }

    let mut totals = OverlapTotals::default();
    for operator in sectors_of.keys() {
        if domains_of.contains_key(operator) {
            totals.both += 1;
        } else {
            totals.ci_only += 1;
        }
    }
    totals.espa_only = domains_of.keys().filter(|op| !sectors_of.contains_key(*op)).count() as u64;

    let cells = snapshot
        .links_at(as_of)
        .into_iter()
        .map(|link_index| {
            let link = &snapshot.data().links[link_index];
            let operator_count = domains_of
                .iter()
                .filter(|(op, domains)| {
                    domains.contains(link.espa.as_str())
                        && sectors_of.get(*op).is_some_and(|sectors| sectors.contains(link.ci.as_str()))
                })
                .count() as u64;
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
            let operator_count = domains_of
                .iter()
                .filter(|(op, domains)| {
                    domains.contains(domain)
                        && !sectors_of
                            .get(*op)
                            .is_some_and(|sectors| linked_sectors.iter().any(|s| sectors.contains(s.as_str())))
                })
                .count() as u64;
            DomainGap { domain_index, operator_count, linked_sectors }
        })
        .collect();

    OverlapReport { as_of, totals, cells, domain_gaps }
}
