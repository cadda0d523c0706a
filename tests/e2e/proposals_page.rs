//! The scope map's proposals view in headless Chromium, on the demo data: the list, one
//! proposal's crosswalk with its marks (against its `proposedScope` too), its impact
//! against what the API answers, a link's candidates opening the operator list, and two
//! proposals side by side.

use serde_json::{Value, json};

use crate::browser::{Browser, BrowserPaths, artifacts_dir};
use crate::e2e;
use crate::page::{enter_token, listed, numbers};
use crate::proposals::{DAY, add_medical_domain, drafted, link_medical, medical_jurisdiction};
use crate::support::{TestApp, seed_dir};

const LIST: &str = "{ scopeProposals { id title status effectiveFrom version createdBy } }";
const GAPS: &str = "sectorsWithoutDomain { code } domainsWithoutSector { code } sectorScopeItemsWithoutLink { code } domainScopeItemsWithoutLink { code }";
const GAP_FIGURES: [&str; 4] =
    ["sectorsWithoutDomain", "domainsWithoutSector", "sectorScopeItemsWithoutLink", "domainScopeItemsWithoutLink"];
const TOTALS: [&str; 3] = ["both", "espaOnly", "ciOnly"];
const LINKS: &str = "query($d: Date) { crosswalk(asOf: $d) { sector { code } domain { code } relation } }";

fn impact_query() -> String {
    format!(
        "query($id: ID!) {{ scopeProposal(id: $id) {{ impact {{
            gapsBefore {{ {GAPS} }} gapsAfter {{ {GAPS} }}
            newlyCovered {{ sectors {{ code }} domains {{ code }} }}
            overlapBefore {{ totals {{ both espaOnly ciOnly }} }} overlapAfter {{ totals {{ both espaOnly ciOnly }} }}
            endingDesignationCount endingOperatorCount
            candidates {{ sector {{ code }} domain {{ code }} side operatorCount
                operators(first: 20) {{ edges {{ node {{ corporateNumber }} }} }} }}
            obligationChanges {{ obligation {{ code }} subjectBefore wouldStart wouldStop candidatesWouldStart }}
            byMinistry {{ ministry {{ code }} operatorsGained operatorsLost }} }} }} }}"
    )
}

const COMPARE: &str = "query($a: ID!, $b: ID!) { compareScopeProposals(a: $a, b: $b) { same
    impactA { overlapAfter { totals { both espaOnly ciOnly } } endingDesignationCount }
    impactB { overlapAfter { totals { both espaOnly ciOnly } } endingDesignationCount }
    differences { kind subject a b } } }";

/// A data attribute of the first element matching `css`.
async fn data_of(browser: &Browser, css: &str, key: &str) -> Value {
    browser.wait_for(css).await;
    browser
        .script("return document.querySelector(arguments[0]).dataset[arguments[1]]", vec![json!(css), json!(key)])
        .await
}

