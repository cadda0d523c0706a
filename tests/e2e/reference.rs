//! The scope API: sectors, domains, crosswalk and gaps, with `asOf`.

use serde_json::{Value, json};

use crate::e2e;
use crate::support::{TestApp, codes, error_code};

const SECTORS: [(&str, &str, &str); 15] = [
    ("information-communications", "情報通信", "Information & communications"),
    ("finance", "金融", "Finance"),
    ("aviation", "航空", "Aviation"),
    ("airports", "空港", "Airports"),
    ("railways", "鉄道", "Railways"),
    ("electricity", "電力", "Electric power"),
    ("gas", "ガス", "Gas"),
    ("government-services", "政府・行政サービス", "Government & administrative services"),
    ("medical", "医療", "Medical care"),
    ("water", "水道", "Water supply"),
    ("logistics", "物流", "Logistics"),
    ("chemicals", "化学", "Chemicals"),
    ("credit", "クレジット", "Credit"),
    ("petroleum", "石油", "Petroleum"),
    ("ports", "港湾", "Ports"),
];

const DOMAINS: [(&str, &str, &str); 15] = [
    ("electricity", "電気", "Electricity"),
    ("gas", "ガス", "Gas"),
    ("petroleum", "石油", "Petroleum"),
    ("water", "水道", "Water supply"),
    ("railways", "鉄道", "Railways"),
    ("trucking", "貨物自動車運送", "Freight trucking"),
    ("ocean-shipping", "外航海運", "Ocean shipping"),
    ("port-transport", "港湾運送", "Port transport"),
    ("aviation", "航空", "Aviation"),
    ("airports", "空港", "Airports"),
    ("telecommunications", "電気通信", "Telecommunications"),
    ("broadcasting", "放送", "Broadcasting"),
    ("postal", "郵便", "Postal"),
    ("finance", "金融", "Finance"),
    ("credit-cards", "クレジットカード", "Credit cards"),
];

const LINKED_PAIRS: [(&str, &str); 15] = [
    ("electricity", "electricity"),
    ("gas", "gas"),
    ("petroleum", "petroleum"),
    ("water", "water"),
    ("railways", "railways"),
    ("logistics", "trucking"),
    ("logistics", "ocean-shipping"),
    ("logistics", "port-transport"),
    ("ports", "port-transport"),
    ("aviation", "aviation"),
    ("airports", "airports"),
    ("information-communications", "telecommunications"),
    ("information-communications", "broadcasting"),
    ("finance", "finance"),
    ("credit", "credit-cards"),
];

