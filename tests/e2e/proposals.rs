//! Scope revision proposals end to end: who may draft and promote, the one-of change
//! input, stale versions, drafting that changes nothing live, the impact against
//! figures worked out by hand, promotion (effective-dated, ending designations on what
//! it retires, kept by a later seed), conflicting promotions, and a promotion through
//! one instance seen by a subscriber on another.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::audit::events;
use crate::fixtures::{ci, cn, designate, espa, register_all};
use crate::instances::Deployment;
use crate::support::{Api, TestApp, error_code};
use crate::ws::{GraphqlSocket, REFERENCE_DATA_CHANGED};
use crate::{e2e, e2e_postgres};

const CREATE: &str = "mutation($i: CreateScopeProposalInput!) { createScopeProposal(input: $i) {
    id title status effectiveFrom version createdBy changes { index kind summary } } }";
const ADD: &str = "mutation($id: ID!, $v: Int!, $change: ScopeChangeInput!) {
    addScopeProposalChange(input: { proposalId: $id, expectedVersion: $v, change: $change }) {
        version status changes { index kind summary } } }";
const REMOVE: &str = "mutation($id: ID!, $v: Int!, $index: Int!) {
    removeScopeProposalChange(input: { proposalId: $id, expectedVersion: $v, index: $index }) { version } }";
const PROMOTE: &str =
    "mutation($id: ID!, $v: Int!) { promoteScopeProposal(input: { id: $id, expectedVersion: $v }) { status version } }";
const WITHDRAW: &str = "mutation($id: ID!, $v: Int!) { withdrawScopeProposal(input: { id: $id, expectedVersion: $v }) { status version } }";
const IMPACT: &str = "query($id: ID!) { scopeProposal(id: $id) { status version impact {
    asOf
    gapsBefore { sectorsWithoutDomain { code } domainsWithoutSector { code } }
    gapsAfter { sectorsWithoutDomain { code } domainsWithoutSector { code } }
    newlyCovered { sectors { code } domains { code } }
    overlapBefore { totals { both espaOnly ciOnly } }
    overlapAfter { totals { both espaOnly ciOnly } cells { sector { code } domain { code } operatorCount } }
    endingDesignationCount
    endingDesignations(first: 10) { totalCount edges { node { id sector { code } } } }
    candidates { sector { code } domain { code } side change operatorCount
                 operators(first: 10) { totalCount edges { node { corporateNumber } } } }
    obligationChanges { obligation { code } triggeredBy subjectBefore wouldStop candidatesWouldStart }
    byMinistry { ministry { code } gainsSectors { code } gainsDomains { code } losesSectors { code }
                 operatorsGained operatorsLost } } } }";

/// The README's example date.
pub(crate) const DAY: &str = "2027-04-01";

fn codes(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap().to_owned()).collect()
}

pub(crate) fn add_medical_domain() -> Value {
    json!({ "addDomain": { "code": "medical", "nameJa": "医療", "nameEn": "Medical care", "ministry": "MHLW",
        "scopeItems": [{ "code": "medical-care", "nameJa": "診療", "nameEn": "Medical treatment" }] } })
}

pub(crate) fn link_medical() -> Value {
    json!({ "setLink": { "sector": "medical", "domain": "medical", "relation": "EQUAL",
        "rationale": "ESPA would designate the same medical care providers." } })
}

pub(crate) fn medical_jurisdiction() -> Value {
    json!({ "setJurisdiction": { "ministry": "MHLW", "domain": "medical" } })
}

/// Creates a proposal from `DAY` as `token` and adds `changes`; its id and version.
pub(crate) async fn drafted(app: &impl Api, token: &str, title: &str, changes: &[Value]) -> (String, u64) {
    let created = app.data(CREATE, json!({ "i": { "title": title, "effectiveFrom": DAY } }), Some(token)).await;
    let id = created["createScopeProposal"]["id"].as_str().unwrap().to_owned();
    let mut version = 1;
    for change in changes {
        let added = app.data(ADD, json!({ "id": id, "v": version, "change": change }), Some(token)).await;
        version = added["addScopeProposalChange"]["version"].as_u64().unwrap();
    }
    (id, version)
}

/// What the live scope answers at `DAY`, as one value to compare before and after.
async fn live_scope(app: &TestApp, token: &str) -> Value {
    app.data(
        "query($d: Date) { sectors(asOf: $d) { code } businessDomains(asOf: $d) { code }
            crosswalk(asOf: $d) { sector { code } domain { code } relation }
            scopeGaps(asOf: $d) { sectorsWithoutDomain { code } domainsWithoutSector { code } }
            overlap(asOf: $d) { totals { both espaOnly ciOnly } cells { operatorCount } } }",
        json!({ "d": DAY }),
        Some(token),
    )
    .await
}

