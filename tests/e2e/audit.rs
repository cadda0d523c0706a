//! The audit trail: one event per change with its state before and after, nothing for a
//! failed change, one denied-attempt event for a FORBIDDEN one, append-only in the
//! database, readable by role, filterable, and written by the command line too.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::{DESIGNATE, ci, cn, designate, espa, register_all};
use crate::support::{TestApp, error_code};

pub const EVENTS: &str = "query($f: AuditEventFilter, $first: Int, $after: String) {
    auditEvents(filter: $f, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { id at action entityType entityId before after reason outcome denial
            actor actorKind actorTokenId actorLabel actorRole actorMinistry { code } } } } }";

/// The events matching `filter`, in id order (at most 500).
pub async fn events(app: &TestApp, token: &str, filter: Value) -> Vec<Value> {
    let data = app.data(EVENTS, json!({ "f": filter, "first": 500 }), Some(token)).await;
    data["auditEvents"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

/// How many events there are.
pub async fn count(app: &TestApp, token: &str) -> i64 {
    let data = app.data(EVENTS, json!({ "first": 0 }), Some(token)).await;
    data["auditEvents"]["totalCount"].as_i64().unwrap()
}

/// The last event of the trail.
pub async fn last(app: &TestApp, token: &str) -> Value {
    events(app, token, json!({})).await.pop().expect("an event")
}

/// The id a token acts as in the trail ("token:<id>"), from the token list.
async fn token_actor(app: &TestApp, admin: &str, label: &str) -> String {
    let data = app.data("{ tokens { id label } }", json!({}), Some(admin)).await;
    let id = data["tokens"].as_array().unwrap().iter().rev().find(|t| t["label"] == label).expect("token")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    format!("token:{id}")
}

/// The local user the command line acts as.
pub fn cli_actor() -> String {
    format!("cli:{}", std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or("unknown".into()))
}

async fn each_change_records_exactly_one_event_with_its_state_before_and_after(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let admin_actor = token_actor(&app, &admin, "e2e").await;
    let n = cn(1);
    let mut seen = count(&app, &admin).await;
    let mut expect_one_more = async |app: &TestApp, action: &str| -> Value {
        let now = count(app, &admin).await;
        assert_eq!(now, seen + 1, "{action} should add exactly one event");
        seen = now;
        let event = last(app, &admin).await;
        assert_eq!(event["action"], action);
        assert_eq!(event["outcome"], "SUCCEEDED");
        assert_eq!(event["actor"], admin_actor.as_str());
        assert_eq!(event["actorKind"], "TOKEN");
        assert_eq!(event["actorLabel"], "e2e");
        assert_eq!(event["actorRole"], "ADMIN");
        event
    };

    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let event = expect_one_more(&app, "REGISTER_OPERATOR").await;
    assert_eq!((event["entityType"].as_str(), event["entityId"].as_str()), (Some("OPERATOR"), Some(n.as_str())));
    assert!(event["before"].is_null());
    assert_eq!(event["after"]["nameJa"], "テスト事業者0");
    assert_eq!(event["after"]["version"], 1);

    let update = "mutation($i: UpdateOperatorInput!) { updateOperator(input: $i) { version } }";
    let input = json!({ "corporateNumber": n, "expectedVersion": 1, "nameJa": "改名株式会社", "reason": "商号変更" });
    app.data(update, json!({ "i": input }), Some(&admin)).await;
    let event = expect_one_more(&app, "UPDATE_OPERATOR").await;
    assert_eq!(
        (event["before"]["nameJa"].as_str(), event["after"]["nameJa"].as_str()),
        (Some("テスト事業者0"), Some("改名株式会社"))
    );
    assert_eq!((event["before"]["version"].as_i64(), event["after"]["version"].as_i64()), (Some(1), Some(2)));
    assert_eq!(event["reason"], "商号変更");

    let id = designate(&app, &admin, ci(&n, "gas", "2024-04-01")).await;
    let event = expect_one_more(&app, "DESIGNATE").await;
    assert_eq!((event["entityType"].as_str(), event["entityId"].as_str()), (Some("DESIGNATION"), Some(id.as_str())));
    assert_eq!(event["after"]["sector"], "gas");
    assert_eq!(event["after"]["ministry"], "METI");

    let correct = "mutation($i: CorrectDesignationInput!) { correctDesignation(input: $i) { version } }";
    let input =
        json!({ "id": id, "expectedVersion": 1, "reference": "経産省告示第1号", "reason": "告示番号の記入漏れ" });
    app.data(correct, json!({ "i": input }), Some(&admin)).await;
    let event = expect_one_more(&app, "CORRECT_DESIGNATION").await;
    assert!(event["before"]["reference"].is_null());
    assert_eq!(event["after"]["reference"], "経産省告示第1号");
    assert_eq!(event["after"]["version"], 2);

    let revoke = "mutation($i: RevokeDesignationInput!) { revokeDesignation(input: $i) { version } }";
    let input = json!({ "id": id, "effectiveTo": "2025-04-01", "reason": "事業譲渡" });
    app.data(revoke, json!({ "i": input }), Some(&admin)).await;
    let event = expect_one_more(&app, "REVOKE_DESIGNATION").await;
    assert_eq!(
        (event["before"]["status"].as_str(), event["after"]["status"].as_str()),
        (Some("DESIGNATED"), Some("REVOKED"))
    );
    assert_eq!(event["after"]["effectiveTo"], "2025-04-01");
    assert_eq!(event["reason"], "事業譲渡");

    let open = designate(&app, &admin, espa(&n, "gas", "2024-06-01")).await;
    expect_one_more(&app, "DESIGNATE").await;
    let close = "mutation($i: CloseOperatorInput!) { closeOperator(input: $i) { version } }";
    let input = json!({ "corporateNumber": n, "closedOn": "2026-01-01", "reason": "解散" });
    app.data(close, json!({ "i": input }), Some(&admin)).await;
    let event = expect_one_more(&app, "CLOSE_OPERATOR").await;
    assert!(event["before"]["operator"]["closedOn"].is_null());
    assert_eq!(event["after"]["operator"]["closedOn"], "2026-01-01");
    let ended = event["after"]["endedDesignations"].as_array().unwrap();
    assert_eq!(ended.len(), 1, "only the open designation ends: {ended:?}");
    assert_eq!((ended[0]["id"].as_str(), ended[0]["effectiveTo"].as_str()), (Some(open.as_str()), Some("2026-01-01")));

    // Operator and designation histories give the same events for one record.
    let history = app
        .data(
            "query($n: String!) { operator(corporateNumber: $n) { history { action }
                designations(includeHistory: true) { id history { action } } } }",
            json!({ "n": n }),
            Some(&admin),
        )
        .await;
    let actions = |list: &Value| -> Vec<String> {
        list.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(
        actions(&history["operator"]["history"]),
        [
            "REGISTER_OPERATOR",
            "UPDATE_OPERATOR",
            "DESIGNATE",
            "CORRECT_DESIGNATION",
            "REVOKE_DESIGNATION",
            "DESIGNATE",
            "CLOSE_OPERATOR"
        ]
    );
    for designation in history["operator"]["designations"].as_array().unwrap() {
        let expected: &[&str] = if designation["id"] == open.as_str() {
            &["DESIGNATE", "CLOSE_OPERATOR"]
        } else {
            &["DESIGNATE", "CORRECT_DESIGNATION", "REVOKE_DESIGNATION"]
        };
        assert_eq!(actions(&designation["history"]), expected);
    }
    app
}

async fn failed_changes_record_nothing_and_forbidden_ones_one_denied_attempt(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let mlit = app.token("ministry", Some("MLIT"));
    let n = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let before = count(&app, &admin).await;

    let register = "mutation($i: RegisterOperatorInput!) { registerOperator(input: $i) { id } }";
    for (input, code) in [
        (json!({ "corporateNumber": "7000012050003", "nameJa": "x" }), "BAD_USER_INPUT"),
        (json!({ "corporateNumber": n, "nameJa": "x" }), "CONFLICT"),
    ] {
        let body = app.graphql(register, json!({ "i": input }), Some(&admin)).await;
        assert_eq!(error_code(&body), code);
    }
    let body = app.graphql(DESIGNATE, json!({ "input": ci(&cn(2), "gas", "2024-04-01") }), Some(&admin)).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app.graphql(register, json!({ "i": { "corporateNumber": cn(3), "nameJa": "x" } }), None).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert_eq!(count(&app, &admin).await, before, "failed changes record nothing");

    let body =
        app.graphql(register, json!({ "i": { "corporateNumber": cn(3), "nameJa": "読者" } }), Some(&reader)).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(count(&app, &admin).await, before + 1, "a FORBIDDEN change records one denied attempt");
    let denied = last(&app, &admin).await;
    assert_eq!(denied["outcome"], "DENIED");
    assert_eq!(denied["action"], "REGISTER_OPERATOR");
    assert_eq!(denied["actorRole"], "READER");
    assert_eq!(denied["after"]["nameJa"], "読者", "the attempt records what was asked for");
    assert!(denied["denial"].as_str().unwrap().contains("reader"), "{denied}");

    let body = app.graphql(DESIGNATE, json!({ "input": ci(&n, "electricity", "2024-04-01") }), Some(&mlit)).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(count(&app, &admin).await, before + 2);
    let denied = last(&app, &admin).await;
    assert_eq!((denied["action"].as_str(), denied["outcome"].as_str()), (Some("DESIGNATE"), Some("DENIED")));
    assert!(denied["entityId"].is_null(), "the refused designation never existed");
    assert_eq!(denied["actorMinistry"]["code"], "MLIT");
    assert!(denied["denial"].as_str().unwrap().contains("MLIT has no jurisdiction"));

    let data = app
        .data(
            "query($n: String!) { operator(corporateNumber: $n) { version designations(includeHistory: true) { id } } operators { totalCount } }",
            json!({ "n": n }),
            Some(&admin),
        )
        .await;
    assert_eq!(data["operator"]["version"], 1);
    assert!(data["operator"]["designations"].as_array().unwrap().is_empty());
    assert_eq!(data["operators"]["totalCount"], 1, "denied changes write nothing to the registry");
    let denied_only = events(&app, &admin, json!({ "outcome": "DENIED" })).await;
    assert_eq!(denied_only.len(), 2);
    app
}

async fn the_trail_is_append_only_in_the_database(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    register_all(&app, &admin, &[cn(1)]).await;
    let backend = app.db.conn.get_database_backend();
    let mut statements = vec![
        "UPDATE audit_event SET reason = 'rewritten'",
        "DELETE FROM audit_event",
        "UPDATE audit_event_subject SET subject_id = 'x'",
        "DELETE FROM audit_event_subject",
    ];
    if backend == DbBackend::Postgres {
        statements.extend(["TRUNCATE audit_event_subject", "TRUNCATE audit_event CASCADE"]);
    }
    let before = count(&app, &admin).await;
    for sql in statements {
        let error = app.db.conn.execute_raw(Statement::from_string(backend, sql)).await.expect_err(sql);
        assert!(error.to_string().contains(migrations::APPEND_ONLY_MESSAGE), "{sql}: {error}");
    }
    assert_eq!(count(&app, &admin).await, before);
    assert!(events(&app, &admin, json!({})).await.iter().all(|e| e["reason"] != "rewritten"));
    app
}

async fn ministries_read_their_jurisdiction_and_filters_select_what_they_say(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let meti = app.token("ministry", Some("METI"));
    let mlit = app.token("ministry", Some("MLIT"));
    let numbers: Vec<String> = (1..=3).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    let start = chrono::Utc::now();
    let gas = designate(&app, &meti, ci(&numbers[0], "gas", "2024-04-01")).await;
    designate(&app, &mlit, ci(&numbers[1], "railways", "2024-04-01")).await;
    designate(&app, &admin, espa(&numbers[2], "aviation", "2024-04-01")).await;

    let anonymous = app.graphql(EVENTS, json!({}), None).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let all = events(&app, &reader, json!({})).await;
    assert_eq!(all.len(), events(&app, &admin, json!({})).await.len(), "readers read the whole trail");
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_str().unwrap().parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    // METI sees its own designation and the admin's designations in its jurisdiction only.
    let meti_view = events(&app, &meti, json!({ "action": "DESIGNATE" })).await;
    assert_eq!(meti_view.len(), 1, "{meti_view:?}");
    assert_eq!(meti_view[0]["entityId"], gas.as_str());
    let mlit_view = events(&app, &mlit, json!({ "action": "DESIGNATE" })).await;
    let mlit_sectors: Vec<&str> = mlit_view.iter().map(|e| e["after"]["sector"].as_str().unwrap_or("-")).collect();
    assert_eq!(mlit_sectors, ["railways", "-"], "MLIT: its railways designation and the aviation one");
    assert!(events(&app, &meti, json!({ "action": "REGISTER_OPERATOR" })).await.is_empty());

    let by_entity = events(&app, &reader, json!({ "entityType": "OPERATOR", "entityId": numbers[0] })).await;
    let actions: Vec<&str> = by_entity.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["REGISTER_OPERATOR", "DESIGNATE"]);
    let meti_actor = events(&app, &reader, json!({ "actor": meti_view[0]["actor"] })).await;
    assert_eq!(meti_actor.len(), 1);
    assert_eq!(events(&app, &reader, json!({ "entityType": "DESIGNATION" })).await.len(), 3);
    let since = events(&app, &reader, json!({ "since": start.to_rfc3339() })).await;
    assert_eq!(since.len(), 3, "the three designations were made after `start`");
    assert!(events(&app, &reader, json!({ "until": start.to_rfc3339(), "action": "DESIGNATE" })).await.is_empty());
    let body = app.graphql(EVENTS, json!({ "f": { "entityId": numbers[0] } }), Some(&reader)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    // Paging by event id visits every event once.
    let mut after: Option<String> = None;
    let mut paged = Vec::new();
    loop {
        let data = app.data(EVENTS, json!({ "first": 2, "after": after }), Some(&reader)).await;
        let connection = &data["auditEvents"];
        paged.extend(connection["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].clone()));
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = connection["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        assert_eq!(after.as_deref(), paged.last().and_then(Value::as_str), "the cursor is the event id");
    }
    assert_eq!(paged, all.iter().map(|e| e["id"].clone()).collect::<Vec<_>>());
    app
}

async fn command_line_writes_are_audited_as_the_local_user(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let actor = cli_actor();
    // `serve` loaded the reference data into the new database.
    let synced = events(&app, &admin, json!({ "action": "SYNC_REFERENCE_DATA" })).await;
    assert_eq!(synced.len(), 1);
    assert_eq!(synced[0]["actor"], actor.as_str());
    assert_eq!(synced[0]["actorKind"], "CLI");
    assert_eq!(synced[0]["after"]["sectors"]["medical"]["name_ja"], "医療");
    // Issuing the token was a CLI write too.
    let issued = events(&app, &admin, json!({ "action": "ISSUE_TOKEN" })).await;
    assert_eq!(issued.len(), 1);
    assert_eq!(
        (issued[0]["actor"].as_str(), issued[0]["after"]["role"].as_str()),
        (Some(actor.as_str()), Some("admin"))
    );
    assert!(!issued[0].to_string().contains(&admin[3..]), "the secret is never recorded");

    let before = count(&app, &admin).await;
    let output = app.cli(&["seed", "--demo", "--seed-dir", crate::support::seed_dir().to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let all = events(&app, &admin, json!({})).await;
    let added: Vec<&Value> =
        all.iter().filter(|e| e["id"].as_str().unwrap().parse::<i64>().unwrap() > before).collect();
    assert!(added.iter().all(|e| e["actor"] == actor.as_str()));
    assert_eq!(added.iter().filter(|e| e["action"] == "REGISTER_OPERATOR").count(), 41);
    assert!(added.iter().any(|e| e["action"] == "REVOKE_DESIGNATION"));
    assert!(added.iter().all(|e| e["action"] != "SYNC_REFERENCE_DATA"), "an unchanged reseed writes nothing");
    app
}

e2e!(
    each_change_records_exactly_one_event_with_its_state_before_and_after,
    failed_changes_record_nothing_and_forbidden_ones_one_denied_attempt,
    the_trail_is_append_only_in_the_database,
    ministries_read_their_jurisdiction_and_filters_select_what_they_say,
    command_line_writes_are_audited_as_the_local_user,
);
