//! What operators see: health and readiness, metrics, request ids, security headers
//! and CORS.

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::e2e;
use crate::fixtures::{cn, register_all};
use crate::support::TestApp;

async fn execute(app: &TestApp, sql: &str) {
    let backend = app.db.conn.get_database_backend();
    app.db.conn.execute_raw(Statement::from_string(backend, sql)).await.expect(sql);
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = app.request(Method::GET, path).send().await.expect("request sent");
    (response.status(), response.text().await.expect("body"))
}

async fn health_and_readiness(app: TestApp) -> TestApp {
    assert_eq!(get(&app, "/healthz").await, (StatusCode::OK, "ok".into()));
    // Ready once the registry index has loaded (at once, on a database this small).
    let mut readiness = get(&app, "/readyz").await;
    for _ in 0..100 {
        if readiness.0 == StatusCode::OK {
            break;
        }
        assert_eq!(readiness, (StatusCode::SERVICE_UNAVAILABLE, "loading the registry index".into()));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        readiness = get(&app, "/readyz").await;
    }
    assert_eq!(readiness, (StatusCode::OK, "ready".into()));

    // A migration this version does not know: a newer version migrated the database.
    execute(&app, "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000001_from_the_future', 0)")
        .await;
    assert_eq!(
        get(&app, "/readyz").await,
        (StatusCode::SERVICE_UNAVAILABLE, "database migrated by a newer version".into())
    );
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK, "the process is still up");
    execute(&app, "DELETE FROM seaql_migrations WHERE version = 'm29991231_000001_from_the_future'").await;

    // A migration this version knows is missing.
    execute(&app, "DELETE FROM seaql_migrations WHERE version = 'm20261126_000003_registry_tables'").await;
    assert_eq!(get(&app, "/readyz").await, (StatusCode::SERVICE_UNAVAILABLE, "database not migrated".into()));
    execute(&app, "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20261126_000003_registry_tables', 0)")
        .await;
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
    app
}

/// The value of one sample line of the metrics text, 0 when absent.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.trim().parse().unwrap_or_else(|_| panic!("{series}: {value}")))
}

async fn metrics_move_and_hold_no_secrets(app: TestApp) -> TestApp {
    let reader = app.token("reader", None);
    let response = app.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let before = response.text().await.unwrap();
    assert!(before.ends_with("# EOF\n"), "{before}");

    app.data("query Sectors { sectors { code } }", json!({}), None).await;
    app.data("query Sectors { sectors { code } }", json!({}), None).await;
    app.graphql("query Broken { sectors { nope } }", json!({}), None).await;
    app.graphql("query Mine { operators { totalCount } }", json!({}), Some("sr_not-a-real-token")).await;
    register_all(&app, &app.token("admin", None), &[cn(1)]).await;
    app.data(
        "query Statuses($n: [String!]!) { operatorStatuses(corporateNumbers: $n) { found } }",
        json!({ "n": [cn(1)] }),
        Some(&reader),
    )
    .await;

    let after = app.request(Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(moved(r#"scope_registry_graphql_requests_total{operation="Sectors",outcome="ok"}"#), 2.0, "{after}");
    assert_eq!(moved(r#"scope_registry_graphql_requests_total{operation="Broken",outcome="BAD_USER_INPUT"}"#), 1.0);
    assert_eq!(moved(r#"scope_registry_graphql_requests_total{operation="unread",outcome="UNAUTHENTICATED"}"#), 1.0);
    assert_eq!(moved(r#"scope_registry_graphql_requests_total{operation="Statuses",outcome="ok"}"#), 1.0);
    assert_eq!(moved(r#"scope_registry_graphql_request_duration_seconds_count{operation="Sectors"}"#), 2.0);
    assert!(moved(r#"scope_registry_http_requests_total{route="/graphql",method="POST",status="200"}"#) >= 6.0);
    assert!(moved(r#"scope_registry_http_request_duration_seconds_count{route="/graphql"}"#) >= 6.0);
    assert_eq!(moved(r#"scope_registry_http_requests_total{route="/metrics",method="GET",status="200"}"#), 1.0);
    assert!(moved("scope_registry_db_statements_total") >= 2.0, "the statuses look-up ran queries");
    // Counted per process, and other tests' servers run in this one too.
    assert!(moved("scope_registry_audit_events_written_total") >= 1.0, "the registration");
    assert_eq!(sample(&after, "scope_registry_db_pool_connections_max"), 5.0);
    assert!(sample(&after, "scope_registry_db_pool_connections_idle") >= 1.0, "{after}");
    assert!(after.contains("scope_registry_db_pool_connections_in_use "), "{after}");
    assert!(!after.contains(&reader) && !after.contains(&reader[3..]) && !after.contains("not-a-real-token"));
    app
}

async fn every_response_carries_a_request_id(app: TestApp) -> TestApp {
    let mut ids = Vec::new();
    for response in [
        app.post_json(&json!({ "query": "{ sectors { code } }" }), None).await,
        app.request(Method::GET, "/healthz").send().await.unwrap(),
        app.request(Method::GET, "/nope").send().await.unwrap(),
        app.request(Method::POST, "/graphql").body("x").send().await.unwrap(),
    ] {
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 4, "ids are distinct: {ids:?}");

    // A caller's own plain id is kept, so that it can be followed across systems.
    let response = app.request(Method::GET, "/healthz").header("x-request-id", "batch-42.step_7").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "batch-42.step_7");
    for unusable in ["has space".to_owned(), "x".repeat(65), "a\"b".to_owned()] {
        let response = app.request(Method::GET, "/healthz").header("x-request-id", &unusable).send().await.unwrap();
        assert_ne!(response.headers()["x-request-id"], unusable.as_str());
    }
    app
}

async fn security_headers_and_no_cors_by_default(app: TestApp) -> TestApp {
    let page = app.request(Method::GET, "/graphql").send().await.unwrap();
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'none'"), "{policy}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");

    let reader = app.token("reader", None);
    let answer = app.post_json(&json!({ "query": "{ sectors { code } }" }), Some(&reader)).await;
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
    assert_eq!(answer.headers()["referrer-policy"], "no-referrer");
    assert_eq!(answer.headers()["cache-control"], "no-store", "answers to a token are not cached");
    assert!(!answer.headers().contains_key("content-security-policy"), "JSON needs no page policy");

    // No CORS unless configured: a browser on another origin gets no permission.
    let preflight = app
        .request(Method::OPTIONS, "/graphql")
        .header("origin", "https://elsewhere.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!preflight.headers().contains_key("access-control-allow-origin"));

    let app = app.reconfigure(|s| s.http.cors_allow_origins = vec!["https://policy.example".into()]).await;
    let allowed = app
        .request(Method::OPTIONS, "/graphql")
        .header("origin", "https://policy.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://policy.example");
    let other = app
        .request(Method::POST, "/graphql")
        .header("origin", "https://elsewhere.example")
        .json(&json!({ "query": "{ sectors { code } }" }))
        .send()
        .await
        .unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    app
}

e2e!(
    health_and_readiness,
    metrics_move_and_hold_no_secrets,
    every_response_carries_a_request_id,
    security_headers_and_no_cors_by_default,
);
