//! Applying changes, the rejections, storage as JSON, and promotion plans.

use chrono::NaiveDate;

use super::*;
use crate::domain::reference::ReferenceSnapshot;

#[test]
fn the_small_proposal_applies_as_the_rules_say() {
    let live = small_data();
    let proposed = apply(&live, day(), &proposal_source(), &small_proposal()).expect("applies");
    let ended = Validity::new(Some(d("2020-01-01")), Some(day()));
    let new = Validity::new(Some(day()), None);

    let post = proposed.domains.iter().find(|f| f.code == "post").expect("post stays in the record");
    assert_eq!(post.validity, ended);
    let health = proposed.domains.iter().find(|f| f.code == "health").expect("new domain");
    assert_eq!((health.validity, &health.provenance), (new, &proposal_source()));
    assert_eq!(proposed.domains.last().map(|f| f.code.as_str()), Some("health"), "appended in display order");
    let hospitals = proposed.domain_items.iter().find(|i| i.code == "health/hospitals").expect("expanded code");
    assert_eq!((hospitals.parent.as_str(), hospitals.validity), ("health", new));
    let mail = proposed.domain_items.iter().find(|i| i.code == "post/mail").expect("post's item");
    assert_eq!(mail.validity.to, Some(day()), "a retired domain's items end with it");
    let grid = proposed.sector_items.iter().find(|i| i.code == "power/grid").expect("grid");
    assert_eq!(grid.validity, ended);

    // power → power: the SUBSET_OF link ends, an EQUAL one starts.
    let power: Vec<(Relation, Validity)> = proposed
        .links
        .iter()
        .filter(|l| l.ci == "power" && l.espa == "power")
        .map(|l| (l.relation, l.validity))
        .collect();
    assert_eq!(
        power,
        vec![
            (Relation::SubsetOf, Validity::new(None, Some(day()))),
            (Relation::Equal, Validity::new(Some(day()), None))
        ]
    );
    let new_link = proposed.links.iter().find(|l| l.ci == "health").expect("health link");
    assert_eq!((new_link.validity, &new_link.provenance), (new, &proposal_source()));

    // Jurisdiction: MIC's over post ends with post; CI water moves from MHLW to MLIT.
    let over = |regime, code: &str| -> Vec<(String, Validity)> {
        proposed
            .jurisdictions
            .iter()
            .filter(|j| j.regime == regime && j.field == code)
            .map(|j| (j.ministry.clone(), j.validity))
            .collect()
    };
    let until = Validity::new(None, Some(day()));
    assert_eq!(over(Regime::Espa, "post"), vec![("MIC".into(), until)]);
    assert_eq!(over(Regime::Ci, "water"), vec![("MHLW".into(), until), ("MLIT".into(), new)]);
    assert_eq!(over(Regime::Espa, "water"), vec![("MHLW".into(), Validity::default())], "the other regime's stays");
    assert_eq!(over(Regime::Espa, "health"), vec![("MHLW".into(), new)]);

    // The day before, the scope is as it was.
    let before = ReferenceSnapshot::new(live.clone());
    let after = ReferenceSnapshot::new(proposed.clone());
    let eve = d("2027-03-31");
    for regime in Regime::ALL {
        assert_eq!(before.fields_at(regime, eve), after.fields_at(regime, eve));
    }
    assert_eq!(before.links_at(eve), after.links_at(eve));
    assert_eq!(before.gaps_at(eve), after.gaps_at(eve));
}

#[test]
fn apply_is_pure_and_validate_agrees_with_it() {
    let live = small_data();
    let copy = live.clone();
    let first = apply(&live, day(), &proposal_source(), &small_proposal()).expect("applies");
    assert_eq!(live, copy, "the live data is unchanged");
    assert_eq!(apply(&live, day(), &proposal_source(), &small_proposal()), Ok(first));
    assert_eq!(validate(&live, day(), &small_proposal()), Ok(()));
    let mut bad = small_proposal();
    bad.push(ScopeChange::RetireDomain { code: "post".into() });
    let rejected = apply(&live, day(), &proposal_source(), &bad).expect_err("post is retired already");
    assert_eq!(validate(&live, day(), &bad), Err(rejected));
    assert_eq!(live, copy);
    assert_eq!(apply(&live, day(), &proposal_source(), &[]), Ok(live.clone()), "no change, same data");
}

