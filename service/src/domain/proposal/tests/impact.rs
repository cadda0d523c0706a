//! Impact and comparison: the small scope worked out by hand, and the README's example.

use uuid::Uuid;

use super::*;
use crate::domain::CorporateNumber;
use crate::domain::designation::Designation;
use crate::domain::overlap::OverlapTotals;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::strategies::embedded_snapshot;

fn operator(n: u64) -> CorporateNumber {
    CorporateNumber::from_base(n).expect("corporate number")
}

fn designation(
    id: u128,
    regime: Regime,
    field: &str,
    item: Option<&str>,
    from: &str,
    to: Option<&str>,
    ministry: &str,
) -> Designation {
    Designation {
        id: Uuid::from_u128(id),
        scope_item: item.map(str::to_owned),
        effective_to: to.map(d),
        ..Designation::for_test(Uuid::nil(), regime, field, d(from), ministry)
    }
}

/// Operators 1–12 of the small scope (ids: operator × 10 + n):
/// 1 CI+ESPA power; 2 CI power; 3 ESPA power; 4 CI health; 5 CI health + ESPA post;
/// 6 ESPA post; 7 CI+ESPA water; 8 CI health until 2026; 9 CI health from 2028;
/// 10 ESPA post from 2028; 11 CI power/grid + ESPA post until 2027-01-01;
/// 12 ESPA post until the proposal's day (exclusive, so not active then).
fn small_operators() -> Vec<(CorporateNumber, Vec<Designation>)> {
    use Regime::{Ci, Espa};
    let open = |id, regime, field: &str, ministry: &str| {
        let from = if regime == Ci { "2021-01-01" } else { "2022-01-01" };
        designation(id, regime, field, None, from, None, ministry)
    };
    vec![
        (operator(1), vec![open(11, Ci, "power", "METI"), open(12, Espa, "power", "METI")]),
        (operator(2), vec![open(21, Ci, "power", "METI")]),
        (operator(3), vec![open(31, Espa, "power", "METI")]),
        (operator(4), vec![open(41, Ci, "health", "MHLW")]),
        (operator(5), vec![open(51, Ci, "health", "MHLW"), open(52, Espa, "post", "MIC")]),
        (operator(6), vec![open(61, Espa, "post", "MIC")]),
        (operator(7), vec![open(71, Ci, "water", "MHLW"), open(72, Espa, "water", "MHLW")]),
        (operator(8), vec![designation(81, Ci, "health", None, "2021-01-01", Some("2026-01-01"), "MHLW")]),
        (operator(9), vec![designation(91, Ci, "health", None, "2028-01-01", None, "MHLW")]),
        (operator(10), vec![designation(101, Espa, "post", None, "2028-01-01", None, "MIC")]),
        (
            operator(11),
            vec![
                designation(111, Ci, "power", Some("power/grid"), "2021-01-01", None, "METI"),
                designation(112, Espa, "post", None, "2022-01-01", Some("2027-01-01"), "MIC"),
            ],
        ),
        (operator(12), vec![designation(121, Espa, "post", None, "2022-01-01", Some("2027-04-01"), "MIC")]),
    ]
}

fn groups(
    operators: &[(CorporateNumber, Vec<Designation>)],
) -> impl Iterator<Item = OperatorDesignations<&[Designation]>> {
    operators.iter().map(|(operator, designations)| OperatorDesignations {
        operator: *operator,
        designations: designations.as_slice(),
    })
}

fn small_impact() -> (ScopeImpact, ReferenceData) {
    let live = small_data();
    let proposed = apply(&live, day(), &proposal_source(), &small_proposal()).expect("the small proposal applies");
    let operators = small_operators();
    let before = ReferenceSnapshot::new(live);
    let after = ReferenceSnapshot::new(proposed.clone());
    (impact(&before, &after, day(), groups(&operators)), proposed)
}

fn strings(codes: &[&str]) -> Vec<String> {
    codes.iter().map(|c| (*c).to_owned()).collect()
}

fn sorted(mut numbers: Vec<CorporateNumber>) -> Vec<CorporateNumber> {
    numbers.sort();
    numbers
}