/// The proposal's figures on the page match its impact as the API answers it.
async fn impact_matches(browser: &Browser, impact: &Value) {
    for key in GAP_FIGURES {
        let css = format!("#proposal-gaps [data-figure='{key}']");
        let before = impact["gapsBefore"][key].as_array().expect("list").len().to_string();
        let after = impact["gapsAfter"][key].as_array().expect("list").len().to_string();
        assert_eq!(data_of(browser, &css, "before").await, before, "{css}");
        assert_eq!(data_of(browser, &css, "after").await, after, "{css}");
    }
    for key in TOTALS {
        let css = format!("#proposal-overlap [data-figure='{key}']");
        assert_eq!(data_of(browser, &css, "before").await, impact["overlapBefore"]["totals"][key].to_string(), "{css}");
        assert_eq!(data_of(browser, &css, "after").await, impact["overlapAfter"]["totals"][key].to_string(), "{css}");
    }
    for group in impact["candidates"].as_array().expect("candidates") {
        let css = format!(
            "#proposal-candidates [data-candidates='{}/{}/{}']",
            group["sector"]["code"].as_str().expect("code"),
            group["domain"]["code"].as_str().expect("code"),
            group["side"].as_str().expect("side")
        );
        assert_eq!(browser.text(&css).await, group["operatorCount"].to_string(), "{css}");
    }
    assert_eq!(data_of(browser, "#proposal-ending", "count").await, impact["endingDesignationCount"].to_string());
    assert_eq!(data_of(browser, "#proposal-ending", "operators").await, impact["endingOperatorCount"].to_string());
    for rule in impact["obligationChanges"].as_array().expect("obligations") {
        let row =
            format!("#proposal-obligations [data-obligation='{}']", rule["obligation"]["code"].as_str().expect("code"));
        let expected = [&rule["subjectBefore"], &rule["wouldStart"], &rule["wouldStop"], &rule["candidatesWouldStart"]];
        assert_eq!(counts_in(browser, &row).await, json!(expected), "{row}");
    }
    for ministry in impact["byMinistry"].as_array().expect("ministries") {
        let row =
            format!("#proposal-ministries [data-ministry='{}']", ministry["ministry"]["code"].as_str().expect("code"));
        assert_eq!(
            counts_in(browser, &row).await,
            json!([ministry["operatorsGained"], ministry["operatorsLost"]]),
            "{row}"
        );
    }
}

const MARKS: &str = "query($id: ID!) { scopeProposal(id: $id) { proposedScope {
    sectors { sector { code } change scopeItems { scopeItem { code } change } }
    businessDomains { domain { code } change scopeItems { scopeItem { code } change } }
    crosswalk { crosswalkLink { domain { code } } change }
    scopeItemCrosswalk { scopeItemLink { sectorItem { code } } change } } } }";

/// The proposal's crosswalk on the page carries the marks its `proposedScope` answers:
/// each sector and domain drawn with its mark (or none), each marked scope item, link
/// and scope-item link with its mark.
async fn marks_match(browser: &Browser, app: &TestApp, id: &str, token: &str) {
    let scope = app.data(MARKS, json!({ "id": id }), Some(token)).await["scopeProposal"]["proposedScope"].clone();
    let code = |v: &Value| v["code"].as_str().expect("code").to_owned();
    let mark = |record: &Value| record["change"].as_str().map(str::to_lowercase);
    let drawn = |css: String| async move { assert!(browser.count(&css).await > 0, "{css} is not drawn") };
    for (list, key) in [("sectors", "sector"), ("businessDomains", "domain")] {
        for field in scope[list].as_array().expect("fields") {
            let cell = format!("#proposal-crosswalk td[data-{key}='{}']", code(&field[key]));
            let shown = data_of(browser, &cell, "mark").await;
            assert_eq!(shown.as_str().map(str::to_owned), mark(field), "{cell}");
            for item in field["scopeItems"].as_array().expect("items") {
                if let Some(m) = mark(item) {
                    drawn(format!("{cell} [data-item='{}'][data-mark='{m}']", code(&item["scopeItem"]))).await;
                }
            }
        }
    }
    for link in scope["crosswalk"].as_array().expect("links") {
        if let Some(m) = mark(link) {
            let domain = code(&link["crosswalkLink"]["domain"]);
            drawn(format!("#proposal-crosswalk tr[data-mark='{m}']:has(td[data-domain='{domain}'])")).await;
        }
    }
    for link in scope["scopeItemCrosswalk"].as_array().expect("links") {
        if let Some(m) = mark(link) {
            let item = code(&link["scopeItemLink"]["sectorItem"]);
            let sector = item.split('/').next().expect("a parent");
            drawn(format!(
                "#proposal-crosswalk td[data-sector='{sector}'] [data-item='{item}'] .item-link[data-mark='{m}']"
            ))
            .await;
        }
    }
}