#[test]
fn identical_links_and_held_jurisdictions_change_nothing() {
    let live = small_data();
    let same = [
        set_link("water", "water", Relation::Equal, "  The same waterworks. "),
        ScopeChange::SetScopeItemLink {
            sector_item: "power/generation".into(),
            domain_item: "power/generation".into(),
            relation: Relation::Equal,
            rationale: "Same.".into(),
        },
        ScopeChange::SetJurisdiction {
            ministry: "METI".into(),
            regime: Regime::Espa,
            field: "power".into(),
            scope_item: None,
        },
    ];
    assert_eq!(apply(&live, day(), &proposal_source(), &same), Ok(live));
}

#[test]
fn a_record_the_proposal_adds_and_ends_again_never_appears() {
    let live = small_data();
    let changes = [
        add_domain("health", "MHLW", &["hospitals"]),
        set_link("health", "health", Relation::Equal, "first"),
        set_link("health", "health", Relation::SupersetOf, "second thoughts"),
        ScopeChange::RemoveLink { sector: "health".into(), domain: "health".into() },
        ScopeChange::RetireDomain { code: "health".into() },
    ];
    assert_eq!(apply(&live, day(), &proposal_source(), &changes), Ok(live.clone()));
    // A replaced draft link is dropped, not ended: only the last one stays.
    let proposed = apply(&live, day(), &proposal_source(), &changes[..3]).expect("applies");
    let health: Vec<Relation> = proposed.links.iter().filter(|l| l.ci == "health").map(|l| l.relation).collect();
    assert_eq!(health, vec![Relation::SupersetOf]);
}

#[test]
fn removing_a_link_ends_its_scope_item_links_and_retiring_a_sector_everything_on_it() {
    let live = small_data();
    let removed = apply(
        &live,
        day(),
        &proposal_source(),
        &[ScopeChange::RemoveLink { sector: "power".into(), domain: "power".into() }],
    )
    .expect("applies");
    assert_eq!(removed.links[0].validity.to, Some(day()));
    assert_eq!(removed.item_links[0].validity.to, Some(day()), "power/generation → power/generation ends too");
    assert_eq!(removed.item_links[1].validity.to, None, "water's stays");

    let retired = apply(&live, day(), &proposal_source(), &[ScopeChange::RetireSector { code: "water".into() }])
        .expect("applies");
    assert_eq!(retired.sectors[2].validity.to, Some(day()));
    assert_eq!(retired.sector_items[3].validity.to, Some(day()), "water/supply");
    assert_eq!(retired.links[1].validity.to, Some(day()), "water → water");
    assert_eq!(retired.item_links[1].validity.to, Some(day()), "water/supply → water/supply");
    assert_eq!(retired.jurisdictions[3].validity.to, Some(day()), "MHLW over CI water");
    assert_eq!(retired.jurisdictions[4].validity.to, None, "MHLW over ESPA water stays");
    assert_eq!(retired.domains[1].validity.to, None, "the ESPA domain of the same code stays");
}

#[test]
fn a_new_link_ends_where_the_pairs_next_scheduled_link_starts() {
    let mut live = small_data();
    live.links.push(LinkRecord {
        validity: Validity::new(Some(d("2030-01-01")), None),
        ..link("health", "water", Relation::IntersectsWith, "scheduled")
    });
    let proposed = apply(&live, day(), &proposal_source(), &[set_link("health", "water", Relation::Equal, "sooner")])
        .expect("applies");
    let added = proposed.links.last().expect("new link");
    assert_eq!(added.validity, Validity::new(Some(day()), Some(d("2030-01-01"))));
}

/// Applies `changes` to the small data on the day and returns the rejection.
fn rejected(changes: &[ScopeChange]) -> ChangeRejected {
    rejected_at(&small_data(), day(), changes)
}

fn rejected_at(live: &ReferenceData, day: NaiveDate, changes: &[ScopeChange]) -> ChangeRejected {
    match apply(live, day, &proposal_source(), changes) {
        Err(rejection) => rejection,
        Ok(_) => panic!("{changes:?} should be rejected"),
    }
}

fn assert_rejected(rejection: &ChangeRejected, index: usize, change: &str, reason: &str) {
    assert_eq!((rejection.index, rejection.change.as_str()), (index, change), "{rejection}");
    assert!(rejection.reason.contains(reason), "expected \"{reason}\" in: {}", rejection.reason);
}

