//! Limits: query depth, complexity, nesting and fragment bombs, body size (with more
//! room for imports), batch sizes, rate limit and request time, each answered with a
//! code while the server keeps serving.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::e2e;
use crate::fixtures::{cn, register_all};
use crate::support::{TestApp, error_code};

const HEALTHY: &str = "{ sectors { code } }";

/// The server still answers an ordinary query.
pub async fn assert_still_serving(app: &TestApp) {
    let data = app.data(HEALTHY, json!({}), None).await;
    assert_eq!(data["sectors"].as_array().map(Vec::len), Some(15), "the server must keep serving");
}

/// Status and JSON body of a response; the body must be JSON with an error code.
pub async fn refusal(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    assert!(response.headers().contains_key("x-request-id"), "every response has a request id");
    let text = response.text().await.expect("body");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: body is not JSON: {text}"));
    assert!(body["errors"][0]["extensions"]["code"].is_string(), "{status}: no error code in {body}");
    assert!(!text.contains("sqlx") && !text.contains("SQLITE") && !text.contains("panicked"), "{text}");
    (status, body)
}

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

/// Sends raw bytes over TCP and returns what the server answered.
pub async fn raw_exchange(app: &TestApp, parts: &[&[u8]], pause: Duration) -> String {
    let mut stream = TcpStream::connect(app.socket_address()).await.expect("connect");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        // The server may answer (and close) before it has read everything.
        if stream.write_all(part).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await.ok();
    String::from_utf8_lossy(&answer).into_owned()
}

