//! Bulk import (all or nothing, idempotent, interruptible) and exports.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::cn;
use crate::support::{BINARY, TestApp, seed_dir};

const IMPORT: &str = "mutation($csv: String!, $dry: Boolean) { importDesignations(csv: $csv, dryRun: $dry) {
    dryRun rowsRead created unchanged operatorsCreated errors { line column message } } }";
const HEADER: &str = "corporate_number,name_ja,name_en,regime,sector_or_domain,scope_item,effective_from,effective_to,legal_basis,reference";

fn example_file() -> String {
    std::fs::read_to_string(seed_dir().join("examples/designations.csv")).expect("example file")
}

async fn import(app: &TestApp, token: &str, csv: &str, dry_run: bool) -> Value {
    let data = app.data(IMPORT, json!({ "csv": csv, "dry": dry_run }), Some(token)).await;
    data["importDesignations"].clone()
}

async fn operator_count(app: &TestApp, token: &str) -> u64 {
    app.data("{ operators { totalCount } }", json!({}), Some(token)).await["operators"]["totalCount"].as_u64().unwrap()
}

async fn designation_count(app: &TestApp, token: &str) -> usize {
    let data = app
        .data(
            "{ operators(first: 500) { edges { node { designations(includeHistory: true) { id } } } } }",
            json!({}),
            Some(token),
        )
        .await;
    data["operators"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["designations"].as_array().unwrap().len())
        .sum()
}

/// On PostgreSQL the planner has statistics of the imported rows at once (without them it
/// read every designation for a page of operators).
async fn assert_statistics_refreshed(app: &TestApp) {
    if app.db.backend() != DbBackend::Postgres {
        return;
    }
    let query = "SELECT last_analyze IS NOT NULL AS analysed FROM pg_stat_user_tables \
                 WHERE relname = 'designation' AND schemaname = current_schema()";
    let row = app.db.conn.query_one_raw(Statement::from_string(DbBackend::Postgres, query)).await.unwrap();
    let analysed: bool = row.expect("the designation table").try_get("", "analysed").unwrap();
    assert!(analysed, "the import analysed the designation table");
}