#[test]
fn unknown_codes_are_rejected() {
    let retire = ScopeChange::RetireSector { code: "roads".into() };
    assert_rejected(&rejected(&[retire]), 0, "retireSector roads", "unknown sector \"roads\"");
    let link = set_link("power", "gas", Relation::Equal, "r");
    assert_rejected(&rejected(&[link]), 0, "setLink power → gas (EQUAL)", "unknown business domain \"gas\"");
    let item = ScopeChange::RetireScopeItem { regime: Regime::Ci, code: "power/nothing".into() };
    assert_rejected(
        &rejected(&[item]),
        0,
        "retireScopeItem CI power/nothing",
        "unknown CI scope item \"power/nothing\"",
    );
    let parent = ScopeChange::AddScopeItem {
        regime: Regime::Espa,
        parent: "health".into(),
        code: "clinics".into(),
        name_ja: "診療所".into(),
        name_en: "Clinics".into(),
    };
    assert_rejected(&rejected(&[parent]), 0, "addScopeItem ESPA health/clinics", "unknown business domain \"health\"");
    let removal =
        ScopeChange::RemoveScopeItemLink { sector_item: "power/x".into(), domain_item: "power/generation".into() };
    assert_rejected(
        &rejected(&[removal]),
        0,
        "removeScopeItemLink power/x → power/generation",
        "unknown CI scope item",
    );
}

#[test]
fn retiring_or_removing_what_does_not_hold_on_the_day_is_rejected() {
    let early = rejected_at(&small_data(), d("2019-06-01"), &[ScopeChange::RetireSector { code: "power".into() }]);
    assert_rejected(
        &early,
        0,
        "retireSector power",
        "sector \"power\" is not in force on 2019-06-01 (it starts on 2020-01-01)",
    );
    let twice = [ScopeChange::RetireDomain { code: "post".into() }, ScopeChange::RetireDomain { code: "post".into() }];
    assert_rejected(
        &rejected(&twice),
        1,
        "retireDomain post",
        "nothing to retire: business domain \"post\" is not in force on 2027-04-01 (it is retired from 2027-04-01)",
    );
    let item = [
        ScopeChange::RetireScopeItem { regime: Regime::Espa, code: "power/transmission".into() },
        ScopeChange::RetireScopeItem { regime: Regime::Espa, code: "power/transmission".into() },
    ];
    assert_rejected(&rejected(&item), 1, "retireScopeItem ESPA power/transmission", "not in force on 2027-04-01");
    let no_link = ScopeChange::RemoveLink { sector: "health".into(), domain: "water".into() };
    assert_rejected(
        &rejected(&[no_link]),
        0,
        "removeLink health → water",
        "no link health → water holds on 2027-04-01",
    );
    let no_item_link =
        ScopeChange::RemoveScopeItemLink { sector_item: "power/grid".into(), domain_item: "power/transmission".into() };
    assert_rejected(
        &rejected(&[no_item_link]),
        0,
        "removeScopeItemLink power/grid → power/transmission",
        "no scope-item link",
    );
    // A live record that would end on or before the day it starts.
    let mut live = small_data();
    live.links.push(LinkRecord {
        validity: Validity::new(Some(d("2028-01-01")), None),
        ..link("health", "water", Relation::IntersectsWith, "scheduled")
    });
    let scheduled = rejected_at(&live, day(), &[ScopeChange::RetireSector { code: "health".into() }]);
    assert_rejected(&scheduled, 0, "retireSector health", "link health → water only starts on 2028-01-01");
}

#[test]
fn codes_once_published_cannot_be_added_again() {
    let existing = rejected(&[add_domain("power", "METI", &[])]);
    assert_rejected(&existing, 0, "addDomain power", "business domain \"power\" already exists");
    let reused = rejected(&[ScopeChange::RetireDomain { code: "post".into() }, add_domain("post", "MIC", &[])]);
    assert_rejected(&reused, 1, "addDomain post", "a retired code cannot be reused");
    let mut live = small_data();
    live.sectors[1].validity.to = Some(d("2025-01-01"));
    let long_gone = rejected_at(
        &live,
        day(),
        &[ScopeChange::AddSector {
            code: "health".into(),
            name_ja: "医療".into(),
            name_en: "Health".into(),
            ministry: "MHLW".into(),
            scope_items: vec![],
        }],
    );
    assert_rejected(&long_gone, 0, "addSector health", "already existed (until 2025-01-01)");
    let item = ScopeChange::AddScopeItem {
        regime: Regime::Espa,
        parent: "power".into(),
        code: "generation".into(),
        name_ja: "発電".into(),
        name_en: "Generation".into(),
    };
    assert_rejected(
        &rejected(&[item]),
        0,
        "addScopeItem ESPA power/generation",
        "ESPA scope item \"power/generation\" already exists",
    );
    let twice = rejected(&[add_domain("health", "MHLW", &["hospitals", "health/hospitals"])]);
    assert_rejected(&twice, 0, "addDomain health", "scope item \"health/hospitals\" is listed twice");
}

