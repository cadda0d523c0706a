//! Building registry data through the public API.

use scope_registry::domain::CorporateNumber;
use serde_json::{Value, json};

use crate::support::{Api, TestApp};

/// A valid corporate number, distinct for each `i` (fictional: office code 9999).
pub fn cn(i: u64) -> String {
    CorporateNumber::from_base(999_900_000_000 + i).expect("base fits").to_string()
}

/// Registers operators `numbers` in one request (aliased mutations run in order).
pub async fn register_all(app: &impl Api, token: &str, numbers: &[String]) {
    let fields: String = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(r#"r{i}: registerOperator(input: {{ corporateNumber: "{n}", nameJa: "テスト事業者{i}", nameEn: "Test operator {i}" }}) {{ id }} "#)
        })
        .collect();
    app.data(&format!("mutation {{ {fields} }}"), json!({}), Some(token)).await;
}

/// Designates and returns the new designation's id; fails the test on an error.
pub async fn designate(app: &impl Api, token: &str, input: Value) -> String {
    let data = app.data(DESIGNATE, json!({ "input": input }), Some(token)).await;
    data["designate"]["id"].as_str().expect("id").to_owned()
}

pub const DESIGNATE: &str = "mutation($input: DesignateInput!) { designate(input: $input) { id } }";

/// A CI designation input.
pub fn ci(number: &str, sector: &str, from: &str) -> Value {
    json!({ "corporateNumber": number, "regime": "CI", "sector": sector, "effectiveFrom": from })
}

/// An ESPA designation input.
pub fn espa(number: &str, domain: &str, from: &str) -> Value {
    json!({ "corporateNumber": number, "regime": "ESPA", "domain": domain, "effectiveFrom": from })
}

/// All designations (any period) of one operator.
pub async fn history(app: &TestApp, token: &str, number: &str) -> Vec<Value> {
    let data = app
        .data(
            "query($n: String!) { operator(corporateNumber: $n) { designations(includeHistory: true) {
                id regime sector { code } domain { code } scopeItem { code } effectiveFrom effectiveTo status
                revocationReason ministry { code } } } }",
            json!({ "n": number }),
            Some(token),
        )
        .await;
    data["operator"]["designations"].as_array().cloned().unwrap_or_default()
}
