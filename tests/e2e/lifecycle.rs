//! Lost-update protection and the operator lifecycle: versions, stale `expectedVersion`,
//! concurrent updates, corrections under the non-overlap rule, closing with a successor.

use serde_json::{Value, json};

use crate::audit::count;
use crate::e2e;
use crate::fixtures::{ci, cn, designate, espa, history, register_all};
use crate::support::{TestApp, error_code};

const UPDATE: &str = "mutation($i: UpdateOperatorInput!) { updateOperator(input: $i) { nameJa nameEn version } }";
const CORRECT: &str = "mutation($i: CorrectDesignationInput!) { correctDesignation(input: $i) {
    effectiveFrom effectiveTo reference legalBasis version } }";
const CLOSE: &str = "mutation($i: CloseOperatorInput!) { closeOperator(input: $i) {
    closedOn successorCorporateNumber version successor { corporateNumber } } }";
const OPERATOR: &str = "query($n: String!) { operator(corporateNumber: $n) { nameJa nameEn version closedOn
    successor { corporateNumber } predecessors { corporateNumber } } }";

async fn operator(app: &TestApp, token: &str, number: &str) -> Value {
    app.data(OPERATOR, json!({ "n": number }), Some(token)).await["operator"].clone()
}

async fn a_stale_expected_version_conflicts_and_changes_nothing(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let n = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let renamed = app
        .data(UPDATE, json!({ "i": { "corporateNumber": n, "expectedVersion": 1, "nameEn": null } }), Some(&admin))
        .await;
    assert_eq!(renamed["updateOperator"], json!({ "nameJa": "テスト事業者0", "nameEn": null, "version": 2 }));
    let events = count(&app, &admin).await;
    let stale = app
        .graphql(
            UPDATE,
            json!({ "i": { "corporateNumber": n, "expectedVersion": 1, "nameJa": "古い版" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");
    assert!(stale["errors"][0]["message"].as_str().unwrap().contains("version 2, not 1"), "{stale}");
    let unchanged = operator(&app, &admin, &n).await;
    assert_eq!((unchanged["nameJa"].as_str(), unchanged["version"].as_i64()), (Some("テスト事業者0"), Some(2)));
    // An update that changes nothing writes nothing.
    let same = app
        .data(
            UPDATE,
            json!({ "i": { "corporateNumber": n, "expectedVersion": 2, "nameJa": "テスト事業者0" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(same["updateOperator"]["version"], 2);
    assert_eq!(count(&app, &admin).await, events);

    let id = designate(&app, &admin, ci(&n, "gas", "2024-04-01")).await;
    let fixed = app
        .data(
            CORRECT,
            json!({ "i": { "id": id, "expectedVersion": 1, "effectiveFrom": "2024-05-01", "reason": "日付の誤り" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(fixed["correctDesignation"]["effectiveFrom"], "2024-05-01");
    assert_eq!(fixed["correctDesignation"]["version"], 2);
    let events = count(&app, &admin).await;
    let stale = app
        .graphql(
            CORRECT,
            json!({ "i": { "id": id, "expectedVersion": 1, "effectiveFrom": "2024-06-01", "reason": "再修正" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");
    let stale_revoke = app
        .graphql(
            "mutation($i: RevokeDesignationInput!) { revokeDesignation(input: $i) { id } }",
            json!({ "i": { "id": id, "expectedVersion": 1, "reason": "x" } }),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&stale_revoke), "CONFLICT");
    assert_eq!(count(&app, &admin).await, events, "refused changes record nothing");
    let stored = history(&app, &admin, &n).await;
    assert_eq!(
        (stored[0]["effectiveFrom"].as_str(), stored[0]["status"].as_str()),
        (Some("2024-05-01"), Some("DESIGNATED"))
    );
    app
}

async fn twenty_concurrent_updates_with_one_version_let_exactly_one_through(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let n = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let events = count(&app, &admin).await;
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let input =
                json!({ "i": { "corporateNumber": n, "expectedVersion": 1, "nameJa": format!("同時更新{i}") } });
            app.spawn_graphql(UPDATE, input, Some(&admin))
        })
        .collect();
    let mut results = Vec::new();
    for attempt in attempts {
        results.push(attempt.await.expect("request task"));
    }
    let winners: Vec<&Value> = results.iter().filter(|r| r.get("errors").is_none()).collect();
    assert_eq!(winners.len(), 1, "exactly one update may win: {results:?}");
    for loser in results.iter().filter(|r| r.get("errors").is_some()) {
        assert_eq!(error_code(loser), "CONFLICT", "{loser}");
    }
    let stored = operator(&app, &admin, &n).await;
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["nameJa"], winners[0]["data"]["updateOperator"]["nameJa"]);
    assert_eq!(count(&app, &admin).await, events + 1, "one event for the one change");
    app
}

async fn corrections_keep_every_designation_rule(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let mlit = app.token("ministry", Some("MLIT"));
    let n = cn(1);
    register_all(&app, &admin, std::slice::from_ref(&n)).await;
    let mut first = ci(&n, "gas", "2020-04-01");
    first["effectiveTo"] = json!("2024-04-01");
    let earlier = designate(&app, &admin, first).await;
    let later = designate(&app, &admin, ci(&n, "gas", "2024-04-01")).await;
    let correct = |id: &str, patch: Value| {
        let mut input = json!({ "id": id, "expectedVersion": 1, "reason": "訂正" });
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        json!({ "i": input })
    };
    // Moving the later one's start back into the earlier period: the database refuses it.
    let body = app.graphql(CORRECT, correct(&later, json!({ "effectiveFrom": "2023-04-01" })), Some(&admin)).await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("overlapping"));
    let body = app.graphql(CORRECT, correct(&earlier, json!({ "effectiveTo": null })), Some(&admin)).await;
    assert_eq!(error_code(&body), "CONFLICT", "opening the earlier period overlaps the later one");
    for (patch, words) in [
        (json!({ "effectiveTo": "2020-04-01" }), "must be after"),
        (json!({ "effectiveFrom": "1999-01-01", "effectiveTo": "2000-01-01" }), "not in force"),
    ] {
        let body = app.graphql(CORRECT, correct(&earlier, patch.clone()), Some(&admin)).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{patch}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(words), "{patch}: {body}");
    }
    let body = app.graphql(CORRECT, correct(&earlier, json!({ "reason": " " })), Some(&admin)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app.graphql(CORRECT, correct(&earlier, json!({ "reference": "x" })), Some(&mlit)).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "MLIT did not make the METI designation");
    // Shortening the earlier one and moving the later one up to it is fine.
    let ok = app
        .data(CORRECT, correct(&earlier, json!({ "effectiveTo": "2023-01-01", "legalBasis": "告示" })), Some(&admin))
        .await;
    assert_eq!(ok["correctDesignation"]["effectiveTo"], "2023-01-01");
    assert_eq!(ok["correctDesignation"]["legalBasis"], "告示");
    let ok = app.data(CORRECT, correct(&later, json!({ "effectiveFrom": "2023-01-01" })), Some(&admin)).await;
    assert_eq!(ok["correctDesignation"]["effectiveFrom"], "2023-01-01");
    let cleared = app
        .data(
            CORRECT,
            json!({ "i": { "id": earlier, "expectedVersion": 2, "legalBasis": null, "reason": "誤記" } }),
            Some(&admin),
        )
        .await;
    assert!(cleared["correctDesignation"]["legalBasis"].is_null());
    assert_eq!(cleared["correctDesignation"]["version"], 3);
    app
}

async fn closing_an_operator_ends_its_open_designations_and_records_the_successor(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let meti = app.token("ministry", Some("METI"));
    let numbers: Vec<String> = (1..=4).map(cn).collect();
    let (closing, successor, third) = (&numbers[0], &numbers[1], &numbers[2]);
    register_all(&app, &admin, &numbers[..3]).await;
    let mut ended_before = ci(closing, "electricity", "2018-04-01");
    ended_before["effectiveTo"] = json!("2020-04-01");
    designate(&app, &admin, ended_before).await;
    designate(&app, &admin, ci(closing, "electricity", "2020-04-01")).await;
    designate(&app, &admin, espa(closing, "railways", "2024-04-01")).await;
    designate(&app, &admin, espa(closing, "electricity", "2030-01-01")).await;
    let close = |input: Value| json!({ "i": input });

    let refusals = [
        (
            json!({ "corporateNumber": closing, "closedOn": "2026-04-01", "successorCorporateNumber": closing, "reason": "合併" }),
            "BAD_USER_INPUT",
            "own successor",
        ),
        (
            json!({ "corporateNumber": closing, "closedOn": "2026-04-01", "successorCorporateNumber": numbers[3], "reason": "合併" }),
            "NOT_FOUND",
            "register it first",
        ),
        (json!({ "corporateNumber": closing, "closedOn": "2026-04-01", "reason": "" }), "BAD_USER_INPUT", "reason"),
        (
            json!({ "corporateNumber": closing, "closedOn": "2026-04-01", "reason": "合併", "expectedVersion": 7 }),
            "CONFLICT",
            "version",
        ),
    ];
    let events = count(&app, &admin).await;
    for (input, code, words) in refusals {
        let body = app.graphql(CLOSE, close(input.clone()), Some(&admin)).await;
        assert_eq!(error_code(&body), code, "{input}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains(words), "{input}: {body}");
    }
    // METI may not end the MLIT railways designation.
    let body = app
        .graphql(
            CLOSE,
            close(json!({ "corporateNumber": closing, "closedOn": "2026-04-01", "reason": "合併" })),
            Some(&meti),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    assert_eq!(count(&app, &admin).await, events + 1, "only the denied attempt is recorded");
    assert_eq!(history(&app, &admin, closing).await.iter().filter(|d| d["status"] == "REVOKED").count(), 0);

    let closed = app
        .data(
            CLOSE,
            close(json!({ "corporateNumber": closing, "closedOn": "2026-04-01", "successorCorporateNumber": successor,
                "reason": "吸収合併", "expectedVersion": 1 })),
            Some(&admin),
        )
        .await;
    assert_eq!(
        closed["closeOperator"],
        json!({ "closedOn": "2026-04-01", "successorCorporateNumber": successor, "version": 2,
            "successor": { "corporateNumber": successor } })
    );
    let designations = history(&app, &admin, closing).await;
    let summary: Vec<(&str, Option<&str>, &str)> = designations
        .iter()
        .map(|d| (d["effectiveFrom"].as_str().unwrap(), d["effectiveTo"].as_str(), d["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("2018-04-01", Some("2020-04-01"), "DESIGNATED"),
            ("2020-04-01", Some("2026-04-01"), "REVOKED"),
            ("2024-04-01", Some("2026-04-01"), "REVOKED"),
            ("2030-01-01", Some("2030-01-01"), "REVOKED"),
        ],
        "open designations end on the closing day; one not yet started never takes effect"
    );
    assert!(designations[1]["revocationReason"].as_str().unwrap().contains("operator closed on 2026-04-01: 吸収合併"));
    let merged_into = operator(&app, &admin, successor).await;
    assert_eq!(merged_into["predecessors"], json!([{ "corporateNumber": closing }]), "the link is queryable both ways");
    assert!(merged_into["closedOn"].is_null());

    let again = app
        .graphql(
            CLOSE,
            close(json!({ "corporateNumber": closing, "closedOn": "2027-01-01", "reason": "再" })),
            Some(&admin),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    // Nothing may hold past the closing day.
    let body = app
        .graphql(crate::fixtures::DESIGNATE, json!({ "input": ci(closing, "gas", "2026-01-01") }), Some(&admin))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("closed on 2026-04-01"));
    let mut before_closing = ci(closing, "gas", "2025-01-01");
    before_closing["effectiveTo"] = json!("2026-04-01");
    designate(&app, &admin, before_closing).await;

    // Successors never form a cycle: third → successor, then successor → third is refused,
    // and so is successor → closing (closing already names successor).
    app.data(CLOSE, close(json!({ "corporateNumber": third, "closedOn": "2026-06-01", "successorCorporateNumber": successor, "reason": "合併" })), Some(&admin)).await;
    for target in [third, closing] {
        let body = app
            .graphql(CLOSE, close(json!({ "corporateNumber": successor, "closedOn": "2027-01-01", "successorCorporateNumber": target, "reason": "合併" })), Some(&admin))
            .await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{target}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("lead back"), "{body}");
    }
    let merged_into = operator(&app, &admin, successor).await;
    assert_eq!(merged_into["predecessors"].as_array().unwrap().len(), 2);
    assert!(merged_into["closedOn"].is_null());
    app
}

e2e!(
    a_stale_expected_version_conflicts_and_changes_nothing,
    twenty_concurrent_updates_with_one_version_let_exactly_one_through,
    corrections_keep_every_designation_rule,
    closing_an_operator_ends_its_open_designations_and_records_the_successor,
);
