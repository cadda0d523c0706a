//! Designations: every rule with nothing written on failure, jurisdiction, revocation,
//! history and the database-enforced non-overlap under concurrency.

use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::{DESIGNATE, ci, cn, designate, espa, history, register_all};
use crate::support::{TestApp, error_code};

const REVOKE: &str = "mutation($input: RevokeDesignationInput!) { revokeDesignation(input: $input) {
    id status effectiveTo revocationReason version } }";

async fn try_designate(app: &TestApp, token: &str, input: Value) -> Value {
    app.graphql(DESIGNATE, json!({ "input": input }), Some(token)).await
}

async fn every_designation_rule_refuses_with_its_code_and_writes_nothing(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let n = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let with = |patch: Value| {
        let mut input = ci(&n, "electricity", "2024-04-01");
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                input.as_object_mut().unwrap().remove(k);
            } else {
                input[k] = v.clone();
            }
        }
        input
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (with(json!({ "domain": "electricity" })), "BAD_USER_INPUT", "not a domain"),
        (with(json!({ "sector": null })), "BAD_USER_INPUT", "needs a sector"),
        (with(json!({ "regime": "ESPA" })), "BAD_USER_INPUT", "not a sector"),
        (with(json!({ "regime": "ESPA", "sector": null })), "BAD_USER_INPUT", "needs a domain"),
        (with(json!({ "sector": "nuclear" })), "BAD_USER_INPUT", "unknown sector"),
        (with(json!({ "scopeItem": "gas/gas-manufacturing" })), "BAD_USER_INPUT", "belongs to"),
        (with(json!({ "scopeItem": "electricity/fusion" })), "BAD_USER_INPUT", "unknown scope item"),
        (with(json!({ "effectiveTo": "2024-04-01" })), "BAD_USER_INPUT", "must be after"),
        (with(json!({ "effectiveTo": "2023-01-01" })), "BAD_USER_INPUT", "must be after"),
        (with(json!({ "sector": "ports", "effectiveFrom": "2024-01-01" })), "BAD_USER_INPUT", "not in force"),
        (
            with(
                json!({ "regime": "ESPA", "sector": null, "domain": "port-transport", "effectiveFrom": "2025-03-31" }),
            ),
            "BAD_USER_INPUT",
            "not in force",
        ),
        (with(json!({ "ministry": "MLIT" })), "BAD_USER_INPUT", "no jurisdiction"),
        (with(json!({ "corporateNumber": cn(2) })), "NOT_FOUND", "register it first"),
        (with(json!({ "corporateNumber": "7000012050003" })), "BAD_USER_INPUT", "check digit"),
        (with(json!({ "legalBasis": "x".repeat(501) })), "BAD_USER_INPUT", "too long"),
    ];
    for (input, code, words) in cases {
        let body = try_designate(&app, &admin, input.clone()).await;
        assert_eq!(error_code(&body), code, "{input}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(words), "{input}: {message}");
    }
    assert!(history(&app, &admin, &n).await.is_empty(), "a failed designate must write nothing");

    let reader = app.token("reader", None);
    assert_eq!(error_code(&try_designate(&app, &reader, ci(&n, "electricity", "2024-04-01")).await), "FORBIDDEN");
    let body = app.graphql(DESIGNATE, json!({ "input": ci(&n, "electricity", "2024-04-01") }), None).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert!(history(&app, &admin, &n).await.is_empty());

    // The valid request goes through, with the ministry that has jurisdiction.
    let mut ok = ci(&n, "electricity", "2024-04-01");
    ok["scopeItem"] = json!("power-generation");
    designate(&app, &admin, ok).await;
    let stored = history(&app, &admin, &n).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["ministry"]["code"], "METI");
    assert_eq!(stored[0]["scopeItem"]["code"], "electricity/power-generation");
    app
}

