//! Unit tests of scope revision proposals: a small constructed scope (a few sectors,
//! domains, scope items and links, a dozen operators) whose results are worked out by
//! hand, every reason a change is rejected, promotion plans, comparison, the proposed
//! scope's marks, and the README's example on the embedded seed data.

mod apply;
mod impact;
mod scope;

use chrono::NaiveDate;

use super::*;
use crate::domain::reference::{
    FieldRecord, JurisdictionRecord, LinkOrigin, LinkRecord, MinistryRecord, ObligationRule, Provenance, ReferenceData,
    ScopeItemRecord, SourceRecord,
};
use crate::domain::{Regime, Relation, Validity};

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// The proposals' date in these tests.
fn day() -> NaiveDate {
    d("2027-04-01")
}

fn provenance(source: &str) -> Provenance {
    Provenance { source: source.into(), locator: None, confirmed: true, note: None }
}

fn proposal_source() -> Provenance {
    Provenance {
        source: "proposal-7".into(),
        locator: Some("scope revision proposal 7".into()),
        confirmed: false,
        note: Some("proposed".into()),
    }
}

fn since_2020() -> Validity {
    Validity::new(Some(d("2020-01-01")), None)
}

fn field(code: &str) -> FieldRecord {
    FieldRecord {
        code: code.into(),
        name_ja: format!("{code}（日本語）"),
        name_en: code.into(),
        validity: since_2020(),
        provenance: provenance("test"),
        exhaustive: true,
    }
}

fn item(parent: &str, name: &str) -> ScopeItemRecord {
    ScopeItemRecord {
        code: format!("{parent}/{name}"),
        parent: parent.into(),
        name_ja: format!("{name}（日本語）"),
        name_en: name.into(),
        validity: since_2020(),
        provenance: provenance("test"),
        legal_basis: None,
    }
}

fn jurisdiction(ministry: &str, regime: Regime, field: &str) -> JurisdictionRecord {
    JurisdictionRecord {
        ministry: ministry.into(),
        regime,
        field: field.into(),
        scope_item: None,
        validity: Validity::default(),
        provenance: provenance("test"),
    }
}

fn link(ci: &str, espa: &str, relation: Relation, rationale: &str) -> LinkRecord {
    LinkRecord {
        ci: ci.into(),
        espa: espa.into(),
        relation,
        rationale: rationale.into(),
        validity: Validity::default(),
        provenance: provenance("test"),
        origin: LinkOrigin::Seed,
    }
}

fn ministry(code: &str) -> MinistryRecord {
    MinistryRecord { code: code.into(), name_ja: code.into(), name_en: code.into(), provenance: provenance("test") }
}

fn rule(code: &str, triggered_by: Regime, in_force_from: Option<NaiveDate>) -> ObligationRule {
    ObligationRule {
        code: code.into(),
        name_ja: code.into(),
        name_en: code.into(),
        legal_basis: "test".into(),
        triggered_by,
        binds: crate::domain::reference::Addressee::designees_of(triggered_by),
        in_force_from,
        description: None,
        provenance: provenance("test"),
    }
}

/// CI sectors power (generation, grid), health (hospitals), water (supply); ESPA domains
/// power (generation, transmission), water (supply), post (mail). Links power → power
/// SUBSET_OF and water → water EQUAL, with their generation and supply items linked.
/// METI has power on both sides, MHLW health and water, MIC post; MLIT nothing yet.
fn small_data() -> ReferenceData {
    ReferenceData {
        sources: vec![SourceRecord {
            code: "test".into(),
            title: "Test source".into(),
            publisher: None,
            published_on: None,
            url: None,
            note: None,
        }],
        ministries: ["METI", "MHLW", "MIC", "MLIT"].into_iter().map(ministry).collect(),
        sectors: vec![field("power"), field("health"), field("water")],
        domains: vec![field("power"), field("water"), field("post")],
        sector_items: vec![
            item("power", "generation"),
            item("power", "grid"),
            item("health", "hospitals"),
            item("water", "supply"),
        ],
        domain_items: vec![
            item("power", "generation"),
            item("power", "transmission"),
            item("water", "supply"),
            item("post", "mail"),
        ],
        jurisdictions: vec![
            jurisdiction("METI", Regime::Ci, "power"),
            jurisdiction("METI", Regime::Espa, "power"),
            jurisdiction("MHLW", Regime::Ci, "health"),
            jurisdiction("MHLW", Regime::Ci, "water"),
            jurisdiction("MHLW", Regime::Espa, "water"),
            jurisdiction("MIC", Regime::Espa, "post"),
        ],
        links: vec![
            link("power", "power", Relation::SubsetOf, "CI power is part of ESPA power."),
            link("water", "water", Relation::Equal, "The same waterworks."),
        ],
        item_links: vec![
            link("power/generation", "power/generation", Relation::Equal, "Same."),
            link("water/supply", "water/supply", Relation::Equal, "Same."),
        ],
        link_overrides: Vec::new(),
        obligations: vec![rule("espa-duty", Regime::Espa, Some(d("2020-01-01"))), rule("ci-duty", Regime::Ci, None)],
    }
}