fn triples(list: &Value) -> Vec<(String, String, String)> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|v| {
            (
                v["code"].as_str().unwrap().to_owned(),
                v["nameJa"].as_str().unwrap().to_owned(),
                v["nameEn"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn expected(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter().map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into())).collect()
}

async fn fifteen_sectors_and_fifteen_domains_with_their_names(app: TestApp) -> TestApp {
    let data =
        app.data("{ sectors { code nameJa nameEn } businessDomains { code nameJa nameEn } }", json!({}), None).await;
    assert_eq!(triples(&data["sectors"]), expected(&SECTORS));
    assert_eq!(triples(&data["businessDomains"]), expected(&DOMAINS));
    app
}

async fn crosswalk_has_exactly_the_documents_linked_pairs(app: TestApp) -> TestApp {
    let data =
        app.data("{ crosswalk { sector { code } domain { code } relation rationale source } }", json!({}), None).await;
    let mut pairs: Vec<(String, String)> = data["crosswalk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert!(!l["rationale"].as_str().unwrap().is_empty());
            assert!(!l["source"].as_str().unwrap().is_empty());
            assert!(
                ["EQUAL", "SUBSET_OF", "SUPERSET_OF", "INTERSECTS_WITH"].contains(&l["relation"].as_str().unwrap())
            );
            (l["sector"]["code"].as_str().unwrap().to_owned(), l["domain"]["code"].as_str().unwrap().to_owned())
        })
        .collect();
    let mut want: Vec<(String, String)> = LINKED_PAIRS.iter().map(|(s, d)| ((*s).into(), (*d).into())).collect();
    pairs.sort();
    want.sort();
    assert_eq!(pairs, want);

    let logistics = app.data(r#"{ sector(code: "logistics") { links { domain { code } } } }"#, json!({}), None).await;
    let mut linked: Vec<&str> = logistics["sector"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["domain"]["code"].as_str().unwrap())
        .collect();
    linked.sort();
    assert_eq!(linked, ["ocean-shipping", "port-transport", "trucking"]);
    app
}

async fn scope_gaps_name_the_fields_and_items_without_counterpart(app: TestApp) -> TestApp {
    let data = app
        .data(
            "{ scopeGaps { sectorsWithoutDomain { code } domainsWithoutSector { code }
                 sectorScopeItemsWithoutLink { code nameJa } domainScopeItemsWithoutLink { code nameJa } } }",
            json!({}),
            None,
        )
        .await;
    let gaps = &data["scopeGaps"];
    let mut sectors = codes(&gaps["sectorsWithoutDomain"]);
    sectors.sort();
    assert_eq!(sectors, ["chemicals", "government-services", "medical"]);
    assert_eq!(codes(&gaps["domainsWithoutSector"]), ["postal"]);
    let names = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|i| i["nameJa"].as_str().unwrap().to_owned()).collect()
    };
    assert!(names(&gaps["sectorScopeItemsWithoutLink"]).contains(&"倉庫業".to_owned()));
    assert!(names(&gaps["domainScopeItemsWithoutLink"]).contains(&"送電事業".to_owned()));
    // Where the other side's list ends in 「等」 (CI finance), a gap is not certain.
    let data = app
        .data(
            r#"{ scopeGaps { scopeItemGaps { item { code } certain } }
                 finance: sector(code: "finance") { exhaustive }
                 railways: sector(code: "railways") { exhaustive }
                 domains: businessDomains { code exhaustive }
                 espaFinance: businessDomain(code: "finance") { scopeItems { code legalBasis } } }"#,
            json!({}),
            None,
        )
        .await;
    let certain = |code: &str| {
        data["scopeGaps"]["scopeItemGaps"].as_array().unwrap().iter().find(|g| g["item"]["code"] == code).unwrap()
            ["certain"]
            .clone()
    };
    assert_eq!(certain("finance/securities"), json!(false));
    assert_eq!(certain("electricity/transmission"), json!(true));
    assert_eq!(certain("logistics/warehousing"), json!(true));
    assert_eq!((&data["finance"]["exhaustive"], &data["railways"]["exhaustive"]), (&json!(false), &json!(true)));
    let partial: Vec<&str> = data["domains"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["exhaustive"] == false)
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(partial, ["electricity", "finance"]);
    let items = data["espaFinance"]["scopeItems"].as_array().unwrap();
    assert_eq!(items[0], json!({ "code": "finance/banking", "legalBasis": "銀行法第2条第2項" }));
    assert_eq!(items.len(), 11);
    // A covered item is not a gap; insurers are ESPA finance businesses too, so they are not.
    for covered in ["electricity/power-generation", "finance/life-insurance", "finance/non-life-insurance"] {
        assert!(!codes(&gaps["sectorScopeItemsWithoutLink"]).contains(&covered.to_owned()), "{covered}");
    }
    app
}

