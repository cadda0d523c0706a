//! Record time beside valid time: `knownAt` answers what the registry had recorded at
//! an instant, whatever was corrected, closed, curated or imported since.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::{ci, cn, designate, espa, register_all};
use crate::support::{TestApp, codes, error_code};

/// An instant between the changes made before and after it (the server shares this
/// machine's clock).
async fn instant() -> String {
    tokio::time::sleep(Duration::from_millis(50)).await;
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    tokio::time::sleep(Duration::from_millis(50)).await;
    at
}

const OPERATOR: &str = "query($n: String!, $k: DateTime) { operator(corporateNumber: $n, knownAt: $k) {
    closedOn version designations(includeHistory: true) { effectiveFrom effectiveTo status version sector { code } }
    obligations(asOf: \"2025-01-01\") { code } } }";

async fn operator(app: &TestApp, token: &str, number: &str, known_at: Option<&str>) -> Value {
    app.data(OPERATOR, json!({ "n": number, "k": known_at }), Some(token)).await["operator"].clone()
}

async fn a_correction_a_closing_and_an_import_after_an_instant_are_invisible_at_it(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let (a, b, c) = (cn(1), cn(2), cn(3));
    register_all(&app, &admin, &[a.clone(), b.clone()]).await;
    let corrected = designate(&app, &admin, ci(&a, "electricity", "2018-04-01")).await;
    designate(&app, &admin, espa(&b, "gas", "2024-05-17")).await;
    let before = instant().await;

    let correct = "mutation($i: CorrectDesignationInput!) { correctDesignation(input: $i) { version } }";
    let input = json!({ "id": corrected, "expectedVersion": 1, "effectiveFrom": "2018-05-01", "reason": "日付の誤り" });
    app.data(correct, json!({ "i": input }), Some(&admin)).await;
    let close = "mutation($i: CloseOperatorInput!) { closeOperator(input: $i) { closedOn } }";
    let input = json!({ "corporateNumber": b, "closedOn": "2026-01-01", "reason": "解散" });
    app.data(close, json!({ "i": input }), Some(&admin)).await;
    let csv = format!(
        "corporate_number,name_ja,name_en,regime,sector_or_domain,scope_item,effective_from,effective_to,legal_basis,reference\n\
         {c},後日登録株式会社,,CI,gas,,2024-01-01,,,"
    );
    let import = "mutation($csv: String!) { importDesignations(csv: $csv) { created } }";
    app.data(import, json!({ "csv": csv }), Some(&admin)).await;

    // The corrected designation: the old start date then, the new one now.
    let then = operator(&app, &reader, &a, Some(&before)).await;
    let now = operator(&app, &reader, &a, None).await;
    assert_eq!(then["designations"][0]["effectiveFrom"], "2018-04-01", "{then}");
    assert_eq!(then["designations"][0]["version"], 1);
    assert_eq!(now["designations"][0]["effectiveFrom"], "2018-05-01");
    // Asked for on the current operator, nested designations answer as recorded too.
    let nested = app
        .data(
            "query($n: String!, $k: DateTime) { operator(corporateNumber: $n) { designations(knownAt: $k) { effectiveFrom } } }",
            json!({ "n": a, "k": before }),
            Some(&reader),
        )
        .await;
    assert_eq!(nested["operator"]["designations"][0]["effectiveFrom"], "2018-04-01");

    // The closed operator is open then, its designation open and designated.
    let then = operator(&app, &reader, &b, Some(&before)).await;
    assert!(then["closedOn"].is_null(), "{then}");
    assert_eq!(then["version"], 1);
    assert!(then["designations"][0]["effectiveTo"].is_null());
    assert_eq!(then["designations"][0]["status"], "DESIGNATED");
    // Not recorded as 特別社会基盤事業者: the ESPA designee's prior notification only.
    assert_eq!(codes(&then["obligations"]), ["espa-prior-notification"], "ESPA duties then: {then}");
    let now = operator(&app, &reader, &b, None).await;
    assert_eq!(
        (now["closedOn"].as_str(), now["designations"][0]["status"].as_str()),
        (Some("2026-01-01"), Some("REVOKED"))
    );

    // The imported operator was not registered then.
    assert!(operator(&app, &reader, &c, Some(&before)).await.is_null());
    assert!(!operator(&app, &reader, &c, None).await.is_null());
    let listing = "query($k: DateTime) { operators(knownAt: $k, filter: { regime: CI, asOf: \"2025-01-01\" }) {
        totalCount edges { node { corporateNumber designations { sector { code } } } } } }";
    let then = app.data(listing, json!({ "k": before }), Some(&reader)).await;
    assert_eq!(then["operators"]["totalCount"], 1, "{then}");
    assert_eq!(then["operators"]["edges"][0]["node"]["corporateNumber"], a.as_str());
    let now = app.data(listing, json!({ "k": null }), Some(&reader)).await;
    assert_eq!(now["operators"]["totalCount"], 2, "{now}");
    let statuses = "query($n: [String!]!, $k: DateTime) { operatorStatuses(corporateNumbers: $n, knownAt: $k) {
        corporateNumber found espaDomains { code } } }";
    let then = app.data(statuses, json!({ "n": [b, c], "k": before }), Some(&reader)).await;
    let then = then["operatorStatuses"].as_array().unwrap();
    assert_eq!((then[0]["found"].as_bool(), then[1]["found"].as_bool()), (Some(true), Some(false)));
    assert_eq!(then[0]["espaDomains"][0]["code"], "gas");
    app
}

