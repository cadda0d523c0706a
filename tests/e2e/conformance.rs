//! GraphQL as the specification (and graphql-js, which generated clients are built on)
//! has it: an omitted variable leaves its argument or input field out, so the default
//! applies; response keys come in the order of the query, at every level and in every
//! subscription message; arguments with a default are nullable, as SPEC.md writes them.

use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::{ci, cn, designate, register_all};
use crate::support::TestApp;
use crate::ws::GraphqlSocket;

const DESIGNATIONS: &str = "query($n: String!, $h: Boolean) { operator(corporateNumber: $n) {
    designations(includeHistory: $h) { id } } }";
const REVOKE: &str = "mutation($i: RevokeDesignationInput!) { revokeDesignation(input: $i) { id } }";

fn count(data: &Value) -> usize {
    data["operator"]["designations"].as_array().expect("designations").len()
}

async fn omitted_variables_take_the_arguments_default(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let number = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&number)).await;
    let ended = designate(&app, &admin, ci(&number, "electricity", "2020-04-01")).await;
    app.data(REVOKE, json!({ "i": { "id": ended, "effectiveTo": "2021-04-01", "reason": "ended" } }), Some(&admin))
        .await;
    designate(&app, &admin, ci(&number, "electricity", "2022-04-01")).await;

    // `$h` declared and not sent: `includeHistory` takes its default, false (before, the
    // request was refused: "Expected input type Boolean, found null").
    // Twice: the second time the document is remembered, as rewritten the first time.
    for _ in 0..2 {
        let omitted = app.graphql(DESIGNATIONS, json!({ "n": number }), Some(&admin)).await;
        assert!(omitted.get("errors").is_none(), "{omitted:#}");
        assert_eq!(count(&omitted["data"]), 1, "the active designation only");
    }
    let all = app.data(DESIGNATIONS, json!({ "n": number, "h": true }), Some(&admin)).await;
    assert_eq!(count(&all), 2);
    assert_eq!(count(&app.data(DESIGNATIONS, json!({ "n": number, "h": false }), Some(&admin)).await), 1);
    // An explicit null of the nullable argument means the same as false.
    assert_eq!(count(&app.data(DESIGNATIONS, json!({ "n": number, "h": null }), Some(&admin)).await), 1);
    // The variable's own default comes first.
    let own_default = "query($n: String!, $h: Boolean = true) { operator(corporateNumber: $n) {
        designations(includeHistory: $h) { id } } }";
    assert_eq!(count(&app.data(own_default, json!({ "n": number }), Some(&admin)).await), 2);
    // A required variable left out is still refused.
    let required = "query($n: String!, $h: Boolean!) { operator(corporateNumber: $n) {
        designations(includeHistory: $h) { id } } }";
    let refused = app.graphql(required, json!({ "n": number }), Some(&admin)).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused:#}");

    // The other argument with a default: `dryRun` omitted is false, so the import writes.
    let import = "mutation($csv: String!, $dry: Boolean) { importDesignations(csv: $csv, dryRun: $dry) {
        dryRun created errors { message } } }";
    let csv = format!(
        "corporate_number,name_ja,name_en,regime,sector_or_domain,scope_item,effective_from,effective_to,legal_basis,reference\n\
         {},取込事業者,Imported operator,,,,,,,\n",
        cn(2)
    );
    let dry = app.data(import, json!({ "csv": csv, "dry": true }), Some(&admin)).await;
    assert_eq!(dry["importDesignations"]["dryRun"], true);
    let written = app.data(import, json!({ "csv": csv }), Some(&admin)).await;
    assert_eq!(written["importDesignations"], json!({ "dryRun": false, "created": 1, "errors": [] }));

    // An input field given as an omitted variable is not provided either: the name stays.
    // An explicit null clears it.
    let update = "mutation($n: String!, $v: Int!, $en: String) {
        updateOperator(input: { corporateNumber: $n, expectedVersion: $v, nameJa: \"改名事業者\", nameEn: $en }) {
        version nameJa nameEn } }";
    let kept = app.data(update, json!({ "n": number, "v": 1 }), Some(&admin)).await;
    assert_eq!(kept["updateOperator"], json!({ "version": 2, "nameJa": "改名事業者", "nameEn": "Test operator 0" }));
    let cleared = app.data(update, json!({ "n": number, "v": 2, "en": null }), Some(&admin)).await;
    assert_eq!(cleared["updateOperator"]["nameEn"], Value::Null);
    app
}

