//! Bearer tokens: issued once, stored as a hash, refused when unknown or malformed.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::e2e;
use crate::support::{TestApp, error_code};

const QUERY: &str = "{ sectors { code } }";

async fn an_issued_token_is_accepted_and_only_its_hash_is_stored(app: TestApp) -> TestApp {
    let token = app.token("reader", None);
    assert!(token.starts_with("sr_"), "{token}");
    let data = app.data(QUERY, json!({}), Some(&token)).await;
    assert_eq!(data["sectors"].as_array().unwrap().len(), 15);

    let backend = app.db.conn.get_database_backend();
    let rows = app
        .db
        .conn
        .query_all_raw(Statement::from_string(backend, "SELECT label, role, secret_hash FROM api_token"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let hash: String = rows[0].try_get("", "secret_hash").unwrap();
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains(&token[3..]), "the secret must not be stored");
    app
}

async fn unknown_and_malformed_tokens_are_unauthenticated(app: TestApp) -> TestApp {
    let unknown = format!("sr_{}", "A".repeat(43));
    for token in [unknown.as_str(), "sr_short", "not-a-token", "sr_' OR 1=1 --"] {
        let body = app.graphql(QUERY, json!({}), Some(token)).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{token}: {body}");
        assert!(body["data"].is_null());
    }
    // A header that is not a bearer token at all.
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    app
}

async fn token_issue_checks_role_and_ministry(app: TestApp) -> TestApp {
    let ministry = app.token("ministry", Some("MLIT"));
    assert!(ministry.starts_with("sr_"));
    for args in [
        &["token", "issue", "--role", "ministry"][..],
        &["token", "issue", "--role", "ministry", "--ministry", "NOPE"][..],
        &["token", "issue", "--role", "reader", "--ministry", "MLIT"][..],
        &["token", "issue", "--role", "superuser"][..],
    ] {
        let output = app.cli(args);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(output.stdout.is_empty(), "no token may be printed on failure");
        assert!(!output.stderr.is_empty());
    }
    app
}

e2e!(
    an_issued_token_is_accepted_and_only_its_hash_is_stored,
    unknown_and_malformed_tokens_are_unauthenticated,
    token_issue_checks_role_and_ministry,
);
