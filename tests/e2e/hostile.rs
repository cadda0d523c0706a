//! Bad input, everywhere: malformed requests get a clear 4xx with a JSON body and a
//! code; hostile values in every argument get a GraphQL error with a code (or are
//! stored as the plain text they are), never a panic, internal text or a change in data.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::{DESIGNATE, ci, cn, designate, register_all};
use crate::limits::{assert_still_serving, refusal};
use crate::support::TestApp;

async fn malformed_requests_get_a_clear_4xx_with_a_code(app: TestApp) -> TestApp {
    let send = |content_type: Option<&'static str>, body: Vec<u8>| {
        let mut request = app.request(Method::POST, "/graphql").body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    let query = br#"{"query": "{ sectors { code } }"}"#.to_vec();
    let cases: Vec<(Option<&'static str>, Vec<u8>, StatusCode, &str)> = vec![
        (Some("text/plain"), query.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE"),
        (None, query.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE"),
        (
            Some("application/x-www-form-urlencoded"),
            b"query=x".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            Some("multipart/form-data; boundary=x"),
            b"--x\r\n\r\n--x--".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            Some("application/json; charset=iso-8859-1"),
            query.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (Some("application/json"), b"{\"query\": \"{ sectors ".to_vec(), StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        (Some("application/json"), Vec::new(), StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        (Some("application/json"), b"{\"query\": \"\xff\xfe\"}".to_vec(), StatusCode::BAD_REQUEST, "INVALID_UTF8"),
        (Some("application/json"), b"{\"query\": 42}".to_vec(), StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
        (Some("application/json"), b"{\"operationName\": \"X\"}".to_vec(), StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
        (
            Some("application/json"),
            b"{\"query\": \"{ sectors { code } }\", \"variables\": [1]}".to_vec(),
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
        ),
        (
            Some("application/json"),
            b"[{\"query\": \"{ sectors { code } }\"}]".to_vec(),
            StatusCode::BAD_REQUEST,
            "BATCH_NOT_SUPPORTED",
        ),
        (Some("application/json"), b"\"{ sectors { code } }\"".to_vec(), StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
    ];
    for (content_type, body, expected, reason) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let (status, answer) = refusal(send(content_type, body).await.expect("sent")).await;
        assert_eq!(status, expected, "{content_type:?} {shown}: {answer}");
        assert_eq!(answer["errors"][0]["extensions"]["reason"], reason, "{shown}: {answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{shown}: {answer}");
    }

    // Unknown routes and methods answer in JSON too.
    let (status, _) = refusal(app.request(Method::GET, "/nope").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = refusal(app.request(Method::PUT, "/graphql").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    // GraphQL-level mistakes are GraphQL errors with a code.
    for (body, words) in [
        (json!({ "query": "query A { sectors { code } }", "operationName": "B" }), "Unknown operation"),
        (json!({ "query": "query A { sectors { code } } query B { ministries { code } }" }), "Operation name required"),
        (json!({ "query": "query($d: Date) { sectors(asOf: $d) { code } }", "variables": { "d": 20250101 } }), "Date"),
        (
            json!({ "query": "query($d: Date) { sectors(asOf: $d) { code } }", "variables": { "d": ["2025-01-01"] } }),
            "Date",
        ),
        (json!({ "query": "{ sectors { nope } }" }), "nope"),
        (json!({ "query": "{ sectors { code }" }), ""),
        (json!({ "query": "" }), ""),
    ] {
        let response = app.post_json(&body, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}: {answer}");
        let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{body}: {message}");
    }
    assert_still_serving(&app).await;
    app
}

/// Values no argument should trust.
fn hostile_values() -> Vec<String> {
    vec![
        "'; DROP TABLE operator; --".into(),
        "\" OR 1=1 --".into(),
        "%' OR '%' = '".into(),
        "_%\\".into(),
        "a\u{0}b".into(),
        "\u{0}".into(),
        "line\nbreak".into(),
        "\u{202E}evil".into(),
        "<script>alert(1)</script>".into(),
        "𝕊𝕔𝕠𝕡𝕖 🏭".into(),
        "７０００-０１２０５０００２".into(),
        "7０00012050002 7000012050002".into(),
        "x".repeat(100_000),
        String::new(),
        "   ".into(),
    ]
}

/// A GraphQL answer with no internal error and no internal text: either data or errors
/// with a user-facing code.
fn assert_answered_cleanly(answer: &Value, context: &str) {
    let text = answer.to_string();
    for leak in ["sqlx", "SQLITE", "syntax error", "database error", "panicked", "SELECT ", "INSERT "] {
        assert!(!text.contains(leak), "{context}: internal text leaked: {text:.500}");
    }
    if let Some(errors) = answer["errors"].as_array() {
        for error in errors {
            let code = error["extensions"]["code"].as_str().unwrap_or_else(|| panic!("{context}: no code: {error}"));
            assert!(["BAD_USER_INPUT", "NOT_FOUND", "CONFLICT"].contains(&code), "{context}: {code}: {error:.300}");
        }
    }
}

/// A query and the variables it takes for one hostile value.
type Case = (&'static str, Box<dyn Fn(&str) -> Value + Send + Sync>);

/// What the registry holds, to prove that refused writes changed nothing.
async fn registry_state(app: &TestApp, token: &str) -> Value {
    app.data(
        "{ operators(first: 500) { totalCount edges { node { corporateNumber nameJa nameEn version
            designations(includeHistory: true) { id effectiveFrom effectiveTo status legalBasis reference revocationReason } } } } }",
        json!({}),
        Some(token),
    )
    .await
}

async fn hostile_values_in_every_argument_are_answered_with_a_code(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let registered = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&registered)).await;
    let designation = designate(&app, &admin, ci(&registered, "electricity", "2024-04-01")).await;
    let unknown_id = "0190a8c4-0000-7000-8000-000000000000";

    // (query, variables with $v standing for the hostile value, may it succeed?)
    let reads: Vec<Case> = vec![
        ("query($v: String!) { operator(corporateNumber: $v) { id } }", Box::new(|v| json!({ "v": v }))),
        (
            "query($v: String!) { operatorStatuses(corporateNumbers: [$v]) { found problem } }",
            Box::new(|v| json!({ "v": v })),
        ),
        (
            "query($v: String) { operators(filter: { nameContains: $v }) { totalCount } }",
            Box::new(|v| json!({ "v": v })),
        ),
        ("query($v: String) { operators(filter: { sector: $v }) { totalCount } }", Box::new(|v| json!({ "v": v }))),
        ("query($v: String) { operators(filter: { domain: $v }) { totalCount } }", Box::new(|v| json!({ "v": v }))),
        ("query($v: String) { operators(after: $v) { totalCount } }", Box::new(|v| json!({ "v": v }))),
        (
            "query($v: String!) { sector(code: $v) { code } businessDomain(code: $v) { code } }",
            Box::new(|v| json!({ "v": v })),
        ),
        ("query($v: Date) { sectors(asOf: $v) { code } overlap(asOf: $v) { asOf } }", Box::new(|v| json!({ "v": v }))),
        ("query($v: Date) { operators(filter: { asOf: $v }) { totalCount } }", Box::new(|v| json!({ "v": v }))),
    ];
    let writes: Vec<Case> = vec![
        (
            "mutation($v: String!) { registerOperator(input: { corporateNumber: $v, nameJa: \"x\" }) { id } }",
            Box::new(|v| json!({ "v": v })),
        ),
        (
            DESIGNATE,
            Box::new(
                move |v| json!({ "input": { "corporateNumber": v, "regime": "CI", "sector": "electricity", "effectiveFrom": "2024-01-01" } }),
            ),
        ),
        (
            DESIGNATE,
            Box::new({
                let n = registered.clone();
                move |v| json!({ "input": ci(&n, v, "2030-01-01") })
            }),
        ),
        (
            DESIGNATE,
            Box::new({
                let n = registered.clone();
                move |v| json!({ "input": { "corporateNumber": n, "regime": "ESPA", "domain": v, "effectiveFrom": "2030-01-01" } })
            }),
        ),
        (
            DESIGNATE,
            Box::new({
                let n = registered.clone();
                move |v| json!({ "input": ci(&n, "electricity", v) })
            }),
        ),
        (
            DESIGNATE,
            Box::new({
                let n = registered.clone();
                move |v| json!({ "input": { "corporateNumber": n, "regime": "CI", "sector": "electricity", "effectiveFrom": "2030-01-01", "effectiveTo": v } })
            }),
        ),
        (
            "mutation($v: ID!) { revokeDesignation(input: { id: $v, reason: \"x\" }) { id } }",
            Box::new(|v| json!({ "v": v })),
        ),
        (
            "mutation($id: ID!, $v: String!) { revokeDesignation(input: { id: $id, reason: $v }) { id } }",
            Box::new(move |v| json!({ "id": unknown_id, "v": v })),
        ),
        (
            "mutation($id: ID!, $v: Date) { revokeDesignation(input: { id: $id, effectiveTo: $v, reason: \"x\" }) { id } }",
            Box::new({
                let id = designation.clone();
                move |v| json!({ "id": id, "v": v })
            }),
        ),
    ];
    // Optional texts, where a blank value means "not given".
    let optional_writes: Vec<Case> = vec![
        (
            DESIGNATE,
            Box::new({
                let n = registered.clone();
                move |v| json!({ "input": { "corporateNumber": n, "regime": "CI", "sector": "electricity", "scopeItem": v, "effectiveFrom": "2030-01-01" } })
            }),
        ),
        (
            DESIGNATE,
            Box::new({
                let n = registered.clone();
                move |v| json!({ "input": { "corporateNumber": n, "regime": "CI", "sector": "electricity", "effectiveFrom": "2030-01-01", "ministry": v } })
            }),
        ),
    ];
    let before = registry_state(&app, &admin).await;
    for value in hostile_values() {
        let blank = value.trim().is_empty();
        let writes = writes.iter().chain(optional_writes.iter().filter(|_| !blank));
        for (query, variables) in &reads {
            let answer = app.graphql(query, variables(&value), Some(&admin)).await;
            assert_answered_cleanly(&answer, &format!("{query} with {value:.40?}"));
        }
        for (query, variables) in writes {
            let answer = app.graphql(query, variables(&value), Some(&admin)).await;
            let context = format!("{query} with {value:.40?}");
            assert_answered_cleanly(&answer, &context);
            assert!(answer["errors"].is_array(), "{context}: a hostile value must be refused: {answer:.300}");
        }
    }
    assert_eq!(registry_state(&app, &admin).await, before, "refused writes changed nothing");

    // Free text is stored as the text it is, SQL-ish or not, and read back unchanged.
    for (i, name) in ["'; DROP TABLE operator; --", "Robert'); DELETE FROM designation;--", "𝕊𝕔𝕠𝕡𝕖 🏭 <b>株式会社</b>"]
        .into_iter()
        .enumerate()
    {
        let number = cn(100 + i as u64);
        let data = app
            .data(
                "mutation($n: String!, $name: String!) { registerOperator(input: { corporateNumber: $n, nameJa: $name, nameEn: $name }) { nameJa nameEn } }",
                json!({ "n": number, "name": name }),
                Some(&admin),
            )
            .await;
        assert_eq!(data["registerOperator"]["nameJa"], name);
        let found = app
            .data(
                "query($n: String!) { operator(corporateNumber: $n) { nameJa } }",
                json!({ "n": number }),
                Some(&admin),
            )
            .await;
        assert_eq!(found["operator"]["nameJa"], name);
    }
    let after = registry_state(&app, &admin).await;
    assert_eq!(after["operators"]["totalCount"], 4, "the tables are intact: {after}");

    // Full-width and mixed-width digits read as the number they spell.
    let full_width = |keep_ascii: fn(usize) -> bool| -> String {
        registered
            .chars()
            .enumerate()
            .map(|(i, c)| if keep_ascii(i) { c } else { char::from_u32(u32::from(c) - 0x30 + 0xFF10).expect("digit") })
            .collect()
    };
    let data = app
        .data(
            "query($a: String!, $b: String!) { a: operator(corporateNumber: $a) { corporateNumber } b: operator(corporateNumber: $b) { corporateNumber } }",
            json!({ "a": full_width(|_| false), "b": format!(" {}\u{3000}", full_width(|i| i % 2 == 0)) }),
            Some(&admin),
        )
        .await;
    assert_eq!(data["a"]["corporateNumber"], registered);
    assert_eq!(data["b"]["corporateNumber"], registered);

    // Out-of-range dates are refused wherever a date is taken.
    for date in ["0000-01-01", "9999-12-31", "1899-12-31", "2200-01-01", "2024-02-30", "+2024-01-01", "2024-1-1"] {
        let answer = app.graphql(DESIGNATE, json!({ "input": ci(&registered, "gas", date) }), Some(&admin)).await;
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{date}: {answer}");
    }
    assert_still_serving(&app).await;
    app
}

e2e!(malformed_requests_get_a_clear_4xx_with_a_code, hostile_values_in_every_argument_are_answered_with_a_code);