async fn domains_on(app: &impl Api, day: &str, token: &str) -> Vec<String> {
    let data =
        app.data("query($d: Date) { businessDomains(asOf: $d) { code } }", json!({ "d": day }), Some(token)).await;
    codes(&data["businessDomains"])
}

async fn drafting_follows_the_rules_and_changes_nothing_live(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let policy = app.token("policy", None);
    let reader = app.token("reader", None);
    let mhlw = app.token("ministry", Some("MHLW"));
    let before = live_scope(&app, &reader).await;

    // Who may draft.
    let create = json!({ "i": { "title": "医療を基幹インフラに", "effectiveFrom": DAY } });
    assert_eq!(error_code(&app.graphql(CREATE, create.clone(), None).await), "UNAUTHENTICATED");
    for refused in [&reader, &mhlw] {
        assert_eq!(error_code(&app.graphql(CREATE, create.clone(), Some(refused)).await), "FORBIDDEN");
    }
    let past = json!({ "i": { "title": "過去", "effectiveFrom": "2020-01-01" } });
    assert_eq!(error_code(&app.graphql(CREATE, past, Some(&policy)).await), "BAD_USER_INPUT");
    let created = app.data(CREATE, create, Some(&policy)).await["createScopeProposal"].clone();
    assert_eq!((created["status"].as_str(), created["version"].as_u64()), (Some("DRAFT"), Some(1)));
    assert!(created["createdBy"].as_str().unwrap().starts_with("token:"));
    let id = created["id"].as_str().unwrap().to_owned();

    // The one-of input: exactly one field.
    let two = json!({ "retireSector": { "code": "chemicals" }, "retireDomain": { "code": "postal" } });
    for change in [two, json!({})] {
        let body = app.graphql(ADD, json!({ "id": id, "v": 1, "change": change }), Some(&policy)).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    }
    let both = json!({ "setJurisdiction": { "ministry": "MHLW", "sector": "medical", "domain": "water" } });
    let body = app.graphql(ADD, json!({ "id": id, "v": 1, "change": both }), Some(&policy)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    // A change that cannot apply is refused naming it; nothing is stored.
    let dangling = json!({ "setLink": { "sector": "medical", "domain": "medical", "relation": "EQUAL",
        "rationale": "まだ無い" } });
    let body = app.graphql(ADD, json!({ "id": id, "v": 1, "change": dangling }), Some(&policy)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("change 0 (setLink medical → medical (EQUAL))"), "{message}");
    for refused in [
        json!({ "retireDomain": { "code": "medical" } }),
        json!({ "addSector": { "code": "medical",
        "nameJa": "医療", "nameEn": "Medical", "ministry": "MHLW" } }),
    ] {
        let body = app.graphql(ADD, json!({ "id": id, "v": 1, "change": refused }), Some(&policy)).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    }

    // Versions: a stale one is a conflict.
    let added = app.data(ADD, json!({ "id": id, "v": 1, "change": add_medical_domain() }), Some(&policy)).await;
    assert_eq!(added["addScopeProposalChange"]["version"], 2);
    let body = app.graphql(ADD, json!({ "id": id, "v": 1, "change": link_medical() }), Some(&policy)).await;
    assert_eq!(error_code(&body), "CONFLICT");
    app.data(ADD, json!({ "id": id, "v": 2, "change": link_medical() }), Some(&admin)).await;
    let added = app.data(ADD, json!({ "id": id, "v": 3, "change": medical_jurisdiction() }), Some(&policy)).await;
    let changes = &added["addScopeProposalChange"]["changes"];
    assert_eq!(
        changes.as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect::<Vec<_>>(),
        ["addDomain", "setLink", "setJurisdiction"]
    );
    // The domain cannot go while the link to it stays.
    let body = app.graphql(REMOVE, json!({ "id": id, "v": 4, "index": 0 }), Some(&policy)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(
        error_code(&app.graphql(REMOVE, json!({ "id": id, "v": 4, "index": 2 }), Some(&reader)).await),
        "FORBIDDEN"
    );
    let removed = app.data(REMOVE, json!({ "id": id, "v": 4, "index": 2 }), Some(&policy)).await;
    assert_eq!(removed["removeScopeProposalChange"]["version"], 5);

    // Everyone with a token reads it; nothing live changed.
    for who in [&reader, &mhlw, &policy] {
        let read = app.data(IMPACT, json!({ "id": id }), Some(who)).await;
        assert_eq!(read["scopeProposal"]["version"], 5);
    }
    assert_eq!(error_code(&app.graphql(IMPACT, json!({ "id": id }), None).await), "UNAUTHENTICATED");
    let listed = app.data("{ scopeProposals(status: DRAFT) { id } }", json!({}), Some(&reader)).await;
    assert_eq!(listed["scopeProposals"].as_array().unwrap().len(), 1);
    assert_eq!(live_scope(&app, &reader).await, before, "drafting changes nothing live");

    // Only admins promote; a withdrawn proposal no longer changes.
    assert_eq!(error_code(&app.graphql(PROMOTE, json!({ "id": id, "v": 5 }), Some(&policy)).await), "FORBIDDEN");
    let withdrawn = app.data(WITHDRAW, json!({ "id": id, "v": 5 }), Some(&policy)).await;
    assert_eq!(withdrawn["withdrawScopeProposal"]["status"], "WITHDRAWN");
    let body = app.graphql(ADD, json!({ "id": id, "v": 6, "change": medical_jurisdiction() }), Some(&policy)).await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert_eq!(error_code(&app.graphql(PROMOTE, json!({ "id": id, "v": 6 }), Some(&admin)).await), "CONFLICT");
    assert_eq!(live_scope(&app, &reader).await, before);

    // Every action is in the trail, the refused ones too.
    let trail = events(&app, &admin, json!({ "entityType": "SCOPE_PROPOSAL" })).await;
    let actions: Vec<(&str, &str)> =
        trail.iter().map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap())).collect();
    for expected in [
        ("CREATE_SCOPE_PROPOSAL", "DENIED"),
        ("CREATE_SCOPE_PROPOSAL", "SUCCEEDED"),
        ("ADD_SCOPE_PROPOSAL_CHANGE", "SUCCEEDED"),
        ("REMOVE_SCOPE_PROPOSAL_CHANGE", "DENIED"),
        ("REMOVE_SCOPE_PROPOSAL_CHANGE", "SUCCEEDED"),
        ("PROMOTE_SCOPE_PROPOSAL", "DENIED"),
        ("WITHDRAW_SCOPE_PROPOSAL", "SUCCEEDED"),
    ] {
        assert!(actions.contains(&expected), "{expected:?} in {actions:?}");
    }
    let withdrawal = trail.iter().find(|e| e["action"] == "WITHDRAW_SCOPE_PROPOSAL").unwrap();
    assert_eq!(
        (withdrawal["before"]["status"].as_str(), withdrawal["after"]["status"].as_str()),
        (Some("DRAFT"), Some("WITHDRAWN"))
    );
    app
}

