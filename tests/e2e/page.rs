//! The scope map page: served self-contained, and driven in headless Chromium against
//! the demo data, with every number it shows compared with what the GraphQL API answers.

use serde_json::{Value, json};

use crate::browser::{Browser, BrowserPaths, artifacts_dir};
use crate::e2e;
use crate::support::{Backend, TestApp, codes, run, seed_dir};

async fn the_page_is_served_self_contained(app: TestApp) -> TestApp {
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", app.address)).send();
    let page = get("/").await.expect("GET /");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"].to_str().expect("text").to_owned();
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    let html = page.text().await.expect("body");
    assert!(html.contains(r#"<html lang="ja">"#), "Japanese by default");
    assert!(html.contains(r#"href="/graphql""#), "GraphiQL is linked");
    assert!(html.contains(r#"<script type="module" src="/assets/scope-map.js">"#), "{html}");
    assert!(html.contains(r#"href="/assets/scope-map.css""#), "{html}");
    // The style, then the entry module and every module it imports, however deep.
    let mut files = vec![("/".to_owned(), html.clone())];
    let mut pending = vec![
        ("/assets/scope-map.css".to_owned(), "text/css; charset=utf-8"),
        ("/assets/scope-map.js".to_owned(), "text/javascript; charset=utf-8"),
    ];
    while let Some((path, content_type)) = pending.pop() {
        if files.iter().any(|(seen, _)| *seen == path) {
            continue;
        }
        let response = get(&path).await.expect("GET asset");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
        let text = response.text().await.expect("body");
        pending.extend(imports_of(&path, &text).into_iter().map(|module| (module, "text/javascript; charset=utf-8")));
        files.push((path, text));
    }
    assert!(
        files.len() > 3,
        "the page's script is split into modules: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (path, text) in &files {
        for outside in ["http://", "https://", "\"//", "'//", "url(//", "@import"] {
            assert!(!text.contains(outside), "{path} refers to something outside the server ({outside})");
        }
    }
    let graphiql = get("/graphql").await.expect("GET /graphql");
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.expect("body").to_lowercase().contains("graphiql"), "GraphiQL stays at /graphql");
    app
}

e2e!(the_page_is_served_self_contained);

/// The absolute paths of the modules a module at `path` imports (`import … from './x.js'`).
fn imports_of(path: &str, module: &str) -> Vec<String> {
    let folder = &path[..=path.rfind('/').expect("an absolute path")];
    module
        .lines()
        .filter(|line| line.starts_with("import ") || line.starts_with("} from "))
        .filter_map(|line| line.split_once(" from '"))
        .map(|(_, rest)| {
            let target = &rest[..rest.find('\'').expect("a closing quote")];
            let relative = target.strip_prefix("./").unwrap_or_else(|| panic!("{path} imports {target}, not ./…"));
            format!("{folder}{relative}")
        })
        .collect()
}

const SCOPE: &str = "query($d: Date) { sectors(asOf: $d) { code nameEn links { domain { code } rationale } }
    businessDomains(asOf: $d) { code }
    scopeGaps(asOf: $d) { sectorsWithoutDomain { code } domainsWithoutSector { code } sectorScopeItemsWithoutLink { code } } }";
const OVERLAP: &str = "query($d: Date) { overlap(asOf: $d) { totals { both espaOnly ciOnly }
    cells { sector { code } domain { code } operatorCount } domainGaps { domain { code } operatorCount } } }";
const LIST: &str =
    "query($f: OperatorFilter) { operators(filter: $f, first: 500) { totalCount edges { node { corporateNumber } } } }";
const GAP: &str = "query($d: Date) { overlap(asOf: $d) { domainGaps(domain: \"postal\") { operators { edges { node { corporateNumber } } } } } }";
const HISTORY: &str =
    "query($n: String!) { operator(corporateNumber: $n) { designations(includeHistory: true) { id } } }";

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

fn numbers(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["corporateNumber"].as_str().expect("number").to_owned())
        .collect()
}

/// The distinct sector or domain codes the crosswalk shows, sorted; `only_without`
/// keeps those marked as having no counterpart.
async fn shown(browser: &Browser, kind: &str, only_without: bool) -> Vec<String> {
    let codes = browser
        .script(
            "const [kind, onlyWithout] = arguments;
             const marked = onlyWithout ? '[data-counterpart=\"none\"]' : '';
             const cells = document.querySelectorAll(`#crosswalk [data-${kind}]${marked}`);
             return [...new Set([...cells].map((e) => e.dataset[kind]))].sort();",
            vec![json!(kind), json!(only_without)],
        )
        .await;
    serde_json::from_value(codes).expect("a list of codes")
}

/// The corporate numbers of the operator list on screen.
async fn listed(browser: &Browser) -> Vec<String> {
    let numbers = browser
        .script("return [...document.querySelectorAll('#operators .operator-link')].map((e) => e.dataset.cn)", vec![])
        .await;
    serde_json::from_value(numbers).expect("a list of numbers")
}

async fn set_date(browser: &Browser, date: &str) {
    // What the date picker does when a date is picked.
    browser
        .script(
            "const input = document.getElementById('as-of'); input.value = arguments[0];
             input.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![json!(date)],
        )
        .await;
    browser.wait_for(&format!("#crosswalk[data-as-of='{date}']")).await;
}

async fn enter_token(browser: &Browser, token: &str) {
    browser.wait_for("#token-input").await.send_keys(token).await.expect("type the token");
    browser.click("#token-form button[type=submit]").await;
}

async fn the_scope_map_in_a_browser(app: TestApp, paths: BrowserPaths) -> TestApp {
    let seeded = app.cli(&["seed", "--demo", "--seed-dir", seed_dir().to_str().expect("utf-8 path")]);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let reader = app.token("reader", None);
    let browser = Browser::start(&paths, 1280, 1400).await;
    browser.client.goto(&format!("{}/", app.address)).await.expect("load the page");

    // Today's crosswalk, in Japanese: every sector and domain, the ones without a
    // counterpart marked.
    browser.wait_for("#crosswalk[data-as-of]").await;
    let today = browser.script("return document.getElementById('as-of').value", vec![]).await;
    let today = today.as_str().expect("a date").to_owned();
    assert_eq!(browser.script("return document.documentElement.lang", vec![]).await, "ja");
    let scope = app.data(SCOPE, json!({ "d": today }), None).await;
    let sectors = shown(&browser, "sector", false).await;
    let domains = shown(&browser, "domain", false).await;
    assert_eq!(sectors.len(), 15, "{sectors:?}");
    assert_eq!(domains.len(), 15, "{domains:?}");
    assert_eq!(sectors, sorted(codes(&scope["sectors"])));
    assert_eq!(domains, sorted(codes(&scope["businessDomains"])));
    let sectors_without = shown(&browser, "sector", true).await;
    assert!(sectors_without.contains(&"medical".to_owned()), "{sectors_without:?}");
    assert_eq!(sectors_without, sorted(codes(&scope["scopeGaps"]["sectorsWithoutDomain"])));
    assert_eq!(shown(&browser, "domain", true).await, ["postal"]);
    assert_eq!(codes(&scope["scopeGaps"]["domainsWithoutSector"]), ["postal"]);
    assert!(browser.text("#crosswalk [data-sector='medical']").await.contains("対応なし"));
    assert!(browser.text("#crosswalk [data-domain='postal']").await.contains("対応なし"));
    assert!(!browser.text("#crosswalk [data-sector='electricity']").await.contains("対応なし"));

    // A relation opens onto its rationale; a sector onto its services, the uncovered marked.
    let electricity =
        scope["sectors"].as_array().expect("sectors").iter().find(|s| s["code"] == "electricity").expect("electricity");
    browser.click("#crosswalk tr:has([data-sector='electricity']) .why summary").await;
    assert_eq!(
        browser.text("#crosswalk tr:has([data-sector='electricity']) .why .rationale").await,
        electricity["links"][0]["rationale"].as_str().expect("rationale")
    );
    assert!(codes(&scope["scopeGaps"]["sectorScopeItemsWithoutLink"]).contains(&"logistics/warehousing".to_owned()));
    browser.click("#crosswalk [data-sector='logistics'] summary").await;
    let warehousing = browser.text("#crosswalk [data-item='logistics/warehousing'].uncovered").await;
    assert!(warehousing.contains("倉庫業") && warehousing.contains("どの対応にも含まれない"), "{warehousing}");

    // As of 2024-01-01 the ports sector (2024-03-08) and port transport (2025-04-01) were
    // not in scope yet.
    set_date(&browser, "2024-01-01").await;
    let earlier = app.data(SCOPE, json!({ "d": "2024-01-01" }), None).await;
    let sectors_then = shown(&browser, "sector", false).await;
    assert_eq!(sectors_then.len(), 14);
    assert!(!sectors_then.contains(&"ports".to_owned()));
    assert_eq!(sectors_then, sorted(codes(&earlier["sectors"])));
    assert_eq!(shown(&browser, "domain", false).await, sorted(codes(&earlier["businessDomains"])));
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().contains("asOf=2024-01-01"), "the date is kept in the address: {url}");
    browser.click("#today").await;
    browser.wait_for(&format!("#crosswalk[data-as-of='{today}']")).await;
    assert!(shown(&browser, "sector", false).await.contains(&"ports".to_owned()));

    // Operator data: first the plain word that a token is needed, then a refused one,
    // then the reader's.
    assert!(browser.text("#overlap-notice[data-problem='needed']").await.contains("トークンが必要"));
    enter_token(&browser, "not-a-real-token").await;
    assert!(browser.text("#overlap-notice[data-problem='refused']").await.contains("受け付けられませんでした"));
    enter_token(&browser, &reader).await;
    browser.wait_for(&format!("#overlap[data-as-of='{today}']")).await;
    let overlap = app.data(OVERLAP, json!({ "d": today }), Some(&reader)).await["overlap"].clone();
    for key in ["both", "espaOnly", "ciOnly"] {
        assert_eq!(browser.text(&format!("[data-total='{key}']")).await, overlap["totals"][key].to_string(), "{key}");
    }
    for cell in overlap["cells"].as_array().expect("cells") {
        let css = format!(
            "[data-cell='{}/{}']",
            cell["sector"]["code"].as_str().expect("code"),
            cell["domain"]["code"].as_str().expect("code")
        );
        assert_eq!(browser.text(&css).await, cell["operatorCount"].to_string(), "{css}");
    }
    for gap in overlap["domainGaps"].as_array().expect("gaps") {
        let css = format!("[data-gap='{}']", gap["domain"]["code"].as_str().expect("code"));
        assert_eq!(browser.text(&css).await, gap["operatorCount"].to_string(), "{css}");
    }
    let stored = browser
        .script("return [sessionStorage.getItem('scope-registry.token'), JSON.stringify(localStorage)]", vec![])
        .await;
    assert_eq!(stored[0], reader.as_str(), "the token is kept for the session");
    assert!(!stored[1].as_str().expect("text").contains(&reader), "and nowhere else");

    // Click-through: each total lists its operators, as the API's filters do.
    let totals = [
        ("both", "両方の制度で指定・特定されている事業者", json!({ "regimes": ["CI", "ESPA"], "asOf": today })),
        (
            "espaOnly",
            "基幹インフラのみで指定されている事業者",
            json!({ "regime": "ESPA", "notRegime": "CI", "asOf": today }),
        ),
        (
            "ciOnly",
            "重要インフラのみで特定されている事業者",
            json!({ "regime": "CI", "notRegime": "ESPA", "asOf": today }),
        ),
    ];
    for (key, heading, filter) in totals {
        browser.click(&format!("[data-total='{key}']")).await;
        browser.wait_for_text("#operators-heading", heading).await;
        let expected = app.data(LIST, json!({ "f": filter }), Some(&reader)).await["operators"].clone();
        assert_eq!(expected["totalCount"], overlap["totals"][key], "{key}");
        assert_eq!(listed(&browser).await, numbers(&expected), "{key}");
    }

    // A domain gap, then one operator's designations with their history.
    browser.click("[data-gap='postal']").await;
    browser
        .wait_for_text("#operators-heading", "郵便 に指定され、対応する重要インフラ分野の事業者ではない事業者")
        .await;
    let postal = app.data(GAP, json!({ "d": today }), Some(&reader)).await;
    let postal = numbers(&postal["overlap"]["domainGaps"][0]["operators"]);
    assert_eq!(listed(&browser).await, postal);
    browser.click(&format!(".operator-link[data-cn='{}']", postal[0])).await;
    browser.wait_for_text("#operator-number", &postal[0]).await;
    let history = app.data(HISTORY, json!({ "n": postal[0] }), Some(&reader)).await;
    let history = history["operator"]["designations"].as_array().expect("designations").len();
    assert!(history > 0);
    assert_eq!(browser.count("#designations tbody tr").await, history);
    assert!(browser.text("#designations").await.contains("郵便"));

    // A search runs over pages of 20; the list downloads whole as CSV.
    browser.wait_for("#overlap form.search input[name='q']").await.send_keys("架空").await.expect("type");
    browser.click("#overlap form.search button[type=submit]").await;
    browser.wait_for_text("#operators-heading", "名称に「架空」を含む事業者").await;
    let everyone = app.data(LIST, json!({ "f": { "nameContains": "架空" } }), Some(&reader)).await["operators"].clone();
    let everyone = numbers(&everyone);
    assert_eq!(everyone.len(), 41);
    let mut paged = Vec::new();
    for (page, range) in [(0, "全 41 件中 1–20 件"), (1, "全 41 件中 21–40 件"), (2, "全 41 件中 41–41 件")]
    {
        if page > 0 {
            browser.click("#operators [data-page='next']").await;
        }
        browser.wait_for_text("#operators .range", range).await;
        paged.extend(listed(&browser).await);
    }
    assert_eq!(paged, everyone, "the pages visit every operator once, in order");
    browser.click("#operators .pager .download").await;
    let csv = String::from_utf8(browser.downloaded("operators-").await).expect("UTF-8");
    assert!(csv.starts_with("\u{feff}\"corporate_number\",\"name_ja\""), "{csv}");
    let rows: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(rows.len(), 42, "a header and one row per operator");
    assert!(rows[1].starts_with(&format!("\"{}\"", everyone[0])), "{}", rows[1]);

    // English on request, everything re-drawn.
    browser.click("#lang-en").await;
    browser.wait_for("html[lang='en']").await;
    assert_eq!(browser.text("h1").await, "Critical and core infrastructure: the protection scope map");
    assert_eq!(
        browser.text("#crosswalk [data-sector='electricity'] .field-name").await,
        electricity["nameEn"].as_str().expect("nameEn")
    );
    assert!(browser.text("#overlap").await.contains("ESPA only"));

    // A reload keeps the token for the session (no second entry), and the language asked
    // for in the address. The picture in the README: the whole page, with an operator
    // whose ESPA designation has ended opened from the CI-only list.
    browser.client.goto(&format!("{}/?lang=ja", app.address)).await.expect("reload the page");
    browser.wait_for("html[lang='ja']").await;
    browser.wait_for(&format!("#overlap[data-as-of='{today}']")).await;
    browser.click("#crosswalk tr:has([data-sector='electricity']) .why summary").await;
    browser.click("#crosswalk [data-sector='logistics'] summary").await;
    browser.click("[data-total='ciOnly']").await;
    browser.wait_for_text("#operators-heading", "重要インフラのみで特定されている事業者").await;
    browser.click(".operator-link[data-cn='5999910000035']").await;
    browser.wait_for_text("#operator-number", "5999910000035").await;
    assert_eq!(browser.count("#designations tr.active").await, 1, "CI electricity holds");
    assert_eq!(browser.count("#designations tr.ended").await, 1, "ESPA electricity ended on 2025-10-01");
    browser.screenshot_page(&artifacts_dir().join("scope-map.png")).await;
    browser.close().await;
    app
}

/// Runs once, on SQLite: the page reads only the GraphQL API, which the rest of the
/// suite covers on both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scope_map_in_a_browser_shows_what_the_api_answers() {
    let Some(paths) = BrowserPaths::find() else { return };
    run(Backend::Sqlite, move |app| the_scope_map_in_a_browser(app, paths)).await;
}
