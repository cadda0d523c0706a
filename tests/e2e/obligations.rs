//! Obligations say whom they bind: the Cyber Response Act's duties bind an ESPA designee
//! only while its designating ministry records it as 特別社会基盤事業者; CI operators
//! carry the CI-side duties.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::{ci, cn, designate, espa, register_all};
use crate::support::{TestApp, codes, error_code};

const CYBER: [&str; 2] = ["cyber-asset-notification", "cyber-incident-reporting"];
const CI_DUTIES: [&str; 2] = ["ci-security-effort", "ci-cooperation-request"];

const RECORD: &str = "mutation($n: String!, $from: Date!) {
    recordSpecialSocialInfrastructureOperator(input: { corporateNumber: $n, effectiveFrom: $from, reference: \"経済産業省告示第1号\" }) {
        id effectiveFrom effectiveTo reference ministry { code } } }";
const END: &str = "mutation($n: String!, $to: Date!) {
    endSpecialSocialInfrastructureOperator(input: { corporateNumber: $n, effectiveTo: $to, reason: \"重要電子計算機を使用しなくなった\" }) {
        effectiveTo endReason version } }";
const OPERATOR: &str = "query($n: String!, $d: Date!, $k: DateTime) { operator(corporateNumber: $n, knownAt: $k) {
    obligations(asOf: $d) { code binds inForceFrom }
    specialSocialInfrastructureOperator(asOf: $d)
    specialSocialInfrastructurePeriods { effectiveFrom effectiveTo ministry { code } reference endReason } } }";

async fn operator(app: &TestApp, token: &str, number: &str, as_of: &str, known_at: Option<&str>) -> Value {
    app.data(OPERATOR, json!({ "n": number, "d": as_of, "k": known_at }), Some(token)).await["operator"].clone()
}

async fn obligations(app: &TestApp, token: &str, number: &str, as_of: &str) -> Vec<String> {
    codes(&operator(app, token, number, as_of, None).await["obligations"])
}

fn with(base: &[&str], more: &[&str]) -> Vec<String> {
    base.iter().chain(more).map(|c| (*c).to_owned()).collect()
}

/// Operators the Cyber Response Act's asset notification binds in the overlap report.
async fn bound_by_asset_notification(app: &TestApp, token: &str, as_of: &str) -> u64 {
    let query = "query($d: Date!) { overlap(asOf: $d) { obligations { obligation { code binds } operatorCount } } }";
    let report = app.data(query, json!({ "d": as_of }), Some(token)).await;
    let rows = report["overlap"]["obligations"].as_array().expect("obligations").clone();
    let row = rows.iter().find(|r| r["obligation"]["code"] == CYBER[0]).expect("asset notification");
    assert_eq!(row["obligation"]["binds"], "SPECIAL_SOCIAL_INFRASTRUCTURE_OPERATOR");
    row["operatorCount"].as_u64().expect("count")
}

/// An instant between the changes made before and after it (the server shares this
/// machine's clock).
async fn instant() -> String {
    tokio::time::sleep(Duration::from_millis(50)).await;
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    tokio::time::sleep(Duration::from_millis(50)).await;
    at
}

