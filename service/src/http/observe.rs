//! What wraps every request: a request id (echoed in `X-Request-Id` and on every log
//! line of the request), a log line and metrics when it ends, a time limit and the
//! security headers.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use uuid::Uuid;

use super::rejection::{Reason, Rejection};
use crate::metrics::Metrics;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Routes that monitoring calls; their requests are logged at debug level.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Longest client-supplied request id that is kept (longer ones are replaced).
const MAX_REQUEST_ID_LEN: usize = 64;

/// The policy of a page that sets none of its own (the scope map and GraphiQL do): it
/// may load and call this origin only, and may not be framed.
const HTML_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";

/// A client's own id is kept when it is short and plain, so that it can be followed
/// across systems; anything else is replaced.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID_LEN
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned)
}

/// Outermost: gives the request an id and a span, logs and counts it when it ends.
pub async fn trace(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        // The path only: a query string may carry data.
        path = %request.uri().path(),
        operation = tracing::field::Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let route = response.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let status = response.status();
    metrics.http_request(&route, method.as_str(), status.as_u16(), elapsed);
    let latency_ms = elapsed.as_millis() as u64;
    span.in_scope(|| {
        // Probes come every few seconds; their lines would drown the others.
        if PROBES.contains(&route.as_str()) {
            tracing::debug!(status = status.as_u16(), latency_ms, "request finished");
        } else {
            tracing::info!(status = status.as_u16(), latency_ms, "request finished");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Innermost (a route layer): hands the matched route template to [`trace`], which runs
/// before routing and so cannot see it on the request.
pub async fn expose_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// Answers 503 when a request, body upload included, takes longer than the limit.
/// Dropping the handler rolls back any transaction it had open.
pub async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs(), "request timed out");
            Rejection::new(Reason::Timeout, format!("the request did not finish within {} s", limit.as_secs()))
                .into_response()
        }
    }
}

/// Security headers on every response; pages also get a content security policy and
/// may not be framed; answers to authenticated requests are not cached.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let authenticated = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if is_html {
        // A page that sets a stricter policy of its own (the scope map) keeps it.
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(HTML_CONTENT_SECURITY_POLICY));
        }
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if authenticated && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Records the GraphQL operation on the request's span, for the request's log lines.
pub fn record_operation(operation: Option<&str>) {
    if let Some(operation) = operation {
        // Bounded and plain, so a hostile name cannot flood or forge log lines.
        let shown: String =
            operation.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(MAX_REQUEST_ID_LEN).collect();
        tracing::Span::current().record("operation", shown.as_str());
    }
}