async fn the_crosswalk_checks_itself(app: TestApp) -> TestApp {
    const CHECK: &str = "query($d: Date) { crosswalkConsistency(asOf: $d) {
        sector { code } domain { code } declared implied deciding { code } overrideReason } }";
    for date in ["2024-01-01", "2025-04-01", "2026-12-01"] {
        let data = app.data(CHECK, json!({ "d": date }), None).await;
        assert_eq!(data["crosswalkConsistency"], json!([]), "{date}");
    }
    // A curated relation that the scope-item links contradict is listed with the items
    // that decide it.
    let admin = app.token("admin", None);
    let tomorrow = (scope_registry::domain::today() + chrono::Duration::days(1)).to_string();
    let body = app
        .graphql(
            "mutation($i: UpsertCrosswalkLinkInput!) { upsertCrosswalkLink(input: $i) { relation } }",
            json!({ "i": { "sector": "aviation", "domain": "aviation", "relation": "EQUAL",
                "rationale": "Curated to test the self-check.", "source": "nco-2025-08-26",
                "locator": "table", "effectiveFrom": tomorrow, "reason": "test" } }),
            Some(&admin),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let data = app.data(CHECK, json!({ "d": tomorrow }), None).await;
    assert_eq!(
        data["crosswalkConsistency"],
        json!([{ "sector": { "code": "aviation" }, "domain": { "code": "aviation" }, "declared": "EQUAL",
            "implied": "SUPERSET_OF",
            "deciding": [{ "code": "aviation/air-transport" }, { "code": "aviation/reservations" }, { "code": "aviation/ticketing" },
                { "code": "aviation/check-in" }, { "code": "aviation/maintenance" },
                { "code": "aviation/flight-planning" }],
            "overrideReason": null }])
    );
    app
}

async fn as_of_follows_ports_port_transport_and_water(app: TestApp) -> TestApp {
    let data = app
        .data(
            r#"{
              before: sectors(asOf: "2024-01-01") { code }
              portsDay: sectors(asOf: "2024-03-08") { code }
              domainsBefore: businessDomains(asOf: "2025-01-01") { code }
              domainsAfter: businessDomains(asOf: "2025-04-01") { code }
              crosswalkBefore: crosswalk(asOf: "2025-03-31") { sector { code } domain { code } }
              gapsBefore: scopeGaps(asOf: "2025-01-01") { sectorsWithoutDomain { code } }
              waterSector: sector(code: "water") {
                mhlw: ministries(asOf: "2024-03-31") { code }
                mlit: ministries(asOf: "2024-04-01") { code }
              }
              waterDomain: businessDomain(code: "water") {
                mhlw: ministries(asOf: "2024-03-31") { code }
                mlit: ministries(asOf: "2024-04-01") { code }
              }
            }"#,
            json!({}),
            None,
        )
        .await;
    let before = codes(&data["before"]);
    assert_eq!(before.len(), 14);
    assert!(!before.contains(&"ports".to_owned()));
    assert_eq!(codes(&data["portsDay"]).len(), 15);
    let domains_before = codes(&data["domainsBefore"]);
    assert_eq!(domains_before.len(), 14);
    assert!(!domains_before.contains(&"port-transport".to_owned()));
    assert_eq!(codes(&data["domainsAfter"]).len(), 15);
    assert_eq!(data["crosswalkBefore"].as_array().unwrap().len(), 13, "no port-transport links before 2025-04-01");
    // Between the two dates the ports sector exists but its counterpart does not yet.
    assert!(codes(&data["gapsBefore"]["sectorsWithoutDomain"]).contains(&"ports".to_owned()));
    for side in ["waterSector", "waterDomain"] {
        assert_eq!(codes(&data[side]["mhlw"]), ["MHLW"]);
        assert_eq!(codes(&data[side]["mlit"]), ["MLIT"]);
    }
    app
}

