//! The scope map: a read-only page for policy staff, served at `/`. It is plain HTML, CSS
//! and JavaScript embedded in the binary and talks only to the public GraphQL API (and
//! the CSV exports) of the server that served it.

use axum::Router;
use axum::http::{HeaderName, header};
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX_HTML: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/scope-map.js");
const STYLE: &str = include_str!("page/scope-map.css");

/// The page may load and call nothing but this server: no CDN, no outside fonts.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page and its two assets.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/assets/scope-map.js", get(script))
        .route("/assets/scope-map.css", get(style))
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

async fn script() -> impl IntoResponse {
    (common_headers("text/javascript; charset=utf-8"), SCRIPT)
}

async fn style() -> impl IntoResponse {
    (common_headers("text/css; charset=utf-8"), STYLE)
}