#[test]
fn the_small_proposal_has_the_impact_worked_out_by_hand() {
    let (impact, _) = small_impact();
    assert_eq!(impact.date, day());

    // Gaps: CI health had no domain, ESPA post no sector; health is now linked and post
    // retired. ESPA's new health/hospitals has no item link; CI power/grid is retired.
    assert_eq!(
        impact.gaps_before,
        ScopeCodes {
            sectors: strings(&["health"]),
            domains: strings(&["post"]),
            sector_items: strings(&["power/grid", "health/hospitals"]),
            domain_items: strings(&["power/transmission", "post/mail"]),
        }
    );
    assert_eq!(
        impact.gaps_after,
        ScopeCodes {
            sectors: vec![],
            domains: vec![],
            sector_items: strings(&["health/hospitals"]),
            domain_items: strings(&["power/transmission", "health/hospitals"]),
        }
    );
    assert_eq!(
        impact.newly_covered,
        ScopeCodes { sectors: strings(&["health"]), domains: strings(&["health"]), ..ScopeCodes::default() }
    );
    assert_eq!(
        impact.newly_uncovered,
        ScopeCodes { domain_items: strings(&["health/hospitals"]), ..ScopeCodes::default() }
    );

    // Overlap before: both 1, 5, 7; CI only 2, 4, 11; ESPA only 3, 6.
    assert_eq!(impact.overlap_before.totals, OverlapTotals { both: 3, espa_only: 2, ci_only: 3 });
    let cells = |summary: &OverlapSummary| -> Vec<(String, String, u64)> {
        summary.cells.iter().map(|c| (c.sector.clone(), c.domain.clone(), c.operator_count)).collect()
    };
    let cell = |s: &str, e: &str, n: u64| (s.to_owned(), e.to_owned(), n);
    assert_eq!(cells(&impact.overlap_before), vec![cell("power", "power", 1), cell("water", "water", 1)]);
    let gaps = |summary: &OverlapSummary| -> Vec<(String, u64)> {
        summary.domain_gaps.iter().map(|g| (g.domain.clone(), g.operator_count)).collect()
    };
    let gap = |e: &str, n: u64| (e.to_owned(), n);
    assert_eq!(gaps(&impact.overlap_before), vec![gap("power", 1), gap("water", 0), gap("post", 2)]);
    // After: 5 loses ESPA post, 6 and 11 lose everything.
    assert_eq!(impact.overlap_after.totals, OverlapTotals { both: 2, espa_only: 1, ci_only: 3 });
    assert_eq!(
        cells(&impact.overlap_after),
        vec![cell("water", "water", 1), cell("health", "health", 0), cell("power", "power", 1)]
    );
    assert_eq!(gaps(&impact.overlap_after), vec![gap("power", 1), gap("water", 0), gap("health", 0)]);

    // Ending: ESPA post of 5, 6 and 10 (from 2028), CI power/grid of 11. Not 11's or
    // 12's post designations: they end by the day anyway.
    let ending: Vec<(CorporateNumber, u128, RecordKey)> =
        impact.ending.designations.iter().map(|e| (e.operator, e.id.as_u128(), e.cause.clone())).collect();
    let post = RecordKey::Domain("post".into());
    let grid = RecordKey::SectorItem("power/grid".into());
    let mut expected = vec![
        (operator(5), 52, post.clone()),
        (operator(6), 61, post.clone()),
        (operator(10), 101, post.clone()),
        (operator(11), 111, grid.clone()),
    ];
    expected.sort_by_key(|e| (e.0, e.1));
    assert_eq!(ending, expected);
    assert_eq!((impact.ending.count, impact.ending.operator_count), (4, 4));
    assert!(impact.ending.designations.iter().all(|e| e.ends_on == day()));
    assert_eq!(
        impact.ending.by_record,
        vec![
            EndingByRecord { record: post, ends_on: day(), designation_count: 3, operator_count: 3 },
            EndingByRecord { record: grid, ends_on: day(), designation_count: 1, operator_count: 1 },
        ]
    );

    // Candidates: health → health is new, power → power changed.
    let candidates: Vec<(String, String, Regime, LinkChange, Vec<CorporateNumber>)> = impact
        .candidates
        .iter()
        .map(|g| {
            assert_eq!(g.count, g.operators.len());
            assert_eq!(g.relation, Relation::Equal);
            (g.sector.clone(), g.domain.clone(), g.side, g.change, g.operators.clone())
        })
        .collect();
    let changed = LinkChange::Changed { before: Relation::SubsetOf };
    assert_eq!(
        candidates,
        vec![
            ("health".into(), "health".into(), Regime::Espa, LinkChange::Added, sorted(vec![operator(4), operator(5)])),
            ("health".into(), "health".into(), Regime::Ci, LinkChange::Added, vec![]),
            ("power".into(), "power".into(), Regime::Espa, changed, vec![operator(2)]),
            ("power".into(), "power".into(), Regime::Ci, changed, vec![operator(3)]),
        ]
    );

    // Obligations: ESPA subjects 1, 3, 5, 6, 7; 5 and 6 stop; candidates 2, 4, 5 have no
    // ESPA designation left. CI subjects 1, 2, 4, 5, 7, 11; 11 stops; candidate 3.
    assert_eq!(
        impact.obligation_changes,
        vec![
            ObligationChange {
                rule: "espa-duty".into(),
                triggered_by: Regime::Espa,
                in_force: true,
                subject_before: 5,
                would_stop: 2,
                would_start: 0,
                candidates_would_start: 3,
            },
            ObligationChange {
                rule: "ci-duty".into(),
                triggered_by: Regime::Ci,
                in_force: false,
                subject_before: 6,
                would_stop: 1,
                would_start: 0,
                candidates_would_start: 1,
            },
        ]
    );

    let field = |regime, code: &str| FieldCode { regime, code: code.into() };
    assert_eq!(
        impact.by_ministry,
        vec![
            MinistryImpact {
                ministry: "METI".into(),
                gains: vec![],
                loses: vec![],
                operators_gained: 0,
                operators_lost: 1
            },
            MinistryImpact {
                ministry: "MHLW".into(),
                gains: vec![field(Regime::Espa, "health")],
                loses: vec![field(Regime::Ci, "water")],
                operators_gained: 2,
                operators_lost: 0,
            },
            MinistryImpact {
                ministry: "MIC".into(),
                gains: vec![],
                loses: vec![field(Regime::Espa, "post")],
                operators_gained: 0,
                operators_lost: 3,
            },
            MinistryImpact {
                ministry: "MLIT".into(),
                gains: vec![field(Regime::Ci, "water")],
                loses: vec![],
                operators_gained: 0,
                operators_lost: 0,
            },
        ]
    );
}

