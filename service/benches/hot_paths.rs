//! In-process benchmarks of the hot paths: corporate-number parsing, an operator status
//! look-up through the GraphQL schema (no HTTP) on SQLite, and the overlap computation
//! over 100,000 operators. Run with `cargo bench -p scope-registry`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at its first failure")]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use scope_registry::app::open_seeded_services;
use scope_registry::config::{CreateArgs, DatabaseArgs, SeedArgs};
use scope_registry::domain::overlap::{ActiveField, compute};
use scope_registry::domain::reference::ReferenceSnapshot;
use scope_registry::domain::{CorporateNumber, Principal, Regime, Role};
use scope_registry::graphql::loader::DesignationLoader;
use scope_registry::graphql::{Introspection, QueryLimits, RequestData, build_schema};
use scope_registry::seed::{SeedSource, files};
use scope_registry::services::generate::generate;
use scope_registry::services::import::{Silent, import};

fn corporate_numbers(c: &mut Criterion) {
    c.bench_function("corporate_number/parse ascii", |b| b.iter(|| CorporateNumber::parse(black_box("7000012050002"))));
    c.bench_function("corporate_number/parse full-width", |b| {
        b.iter(|| CorporateNumber::parse(black_box(" ７０００１２０５０００２ ")))
    });
}

fn snapshot() -> ReferenceSnapshot {
    ReferenceSnapshot::new(files::load(&SeedSource::Embedded).expect("embedded seed-data"))
}

fn status_lookup(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let database = DatabaseArgs {
        db_max_connections: 4,
        ..DatabaseArgs::at(format!("sqlite://{}", dir.path().join("bench.db").display()))
    };
    let snap = Arc::new(snapshot());
    let admin = Principal::Cli { user: "bench".into(), ministry: None };
    let services = runtime.block_on(async {
        let services =
            open_seeded_services(&database, &SeedArgs::default(), CreateArgs { create: true }).await.expect("database");
        let mut csv = Vec::new();
        generate(&snap, 10_000, 1, &mut csv).expect("generate");
        import(&services, &admin, &csv, false, &Silent).await.expect("import");
        services.read_model().index().load_all().await.expect("index");
        services
    });
    let schema = build_schema(Some(services.clone()), QueryLimits::default(), Introspection::Enabled);
    let reader = Principal::Token { id: uuid::Uuid::nil(), label: "bench".into(), role: Role::Reader, ministry: None };
    let query = r#"{ operator(corporateNumber: "1800000000001") { corporateNumber nameJa
        designations { regime sector { code } domain { code } } } }"#;
    c.bench_function("status look-up through the schema (SQLite, 10k operators)", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = async_graphql::Request::new(query)
                .data(RequestData::new(reader.clone(), snap.clone()))
                .data(DesignationLoader::per_request(services.clone()));
            let response = schema.execute(request).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
        })
    });
    drop(runtime.block_on(services.db().clone().close()));
}

fn overlap(c: &mut Criterion) {
    let snap = snapshot();
    let sectors = ["electricity", "gas", "finance", "medical", "logistics", "water"];
    let domains = ["electricity", "gas", "finance", "trucking", "postal", "water"];
    let mut active = Vec::new();
    for operator in 0..100_000u32 {
        if operator % 5 != 0 {
            active.push(ActiveField { operator, regime: Regime::Ci, field: sectors[operator as usize % 6].to_owned() });
        }
        if operator % 3 == 0 {
            active.push(ActiveField {
                operator,
                regime: Regime::Espa,
                field: domains[operator as usize % 6].to_owned(),
            });
        }
    }
    let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
    // One in 300 recorded as 特別社会基盤事業者.
    let special: std::collections::HashSet<u32> = (0..100_000u32).step_by(300).collect();
    c.bench_function("overlap over 100k operators (in memory)", |b| {
        b.iter(|| {
            let rows = black_box(&active).iter().map(|a| (a.operator, a.regime, a.field.as_str()));
            compute(&snap, date, rows, &special)
        })
    });
}

criterion_group!(benches, corporate_numbers, status_lookup, overlap);
criterion_main!(benches);
