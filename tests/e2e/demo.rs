//! The fictional demo data set loads through the CLI, once, and covers every category.

use serde_json::json;

use crate::e2e;
use crate::support::TestApp;

async fn demo_data_loads_once_and_exercises_every_overlap_category(app: TestApp) -> TestApp {
    let output = app.cli(&["seed", "--demo", "--seed-dir", crate::support::seed_dir().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("41 operators loaded"), "{stderr}");
    let again = app.cli(&["seed", "--demo"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("0 operators loaded with 0 designations, 41 already present")
    );

    let reader = app.token("reader", None);
    let data = app
        .data(
            r#"{ overlap(asOf: "2026-01-01") { totals { both espaOnly ciOnly } }
                 all: operators(first: 100) { totalCount edges { node { nameJa nameEn
                   designations(includeHistory: true) { status effectiveFrom scopeItem { code } } } } }
                 postal: operators(filter: { domain: "postal", notRegime: CI, asOf: "2026-01-01" }) { totalCount } }"#,
            json!({}),
            Some(&reader),
        )
        .await;
    assert_eq!(data["overlap"]["totals"], json!({ "both": 16, "espaOnly": 9, "ciOnly": 13 }));
    assert_eq!(data["all"]["totalCount"], 41);
    assert_eq!(data["postal"]["totalCount"], 1);
    let operators = data["all"]["edges"].as_array().unwrap();
    assert!(operators.iter().all(|e| e["node"]["nameJa"].as_str().unwrap().contains("架空")
        && e["node"]["nameEn"].as_str().unwrap().contains("fictional")));
    let designations: Vec<&serde_json::Value> =
        operators.iter().flat_map(|e| e["node"]["designations"].as_array().unwrap()).collect();
    assert!(designations.iter().any(|d| d["status"] == "REVOKED"), "a revoked designation");
    assert!(designations.iter().any(|d| d["effectiveFrom"].as_str().unwrap() > "2026-11-26"), "a future one");
    assert!(designations.iter().any(|d| !d["scopeItem"].is_null()), "one for a sub-business only");
    app
}

e2e!(demo_data_loads_once_and_exercises_every_overlap_category);