#[test]
fn a_link_needs_both_ends_on_the_day() {
    let retired_end = rejected(&[
        ScopeChange::RetireDomain { code: "post".into() },
        set_link("health", "post", Relation::Equal, "r"),
    ]);
    assert_rejected(
        &retired_end,
        1,
        "setLink health → post (EQUAL)",
        "the link's ends must exist: business domain \"post\" is not in force on 2027-04-01",
    );
    let not_yet = rejected_at(&small_data(), d("2019-12-31"), &[set_link("health", "post", Relation::Equal, "r")]);
    assert_rejected(&not_yet, 0, "setLink health → post (EQUAL)", "sector \"health\" is not in force on 2019-12-31");
    let retired_item = rejected(&[
        ScopeChange::RetireScopeItem { regime: Regime::Ci, code: "power/grid".into() },
        ScopeChange::SetScopeItemLink {
            sector_item: "power/grid".into(),
            domain_item: "power/transmission".into(),
            relation: Relation::Equal,
            rationale: "r".into(),
        },
    ]);
    assert_rejected(
        &retired_item,
        1,
        "setScopeItemLink power/grid → power/transmission (EQUAL)",
        "CI scope item \"power/grid\" is not in force",
    );
}

#[test]
fn scope_item_links_need_the_right_sides_and_linked_fields() {
    let wrong_side = ScopeChange::SetScopeItemLink {
        sector_item: "power/transmission".into(),
        domain_item: "power/generation".into(),
        relation: Relation::Equal,
        rationale: "r".into(),
    };
    assert_rejected(
        &rejected(&[wrong_side]),
        0,
        "setScopeItemLink power/transmission → power/generation (EQUAL)",
        "\"power/transmission\" is an ESPA scope item, not a CI one: sectorItem names a CI sector's scope item",
    );
    let wrong_right = ScopeChange::SetScopeItemLink {
        sector_item: "power/grid".into(),
        domain_item: "health/hospitals".into(),
        relation: Relation::Equal,
        rationale: "r".into(),
    };
    assert_rejected(
        &rejected(&[wrong_right]),
        0,
        "setScopeItemLink power/grid → health/hospitals (EQUAL)",
        "is a CI scope item, not an ESPA one: domainItem",
    );
    let unlinked = ScopeChange::SetScopeItemLink {
        sector_item: "health/hospitals".into(),
        domain_item: "water/supply".into(),
        relation: Relation::IntersectsWith,
        rationale: "r".into(),
    };
    assert_rejected(
        &rejected(std::slice::from_ref(&unlinked)),
        0,
        "setScopeItemLink health/hospitals → water/supply (INTERSECTS_WITH)",
        "sector \"health\" and business domain \"water\" are not linked on 2027-04-01: link them first",
    );
    // Once the proposal links the fields, the item link is accepted.
    let linked = [set_link("health", "water", Relation::IntersectsWith, "r"), unlinked];
    assert!(apply(&small_data(), day(), &proposal_source(), &linked).is_ok());
    // And after the link is removed, it is not.
    let unlinked_again = rejected(&[
        ScopeChange::RemoveLink { sector: "power".into(), domain: "power".into() },
        ScopeChange::SetScopeItemLink {
            sector_item: "power/grid".into(),
            domain_item: "power/transmission".into(),
            relation: Relation::Equal,
            rationale: "r".into(),
        },
    ]);
    assert_rejected(&unlinked_again, 1, "setScopeItemLink power/grid → power/transmission (EQUAL)", "are not linked");
}

