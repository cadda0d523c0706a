//! What wraps every request, built from tower-http's layers where one fits: a request
//! id (the client's own when it is plain, else a new UUID; echoed in `X-Request-Id` and
//! on every log line of the request), a span and a log line when it ends, metrics, the
//! security headers and a time limit.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Response, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use tower_http::request_id::RequestId;
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::Span;

use super::error::{Reason, Rejection};
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
/// across systems; anything else is dropped here and replaced by a new one
/// (`SetRequestId` only makes one when the request has none).
pub async fn drop_unfit_request_id(mut request: Request) -> Request {
    let fit = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).is_some_and(|id| {
        !id.is_empty()
            && id.len() <= MAX_REQUEST_ID_LEN
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if !fit {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The span of one request: its id, method and path (never the query string, which may
/// carry data), and the GraphQL operation once it is known.
#[derive(Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> Span {
        let id = request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("");
        tracing::info_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            path = %request.uri().path(),
            operation = tracing::field::Empty,
        )
    }
}

/// The "request finished" line, with status and latency.
#[derive(Clone, Copy)]
pub struct Finished;

impl<B> OnResponse<B> for Finished {
    fn on_response(self, response: &Response<B>, latency: Duration, _: &Span) {
        let status = response.status().as_u16();
        let latency_ms = latency.as_millis() as u64;
        // Probes come every few seconds; their lines would drown the others.
        if response.extensions().get::<MatchedPath>().is_some_and(|route| PROBES.contains(&route.as_str())) {
            tracing::debug!(status, latency_ms, "request finished");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
    }
}

/// Counts every request by route template, method and status.
pub async fn count(State(metrics): State<Metrics>, request: Request, next: Next) -> Response<Body> {
    let started = Instant::now();
    let method = request.method().clone();
    let response = next.run(request).await;
    let route = response.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    metrics.http_request(route, method.as_str(), response.status().as_u16(), started.elapsed());
    response
}

/// Innermost (a route layer): hands the matched route template to the outer layers,
/// which run before routing and so cannot see it on the request.
pub async fn expose_route(request: Request, next: Next) -> Response<Body> {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// The answer when a request, body upload included, ran longer than `limit` (dropping
/// the handler rolled back any transaction it had open).
pub fn timed_out(limit: Duration) -> Response<Body> {
    tracing::warn!(limit_secs = limit.as_secs(), "request timed out");
    Rejection::new(Reason::Timeout, format!("the request did not finish within {} s", limit.as_secs())).into_response()
}

fn is_html<B>(response: &Response<B>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

/// Pages get a content security policy (unless they set a stricter one of their own, as
/// the scope map does).
pub fn html_content_security_policy<B>(response: &Response<B>) -> Option<HeaderValue> {
    is_html(response).then(|| HeaderValue::from_static(HTML_CONTENT_SECURITY_POLICY))
}

/// Pages may not be framed.
pub fn html_frame_options<B>(response: &Response<B>) -> Option<HeaderValue> {
    is_html(response).then(|| HeaderValue::from_static("DENY"))
}

/// Answers to requests with a token are not cached (the only header that depends on the
/// request, so not a response-header layer).
pub async fn no_store_when_authenticated(request: Request, next: Next) -> Response<Body> {
    let authenticated = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.run(request).await;
    if authenticated && !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Records the GraphQL operation on the request's span, for the request's log lines.
pub fn record_operation(operation: Option<&str>) {
    if let Some(operation) = operation {
        // Bounded and plain, so a hostile name cannot flood or forge log lines.
        let shown: String =
            operation.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(MAX_REQUEST_ID_LEN).collect();
        Span::current().record("operation", shown.as_str());
    }
}