fn add_domain(code: &str, ministry: &str, items: &[&str]) -> ScopeChange {
    ScopeChange::AddDomain {
        code: code.into(),
        name_ja: format!("{code}（日本語）"),
        name_en: code.into(),
        ministry: ministry.into(),
        scope_items: items
            .iter()
            .map(|i| NewScopeItem { code: (*i).into(), name_ja: format!("{i}（日本語）"), name_en: (*i).into() })
            .collect(),
    }
}

fn set_link(sector: &str, domain: &str, relation: Relation, rationale: &str) -> ScopeChange {
    ScopeChange::SetLink { sector: sector.into(), domain: domain.into(), relation, rationale: rationale.into() }
}

/// A new ESPA domain health (hospitals) under MHLW linked EQUAL to CI health; ESPA post
/// retired; power → power becomes EQUAL; CI water moves to MLIT; CI power/grid retired.
fn small_proposal() -> Vec<ScopeChange> {
    vec![
        add_domain("health", "MHLW", &["hospitals"]),
        set_link("health", "health", Relation::Equal, "The same hospitals."),
        ScopeChange::RetireDomain { code: "post".into() },
        set_link("power", "power", Relation::Equal, "ESPA now names exactly the CI services."),
        ScopeChange::SetJurisdiction {
            ministry: "MLIT".into(),
            regime: Regime::Ci,
            field: "water".into(),
            scope_item: None,
        },
        ScopeChange::RetireScopeItem { regime: Regime::Ci, code: "power/grid".into() },
    ]
}

/// What a promotion wrote survives a later load of seed-data that does not state it:
/// the seed data with the promoted records kept is the promoted data; where seed-data
/// states a promoted record itself, the file's record stands.
#[test]
fn promoted_records_are_kept_by_a_later_seed() {
    let seed = small_data();
    let source = proposal_source();
    let promoted = apply(&seed, day(), &source, &small_proposal()).expect("applies");
    let diff = promotion_plan(&seed, &promoted).expect("a plan");
    let records = PromotedRecords::of(source.source.clone(), &diff);
    assert_eq!(keep_promoted(&seed, &promoted, std::slice::from_ref(&records)), promoted);
    assert_eq!(keep_promoted(&seed, &promoted, &[]), seed, "nothing promoted: seed-data as it is");

    let mut caught_up = seed.clone();
    let mut health = promoted.domains.iter().find(|d| d.code == "health").expect("promoted").clone();
    health.name_en = "Health (as the file now says)".into();
    caught_up.domains.push(health.clone());
    let kept = keep_promoted(&caught_up, &promoted, &[records]);
    assert_eq!(kept.domains.iter().filter(|d| d.code == "health").collect::<Vec<_>>(), vec![&health]);

    let positions = PromotedRecords::of("proposal-7".into(), &diff).positions(&promoted);
    assert_eq!(positions.domains, vec![2, 3], "post ended, health inserted: {positions:?}");
    assert_eq!(positions.sector_items, vec![1], "power/grid ended");
}

/// A scope-item change asked for without a regime takes it from its code: a CI-only
/// parent is CI, a domain added by the proposal itself is ESPA, a code of both regimes
/// must say which.
#[test]
fn a_scope_items_regime_comes_from_its_code() {
    let drafted =
        apply(&small_data(), day(), &proposal_source(), &[add_domain("health", "MHLW", &[])]).expect("applies");
    let add = |parent: &str| ScopeChange::AddScopeItem {
        regime: Regime::Ci,
        parent: parent.into(),
        code: "clinics".into(),
        name_ja: "診療所".into(),
        name_en: "Clinics".into(),
    };
    let regime = |change: ScopeChange| match change.with_regime_from(&small_data()) {
        Ok(ScopeChange::AddScopeItem { regime, .. } | ScopeChange::RetireScopeItem { regime, .. }) => Ok(regime),
        other => Err(format!("{other:?}")),
    };
    assert_eq!(regime(add("post")), Ok(Regime::Espa));
    assert_eq!(regime(add("health")), Ok(Regime::Ci), "only CI knows health in the live data");
    assert!(add("health").with_regime_from(&drafted).is_err_and(|e| e.contains("both regimes")));
    assert_eq!(regime(ScopeChange::RetireScopeItem { regime: Regime::Ci, code: "post/mail".into() }), Ok(Regime::Espa));
    assert!(add("power").with_regime_from(&small_data()).is_err(), "power is a sector and a domain");
}
