//! Comparing the impacts of two proposals: where they lead to different results.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::impact::{FieldCode, ScopeCodes, ScopeImpact};
use super::plan::RecordKey;
use crate::domain::Regime;

/// Which kind of record a code in [`ScopeCodes`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScopeKind {
    Sector,
    Domain,
    SectorItem,
    DomainItem,
}

/// One of the overlap totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapMeasure {
    Both,
    EspaOnly,
    CiOnly,
}

/// One of the figures of an [`super::ObligationChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObligationMeasure {
    WouldStop,
    WouldStart,
    CandidatesWouldStart,
}

/// Whether a ministry gains or loses jurisdiction over a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JurisdictionChange {
    Gains,
    Loses,
}

/// One of the operator counts of a [`super::MinistryImpact`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OperatorMeasure {
    Gained,
    Lost,
}

/// One place where the two impacts differ (`a` is the first, `b` the second; `None`:
/// that impact has no such entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImpactDifference {
    /// They were computed for different dates (the other figures are still compared).
    Date {
        a: NaiveDate,
        b: NaiveDate,
    },
    /// The code is in one impact's `gaps_after` and not the other's.
    GapAfter {
        kind: ScopeKind,
        code: String,
        in_a: bool,
        in_b: bool,
    },
    OverlapTotal {
        measure: OverlapMeasure,
        a: u64,
        b: u64,
    },
    /// A cell of `overlap_after`.
    Cell {
        sector: String,
        domain: String,
        a: Option<u64>,
        b: Option<u64>,
    },
    /// A domain gap of `overlap_after`.
    DomainGap {
        domain: String,
        a: Option<u64>,
        b: Option<u64>,
    },
    /// The candidate count of one link and side.
    Candidates {
        sector: String,
        domain: String,
        side: Regime,
        a: Option<usize>,
        b: Option<usize>,
    },
    /// Ending designations: on one retired record, or all of them (`record: None`).
    Ending {
        record: Option<RecordKey>,
        a: usize,
        b: usize,
    },
    Obligation {
        rule: String,
        measure: ObligationMeasure,
        a: usize,
        b: usize,
    },
    MinistryJurisdiction {
        ministry: String,
        change: JurisdictionChange,
        field: FieldCode,
        in_a: bool,
        in_b: bool,
    },
    MinistryOperators {
        ministry: String,
        measure: OperatorMeasure,
        a: usize,
        b: usize,
    },
}

/// Every difference between two impacts, in the order of the variants of
/// [`ImpactDifference`] (each kind sorted by its key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImpactComparison {
    pub differences: Vec<ImpactDifference>,
}