async fn a_curation_after_an_instant_is_absent_at_it(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let before = instant().await;
    let upsert = "mutation($i: UpsertCrosswalkLinkInput!) { upsertCrosswalkLink(input: $i) { relation } }";
    let link = |sector: &str, domain: &str| {
        json!({ "i": { "sector": sector, "domain": domain, "relation": "EQUAL", "rationale": "Curated in review.",
            "source": "nco-2025-08-26", "reason": "見直し" } })
    };
    app.data(upsert, link("electricity", "electricity"), Some(&admin)).await;
    app.data(upsert, link("medical", "postal"), Some(&admin)).await;

    let crosswalk = "query($k: DateTime) { crosswalk(knownAt: $k) { sector { code } domain { code } relation origin }
        scopeGaps(knownAt: $k) { sectorsWithoutDomain { code } } sectors(knownAt: $k) { code } }";
    let pair = |data: &Value, sector: &str, domain: &str| {
        data["crosswalk"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["sector"]["code"] == sector && l["domain"]["code"] == domain)
            .map(|l| format!("{} {}", l["relation"].as_str().unwrap(), l["origin"].as_str().unwrap()))
    };
    let then = app.data(crosswalk, json!({ "k": before }), None).await;
    let now = app.data(crosswalk, json!({ "k": null }), None).await;
    assert_eq!(pair(&then, "electricity", "electricity").as_deref(), Some("SUBSET_OF SEED"));
    assert_eq!(pair(&now, "electricity", "electricity").as_deref(), Some("EQUAL CURATED"));
    assert_eq!(pair(&then, "medical", "postal"), None, "the new pair is absent then");
    assert_eq!(pair(&now, "medical", "postal").as_deref(), Some("EQUAL CURATED"));
    let gaps = |data: &Value| data["scopeGaps"]["sectorsWithoutDomain"].to_string();
    assert!(gaps(&then).contains("medical") && !gaps(&now).contains("medical"));
    assert_eq!(then["sectors"], now["sectors"]);
    app
}

