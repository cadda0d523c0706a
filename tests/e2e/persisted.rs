//! Persisted documents: automatic persisted queries (the Apollo APQ convention) for every
//! client, and the trusted-documents mode in which only listed documents run for anyone
//! but an admin, over HTTP and over WebSocket alike.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{TestApp, cli_with_database, error_code};
use crate::ws::GraphqlSocket;
use crate::{e2e, e2e_database};

const SECTORS: &str = "query Sectors { sectors { code } }";
const MINISTRIES: &str = "query Ministries { ministries { code } }";
const REFERENCE_CHANGES: &str = "subscription { referenceDataChanged { action } }";

fn sha256(document: &str) -> String {
    Sha256::digest(document.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn by_hash(document: &str) -> Value {
    json!({ "version": 1, "sha256Hash": sha256(document) })
}

async fn post(app: &TestApp, body: Value, token: Option<&str>) -> Value {
    app.post_json(&body, token).await.json().await.expect("JSON answer")
}

async fn automatic_persisted_queries_follow_the_apollo_convention(app: TestApp) -> TestApp {
    // An unknown hash: the answer Apollo clients look for to send the query.
    let unknown = post(&app, json!({ "extensions": { "persistedQuery": by_hash(SECTORS) } }), None).await;
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound", "{unknown:#}");
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    assert!(unknown.get("data").is_none_or(Value::is_null), "{unknown:#}");

    // Hash and query: answered, and kept.
    let full = json!({ "query": SECTORS, "extensions": { "persistedQuery": by_hash(SECTORS) } });
    let answered = post(&app, full, None).await;
    assert_eq!(answered["data"]["sectors"].as_array().map(Vec::len), Some(15), "{answered:#}");
    let hashed = post(&app, json!({ "extensions": { "persistedQuery": by_hash(SECTORS) } }), None).await;
    assert_eq!(hashed, answered, "the hash alone gives the same answer");
    // The GraphQL-over-HTTP form of the same reference.
    let by_id = post(&app, json!({ "documentId": format!("sha256:{}", sha256(SECTORS)) }), None).await;
    assert_eq!(by_id, answered);

    // A hash that is not the query's is refused, and does not register the query.
    let mismatched = json!({ "query": MINISTRIES, "extensions": { "persistedQuery": by_hash(SECTORS) } });
    let refused = post(&app, mismatched, None).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused:#}");
    assert!(refused["errors"][0]["message"].as_str().is_some_and(|m| m.contains("does not match")), "{refused:#}");
    let still_unknown = post(&app, json!({ "extensions": { "persistedQuery": by_hash(MINISTRIES) } }), None).await;
    assert_eq!(still_unknown["errors"][0]["message"], "PersistedQueryNotFound");
    let wrong_version = json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": sha256(SECTORS) } } });
    assert_eq!(error_code(&post(&app, wrong_version, None).await), "BAD_USER_INPUT");
    let not_a_hash = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "abc" } } });
    assert_eq!(error_code(&post(&app, not_a_hash, None).await), "BAD_USER_INPUT");

    // Operator data by hash still needs a token.
    let operators = "{ operators(first: 1) { totalCount } }";
    let register = json!({ "query": operators, "extensions": { "persistedQuery": by_hash(operators) } });
    assert_eq!(error_code(&post(&app, register, None).await), "UNAUTHENTICATED");
    app
}

async fn only_trusted_documents_run_for_other_than_admins(app: TestApp) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("trusted-documents.json");
    let listed =
        json!({ format!("sha256:{}", sha256(SECTORS)): SECTORS, sha256(REFERENCE_CHANGES): REFERENCE_CHANGES });
    std::fs::write(&file, listed.to_string()).expect("write the trusted documents");
    let app = app.reconfigure(|settings| settings.limits.trusted_documents = Some(file.clone())).await;
    let reader = app.token("reader", None);
    let admin = app.token("admin", None);

    // Listed: runs in full, by hash and by id, with or without a token.
    for token in [None, Some(reader.as_str())] {
        let full = post(&app, json!({ "query": SECTORS }), token).await;
        assert_eq!(full["data"]["sectors"].as_array().map(Vec::len), Some(15), "{full:#}");
        let hashed = post(&app, json!({ "extensions": { "persistedQuery": by_hash(SECTORS) } }), token).await;
        assert_eq!(hashed, full);
    }
    // Not listed: refused, whichever way it comes.
    let unlisted = post(&app, json!({ "query": MINISTRIES }), Some(&reader)).await;
    assert_eq!(error_code(&unlisted), "FORBIDDEN", "{unlisted:#}");
    assert!(unlisted.get("data").is_none_or(Value::is_null));
    let registering = json!({ "query": MINISTRIES, "extensions": { "persistedQuery": by_hash(MINISTRIES) } });
    assert_eq!(error_code(&post(&app, registering.clone(), None).await), "UNAUTHENTICATED");
    // An admin runs anything; what an admin registers does not become trusted.
    let by_admin = post(&app, registering, Some(&admin)).await;
    assert!(by_admin["data"]["ministries"].is_array(), "{by_admin:#}");
    let hashed = json!({ "extensions": { "persistedQuery": by_hash(MINISTRIES) } });
    assert_eq!(error_code(&post(&app, hashed.clone(), Some(&reader)).await), "FORBIDDEN");
    assert!(post(&app, hashed, Some(&admin)).await["data"]["ministries"].is_array());

    // Over a WebSocket the same rule holds.
    let mut socket = GraphqlSocket::connect(&app.address, Some(&reader)).await;
    socket.subscribe("subscription { designationChanged { action } }", json!({})).await;
    assert_eq!(socket.next_error_code().await, "FORBIDDEN");
    let mut socket = GraphqlSocket::connect(&app.address, Some(&reader)).await;
    socket.subscribe_with(json!({ "extensions": { "persistedQuery": by_hash(REFERENCE_CHANGES) } })).await;
    socket.expect_silence(std::time::Duration::from_millis(300)).await;
    app
}

/// A file that does not hold what it says stops the server at start, with the reason.
async fn a_wrong_trusted_documents_file_stops_the_start(database_url: String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("trusted-documents.json");
    std::fs::write(&file, json!({ sha256(SECTORS): MINISTRIES }).to_string()).expect("write");
    let file = file.to_str().expect("UTF-8 path");
    let started = cli_with_database(&database_url, &["serve", "--bind", "127.0.0.1:0", "--trusted-documents", file]);
    assert!(!started.status.success());
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(stderr.contains("trusted documents file") && stderr.contains(&sha256(MINISTRIES)), "{stderr}");
}

e2e!(automatic_persisted_queries_follow_the_apollo_convention, only_trusted_documents_run_for_other_than_admins);
e2e_database!(a_wrong_trusted_documents_file_stops_the_start);
