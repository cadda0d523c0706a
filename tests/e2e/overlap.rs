//! The overlap report on a data set whose answer is stated by hand.

use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::{ci, cn, designate, espa, register_all};
use crate::support::{TestApp, error_code};

const REPORT: &str = "query($d: Date) { overlap(asOf: $d) { asOf totals { both espaOnly ciOnly }
    cells { sector { code } domain { code } operatorCount }
    domainGaps { domain { code } operatorCount operators(first: 10) { totalCount edges { node { corporateNumber } } } } } }";

fn cell(report: &Value, sector: &str, domain: &str) -> i64 {
    report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["sector"]["code"] == sector && c["domain"]["code"] == domain)
        .unwrap_or_else(|| panic!("no cell {sector}-{domain}"))["operatorCount"]
        .as_i64()
        .unwrap()
}

fn gap<'a>(report: &'a Value, domain: &str) -> &'a Value {
    report["domainGaps"].as_array().unwrap().iter().find(|g| g["domain"]["code"] == domain).expect("gap")
}

async fn overlap_counts_match_the_hand_computed_answer(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let [a, b, c, d, e, f, g, h, i] = std::array::from_fn(|k| cn(k as u64 + 1));
    register_all(
        &app,
        &admin,
        &[a.clone(), b.clone(), c.clone(), d.clone(), e.clone(), f.clone(), g.clone(), h.clone(), i.clone()],
    )
    .await;
    // A: both, in the linked electricity pair.
    designate(&app, &admin, ci(&a, "electricity", "2024-01-01")).await;
    designate(&app, &admin, espa(&a, "electricity", "2024-01-01")).await;
    // B: CI logistics with ESPA trucking and ocean shipping.
    designate(&app, &admin, ci(&b, "logistics", "2024-01-01")).await;
    designate(&app, &admin, espa(&b, "trucking", "2024-01-01")).await;
    designate(&app, &admin, espa(&b, "ocean-shipping", "2024-01-01")).await;
    // C: ESPA trucking only. D: ESPA postal only. E: CI medical only.
    designate(&app, &admin, espa(&c, "trucking", "2024-01-01")).await;
    designate(&app, &admin, espa(&d, "postal", "2024-01-01")).await;
    designate(&app, &admin, ci(&e, "medical", "2024-01-01")).await;
    // F: CI gas but ESPA electricity: in both regimes, yet a gap in electricity.
    designate(&app, &admin, ci(&f, "gas", "2024-01-01")).await;
    designate(&app, &admin, espa(&f, "electricity", "2024-01-01")).await;
    // G: information & communications against telecommunications and broadcasting.
    designate(&app, &admin, ci(&g, "information-communications", "2024-01-01")).await;
    designate(&app, &admin, espa(&g, "telecommunications", "2024-01-01")).await;
    designate(&app, &admin, espa(&g, "broadcasting", "2024-01-01")).await;
    // H: ESPA electricity revoked from 2025-01-01, CI electricity only from 2026.
    let revoked = designate(&app, &admin, espa(&h, "electricity", "2024-01-01")).await;
    app.data(
        "mutation($id: ID!) { revokeDesignation(input: { id: $id, effectiveTo: \"2025-01-01\", reason: \"test\" }) { id } }",
        json!({ "id": revoked }),
        Some(&admin),
    )
    .await;
    designate(&app, &admin, ci(&h, "electricity", "2026-01-01")).await;
    // I: CI ports, and ESPA port transport once it exists (2025-04-01).
    designate(&app, &admin, ci(&i, "ports", "2024-04-01")).await;
    designate(&app, &admin, espa(&i, "port-transport", "2025-04-01")).await;

    let report = app.data(REPORT, json!({ "d": "2025-06-01" }), Some(&reader)).await["overlap"].clone();
    assert_eq!(report["asOf"], "2025-06-01");
    assert_eq!(report["totals"], json!({ "both": 5, "espaOnly": 2, "ciOnly": 1 }));
    // Each duty binds the operators of the regime that triggers it: 5 + 2 under ESPA, 5 + 1
    // under CI; the Cyber Response Act's only 特別社会基盤事業者, of whom none is recorded.
    let duties = app
        .data(
            "query($d: Date) { overlap(asOf: $d) { obligations { obligation { code triggeredBy binds } operatorCount } } }",
            json!({ "d": "2025-06-01" }),
            Some(&reader),
        )
        .await;
    let duties = duties["overlap"]["obligations"].as_array().expect("obligations").clone();
    assert!(duties.iter().any(|d| d["obligation"]["code"] == "espa-prior-notification"), "{duties:?}");
    for duty in &duties {
        let expected = match duty["obligation"]["binds"].as_str() {
            Some("ESPA_DESIGNEE") => 7,
            Some("CI_OPERATOR") => 6,
            _ => 0,
        };
        assert_eq!(duty["operatorCount"], expected, "{duty}");
    }
    assert_eq!(report["cells"].as_array().unwrap().len(), 15);
    let expected_cells = [
        ("electricity", "electricity", 1),
        ("logistics", "trucking", 1),
        ("logistics", "ocean-shipping", 1),
        ("logistics", "port-transport", 0),
        ("ports", "port-transport", 1),
        ("information-communications", "telecommunications", 1),
        ("information-communications", "broadcasting", 1),
        ("gas", "gas", 0),
        ("finance", "finance", 0),
    ];
    for (s, dm, n) in expected_cells {
        assert_eq!(cell(&report, s, dm), n, "{s}-{dm}");
    }
    let gaps = [("electricity", vec![f.clone()]), ("trucking", vec![c.clone()]), ("postal", vec![d.clone()])];
    for (domain, operators) in gaps {
        let g = gap(&report, domain);
        assert_eq!(g["operatorCount"], operators.len(), "{domain}");
        assert_eq!(g["operators"]["totalCount"], operators.len(), "{domain}");
        let listed: Vec<&str> = g["operators"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["corporateNumber"].as_str().unwrap())
            .collect();
        assert_eq!(listed, operators.iter().map(String::as_str).collect::<Vec<_>>(), "{domain}");
    }
    for domain in ["ocean-shipping", "telecommunications", "broadcasting", "port-transport", "gas", "finance"] {
        assert_eq!(gap(&report, domain)["operatorCount"], 0, "{domain}");
    }

    // One domain's gap alone, as the scope map's drill-down asks for it.
    let one = app
        .data(
            r#"{ overlap(asOf: "2025-06-01") { domainGaps(domain: " postal ") { domain { code } operators { edges { node { corporateNumber } } } } } }"#,
            json!({}),
            Some(&reader),
        )
        .await;
    assert_eq!(
        one["overlap"]["domainGaps"],
        json!([{ "domain": { "code": "postal" }, "operators": { "edges": [{ "node": { "corporateNumber": d } }] } }])
    );
    let body = app
        .graphql(r#"{ overlap { domainGaps(domain: "nuclear") { operatorCount } } }"#, json!({}), Some(&reader))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let before_it_existed = app
        .data(
            r#"{ overlap(asOf: "2024-12-31") { domainGaps(domain: "port-transport") { operatorCount } } }"#,
            json!({}),
            Some(&reader),
        )
        .await;
    assert_eq!(before_it_existed["overlap"]["domainGaps"], json!([]));

    // Half a year earlier: H's ESPA designation still held, I had no ESPA counterpart yet.
    let earlier = app.data(REPORT, json!({ "d": "2024-12-31" }), Some(&reader)).await["overlap"].clone();
    assert_eq!(earlier["totals"], json!({ "both": 4, "espaOnly": 3, "ciOnly": 2 }));
    assert_eq!(earlier["cells"].as_array().unwrap().len(), 13, "port-transport links did not exist yet");
    assert_eq!(gap(&earlier, "electricity")["operatorCount"], 2);
    app
}

e2e!(overlap_counts_match_the_hand_computed_answer);