/// The README's example on a constructed registry: three CI medical operators (one
/// also ESPA-designated in electricity), one ESPA-only electricity operator. Worked by
/// hand: medical leaves the sectors without a domain; the new cell medical–medical has
/// no operator; the ESPA-side candidates are exactly the three CI medical operators (the
/// CI side has none); ESPA duties would reach two more operators (the third is ESPA-
/// designated already); MHLW gains the domain and would designate the three.
async fn the_readme_example_is_promoted_and_survives_a_seed(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let policy = app.token("policy", None);
    let numbers: Vec<String> = (1..=4).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    for number in &numbers[..3] {
        designate(&app, &admin, ci(number, "medical", "2024-01-01")).await;
    }
    designate(&app, &admin, espa(&numbers[2], "electricity", "2024-05-17")).await;
    designate(&app, &admin, espa(&numbers[3], "electricity", "2024-05-17")).await;

    let (id, version) =
        drafted(&app, &policy, "医療を基幹インフラに", &[add_medical_domain(), link_medical(), medical_jurisdiction()])
            .await;
    let impact = app.data(IMPACT, json!({ "id": id }), Some(&policy)).await["scopeProposal"]["impact"].clone();
    assert_eq!(impact["asOf"], DAY);
    assert!(codes(&impact["gapsBefore"]["sectorsWithoutDomain"]).contains(&"medical".to_owned()));
    assert!(!codes(&impact["gapsAfter"]["sectorsWithoutDomain"]).contains(&"medical".to_owned()));
    assert_eq!(codes(&impact["newlyCovered"]["sectors"]), ["medical"]);
    assert_eq!(codes(&impact["newlyCovered"]["domains"]), ["medical"]);
    assert_eq!(impact["overlapBefore"]["totals"], json!({ "both": 1, "espaOnly": 1, "ciOnly": 2 }));
    assert_eq!(impact["overlapAfter"]["totals"], impact["overlapBefore"]["totals"]);
    let cells = impact["overlapAfter"]["cells"].as_array().unwrap();
    let cell = cells.iter().find(|c| c["sector"]["code"] == "medical" && c["domain"]["code"] == "medical");
    assert_eq!(cell.expect("the new cell")["operatorCount"], 0);
    assert_eq!(impact["endingDesignationCount"], 0);
    let candidates = impact["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 2, "{candidates:#?}");
    let espa_side = &candidates[0];
    assert_eq!(
        (espa_side["sector"]["code"].as_str(), espa_side["domain"]["code"].as_str(), espa_side["side"].as_str()),
        (Some("medical"), Some("medical"), Some("ESPA"))
    );
    assert_eq!((espa_side["change"].as_str(), espa_side["operatorCount"].as_u64()), (Some("ADDED"), Some(3)));
    let listed: Vec<&str> = espa_side["operators"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["corporateNumber"].as_str().unwrap())
        .collect();
    let mut medical: Vec<&str> = numbers[..3].iter().map(String::as_str).collect();
    medical.sort_unstable();
    assert_eq!(listed, medical, "in corporate-number order");
    assert_eq!((candidates[1]["side"].as_str(), candidates[1]["operatorCount"].as_u64()), (Some("CI"), Some(0)));
    for change in impact["obligationChanges"].as_array().unwrap() {
        let (subject, would) = match change["triggeredBy"].as_str().unwrap() {
            "ESPA" => (2, 2),
            _ => (3, 0),
        };
        assert_eq!(
            (change["subjectBefore"].as_u64(), change["wouldStop"].as_u64(), change["candidatesWouldStart"].as_u64()),
            (Some(subject), Some(0), Some(would)),
            "{change}"
        );
    }
    let ministries = impact["byMinistry"].as_array().unwrap();
    assert_eq!(ministries.len(), 1, "{ministries:#?}");
    assert_eq!(ministries[0]["ministry"]["code"], "MHLW");
    assert_eq!(codes(&ministries[0]["gainsDomains"]), ["medical"]);
    assert_eq!(ministries[0]["operatorsGained"], 3);

    // The same figures as an export (UTF-8 with BOM, CRLF), and as JSON.
    let path = format!("/export/proposals/{id}/impact.csv");
    let response = app.request(reqwest::Method::GET, &path).bearer_auth(&policy).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with("\u{feff}section,subject,before,after\r\n"), "{csv}");
    assert!(csv.contains("\r\nsector without domain,medical,yes,no\r\n"), "{csv}");
    assert!(csv.contains("\r\ncandidates,medical:medical:ESPA,,3\r\n"), "{csv}");
    let anonymous = app.request(reqwest::Method::GET, &path).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let json: Value = app
        .request(reqwest::Method::GET, &format!("{path}?format=json"))
        .bearer_auth(&policy)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let overlap = json.as_array().unwrap().iter().find(|r| r["section"] == "overlap total" && r["subject"] == "both");
    assert_eq!(overlap.expect("a row")["after"], "1");

    // Promotion: stale version first, then for real.
    assert_eq!(
        error_code(&app.graphql(PROMOTE, json!({ "id": id, "v": version - 1 }), Some(&admin)).await),
        "CONFLICT"
    );
    let promoted = app.data(PROMOTE, json!({ "id": id, "v": version }), Some(&admin)).await;
    assert_eq!(promoted["promoteScopeProposal"]["status"], "PROMOTED");
    assert_eq!(domains_on(&app, "2027-04-01", &admin).await.len(), 16);
    assert_eq!(domains_on(&app, "2027-03-31", &admin).await.len(), 15);
    let link = app
        .data(
            "{ crosswalk(asOf: \"2027-04-01\") { sector { code } domain { code } relation origin } }",
            json!({}),
            None,
        )
        .await;
    let links = link["crosswalk"].as_array().unwrap();
    let medical = links.iter().find(|l| l["sector"]["code"] == "medical").expect("the promoted link");
    assert_eq!((medical["relation"].as_str(), medical["origin"].as_str()), (Some("EQUAL"), Some("CURATED")));
    let gaps = app.data("{ scopeGaps(asOf: \"2027-04-01\") { sectorsWithoutDomain { code } } }", json!({}), None).await;
    assert!(!codes(&gaps["scopeGaps"]["sectorsWithoutDomain"]).contains(&"medical".to_owned()));
    let ministries = app
        .data("{ businessDomain(code: \"medical\") { ministries(asOf: \"2027-04-01\") { code } } }", json!({}), None)
        .await;
    assert_eq!(codes(&ministries["businessDomain"]["ministries"]), ["MHLW"]);
    // Then it no longer changes.
    let body = app.graphql(ADD, json!({ "id": id, "v": version + 1, "change": link_medical() }), Some(&policy)).await;
    assert_eq!(error_code(&body), "CONFLICT");
    let event = events(&app, &admin, json!({ "action": "PROMOTE_SCOPE_PROPOSAL", "outcome": "SUCCEEDED" })).await;
    assert_eq!(event.len(), 1);
    assert!(event[0]["after"]["rows"]["domains"]["medical"].is_object(), "{:#}", event[0]["after"]);

    // A seed from the unchanged seed-data keeps what the promotion wrote.
    let output = app.cli(&["seed"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(domains_on(&app, "2027-04-01", &admin).await.len(), 16, "{}", String::from_utf8_lossy(&output.stdout));
    let again =
        app.data("{ crosswalk(asOf: \"2027-04-01\") { sector { code } origin } }", json!({}), Some(&admin)).await;
    assert!(again["crosswalk"].as_array().unwrap().iter().any(|l| l["sector"]["code"] == "medical"));
    app
}

const PROPOSED: &str = "query($id: ID!) { scopeProposal(id: $id) { proposedScope { asOf
    sectors { sector { code } change scopeItems { scopeItem { code } change } }
    businessDomains { domain { code ministries { code } } change scopeItems { scopeItem { code } change } }
    crosswalk { crosswalkLink { sector { code } domain { code } relation } change relationBefore }
    scopeItemCrosswalk { scopeItemLink { sectorItem { code } domainItem { code } relation } change relationBefore } } } }";