async fn unknown_codes_are_null_and_bad_dates_are_refused(app: TestApp) -> TestApp {
    let data = app
        .data(r#"{ sector(code: "nuclear") { code } businessDomain(code: "space") { code } }"#, json!({}), None)
        .await;
    assert!(data["sector"].is_null());
    assert!(data["businessDomain"].is_null());
    for bad in ["2024-02-30", "0000-01-01", "9999-12-31", "yesterday"] {
        let body = app.graphql("query($d: Date) { sectors(asOf: $d) { code } }", json!({ "d": bad }), None).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{bad}: {body}");
    }
    app
}

async fn ministries_and_scope_items_are_listed(app: TestApp) -> TestApp {
    let data = app
        .data(
            r#"{ ministries { code nameJa }
                 electricity: sector(code: "electricity") { scopeItems { code nameJa regime } }
                 mlit: ministries { code sectors(asOf: "2025-01-01") { code } } }"#,
            json!({}),
            None,
        )
        .await;
    assert_eq!(codes(&data["ministries"]), ["FSA", "MIC", "MHLW", "METI", "MLIT", "MOF", "MAFF", "MOE"]);
    assert_eq!(
        codes(&data["electricity"]["scopeItems"]),
        ["electricity/general-transmission-distribution", "electricity/power-generation"]
    );
    let mlit = data["mlit"].as_array().unwrap().iter().find(|m| m["code"] == "MLIT").unwrap();
    assert!(codes(&mlit["sectors"]).contains(&"water".to_owned()));
    app
}

/// Co-competence: the jurisdictions over ESPA finance, the FSA's over the whole domain and
/// those of MOF and MAFF narrowed to scope items (`Jurisdiction.scopeItem`).
async fn jurisdictions_show_co_competence_narrowed_to_scope_items(app: TestApp) -> TestApp {
    let data = app
        .data(
            r#"{ finance: businessDomain(code: "finance") {
                   ministries(asOf: "2025-01-01") { code }
                   jurisdictions(asOf: "2025-01-01") { ministry { code } regime fieldCode scopeItem { code nameJa }
                                   validFrom validTo provenance { confirmed sourceCode } } }
                 ministries { code businessDomains(asOf: "2025-01-01") { code }
                   jurisdictions(asOf: "2025-01-01") { fieldCode scopeItem { code } } }
                 railways: sector(code: "railways") { jurisdictions(asOf: "2025-01-01") { ministry { code } scopeItem { code } } } }"#,
            json!({}),
            None,
        )
        .await;
    let finance = &data["finance"];
    assert_eq!(codes(&finance["ministries"]), ["FSA", "MOF", "MAFF"]);
    let rows: Vec<(String, Value)> = finance["jurisdictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["ministry"]["code"].as_str().unwrap().to_owned(), j["scopeItem"]["code"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("FSA".to_owned(), Value::Null),
            ("MOF".to_owned(), json!("finance/deposit-insurance")),
            ("MOF".to_owned(), json!("finance/savings-insurance")),
            ("MAFF".to_owned(), json!("finance/savings-insurance")),
            ("MAFF".to_owned(), json!("finance/cooperative-central-institutions")),
        ]
    );
    let mof = &finance["jurisdictions"][1];
    assert_eq!((&mof["regime"], &mof["fieldCode"]), (&json!("ESPA"), &json!("finance")));
    assert_eq!(
        (&mof["provenance"]["confirmed"], &mof["provenance"]["sourceCode"]),
        (&json!(false), &json!("deposit-insurance-act"))
    );
    let maff = data["ministries"].as_array().unwrap().iter().find(|m| m["code"] == "MAFF").expect("MAFF");
    assert_eq!(codes(&maff["businessDomains"]), ["finance"]);
    assert_eq!(maff["jurisdictions"].as_array().unwrap().len(), 2);
    assert_eq!(data["railways"]["jurisdictions"], json!([{ "ministry": { "code": "MLIT" }, "scopeItem": null }]));
    app
}

e2e!(
    fifteen_sectors_and_fifteen_domains_with_their_names,
    crosswalk_has_exactly_the_documents_linked_pairs,
    scope_gaps_name_the_fields_and_items_without_counterpart,
    the_crosswalk_checks_itself,
    as_of_follows_ports_port_transport_and_water,
    unknown_codes_are_null_and_bad_dates_are_refused,
    ministries_and_scope_items_are_listed,
    jurisdictions_show_co_competence_narrowed_to_scope_items,
);