impl ImpactComparison {
    /// True when the two proposals lead to the same results.
    pub fn is_same(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Entries of two keyed lists whose values differ (or that only one list has).
fn keyed<K: Ord, V: PartialEq + Copy>(
    a: impl IntoIterator<Item = (K, V)>,
    b: impl IntoIterator<Item = (K, V)>,
) -> Vec<(K, Option<V>, Option<V>)> {
    let mut both: BTreeMap<K, (Option<V>, Option<V>)> = BTreeMap::new();
    for (key, value) in a {
        both.entry(key).or_default().0 = Some(value);
    }
    for (key, value) in b {
        both.entry(key).or_default().1 = Some(value);
    }
    both.into_iter().filter(|(_, (a, b))| a != b).map(|(key, (a, b))| (key, a, b)).collect()
}

fn sets(codes: &ScopeCodes) -> [(ScopeKind, &[String]); 4] {
    [
        (ScopeKind::Sector, &codes.sectors),
        (ScopeKind::Domain, &codes.domains),
        (ScopeKind::SectorItem, &codes.sector_items),
        (ScopeKind::DomainItem, &codes.domain_items),
    ]
}

/// Where the impacts of two proposals differ: their gaps after, overlap totals, cells and
/// domain gaps after, candidate counts per link and side, ending designations (in all and
/// per retired record), obligation figures, and what each ministry gains and loses.
pub fn compare(a: &ScopeImpact, b: &ScopeImpact) -> ImpactComparison {
    let mut differences = Vec::new();
    if a.date != b.date {
        differences.push(ImpactDifference::Date { a: a.date, b: b.date });
    }

    for ((kind, in_a), (_, in_b)) in sets(&a.gaps_after).into_iter().zip(sets(&b.gaps_after)) {
        let (in_a, in_b): (BTreeSet<&String>, BTreeSet<&String>) = (in_a.iter().collect(), in_b.iter().collect());
        for code in in_a.symmetric_difference(&in_b) {
            differences.push(ImpactDifference::GapAfter {
                kind,
                code: (*code).clone(),
                in_a: in_a.contains(code),
                in_b: in_b.contains(code),
            });
        }
    }

    let (ta, tb) = (a.overlap_after.totals, b.overlap_after.totals);
    for (measure, x, y) in [
        (OverlapMeasure::Both, ta.both, tb.both),
        (OverlapMeasure::EspaOnly, ta.espa_only, tb.espa_only),
        (OverlapMeasure::CiOnly, ta.ci_only, tb.ci_only),
    ] {
        if x != y {
            differences.push(ImpactDifference::OverlapTotal { measure, a: x, b: y });
        }
    }
    let cells = |i: &ScopeImpact| {
        i.overlap_after
            .cells
            .iter()
            .map(|c| ((c.sector.clone(), c.domain.clone()), c.operator_count))
            .collect::<Vec<_>>()
    };
    for ((sector, domain), a, b) in keyed(cells(a), cells(b)) {
        differences.push(ImpactDifference::Cell { sector, domain, a, b });
    }
    let gaps = |i: &ScopeImpact| {
        i.overlap_after.domain_gaps.iter().map(|g| (g.domain.clone(), g.operator_count)).collect::<Vec<_>>()
    };
    for (domain, a, b) in keyed(gaps(a), gaps(b)) {
        differences.push(ImpactDifference::DomainGap { domain, a, b });
    }

    let candidates = |i: &ScopeImpact| {
        i.candidates.iter().map(|g| ((g.sector.clone(), g.domain.clone(), g.side), g.count)).collect::<Vec<_>>()
    };
    for ((sector, domain, side), a, b) in keyed(candidates(a), candidates(b)) {
        differences.push(ImpactDifference::Candidates { sector, domain, side, a, b });
    }

    if a.ending.count != b.ending.count {
        differences.push(ImpactDifference::Ending { record: None, a: a.ending.count, b: b.ending.count });
    }
    let ending = |i: &ScopeImpact| {
        i.ending.by_record.iter().map(|r| (r.record.clone(), r.designation_count)).collect::<Vec<_>>()
    };
    for (record, a, b) in keyed(ending(a), ending(b)) {
        let (a, b) = (a.unwrap_or(0), b.unwrap_or(0));
        if a != b {
            differences.push(ImpactDifference::Ending { record: Some(record), a, b });
        }
    }

    let obligations = |i: &ScopeImpact| {
        i.obligation_changes
            .iter()
            .flat_map(|o| {
                [
                    ((o.rule.clone(), ObligationMeasure::WouldStop), o.would_stop),
                    ((o.rule.clone(), ObligationMeasure::WouldStart), o.would_start),
                    ((o.rule.clone(), ObligationMeasure::CandidatesWouldStart), o.candidates_would_start),
                ]
            })
            .collect::<Vec<_>>()
    };
    for ((rule, measure), a, b) in keyed(obligations(a), obligations(b)) {
        let (a, b) = (a.unwrap_or(0), b.unwrap_or(0));
        if a != b {
            differences.push(ImpactDifference::Obligation { rule, measure, a, b });
        }
    }

    let jurisdiction = |i: &ScopeImpact| {
        i.by_ministry
            .iter()
            .flat_map(|m| {
                let gains = m.gains.iter().map(|f| ((m.ministry.clone(), JurisdictionChange::Gains, f.clone()), ()));
                let loses = m.loses.iter().map(|f| ((m.ministry.clone(), JurisdictionChange::Loses, f.clone()), ()));
                gains.chain(loses).collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    for ((ministry, change, field), in_a, in_b) in keyed(jurisdiction(a), jurisdiction(b)) {
        differences.push(ImpactDifference::MinistryJurisdiction {
            ministry,
            change,
            field,
            in_a: in_a.is_some(),
            in_b: in_b.is_some(),
        });
    }
    let operators = |i: &ScopeImpact| {
        i.by_ministry
            .iter()
            .flat_map(|m| {
                [
                    ((m.ministry.clone(), OperatorMeasure::Gained), m.operators_gained),
                    ((m.ministry.clone(), OperatorMeasure::Lost), m.operators_lost),
                ]
            })
            .collect::<Vec<_>>()
    };
    for ((ministry, measure), a, b) in keyed(operators(a), operators(b)) {
        let (a, b) = (a.unwrap_or(0), b.unwrap_or(0));
        if a != b {
            differences.push(ImpactDifference::MinistryOperators { ministry, measure, a, b });
        }
    }

    ImpactComparison { differences }
}
