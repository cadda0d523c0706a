//! Operators: corporate numbers, registration, look-ups, filters and pagination.

use serde_json::json;

use crate::e2e;
use crate::fixtures::{ci, cn, designate, espa, register_all};
use crate::support::{TestApp, error_code};

const REGISTER: &str = "mutation($input: RegisterOperatorInput!) { registerOperator(input: $input) { id corporateNumber nameJa nameEn version } }";
const COUNT: &str = "{ operators { totalCount } }";

async fn corporate_numbers_are_validated_by_check_digit(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let ok = app
        .data(
            REGISTER,
            json!({ "input": { "corporateNumber": "7000012050002", "nameJa": "検証株式会社" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(ok["registerOperator"]["corporateNumber"], "7000012050002");
    assert_eq!(ok["registerOperator"]["version"], 1);
    for (bad, words) in [
        ("7000012050003", "check digit"),
        ("700001205000", "13 digits"),
        ("7000-12050002", "not a digit"),
        ("", "empty"),
        ("7000012050002'; DROP TABLE operator; --", "not a digit"),
    ] {
        let body =
            app.graphql(REGISTER, json!({ "input": { "corporateNumber": bad, "nameJa": "x" } }), Some(&admin)).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{bad}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(words), "{bad}: {body}");
    }
    // Full-width digits and spaces are normalised, so this is the same operator.
    let body = app
        .graphql(
            REGISTER,
            json!({ "input": { "corporateNumber": " ７００００１２０５０００２ ", "nameJa": "x" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    let body = app
        .graphql(REGISTER, json!({ "input": { "corporateNumber": "7000012050002", "nameJa": "y" } }), Some(&admin))
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert_eq!(app.data(COUNT, json!({}), Some(&admin)).await["operators"]["totalCount"], 1);
    app
}

async fn registration_needs_a_writer_and_a_japanese_name(app: TestApp) -> TestApp {
    let reader = app.token("reader", None);
    let ministry = app.token("ministry", Some("MIC"));
    let admin = app.token("admin", None);
    let input = json!({ "input": { "corporateNumber": cn(1), "nameJa": "テスト" } });
    assert_eq!(error_code(&app.graphql(REGISTER, input.clone(), None).await), "UNAUTHENTICATED");
    assert_eq!(error_code(&app.graphql(REGISTER, input.clone(), Some(&reader)).await), "FORBIDDEN");
    for name in ["", "   ", "a\u{0}b"] {
        let body =
            app.graphql(REGISTER, json!({ "input": { "corporateNumber": cn(1), "nameJa": name } }), Some(&admin)).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{name:?}");
    }
    assert_eq!(app.data(COUNT, json!({}), Some(&admin)).await["operators"]["totalCount"], 0);
    let ok = app.data(REGISTER, input, Some(&ministry)).await;
    assert_eq!(ok["registerOperator"]["nameEn"], serde_json::Value::Null);
    app
}

async fn operator_data_needs_a_token(app: TestApp) -> TestApp {
    for query in [
        r#"{ operator(corporateNumber: "7000012050002") { id } }"#,
        "{ operators { totalCount } }",
        r#"{ operatorStatuses(corporateNumbers: ["7000012050002"]) { found } }"#,
        "{ overlap { totals { both } } }",
    ] {
        let body = app.graphql(query, json!({}), None).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{query}");
    }
    let reader = app.token("reader", None);
    let data = app.data(r#"{ operator(corporateNumber: "7000012050002") { id } }"#, json!({}), Some(&reader)).await;
    assert!(data["operator"].is_null());
    app
}

async fn every_filter_field_selects_what_it_says(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let numbers: Vec<String> = (1..=5).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    // 1: CI electricity + ESPA electricity; 2: CI medical; 3: ESPA postal; 4: CI gas from
    // 2026-01-01; 5: nothing.
    designate(&app, &admin, ci(&numbers[0], "electricity", "2024-04-01")).await;
    designate(&app, &admin, espa(&numbers[0], "electricity", "2024-04-01")).await;
    designate(&app, &admin, ci(&numbers[1], "medical", "2020-01-01")).await;
    designate(&app, &admin, espa(&numbers[2], "postal", "2024-01-01")).await;
    designate(&app, &admin, ci(&numbers[3], "gas", "2026-01-01")).await;
    let named = r#"mutation { registerOperator(input: { corporateNumber: "7000012050002", nameJa: "北星ガス株式会社", nameEn: "Hokusei GAS" }) { id } }"#;
    app.data(named, json!({}), Some(&admin)).await;

    let list = |filter: serde_json::Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let data = app
                .data(
                    "query($f: OperatorFilter) { operators(filter: $f) { totalCount edges { node { corporateNumber } } } }",
                    json!({ "f": filter }),
                    Some(&admin),
                )
                .await;
            let got: Vec<String> = data["operators"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["corporateNumber"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(data["operators"]["totalCount"].as_u64().unwrap() as usize, got.len());
            let mut in_order = got.clone();
            in_order.sort();
            assert_eq!(got, in_order, "listings are in corporate-number order");
            got
        }
    };
    let asof = "2025-06-01";
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        list(json!({ "regime": "CI", "asOf": asof })).await,
        sorted(vec![numbers[0].clone(), numbers[1].clone()])
    );
    assert_eq!(
        list(json!({ "regime": "ESPA", "asOf": asof })).await,
        sorted(vec![numbers[0].clone(), numbers[2].clone()])
    );
    assert_eq!(
        list(json!({ "notRegime": "CI", "asOf": asof })).await,
        sorted(vec!["7000012050002".to_owned(), numbers[2].clone(), numbers[3].clone(), numbers[4].clone()])
    );
    assert_eq!(list(json!({ "regime": "ESPA", "notRegime": "CI", "asOf": asof })).await, [numbers[2].clone()]);
    assert_eq!(list(json!({ "regimes": ["CI", "ESPA"], "asOf": asof })).await, [numbers[0].clone()]);
    assert_eq!(list(json!({ "regime": "ESPA", "regimes": ["CI"], "asOf": asof })).await, [numbers[0].clone()]);
    assert_eq!(list(json!({ "sector": "medical", "asOf": asof })).await, [numbers[1].clone()]);
    assert_eq!(list(json!({ "domain": "electricity", "asOf": asof })).await, [numbers[0].clone()]);
    // asOf moves the answer: the gas designation starts in 2026.
    assert!(list(json!({ "sector": "gas", "asOf": asof })).await.is_empty());
    assert_eq!(list(json!({ "sector": "gas", "asOf": "2026-01-01" })).await, [numbers[3].clone()]);
    assert_eq!(list(json!({ "nameContains": "北星" })).await, ["7000012050002".to_owned()]);
    assert_eq!(list(json!({ "nameContains": "hokusei gas" })).await, ["7000012050002".to_owned()]);
    assert_eq!(list(json!({ "nameContains": "operator 3" })).await, [numbers[3].clone()]);
    assert!(list(json!({ "nameContains": "%" })).await.is_empty(), "LIKE wildcards are literal");
    let body =
        app.graphql("{ operators(filter: { sector: \"nuclear\" }) { totalCount } }", json!({}), Some(&admin)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    app
}

async fn pagination_visits_every_operator_exactly_once(app: TestApp) -> TestApp {
    let reader = app.token("reader", None);
    let admin = app.token("admin", None);
    let mut numbers: Vec<String> = (1..=23).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    numbers.sort();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = app
            .data(
                "query($after: String) { operators(first: 5, after: $after) {
                    totalCount edges { cursor node { corporateNumber } } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
                Some(&reader),
            )
            .await;
        let connection = &data["operators"];
        assert_eq!(connection["totalCount"], 23);
        for edge in connection["edges"].as_array().unwrap() {
            seen.push(edge["node"]["corporateNumber"].as_str().unwrap().to_owned());
        }
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = connection["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, numbers);

    let body = app.graphql("{ operators(first: 501) { totalCount } }", json!({}), Some(&reader)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("500"));
    let body = app.graphql("{ operators(first: -1) { totalCount } }", json!({}), Some(&reader)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app.graphql(r#"{ operators(after: "not-a-cursor") { totalCount } }"#, json!({}), Some(&reader)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    app
}

async fn statuses_answer_in_input_order_and_tolerate_unknown_numbers(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let numbers: Vec<String> = (1..=3).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    designate(&app, &admin, ci(&numbers[0], "railways", "2024-01-01")).await;
    designate(&app, &admin, espa(&numbers[0], "railways", "2024-01-01")).await;
    designate(&app, &admin, espa(&numbers[2], "postal", "2024-01-01")).await;
    let asked = json!([numbers[2], "7000012050003", cn(99), numbers[0], "abc", numbers[1]]);
    let data = app
        .data(
            "query($n: [String!]!) { operatorStatuses(corporateNumbers: $n, asOf: \"2025-01-01\") {
                corporateNumber found operator { corporateNumber } ciSectors { code } espaDomains { code }
                obligations { code } problem } }",
            json!({ "n": asked }),
            Some(&reader),
        )
        .await;
    let statuses = data["operatorStatuses"].as_array().unwrap();
    assert_eq!(statuses.len(), 6);
    let found: Vec<bool> = statuses.iter().map(|s| s["found"].as_bool().unwrap()).collect();
    assert_eq!(found, [true, false, false, true, false, true]);
    let asked_back: Vec<&str> = statuses.iter().map(|s| s["corporateNumber"].as_str().unwrap()).collect();
    assert_eq!(
        asked_back,
        [numbers[2].as_str(), "7000012050003", cn(99).as_str(), numbers[0].as_str(), "abc", numbers[1].as_str()]
    );
    assert_eq!(statuses[0]["espaDomains"][0]["code"], "postal");
    assert!(statuses[0]["ciSectors"].as_array().unwrap().is_empty());
    assert_eq!(statuses[3]["ciSectors"][0]["code"], "railways");
    assert_eq!(statuses[3]["espaDomains"][0]["code"], "railways");
    assert!(statuses[3]["obligations"].as_array().unwrap().iter().any(|o| o["code"] == "espa-prior-notification"));
    assert!(statuses[5]["obligations"].as_array().unwrap().is_empty());
    assert!(statuses[1]["problem"].as_str().unwrap().contains("check digit"));
    assert!(statuses[2]["problem"].is_null(), "a valid unknown number has no problem");

    let too_many: Vec<String> = (0..1001).map(|i| cn(i % 5)).collect();
    let body = app
        .graphql(
            "query($n: [String!]!) { operatorStatuses(corporateNumbers: $n) { found } }",
            json!({ "n": too_many }),
            Some(&reader),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    app
}

async fn a_page_of_operators_costs_the_same_statements_whatever_its_size(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let numbers: Vec<String> = (1..=100).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    for (i, n) in numbers.iter().enumerate() {
        let sector = ["electricity", "gas", "finance", "medical"][i % 4];
        designate(&app, &admin, ci(n, sector, "2024-04-01")).await;
        if i % 3 == 0 {
            designate(&app, &admin, espa(n, "postal", "2024-04-01")).await;
        }
    }
    let query = "query($first: Int) { operators(first: $first) { totalCount edges { node { corporateNumber
        designations { regime sector { code } domain { code } ministry { code } } obligations { code } } } } }";
    let mut costs = Vec::new();
    for first in [10, 100] {
        // The warm-up records the token's last use (written at most once a minute), so that
        // only the token look-up and the query's own statements are counted.
        app.data("{ operators(first: 1) { totalCount } }", json!({}), Some(&admin)).await;
        let before = app.db.statement_count();
        let data = app.data(query, json!({ "first": first }), Some(&admin)).await;
        let after = app.db.statement_count();
        assert_eq!(data["operators"]["edges"].as_array().unwrap().len(), first as usize);
        costs.push(after - before);
    }
    assert_eq!(costs[0], costs[1], "statements for 10 and 100 operators: {costs:?}");
    assert!(costs[1] <= 4, "a page should cost a handful of statements, not {}", costs[1]);
    app
}

e2e!(
    corporate_numbers_are_validated_by_check_digit,
    registration_needs_a_writer_and_a_japanese_name,
    operator_data_needs_a_token,
    every_filter_field_selects_what_it_says,
    pagination_visits_every_operator_exactly_once,
    statuses_answer_in_input_order_and_tolerate_unknown_numbers,
    a_page_of_operators_costs_the_same_statements_whatever_its_size,
);
