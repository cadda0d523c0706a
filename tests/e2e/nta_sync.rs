//! The corporate-number sync: the NTA's file layout read (the sample in
//! seed-data/examples/ against the demo operators), applied in one audited transaction by
//! the command line and the mutation alike, and refused whole, with line numbers, when a
//! line cannot be read.

use serde_json::{Value, json};

use crate::e2e;
use crate::support::{TestApp, error_code, seed_dir};

const SYNC: &str = "mutation($file: String!, $dry: Boolean) { syncCorporateNumbers(file: $file, dryRun: $dry) {
    dryRun recordsRead renamed closed toReview unchanged unknownCount unknownCorporateNumbers
    steps { kind corporateNumber line detail } } }";
const OPERATOR: &str = "query($n: String!) { operator(corporateNumber: $n) { nameJa closedOn successorCorporateNumber
    version designations(includeHistory: true) { effectiveTo } history { action actor reason } } }";

const RENAMED: &str = "6999910000001";
const CLOSED: &str = "5999910000002";

fn sample() -> String {
    std::fs::read_to_string(seed_dir().join("examples/nta-diff-sample.csv")).expect("the sample file")
}

async fn with_demo_data(app: &TestApp) {
    let output = app.cli(&["seed", "--demo", "--seed-dir", seed_dir().to_str().expect("UTF-8 path")]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

async fn operator(app: &TestApp, token: &str, number: &str) -> Value {
    app.data(OPERATOR, json!({ "n": number }), Some(token)).await["operator"].clone()
}

async fn the_ntas_changes_rename_and_close_registered_operators(app: TestApp) -> TestApp {
    with_demo_data(&app).await;
    let admin = app.token("admin", None);
    let before = (operator(&app, &admin, RENAMED).await, operator(&app, &admin, CLOSED).await);

    // A dry run says what the file means and writes nothing.
    let dry =
        app.data(SYNC, json!({ "file": sample(), "dry": true }), Some(&admin)).await["syncCorporateNumbers"].clone();
    assert_eq!(
        (
            &dry["recordsRead"],
            &dry["renamed"],
            &dry["closed"],
            &dry["toReview"],
            &dry["unchanged"],
            &dry["unknownCount"]
        ),
        (&json!(6), &json!(1), &json!(1), &json!(1), &json!(1), &json!(2)),
        "{dry:#}"
    );
    assert_eq!(dry["unknownCorporateNumbers"], json!(["6999910000901", "5999910000902"]));
    let kinds: Vec<(&str, &str, i64)> = (dry["steps"].as_array().expect("steps").iter())
        .map(|s| {
            (
                s["kind"].as_str().unwrap_or(""),
                s["corporateNumber"].as_str().unwrap_or(""),
                s["line"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(kinds, vec![("RENAME", RENAMED, 1), ("CLOSE", CLOSED, 2), ("REVIEW", "3999910000004", 4)]);
    assert_eq!((operator(&app, &admin, RENAMED).await, operator(&app, &admin, CLOSED).await), before);

    // The command line applies it, as the actor nta-sync.
    let file = seed_dir().join("examples/nta-diff-sample.csv");
    let output = app.cli(&["nta-sync", file.to_str().expect("UTF-8 path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("6 records: 1 renamed, 1 closed, 1 to review, 1 unchanged, 2 not registered"), "{stderr}");
    let renamed = operator(&app, &admin, RENAMED).await;
    assert_eq!(renamed["nameJa"], "（架空）北星エナジー株式会社");
    let event = |operator: &Value, action: &str| {
        let history = operator["history"].as_array().cloned().unwrap_or_default();
        history.into_iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("no {action}: {operator:#}"))
    };
    let update = event(&renamed, "UPDATE_OPERATOR");
    assert_eq!(update["actor"], "cli:nta-sync");
    assert!(update["reason"].as_str().is_some_and(|r| r.starts_with("nta-sync: ")), "{renamed:#}");
    let closed = operator(&app, &admin, CLOSED).await;
    assert_eq!((&closed["closedOn"], &closed["successorCorporateNumber"]), (&json!("2026-11-20"), &json!(RENAMED)));
    assert_eq!(event(&closed, "CLOSE_OPERATOR")["actor"], "cli:nta-sync");
    let open_after: Vec<&Value> = (closed["designations"].as_array().expect("designations").iter())
        .filter(|d| d["effectiveTo"].is_null() || d["effectiveTo"].as_str() > Some("2026-11-20"))
        .collect();
    assert!(open_after.is_empty(), "designations end with the closing: {closed:#}");

    // The same file again changes nothing.
    let again = app.data(SYNC, json!({ "file": sample() }), Some(&admin)).await["syncCorporateNumbers"].clone();
    assert_eq!(
        (&again["renamed"], &again["closed"], &again["unchanged"]),
        (&json!(0), &json!(0), &json!(3)),
        "{again:#}"
    );
    assert_eq!(operator(&app, &admin, RENAMED).await["version"], renamed["version"]);
    app
}

async fn a_file_with_bad_lines_is_refused_whole(app: TestApp) -> TestApp {
    with_demo_data(&app).await;
    let admin = app.token("admin", None);
    let lines: Vec<String> = sample().lines().map(str::to_owned).collect();
    let unknown_code = lines[1].replacen(",21,", ",55,", 1);
    let bad_number = lines[2].replacen("4999910000003", "4999910000004", 1);
    let file = [lines[0].as_str(), &unknown_code, &bad_number, "1,2,3"].join("\r\n");
    let refused = app.graphql(SYNC, json!({ "file": file }), Some(&admin)).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused:#}");
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    for expected in ["line 2: unknown 処理区分", "line 3: 法人番号", "check digit", "line 4: 3 columns"] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
    assert_eq!(operator(&app, &admin, RENAMED).await["nameJa"], "（架空）北星電力株式会社", "line 1 was not applied");

    // Only an admin syncs.
    let reader = app.token("reader", None);
    let forbidden = app.graphql(SYNC, json!({ "file": sample() }), Some(&reader)).await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN");
    // The Shift-JIS edition is not the file the command reads.
    let dir = tempfile::tempdir().expect("temp dir");
    let shift_jis = dir.path().join("sjis.csv");
    std::fs::write(&shift_jis, [0x93u8, 0xfa, 0x96, 0x7b, b'\n']).expect("write");
    let output = app.cli(&["nta-sync", shift_jis.to_str().expect("UTF-8 path")]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("CSV Unicode edition"));
    app
}

e2e!(the_ntas_changes_rename_and_close_registered_operators, a_file_with_bad_lines_is_refused_whole);