/// A proposed scope's marked records, each "code CHANGE" (a field's scope items after
/// it), a link "ci → espa RELATION CHANGE" with "(was RELATION)" when changed.
fn marks(scope: &Value) -> Vec<String> {
    let mark = |record: &Value, label: String| record["change"].as_str().map(|change| format!("{label} {change}"));
    let mut marked = Vec::new();
    for (list, key) in [("sectors", "sector"), ("businessDomains", "domain")] {
        for field in scope[list].as_array().unwrap() {
            marked.extend(mark(field, format!("{key} {}", field[key]["code"].as_str().unwrap())));
            for item in field["scopeItems"].as_array().unwrap() {
                marked.extend(mark(item, item["scopeItem"]["code"].as_str().unwrap().to_owned()));
            }
        }
    }
    for (list, record, ci, espa) in LINK_LISTS {
        for link in scope[list].as_array().unwrap() {
            let ends = &link[record];
            let label = format!("{} → {} {}", ends[ci]["code"], ends[espa]["code"], ends["relation"]).replace('"', "");
            let before = link["relationBefore"].as_str().map(|r| format!(" (was {r})")).unwrap_or_default();
            marked.extend(mark(link, label).map(|m| m + &before));
        }
    }
    marked
}

/// The two lists of links of a proposed scope: its name, the field of each entry that
/// holds the link, and the fields of the link's two ends.
const LINK_LISTS: [(&str, &str, &str, &str); 2] = [
    ("crosswalk", "crosswalkLink", "sector", "domain"),
    ("scopeItemCrosswalk", "scopeItemLink", "sectorItem", "domainItem"),
];

