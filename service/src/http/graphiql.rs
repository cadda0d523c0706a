//! GraphiQL at `GET /graphql`, served entirely from this binary: the pinned GraphiQL,
//! React and ReactDOM builds vendored in `graphiql/` (see `graphiql/VERSIONS` and
//! `graphiql/update.sh`) and a small page and start-up script of our own. Nothing is
//! loaded from anywhere else, so it works without a network, and the page's
//! Content-Security-Policy allows this origin only.
//!
//! The page refers to each file as `/assets/graphiql/NAME?v=HASH` with its SRI hash;
//! an address with the current hash is cached for a year (a new build has new hashes),
//! any other revalidates.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use sha2::{Digest, Sha256, Sha384};

use super::error::{Reason, Rejection};

/// GraphiQL needs inline styles (its editors and panes set them), fonts and icons from
/// its stylesheet's `data:` URLs, and the WebSocket of this origin for subscriptions.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

const PAGE: &str = include_str!("graphiql/index.html");
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: [Asset; 6] = [
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("graphiql/graphiql.min.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql-page.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("graphiql/graphiql-page.js"),
    },
    Asset {
        name: "graphiql-page.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("graphiql/graphiql-page.css"),
    },
];

/// The cache-busting version of each asset (a prefix of its SHA-256) and the page with
/// every `{{src:NAME}}` and `{{sri:NAME}}` filled in; worked out once.
struct Prepared {
    versions: Vec<String>,
    page: String,
}

fn prepared() -> &'static Prepared {
    static PREPARED: OnceLock<Prepared> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let mut page = PAGE.to_owned();
        let mut versions = Vec::with_capacity(ASSETS.len());
        for asset in &ASSETS {
            let version: String = Sha256::digest(asset.bytes).iter().take(8).map(|b| format!("{b:02x}")).collect();
            let integrity = base64::engine::general_purpose::STANDARD.encode(Sha384::digest(asset.bytes));
            page = page
                .replace(
                    &format!("{{{{src:{}}}}}", asset.name),
                    &format!("/assets/graphiql/{}?v={version}", asset.name),
                )
                .replace(&format!("{{{{sri:{}}}}}", asset.name), &format!("sha384-{integrity}"));
            versions.push(version);
        }
        Prepared { versions, page }
    })
}

/// The page's assets.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/assets/graphiql/{file}", get(asset))
}

fn headers(content_type: &'static str, cache: &'static str) -> [(HeaderName, &'static str); 2] {
    [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, cache)]
}

/// The GraphiQL page. It changes with the binary, so browsers revalidate it.
pub fn page() -> Response {
    (
        headers("text/html; charset=utf-8", "no-cache"),
        [(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)],
        prepared().page.clone(),
    )
        .into_response()
}

async fn asset(Path(file): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some(index) = ASSETS.iter().position(|asset| asset.name == file) else {
        return Rejection::new(Reason::NotFound, "no such GraphiQL asset").into_response();
    };
    let asset = &ASSETS[index];
    let current = query.as_deref().and_then(|q| q.strip_prefix("v=")) == Some(prepared().versions[index].as_str());
    let cache = if current { IMMUTABLE } else { "no-cache" };
    (StatusCode::OK, headers(asset.content_type, cache), asset.bytes).into_response()
}
