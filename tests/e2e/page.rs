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
        // The SVG namespace is a name, never fetched.
        let text = text.replace("'http://www.w3.org/2000/svg'", "");
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

const MINISTRIES: &str = "query($d: Date) { businessDomains(asOf: $d) { code ministries { code } } }";
const DUTIES: &str = "query($d: Date) { overlap(asOf: $d) { obligations { obligation { code } operatorCount } } }";
const CHANGES: &str = "query($a: Date!, $b: Date!) { changesBetween(from: $a, to: $b) {
    fields { on } scopeItems { on } links { on }
    byField { regime sector { code } domain { code } scopeItems { started ended } }
    designations { total { started ended } byField { regime sector { code } domain { code } designations { started ended } } } } }";

/// The sector's or domain's code of a per-field count.
fn field_code(field: &Value) -> &str {
    let side = if field["regime"] == "CI" { &field["sector"] } else { &field["domain"] };
    side["code"].as_str().expect("code")
}

/// Picks `value` in the select `id`, as a person does.
async fn choose(browser: &Browser, id: &str, value: &str) {
    browser
        .script(
            "const select = document.getElementById(arguments[0]); select.value = arguments[1];
             select.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![json!(id), json!(value)],
        )
        .await;
}

/// Types the two dates of the changes view and shows them.
async fn change_window(browser: &Browser, from: &str, to: &str) {
    browser
        .script(
            "document.getElementById('changes-from').value = arguments[0];
             document.getElementById('changes-to').value = arguments[1];",
            vec![json!(from), json!(to)],
        )
        .await;
    browser.click("#changes-form button[type=submit]").await;
    browser.wait_for(&format!("#changes[data-from='{from}'][data-to='{to}']")).await;
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

pub(crate) fn numbers(connection: &Value) -> Vec<String> {
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
pub(crate) async fn listed(browser: &Browser) -> Vec<String> {
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

pub(crate) async fn enter_token(browser: &Browser, token: &str) {
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
    assert!(browser.text("#lede").await.contains("14分野"), "the header counts the date's sectors");
    assert!(browser.text("#lede").await.contains("14事業"), "and its domains (port transport from 2025-04-01)");
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().contains("asOf=2024-01-01"), "the date is kept in the address: {url}");
    // Dates are ISO text, whatever the locale: what Excel or a locale picker would write is
    // refused with a word on the form, and the page stays at its date.
    assert_eq!(browser.script("return document.getElementById('as-of').type", vec![]).await, "text");
    browser
        .script(
            "const input = document.getElementById('as-of'); input.value = '2024/4/1';
             input.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![],
        )
        .await;
    assert!(browser.text("#status.error").await.contains("YYYY-MM-DD"));
    assert_eq!(
        browser.script("return document.getElementById('as-of').getAttribute('aria-invalid')", vec![]).await,
        "true"
    );
    assert_eq!(browser.script("return document.getElementById('crosswalk').dataset.asOf", vec![]).await, "2024-01-01");
    browser.click("#today").await;
    browser.wait_for(&format!("#crosswalk[data-as-of='{today}']")).await;
    assert!(shown(&browser, "sector", false).await.contains(&"ports".to_owned()));
    assert!(browser.text("#lede").await.contains("15分野"));

    // The filter: MLIT's ESPA domains, and the sectors linked to them.
    let jurisdiction = app.data(MINISTRIES, json!({ "d": today }), None).await;
    let under_mlit = |list: &Value| -> Vec<String> {
        sorted(
            list.as_array()
                .expect("fields")
                .iter()
                .filter(|f| f["ministries"].as_array().expect("ministries").iter().any(|m| m["code"] == "MLIT"))
                .map(|f| f["code"].as_str().expect("code").to_owned())
                .collect(),
        )
    };
    let mlit_domains = under_mlit(&jurisdiction["businessDomains"]);
    assert!(mlit_domains.len() >= 3, "{mlit_domains:?}");
    choose(&browser, "filter-ministry", "MLIT").await;
    choose(&browser, "filter-regime", "ESPA").await;
    assert_eq!(shown(&browser, "domain", false).await, mlit_domains);
    let linked: Vec<String> = scope["sectors"]
        .as_array()
        .expect("sectors")
        .iter()
        .filter(|s| {
            s["links"]
                .as_array()
                .expect("links")
                .iter()
                .any(|l| mlit_domains.contains(&l["domain"]["code"].as_str().expect("code").to_owned()))
        })
        .map(|s| s["code"].as_str().expect("code").to_owned())
        .collect();
    assert_eq!(shown(&browser, "sector", false).await, sorted(linked));
    assert_eq!(browser.count("#scope-gaps [data-regime='CI']").await, 0, "the CI column is left out");
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().contains("ministry=MLIT") && url.as_str().contains("regime=ESPA"), "{url}");
    choose(&browser, "filter-ministry", "").await;
    choose(&browser, "filter-regime", "").await;
    assert_eq!(shown(&browser, "domain", false).await.len(), 15);

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
    // The heat map and the picture of the totals show the same numbers.
    let cells = overlap["cells"].as_array().expect("cells");
    assert_eq!(browser.count("#heat-map [data-heat-cell]").await, cells.len());
    for cell in cells {
        let css = format!(
            "#heat-map [data-heat-cell='{}/{}']",
            cell["sector"]["code"].as_str().expect("code"),
            cell["domain"]["code"].as_str().expect("code")
        );
        let count = browser.script("return document.querySelector(arguments[0]).dataset.count", vec![json!(css)]).await;
        assert_eq!(count, cell["operatorCount"].to_string(), "{css}");
    }
    assert!(browser.count("#heat-map rect.unlinked").await > 0, "pairs with no link are drawn too");
    for key in ["both", "espaOnly", "ciOnly"] {
        let css = format!("#totals-picture [data-segment='{key}']");
        let count = browser.script("return document.querySelector(arguments[0]).dataset.count", vec![json!(css)]).await;
        assert_eq!(count, overlap["totals"][key].to_string(), "{key}");
    }
    let duties = app.data(DUTIES, json!({ "d": today }), Some(&reader)).await;
    let duties = duties["overlap"]["obligations"].as_array().expect("obligations").clone();
    assert!(!duties.is_empty());
    for duty in &duties {
        let css = format!("#duties [data-duty='{}'] td.num", duty["obligation"]["code"].as_str().expect("code"));
        assert_eq!(browser.text(&css).await, duty["operatorCount"].to_string(), "{css}");
    }
    // A heat-map cell opens its operators, as the table's count does.
    let busiest = cells.iter().max_by_key(|c| c["operatorCount"].as_i64()).expect("a cell");
    let (s_code, d_code) =
        (busiest["sector"]["code"].as_str().expect("code"), busiest["domain"]["code"].as_str().expect("code"));
    browser.click(&format!("#heat-map [data-heat-cell='{s_code}/{d_code}']")).await;
    browser.wait_for(&format!("#operators table[data-total='{}']", busiest["operatorCount"])).await;

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

    // Changes between two dates, as changesBetween answers, with the designations' counts.
    change_window(&browser, "2024-01-01", &today).await;
    let changes =
        app.data(CHANGES, json!({ "a": "2024-01-01", "b": today }), Some(&reader)).await["changesBetween"].clone();
    let listed =
        ["fields", "scopeItems", "links"].iter().map(|k| changes[k].as_array().expect("list").len()).sum::<usize>();
    assert_eq!(browser.count("#changes-list tbody tr").await, listed);
    browser.wait_for("#changes-list [data-change='STARTED:ports']").await;
    for field in changes["byField"].as_array().expect("byField") {
        let (regime, code) = (field["regime"].as_str().expect("regime"), field_code(field));
        let css = format!("#changes-by-field [data-change-field='{regime}:{code}']");
        let items = browser.script("return document.querySelector(arguments[0]).dataset.items", vec![json!(css)]).await;
        assert_eq!(items, format!("{}/{}", field["scopeItems"]["started"], field["scopeItems"]["ended"]), "{css}");
    }
    let total = &changes["designations"]["total"];
    assert!(
        browser
            .text("#changes-designations")
            .await
            .contains(&format!("開始 {}・終了 {}", total["started"], total["ended"])),
        "{total}"
    );
    for field in changes["designations"]["byField"].as_array().expect("byField") {
        let css = format!(
            "#changes-by-field [data-change-field='{}:{}']",
            field["regime"].as_str().expect("regime"),
            field_code(field)
        );
        let counted =
            browser.script("return document.querySelector(arguments[0]).dataset.designations", vec![json!(css)]).await;
        assert_eq!(
            counted,
            format!("{}/{}", field["designations"]["started"], field["designations"]["ended"]),
            "{css}"
        );
    }
    // Dates out of order are refused on the form; nothing is loaded.
    browser.script("document.getElementById('changes-from').value = arguments[0]", vec![json!(today)]).await;
    browser.script("document.getElementById('changes-to').value = '2024-01-01'", vec![]).await;
    browser.click("#changes-form button[type=submit]").await;
    assert!(browser.text("#changes-problem").await.contains("以前"), "the first date must not be after the second");
    assert_eq!(browser.script("return document.getElementById('changes').dataset.from", vec![]).await, "2024-01-01");

    // The printout carries the date, the source and when the data was loaded, on a line
    // fixed to the foot of every page.
    let stamp = browser.text("#print-stamp[data-as-of]").await;
    assert!(
        stamp.contains(&format!("基準日 {today}")) && stamp.contains(&app.address) && stamp.contains("JST"),
        "{stamp}"
    );
    browser.emulate_media("print").await;
    let printed = browser
        .script(
            "const s = getComputedStyle(document.getElementById('print-stamp')); return [s.display, s.position]",
            vec![],
        )
        .await;
    assert_eq!(printed, json!(["block", "fixed"]));
    assert_eq!(
        browser.script("return getComputedStyle(document.getElementById('filters')).display", vec![]).await,
        "none"
    );
    browser.emulate_media("").await;

    // English on request, everything re-drawn.
    browser.click("#lang-en").await;
    browser.wait_for("html[lang='en']").await;
    assert_eq!(browser.text("h1").await, "Critical and core infrastructure: the protection scope map");
    assert_eq!(
        browser.text("#crosswalk [data-sector='electricity'] .field-name").await,
        electricity["nameEn"].as_str().expect("nameEn")
    );
    assert!(browser.text("#overlap").await.contains("ESPA only"));
    assert!(browser.text("#heat-map h3").await.starts_with("Heat map"));
    assert!(browser.text("#changes-summary").await.contains("started"));
    assert!(browser.text("#lede").await.contains("the 15 sectors"));

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
    let body = browser.text("body").await;
    assert!(!body.lines().any(|line| line.trim() == "null"), "nothing left out is drawn as \"null\"");
    browser.screenshot_page(&artifacts_dir().join("scope-map.png")).await;
    browser.client.set_window_size(1280, 1400).await.expect("resize");
    browser.screenshot_element("#heat-map", &artifacts_dir().join("scope-map-heatmap.png")).await;
    browser.screenshot_element("#totals-picture", &artifacts_dir().join("scope-map-totals.png")).await;
    change_window(&browser, "2024-01-01", "2025-06-01").await;
    browser.screenshot_element("#changes-section", &artifacts_dir().join("scope-map-changes.png")).await;
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
