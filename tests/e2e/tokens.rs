//! Bearer tokens: issued once, stored as a hash, refused when unknown or malformed.

use scope_registry::app::command_services;
use scope_registry::domain::{Principal, Role};
use scope_registry::services::tokens::{self, TokenRequest};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::audit::{cli_actor, events};
use crate::e2e;
use crate::support::{TestApp, error_code};

const QUERY: &str = "{ sectors { code } }";
/// Operator data: refused without a valid token.
const PROTECTED: &str = "{ operators { totalCount } }";
const TOKENS: &str = "{ tokens { id label role ministry { code } createdAt expiresAt lastUsedAt revokedAt status } }";

/// The listed token issued with `role` last.
async fn listed(app: &TestApp, admin: &str, role: &str) -> Value {
    let data = app.data(TOKENS, json!({}), Some(admin)).await;
    data["tokens"].as_array().unwrap().iter().rev().find(|t| t["role"] == role).cloned().expect("listed token")
}

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

/// A command other than serve, migrate and seed pointed at a database that does not
/// exist refuses to create one (a token for a database no server uses would be useless),
/// names the URL and exits non-zero; `--create` creates it.
async fn commands_do_not_create_a_database_unless_asked(app: TestApp) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mistyped.db");
    let url = format!("sqlite://{}", path.display());
    for args in [&["token", "issue", "--role", "reader"][..], &["token", "list"][..], &["export", "crosswalk"][..]] {
        let output = crate::support::cli_with_database(&url, args);
        assert!(!output.status.success(), "{args:?} must refuse");
        assert!(output.stdout.is_empty(), "{args:?} printed {:?}", String::from_utf8_lossy(&output.stdout));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&url) && stderr.contains("--create"), "{args:?}: {stderr}");
        assert!(!path.exists(), "{args:?} created {}", path.display());
    }
    let output = crate::support::cli_with_database(&url, &["token", "issue", "--role", "reader", "--create"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(path.exists());
    app
}

async fn a_revoked_token_is_refused_at_once_also_when_another_process_revokes_it(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    app.data(PROTECTED, json!({}), Some(&reader)).await;
    let id = listed(&app, &admin, "READER").await["id"].as_str().unwrap().to_owned();

    // `token revoke` runs as a separate process against the database the server uses.
    let output = app.cli(&["token", "revoke", &id, "--reason", "漏えいの疑い"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let body = app.graphql(PROTECTED, json!({}), Some(&reader)).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "refused from the very next request: {body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("revoked"));
    let again = app.cli(&["token", "revoke", &id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already revoked"));

    // Through the API: admins only.
    let ministry = app.token("ministry", Some("MIC"));
    let second = app.token("reader", None);
    let second_id = listed(&app, &admin, "READER").await["id"].as_str().unwrap().to_owned();
    let revoke = "mutation($id: ID!) { revokeToken(id: $id, reason: \"rotated\") { status revokedAt } }";
    for token in [&ministry, &second] {
        assert_eq!(error_code(&app.graphql(revoke, json!({ "id": second_id }), Some(token)).await), "FORBIDDEN");
    }
    app.data(PROTECTED, json!({}), Some(&second)).await;
    let revoked = app.data(revoke, json!({ "id": second_id }), Some(&admin)).await;
    assert_eq!(revoked["revokeToken"]["status"], "REVOKED");
    assert_eq!(error_code(&app.graphql(PROTECTED, json!({}), Some(&second)).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&app.graphql(revoke, json!({ "id": second_id }), Some(&admin)).await), "CONFLICT");
    let body = app.graphql(revoke, json!({ "id": "01900000-0000-7000-8000-000000000000" }), Some(&admin)).await;
    assert_eq!(error_code(&body), "NOT_FOUND");

    let revocations = events(&app, &admin, json!({ "action": "REVOKE_TOKEN", "outcome": "SUCCEEDED" })).await;
    let by: Vec<(&str, &str)> =
        revocations.iter().map(|e| (e["entityId"].as_str().unwrap(), e["actorKind"].as_str().unwrap())).collect();
    assert_eq!(by, [(id.as_str(), "CLI"), (second_id.as_str(), "TOKEN")]);
    assert_eq!(revocations[0]["actor"], cli_actor().as_str());
    assert_eq!(revocations[0]["reason"], "漏えいの疑い");
    assert!(revocations[0]["before"]["revokedAt"].is_null() && !revocations[0]["after"]["revokedAt"].is_null());
    assert_eq!(events(&app, &admin, json!({ "action": "REVOKE_TOKEN", "outcome": "DENIED" })).await.len(), 2);
    app
}

async fn an_expired_token_is_refused_at_once(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    // A token that expires two seconds from now (the CLI only issues whole days).
    let services = command_services(&app.db).await.unwrap();
    let request = TokenRequest {
        role: Role::Reader,
        ministry: None,
        label: "short-lived".into(),
        expires_at: Some(chrono::Utc::now() + chrono::Duration::seconds(2)),
    };
    let principal = Principal::Cli { user: "e2e".into(), ministry: None };
    let reader = tokens::issue(&services, &principal, request).await.unwrap().secret;
    // Used (and so remembered) while it is valid ...
    app.data(PROTECTED, json!({}), Some(&reader)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    // ... and refused the moment it expires.
    let body = app.graphql(PROTECTED, json!({}), Some(&reader)).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("expired"));
    assert_eq!(listed(&app, &admin, "READER").await["status"], "EXPIRED");
    let output = app.cli(&["token", "issue", "--role", "reader", "--expires-in-days", "0"]);
    assert!(!output.status.success(), "an expiry must lie in the future");
    app
}

async fn tokens_are_listed_with_their_use_and_never_their_secrets(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let mlit = app.token("ministry", Some("MLIT"));
    app.data(PROTECTED, json!({}), Some(&reader)).await;
    let data = app.data(TOKENS, json!({}), Some(&admin)).await;
    let tokens = data["tokens"].as_array().unwrap();
    let roles: Vec<&str> = tokens.iter().map(|t| t["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["ADMIN", "READER", "MINISTRY"], "oldest first");
    assert!(tokens.iter().all(|t| t["label"] == "e2e" && t["status"] == "ACTIVE" && t["revokedAt"].is_null()));
    assert_eq!(tokens[2]["ministry"]["code"], "MLIT");
    assert!(!tokens[1]["lastUsedAt"].is_null(), "the reader token was used");
    assert!(tokens[2]["lastUsedAt"].is_null(), "the ministry token was not");
    let text = data.to_string();
    for secret in [&admin, &reader, &mlit] {
        assert!(!text.contains(&secret[3..]));
    }
    for token in [&reader, &mlit] {
        assert_eq!(error_code(&app.graphql(TOKENS, json!({}), Some(token)).await), "FORBIDDEN");
    }

    let output = app.cli(&["token", "list"]);
    assert!(output.status.success());
    let listing = String::from_utf8_lossy(&output.stdout);
    for token in tokens {
        assert!(listing.contains(token["id"].as_str().unwrap()), "{listing}");
    }
    assert!(listing.contains("MLIT") && listing.contains("active"));
    for secret in [&admin, &reader, &mlit] {
        assert!(!listing.contains(&secret[3..]));
    }
    app
}

e2e!(
    commands_do_not_create_a_database_unless_asked,
    a_revoked_token_is_refused_at_once_also_when_another_process_revokes_it,
    an_expired_token_is_refused_at_once,
    tokens_are_listed_with_their_use_and_never_their_secrets,
    an_issued_token_is_accepted_and_only_its_hash_is_stored,
    unknown_and_malformed_tokens_are_unauthenticated,
    token_issue_checks_role_and_ministry,
);
