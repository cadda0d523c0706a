//! Loading reference data: validation (nothing written on error) and idempotence.

use std::path::Path;

use scope_registry::domain::reference::ReferenceData;
use scope_registry::storage::{Db, PoolSettings, reference};

use crate::support::{TestApp, cli_with_database, seed_dir};
use crate::{e2e, e2e_database};

/// A writable copy of seed-data with one edit applied.
pub fn edited_seed_dir(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(seed_dir()).expect("seed-data") {
        let entry = entry.expect("entry");
        if entry.path().extension().is_some_and(|e| e == "toml") {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{file} does not contain {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    dir
}

async fn stored(url: &str) -> ReferenceData {
    let db = Db::connect(url, &PoolSettings::default(), true).await.expect("connect");
    let data = reference::load(&db.conn).await.expect("load");
    db.close().await.ok();
    data
}

fn seed(url: &str, dir: &Path) -> (bool, String) {
    let output = cli_with_database(url, &["seed", "--seed-dir", dir.to_str().expect("utf-8 path")]);
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

async fn reseeding_the_same_files_changes_nothing(app: TestApp) -> TestApp {
    let before = stored(&app.database.url).await;
    let (ok, report) = seed(&app.database.url, &seed_dir());
    assert!(ok, "{report}");
    for line in report.lines().filter(|l| l.contains("inserted")) {
        assert!(
            line.contains("inserted   0") && line.contains("updated   0") && line.contains("deleted   0"),
            "{line}"
        );
    }
    assert_eq!(stored(&app.database.url).await, before);
    app
}

async fn an_edited_file_updates_only_what_changed(app: TestApp) -> TestApp {
    let before = stored(&app.database.url).await;
    let dir = edited_seed_dir("sectors.toml", "name_en = \"Medical care\"", "name_en = \"Medical treatment services\"");
    let (ok, report) = seed(&app.database.url, dir.path());
    assert!(ok, "{report}");
    let sectors_line = report.lines().find(|l| l.starts_with("sectors ")).expect("sectors line");
    assert!(sectors_line.contains("updated   1") && sectors_line.contains("unchanged  14"), "{sectors_line}");
    let after = stored(&app.database.url).await;
    let medical = after.sectors.iter().find(|s| s.code == "medical").expect("medical");
    assert_eq!(medical.name_en, "Medical treatment services");
    assert_eq!(after.domains, before.domains);
    assert_eq!(after.links, before.links);
    // Loading the same edited files again changes nothing more.
    let (ok, report) = seed(&app.database.url, dir.path());
    assert!(ok);
    assert!(report.lines().all(|l| !l.contains("inserted") || l.contains("updated   0")), "{report}");
    app
}

/// A database whose obligation rules bound every ESPA designee (as before addressees
/// existed) gets the Cyber Response Act's duties narrowed to 特別社会基盤事業者 by a
/// reseed, row by row and recorded in the audit trail with both states.
async fn a_reseed_narrows_whom_an_obligation_binds_through_the_audit_trail(app: TestApp) -> TestApp {
    let narrowed = "binds = \"SPECIAL_SOCIAL_INFRASTRUCTURE_OPERATOR\"";
    let wide = edited_seed_dir("obligations.toml", narrowed, "binds = \"ESPA_DESIGNEE\"");
    let (ok, report) = seed(&app.database.url, wide.path());
    assert!(ok, "{report}");
    let (ok, report) = seed(&app.database.url, &seed_dir());
    assert!(ok, "{report}");
    let line = report.lines().find(|l| l.starts_with("obligations ")).expect("obligations line");
    assert!(line.contains("updated   1"), "{line}");
    let binds = |data: &ReferenceData| {
        data.obligations.iter().find(|o| o.code == "cyber-asset-notification").map(|o| o.binds.as_str())
    };
    assert_eq!(binds(&stored(&app.database.url).await), Some("SPECIAL_SOCIAL_INFRASTRUCTURE_OPERATOR"));

    let admin = app.token("admin", None);
    let query =
        "{ auditEvents(filter: { action: SYNC_REFERENCE_DATA }, first: 100) { edges { node { before after } } } }";
    let events = app.data(query, serde_json::json!({}), Some(&admin)).await;
    let last = events["auditEvents"]["edges"].as_array().and_then(|e| e.last()).expect("a sync event")["node"].clone();
    let rule = |side: &str| last[side]["obligations"]["cyber-asset-notification"]["binds"].clone();
    assert_eq!(
        (rule("before"), rule("after")),
        (serde_json::json!("ESPA_DESIGNEE"), serde_json::json!("SPECIAL_SOCIAL_INFRASTRUCTURE_OPERATOR"))
    );
    app
}

/// (file, text to replace, replacement, words the error must contain)
const INVALID_EDITS: [(&str, &str, &str, &[&str]); 8] = [
    (
        // A jurisdiction narrowed to a scope item names the field that owns the item.
        "jurisdictions.toml",
        "scope_item = \"finance/deposit-insurance\"",
        "scope_item = \"electricity/transmission\"",
        &[
            "jurisdictions.toml",
            "jurisdiction #",
            "(MOF over finance)",
            "scope item \"electricity/transmission\" belongs to business domain \"electricity\", not to \"finance\"",
        ],
    ),
    (
        "jurisdictions.toml",
        "ministry = \"MIC\"",
        "ministry = \"MOX\"",
        &["jurisdictions.toml", "unknown ministry \"MOX\""],
    ),
    (
        "sectors.toml",
        "code = \"chemicals\"",
        "code = \"credit\"",
        &["sectors.toml", "sector \"credit\"", "duplicate code"],
    ),
    (
        "crosswalk.toml",
        "domain_item = \"electricity/power-generation\"",
        "domain_item = \"electricity/fusion\"",
        &["crosswalk.toml", "item_link electricity/power-generation → electricity/fusion", "unknown domain scope item"],
    ),
    (
        "domains.toml",
        "valid_from = \"2025-04-01\"",
        "valid_from = \"2025-02-30\"",
        &["domains.toml", "domain \"port-transport\"", "valid_from"],
    ),
    (
        "crosswalk.toml",
        "relation = \"SUBSET_OF\"",
        "relation = \"ALMOST\"",
        &["crosswalk.toml", "link electricity → electricity", "unknown relation"],
    ),
    (
        "sectors.toml",
        "source = \"cybersecurity-2024\"",
        "source = \"rumour\"",
        &["sectors.toml", "sector \"ports\"", "unknown source \"rumour\""],
    ),
    (
        // The crosswalk checks itself: a relation its scope-item links contradict is refused.
        "crosswalk.toml",
        "relation = \"SUPERSET_OF\"\nrationale = \"CI covers the services of air transport",
        "relation = \"INTERSECTS_WITH\"\nrationale = \"CI covers the services of air transport",
        &[
            "crosswalk.toml",
            "link aviation → aviation",
            "declares INTERSECTS_WITH",
            "imply SUPERSET_OF (deciding: aviation/domestic-scheduled, aviation/international)",
        ],
    ),
];

async fn invalid_files_are_refused_with_file_and_record_and_nothing_is_written(app: TestApp) -> TestApp {
    let before = stored(&app.database.url).await;
    for (file, from, to, words) in INVALID_EDITS {
        // Each invalid file comes with a valid, real change elsewhere: it must not land either.
        let dir = edited_seed_dir(file, from, to);
        let ministries = dir.path().join("ministries.toml");
        let text = std::fs::read_to_string(&ministries).unwrap().replace("金融庁", "金融庁 (edited)");
        std::fs::write(&ministries, text).unwrap();
        let (ok, message) = seed(&app.database.url, dir.path());
        assert!(!ok, "seed with {to} should fail");
        for word in words {
            assert!(message.contains(word), "error for {to} should mention {word:?}: {message}");
        }
        assert!(message.contains("nothing was written"), "{message}");
        assert_eq!(stored(&app.database.url).await, before, "{to} changed the database");
    }
    app
}

/// A database seeded before co-competence was recorded (no jurisdiction narrowed to a
/// scope item) gets the MOF and MAFF rows for parts of ESPA finance from a reseed, as
/// inserts recorded in the audit trail; reseeding again changes nothing.
async fn a_reseed_adds_the_co_competent_jurisdictions_through_the_audit_trail(app: TestApp) -> TestApp {
    let shipped = std::fs::read_to_string(seed_dir().join("jurisdictions.toml")).expect("read");
    let start = shipped.find("# Co-competent ministers for parts of ESPA finance").expect("co-competence block");
    let end = shipped.find("[[jurisdiction]]\nministry = \"METI\"\ndomain = \"credit-cards\"").expect("next row");
    let older = edited_seed_dir("jurisdictions.toml", &shipped[start..end], "");
    let (ok, report) = seed(&app.database.url, older.path());
    assert!(ok, "{report}");
    let narrowed = |data: &ReferenceData| {
        let mut rows: Vec<(String, String)> = data
            .jurisdictions
            .iter()
            .filter_map(|j| j.scope_item.clone().map(|item| (j.ministry.clone(), item)))
            .collect();
        rows.sort();
        rows
    };
    assert!(narrowed(&stored(&app.database.url).await).is_empty());

    let (ok, report) = seed(&app.database.url, &seed_dir());
    assert!(ok, "{report}");
    let line = report.lines().find(|l| l.starts_with("jurisdictions ")).expect("jurisdictions line");
    assert!(line.contains("inserted   4") && line.contains("updated   0") && line.contains("deleted   0"), "{line}");
    let expected: Vec<(String, String)> = [
        ("MAFF", "finance/cooperative-central-institutions"),
        ("MAFF", "finance/savings-insurance"),
        ("MOF", "finance/deposit-insurance"),
        ("MOF", "finance/savings-insurance"),
    ]
    .iter()
    .map(|(m, i)| ((*m).to_owned(), (*i).to_owned()))
    .collect();
    assert_eq!(narrowed(&stored(&app.database.url).await), expected);

    let admin = app.token("admin", None);
    let query =
        "{ auditEvents(filter: { action: SYNC_REFERENCE_DATA }, first: 100) { edges { node { before after } } } }";
    let events = app.data(query, serde_json::json!({}), Some(&admin)).await;
    let last = events["auditEvents"]["edges"].as_array().and_then(|e| e.last()).expect("a sync event")["node"].clone();
    let key = "MOF|None|Some(\"finance\")|None|finance/deposit-insurance";
    assert_eq!(last["after"]["jurisdictions"][key]["domain_item_code"], "finance/deposit-insurance", "{last:#}");
    assert_eq!(last["after"]["jurisdictions"][key]["confirmed"], false);
    assert!(last["before"]["jurisdictions"].get(key).is_none_or(serde_json::Value::is_null), "{last:#}");

    let (ok, report) = seed(&app.database.url, &seed_dir());
    assert!(ok, "{report}");
    let line = report.lines().find(|l| l.starts_with("jurisdictions ")).expect("jurisdictions line");
    assert!(line.contains("inserted   0") && line.contains("updated   0"), "{line}");
    app
}

async fn an_invalid_first_seed_leaves_the_new_database_empty(url: String) {
    let dir = edited_seed_dir("jurisdictions.toml", "sector = \"medical\"", "sector = \"dentistry\"");
    let (ok, message) = seed(&url, dir.path());
    assert!(!ok);
    assert!(message.contains("unknown sector \"dentistry\""), "{message}");
    let data = stored(&url).await;
    assert!(data.sectors.is_empty() && data.sources.is_empty() && data.links.is_empty());
    // And the valid files load afterwards.
    let (ok, report) = seed(&url, &seed_dir());
    assert!(ok, "{report}");
    assert_eq!(stored(&url).await.sectors.len(), 15);
}

e2e!(
    a_reseed_narrows_whom_an_obligation_binds_through_the_audit_trail,
    a_reseed_adds_the_co_competent_jurisdictions_through_the_audit_trail,
    reseeding_the_same_files_changes_nothing,
    an_edited_file_updates_only_what_changed,
    invalid_files_are_refused_with_file_and_record_and_nothing_is_written,
);
e2e_database!(an_invalid_first_seed_leaves_the_new_database_empty);