#[test]
fn comparing_an_impact_with_itself_finds_nothing_and_with_another_what_differs() {
    let (small, _) = small_impact();
    assert!(compare(&small, &small).is_same());

    let live = small_data();
    let operators = small_operators();
    let before = ReferenceSnapshot::new(live.clone());
    // The same without retiring post and without the new health link.
    let mut changes = small_proposal();
    changes.remove(2);
    changes.remove(1);
    let other = ReferenceSnapshot::new(apply(&live, day(), &proposal_source(), &changes).expect("applies"));
    let other = impact(&before, &other, day(), groups(&operators));
    let differences = compare(&small, &other).differences;
    let expect = |difference: ImpactDifference| {
        assert!(differences.contains(&difference), "{difference:?} not in {differences:#?}");
    };
    expect(ImpactDifference::GapAfter { kind: ScopeKind::Sector, code: "health".into(), in_a: false, in_b: true });
    expect(ImpactDifference::GapAfter { kind: ScopeKind::Domain, code: "post".into(), in_a: false, in_b: true });
    expect(ImpactDifference::GapAfter { kind: ScopeKind::Domain, code: "health".into(), in_a: false, in_b: true });
    expect(ImpactDifference::OverlapTotal { measure: OverlapMeasure::Both, a: 2, b: 3 });
    expect(ImpactDifference::Cell { sector: "health".into(), domain: "health".into(), a: Some(0), b: None });
    expect(ImpactDifference::DomainGap { domain: "post".into(), a: None, b: Some(2) });
    expect(ImpactDifference::Candidates {
        sector: "health".into(),
        domain: "health".into(),
        side: Regime::Espa,
        a: Some(2),
        b: None,
    });
    expect(ImpactDifference::Ending { record: None, a: 4, b: 1 });
    expect(ImpactDifference::Ending { record: Some(RecordKey::Domain("post".into())), a: 3, b: 0 });
    expect(ImpactDifference::Obligation {
        rule: "espa-duty".into(),
        measure: ObligationMeasure::WouldStop,
        a: 2,
        b: 0,
    });
    expect(ImpactDifference::MinistryJurisdiction {
        ministry: "MIC".into(),
        change: JurisdictionChange::Loses,
        field: FieldCode { regime: Regime::Espa, code: "post".into() },
        in_a: true,
        in_b: false,
    });
    expect(ImpactDifference::MinistryOperators {
        ministry: "MHLW".into(),
        measure: OperatorMeasure::Gained,
        a: 2,
        b: 0,
    });
    // What both share is not listed: power → power's candidates, METI's lost operator.
    assert!(!differences.iter().any(|d| matches!(d, ImpactDifference::Candidates { sector, .. } if sector == "power")));
    assert!(
        !differences
            .iter()
            .any(|d| matches!(d, ImpactDifference::MinistryOperators { ministry, .. } if ministry == "METI"))
    );
}

