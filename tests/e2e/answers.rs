//! Kept answers (`read_model::answers`): the same request gets the same bytes until a
//! change, and never an answer from before a change, wherever the change was made.

use serde_json::json;

use crate::e2e;
use crate::fixtures::{cn, register_all};
use crate::support::TestApp;

const LOOK_UP: &str = "query L($cn: String!) { operator(corporateNumber: $cn) { nameJa version designations { regime sector { code } } } }";
const SECTORS: &str = "{ sectors { code nameJa } }";

async fn a_kept_answer_follows_every_change(app: TestApp) -> TestApp {
    let (admin, reader) = (app.token("admin", None), app.token("reader", None));
    let n = cn(71);
    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let ask = || async { app.data(LOOK_UP, json!({ "cn": n }), Some(&reader)).await["operator"].clone() };
    let first = ask().await;
    assert_eq!(first, ask().await, "the same request, nothing changed: the same answer");
    assert_eq!(first["version"], 1);

    // A change made here, through the API.
    let update = "mutation($i: UpdateOperatorInput!) { updateOperator(input: $i) { version } }";
    let input = json!({ "corporateNumber": n, "expectedVersion": 1, "nameJa": "改名後株式会社", "reason": "商号変更" });
    app.data(update, json!({ "i": input }), Some(&admin)).await;
    let renamed = ask().await;
    assert_eq!((renamed["nameJa"].as_str(), renamed["version"].as_i64()), (Some("改名後株式会社"), Some(2)));

    // A change made by another process on the same database (the command line).
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("one.csv");
    std::fs::write(
        &csv,
        format!(
            "corporate_number,name_ja,name_en,regime,sector_or_domain,scope_item,effective_from,effective_to,legal_basis,reference\n\
             {n},改名後株式会社,,CI,gas,,2024-04-01,,重要インフラのサイバーセキュリティに係る行動計画,ANS-1\n"
        ),
    )
    .unwrap();
    let imported = app.cli(&["import", csv.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    // Another process's change reaches this instance through the change feed.
    let mut designated = ask().await;
    for _ in 0..50 {
        if designated["designations"].as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        designated = ask().await;
    }
    assert_eq!(designated["designations"], json!([{ "regime": "CI", "sector": { "code": "gas" } }]));
    app
}

async fn the_same_question_by_another_asker_is_answered_for_them(app: TestApp) -> TestApp {
    let reader = app.token("reader", None);
    let n = cn(72);
    let anonymous = app.graphql(LOOK_UP, json!({ "cn": n }), None).await;
    assert_eq!(anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{anonymous}");
    assert!(app.data(LOOK_UP, json!({ "cn": n }), Some(&reader)).await["operator"].is_null());
    // Public data: the same answer for everyone, asked twice.
    let public = app.data(SECTORS, json!({}), None).await;
    assert_eq!(public, app.data(SECTORS, json!({}), Some(&reader)).await);
    assert_eq!(public, app.data(SECTORS, json!({}), None).await);
    app
}

e2e!(a_kept_answer_follows_every_change, the_same_question_by_another_asker_is_answered_for_them);