#[test]
fn ministries_must_be_known_and_new_fields_need_one() {
    let unknown = ScopeChange::SetJurisdiction {
        ministry: "XYZ".into(),
        regime: Regime::Ci,
        field: "water".into(),
        scope_item: None,
    };
    assert_rejected(
        &rejected(&[unknown]),
        0,
        "setJurisdiction XYZ over CI water",
        "unknown ministry \"XYZ\" (known: METI, MHLW, MIC, MLIT)",
    );
    assert_rejected(&rejected(&[add_domain("health", "XYZ", &[])]), 0, "addDomain health", "unknown ministry \"XYZ\"");
    assert_rejected(
        &rejected(&[add_domain("health", "  ", &[])]),
        0,
        "addDomain health",
        "a new business domain needs a ministry with jurisdiction over it",
    );
    let no_field = ScopeChange::SetJurisdiction {
        ministry: "MLIT".into(),
        regime: Regime::Espa,
        field: "health".into(),
        scope_item: None,
    };
    assert_rejected(
        &rejected(&[no_field]),
        0,
        "setJurisdiction MLIT over ESPA health",
        "unknown business domain \"health\"",
    );
}

#[test]
fn codes_and_texts_are_checked_like_the_reference_data() {
    assert_rejected(
        &rejected(&[add_domain("Health", "MHLW", &[])]),
        0,
        "addDomain Health",
        "is not a valid business domain code",
    );
    assert_rejected(
        &rejected(&[add_domain("health--care", "MHLW", &[])]),
        0,
        "addDomain health--care",
        "lower-kebab-case",
    );
    assert_rejected(
        &rejected(&[add_domain("health", "MHLW", &["water/hospitals"])]),
        0,
        "addDomain health",
        "scope item code \"water/hospitals\" is not of the form \"health/<lower-kebab-name>\"",
    );
    assert_rejected(
        &rejected(&[add_domain("health", "MHLW", &["Hospitals"])]),
        0,
        "addDomain health",
        "not of the form",
    );
    let mut unnamed = add_domain("health", "MHLW", &[]);
    if let ScopeChange::AddDomain { name_ja, .. } = &mut unnamed {
        *name_ja = " ".into();
    }
    assert_rejected(&rejected(&[unnamed]), 0, "addDomain health", "nameJa is required");
    let long = set_link("health", "water", Relation::Equal, &"x".repeat(501));
    assert_rejected(&rejected(&[long]), 0, "setLink health → water (EQUAL)", "rationale is too long");
    let control = set_link("health", "water", Relation::Equal, "a\u{7}b");
    assert_rejected(
        &rejected(&[control]),
        0,
        "setLink health → water (EQUAL)",
        "rationale contains a control character",
    );
    // Codes are trimmed and texts too.
    let trimmed = [add_domain(" health ", " MHLW ", &[" hospitals "])];
    let proposed = apply(&small_data(), day(), &proposal_source(), &trimmed).expect("applies");
    assert_eq!(proposed.domain_items.last().map(|i| i.code.as_str()), Some("health/hospitals"));
}