/// The pairs ("ci → espa") of the links in the list `list` of `data` (a live answer or a
/// proposed scope, whose entries hold their link under the `LINK_LISTS` field).
fn pairs(data: &Value, list: usize) -> Vec<String> {
    let (name, record, ci, espa) = LINK_LISTS[list];
    let pair = |l: &Value| format!("{} → {}", l[ci]["code"].as_str().unwrap(), l[espa]["code"].as_str().unwrap());
    data[name].as_array().unwrap().iter().map(|l| pair(l.get(record).unwrap_or(l))).collect()
}

/// `proposedScope` on the seed data, worked by hand: the README's example adds domain
/// medical with its scope item and the link medical–medical EQUAL, and marks nothing
/// else; a proposal retiring CI gas/gas-manufacturing and ESPA postal and changing the
/// gas link marks CI gas changed, the item and its scope-item link, postal and its item
/// retired (postal as it stands live: with its ministry), the gas link SUBSET_OF →
/// INTERSECTS_WITH. Promoted, the scope is the live one, unmarked.
async fn the_proposed_scope_marks_what_a_proposal_adds_retires_and_changes(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let policy = app.token("policy", None);
    let reader = app.token("reader", None);
    let (medical, version) =
        drafted(&app, &policy, "医療を基幹インフラに", &[add_medical_domain(), link_medical(), medical_jurisdiction()])
            .await;
    assert_eq!(error_code(&app.graphql(PROPOSED, json!({ "id": medical }), None).await), "UNAUTHENTICATED");
    let scope =
        app.data(PROPOSED, json!({ "id": medical }), Some(&reader)).await["scopeProposal"]["proposedScope"].clone();
    assert_eq!(scope["asOf"], DAY);
    assert_eq!(marks(&scope), ["domain medical ADDED", "medical/medical-care ADDED", "medical → medical EQUAL ADDED"]);
    let live = app
        .data(
            "query($d: Date) { sectors(asOf: $d) { code } businessDomains(asOf: $d) { code }
                crosswalk(asOf: $d) { sector { code } domain { code } }
                scopeItemCrosswalk(asOf: $d) { sectorItem { code } domainItem { code } } }",
            json!({ "d": DAY }),
            None,
        )
        .await;
    let listed = |list: &str, key: &str| -> Vec<String> {
        scope[list].as_array().unwrap().iter().map(|f| f[key]["code"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(listed("sectors", "sector"), codes(&live["sectors"]));
    assert_eq!(listed("businessDomains", "domain"), [codes(&live["businessDomains"]), vec!["medical".into()]].concat());
    let medical_domain = scope["businessDomains"].as_array().unwrap().last().unwrap();
    assert_eq!(codes(&medical_domain["domain"]["ministries"]), ["MHLW"]);
    assert_eq!(pairs(&scope, 0), [pairs(&live, 0), vec!["medical → medical".into()]].concat());
    assert_eq!(pairs(&scope, 1), pairs(&live, 1));

    let changes = [
        json!({ "retireScopeItem": { "code": "gas/gas-manufacturing", "regime": "CI" } }),
        json!({ "retireDomain": { "code": "postal" } }),
        json!({ "setLink": { "sector": "gas", "domain": "gas", "relation": "INTERSECTS_WITH",
            "rationale": "CI gas no longer names gas manufacturing." } }),
    ];
    let (retiring, _) = drafted(&app, &policy, "ガス製造と郵便を外す", &changes).await;
    let scope =
        app.data(PROPOSED, json!({ "id": retiring }), Some(&reader)).await["scopeProposal"]["proposedScope"].clone();
    assert_eq!(
        marks(&scope),
        [
            "sector gas CHANGED",
            "gas/gas-manufacturing RETIRED",
            "domain postal RETIRED",
            "postal/postal-service RETIRED",
            "gas → gas INTERSECTS_WITH CHANGED (was SUBSET_OF)",
            "gas/gas-manufacturing → gas/gas-manufacturing EQUAL RETIRED",
        ]
    );
    let postal = scope["businessDomains"].as_array().unwrap().iter().find(|d| d["domain"]["code"] == "postal").unwrap();
    assert!(!codes(&postal["domain"]["ministries"]).is_empty(), "read as it stands live");

    let promoted = app.data(PROMOTE, json!({ "id": medical, "v": version }), Some(&admin)).await;
    assert_eq!(promoted["promoteScopeProposal"]["status"], "PROMOTED");
    let scope =
        app.data(PROPOSED, json!({ "id": medical }), Some(&reader)).await["scopeProposal"]["proposedScope"].clone();
    assert_eq!(marks(&scope), Vec::<String>::new());
    let domains = scope["businessDomains"].as_array().unwrap();
    assert!(domains.iter().any(|d| d["domain"]["code"] == "medical"), "live now");
    app
}

/// Retiring CI chemicals ends its designations at the date (one that would start later
/// ends at its own start), with the proposal as reason; a second proposal retiring it
/// too then conflicts and writes nothing. Comparison shows where two drafts differ.
async fn a_retirement_ends_designations_and_a_conflicting_promotion_writes_nothing(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let policy = app.token("policy", None);
    let numbers: Vec<String> = (11..=13).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    let open = designate(&app, &admin, ci(&numbers[0], "chemicals", "2024-01-01")).await;
    let later = designate(&app, &admin, ci(&numbers[1], "chemicals", "2028-01-01")).await;
    designate(&app, &admin, ci(&numbers[2], "gas", "2024-01-01")).await;
    let retire = json!({ "retireSector": { "code": "chemicals" } });
    let (first, version) = drafted(&app, &policy, "化学を外す", std::slice::from_ref(&retire)).await;
    let (second, second_version) = drafted(&app, &policy, "化学を外す（別案）", &[retire]).await;
    let (medical, _) = drafted(&app, &policy, "医療", &[add_medical_domain(), link_medical()]).await;

    let impact = app.data(IMPACT, json!({ "id": first }), Some(&policy)).await["scopeProposal"]["impact"].clone();
    assert_eq!(impact["endingDesignationCount"], 2);
    assert_eq!(impact["endingDesignations"]["totalCount"], 2);
    let mut ending: Vec<&str> = impact["endingDesignations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    ending.sort_unstable();
    let mut expected = vec![open.as_str(), later.as_str()];
    expected.sort_unstable();
    assert_eq!(ending, expected);
    assert_eq!(impact["overlapAfter"]["totals"]["ciOnly"], 1, "the gas operator");

    let compare =
        "query($a: ID!, $b: ID!) { compareScopeProposals(a: $a, b: $b) { same differences { kind subject a b } } }";
    let same = app.data(compare, json!({ "a": first, "b": second }), Some(&policy)).await;
    assert_eq!(same["compareScopeProposals"]["same"], true);
    let differ = app.data(compare, json!({ "a": first, "b": medical }), Some(&policy)).await;
    let differences = differ["compareScopeProposals"]["differences"].as_array().unwrap();
    assert_eq!(differ["compareScopeProposals"]["same"], false);
    assert!(
        differences.iter().any(|d| d["kind"] == "ENDING" && d["subject"] == "all" && d["a"] == "2" && d["b"] == "0")
    );

    app.data(PROMOTE, json!({ "id": first, "v": version }), Some(&admin)).await;
    let sectors = |day: &'static str| {
        let app = &app;
        async move {
            let data = app.data("query($d: Date) { sectors(asOf: $d) { code } }", json!({ "d": day }), None).await;
            codes(&data["sectors"])
        }
    };
    assert!(!sectors("2027-04-01").await.contains(&"chemicals".to_owned()));
    assert!(sectors("2027-03-31").await.contains(&"chemicals".to_owned()), "retirement ends, never deletes");
    let history = app
        .data(
            "query($n: String!) { operator(corporateNumber: $n) { designations(includeHistory: true) { id effectiveTo revocationReason } } }",
            json!({ "n": numbers[1] }),
            Some(&admin),
        )
        .await;
    let ended = &history["operator"]["designations"][0];
    assert_eq!(ended["effectiveTo"], "2028-01-01", "it never takes effect");
    assert!(ended["revocationReason"].as_str().unwrap().contains(&first), "{ended}");
    let history = app
        .data(
            "query($n: String!) { operator(corporateNumber: $n) { designations(asOf: \"2027-03-31\") { effectiveTo revocationReason } } }",
            json!({ "n": numbers[0] }),
            Some(&admin),
        )
        .await;
    assert_eq!(history["operator"]["designations"][0]["effectiveTo"], DAY);

    // The second proposal no longer applies: conflict, naming the change; nothing written.
    let trail_before = events(&app, &admin, json!({})).await.len();
    let body = app.graphql(PROMOTE, json!({ "id": second, "v": second_version }), Some(&admin)).await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("retireSector chemicals"), "{body}");
    assert_eq!(events(&app, &admin, json!({})).await.len(), trail_before);
    let status =
        app.data("query($id: ID!) { scopeProposal(id: $id) { status } }", json!({ "id": second }), Some(&admin)).await;
    assert_eq!(status["scopeProposal"]["status"], "DRAFT");
    app
}

/// A promotion through instance A reaches a `referenceDataChanged` subscriber on B, and
/// B serves the promoted scope.
/// A proposal narrows a new jurisdiction to one scope item (co-competence): the ministry
/// gains the item beside the FSA, designates there after promotion and nowhere else.
async fn a_proposal_adds_a_co_competent_ministry_for_one_scope_item(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let policy = app.token("policy", None);
    let narrowed =
        json!({ "setJurisdiction": { "ministry": "MLIT", "domain": "finance", "scopeItem": "funds-transfer" } });
    let (id, version) = drafted(&app, &policy, "資金移動業の共管", &[narrowed]).await;
    let impact = app.data(IMPACT, json!({ "id": id }), Some(&policy)).await["scopeProposal"]["impact"].clone();
    let mlit = impact["byMinistry"].as_array().unwrap().iter().find(|m| m["ministry"]["code"] == "MLIT");
    assert_eq!(codes(&mlit.expect("MLIT gains")["gainsDomains"]), ["finance"], "{impact:#}");
    let wrong = json!({ "setJurisdiction": { "ministry": "MLIT", "domain": "finance", "scopeItem": "electricity/transmission" } });
    let body = app.graphql(ADD, json!({ "id": id, "v": version, "change": wrong }), Some(&policy)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("belongs to"), "{body}");

    let summary = app
        .data("query($id: ID!) { scopeProposal(id: $id) { changes { summary } } }", json!({ "id": id }), Some(&policy))
        .await;
    assert_eq!(
        summary["scopeProposal"]["changes"][0]["summary"],
        "setJurisdiction MLIT over ESPA finance/funds-transfer"
    );
    let promoted = app.data(PROMOTE, json!({ "id": id, "v": version }), Some(&admin)).await;
    assert_eq!(promoted["promoteScopeProposal"]["status"], "PROMOTED");
    let rows = app
        .data(
            "{ businessDomain(code: \"finance\") { jurisdictions(asOf: \"2027-04-01\") { ministry { code } scopeItem { code } validFrom } } }",
            json!({}),
            None,
        )
        .await;
    let rows = rows["businessDomain"]["jurisdictions"].as_array().unwrap().clone();
    assert!(
        rows.contains(&json!({ "ministry": { "code": "MLIT" }, "scopeItem": { "code": "finance/funds-transfer" }, "validFrom": DAY })),
        "{rows:#?}"
    );

    let mlit = app.token("ministry", Some("MLIT"));
    let numbers: Vec<String> = (1..=2).map(cn).collect();
    register_all(&app, &admin, &numbers).await;
    let mut funds = espa(&numbers[0], "finance", DAY);
    funds["scopeItem"] = json!("funds-transfer");
    designate(&app, &mlit, funds.clone()).await;
    let mut banking = espa(&numbers[1], "finance", DAY);
    banking["scopeItem"] = json!("banking");
    let body = app.graphql(crate::fixtures::DESIGNATE, json!({ "input": banking }), Some(&mlit)).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let mut before = espa(&numbers[1], "finance", "2027-03-31");
    before["scopeItem"] = json!("funds-transfer");
    let body = app.graphql(crate::fixtures::DESIGNATE, json!({ "input": before }), Some(&mlit)).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "not before the proposal's date: {body}");
    app
}