async fn depth_complexity_and_bombs_are_refused_naming_the_limit(app: TestApp) -> TestApp {
    // Depth: sectors → links → sector → links … is 18 fields deep.
    let deep = format!("{{ sectors {{ {} code {} }} }}", "links { sector { ".repeat(8), "} } ".repeat(8));
    let body = app.graphql(&deep, json!({}), None).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(message(&body).contains("18 fields deep; the depth limit is 16"), "{body}");

    // Complexity: a full page of 500 operators costs 500 times its selection.
    let reader = app.token("reader", None);
    let fields: String = (0..50).map(|i| format!("f{i}: id ")).collect();
    let costly = format!("{{ operators(first: 500) {{ edges {{ node {{ {fields} }} }} }} }}");
    let body = app.graphql(&costly, json!({}), Some(&reader)).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(message(&body).contains("complexity is 26010; the complexity limit is 25000"), "{body}");
    // The same page size given as a variable, to a document that passed before with a
    // small one: refused with the same figures.
    let paged = format!("query($n: Int) {{ operators(first: $n) {{ edges {{ node {{ {fields} }} }} }} }}");
    let small = app.graphql(&paged, json!({ "n": 1 }), Some(&reader)).await;
    assert!(small.get("errors").is_none(), "{small}");
    let body = app.graphql(&paged, json!({ "n": 500 }), Some(&reader)).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(message(&body).contains("complexity is 26010; the complexity limit is 25000"), "{body}");

    // An alias bomb of database look-ups is refused before any of them runs.
    let aliases: String =
        (0..2300).map(|i| format!("a{i}: operator(corporateNumber: \"{}\") {{ id }} ", cn(1))).collect();
    let before = app.db.statement_count();
    let body = app.graphql(&format!("{{ {aliases} }}"), json!({}), Some(&reader)).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(app.db.statement_count() - before < 10, "no look-up may run for a refused query");

    // Aliased reference lists cost what they produce (15 sectors each).
    let lists: String = (0..2000).map(|i| format!("a{i}: sectors {{ code }} ")).collect();
    let body = app.graphql(&format!("{{ {lists} }}"), json!({}), None).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(message(&body).contains("complexity is 30000"), "{body}");

    // A field-count bomb is refused before validation.
    let bomb = format!("{{ sectors {{ {} }} }}", "code ".repeat(26_000));
    let body = app.graphql(&bomb, json!({}), None).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(
        message(&body).contains("selects 26001 fields, fragments expanded; the complexity limit is 25000"),
        "{body}"
    );

    // Nested fragments that each spread the next twice: 2^40 fields, refused at once.
    let mut fragments = String::from("{ sectors { ...F0 } }\n");
    for i in 0..40 {
        fragments.push_str(&format!("fragment F{i} on Sector {{ ...F{n} ...F{n} }}\n", n = i + 1));
    }
    fragments.push_str("fragment F40 on Sector { code }\n");
    let started = Instant::now();
    let body = app.graphql(&fragments, json!({}), None).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(started.elapsed() < Duration::from_secs(5), "refused in {:?}", started.elapsed());

    let cycle = "{ sectors { ...A } } fragment A on Sector { code ...B } fragment B on Sector { ...A }";
    let body = app.graphql(cycle, json!({}), None).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(message(&body).contains("spreads itself"), "{body}");

    // Brackets nested 10,000 deep never reach the (recursive) parser.
    let body = app.graphql(&format!("{}{}", "{".repeat(10_000), "}".repeat(10_000)), json!({}), None).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(message(&body).contains("the limit is 32"), "{body}");
    let nested_value =
        format!("{{ sectors(asOf: {}\"2025-01-01\"{}) {{ code }} }}", "[".repeat(5000), "]".repeat(5000));
    assert_eq!(error_code(&app.graphql(&nested_value, json!({}), None).await), "QUERY_TOO_COMPLEX");

    // Variables nested 10,000 deep are refused as JSON.
    let deep_variable = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let raw = format!(
        r#"{{"query": "query($d: Date) {{ sectors(asOf: $d) {{ code }} }}", "variables": {{"d": {deep_variable}}}}}"#
    );
    let response = app
        .request(reqwest::Method::POST, "/graphql")
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    let (status, body) = refusal(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    assert_still_serving(&app).await;
    app
}

async fn introspection_passes_the_limits_unless_turned_off(app: TestApp) -> TestApp {
    let data = app.data(INTROSPECTION, json!({}), None).await;
    let types = data["__schema"]["types"].as_array().expect("types");
    assert!(types.iter().any(|t| t["name"] == "OperatorStatus"), "the full introspection query is answered");

    let app = app.reconfigure(|s| s.limits.disable_introspection = true).await;
    let data = app.data("{ __schema { queryType { name } } }", json!({}), None).await;
    assert!(data["__schema"].is_null(), "{data}");
    assert_still_serving(&app).await;
    app
}

async fn bodies_are_limited_and_imports_get_more_room(app: TestApp) -> TestApp {
    let app = app
        .reconfigure(|s| {
            s.limits.max_body_bytes = 4096;
            s.limits.max_import_body_bytes = 65_536;
        })
        .await;
    let admin = app.token("admin", None);

    // An ordinary request over the ordinary limit.
    let padded = json!({ "query": HEALTHY, "variables": { "pad": "x".repeat(10_000) } });
    let (status, body) = refusal(app.post_json(&padded, None).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "PAYLOAD_TOO_LARGE");
    assert!(message(&body).contains("the limit is 4096 bytes"), "{body}");

    // A request that runs nothing but importDesignations may be larger. (Where the
    // mutation does not exist the answer is a validation error, never a 413.)
    let csv = format!(
        "corporate_number,regime,field,effective_from\n{}",
        format!("{},CI,electricity,2024-04-01\n", cn(1)).repeat(300)
    );
    assert!(csv.len() > 10_000);
    let import = "mutation Import($csv: String!) { importDesignations(csv: $csv, dryRun: true) { __typename } }";
    let response = app.post_json(&json!({ "query": import, "variables": { "csv": csv } }), Some(&admin)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_ne!(body["errors"][0]["extensions"]["reason"], "PAYLOAD_TOO_LARGE", "{body}");

    // …but not over the import limit, with or without a Content-Length.
    let huge = json!({ "query": import, "variables": { "csv": "x".repeat(100_000) } });
    let (status, _) = refusal(app.post_json(&huge, Some(&admin)).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let chunk = format!("{:x}\r\n{}\r\n", 50_000, "x".repeat(50_000));
    let head = "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let answer =
        raw_exchange(&app, &[head.as_bytes(), chunk.as_bytes(), chunk.as_bytes(), b"0\r\n\r\n"], Duration::ZERO).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // A large request that merely calls itself importDesignations is still refused.
    let disguised = "mutation importDesignations($csv: String!) { registerOperator(input: { corporateNumber: $csv, nameJa: \"x\" }) { id } }";
    let response = app.post_json(&json!({ "query": disguised, "variables": { "csv": csv } }), Some(&admin)).await;
    assert_eq!(refusal(response).await.0, StatusCode::PAYLOAD_TOO_LARGE);

    assert_still_serving(&app).await;
    app
}

async fn batch_sizes_are_configurable(app: TestApp) -> TestApp {
    let app = app
        .reconfigure(|s| {
            s.limits.max_status_batch = 3;
            s.limits.max_page_size = 2;
        })
        .await;
    let reader = app.token("reader", None);
    let numbers: Vec<String> = (1..=4).map(cn).collect();
    let statuses = "query($n: [String!]!) { operatorStatuses(corporateNumbers: $n) { found } }";
    let body = app.graphql(statuses, json!({ "n": numbers }), Some(&reader)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(message(&body).contains("at most 3 corporate numbers per request, got 4"), "{body}");
    app.data(statuses, json!({ "n": numbers[..3] }), Some(&reader)).await;

    let body = app.graphql("{ operators(first: 3) { totalCount } }", json!({}), Some(&reader)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(message(&body).contains("first must be at most 2, got 3"), "{body}");
    app.data("{ operators(first: 2) { totalCount } }", json!({}), Some(&reader)).await;
    app
}

async fn rate_limit_answers_429_with_retry_after(app: TestApp) -> TestApp {
    let app = app
        .reconfigure(|s| {
            // One request per 5 s after a burst of 3: slow enough that a busy machine
            // cannot refill the budget during the test.
            s.limits.rate_limit_per_minute = 12;
            s.limits.rate_limit_burst = 3;
        })
        .await;
    let reader = app.token("reader", None);
    let other_reader = app.token("reader", None);
    let admin = app.token("admin", None);
    let query = json!({ "query": HEALTHY });
    for _ in 0..3 {
        assert_eq!(app.post_json(&query, Some(&reader)).await.status(), StatusCode::OK);
    }
    let limited = app.post_json(&query, Some(&reader)).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry_after), "Retry-After: {retry_after}");
    let (status, body) = refusal(limited).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["errors"][0]["extensions"]["reason"], "RATE_LIMITED", "{body}");

    // Each token has its own budget; admin tokens are exempt by default.
    assert_eq!(app.post_json(&query, Some(&other_reader)).await.status(), StatusCode::OK);
    for _ in 0..10 {
        assert_eq!(app.post_json(&query, Some(&admin)).await.status(), StatusCode::OK);
    }
    // Requests without a token share their address's budget.
    let anonymous: Vec<StatusCode> = anonymous_statuses(&app, &query, 5).await;
    assert!(anonymous.contains(&StatusCode::TOO_MANY_REQUESTS), "{anonymous:?}");

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(app.post_json(&query, Some(&reader)).await.status(), StatusCode::OK, "the budget refills");

    let app = app.reconfigure(|s| s.limits.rate_limit_admin = true).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.post_json(&query, Some(&admin)).await.status());
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "admins limited when configured: {statuses:?}");
    app
}

