//! Crosswalk curation: effective-dated, audited, served at once, never silently
//! overwritten by a later `seed`.

use chrono::Duration;
use scope_registry::domain::today;
use serde_json::{Value, json};

use crate::audit::{count, events};
use crate::e2e;
use crate::support::{TestApp, error_code};

const UPSERT: &str = "mutation($i: UpsertCrosswalkLinkInput!) { upsertCrosswalkLink(input: $i) {
    sector { code } domain { code } relation rationale source validFrom validTo origin } }";
const REMOVE: &str =
    "mutation($i: RemoveCrosswalkLinkInput!) { removeCrosswalkLink(input: $i) { id action before after } }";
const UPSERT_ITEM: &str = "mutation($i: UpsertScopeItemLinkInput!) { upsertScopeItemLink(input: $i) {
    sectorItem { code } domainItem { code } relation validFrom origin } }";
const REMOVE_ITEM: &str = "mutation($i: RemoveScopeItemLinkInput!) { removeScopeItemLink(input: $i) { id } }";

/// The relation of a sector–domain pair in the crosswalk at `as_of` (None: no link).
async fn relation(app: &TestApp, sector: &str, domain: &str, as_of: &str) -> Option<String> {
    let data = app
        .data(
            "query($d: Date) { crosswalk(asOf: $d) { sector { code } domain { code } relation origin } }",
            json!({ "d": as_of }),
            None,
        )
        .await;
    data["crosswalk"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sector"]["code"] == sector && l["domain"]["code"] == domain)
        .map(|l| format!("{} {}", l["relation"].as_str().unwrap(), l["origin"].as_str().unwrap()))
}

fn day(offset: i64) -> String {
    (today() + Duration::days(offset)).to_string()
}

fn electricity(relation: &str, from: Option<String>) -> Value {
    json!({ "i": { "sector": "electricity", "domain": "electricity", "relation": relation,
        "rationale": "Curated after the 2026 review of the METI ordinance.", "source": "nco-2025-08-26",
        "locator": "table", "effectiveFrom": from, "reason": "方針見直し" } })
}

async fn a_curated_link_shows_under_as_of_before_and_after_it(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let meti = app.token("ministry", Some("METI"));
    assert_eq!(relation(&app, "electricity", "electricity", &day(0)).await.as_deref(), Some("SUBSET_OF SEED"));
    let events_before = count(&app, &admin).await;

    let body = app.graphql(UPSERT, electricity("EQUAL", None), Some(&meti)).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = app.graphql(UPSERT, electricity("EQUAL", Some(day(-1))), Some(&admin)).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "the past is not rewritten");
    let mut unknown = electricity("EQUAL", None);
    unknown["i"]["source"] = json!("rumour");
    assert_eq!(error_code(&app.graphql(UPSERT, unknown, Some(&admin)).await), "BAD_USER_INPUT");
    assert_eq!(count(&app, &admin).await, events_before + 1, "only the denied attempt is recorded");

    let link = app.data(UPSERT, electricity("EQUAL", None), Some(&admin)).await["upsertCrosswalkLink"].clone();
    assert_eq!(link["relation"], "EQUAL");
    assert_eq!(link["origin"], "CURATED");
    assert_eq!(link["validFrom"], day(0).as_str());
    // The running server serves the new snapshot at once; the day before still shows the old link.
    assert_eq!(relation(&app, "electricity", "electricity", &day(0)).await.as_deref(), Some("EQUAL CURATED"));
    assert_eq!(relation(&app, "electricity", "electricity", &day(-1)).await.as_deref(), Some("SUBSET_OF CURATED"));

    let event = events(&app, &admin, json!({ "action": "UPSERT_CROSSWALK_LINK", "outcome": "SUCCEEDED" })).await;
    assert_eq!(event.len(), 1);
    assert_eq!(event[0]["entityId"], "electricity:electricity");
    assert_eq!(event[0]["before"].as_array().unwrap().len(), 1);
    assert_eq!(event[0]["before"][0]["relation"], "SUBSET_OF");
    assert!(event[0]["before"][0]["validTo"].is_null());
    let after = event[0]["after"].as_array().unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(
        (after[0]["relation"].as_str(), after[0]["validTo"].as_str()),
        (Some("SUBSET_OF"), Some(day(0).as_str()))
    );
    assert_eq!((after[1]["relation"].as_str(), after[1]["validFrom"].as_str()), (Some("EQUAL"), Some(day(0).as_str())));
    assert_eq!(event[0]["reason"], "方針見直し");
    let meti_view = events(&app, &meti, json!({ "action": "UPSERT_CROSSWALK_LINK", "outcome": "SUCCEEDED" })).await;
    assert_eq!(meti_view.len(), 1, "electricity is in METI's jurisdiction");

    // The same link again changes nothing; a scheduled change shows from its day on.
    let events_now = count(&app, &admin).await;
    app.data(UPSERT, electricity("EQUAL", None), Some(&admin)).await;
    assert_eq!(count(&app, &admin).await, events_now);
    app.data(UPSERT, electricity("INTERSECTS_WITH", Some(day(30))), Some(&admin)).await;
    assert_eq!(relation(&app, "electricity", "electricity", &day(29)).await.as_deref(), Some("EQUAL CURATED"));
    assert_eq!(
        relation(&app, "electricity", "electricity", &day(30)).await.as_deref(),
        Some("INTERSECTS_WITH CURATED")
    );
    app
}

