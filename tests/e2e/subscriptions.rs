//! Subscriptions on one instance (SQLite and PostgreSQL): changes made over HTTP and by
//! another process (a CLI import) reach a WebSocket subscriber; resuming, filters and
//! authorization. The multi-instance cases are in `instances`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::audit::last;
use crate::e2e;
use crate::fixtures::{ci, cn, designate, espa, register_all};
use crate::support::{TestApp, codes};
use crate::ws::{GraphqlSocket, REFERENCE_DATA_CHANGED, Received, WAIT, designation_changes};

const REVOKE: &str = "mutation($i: RevokeDesignationInput!) { revokeDesignation(input: $i) { id } }";
const OPERATOR: &str = "query($n: String!) { operator(corporateNumber: $n) { corporateNumber } }";

/// The id of the newest audit event.
async fn last_event_id(app: &TestApp, admin: &str) -> String {
    last(app, admin).await["id"].as_str().expect("an event id").to_owned()
}

/// An import file with one designation per `(number, regime, field)`.
fn import_file(dir: &tempfile::TempDir, rows: &[(&str, &str, &str)]) -> String {
    let mut csv = String::from(
        "corporate_number,name_ja,name_en,regime,sector_or_domain,scope_item,effective_from,effective_to,legal_basis,reference\n",
    );
    for (i, (number, regime, field)) in rows.iter().enumerate() {
        csv.push_str(&format!("{number},取込事業者{i},Imported operator {i},{regime},{field},,2024-06-01,,,IMP-{i}\n"));
    }
    let path = dir.path().join("designations.csv");
    std::fs::write(&path, csv).expect("write the import file");
    path.to_str().expect("utf-8 path").to_owned()
}