/// Statuses of `count` requests without a token, one after the other.
async fn anonymous_statuses(app: &TestApp, query: &Value, count: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for _ in 0..count {
        statuses.push(app.post_json(query, None).await.status());
    }
    statuses
}

async fn a_request_that_takes_too_long_is_answered_503(app: TestApp) -> TestApp {
    let app = app.reconfigure(|s| s.http.request_timeout_secs = 1).await;
    // A client that sends half its body and stalls (slowloris) is cut off.
    let head = "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n";
    let started = Instant::now();
    let answer = raw_exchange(&app, &[head.as_bytes(), b"{\"query\": "], Duration::ZERO).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"reason\":\"TIMEOUT\""), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-request-id:"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_still_serving(&app).await;
    app
}

async fn limits_leave_ordinary_work_alone(app: TestApp) -> TestApp {
    // Realistic big requests fit: a registration batch, a full page, a full status batch.
    let admin = app.token("admin", None);
    let numbers: Vec<String> = (1..=100).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    let page = app
        .data(
            "{ operators(first: 500) { totalCount edges { node { corporateNumber nameJa nameEn designations { regime sector { code } domain { code } effectiveFrom } obligations { code } } } } }",
            json!({}),
            Some(&admin),
        )
        .await;
    assert_eq!(page["operators"]["totalCount"], 100);
    let batch: Vec<String> = (0..1000).map(|i| cn(i % 120)).collect();
    let statuses = app
        .data(
            "query($n: [String!]!) { operatorStatuses(corporateNumbers: $n) { corporateNumber found problem ciSectors { code } espaDomains { code } obligations { code } operator { nameJa } } }",
            json!({ "n": batch }),
            Some(&admin),
        )
        .await;
    assert_eq!(statuses["operatorStatuses"].as_array().map(Vec::len), Some(1000));
    app
}

e2e!(
    depth_complexity_and_bombs_are_refused_naming_the_limit,
    introspection_passes_the_limits_unless_turned_off,
    bodies_are_limited_and_imports_get_more_room,
    batch_sizes_are_configurable,
    rate_limit_answers_429_with_retry_after,
    a_request_that_takes_too_long_is_answered_503,
    limits_leave_ordinary_work_alone,
);

/// The query GraphiQL and other tools send, with the deepest type reference they use.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;
