//! The impact of a scope revision proposal over 100,000 generated operators (about
//! 150,000 designations, `services::generate`), in memory: the figure a policy analyst
//! waits for when a draft changes. Run with `cargo bench -p scope-registry --bench proposal`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at its first failure")]

use std::collections::HashMap;
use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use scope_registry::domain::proposal::{
    DesignationView, NewScopeItem, OperatorDesignations, ScopeChange, apply, impact,
};
use scope_registry::domain::reference::{Provenance, ReferenceSnapshot};
use scope_registry::domain::{CorporateNumber, Regime, Relation};
use scope_registry::seed::{SeedSource, files};
use scope_registry::services::generate::generate;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// Medical care becomes an ESPA domain linked to CI medical under MHLW (the README's
/// example), chemicals and warehousing leave the CI scope, electricity's link becomes
/// EQUAL and ESPA water moves to MHLW.
fn changes() -> Vec<ScopeChange> {
    vec![
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
        ScopeChange::SetLink {
            sector: "medical".into(),
            domain: "medical".into(),
            relation: Relation::Equal,
            rationale: "ESPA would designate the same medical care providers.".into(),
        },
        ScopeChange::RetireSector { code: "chemicals".into() },
        ScopeChange::RetireScopeItem { regime: Regime::Ci, code: "logistics/warehousing".into() },
        ScopeChange::SetLink {
            sector: "electricity".into(),
            domain: "electricity".into(),
            relation: Relation::Equal,
            rationale: "The METI ordinance names 発電事業 for both regimes.".into(),
        },
        ScopeChange::SetJurisdiction {
            ministry: "MHLW".into(),
            regime: Regime::Espa,
            field: "water".into(),
            scope_item: None,
        },
    ]
}

/// The generated operators, each with its designations as borrowed views (the strings
/// they borrow live as long as the bench).
fn operators(snapshot: &ReferenceSnapshot, count: u64) -> Vec<(CorporateNumber, Vec<DesignationView<'static>>)> {
    let mut csv = Vec::new();
    generate(snapshot, count, 1, &mut csv).expect("generate");
    let mut interned: HashMap<String, &'static str> = HashMap::new();
    let mut intern = |text: &str| -> &'static str {
        if let Some(known) = interned.get(text) {
            return known;
        }
        let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
        interned.insert(text.to_owned(), leaked);
        leaked
    };
    let mut reader = csv::Reader::from_reader(&csv[..]);
    let mut operators: Vec<(CorporateNumber, Vec<DesignationView<'static>>)> = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.expect("row");
        let number = CorporateNumber::parse(&record[0]).expect("corporate number");
        let regime: Regime = record[3].parse().expect("regime");
        let field = intern(&record[4]);
        let from = date(&record[6]);
        let ministry = snapshot
            .ministries_of(regime, field, from)
            .first()
            .map_or("", |&m| intern(&snapshot.data().ministries[m].code));
        let view = DesignationView {
            id: uuid::Uuid::from_u128(row as u128),
            regime,
            field,
            scope_item: (!record[5].is_empty()).then(|| intern(&record[5])),
            effective_from: from,
            effective_to: (!record[7].is_empty()).then(|| date(&record[7])),
            ministry,
        };
        match operators.last_mut() {
            Some((last, designations)) if *last == number => designations.push(view),
            _ => operators.push((number, vec![view])),
        }
    }
    operators
}

fn proposal(c: &mut Criterion) {
    let live = ReferenceSnapshot::new(files::load(&SeedSource::Embedded).expect("embedded seed-data"));
    let day = date("2027-04-01");
    let source = Provenance { source: "proposal".into(), locator: None, confirmed: false, note: None };
    let changes = changes();
    let proposed = ReferenceSnapshot::new(apply(live.data(), day, &source, &changes).expect("the proposal applies"));
    let operators = operators(&live, 100_000);
    let designations: usize = operators.iter().map(|(_, d)| d.len()).sum();
    let groups =
        || operators.iter().map(|(operator, designations)| OperatorDesignations { operator: *operator, designations });
    let result = impact(&live, &proposed, day, groups());
    eprintln!(
        "{} operators, {designations} designations: {} ending, {} candidates in {} groups",
        operators.len(),
        result.ending.count,
        result.candidates.iter().map(|g| g.count).sum::<usize>(),
        result.candidates.len()
    );
    c.bench_function("proposal/apply (6 changes to the seed data)", |b| {
        b.iter(|| apply(black_box(live.data()), day, &source, black_box(&changes)))
    });
    c.bench_function("proposal/impact over 100k operators (in memory)", |b| {
        b.iter(|| impact(&live, &proposed, day, black_box(groups())))
    });
}

criterion_group!(benches, proposal);
criterion_main!(benches);