async fn a_reseed_reports_the_conflict_and_never_overwrites_a_curated_link(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    app.data(UPSERT, electricity("EQUAL", Some(day(10))), Some(&admin)).await;
    let mut gas = electricity("EQUAL", Some(day(10)));
    gas["i"]["sector"] = json!("medical");
    gas["i"]["domain"] = json!("postal");
    app.data(UPSERT, gas, Some(&admin)).await;
    let events_before = count(&app, &admin).await;

    // A seed with an unrelated edit: refused as a whole, naming each conflict.
    let dir = crate::seeding::edited_seed_dir("ministries.toml", "金融庁", "金融庁（編集）");
    let output = app.cli(&["seed", "--seed-dir", dir.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    for words in [
        "conflict",
        "links electricity:electricity",
        "SUBSET_OF always",
        "EQUAL from",
        "links medical:postal",
        "no link",
        "nothing was written",
        "--keep-curated",
    ] {
        assert!(stderr.contains(words), "{words:?} missing in {stderr}");
    }
    assert_eq!(count(&app, &admin).await, events_before);
    assert_eq!(relation(&app, "electricity", "electricity", &day(10)).await.as_deref(), Some("EQUAL CURATED"));
    let ministries = app.data("{ ministries { code nameJa } }", json!({}), None).await;
    assert!(!ministries.to_string().contains("編集"), "nothing was written");

    // Keeping the curated links applies the rest and leaves the curated pairs alone.
    let output = app.cli(&["seed", "--keep-curated", "--seed-dir", dir.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("conflict: links electricity:electricity"), "{stderr}");
    let synced = events(&app, &admin, json!({ "action": "SYNC_REFERENCE_DATA" })).await;
    let last = synced.last().unwrap();
    assert_eq!(last["after"]["ministries"]["FSA"]["name_ja"], "金融庁（編集）");
    assert!(last["after"].get("links").is_none(), "no link was written: {last}");
    // The server reloads reference data when it changes through the API; a fresh look-up
    // through the database shows both the kept curation and the applied edit.
    let stored = scope_registry::storage::reference::load(&app.db.conn).await.unwrap();
    assert!(stored.ministries.iter().any(|m| m.name_ja == "金融庁（編集）"));
    let curated: Vec<_> = stored.links.iter().filter(|l| l.ci == "electricity" && l.espa == "electricity").collect();
    assert_eq!(curated.len(), 2);

    // Once seed-data says what the curation says, the pair counts as seeded again.
    let dir = agreeing_seed_dir(&day(10));
    let output = app.cli(&["seed", "--keep-curated", "--seed-dir", dir.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("adopted: links electricity:electricity"), "{stderr}");
    assert!(stderr.contains("conflict: links medical:postal"), "{stderr}");
    let output = app.cli(&["seed", "--seed-dir", dir.path().to_str().unwrap()]);
    assert!(!output.status.success(), "medical:postal still disagrees");
    // The self-check lists the curated EQUAL, whose items imply SUBSET_OF, with the reason
    // seed-data gives for it.
    let data = app
        .data(
            "query($d: Date) { crosswalkConsistency(asOf: $d) { sector { code } declared implied overrideReason } }",
            json!({ "d": day(10) }),
            None,
        )
        .await;
    let found = &data["crosswalkConsistency"];
    assert_eq!(found[0]["sector"]["code"], "electricity", "{found}");
    assert_eq!(found[0]["implied"], "SUBSET_OF");
    assert!(found[0]["overrideReason"].as_str().unwrap().contains("2026 review"), "{found}");
    app
}

/// seed-data whose electricity link says exactly what the curation of `from` says.
fn agreeing_seed_dir(from: &str) -> tempfile::TempDir {
    let original = r#"[[link]]
sector = "electricity"
domain = "electricity"
relation = "SUBSET_OF""#;
    let dir = crate::seeding::edited_seed_dir("ministries.toml", "金融庁", "金融庁（編集）");
    let path = dir.path().join("crosswalk.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(original).expect("the electricity link");
    let end = start + text[start..].find("\n\n").expect("end of the link");
    let seed_link = &text[start..end];
    let ended = format!("{seed_link}\nvalid_to = \"{from}\"");
    let curated = format!(
        "[[link]]\nsector = \"electricity\"\ndomain = \"electricity\"\nrelation = \"EQUAL\"\n\
         rationale = \"Curated after the 2026 review of the METI ordinance.\"\nvalid_from = \"{from}\"\n\
         source = \"nco-2025-08-26\"\nlocator = \"table\"\n\
         override_reason = \"The 2026 review counts 送電事業 and 配電事業 as parts of 一般送配電事業.\""
    );
    std::fs::write(&path, format!("{}{ended}\n\n{curated}{}", &text[..start], &text[end..])).unwrap();
    dir
}

async fn links_are_removed_scope_items_first_and_stay_in_the_past(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let remove = |from: String| json!({ "i": { "sector": "electricity", "domain": "electricity", "effectiveFrom": from, "reason": "見直し" } });
    let body = app.graphql(REMOVE, remove(day(5)), Some(&admin)).await;
    assert_eq!(error_code(&body), "CONFLICT", "its scope-item links still hold");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("electricity/power-generation"), "{body}");

    let items = app
        .data(
            "query($d: Date) { scopeItemCrosswalk(asOf: $d) { sectorItem { code } domainItem { code } } }",
            json!({ "d": day(0) }),
            None,
        )
        .await;
    let electricity_items: Vec<(String, String)> = items["scopeItemCrosswalk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (l["sectorItem"]["code"].as_str().unwrap().to_owned(), l["domainItem"]["code"].as_str().unwrap().to_owned())
        })
        .filter(|(ci, _)| ci.starts_with("electricity/"))
        .collect();
    assert!(!electricity_items.is_empty());
    for (ci, espa) in &electricity_items {
        let input =
            json!({ "i": { "sectorItem": ci, "domainItem": espa, "effectiveFrom": day(5), "reason": "見直し" } });
        app.data(REMOVE_ITEM, input, Some(&admin)).await;
    }
    let removed = app.data(REMOVE, remove(day(5)), Some(&admin)).await["removeCrosswalkLink"].clone();
    assert_eq!(removed["action"], "REMOVE_CROSSWALK_LINK");
    assert_eq!(removed["before"][0]["relation"], "SUBSET_OF");
    assert_eq!(removed["after"][0]["validTo"], day(5).as_str());
    assert!(relation(&app, "electricity", "electricity", &day(5)).await.is_none());
    assert!(relation(&app, "electricity", "electricity", &day(4)).await.is_some(), "it still held the day before");
    let gaps = app
        .data("query($d: Date) { scopeGaps(asOf: $d) { sectorsWithoutDomain { code } } }", json!({ "d": day(5) }), None)
        .await;
    assert!(gaps.to_string().contains("\"electricity\""), "electricity is a gap from then on: {gaps}");
    let again = app.graphql(REMOVE, remove(day(6)), Some(&admin)).await;
    assert_eq!(error_code(&again), "NOT_FOUND");

    // A scope-item link needs its fields linked on its day.
    let (ci, espa) = &electricity_items[0];
    let item = |from: String| {
        json!({ "i": { "sectorItem": ci, "domainItem": espa, "relation": "EQUAL",
        "rationale": "Same business.", "source": "nco-2025-08-26", "effectiveFrom": from, "reason": "再設定" } })
    };
    assert_eq!(error_code(&app.graphql(UPSERT_ITEM, item(day(6)), Some(&admin)).await), "BAD_USER_INPUT");
    let linked = app.data(UPSERT_ITEM, item(day(1)), Some(&admin)).await;
    assert_eq!(linked["upsertScopeItemLink"]["relation"], "EQUAL");
    assert_eq!(linked["upsertScopeItemLink"]["origin"], "CURATED");
    app
}

e2e!(
    a_curated_link_shows_under_as_of_before_and_after_it,
    a_reseed_reports_the_conflict_and_never_overwrites_a_curated_link,
    links_are_removed_scope_items_first_and_stay_in_the_past,
);