async fn a_ministry_acts_only_within_its_jurisdiction_at_the_start_date(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let mlit = app.token("ministry", Some("MLIT"));
    let mhlw = app.token("ministry", Some("MHLW"));
    let numbers: Vec<String> = (1..=2).map(cn).collect();
    register_all(&app, &admin, &numbers).await;

    let body = try_designate(&app, &mlit, ci(&numbers[0], "electricity", "2024-04-01")).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("MLIT has no jurisdiction"));
    // Water moved from MHLW to MLIT on 2024-04-01.
    assert_eq!(error_code(&try_designate(&app, &mhlw, ci(&numbers[0], "water", "2024-04-01")).await), "FORBIDDEN");
    assert_eq!(error_code(&try_designate(&app, &mlit, ci(&numbers[0], "water", "2024-03-31")).await), "FORBIDDEN");
    let mut for_other = ci(&numbers[0], "water", "2024-04-01");
    for_other["ministry"] = json!("MHLW");
    assert_eq!(error_code(&try_designate(&app, &mlit, for_other).await), "FORBIDDEN");
    assert!(history(&app, &admin, &numbers[0]).await.is_empty());

    designate(&app, &mhlw, ci(&numbers[0], "water", "2023-04-01")).await;
    designate(&app, &mlit, ci(&numbers[1], "water", "2024-04-01")).await;
    assert_eq!(history(&app, &admin, &numbers[0]).await[0]["ministry"]["code"], "MHLW");
    assert_eq!(history(&app, &admin, &numbers[1]).await[0]["ministry"]["code"], "MLIT");
    // Ministries may register operators too.
    let body = app
        .graphql(
            "mutation { registerOperator(input: { corporateNumber: \"7000012050002\", nameJa: \"港湾テスト\" }) { id } }",
            json!({}),
            Some(&mlit),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    app
}

async fn overlapping_periods_conflict_and_adjacent_ones_do_not(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let n = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let mut first = ci(&n, "gas", "2024-04-01");
    first["effectiveTo"] = json!("2025-04-01");
    designate(&app, &admin, first).await;
    for (from, to) in [("2024-04-01", None), ("2025-03-31", Some("2026-01-01")), ("2023-01-01", Some("2024-04-02"))] {
        let mut input = ci(&n, "gas", from);
        if let Some(to) = to {
            input["effectiveTo"] = json!(to);
        }
        let body = try_designate(&app, &admin, input).await;
        assert_eq!(error_code(&body), "CONFLICT", "{from}..{to:?}");
    }
    assert_eq!(history(&app, &admin, &n).await.len(), 1);
    // Adjacent periods, another scope item and the other regime are all fine.
    designate(&app, &admin, ci(&n, "gas", "2025-04-01")).await;
    let mut item = ci(&n, "gas", "2024-06-01");
    item["scopeItem"] = json!("gas/gas-manufacturing");
    designate(&app, &admin, item).await;
    designate(&app, &admin, espa(&n, "gas", "2024-06-01")).await;
    let mut before = ci(&n, "gas", "2020-01-01");
    before["effectiveTo"] = json!("2024-04-01");
    designate(&app, &admin, before).await;
    assert_eq!(history(&app, &admin, &n).await.len(), 5);
    app
}

async fn two_concurrent_overlapping_designations_let_exactly_one_through(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let numbers: Vec<String> = (1..=5).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    for n in &numbers {
        let a = try_designate(&app, &admin, ci(n, "finance", "2024-04-01"));
        let b = try_designate(&app, &admin, ci(n, "finance", "2024-10-01"));
        let (a, b) = tokio::join!(a, b);
        let ok = [&a, &b].iter().filter(|r| r.get("errors").is_none()).count();
        assert_eq!(ok, 1, "exactly one may succeed: {a} / {b}");
        let failed = if a.get("errors").is_some() { &a } else { &b };
        assert_eq!(error_code(failed), "CONFLICT", "{failed}");
        assert_eq!(history(&app, &admin, n).await.len(), 1);
    }
    app
}