const INTROSPECT_DEFAULTS: &str = "{ __schema { types { name
    fields { name args { name defaultValue type { kind name ofType { name } } } }
    inputFields { name defaultValue type { kind name ofType { name } } } } } }";

/// Arguments and input fields with a default, as introspection shows them.
async fn every_default_sits_on_a_nullable_type(app: TestApp) -> TestApp {
    let schema = app.data(INTROSPECT_DEFAULTS, json!({}), None).await;
    let mut with_default = Vec::new();
    for ty in schema["__schema"]["types"].as_array().expect("types") {
        let type_name = ty["name"].as_str().expect("name");
        if type_name.starts_with("__") {
            continue;
        }
        let mut places: Vec<(String, &Value)> = Vec::new();
        for field in ty["fields"].as_array().into_iter().flatten() {
            for arg in field["args"].as_array().expect("args") {
                places.push((format!("{type_name}.{}({})", field["name"], arg["name"]).replace('"', ""), arg));
            }
        }
        for field in ty["inputFields"].as_array().into_iter().flatten() {
            places.push((format!("{type_name}.{}", field["name"]).replace('"', ""), field));
        }
        for (place, value) in places {
            if value["defaultValue"].is_null() {
                continue;
            }
            // async-graphql hands an omitted nullable variable over as null where it
            // cannot leave it out, and a non-null place would refuse it.
            assert_ne!(value["type"]["kind"], "NON_NULL", "{place} has a default and a non-null type");
            with_default.push(format!(
                "{place}: {} = {}",
                value["type"]["name"].as_str().unwrap_or("?"),
                value["defaultValue"]
            ));
        }
    }
    with_default.sort();
    assert_eq!(
        with_default,
        [
            "AddScopeFieldInput.scopeItems: ? = \"[]\"",
            "MutationRoot.importDesignations(dryRun): Boolean = \"false\"",
            "MutationRoot.syncCorporateNumbers(dryRun): Boolean = \"false\"",
            "Operator.designations(includeHistory): Boolean = \"false\"",
        ],
        "SPEC.md: `includeHistory: Boolean = false`"
    );
    app
}

/// The keys of every object in a JSON text, in the order they come (serde_json's map
/// would sort them).
fn parse_ordered(text: &str) -> async_graphql::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON ({e}): {text}"))
}

fn keys(value: &async_graphql::Value) -> Vec<String> {
    match value {
        async_graphql::Value::Object(map) => map.keys().map(ToString::to_string).collect(),
        other => panic!("not an object: {other}"),
    }
}

fn at<'a>(value: &'a async_graphql::Value, path: &[&str]) -> &'a async_graphql::Value {
    path.iter().fold(value, |value, key| match value {
        async_graphql::Value::Object(map) => map.get(*key).unwrap_or_else(|| panic!("no {key} in {value}")),
        async_graphql::Value::List(items) => &items[key.parse::<usize>().expect("an index")],
        other => panic!("cannot look up {key} in {other}"),
    })
}

