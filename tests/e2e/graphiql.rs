//! GraphiQL at `GET /graphql` comes from this server alone: its page names only files of
//! this origin, each served with the integrity hash the page states and cached for long
//! under its versioned address, and no page's Content-Security-Policy names another
//! origin. In headless Chromium (which has no network here) it runs a query, and a
//! subscription with a token typed into its headers editor.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha384};

use crate::browser::{Browser, BrowserPaths};
use crate::e2e;
use crate::fixtures::{ci, cn, designate, register_all};
use crate::support::{Backend, TestApp, run};

/// The values of every `attribute="…"` in `html`.
fn attributes<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let marker = format!(" {attribute}=\"");
    html.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            &rest[..rest.find('"').expect("a closed attribute")]
        })
        .collect()
}

/// Fails the test when a Content-Security-Policy allows anything but this origin (and
/// `data:` for images and fonts).
fn assert_same_origin_only(policy: &str) {
    for directive in policy.split(';') {
        for source in directive.split_whitespace().skip(1) {
            assert!(
                matches!(source, "'self'" | "'none'" | "'unsafe-inline'" | "data:"),
                "{source} in {policy:?} is not this origin"
            );
        }
    }
}

async fn the_graphiql_page_loads_only_from_this_origin(app: TestApp) -> TestApp {
    let client = reqwest::Client::new();
    let page = client.get(format!("{}/graphql", app.address)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert_same_origin_only(&policy);
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{policy}");
    }
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>") && !html.contains("style="), "no inline script or style");

    let scripts = attributes(&html, "src");
    let styles: Vec<&str> = attributes(&html, "href");
    assert_eq!(scripts.len(), 4, "React, ReactDOM, GraphiQL and the start-up script: {scripts:?}");
    assert_eq!(styles.len(), 2, "GraphiQL's stylesheet and the page's: {styles:?}");
    let integrities = attributes(&html, "integrity");
    assert_eq!(integrities.len(), scripts.len() + styles.len(), "every file has an integrity hash");
    for (path, integrity) in styles.iter().chain(scripts.iter()).zip(&integrities) {
        assert!(path.starts_with("/assets/graphiql/") && !path.starts_with("//"), "{path} is not of this origin");
        let response = client.get(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = if path.contains(".css") { "text/css; charset=utf-8" } else { "text/javascript; charset=utf-8" };
        assert_eq!(content_type, expected, "{path}");
        assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable", "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let body = response.bytes().await.unwrap();
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha384::digest(&body));
        assert_eq!(*integrity, format!("sha384-{hash}"), "{path}");
        // Without the current version the same file must be revalidated.
        let unversioned = path.split('?').next().unwrap();
        let response = client.get(format!("{}{unversioned}", app.address)).send().await.unwrap();
        assert_eq!(response.headers()["cache-control"], "no-cache", "{unversioned}");
    }
    let bundle = client.get(format!("{}{}", app.address, scripts[2])).send().await.unwrap().text().await.unwrap();
    assert!(bundle.contains("graphql-transport-ws"), "the bundle carries the graphql-ws client");
    assert!(!bundle.contains("sourceMappingURL"), "no source map is asked for");
    let missing = client.get(format!("{}/assets/graphiql/other.js", app.address)).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    // No page names an outside origin: the scope map, GraphiQL, and the fallback policy of
    // any other HTML.
    for path in ["/", "/graphql"] {
        let response = client.get(format!("{}{path}", app.address)).send().await.unwrap();
        assert_same_origin_only(response.headers()["content-security-policy"].to_str().unwrap());
    }
    app
}

e2e!(the_graphiql_page_loads_only_from_this_origin);

/// Sets the text of the GraphiQL editor (CodeMirror 5) that `css` marks.
async fn set_editor(browser: &Browser, css: &str, text: &str) {
    browser.wait_for(&format!("{css} .CodeMirror")).await;
    browser
        .script(
            "document.querySelector(arguments[0] + ' .CodeMirror').CodeMirror.setValue(arguments[1])",
            vec![json!(css), json!(text)],
        )
        .await;
    // GraphiQL parses the editor's text shortly after it changes, and decides from the
    // parsed document whether an operation is a subscription (sent over the WebSocket).
    tokio::time::sleep(Duration::from_millis(800)).await;
}

