//! The proposed scope: each record of the small scope marked as worked out by hand.

use super::*;
use crate::domain::crosswalk::LinkKind;
use crate::domain::reference::ReferenceSnapshot;

/// The proposed scope at `day()` of `changes` over the small data, each record written
/// as its code (a link as "ci → espa") with its mark: `+` added, `-` retired, `~`
/// changed (a link with its relation before); a field followed by its scope items.
fn drawn(changes: &[ScopeChange]) -> [Vec<String>; 4] {
    let before = ReferenceSnapshot::new(small_data());
    let after = ReferenceSnapshot::new(apply(before.data(), day(), &proposal_source(), changes).expect("applies"));
    // A retired record is read from the live data, every other from the proposed.
    let snapshot = |record: &MarkedRecord| if record.is_live() { &before } else { &after };
    let label = |code: &str, record: &MarkedRecord| match record.change {
        None => code.to_owned(),
        Some(RecordChange::Added) => format!("{code} +"),
        Some(RecordChange::Retired) => format!("{code} -"),
        Some(RecordChange::Changed) => format!("{code} ~"),
    };
    let fields = |regime: Regime, fields: &[ProposedField]| -> Vec<String> {
        fields
            .iter()
            .map(|f| {
                let code = &snapshot(&f.field).fields(regime)[f.field.index].code;
                let items: Vec<String> =
                    f.items.iter().map(|i| label(&snapshot(i).items(regime)[i.index].code, i)).collect();
                format!("{} [{}]", label(code, &f.field), items.join(", "))
            })
            .collect()
    };
    let links = |links: &[ProposedLink], list: fn(&ReferenceSnapshot) -> &[LinkRecord]| -> Vec<String> {
        links
            .iter()
            .map(|l| {
                let record = &list(snapshot(&l.link))[l.link.index];
                assert_eq!(l.relation_before.is_some(), l.link.change == Some(RecordChange::Changed));
                let before = l.relation_before.map(|r| format!(" (was {r:?})")).unwrap_or_default();
                format!("{}{before}", label(&format!("{} → {} {:?}", record.ci, record.espa, record.relation), &l.link))
            })
            .collect()
    };
    [
        fields(Regime::Ci, &proposed_fields(&before, &after, day(), Regime::Ci)),
        fields(Regime::Espa, &proposed_fields(&before, &after, day(), Regime::Espa)),
        links(&proposed_links(&before, &after, day(), LinkKind::Fields), |s| &s.data().links),
        links(&proposed_links(&before, &after, day(), LinkKind::ScopeItems), |s| &s.data().item_links),
    ]
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| (*t).to_owned()).collect()
}

/// The small proposal: health added with its item and link, post retired with its item,
/// power → power changed, CI water moved to MLIT, CI power/grid retired.
#[test]
fn the_small_proposal_marks_what_it_adds_retires_and_changes() {
    let [sectors, domains, links, item_links] = drawn(&small_proposal());
    assert_eq!(
        sectors,
        strings(&["power ~ [power/generation, power/grid -]", "health [health/hospitals]", "water ~ [water/supply]"])
    );
    assert_eq!(
        domains,
        strings(&[
            "power [power/generation, power/transmission]",
            "water [water/supply]",
            "post - [post/mail -]",
            "health + [health/hospitals +]",
        ])
    );
    assert_eq!(
        links,
        strings(&["water → water Equal", "health → health Equal +", "power → power Equal ~ (was SubsetOf)"])
    );
    assert_eq!(
        item_links,
        strings(&["power/generation → power/generation Equal", "water/supply → water/supply Equal"])
    );
}

/// Links ended with what they join, a scope-item link added, a link set as it already
/// is (unchanged), and a sector added and retired again (never holds: not shown).
#[test]
fn ended_links_follow_their_ends_and_what_never_holds_is_left_out() {
    let changes = [
        ScopeChange::RemoveLink { sector: "water".into(), domain: "water".into() },
        ScopeChange::RetireScopeItem { regime: Regime::Espa, code: "power/generation".into() },
        ScopeChange::SetScopeItemLink {
            sector_item: "power/grid".into(),
            domain_item: "power/transmission".into(),
            relation: Relation::IntersectsWith,
            rationale: "Grids carry transmission.".into(),
        },
        set_link("power", "power", Relation::SubsetOf, "CI power is part of ESPA power."),
        ScopeChange::AddSector {
            code: "rail".into(),
            name_ja: "鉄道".into(),
            name_en: "Rail".into(),
            ministry: "MLIT".into(),
            scope_items: vec![NewScopeItem { code: "track".into(), name_ja: "線路".into(), name_en: "Track".into() }],
        },
        ScopeChange::RetireSector { code: "rail".into() },
    ];
    let [sectors, domains, links, item_links] = drawn(&changes);
    assert_eq!(
        sectors,
        strings(&["power [power/generation, power/grid]", "health [health/hospitals]", "water [water/supply]"])
    );
    assert_eq!(
        domains,
        strings(&["power ~ [power/generation -, power/transmission]", "water [water/supply]", "post [post/mail]"])
    );
    assert_eq!(links, strings(&["power → power SubsetOf", "water → water Equal -"]));
    assert_eq!(
        item_links,
        strings(&[
            "power/grid → power/transmission IntersectsWith +",
            "power/generation → power/generation Equal -",
            "water/supply → water/supply Equal -",
        ])
    );
}

/// Nothing proposed: the live scope at the date, unmarked (as for a promoted proposal,
/// whose changes are the live data).
#[test]
fn no_change_marks_nothing() {
    let [sectors, domains, links, item_links] = drawn(&[]);
    assert_eq!(sectors.len(), 3);
    assert_eq!(domains.len(), 3);
    assert_eq!(links.len() + item_links.len(), 4);
    let all = [sectors, domains, links, item_links].concat();
    assert!(all.iter().all(|text| !text.contains(['+', '-', '~'])), "{all:?}");
}