async fn a_promotion_through_one_instance_reaches_a_subscriber_on_another(database_url: String) {
    let d = Deployment::start(database_url).await;
    let mut subscriber = GraphqlSocket::connect(&d.b.address, None).await;
    subscriber.subscribe(REFERENCE_DATA_CHANGED, json!({ "after": null })).await;
    let (id, version) = drafted(
        &d.a,
        &d.admin,
        "医療を基幹インフラに",
        &[add_medical_domain(), link_medical(), medical_jurisdiction()],
    )
    .await;
    d.a.data(PROMOTE, json!({ "id": id, "v": version }), Some(&d.admin)).await;
    let change = subscriber.next_item("referenceDataChanged").await;
    assert_eq!(
        (change["action"].as_str(), change["entityType"].as_str(), change["entityId"].as_str()),
        (Some("PROMOTE_SCOPE_PROPOSAL"), Some("SCOPE_PROPOSAL"), Some(id.as_str()))
    );
    let started = Instant::now();
    while domains_on(&d.b, DAY, &d.reader).await.len() != 16 {
        assert!(started.elapsed() < Duration::from_secs(10), "B never served the promoted domain");
    }
    assert_eq!(domains_on(&d.b, "2027-03-31", &d.reader).await.len(), 15);
}

e2e!(
    drafting_follows_the_rules_and_changes_nothing_live,
    the_readme_example_is_promoted_and_survives_a_seed,
    a_retirement_ends_designations_and_a_conflicting_promotion_writes_nothing,
    the_proposed_scope_marks_what_a_proposal_adds_retires_and_changes,
    a_proposal_adds_a_co_competent_ministry_for_one_scope_item,
);

e2e_postgres!(a_promotion_through_one_instance_reaches_a_subscriber_on_another);