/// Fields in an order that differs from every resolver's finishing order: cheap
/// reference lists around database look-ups, aliases, a fragment and a skipped field.
const MIXED: &str = "query($n: String!, $no: Boolean!) {
    zMinistries: ministries { nameEn code }
    operators(first: 5) { totalCount pageInfo { hasNextPage } edges { node { corporateNumber nameJa } } }
    sectors { nameJa code }
    op: operator(corporateNumber: $n) { version obligations { code } designations { regime sector { code } id } nameJa id }
    ...Later
    skipped: ministries @skip(if: $no) { code }
    crosswalk { relation sector { code } }
    aFirst: operatorStatuses(corporateNumbers: [$n]) { obligations { code } found corporateNumber }
    overlap { totals { ciOnly both espaOnly } asOf }
  }
  fragment Later on QueryRoot { tokens { role id } sector(code: \"water\") { nameEn code } }";

const MIXED_KEYS: [&str; 9] =
    ["zMinistries", "operators", "sectors", "op", "tokens", "sector", "crosswalk", "aFirst", "overlap"];

async fn response_keys_come_in_the_order_of_the_query(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let number = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&number)).await;
    designate(&app, &admin, ci(&number, "electricity", "2022-04-01")).await;
    let body = json!({ "query": MIXED, "variables": { "n": number, "no": true } });
    // Many times, some at once: completion order changes from run to run, query order not.
    let mut answers = Vec::new();
    for _ in 0..4 {
        let requests: Vec<_> = (0..5).map(|_| app.post_json(&body, Some(&admin))).collect();
        for response in futures_util::future::join_all(requests).await {
            answers.push(response.text().await.expect("body"));
        }
    }
    for text in &answers {
        assert_eq!(text, &answers[0], "identical requests, identical answers");
    }
    let answer = parse_ordered(&answers[0]);
    assert_eq!(keys(&answer), ["data"]);
    let data = at(&answer, &["data"]);
    assert_eq!(keys(data), MIXED_KEYS);
    assert_eq!(keys(at(data, &["zMinistries", "0"])), ["nameEn", "code"]);
    assert_eq!(keys(at(data, &["operators"])), ["totalCount", "pageInfo", "edges"]);
    assert_eq!(keys(at(data, &["operators", "edges", "0", "node"])), ["corporateNumber", "nameJa"]);
    assert_eq!(keys(at(data, &["op"])), ["version", "obligations", "designations", "nameJa", "id"]);
    assert_eq!(keys(at(data, &["op", "designations", "0"])), ["regime", "sector", "id"]);
    assert_eq!(keys(at(data, &["sector"])), ["nameEn", "code"]);
    assert_eq!(keys(at(data, &["aFirst", "0"])), ["obligations", "found", "corporateNumber"]);
    assert_eq!(keys(at(data, &["overlap"])), ["totals", "asOf"]);
    assert_eq!(keys(at(data, &["overlap", "totals"])), ["ciOnly", "both", "espaOnly"]);

    // A mutation, and a subscription message, in query order too.
    let mutation = app
        .post_json(
            &json!({ "query": format!(
                "mutation {{ designate(input: {{ corporateNumber: \"{number}\", regime: ESPA, domain: \"electricity\", effectiveFrom: \"2024-05-17\" }}) {{ status ministry {{ nameEn code }} id regime }} }}"
            ) }),
            Some(&admin),
        )
        .await
        .text()
        .await
        .expect("body");
    let mutation = parse_ordered(&mutation);
    assert_eq!(keys(at(&mutation, &["data", "designate"])), ["status", "ministry", "id", "regime"]);
    assert_eq!(keys(at(&mutation, &["data", "designate", "ministry"])), ["nameEn", "code"]);

    let mut socket = GraphqlSocket::connect(&app.address, Some(&admin)).await;
    socket
        .subscribe(
            "subscription { designationChanged { status { obligations { code } corporateNumber } designation { id regime } action eventId } }",
            json!({}),
        )
        .await;
    // The subscription is read before it delivers; a query over the same connection
    // would race it, so give the server a moment to start following.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    designate(&app, &admin, ci(&number, "gas", "2024-06-01")).await;
    let message = parse_ordered(&socket.next_text().await);
    let change = at(&message, &["payload", "data", "designationChanged"]);
    assert_eq!(keys(change), ["status", "designation", "action", "eventId"]);
    assert_eq!(keys(at(change, &["status"])), ["obligations", "corporateNumber"]);
    socket.close().await;
    app
}

/// GraphiQL sends its editor's whole text with the name of the operation to run.
async fn the_named_operation_of_a_document_runs_whatever_the_others_need(app: TestApp) -> TestApp {
    let reader = app.token("reader", None);
    let document = "query Statuses($numbers: [String!]!) { operatorStatuses(corporateNumbers: $numbers) { ...Found } }
        query Sectors { sectors { code } }
        fragment Found on OperatorStatus { corporateNumber found }";
    // Each twice: the second time as the document was remembered.
    for _ in 0..2 {
        let body = json!({ "query": document, "operationName": "Sectors" });
        let answer: Value = app.post_json(&body, Some(&reader)).await.json().await.expect("JSON");
        assert!(answer.get("errors").is_none(), "{answer:#}");
        assert_eq!(answer["data"]["sectors"].as_array().expect("sectors").len(), 15);
        let body = json!({ "query": document, "operationName": "Statuses", "variables": { "numbers": [cn(1)] } });
        let answer: Value = app.post_json(&body, Some(&reader)).await.json().await.expect("JSON");
        assert_eq!(answer["data"]["operatorStatuses"][0], json!({ "corporateNumber": cn(1), "found": false }));
    }
    // Without a name, or with an unknown one, the document is refused as before.
    for body in [json!({ "query": document }), json!({ "query": document, "operationName": "Other" })] {
        let answer: Value = app.post_json(&body, Some(&reader)).await.json().await.expect("JSON");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{answer:#}");
    }
    app
}

e2e!(
    the_named_operation_of_a_document_runs_whatever_the_others_need,
    omitted_variables_take_the_arguments_default,
    every_default_sits_on_a_nullable_type,
    response_keys_come_in_the_order_of_the_query,
);