#[test]
fn changes_are_stored_as_tagged_camel_case_json() {
    let change = ScopeChange::AddDomain {
        code: "medical".into(),
        name_ja: "医療".into(),
        name_en: "Medical care".into(),
        ministry: "MHLW".into(),
        scope_items: vec![NewScopeItem {
            code: "medical-care".into(),
            name_ja: "診療".into(),
            name_en: "Medical treatment".into(),
        }],
    };
    let json = serde_json::to_value(&change).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({"addDomain": {"code": "medical", "nameJa": "医療", "nameEn": "Medical care", "ministry": "MHLW",
            "scopeItems": [{"code": "medical-care", "nameJa": "診療", "nameEn": "Medical treatment"}]}})
    );
    let all = [
        change,
        ScopeChange::RetireSector { code: "chemicals".into() },
        ScopeChange::RetireScopeItem { regime: Regime::Ci, code: "logistics/warehousing".into() },
        ScopeChange::SetScopeItemLink {
            sector_item: "a/b".into(),
            domain_item: "c/d".into(),
            relation: Relation::SubsetOf,
            rationale: "r".into(),
        },
        ScopeChange::SetJurisdiction {
            ministry: "MHLW".into(),
            regime: Regime::Espa,
            field: "medical".into(),
            scope_item: None,
        },
    ];
    let text = serde_json::to_string(&all).expect("serializes");
    assert_eq!(serde_json::from_str::<Vec<ScopeChange>>(&text).expect("reads back"), all);
    assert!(text.contains(
        r#"{"setScopeItemLink":{"sectorItem":"a/b","domainItem":"c/d","relation":"SUBSET_OF","rationale":"r"}}"#
    ));
    assert!(text.contains(r#"{"setJurisdiction":{"ministry":"MHLW","regime":"ESPA","field":"medical"}}"#));
    // Scope items may be left out; unknown fields are refused.
    let bare: ScopeChange =
        serde_json::from_str(r#"{"addSector":{"code":"x","nameJa":"x","nameEn":"x","ministry":"MIC"}}"#)
            .expect("reads");
    assert!(matches!(bare, ScopeChange::AddSector { scope_items, .. } if scope_items.is_empty()));
    assert!(serde_json::from_str::<ScopeChange>(r#"{"retireSector":{"code":"x","when":"now"}}"#).is_err());
    assert!(
        serde_json::from_str::<ScopeChange>(r#"{"retireSector":{"code":"x"},"retireDomain":{"code":"y"}}"#).is_err()
    );
}

#[test]
fn describe_gives_a_short_label() {
    let labels: Vec<String> = small_proposal().iter().map(ScopeChange::describe).collect();
    assert_eq!(
        labels,
        [
            "addDomain health",
            "setLink health → health (EQUAL)",
            "retireDomain post",
            "setLink power → power (EQUAL)",
            "setJurisdiction MLIT over CI water",
            "retireScopeItem CI power/grid",
        ]
    );
    let item = ScopeChange::AddScopeItem {
        regime: Regime::Ci,
        parent: "logistics".into(),
        code: "cold-storage".into(),
        name_ja: "冷蔵倉庫".into(),
        name_en: "Cold storage".into(),
    };
    assert_eq!(item.describe(), "addScopeItem CI logistics/cold-storage");
    let rejection = ChangeRejected { index: 2, change: "retireDomain post".into(), reason: "why".into() };
    assert_eq!(rejection.to_string(), "change 2 (retireDomain post) cannot be applied: why");
}

#[test]
fn the_promotion_plan_lists_exactly_the_inserts_and_the_ends() {
    let live = small_data();
    let proposed = apply(&live, day(), &proposal_source(), &small_proposal()).expect("applies");
    let plan = promotion_plan(&live, &proposed).expect("a plan");
    let inserts: Vec<RecordKey> = plan.inserts.iter().map(NewRecord::key).collect();
    let from = Some(day());
    assert_eq!(
        inserts,
        vec![
            RecordKey::Domain("health".into()),
            RecordKey::DomainItem("health/hospitals".into()),
            RecordKey::Jurisdiction {
                ministry: "MHLW".into(),
                regime: Regime::Espa,
                field: "health".into(),
                scope_item: None,
                from
            },
            RecordKey::Jurisdiction {
                ministry: "MLIT".into(),
                regime: Regime::Ci,
                field: "water".into(),
                scope_item: None,
                from
            },
            RecordKey::Link { sector: "health".into(), domain: "health".into(), from },
            RecordKey::Link { sector: "power".into(), domain: "power".into(), from },
        ]
    );
    let end = |key: RecordKey| ValidityEnd { key, before: None, after: Some(day()) };
    assert_eq!(
        plan.ends,
        vec![
            end(RecordKey::Domain("post".into())),
            end(RecordKey::SectorItem("power/grid".into())),
            end(RecordKey::DomainItem("post/mail".into())),
            end(RecordKey::Jurisdiction {
                ministry: "MHLW".into(),
                regime: Regime::Ci,
                field: "water".into(),
                scope_item: None,
                from: None
            }),
            end(RecordKey::Jurisdiction {
                ministry: "MIC".into(),
                regime: Regime::Espa,
                field: "post".into(),
                scope_item: None,
                from: None
            }),
            end(RecordKey::Link { sector: "power".into(), domain: "power".into(), from: None }),
        ]
    );
    assert_eq!(plan.replay(&live), proposed, "writing the plan gives the proposed data");
    assert!(promotion_plan(&live, &live).expect("no change").is_empty());
}

#[test]
fn a_promotion_plan_refuses_data_that_is_not_a_promotion() {
    let live = small_data();
    let mut dropped = live.clone();
    dropped.domains.remove(2);
    assert_eq!(promotion_plan(&live, &dropped), Err(PlanError::Missing(RecordKey::Domain("post".into()))));
    let mut renamed = live.clone();
    renamed.sectors[0].name_en = "Electric power".into();
    assert_eq!(promotion_plan(&live, &renamed), Err(PlanError::Changed(RecordKey::Sector("power".into()))));
    let mut moved = live.clone();
    moved.links[0].validity.from = Some(d("2021-01-01"));
    // A link with another start is another link: the stored one would be missing.
    assert!(matches!(promotion_plan(&live, &moved), Err(PlanError::Missing(RecordKey::Link { .. }))));
    let mut twice = live.clone();
    twice.sectors.push(field("roads"));
    twice.sectors.push(field("roads"));
    assert_eq!(promotion_plan(&live, &twice), Err(PlanError::Duplicate(RecordKey::Sector("roads".into()))));
    let mut ministries = live.clone();
    ministries.ministries.pop();
    assert_eq!(promotion_plan(&live, &ministries), Err(PlanError::Unchangeable("ministries")));
}

fn set_item_jurisdiction(ministry: &str, regime: Regime, field: &str, item: &str) -> ScopeChange {
    ScopeChange::SetJurisdiction {
        ministry: ministry.into(),
        regime,
        field: field.into(),
        scope_item: Some(item.into()),
    }
}

#[test]
fn a_jurisdiction_narrowed_to_a_scope_item_is_added_beside_the_field_and_ends_with_the_item() {
    let live = small_data();
    // MLIT becomes co-competent for ESPA power's transmission: METI keeps the domain.
    let changes = [set_item_jurisdiction("MLIT", Regime::Espa, "power", "transmission")];
    let added = apply(&live, day(), &proposal_source(), &changes).expect("applies");
    let last = added.jurisdictions.last().expect("a jurisdiction");
    assert_eq!(
        (last.ministry.as_str(), last.field.as_str(), last.scope_item.as_deref(), last.validity.from),
        ("MLIT", "power", Some("power/transmission"), Some(day()))
    );
    assert_eq!(added.jurisdictions[1].validity.to, None, "METI over ESPA power stays");
    assert_eq!(changes[0].describe(), "setJurisdiction MLIT over ESPA power/transmission");
    // Already covered (METI has the whole domain): nothing changes.
    let covered = [set_item_jurisdiction("METI", Regime::Espa, "power", "power/transmission")];
    assert_eq!(apply(&live, day(), &proposal_source(), &covered), Ok(live.clone()));
    // Retiring the item ends the narrowed jurisdiction; a transfer of the whole field too.
    let later = d("2028-01-01");
    for retire in [
        ScopeChange::RetireScopeItem { regime: Regime::Espa, code: "power/transmission".into() },
        ScopeChange::SetJurisdiction {
            ministry: "METI".into(),
            regime: Regime::Espa,
            field: "power".into(),
            scope_item: None,
        },
    ] {
        let ended = apply(&added, later, &proposal_source(), std::slice::from_ref(&retire)).expect("applies");
        let narrowed = ended.jurisdictions.iter().find(|j| j.scope_item.is_some()).expect("kept, ended");
        assert_eq!(narrowed.validity.to, Some(later), "{}", retire.describe());
        assert_eq!(ended.jurisdictions[1].validity.to, None, "METI keeps ESPA power");
    }
    // The item must belong to the field and exist.
    for (item, words) in [("water/supply", "belongs to"), ("power/fusion", "unknown ESPA scope item")] {
        let bad =
            apply(&live, day(), &proposal_source(), &[set_item_jurisdiction("MLIT", Regime::Espa, "power", item)]);
        assert!(matches!(&bad, Err(rejected) if rejected.reason.contains(words)), "{item}: {bad:?}");
    }
    // Stored changes without a scope item read back as before, and with one round-trip.
    let text = serde_json::to_string(&changes).expect("serializes");
    assert!(text.contains("\"scopeItem\":\"transmission\""), "{text}");
    assert_eq!(serde_json::from_str::<Vec<ScopeChange>>(&text).expect("reads back"), changes);
    let old: ScopeChange =
        serde_json::from_str(r#"{"setJurisdiction":{"ministry":"MLIT","regime":"CI","field":"water"}}"#).expect("old");
    assert_eq!(
        old,
        ScopeChange::SetJurisdiction {
            ministry: "MLIT".into(),
            regime: Regime::Ci,
            field: "water".into(),
            scope_item: None
        }
    );
}
