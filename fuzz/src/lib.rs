//! The request path under fuzzing: each input is one `POST /graphql` sent through the
//! real router (every layer, the body checks, authentication, GraphQL execution) to an
//! application on its own SQLite database.
//!
//! Input bytes: the first byte chooses the token (bits 0-1: none, reader, admin, a
//! well-formed unknown one), the Content-Type (bits 2-3: JSON, JSON with charset,
//! text/plain, none) and whether the rest is the raw body (bit 4 clear) or a query text
//! to wrap in a JSON body (bit 4 set, so the fuzzer need not keep JSON intact).
//!
//! What must hold for every input: no panic, a status the API documents (never 5xx), a
//! JSON body, and every error carrying a code of the public contract other than
//! INTERNAL. The same file is compiled into the end-to-end tests, which replay the
//! corpus and mutations of it on every CI run.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use scope_registry::app::build_state;
use scope_registry::config::ServeSettings;
use scope_registry::domain::{Principal, Role};
use scope_registry::http::router;
use scope_registry::services::tokens::{self, TokenRequest};
use serde_json::Value;
use tower::ServiceExt;

const CODES: [&str; 6] =
    ["UNAUTHENTICATED", "FORBIDDEN", "BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "QUERY_TOO_COMPLEX"];
const STATUSES: [StatusCode; 5] = [
    StatusCode::OK,
    StatusCode::BAD_REQUEST,
    StatusCode::NOT_FOUND,
    StatusCode::PAYLOAD_TOO_LARGE,
    StatusCode::UNSUPPORTED_MEDIA_TYPE,
];
const CONTENT_TYPES: [Option<&str>; 4] =
    [Some("application/json"), Some("application/json; charset=utf-8"), Some("text/plain"), None];

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    tokens: [Option<String>; 4],
    _database: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(Harness::start)
}

impl Harness {
    fn start() -> Self {
        let database = tempfile::tempdir().expect("temporary directory");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let mut settings = ServeSettings::new("127.0.0.1:0", format!("sqlite://{}/fuzz.db", database.path().display()));
        settings.seed.seed_dir = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../seed-data").into());
        // Every input gets an answer of its own, not a rate-limit refusal.
        settings.limits.rate_limit_per_minute = 0;
        let (app, tokens) = runtime.block_on(async {
            let state = build_state(&settings).await.expect("application state");
            let issue = |role| {
                let services = state.services.clone();
                async move {
                    let request = TokenRequest { role, ministry: None, label: "fuzz".into(), expires_at: None };
                    let principal = Principal::Cli { user: "fuzz".into(), ministry: None };
                    tokens::issue(&services, &principal, request).await.expect("token").secret
                }
            };
            let (reader, admin) = (issue(Role::Reader).await, issue(Role::Admin).await);
            let unknown = format!("sr_{}", "A".repeat(43));
            (router(state, &settings.http), [None, Some(reader), Some(admin), Some(unknown)])
        });
        Self { runtime, app, tokens, _database: database }
    }
}

/// Sends one input; `Err` says which promise the answer broke.
pub fn run(data: &[u8]) -> Result<(), String> {
    let Some((&selector, rest)) = data.split_first() else {
        return Ok(());
    };
    let harness = harness();
    let body = if selector & 0b1_0000 == 0 {
        rest.to_vec()
    } else {
        serde_json::json!({ "query": String::from_utf8_lossy(rest) }).to_string().into_bytes()
    };
    let mut request = Request::post("/graphql");
    if let Some(content_type) = CONTENT_TYPES[usize::from((selector >> 2) & 0b11)] {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(token) = &harness.tokens[usize::from(selector & 0b11)] {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(Body::from(body)).map_err(|e| format!("building the request: {e}"))?;
    let (status, answer) = harness.runtime.block_on(async {
        let response = harness.app.clone().oneshot(request).await.map_err(|e| format!("router: {e}"))?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.map_err(|e| format!("body: {e}"))?;
        Ok::<_, String>((status, bytes))
    })?;
    let text = String::from_utf8_lossy(&answer);
    if !STATUSES.contains(&status) {
        return Err(format!("status {status}: {text}"));
    }
    let json: Value = serde_json::from_slice(&answer).map_err(|_| format!("status {status}, not JSON: {text}"))?;
    match json["errors"].as_array() {
        Some(errors) => {
            for error in errors {
                let code = error["extensions"]["code"].as_str().unwrap_or_default();
                if !CODES.contains(&code) {
                    return Err(format!("status {status}, error without an expected code: {error}"));
                }
            }
        }
        None if json["data"].is_object() => {}
        None => return Err(format!("status {status}, neither data nor errors: {text}")),
    }
    Ok(())
}