async fn revocation_closes_the_period_and_keeps_the_record(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let n = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let id = designate(&app, &admin, espa(&n, "aviation", "2024-01-01")).await;

    let revoke = |input: Value| {
        let app = &app;
        let admin = admin.clone();
        async move { app.graphql(REVOKE, json!({ "input": input }), Some(&admin)).await }
    };
    for (input, code) in [
        (json!({ "id": id, "effectiveTo": "2025-07-01", "reason": "  " }), "BAD_USER_INPUT"),
        (json!({ "id": id, "effectiveTo": "2023-12-31", "reason": "typo" }), "BAD_USER_INPUT"),
        (
            json!({ "id": "01900000-0000-7000-8000-000000000000", "effectiveTo": "2025-07-01", "reason": "x" }),
            "NOT_FOUND",
        ),
        (json!({ "id": "not-a-uuid", "effectiveTo": "2025-07-01", "reason": "x" }), "BAD_USER_INPUT"),
    ] {
        assert_eq!(error_code(&revoke(input.clone()).await), code, "{input}");
    }
    let body = app
        .graphql(REVOKE, json!({ "input": { "id": id, "effectiveTo": "2025-07-01", "reason": "x" } }), Some(&reader))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let mic = app.token("ministry", Some("MIC"));
    let body = app
        .graphql(REVOKE, json!({ "input": { "id": id, "effectiveTo": "2025-07-01", "reason": "x" } }), Some(&mic))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(history(&app, &admin, &n).await[0]["status"], "DESIGNATED");

    let mlit = app.token("ministry", Some("MLIT"));
    let body = app
        .graphql(
            REVOKE,
            json!({ "input": { "id": id, "effectiveTo": "2025-07-01", "reason": "事業廃止 (business discontinued)" } }),
            Some(&mlit),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let revoked = &body["data"]["revokeDesignation"];
    assert_eq!(revoked["status"], "REVOKED");
    assert_eq!(revoked["effectiveTo"], "2025-07-01");
    assert_eq!(revoked["version"], 2);
    assert_eq!(
        error_code(&revoke(json!({ "id": id, "effectiveTo": "2025-06-01", "reason": "again" })).await),
        "CONFLICT"
    );

    let at = |date: &'static str| {
        let app = &app;
        let reader = reader.clone();
        let n = n.clone();
        async move {
            app.data(
                "query($n: String!, $d: Date) { operator(corporateNumber: $n) { designations(asOf: $d) { id } } }",
                json!({ "n": n, "d": date }),
                Some(&reader),
            )
            .await["operator"]["designations"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(at("2025-06-30").await, 1);
    assert_eq!(at("2025-07-01").await, 0);
    let all = history(&app, &reader, &n).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["revocationReason"], "事業廃止 (business discontinued)");
    assert_eq!(all[0]["status"], "REVOKED");
    app
}

async fn history_includes_past_revoked_and_future_designations(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let n = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let mut past = ci(&n, "credit", "2020-01-01");
    past["effectiveTo"] = json!("2022-01-01");
    designate(&app, &admin, past).await;
    designate(&app, &admin, ci(&n, "credit", "2022-01-01")).await;
    designate(&app, &admin, espa(&n, "credit-cards", "2099-04-01")).await;
    let future_cancelled = designate(&app, &admin, espa(&n, "finance", "2099-01-01")).await;
    let body = app
        .graphql(REVOKE, json!({ "input": { "id": future_cancelled, "effectiveTo": "2099-01-01", "reason": "cancelled before taking effect" } }), Some(&admin))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let data = app
        .data(
            "query($n: String!) { operator(corporateNumber: $n) {
                now: designations(asOf: \"2025-01-01\") { effectiveFrom }
                all: designations(includeHistory: true) { effectiveFrom effectiveTo status } } }",
            json!({ "n": n }),
            Some(&admin),
        )
        .await;
    assert_eq!(data["operator"]["now"].as_array().unwrap().len(), 1);
    let all = data["operator"]["all"].as_array().unwrap();
    assert_eq!(all.len(), 4);
    let froms: Vec<&str> = all.iter().map(|d| d["effectiveFrom"].as_str().unwrap()).collect();
    assert_eq!(froms, ["2020-01-01", "2022-01-01", "2099-01-01", "2099-04-01"], "oldest first");
    app
}

/// Co-competent ministers for parts of ESPA finance: a jurisdiction narrowed to a scope
/// item lets its ministry designate for that item only; the FSA keeps the whole domain.
async fn co_competent_ministries_designate_only_their_scope_items(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let (fsa, mof, maff) =
        (app.token("ministry", Some("FSA")), app.token("ministry", Some("MOF")), app.token("ministry", Some("MAFF")));
    let numbers: Vec<String> = (1..=6).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    let finance = |n: &str, item: Option<&str>| {
        let mut input = espa(n, "finance", "2025-01-01");
        if let Some(item) = item {
            input["scopeItem"] = json!(item);
        }
        input
    };
    let refusals = [
        (&maff, Some("finance/banking")),
        (&maff, None),
        (&maff, Some("deposit-insurance")),
        (&mof, Some("finance/banking")),
        (&mof, None),
        (&mof, Some("cooperative-central-institutions")),
    ];
    for (token, item) in refusals {
        let body = try_designate(&app, token, finance(&numbers[0], item)).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{item:?}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("has no jurisdiction") && message.contains("narrowed to scope item"), "{message}");
    }
    assert!(history(&app, &admin, &numbers[0]).await.is_empty(), "a refused designate writes nothing");

    designate(&app, &maff, finance(&numbers[0], Some("finance/savings-insurance"))).await;
    designate(&app, &maff, finance(&numbers[1], Some("cooperative-central-institutions"))).await;
    designate(&app, &mof, finance(&numbers[2], Some("deposit-insurance"))).await;
    designate(&app, &fsa, finance(&numbers[3], Some("banking"))).await;
    designate(&app, &fsa, finance(&numbers[4], None)).await;
    designate(&app, &fsa, finance(&numbers[5], Some("deposit-insurance"))).await;
    for (n, ministry, item) in [
        (0, "MAFF", json!({ "code": "finance/savings-insurance" })),
        (1, "MAFF", json!({ "code": "finance/cooperative-central-institutions" })),
        (2, "MOF", json!({ "code": "finance/deposit-insurance" })),
        (3, "FSA", json!({ "code": "finance/banking" })),
        (4, "FSA", Value::Null),
    ] {
        let stored = history(&app, &admin, &numbers[n]).await;
        assert_eq!((&stored[0]["ministry"]["code"], &stored[0]["scopeItem"]), (&json!(ministry), &item), "{n}");
    }

    // An administrator gets the FSA (the whole domain) where two cover the item, unless it
    // names the co-competent one; not MOF for a bank.
    register_all(&app, &admin, &[cn(7), cn(8)]).await;
    designate(&app, &admin, finance(&cn(7), Some("deposit-insurance"))).await;
    assert_eq!(history(&app, &admin, &cn(7)).await[0]["ministry"]["code"], "FSA");
    let mut by_mof = finance(&cn(8), Some("deposit-insurance"));
    by_mof["ministry"] = json!("MOF");
    designate(&app, &admin, by_mof).await;
    assert_eq!(history(&app, &admin, &cn(8)).await[0]["ministry"]["code"], "MOF");
    let mut banking_by_mof = finance(&cn(7), Some("banking"));
    banking_by_mof["ministry"] = json!("MOF");
    assert_eq!(error_code(&try_designate(&app, &admin, banking_by_mof).await), "BAD_USER_INPUT");

    // MAFF revokes its own item's designation, not the bank's.
    let mut ids = Vec::new();
    for n in [0, 3] {
        ids.push(history(&app, &admin, &numbers[n]).await[0]["id"].as_str().unwrap().to_owned());
    }
    let revoke = |id: &str| json!({ "input": { "id": id, "expectedVersion": 1, "effectiveTo": "2026-01-01", "reason": "test" } });
    assert_eq!(error_code(&app.graphql(REVOKE, revoke(&ids[1]), Some(&maff)).await), "FORBIDDEN");
    let revoked = app.data(REVOKE, revoke(&ids[0]), Some(&maff)).await;
    assert_eq!(revoked["revokeDesignation"]["status"], "REVOKED");
    app
}

e2e!(
    every_designation_rule_refuses_with_its_code_and_writes_nothing,
    a_ministry_acts_only_within_its_jurisdiction_at_the_start_date,
    overlapping_periods_conflict_and_adjacent_ones_do_not,
    two_concurrent_overlapping_designations_let_exactly_one_through,
    revocation_closes_the_period_and_keeps_the_record,
    history_includes_past_revoked_and_future_designations,
    co_competent_ministries_designate_only_their_scope_items,
);