async fn a_seed_data_load_after_an_instant_is_undone_at_it(app: TestApp) -> TestApp {
    let before = instant().await;
    let dir = crate::seeding::edited_seed_dir("sectors.toml", "\"医療\"", "\"医療（改）\"");
    let output = app.cli(&["seed", "--seed-dir", dir.path().to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let after = instant().await;
    let query = "query($k: DateTime) { sectors(knownAt: $k) { code nameJa } obligationRules(knownAt: $k) { code } }";
    let name = |data: &Value| {
        data["sectors"].as_array().unwrap().iter().find(|s| s["code"] == "medical").unwrap()["nameJa"].clone()
    };
    let then = app.data(query, json!({ "k": before }), None).await;
    let later = app.data(query, json!({ "k": after }), None).await;
    assert_eq!(name(&then), "医療");
    assert_eq!(name(&later), "医療（改）");
    assert_eq!(then["obligationRules"], later["obligationRules"]);
    app
}

const REPORT: &str = "query($k: DateTime) { overlap(asOf: \"2025-06-01\", knownAt: $k) {
    asOf totals { both espaOnly ciOnly } cells { sector { code } domain { code } operatorCount }
    domainGaps { domain { code } operatorCount linkedSectors { code }
        operators(first: 5) { totalCount edges { node { corporateNumber nameJa designations(asOf: \"2025-06-01\") { effectiveFrom } } } } } } }";

async fn report_bytes(app: &TestApp, token: &str, known_at: Option<&str>) -> String {
    let response = app.post_json(&json!({ "query": REPORT, "variables": { "k": known_at } }), Some(token)).await;
    assert!(response.status().is_success());
    response.text().await.unwrap()
}

/// An export's status and body.
async fn export(app: &TestApp, path: &str, token: &str) -> (u16, String) {
    let response = app.request(reqwest::Method::GET, path).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn an_overlap_report_is_reproduced_byte_for_byte_after_later_changes(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let numbers: Vec<String> = (10..16).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    designate(&app, &admin, ci(&numbers[0], "electricity", "2018-04-01")).await;
    designate(&app, &admin, espa(&numbers[0], "electricity", "2024-05-17")).await;
    let revoked = designate(&app, &admin, espa(&numbers[1], "postal", "2024-05-17")).await;
    designate(&app, &admin, espa(&numbers[2], "gas", "2024-05-17")).await;
    designate(&app, &admin, ci(&numbers[3], "medical", "2020-01-01")).await;

    // The report as sent to the headquarters, and the instant it was made.
    let stored = report_bytes(&app, &reader, None).await;
    let (_, stored_csv) = export(&app, "/export/overlap.csv?asOf=2025-06-01", &reader).await;
    let (_, stored_operators) = export(&app, "/export/operators.csv?asOf=2025-06-01", &reader).await;
    let sent = instant().await;
    assert!(stored.contains("\"espaOnly\":2"), "{stored}");

    // Later: a revocation, a new designation, a correction, a new crosswalk pair.
    let revoke = "mutation($i: RevokeDesignationInput!) { revokeDesignation(input: $i) { id } }";
    let input = json!({ "id": revoked, "effectiveTo": "2024-06-01", "reason": "誤指定" });
    app.data(revoke, json!({ "i": input }), Some(&admin)).await;
    designate(&app, &admin, espa(&numbers[3], "postal", "2024-05-17")).await;
    designate(&app, &admin, ci(&numbers[2], "gas", "2019-01-01")).await;
    let upsert = "mutation($i: UpsertCrosswalkLinkInput!) { upsertCrosswalkLink(input: $i) { relation } }";
    let link = json!({ "i": { "sector": "medical", "domain": "postal", "relation": "INTERSECTS_WITH",
        "rationale": "Reviewed.", "source": "nco-2025-08-26", "effectiveFrom": scope_registry::domain::today().to_string(),
        "reason": "見直し" } });
    app.data(upsert, link, Some(&admin)).await;

    let now = report_bytes(&app, &reader, None).await;
    assert_ne!(now, stored, "the later changes show now");
    let reproduced = report_bytes(&app, &reader, Some(&sent)).await;
    assert_eq!(reproduced, stored, "the report as recorded then, byte for byte");
    assert_eq!(report_bytes(&app, &reader, Some(&sent)).await, stored, "and again");

    // The exports, too (`?knownAt=`).
    let at = sent.replace('+', "%2B");
    let (_, now_csv) = export(&app, "/export/overlap.csv?asOf=2025-06-01", &reader).await;
    assert_ne!(now_csv, stored_csv);
    let (status, csv) = export(&app, &format!("/export/overlap.csv?asOf=2025-06-01&knownAt={at}"), &reader).await;
    assert_eq!((status, csv), (200, stored_csv));
    let (_, listed) = export(&app, &format!("/export/operators.csv?asOf=2025-06-01&knownAt={at}"), &reader).await;
    assert_eq!(listed, stored_operators);
    let (status, body) = export(&app, "/export/crosswalk.csv?knownAt=2999-01-01T00:00:00Z", &reader).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is in the future"), "{body}");
    let (status, body) = export(&app, "/export/crosswalk.csv?knownAt=yesterday", &reader).await;
    assert!(status == 400 && body.contains("knownAt"), "{body}");
    app
}

async fn instants_in_the_future_or_before_the_first_record_are_refused(app: TestApp) -> TestApp {
    let reader = app.token("reader", None);
    let query = "query($k: DateTime) { sectors(knownAt: $k) { code } }";
    let future = app.graphql(query, json!({ "k": "2999-01-01T00:00:00Z" }), None).await;
    assert_eq!(error_code(&future), "BAD_USER_INPUT");
    assert!(future["errors"][0]["message"].as_str().unwrap().contains("is in the future"), "{future}");
    let early = app.graphql(query, json!({ "k": "2000-01-01T00:00:00Z" }), None).await;
    assert_eq!(error_code(&early), "BAD_USER_INPUT");
    assert!(early["errors"][0]["message"].as_str().unwrap().contains("before this registry recorded anything"));
    assert_eq!(error_code(&app.graphql(query, json!({ "k": "yesterday" }), None).await), "BAD_USER_INPUT");
    let overlap = "query($k: DateTime) { overlap(knownAt: $k) { asOf } }";
    assert_eq!(
        error_code(&app.graphql(overlap, json!({ "k": "2999-01-01T00:00:00Z" }), Some(&reader)).await),
        "BAD_USER_INPUT"
    );
    let number = cn(1);
    let anonymous = app.graphql(OPERATOR, json!({ "n": number, "k": instant().await }), None).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "operator data needs a token at any instant");
    app
}

e2e!(
    a_correction_a_closing_and_an_import_after_an_instant_are_invisible_at_it,
    a_curation_after_an_instant_is_absent_at_it,
    a_seed_data_load_after_an_instant_is_undone_at_it,
    an_overlap_report_is_reproduced_byte_for_byte_after_later_changes,
    instants_in_the_future_or_before_the_first_record_are_refused,
);