/// The numbers in the count cells of the row matching `row`.
async fn counts_in(browser: &Browser, row: &str) -> Value {
    browser.wait_for(row).await;
    let script = "return [...document.querySelectorAll(`${arguments[0]} td.num`)].map((e) => Number(e.innerText))";
    browser.script(script, vec![json!(row)]).await
}

/// A warehousing sub-business added to trucking and linked to CI warehousing, a CI gas
/// service retired, the petroleum link removed.
fn scope_item_changes() -> [Value; 4] {
    [
        json!({ "addScopeItem": { "parent": "trucking", "code": "warehousing", "nameJa": "倉庫業（試案）",
            "nameEn": "Warehousing (draft)", "regime": "ESPA" } }),
        json!({ "setScopeItemLink": { "sectorItem": "logistics/warehousing", "domainItem": "trucking/warehousing",
            "relation": "EQUAL", "rationale": "The same warehouses." } }),
        json!({ "retireScopeItem": { "code": "gas/gas-manufacturing", "regime": "CI" } }),
        json!({ "removeLink": { "sector": "petroleum", "domain": "petroleum" } }),
    ]
}

/// Chooses the proposal `id` in the list and waits for its crosswalk.
async fn open_proposal(browser: &Browser, id: &str) {
    browser.click(&format!("#proposals-table tr[data-proposal='{id}'] .proposal-link")).await;
    browser.wait_for(&format!("#proposal-crosswalk[data-proposal='{id}']")).await;
}

/// A live link at `DAY` and a relation it does not have, for a proposal that changes it.
async fn a_link_to_change(app: &TestApp) -> (String, String, &'static str) {
    let links = app.data(LINKS, json!({ "d": DAY }), None).await;
    let link = links["crosswalk"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["sector"]["code"] == "electricity")
        .expect("a link")
        .clone();
    let other = if link["relation"] == "INTERSECTS_WITH" { "EQUAL" } else { "INTERSECTS_WITH" };
    (
        link["sector"]["code"].as_str().expect("code").to_owned(),
        link["domain"]["code"].as_str().expect("code").to_owned(),
        other,
    )
}

