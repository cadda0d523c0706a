//! `changesBetween`: what started and ended between two dates, checked against the
//! registry as of each date (reference data) and against designations stated by hand.

use std::collections::BTreeSet;

use scope_registry::domain::changes::{Window, designation_changes};
use scope_registry::domain::reference::ReferenceSnapshot;
use scope_registry::storage::{designations, reference};
use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::{ci, cn, designate, espa, register_all};
use crate::support::{TestApp, error_code};

const REFERENCE: &str = "query($a: Date!, $b: Date!) { changesBetween(from: $a, to: $b) { from to
    fields { regime sector { code } domain { code } change on }
    scopeItems { regime scopeItem { code } sector { code } domain { code } change on }
    links { link { sector { code } domain { code } } change on }
    byField { regime sector { code } domain { code } scopeItems { started ended } links { started ended } } } }";
const AS_OF: &str = "query($d: Date) { sectors(asOf: $d) { code scopeItems { code } }
    businessDomains(asOf: $d) { code scopeItems { code } } crosswalk(asOf: $d) { sector { code } domain { code } } }";
const DESIGNATIONS: &str = "query($a: Date!, $b: Date!) { changesBetween(from: $a, to: $b) {
    designations { total { started ended } byField { regime sector { code } domain { code } designations { started ended } } } } }";

/// What holds at a date, as sets of "kind:code" strings.
async fn holding(app: &TestApp, date: &str) -> BTreeSet<String> {
    let data = app.data(AS_OF, json!({ "d": date }), None).await;
    let mut held = BTreeSet::new();
    for (kind, list) in [("sector", &data["sectors"]), ("domain", &data["businessDomains"])] {
        for field in list.as_array().expect("fields") {
            held.insert(format!("{kind}:{}", field["code"].as_str().expect("code")));
            for item in field["scopeItems"].as_array().expect("items") {
                held.insert(format!("item:{}", item["code"].as_str().expect("code")));
            }
        }
    }
    for link in data["crosswalk"].as_array().expect("links") {
        held.insert(format!(
            "link:{}/{}",
            link["sector"]["code"].as_str().expect("code"),
            link["domain"]["code"].as_str().expect("code")
        ));
    }
    held
}

/// The changes answered, as "kind:code" strings with the change and its day.
fn answered(changes: &Value) -> Vec<(String, String, String)> {
    let code = |v: &Value| v.as_str().expect("code").to_owned();
    let mut all = Vec::new();
    for f in changes["fields"].as_array().expect("fields") {
        let name = if f["regime"] == "CI" {
            format!("sector:{}", code(&f["sector"]["code"]))
        } else {
            format!("domain:{}", code(&f["domain"]["code"]))
        };
        all.push((name, code(&f["change"]), code(&f["on"])));
    }
    for i in changes["scopeItems"].as_array().expect("items") {
        all.push((format!("item:{}", code(&i["scopeItem"]["code"])), code(&i["change"]), code(&i["on"])));
    }
    for l in changes["links"].as_array().expect("links") {
        let name = format!("link:{}/{}", code(&l["link"]["sector"]["code"]), code(&l["link"]["domain"]["code"]));
        all.push((name, code(&l["change"]), code(&l["on"])));
    }
    all
}

async fn reference_changes_are_the_difference_between_the_two_dates(app: TestApp) -> TestApp {
    let (a, b) = ("2024-01-01", "2025-06-01");
    let changes = app.data(REFERENCE, json!({ "a": a, "b": b }), None).await["changesBetween"].clone();
    assert_eq!((changes["from"].as_str(), changes["to"].as_str()), (Some(a), Some(b)));
    let listed = answered(&changes);
    assert!(listed.contains(&("sector:ports".into(), "STARTED".into(), "2024-03-08".into())), "{listed:?}");
    assert!(listed.contains(&("domain:port-transport".into(), "STARTED".into(), "2025-04-01".into())), "{listed:?}");
    assert!(
        listed.contains(&("link:ports/port-transport".into(), "STARTED".into(), "2025-04-01".into())),
        "{listed:?}"
    );
    for (_, _, on) in &listed {
        assert!(a < on.as_str() && on.as_str() <= b, "{on} is not after {a} up to {b}");
    }
    // Nothing here both starts and ends in the window, so the starts are what holds at
    // B and not at A, and the ends the other way round.
    let (before, after) = (holding(&app, a).await, holding(&app, b).await);
    let of_kind = |kind: &str| -> BTreeSet<String> {
        listed.iter().filter(|(_, k, _)| k == kind).map(|(name, _, _)| name.clone()).collect()
    };
    assert_eq!(of_kind("STARTED"), after.difference(&before).cloned().collect::<BTreeSet<_>>());
    assert_eq!(of_kind("ENDED"), before.difference(&after).cloned().collect::<BTreeSet<_>>());

    // The counts per sector and domain add up to the lists (a link counts for both ends).
    let by_field = changes["byField"].as_array().expect("byField");
    let sum = |what: &str| -> i64 {
        by_field.iter().map(|f| f[what]["started"].as_i64().expect("n") + f[what]["ended"].as_i64().expect("n")).sum()
    };
    assert_eq!(sum("scopeItems"), changes["scopeItems"].as_array().expect("items").len() as i64);
    assert_eq!(sum("links"), 2 * changes["links"].as_array().expect("links").len() as i64);
    let ports = by_field.iter().find(|f| f["domain"]["code"] == "port-transport").expect("port transport counted");
    assert_eq!(ports["regime"], "ESPA");
    assert!(ports["links"]["started"].as_i64().expect("n") >= 1, "{ports}");

    // Equal dates: an empty window. Dates out of order or not ISO: refused, with a word on why.
    let same = app.data(REFERENCE, json!({ "a": b, "b": b }), None).await["changesBetween"].clone();
    assert!(answered(&same).is_empty(), "{same:#}");
    let reversed = app.graphql(REFERENCE, json!({ "a": b, "b": a }), None).await;
    assert_eq!(error_code(&reversed), "BAD_USER_INPUT");
    assert!(reversed["errors"][0]["message"].as_str().expect("message").contains("is after `to`"), "{reversed}");
    let excel = app.graphql(REFERENCE, json!({ "a": "2024/4/1", "b": b }), None).await;
    assert_eq!(error_code(&excel), "BAD_USER_INPUT", "{excel}");
    app
}