async fn a_valid_file_imports_once_and_then_counts_as_unchanged(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let csv = example_file();
    assert!(csv.starts_with('\u{feff}') && csv.contains("\r\n"), "the example has a BOM and CRLF line ends");
    let dry = import(&app, &admin, &csv, true).await;
    assert_eq!(
        dry,
        json!({ "dryRun": true, "rowsRead": 5, "created": 5, "unchanged": 0, "operatorsCreated": 4, "errors": [] })
    );
    assert_eq!(operator_count(&app, &admin).await, 0, "a dry run writes nothing");

    let first = import(&app, &admin, &csv, false).await;
    assert_eq!(
        first,
        json!({ "dryRun": false, "rowsRead": 5, "created": 5, "unchanged": 0, "operatorsCreated": 4, "errors": [] })
    );
    assert_eq!(operator_count(&app, &admin).await, 4);
    assert_eq!(designation_count(&app, &admin).await, 4);
    assert_statistics_refreshed(&app).await;
    let operator = app
        .data(
            r#"{ operator(corporateNumber: "4999920000001") { nameEn designations { regime scopeItem { code } reference ministry { code } } } }"#,
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(operator["operator"]["nameEn"], "Example Electric Power Co. (fictional)");
    assert_eq!(operator["operator"]["designations"][1]["scopeItem"]["code"], "electricity/power-generation");
    assert_eq!(operator["operator"]["designations"][1]["ministry"]["code"], "METI");

    let again = import(&app, &admin, &csv, false).await;
    assert_eq!(
        again,
        json!({ "dryRun": false, "rowsRead": 5, "created": 0, "unchanged": 5, "operatorsCreated": 0, "errors": [] })
    );
    assert_eq!(designation_count(&app, &admin).await, 4);
    app
}

async fn every_invalid_row_is_reported_and_nothing_is_imported(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let (a, b) = (cn(1), cn(2));
    let csv = [
        HEADER.to_owned(),
        format!("{a},有効株式会社,,CI,gas,,2024-01-01,,,"),
        "7000012050003,検査桁誤り,,CI,gas,,2024-01-01,,,".to_owned(),
        format!("{b},不明分野,,CI,nuclear,,2024-01-01,,,"),
        format!("{b},不明分野,,ESPA,postal,,2024-02-30,,,"),
        format!("{a},有効株式会社,,ESPA,gas,,2024-01-01,,,"),
    ]
    .join("\n");
    let report = import(&app, &admin, &csv, false).await;
    let errors = report["errors"].as_array().unwrap();
    let found: Vec<(i64, String)> =
        errors.iter().map(|e| (e["line"].as_i64().unwrap(), e["column"].as_str().unwrap_or("").to_owned())).collect();
    assert_eq!(
        found,
        [(3, "corporate_number".to_owned()), (4, "sector_or_domain".to_owned()), (5, "effective_from".to_owned())],
        "{report}"
    );
    assert!(errors[0]["message"].as_str().unwrap().contains("check digit"));
    assert_eq!(operator_count(&app, &admin).await, 0, "nothing may be imported");

    // Rows that contradict the registry or each other are reported too.
    import(&app, &admin, &format!("{HEADER}\n{a},有効株式会社,,CI,gas,,2024-01-01,2025-01-01,,"), false).await;
    let clash = [
        HEADER.to_owned(),
        format!("{a},有効株式会社,,CI,gas,,2024-06-01,,,"),
        format!("{a},別名株式会社,,CI,water,,2024-06-01,,,"),
        format!("{b},新規株式会社,,ESPA,postal,,2024-01-01,,,"),
        format!("{b},新規株式会社,,ESPA,postal,,2024-03-01,2024-09-01,,"),
    ]
    .join("\n");
    let report = import(&app, &admin, &clash, false).await;
    let lines: Vec<i64> = report["errors"].as_array().unwrap().iter().map(|e| e["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [2, 3, 5], "{report}");
    assert_eq!(operator_count(&app, &admin).await, 1);
    app
}

async fn a_ministry_import_is_refused_row_by_row_outside_its_jurisdiction(app: TestApp) -> TestApp {
    let mlit = app.token("ministry", Some("MLIT"));
    let csv = [
        HEADER.to_owned(),
        format!("{},鉄道株式会社,,CI,railways,,2024-01-01,,,", cn(1)),
        format!("{},電力株式会社,,CI,electricity,,2024-01-01,,,", cn(2)),
        format!("{},港湾株式会社,,ESPA,port-transport,,2025-04-01,,,", cn(3)),
        format!("{},通信株式会社,,ESPA,telecommunications,,2024-01-01,,,", cn(4)),
    ]
    .join("\n");
    let report = import(&app, &mlit, &csv, false).await;
    let errors = report["errors"].as_array().unwrap();
    let lines: Vec<i64> = errors.iter().map(|e| e["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [3, 5], "{report}");
    assert!(errors.iter().all(|e| e["message"].as_str().unwrap().contains("MLIT has no jurisdiction")));
    let reader = app.token("reader", None);
    assert_eq!(operator_count(&app, &reader).await, 0);

    // The CLI does the same with --ministry.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlit.csv");
    std::fs::write(&path, &csv).unwrap();
    let output = app.cli(&["import", path.to_str().unwrap(), "--ministry", "MLIT"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("line 3, column sector_or_domain: MLIT has no jurisdiction"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(operator_count(&app, &reader).await, 0);

    let body = app.graphql(IMPORT, json!({ "csv": csv, "dry": false }), Some(&reader)).await;
    assert_eq!(crate::support::error_code(&body), "FORBIDDEN");
    let denied = app
        .data("{ auditEvents(filter: { outcome: DENIED }) { edges { node { action } } } }", json!({}), Some(&reader))
        .await;
    assert_eq!(denied["auditEvents"]["edges"], json!([{ "node": { "action": "IMPORT_DESIGNATIONS" } }]));
    app
}

async fn the_cli_imports_with_progress_lines_and_dry_run(app: TestApp) -> TestApp {
    let path = seed_dir().join("examples/designations.csv");
    let dry = app.cli(&["import", path.to_str().unwrap(), "--dry-run"]);
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert!(dry.status.success(), "{stderr}");
    assert!(stderr.contains("dry run: 5 rows read, 5 created"), "{stderr}");
    let reader = app.token("reader", None);
    assert_eq!(operator_count(&app, &reader).await, 0);
    let real = app.cli(&["import", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&real.stderr);
    assert!(real.status.success(), "{stderr}");
    assert!(stderr.contains("checking: 5/5") && stderr.contains("writing: "), "plain progress lines: {stderr}");
    assert_eq!(operator_count(&app, &reader).await, 4);
    app
}

async fn a_killed_import_leaves_the_database_unchanged(app: TestApp) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.csv");
    let generated = app.cli(&["generate", "--operators", "15000", "--seed", "7", "--output", path.to_str().unwrap()]);
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));

    let mut child = Command::new(BINARY)
        .args(["import", path.to_str().unwrap()])
        .env("DATABASE_URL", &app.database.url)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start import");
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let writing = line.starts_with("writing: ");
        seen.push(line);
        if writing {
            break;
        }
    }
    child.kill().expect("SIGKILL the import");
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import must have been killed, not finished: {seen:?}");

    let reader = app.token("reader", None);
    assert_eq!(operator_count(&app, &reader).await, 0, "after {seen:?}");
    // The database is fine afterwards: the same file imports in full.
    let output = app.cli(&["import", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(operator_count(&app, &reader).await, 15000);
    app
}

async fn an_invalid_row_at_the_end_of_a_large_import_writes_nothing(app: TestApp) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.csv");
    let generated = app.cli(&["generate", "--operators", "15000", "--seed", "3", "--output", path.to_str().unwrap()]);
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let mut csv = std::fs::read_to_string(&path).unwrap();
    let rows = csv.lines().count() as i64 - 1;
    // The last rows contradict the first (another name for its operator, the same
    // designation again) and the calendar: only the whole file shows it.
    let first: Vec<String> = csv.lines().nth(1).unwrap().split(',').map(str::to_owned).collect();
    let mut renamed = first.clone();
    renamed[1] = "改名株式会社".to_owned();
    renamed[3..8].iter_mut().for_each(|field| field.clear());
    csv.push_str(&format!(
        "{}\n{}\n{},遅延株式会社,,CI,gas,,2024-02-30,,,\n",
        renamed.join(","),
        first.join(","),
        cn(9)
    ));
    let admin = app.token("admin", None);
    let report = import(&app, &admin, &csv, false).await;
    let errors = report["errors"].as_array().unwrap();
    let found: Vec<(i64, &str)> =
        errors.iter().map(|e| (e["line"].as_i64().unwrap(), e["column"].as_str().unwrap_or(""))).collect();
    assert_eq!(
        found,
        [(rows + 2, "name_ja"), (rows + 3, "effective_from"), (rows + 4, "effective_from")],
        "{errors:?}"
    );
    assert!(errors[1]["message"].as_str().unwrap().contains("already on line 2"), "{errors:?}");
    assert_eq!(report["rowsRead"].as_i64(), Some(rows + 3));
    assert_eq!(operator_count(&app, &admin).await, 0, "nothing may be imported");
    let events = app
        .data(r#"{ auditEvents(filter: { action: IMPORT_DESIGNATIONS }) { totalCount } }"#, json!({}), Some(&admin))
        .await;
    assert_eq!(events["auditEvents"]["totalCount"], 0, "no import was recorded");
    app
}

async fn exports_open_in_excel_and_operators_reimport_unchanged(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let seeded = app.cli(&["seed", "--demo"]);
    assert!(seeded.status.success());
    let client = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut request = client.get(format!("{}{path}", app.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let response = get("/export/operators.csv", Some(&admin)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with('\u{feff}'), "UTF-8 with BOM for Excel");
    assert!(csv.lines().next().unwrap().ends_with(HEADER));
    assert!(csv.contains("（架空）北星電力株式会社"));
    let report = import(&app, &admin, &csv, false).await;
    assert_eq!(report["created"], 0, "{report}");
    assert_eq!(report["unchanged"], report["rowsRead"], "{report}");
    assert!(report["errors"].as_array().unwrap().is_empty());

    let response = get("/export/operators.csv", None).await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "one error shape everywhere: {body}");

    let overlap: Value =
        get("/export/overlap.csv?asOf=2026-01-01&format=json", Some(&admin)).await.unwrap().json().await.unwrap();
    let total =
        |kind: &str| overlap.as_array().unwrap().iter().find(|r| r["kind"] == kind).unwrap()["operator_count"].clone();
    assert_eq!(
        [total("total_both"), total("total_espa_only"), total("total_ci_only")],
        [json!("16"), json!("9"), json!("13")]
    );

    let crosswalk = get("/export/crosswalk.csv?asOf=2025-01-01", None).await.unwrap().text().await.unwrap();
    let field_rows = crosswalk.lines().filter(|l| l.contains(",field,")).count();
    assert_eq!(field_rows, 13, "port-transport links do not exist yet on 2025-01-01");
    let gaps: Value = get("/export/scope-gaps.csv?format=json", None).await.unwrap().json().await.unwrap();
    assert!(gaps.as_array().unwrap().iter().any(|r| r["code"] == "postal" && r["level"] == "business_domain"));
    assert!(gaps.as_array().unwrap().iter().any(|r| r["name_ja"] == "倉庫業"));

    assert_eq!(get("/export/secrets.csv", None).await.unwrap().status(), 404);
    assert_eq!(get("/export/crosswalk.csv?asOf=2024-13-01", None).await.unwrap().status(), 400);

    // The CLI writes the same exports.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gaps.json");
    let output = app.cli(&[
        "export",
        "scope-gaps",
        "--as-of",
        "2024-01-01",
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert!(written.as_array().unwrap().iter().all(|r| r["as_of"] == "2024-01-01"));
    app
}

/// More operators than one page of the export (2,000): the file is sent as it is read,
/// page by page (no length known in advance), and every operator is in it exactly once,
/// in corporate-number order. An export built in memory first (as before) would declare
/// its length.
async fn a_large_export_is_streamed_page_by_page(app: TestApp) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.csv");
    let generated = app.cli(&["generate", "--operators", "4500", "--seed", "11", "--output", path.to_str().unwrap()]);
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let imported = app.cli(&["import", path.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let numbers_in = |csv: &str| -> Vec<String> {
        let mut numbers: Vec<String> =
            csv.lines().skip(1).filter_map(|l| l.split(',').next()).map(str::to_owned).collect();
        numbers.dedup();
        numbers
    };
    let mut expected = numbers_in(&std::fs::read_to_string(&path).unwrap());
    expected.sort();
    expected.dedup();

    let reader = app.token("reader", None);
    let mut response =
        app.request(reqwest::Method::GET, "/export/operators.csv").bearer_auth(&reader).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-length").is_none(), "streamed: {:?}", response.headers());
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let mut body = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(chunks > 1, "sent in parts, not at once");
    let text = String::from_utf8(body).unwrap();
    let exported = numbers_in(text.strip_prefix('\u{feff}').unwrap());
    assert_eq!(exported.len(), 4500, "each operator's rows together, each operator once");
    assert!(exported.windows(2).all(|pair| pair[0] < pair[1]), "in corporate-number order across pages");
    assert_eq!(exported, expected);
    app
}

e2e!(
    a_valid_file_imports_once_and_then_counts_as_unchanged,
    every_invalid_row_is_reported_and_nothing_is_imported,
    a_ministry_import_is_refused_row_by_row_outside_its_jurisdiction,
    the_cli_imports_with_progress_lines_and_dry_run,
    a_killed_import_leaves_the_database_unchanged,
    an_invalid_row_at_the_end_of_a_large_import_writes_nothing,
    exports_open_in_excel_and_operators_reimport_unchanged,
    a_large_export_is_streamed_page_by_page,
);
