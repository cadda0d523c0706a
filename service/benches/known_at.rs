//! Record time (`knownAt`) over 100,000 generated operators on SQLite, through the
//! GraphQL schema (no HTTP): an operator look-up and the overlap report as recorded at
//! an instant before the import (every operator undone) and at one after it (ten
//! revocations undone). Run with `cargo bench -p scope-registry --bench known_at`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at its first failure")]
#![allow(clippy::print_stdout, reason = "a benchmark reports what it measured once")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use scope_registry::app::open_seeded_services;
use scope_registry::config::{CreateArgs, DatabaseArgs, SeedArgs};
use scope_registry::domain::operator::OperatorQuery;
use scope_registry::domain::reference::ReferenceSnapshot;
use scope_registry::domain::{Principal, Role, today};
use scope_registry::graphql::loader::DesignationLoader;
use scope_registry::graphql::{AppSchema, Introspection, QueryLimits, RequestData, build_schema};
use scope_registry::seed::{SeedSource, files};
use scope_registry::services::designations::{RevokeInput, of_operators, revoke};
use scope_registry::services::generate::generate;
use scope_registry::services::import::{Silent, import};
use scope_registry::services::{Services, operators};

fn instant() -> String {
    std::thread::sleep(Duration::from_millis(20));
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    std::thread::sleep(Duration::from_millis(20));
    at
}

struct Setup {
    runtime: tokio::runtime::Runtime,
    services: Arc<Services>,
    schema: AppSchema,
    snap: Arc<ReferenceSnapshot>,
    reader: Principal,
    before_import: String,
    after_import: String,
    number: String,
}

fn setup(dir: &tempfile::TempDir) -> Setup {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let database = DatabaseArgs {
        db_max_connections: 4,
        ..DatabaseArgs::at(format!("sqlite://{}", dir.path().join("bench.db").display()))
    };
    let snap = Arc::new(ReferenceSnapshot::new(files::load(&SeedSource::Embedded).expect("seed-data")));
    let admin = Principal::Cli { user: "bench".into(), ministry: None };
    let (services, before_import, after_import, number) = runtime.block_on(async {
        let services =
            open_seeded_services(&database, &SeedArgs::default(), CreateArgs { create: true }).await.expect("database");
        let before_import = instant();
        let mut csv = Vec::new();
        generate(&snap, 100_000, 1, &mut csv).expect("generate");
        import(&services, &admin, &csv, false, &Silent).await.expect("import");
        services.read_model().index().load_all().await.expect("index");
        let after_import = instant();
        // Ten revocations after the second instant.
        let page = operators::list(&services, &admin, &OperatorQuery::at(today()), None, 10).await.expect("list");
        let ids: Vec<_> = page.operators.iter().map(|o| o.id).collect();
        for designations in of_operators(&services, &ids).await.expect("designations").into_values() {
            let Some(designation) = designations.first() else { continue };
            let input = RevokeInput {
                id: designation.id,
                effective_to: Some(designation.effective_from.succ_opt().expect("day")),
                reason: "bench".into(),
                expected_version: None,
            };
            revoke(&services, &admin, input).await.expect("revoke");
        }
        let number = page.operators[0].corporate_number.to_string();
        (services, before_import, after_import, number)
    });
    let schema = build_schema(Some(services.clone()), QueryLimits::default(), Introspection::Enabled);
    let reader = Principal::Token { id: uuid::Uuid::nil(), label: "bench".into(), role: Role::Reader, ministry: None };
    Setup { runtime, services, schema, snap, reader, before_import, after_import, number }
}

impl Setup {
    async fn run(&self, query: &str) {
        let request = async_graphql::Request::new(query)
            .data(RequestData::new(self.reader.clone(), self.snap.clone()))
            .data(DesignationLoader::per_request(self.services.clone()));
        let response = self.schema.execute(request).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
    }
}

fn known_at(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let setup = setup(&dir);
    let lookup = |at: &str| {
        format!(
            r#"{{ operator(corporateNumber: "{}", knownAt: "{at}") {{ corporateNumber nameJa
                designations(includeHistory: true) {{ regime sector {{ code }} domain {{ code }} effectiveTo }} }} }}"#,
            setup.number
        )
    };
    let overlap = |at: &str| {
        format!(
            r#"{{ overlap(asOf: "2025-06-01", knownAt: "{at}") {{ totals {{ both espaOnly ciOnly }} cells {{ operatorCount }} domainGaps {{ operatorCount }} }} }}"#
        )
    };
    for (label, at) in [("before the import", &setup.before_import), ("after the import", &setup.after_import)] {
        let started = Instant::now();
        setup.runtime.block_on(setup.run(&overlap(at)));
        println!("knownAt overlap {label}, first (uncached) answer: {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
    }
    let mut group = c.benchmark_group("knownAt (SQLite, 100,000 operators)");
    for (label, at) in [("before the import", &setup.before_import), ("after the import", &setup.after_import)] {
        let query = lookup(at);
        group.bench_function(format!("operator look-up, {label}"), |b| {
            b.to_async(&setup.runtime).iter(|| setup.run(&query))
        });
        let query = overlap(at);
        group
            .sample_size(10)
            .bench_function(format!("overlap, {label}"), |b| b.to_async(&setup.runtime).iter(|| setup.run(&query)));
    }
    group.finish();
    let query = lookup(&setup.after_import).replace(&format!(r#", knownAt: "{}""#, setup.after_import), "");
    c.bench_function("operator look-up without knownAt (SQLite, 100,000 operators)", |b| {
        b.to_async(&setup.runtime).iter(|| setup.run(&query))
    });
    drop(setup.runtime.block_on(setup.services.db().clone().close()));
}

criterion_group!(benches, known_at);
criterion_main!(benches);