async fn the_designating_ministry_records_a_special_operator_and_its_duties_follow(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let meti = app.token("ministry", Some("METI"));
    let mic = app.token("ministry", Some("MIC"));
    let reader = app.token("reader", None);
    let (special, designee, ci_only, none) = (cn(8101), cn(8102), cn(8103), cn(8104));
    register_all(&app, &admin, &[special.clone(), designee.clone(), ci_only.clone(), none.clone()]).await;
    designate(&app, &admin, espa(&special, "electricity", "2024-05-17")).await;
    designate(&app, &admin, espa(&designee, "electricity", "2024-05-17")).await;
    designate(&app, &admin, ci(&ci_only, "electricity", "2018-04-01")).await;
    let counted_before = bound_by_asset_notification(&app, &reader, "2026-10-01").await;
    let before = instant().await;

    // Another ministry and a reader are refused, and nothing changes.
    for token in [&mic, &reader] {
        let body = app.graphql(RECORD, json!({ "n": special, "from": "2026-10-01" }), Some(token)).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    let unchanged = operator(&app, &reader, &special, "2026-10-01", None).await;
    assert_eq!(unchanged["specialSocialInfrastructureOperator"], false);
    assert_eq!(unchanged["specialSocialInfrastructurePeriods"], json!([]));
    // Only an ESPA designee can be one, and only from a day it is designated.
    for (number, from) in [(&none, "2026-10-01"), (&ci_only, "2026-10-01"), (&special, "2024-05-16")] {
        let body = app.graphql(RECORD, json!({ "n": number, "from": from }), Some(&admin)).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{number} from {from}: {body}");
    }

    let recorded = app.data(RECORD, json!({ "n": special, "from": "2026-10-01" }), Some(&meti)).await;
    let period = &recorded["recordSpecialSocialInfrastructureOperator"];
    assert_eq!((period["effectiveFrom"].as_str(), &period["effectiveTo"]), (Some("2026-10-01"), &Value::Null));
    assert_eq!(period["ministry"]["code"], "METI");
    let again = app.graphql(RECORD, json!({ "n": special, "from": "2027-01-01" }), Some(&admin)).await;
    assert_eq!(error_code(&again), "CONFLICT", "one open period at a time");

    // The Cyber Response Act's duties bind it from then on, each with its date or null.
    assert_eq!(obligations(&app, &reader, &special, "2026-09-30").await, with(&["espa-prior-notification"], &[]));
    let now = operator(&app, &reader, &special, "2026-10-01", None).await;
    assert_eq!(codes(&now["obligations"]), with(&["espa-prior-notification"], &CYBER));
    assert_eq!(now["specialSocialInfrastructureOperator"], true);
    for duty in now["obligations"].as_array().expect("obligations") {
        let expected = if duty["code"] == "espa-prior-notification" { json!("2024-05-17") } else { Value::Null };
        assert_eq!(duty["inForceFrom"], expected, "{duty}");
    }
    // An ESPA designee without the status has prior notification only; a CI operator the CI duties.
    assert_eq!(obligations(&app, &reader, &designee, "2026-10-01").await, with(&["espa-prior-notification"], &[]));
    assert_eq!(obligations(&app, &reader, &ci_only, "2026-10-01").await, with(&CI_DUTIES, &[]));
    let statuses = "query($ns: [String!]!) { operatorStatuses(corporateNumbers: $ns, asOf: \"2026-10-01\") { obligations { code } } }";
    let answered = app.data(statuses, json!({ "ns": [special, designee] }), Some(&reader)).await;
    let lists: Vec<Vec<String>> =
        answered["operatorStatuses"].as_array().expect("statuses").iter().map(|s| codes(&s["obligations"])).collect();
    assert_eq!(lists, [with(&["espa-prior-notification"], &CYBER), with(&["espa-prior-notification"], &[])]);
    assert_eq!(bound_by_asset_notification(&app, &reader, "2026-10-01").await, counted_before + 1);

    // As recorded before the recording: no status, no Cyber duties.
    let then = operator(&app, &reader, &special, "2026-10-01", Some(&before)).await;
    assert_eq!(codes(&then["obligations"]), with(&["espa-prior-notification"], &[]));
    assert_eq!(
        (&then["specialSocialInfrastructureOperator"], &then["specialSocialInfrastructurePeriods"]),
        (&json!(false), &json!([]))
    );

    // Ending the period removes the duties from effectiveTo on; the history stays.
    let ended = app.data(END, json!({ "n": special, "to": "2027-04-01" }), Some(&meti)).await;
    assert_eq!(ended["endSpecialSocialInfrastructureOperator"]["effectiveTo"], "2027-04-01");
    assert_eq!(obligations(&app, &reader, &special, "2027-03-31").await, with(&["espa-prior-notification"], &CYBER));
    assert_eq!(obligations(&app, &reader, &special, "2027-04-01").await, with(&["espa-prior-notification"], &[]));
    let periods = &operator(&app, &reader, &special, "2027-04-01", None).await["specialSocialInfrastructurePeriods"];
    assert_eq!(periods[0]["endReason"], "重要電子計算機を使用しなくなった");
    assert_eq!(periods[0]["reference"], "経済産業省告示第1号");
    let twice = app.graphql(END, json!({ "n": special, "to": "2027-05-01" }), Some(&meti)).await;
    assert_eq!(error_code(&twice), "BAD_USER_INPUT", "no open period: {twice}");
    let overlapping = app.graphql(RECORD, json!({ "n": special, "from": "2027-03-01" }), Some(&meti)).await;
    assert_eq!(error_code(&overlapping), "CONFLICT", "periods never overlap");

    // The audit trail shows both changes with their states, and the refused attempts.
    let trail =
        "query($n: String!) { operator(corporateNumber: $n) { history { action outcome before after reason } } }";
    let history = app.data(trail, json!({ "n": special }), Some(&admin)).await["operator"]["history"].clone();
    let events = history.as_array().expect("history");
    let of = |action: &str, outcome: &str| -> Vec<&Value> {
        events.iter().filter(|e| e["action"] == action && e["outcome"] == outcome).collect()
    };
    let recorded = of("RECORD_SPECIAL_OPERATOR", "SUCCEEDED");
    assert_eq!(recorded.len(), 1, "{history:#}");
    assert_eq!((&recorded[0]["before"], &recorded[0]["after"]["effectiveFrom"]), (&Value::Null, &json!("2026-10-01")));
    let ending = of("END_SPECIAL_OPERATOR", "SUCCEEDED");
    assert_eq!(ending.len(), 1, "{history:#}");
    assert_eq!(
        (&ending[0]["before"]["effectiveTo"], &ending[0]["after"]["effectiveTo"]),
        (&Value::Null, &json!("2027-04-01"))
    );
    assert_eq!(of("RECORD_SPECIAL_OPERATOR", "DENIED").len(), 2, "MIC and the reader: {history:#}");
    app
}

/// Closing an operator ends its 特別社会基盤事業者 period with its designations (within
/// its lifetime); as recorded before the closing, the period is open again.
async fn a_closing_ends_the_special_period(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let number = cn(8201);
    register_all(&app, &admin, std::slice::from_ref(&number)).await;
    designate(&app, &admin, espa(&number, "gas", "2024-05-17")).await;
    app.data(RECORD, json!({ "n": number, "from": "2026-10-01" }), Some(&admin)).await;
    let before = instant().await;
    let close = "mutation($n: String!) { closeOperator(input: { corporateNumber: $n, closedOn: \"2027-01-01\", reason: \"合併\" }) { closedOn } }";
    app.data(close, json!({ "n": number }), Some(&admin)).await;
    let now = operator(&app, &admin, &number, "2026-12-31", None).await;
    let period = &now["specialSocialInfrastructurePeriods"][0];
    assert_eq!(period["effectiveTo"], "2027-01-01", "{now}");
    assert!(period["endReason"].as_str().expect("reason").contains("合併"), "{now}");
    assert_eq!(obligations(&app, &admin, &number, "2027-01-01").await, Vec::<String>::new());
    let then = operator(&app, &admin, &number, "2027-06-01", Some(&before)).await;
    assert_eq!(then["specialSocialInfrastructurePeriods"][0]["effectiveTo"], Value::Null, "{then}");
    assert_eq!(codes(&then["obligations"]), with(&["espa-prior-notification"], &CYBER));
    app
}

/// The obligation rules as published: each says whom it binds, and each without an
/// in-force date is unconfirmed.
async fn every_rule_says_whom_it_binds(app: TestApp) -> TestApp {
    let query = "{ obligationRules { code triggeredBy binds inForceFrom provenance { confirmed } } }";
    let rules = app.data(query, json!({}), None).await["obligationRules"].clone();
    let binds: Vec<(String, String)> = rules
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| (r["code"].as_str().expect("code").to_owned(), r["binds"].as_str().expect("binds").to_owned()))
        .collect();
    let expected = [
        ("espa-prior-notification", "ESPA_DESIGNEE"),
        ("cyber-asset-notification", "SPECIAL_SOCIAL_INFRASTRUCTURE_OPERATOR"),
        ("cyber-incident-reporting", "SPECIAL_SOCIAL_INFRASTRUCTURE_OPERATOR"),
        ("ci-security-effort", "CI_OPERATOR"),
        ("ci-cooperation-request", "CI_OPERATOR"),
    ];
    assert_eq!(binds, expected.map(|(c, b)| (c.to_owned(), b.to_owned())));
    for rule in rules.as_array().expect("rules") {
        if rule["inForceFrom"].is_null() {
            assert_eq!(rule["provenance"]["confirmed"], false, "{rule}");
        }
        let regime = if rule["binds"] == "CI_OPERATOR" { "CI" } else { "ESPA" };
        assert_eq!(rule["triggeredBy"], regime, "{rule}");
    }
    app
}

e2e!(
    the_designating_ministry_records_a_special_operator_and_its_duties_follow,
    a_closing_ends_the_special_period,
    every_rule_says_whom_it_binds,
);