async fn a_subscriber_follows_changes_made_over_http_and_by_another_process(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let numbers: Vec<String> = (1..=3).map(cn).collect();
    register_all(&app, &admin, &numbers[..1]).await;
    let start = last_event_id(&app, &admin).await;
    let mut subscriber = designation_changes(&app.address, &reader, Some(&start), Value::Null).await;

    // A change over HTTP, with the operator's status after it and the audit event that
    // recorded it.
    let designated = designate(&app, &admin, ci(&numbers[0], "electricity", "2024-04-01")).await;
    let change = subscriber.next_change().await;
    assert_eq!(change["designation"]["id"], designated.as_str());
    assert_eq!(
        (change["action"].as_str(), change["designation"]["status"].as_str()),
        (Some("DESIGNATE"), Some("DESIGNATED"))
    );
    assert_eq!(change["cursor"], change["eventId"], "one designation, so the cursor is the event id");
    assert_eq!(change["status"]["corporateNumber"], numbers[0].as_str());
    assert_eq!(codes(&change["status"]["ciSectors"]), ["electricity"]);
    assert_eq!(change["eventId"], last_event_id(&app, &admin).await.as_str());

    // A CLI import in another process: one audit event, one message per designation it
    // created, in designation-id order, found by the feed's polling on SQLite.
    let dir = tempfile::tempdir().unwrap();
    let file = import_file(&dir, &[(&numbers[1], "ESPA", "gas"), (&numbers[2], "CI", "railways")]);
    let output = app.cli(&["import", &file]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let imported = Instant::now();
    let first = subscriber.next_change().await;
    eprintln!("the import reached the subscriber {:?} after the CLI exited", imported.elapsed());
    let second = subscriber.next_change().await;
    let event = first["eventId"].as_str().unwrap().to_owned();
    assert_eq!(second["eventId"], event.as_str());
    assert_eq!(
        (first["action"].as_str(), second["action"].as_str()),
        (Some("IMPORT_DESIGNATIONS"), Some("IMPORT_DESIGNATIONS"))
    );
    assert_eq!(
        (first["cursor"].as_str(), second["cursor"].as_str()),
        (Some(format!("{event}:0").as_str()), Some(event.as_str()))
    );
    assert!(first["designation"]["id"].as_str() < second["designation"]["id"].as_str(), "designation-id order");
    let mut operators = [&first, &second].map(|c| c["status"]["corporateNumber"].as_str().unwrap().to_owned());
    let mut expected = [numbers[1].clone(), numbers[2].clone()];
    operators.sort();
    expected.sort();
    assert_eq!(operators, expected);
    subscriber.expect_silence(Duration::from_millis(500)).await;

    // Resuming inside the import: exactly what came after that message, then live ones.
    let mut resumed = designation_changes(&app.address, &reader, first["cursor"].as_str(), Value::Null).await;
    assert_eq!(resumed.next_change().await["designation"]["id"], second["designation"]["id"]);
    let revoke = json!({ "i": { "id": designated, "effectiveTo": "2025-01-01", "reason": "事業譲渡" } });
    app.data(REVOKE, revoke, Some(&admin)).await;
    for socket in [&mut resumed, &mut subscriber] {
        let change = socket.next_change().await;
        assert_eq!(
            (change["action"].as_str(), change["designation"]["id"].as_str()),
            (Some("REVOKE_DESIGNATION"), Some(designated.as_str()))
        );
        assert_eq!(change["designation"]["status"], "REVOKED");
        assert_eq!(change["status"]["ciSectors"], json!([]), "no longer a CI operator today");
        socket.expect_silence(Duration::from_millis(300)).await;
    }
    app
}

async fn a_subscriber_without_after_receives_changes_from_now_on(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let numbers: Vec<String> = (1..=40).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    let before = designate(&app, &admin, espa(&numbers[0], "postal", "2024-04-01")).await;
    let mut subscriber = designation_changes(&app.address, &admin, None, Value::Null).await;

    // The subscription starts when the server has read it; probe until it delivers.
    let mut probes = Vec::new();
    let first = loop {
        let number = &numbers[probes.len() + 1];
        probes.push(designate(&app, &admin, ci(number, "gas", "2024-04-01")).await);
        if let Some(Received::Next(payload)) = subscriber.receive(Duration::from_millis(500)).await {
            break payload["data"]["designationChanged"]["designation"]["id"].as_str().unwrap().to_owned();
        }
        assert!(probes.len() < 30, "the subscription never started");
    };
    assert_ne!(first, before, "nothing from before the subscription");
    let position = probes.iter().position(|p| *p == first).expect("one of the probes");
    for probe in &probes[position + 1..] {
        assert_eq!(subscriber.next_change().await["designation"]["id"], probe.as_str());
    }
    let live = designate(&app, &admin, ci(&numbers[39], "water", "2024-04-01")).await;
    assert_eq!(subscriber.next_change().await["designation"]["id"], live.as_str());
    subscriber.expect_silence(Duration::from_millis(300)).await;
    app
}

async fn filters_select_designations_and_bad_ones_are_refused(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let numbers: Vec<String> = (1..=2).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    let start = last_event_id(&app, &admin).await;
    let wanted = json!({ "corporateNumbers": [numbers[0]], "regime": "ESPA" });
    let mut by_operator = designation_changes(&app.address, &admin, Some(&start), wanted).await;
    let mut by_domain = designation_changes(&app.address, &admin, Some(&start), json!({ "domain": "gas" })).await;

    designate(&app, &admin, ci(&numbers[0], "gas", "2024-04-01")).await;
    designate(&app, &admin, espa(&numbers[1], "gas", "2024-04-01")).await;
    let wanted = designate(&app, &admin, espa(&numbers[0], "electricity", "2024-04-01")).await;
    let change = by_operator.next_change().await;
    assert_eq!(change["designation"]["id"], wanted.as_str());
    assert_eq!(codes(&change["status"]["ciSectors"]), ["gas"]);
    assert_eq!(codes(&change["status"]["espaDomains"]), ["electricity"]);
    by_operator.expect_silence(Duration::from_millis(300)).await;
    let change = by_domain.next_change().await;
    assert_eq!(
        (change["designation"]["domain"]["code"].as_str(), change["status"]["corporateNumber"].as_str()),
        (Some("gas"), Some(numbers[1].as_str()))
    );
    by_domain.expect_silence(Duration::from_millis(300)).await;

    let latest: i64 = last_event_id(&app, &admin).await.parse().unwrap();
    let refused = [
        (json!({ "filter": { "sector": "gas", "domain": "gas" } }), "not both"),
        (json!({ "filter": { "sector": "shipbuilding" } }), "unknown sector \"shipbuilding\""),
        (json!({ "filter": { "regime": "ESPA", "sector": "gas" } }), "belongs to CI"),
        (json!({ "filter": { "corporateNumbers": ["7000012050003"] } }), "check digit"),
        (json!({ "after": (latest + 1000).to_string() }), "has been recorded"),
        (json!({ "after": "yesterday" }), "not an audit event id"),
    ];
    for (variables, message) in refused {
        let mut socket = GraphqlSocket::connect(&app.address, Some(&admin)).await;
        socket.subscribe(crate::ws::DESIGNATION_CHANGED, variables.clone()).await;
        let payload = socket.next_payload().await;
        assert_eq!(payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{variables}: {payload}");
        let text = payload["errors"][0]["message"].as_str().unwrap();
        assert!(text.contains(message), "{variables}: {text}");
        assert!(matches!(socket.receive(WAIT).await, Some(Received::Complete)));
    }
    app
}

async fn subscriptions_need_the_same_tokens_as_queries(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);

    // Operator data needs a token; an unknown token is refused when the connection starts.
    let mut anonymous = GraphqlSocket::connect(&app.address, None).await;
    anonymous.subscribe(crate::ws::DESIGNATION_CHANGED, json!({})).await;
    assert_eq!(anonymous.next_error_code().await, "UNAUTHENTICATED");
    assert!(matches!(anonymous.receive(WAIT).await, Some(Received::Complete)));
    let forged = format!("sr_{}", "A".repeat(43));
    let closed = GraphqlSocket::open(&app.address, json!({ "token": forged })).await.err().expect("refused");
    assert_eq!((closed.code, closed.reason.as_str()), (1002, "unknown bearer token"));
    let closed = GraphqlSocket::open(&app.address, json!({ "token": 42 })).await.err().expect("refused");
    assert_eq!(closed.reason, "connection_init: token must be a string");
    // The Authorization form works too; `after: "0"` replays every change ever made.
    register_all(&app, &admin, &[cn(1)]).await;
    let designated = designate(&app, &admin, ci(&cn(1), "gas", "2024-04-01")).await;
    let mut by_header = GraphqlSocket::open(&app.address, json!({ "Authorization": format!("Bearer {reader}") }))
        .await
        .expect("accepted");
    by_header.subscribe(crate::ws::DESIGNATION_CHANGED, json!({ "after": "0" })).await;
    assert_eq!(by_header.next_change().await["designation"]["id"], designated.as_str());

    // Reference data is public: a subscriber without a token hears of a curation, and the
    // instance already answers with it.
    let start = last_event_id(&app, &admin).await;
    anonymous.subscribe(REFERENCE_DATA_CHANGED, json!({ "after": start })).await;
    let upsert = json!({ "i": { "sector": "electricity", "domain": "electricity", "relation": "EQUAL",
        "rationale": "Both regimes now name 発電事業.", "source": "nco-2025-08-26", "reason": "見直し" } });
    app.data(
        "mutation($i: UpsertCrosswalkLinkInput!) { upsertCrosswalkLink(input: $i) { relation } }",
        upsert,
        Some(&admin),
    )
    .await;
    let change = anonymous.next_item("referenceDataChanged").await;
    assert_eq!(
        (change["action"].as_str(), change["entityType"].as_str(), change["entityId"].as_str()),
        (Some("UPSERT_CROSSWALK_LINK"), Some("CROSSWALK_LINK"), Some("electricity:electricity"))
    );

    // Queries run over the connection as over HTTP.
    let lookup = json!({ "n": cn(1) });
    by_header.subscribe(OPERATOR, lookup.clone()).await;
    assert_eq!(by_header.next_item("operator").await["corporateNumber"], cn(1).as_str());
    assert!(matches!(by_header.receive(WAIT).await, Some(Received::Complete)));

    // A revoked token's subscriptions end, and its open connections run nothing more.
    let start = last_event_id(&app, &admin).await;
    let mut subscriber = designation_changes(&app.address, &reader, Some(&start), Value::Null).await;
    let tokens = app.data("{ tokens { id role } }", json!({}), Some(&admin)).await;
    let reader_id = tokens["tokens"].as_array().unwrap().iter().find(|t| t["role"] == "READER").unwrap()["id"].clone();
    app.data("mutation($id: ID!) { revokeToken(id: $id) { id } }", json!({ "id": reader_id }), Some(&admin)).await;
    assert_eq!(subscriber.next_error_code().await, "UNAUTHENTICATED");
    assert!(matches!(subscriber.receive(WAIT).await, Some(Received::Complete)));
    by_header.subscribe(OPERATOR, lookup).await;
    assert_eq!(by_header.next_error_code().await, "UNAUTHENTICATED");
    app
}

e2e!(
    a_subscriber_follows_changes_made_over_http_and_by_another_process,
    a_subscriber_without_after_receives_changes_from_now_on,
    filters_select_designations_and_bad_ones_are_refused,
    subscriptions_need_the_same_tokens_as_queries,
);