async fn the_proposals_view(app: TestApp) -> TestApp {
    let Some(paths) = BrowserPaths::find() else { return app };
    let seeded = app.cli(&["seed", "--demo", "--seed-dir", seed_dir().to_str().expect("utf-8 path")]);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let policy = app.token("policy", None);
    let reader = app.token("reader", None);
    // The README's example, and a second proposal that ends postal and changes a link.
    let (medical, _) =
        drafted(&app, &policy, "医療を基幹インフラに", &[add_medical_domain(), link_medical(), medical_jurisdiction()])
            .await;
    let (sector, domain, relation) = a_link_to_change(&app).await;
    let change_link = json!({ "setLink": { "sector": sector, "domain": domain, "relation": relation, "rationale": "A narrower reading." } });
    let (postal, _) =
        drafted(&app, &policy, "郵便を外す", &[json!({ "retireDomain": { "code": "postal" } }), change_link]).await;
    let (items, _) = drafted(&app, &policy, "倉庫業を対応づけ、石油の対応をなくす", &scope_item_changes()).await;

    let browser = Browser::start(&paths, 1280, 1400).await;
    browser.client.goto(&format!("{}/?lang=ja", app.address)).await.expect("load the page");
    assert!(browser.text("#proposals-notice").await.contains("トークンが必要"), "proposals need a token");
    enter_token(&browser, &reader).await;

    // The list, as scopeProposals answers.
    browser.wait_for("#proposals-table").await;
    let list = app.data(LIST, json!({}), Some(&reader)).await["scopeProposals"].clone();
    let list = list.as_array().expect("proposals");
    assert_eq!(list.len(), 3);
    assert_eq!(browser.count("#proposals-table tbody tr").await, 3);
    for proposal in list {
        let row = browser
            .text(&format!("#proposals-table tr[data-proposal='{}']", proposal["id"].as_str().expect("id")))
            .await;
        for value in [&proposal["title"], &proposal["effectiveFrom"], &proposal["createdBy"]] {
            assert!(row.contains(value.as_str().expect("text")), "{row} lacks {value}");
        }
        assert!(row.contains("検討中") && row.contains(&proposal["version"].to_string()), "{row}");
    }

    // One proposal: its crosswalk at its date with the new domain and link marked, CI
    // medical no longer without a domain; the live map as it was.
    open_proposal(&browser, &medical).await;
    assert!(browser.client.current_url().await.expect("url").as_str().contains(&format!("proposal={medical}")));
    let added = "#proposal-crosswalk tr[data-mark='added']";
    assert!(browser.count(&format!("{added} [data-sector='medical']")).await == 1, "the new link's row");
    assert_eq!(data_of(&browser, "#proposal-crosswalk td[data-domain='medical']", "mark").await, "added");
    assert!(browser.text(&format!("{added} .relation-cell")).await.contains("同一"), "EQUAL");
    assert_eq!(browser.count("#proposal-crosswalk [data-sector='medical'][data-counterpart='none']").await, 0);
    assert_eq!(browser.count("#proposal-crosswalk [data-sector='chemicals'][data-counterpart='none']").await, 1);
    assert_eq!(browser.count("#crosswalk [data-sector='medical'][data-counterpart='none']").await, 1, "live unchanged");
    browser.wait_for("#proposal-closed [data-code='medical']").await;
    let impact =
        app.data(&impact_query(), json!({ "id": medical }), Some(&reader)).await["scopeProposal"]["impact"].clone();
    assert_eq!(impact["newlyCovered"]["sectors"], json!([{ "code": "medical" }]));
    impact_matches(&browser, &impact).await;
    marks_match(&browser, &app, &medical, &reader).await;

    // A link's candidates open the operator list: the CI medical operators without ESPA.
    let espa = impact["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .find(|g| g["side"] == "ESPA")
        .expect("ESPA side")
        .clone();
    assert_eq!(espa["operatorCount"], 2, "the README's example");
    browser.click("#proposal-candidates [data-candidates='medical/medical/ESPA']").await;
    browser.wait_for_text("#operators-heading", "医療 ↔ 医療：基幹インフラでの指定の候補となる事業者").await;
    browser.wait_for("#operators table[data-total='2']").await;
    assert_eq!(listed(&browser).await, numbers(&espa["operators"]));

    // The other proposal: postal ended, the link changed, postal's designations ending.
    open_proposal(&browser, &postal).await;
    assert_eq!(data_of(&browser, "#proposal-crosswalk td[data-domain='postal']", "mark").await, "retired");
    let changed = format!("#proposal-crosswalk tr[data-mark='changed']:has([data-domain='{domain}'])");
    assert!(browser.text(&format!("{changed} .relation-cell")).await.contains("→"), "before → after");
    let impact =
        app.data(&impact_query(), json!({ "id": postal }), Some(&reader)).await["scopeProposal"]["impact"].clone();
    assert!(impact["endingDesignationCount"].as_i64().expect("count") > 0, "postal's designations end");
    impact_matches(&browser, &impact).await;
    marks_match(&browser, &app, &postal, &reader).await;

    // Side by side, as compareScopeProposals answers; the address keeps both.
    browser.click(&format!("#proposals-table tr[data-proposal='{medical}'] .compare-link")).await;
    browser.wait_for(&format!("#proposal-compare [data-a='{postal}'][data-b='{medical}']")).await;
    let compared =
        app.data(COMPARE, json!({ "a": postal, "b": medical }), Some(&reader)).await["compareScopeProposals"].clone();
    assert_eq!(compared["same"], false);
    let check_compare = async |browser: &Browser| {
        for key in TOTALS {
            let row = format!("#compare-figures [data-figure='{key}']");
            assert_eq!(
                browser.text(&format!("{row} td.a")).await,
                compared["impactA"]["overlapAfter"]["totals"][key].to_string()
            );
            assert_eq!(
                browser.text(&format!("{row} td.b")).await,
                compared["impactB"]["overlapAfter"]["totals"][key].to_string()
            );
        }
        assert_eq!(
            browser.text("#compare-figures [data-figure='ending'] td.a").await,
            compared["impactA"]["endingDesignationCount"].to_string()
        );
        let differences = compared["differences"].as_array().expect("differences");
        assert_eq!(browser.count("#compare-differences tbody tr").await, differences.len());
        for difference in differences {
            let css = format!(
                "#compare-differences [data-difference='{}:{}'] td.a",
                difference["kind"].as_str().expect("kind"),
                difference["subject"].as_str().expect("subject")
            );
            assert_eq!(browser.text(&css).await, difference["a"].as_str().unwrap_or("—"), "{css}");
        }
    };
    check_compare(&browser).await;
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().contains(&format!("compare={medical}")), "{url}");
    browser.client.goto(url.as_str()).await.expect("reload");
    browser.wait_for(&format!("#proposal-compare [data-a='{postal}'][data-b='{medical}']")).await;
    check_compare(&browser).await;

    // Scope items and their links: added, linked, retired; a link removed with its
    // scope-item links, leaving both petroleum fields without a counterpart.
    open_proposal(&browser, &items).await;
    let drawn = "#proposal-crosswalk";
    assert_eq!(data_of(&browser, &format!("{drawn} [data-item='trucking/warehousing']"), "mark").await, "added");
    assert_eq!(data_of(&browser, &format!("{drawn} td[data-domain='trucking']"), "mark").await, "changed");
    let warehousing = format!("{drawn} td[data-sector='logistics'] [data-item='logistics/warehousing']");
    assert_eq!(data_of(&browser, &format!("{warehousing} .item-link"), "mark").await, "added");
    assert_eq!(browser.count(&format!("{warehousing}.uncovered")).await, 0, "covered now");
    let manufacturing = "[data-item='gas/gas-manufacturing']";
    assert_eq!(data_of(&browser, &format!("{drawn} td[data-sector='gas'] {manufacturing}"), "mark").await, "retired");
    assert_eq!(
        data_of(&browser, &format!("{drawn} td[data-domain='gas'] {manufacturing} .item-link"), "mark").await,
        "retired"
    );
    assert_eq!(data_of(&browser, &format!("{drawn} tr:has([data-sector='petroleum'])"), "mark").await, "retired");
    assert_eq!(browser.count(&format!("{drawn} td[data-sector='petroleum'] .item-link[data-mark='retired']")).await, 2);
    assert_eq!(browser.count(&format!("{drawn} td[data-sector='petroleum'][data-counterpart='none']")).await, 1);
    assert_eq!(browser.count(&format!("{drawn} tr.no-counterpart td[data-domain='petroleum']")).await, 1);
    let impact =
        app.data(&impact_query(), json!({ "id": items }), Some(&reader)).await["scopeProposal"]["impact"].clone();
    impact_matches(&browser, &impact).await;
    marks_match(&browser, &app, &items, &reader).await;

    // The picture in the README: the medical proposal with its crosswalk and impact.
    open_proposal(&browser, &medical).await;
    browser.click("#proposal-crosswalk tr[data-mark='added'] [data-sector='medical'] summary").await;
    let height = browser.script("return document.getElementById('proposals-section').scrollHeight", vec![]).await;
    let height = u32::try_from(height.as_u64().expect("a height")).unwrap_or(4000).min(8000);
    browser.client.set_window_size(1280, height + 200).await.expect("resize");
    browser.screenshot_element("#proposals-section", &artifacts_dir().join("scope-map-proposals.png")).await;

    // In English, the view and its marks too.
    browser.click("#lang-en").await;
    browser.wait_for_text("#proposals-heading", "Scope revision proposals").await;
    browser.wait_for_text("#proposal-crosswalk td[data-domain='medical'] .mark-badge", "Added").await;
    browser.close().await;
    app
}

e2e!(the_proposals_view);