async fn designation_changes_need_a_token_and_count_per_field(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let [p, q, r] = std::array::from_fn(|k| cn(k as u64 + 1));
    register_all(&app, &admin, &[p.clone(), q.clone(), r.clone()]).await;
    // Before the window: held throughout, no change.
    designate(&app, &admin, ci(&p, "electricity", "2024-01-01")).await;
    // Starts in the window.
    designate(&app, &admin, espa(&p, "electricity", "2025-02-01")).await;
    // Starts and ends in the window.
    let mut short = ci(&q, "gas", "2025-03-01");
    short["effectiveTo"] = json!("2025-05-01");
    designate(&app, &admin, short).await;
    // Ends in the window by revocation.
    let revoked = designate(&app, &admin, espa(&r, "trucking", "2024-06-01")).await;
    app.data(
        "mutation($id: ID!) { revokeDesignation(input: { id: $id, effectiveTo: \"2025-04-01\", reason: \"test\" }) { id } }",
        json!({ "id": revoked }),
        Some(&admin),
    )
    .await;
    // Cancelled before it took effect: it never held, so it counts for nothing.
    let cancelled = designate(&app, &admin, espa(&q, "gas", "2025-03-15")).await;
    app.data(
        "mutation($id: ID!) { revokeDesignation(input: { id: $id, effectiveTo: \"2025-03-15\", reason: \"test\" }) { id } }",
        json!({ "id": cancelled }),
        Some(&admin),
    )
    .await;
    // Starts the day after the window.
    designate(&app, &admin, ci(&r, "logistics", "2025-06-02")).await;

    let window = json!({ "a": "2025-01-01", "b": "2025-06-01" });
    let refused = app.graphql(DESIGNATIONS, window.clone(), None).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED");
    let changes = app.data(DESIGNATIONS, window, Some(&reader)).await["changesBetween"]["designations"].clone();
    assert_eq!(changes["total"], json!({ "started": 2, "ended": 2 }));
    let fields: Vec<(String, Value)> = changes["byField"]
        .as_array()
        .expect("byField")
        .iter()
        .map(|f| {
            let code = if f["regime"] == "CI" { &f["sector"]["code"] } else { &f["domain"]["code"] };
            (
                format!("{}:{}", f["regime"].as_str().expect("regime"), code.as_str().expect("code")),
                f["designations"].clone(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("CI:gas".to_owned(), json!({ "started": 1, "ended": 1 })),
            ("ESPA:electricity".to_owned(), json!({ "started": 1, "ended": 0 })),
            ("ESPA:trucking".to_owned(), json!({ "started": 0, "ended": 1 })),
        ],
        "sectors first, each in snapshot order"
    );

    // While the read model is still loading, the same answer comes from one query.
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date");
    let snapshot = ReferenceSnapshot::new(reference::load(&app.db.conn).await.expect("reference data"));
    let window = Window::new(day("2025-01-01"), day("2025-06-01")).expect("in order");
    let periods = designations::starting_or_ending(&app.db.conn, window.from(), window.to()).await.expect("query");
    assert_eq!(periods.len(), 4, "the cancelled one is read, and counted for nothing: {periods:?}");
    let queried = designation_changes(
        &snapshot,
        window,
        periods.iter().map(|p| (p.regime, p.field.as_str(), p.effective_from, p.effective_to)),
    );
    assert_eq!((queried.total.started, queried.total.ended), (2, 2));
    assert_eq!(queried.by_field.len(), 3);
    app
}

e2e!(reference_changes_are_the_difference_between_the_two_dates, designation_changes_need_a_token_and_count_per_field);
