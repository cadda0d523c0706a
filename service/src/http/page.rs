//! The scope map: a read-only page for policy staff, served at `/`. It is plain HTML, CSS
//! and JavaScript embedded in the binary and talks only to the public GraphQL API (and
//! the CSV exports) of the server that served it.

use axum::Router;
use axum::http::{HeaderName, header};
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX_HTML: &str = include_str!("page/index.html");

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The page's files under `/assets/`: its style and its ES modules (`scope-map.js`
/// imports the ones in `js/`, by paths relative to its own).
const ASSETS: &[(&str, &str, &str)] = &[
    ("scope-map.css", CSS, include_str!("page/scope-map.css")),
    ("scope-map.js", JAVASCRIPT, include_str!("page/scope-map.js")),
    ("js/api.js", JAVASCRIPT, include_str!("page/js/api.js")),
    ("js/changes.js", JAVASCRIPT, include_str!("page/js/changes.js")),
    ("js/charts.js", JAVASCRIPT, include_str!("page/js/charts.js")),
    ("js/crosswalk.js", JAVASCRIPT, include_str!("page/js/crosswalk.js")),
    ("js/dom.js", JAVASCRIPT, include_str!("page/js/dom.js")),
    ("js/downloads.js", JAVASCRIPT, include_str!("page/js/downloads.js")),
    ("js/filters.js", JAVASCRIPT, include_str!("page/js/filters.js")),
    ("js/operators.js", JAVASCRIPT, include_str!("page/js/operators.js")),
    ("js/proposals.js", JAVASCRIPT, include_str!("page/js/proposals.js")),
    ("js/state.js", JAVASCRIPT, include_str!("page/js/state.js")),
    ("js/text.js", JAVASCRIPT, include_str!("page/js/text.js")),
];

/// The page may load and call nothing but this server: no CDN, no outside fonts.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page and its assets.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS.iter().fold(Router::new().route("/", get(index)), |router, &(path, content_type, body)| {
        router.route(&format!("/assets/{path}"), get(move || async move { (common_headers(content_type), body) }))
    })
}

/// Headers every embedded file carries. `no-cache` makes browsers revalidate, so a new
/// binary's page is never mixed with an old script.
fn common_headers(content_type: &'static str) -> [(HeaderName, &'static str); 4] {
    [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ]
}

async fn index() -> impl IntoResponse {
    (
        common_headers("text/html; charset=utf-8"),
        [(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)],
        INDEX_HTML,
    )
}