#[test]
fn an_overlap_summary_converts_back_to_the_report_of_its_snapshot() {
    let live = small_data();
    let proposed = apply(&live, day(), &proposal_source(), &small_proposal()).expect("applies");
    let after = ReferenceSnapshot::new(proposed);
    let operators = small_operators();
    let active = operators.iter().map(|(_, designations)| {
        designations
            .iter()
            .filter(|d| d.is_active_at(day()) && d.field != "post" && d.scope_item.as_deref() != Some("power/grid"))
            .map(|d| (d.regime, d.field.as_str()))
    });
    let report = crate::domain::overlap::compute_grouped(&after, day(), active.map(|group| (group, false)));
    let (impact, _) = small_impact();
    assert_eq!(impact.overlap_after, OverlapSummary::new(&after, &report));
    // A summary does not count 特別社会基盤事業者 (a proposal changes no operator's record).
    let uncounted = crate::domain::overlap::OverlapReport { special: None, ..report };
    assert_eq!(impact.overlap_after.to_report(&after), uncounted);
}

/// One designation of the README example: regime, field, from, to.
type Row<'a> = (Regime, &'a str, &'a str, Option<&'a str>);

/// The README's example: "Medical care becomes ESPA domain `medical` from 2027-04-01,
/// linked EQUAL to CI `medical`, under MHLW", on the embedded seed data.
#[test]
fn medical_care_becomes_an_espa_domain_under_mhlw() {
    let live = embedded_snapshot();
    let changes = [
        ScopeChange::AddDomain {
            code: "medical".into(),
            name_ja: "医療".into(),
            name_en: "Medical care".into(),
            ministry: "MHLW".into(),
            scope_items: vec![NewScopeItem {
                code: "medical-care".into(),
                name_ja: "診療".into(),
                name_en: "Medical treatment".into(),
            }],
        },
        set_link("medical", "medical", Relation::Equal, "ESPA would designate the same medical care providers."),
    ];
    let proposed = apply(live.data(), day(), &proposal_source(), &changes).expect("applies");
    let after = ReferenceSnapshot::new(proposed.clone());
    assert_eq!(after.fields_at(Regime::Espa, day()).len(), 16);
    assert_eq!(after.fields_at(Regime::Espa, d("2027-03-31")).len(), 15);
    assert_eq!(after.ministries_of(Regime::Espa, "medical", day()), vec![after.ministry_index("MHLW").expect("MHLW")]);

    // Operators: 1 CI medical; 2 CI medical + ESPA electricity; 3 CI medical until 2026;
    // 4 CI + ESPA electricity; 5 ESPA postal; 6 CI medical from 2028; 7 CI medical + gas.
    let owned: Vec<(CorporateNumber, Vec<Row<'_>>)> = vec![
        (operator(1), vec![(Regime::Ci, "medical", "2019-04-01", None)]),
        (
            operator(2),
            vec![(Regime::Ci, "medical", "2019-04-01", None), (Regime::Espa, "electricity", "2024-05-17", None)],
        ),
        (operator(3), vec![(Regime::Ci, "medical", "2019-04-01", Some("2026-04-01"))]),
        (
            operator(4),
            vec![(Regime::Ci, "electricity", "2018-04-01", None), (Regime::Espa, "electricity", "2024-05-17", None)],
        ),
        (operator(5), vec![(Regime::Espa, "postal", "2024-05-17", None)]),
        (operator(6), vec![(Regime::Ci, "medical", "2028-04-01", None)]),
        (operator(7), vec![(Regime::Ci, "medical", "2019-04-01", None), (Regime::Ci, "gas", "2019-04-01", None)]),
    ];
    let views: Vec<(CorporateNumber, Vec<DesignationView<'_>>)> = owned
        .iter()
        .map(|(number, list)| {
            let views = list
                .iter()
                .enumerate()
                .map(|(n, (regime, field, from, to))| DesignationView {
                    id: Uuid::from_u128(n as u128),
                    regime: *regime,
                    field,
                    scope_item: None,
                    effective_from: d(from),
                    effective_to: to.map(d),
                    ministry: "MHLW",
                })
                .collect();
            (*number, views)
        })
        .collect();
    let operators =
        views.iter().map(|(operator, designations)| OperatorDesignations { operator: *operator, designations });
    let impact = impact(&live, &after, day(), operators);

    assert!(impact.gaps_before.sectors.contains(&"medical".to_owned()));
    assert!(!impact.gaps_after.sectors.contains(&"medical".to_owned()), "CI medical has a domain now");
    assert_eq!(impact.newly_covered.sectors, strings(&["medical"]));
    assert_eq!(impact.newly_covered.domains, strings(&["medical"]));
    assert_eq!(impact.newly_uncovered.domain_items, strings(&["medical/medical-care"]));
    let has_cell =
        |summary: &OverlapSummary| summary.cells.iter().any(|c| c.sector == "medical" && c.domain == "medical");
    assert!(!has_cell(&impact.overlap_before));
    assert!(has_cell(&impact.overlap_after));
    assert_eq!(impact.overlap_before.totals, impact.overlap_after.totals, "nobody's designations change");

    let medical: Vec<&CandidateGroup> =
        impact.candidates.iter().filter(|g| g.sector == "medical" && g.domain == "medical").collect();
    assert_eq!(impact.candidates.len(), 2, "only the new link has candidates");
    let espa = medical.iter().find(|g| g.side == Regime::Espa).expect("side ESPA");
    assert_eq!(espa.operators, sorted(vec![operator(1), operator(2), operator(7)]));
    assert_eq!((espa.count, espa.change, espa.relation), (3, LinkChange::Added, Relation::Equal));
    assert_eq!(medical.iter().find(|g| g.side == Regime::Ci).map(|g| g.count), Some(0));

    assert_eq!(impact.ending, EndingDesignations::default());
    let mhlw = impact.by_ministry.iter().find(|m| m.ministry == "MHLW").expect("MHLW gains");
    assert_eq!(mhlw.gains, vec![FieldCode { regime: Regime::Espa, code: "medical".into() }]);
    assert_eq!(mhlw.operators_gained, 3);
    assert_eq!(impact.by_ministry.len(), 1);
    // Operator 2 is ESPA-designated already: two would start being subject to each ESPA
    // duty; the CI side has no candidates (the new link has no CI operator to add).
    assert!(impact.obligation_changes.iter().all(|o| o.would_stop == 0 && o.would_start == 0));
    let candidates = |o: &ObligationChange| if o.triggered_by == Regime::Espa { 2 } else { 0 };
    assert!(
        impact.obligation_changes.iter().all(|o| o.candidates_would_start == candidates(o)),
        "{:?}",
        impact.obligation_changes
    );

    let plan = promotion_plan(live.data(), &proposed).expect("a plan");
    let kinds: Vec<&str> = plan
        .inserts
        .iter()
        .map(|r| match r {
            NewRecord::Domain(_) => "domain",
            NewRecord::DomainItem(_) => "domain item",
            NewRecord::Jurisdiction(_) => "jurisdiction",
            NewRecord::Link(_) => "link",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["domain", "domain item", "jurisdiction", "link"]);
    assert!(plan.ends.is_empty());
}