/// The result pane's text parsed as JSON, once it parses and `done` accepts it.
async fn result(browser: &Browser, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = browser
            .script(
                "const e = document.querySelector('.graphiql-response .CodeMirror');
                 return e ? e.CodeMirror.getValue() : ''",
                vec![],
            )
            .await;
        let text = text.as_str().unwrap_or_default().to_owned();
        if let Ok(value) = serde_json::from_str::<Value>(&text)
            && done(&value)
        {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            let said = browser.script("return document.body.innerText", vec![]).await;
            panic!("GraphiQL showed {text:?}; the page says {said}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn graphiql_in_a_browser(app: TestApp, paths: BrowserPaths) -> TestApp {
    let admin = app.token("admin", None);
    let reader = app.token("reader", None);
    let numbers: Vec<String> = (1..=30).map(cn).collect();
    register_all(&app, &admin, &numbers).await;

    let browser = Browser::start(&paths, 1280, 900).await;
    browser.client.goto(&format!("{}/graphql", app.address)).await.expect("load GraphiQL");
    browser.wait_for(".graphiql-container").await;

    // A public query.
    set_editor(&browser, ".graphiql-query-editor", "{ sectors(asOf: \"2024-01-01\") { code } }").await;
    browser.click(".graphiql-execute-button").await;
    let answer = result(&browser, |v| v.get("data").is_some()).await;
    assert_eq!(answer["data"]["sectors"].as_array().expect("sectors").len(), 14, "{answer}");

    // A subscription as the reader whose token is in the headers editor; the change is
    // made over HTTP.
    browser
        .script(
            "[...document.querySelectorAll('.graphiql-editor-tools button')]
                 .find((b) => b.textContent.trim() === 'Headers').click()",
            vec![],
        )
        .await;
    browser
        .script(
            "const [variables, headers] = document.querySelectorAll('.graphiql-editor-tool .graphiql-editor');
             headers.querySelector('.CodeMirror').CodeMirror.setValue(arguments[0])",
            vec![json!(format!("{{\"Authorization\": \"Bearer {reader}\"}}"))],
        )
        .await;
    set_editor(
        &browser,
        ".graphiql-query-editor",
        "subscription { designationChanged { action status { corporateNumber ciSectors { code } } } }",
    )
    .await;
    browser.click(".graphiql-execute-button").await;
    // The subscription starts when the server has read it; designate until it shows.
    let mut designated = numbers.iter();
    let mut shown = Value::Null;
    let message = loop {
        let Some(number) = designated.next() else {
            let page = browser.script("return document.body.innerText", vec![]).await;
            panic!("no message reached GraphiQL after 30 designations; it shows {shown}; the page says {page}");
        };
        designate(&app, &admin, ci(number, "electricity", "2024-04-01")).await;
        shown = browser
            .script(
                "const e = document.querySelector('.graphiql-response .CodeMirror');
                 return e ? e.CodeMirror.getValue() : ''",
                vec![],
            )
            .await;
        if let Ok(value) = serde_json::from_str::<Value>(shown.as_str().unwrap_or_default())
            && value["data"]["designationChanged"]["action"] == "DESIGNATE"
        {
            break value;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let shown = message["data"]["designationChanged"]["status"]["corporateNumber"].as_str().expect("a number");
    assert!(numbers.iter().any(|n| n == shown), "{message}");

    // Everything the page loaded came from this server.
    let loaded = browser
        .script("return performance.getEntriesByType('resource').map((e) => e.name).concat([location.href])", vec![])
        .await;
    for url in loaded.as_array().expect("a list") {
        let url = url.as_str().expect("a URL");
        assert!(url.starts_with(&app.address) || url.starts_with(&app.address.replacen("http", "ws", 1)), "{url}");
    }
    // GraphiQL's history keeps the headers of each query it ran: only for the tab's life.
    let stored = browser.script("return [JSON.stringify(localStorage), JSON.stringify(sessionStorage)]", vec![]).await;
    assert!(!stored[0].as_str().expect("text").contains(&reader), "the token is not kept beyond the tab: {stored}");
    assert!(stored[1].as_str().expect("text").contains("graphiql:"), "GraphiQL's state is kept for the tab: {stored}");
    browser.close().await;
    app
}

/// Runs once, on SQLite: GraphiQL talks only to the GraphQL API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_in_a_browser_runs_a_query_and_a_subscription_offline() {
    let Some(paths) = BrowserPaths::find() else { return };
    run(Backend::Sqlite, move |app| graphiql_in_a_browser(app, paths)).await;
}
