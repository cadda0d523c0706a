//! GraphQL over WebSocket on `GET /graphql`, with the `graphql-transport-ws` protocol
//! (the older `graphql-ws` protocol is accepted too). The token comes in the
//! `connection_init` payload (`{"token": "sr_…"}` or `{"Authorization": "Bearer sr_…"}`;
//! the upgrade request's `Authorization` header when the payload names none) and is
//! verified as for HTTP requests, when the connection starts (an unknown, revoked or
//! expired one closes it) and again for each operation on it; without one, only public
//! data can be subscribed to.

use std::any::TypeId;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Pos, Request, Response};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::WebSocketUpgrade;
use axum::extract::ws::WebSocket;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::stream::{self, BoxStream, StreamExt};
use serde_json::Value;

use super::connections::{AddressSlot, Refused};
use super::error::{Reason, Rejection, TOO_MANY_CONNECTIONS_RETRY_AFTER_SECS};
use super::{AppState, code_every_error, execute, with_request_data};
use crate::domain::Principal;
use crate::graphql::ApiError;
use crate::graphql::persisted::DocumentReference;
use crate::services::authentication::{self, Session};

/// Largest message a client may send (a subscription with a thousand corporate numbers
/// takes about 20 KB).
const MAX_CLIENT_MESSAGE: usize = 256 * 1024;

/// Upgrades `GET /graphql` to a GraphQL WebSocket connection.
pub fn upgrade(
    state: AppState,
    headers: &HeaderMap,
    address: Option<IpAddr>,
    upgrade: WebSocketUpgrade,
    protocol: Result<GraphQLProtocol, StatusCode>,
) -> HttpResponse {
    let Ok(protocol) = protocol else {
        let message = "GraphQL over WebSocket needs the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)";
        return Rejection::new(Reason::InvalidRequest, message).into_response();
    };
    // Refused before the upgrade, so that a refused connection costs no WebSocket state.
    let slot = match state.connections.check_origin(headers).and_then(|()| state.connections.admit(address)) {
        Ok(slot) => slot,
        Err(Refused::Origin(message)) => return Rejection::new(Reason::ForbiddenOrigin, message).into_response(),
        Err(Refused::TooMany(message)) => return Rejection::too_many_connections(message).into_response(),
    };
    let header_authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| serve(state, slot, socket, protocol, address, header_authorization))
}

/// What a connection has been doing: when the client last sent anything, and how many
/// operations (subscriptions) run on it.
#[derive(Default)]
struct Activity {
    last_message: std::sync::Mutex<Option<Instant>>,
    running: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        *self.last_message.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now());
    }

    fn idle_for(&self) -> Duration {
        let last = *self.last_message.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        last.map_or(Duration::ZERO, |at| at.elapsed())
    }
}

/// An operation running on a connection, counted until its stream ends.
struct Running(Arc<Activity>);

impl Running {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.running.fetch_add(1, Ordering::AcqRel);
        Self(activity.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves one connection: it must say who it is within the init timeout, and it is
/// closed once it has had no operation running and no message from the client for the
/// idle timeout (a subscriber waiting for changes is never idle).
async fn serve(
    state: AppState,
    _slot: AddressSlot,
    socket: WebSocket,
    protocol: GraphQLProtocol,
    address: Option<IpAddr>,
    header_authorization: Option<String>,
) {
    let activity = Arc::new(Activity::default());
    activity.touch();
    let (init_timeout, idle_timeout) = (state.ws_timeouts.init, state.ws_timeouts.idle);
    let (sink, stream) = socket.split();
    let touched = activity.clone();
    let stream = stream.inspect(move |_| touched.touch());
    let (initialised, mut on_init) = tokio::sync::watch::channel(false);
    let executor = ConnectionExecutor { state: state.clone(), address, activity: activity.clone() };
    let connection = GraphQLWebSocket::new_with_pair(sink, stream, executor, protocol)
        .on_connection_init(move |payload| async move {
            let data = start_session(state, header_authorization, payload).await;
            initialised.send_replace(true);
            data
        })
        .serve();
    tokio::pin!(connection);
    let init = tokio::time::timeout(init_timeout, on_init.wait_for(|done| *done));
    tokio::select! {
        () = &mut connection => return,
        waited = init => if !matches!(waited, Ok(Ok(_))) {
            tracing::debug!("a WebSocket connection sent no connection_init in time; closed");
            return;
        },
    }
    let watch_idle = async {
        loop {
            tokio::time::sleep(idle_timeout / 4).await;
            if activity.running.load(Ordering::Acquire) == 0 && activity.idle_for() >= idle_timeout {
                tracing::debug!("an idle WebSocket connection closed");
                return;
            }
        }
    };
    tokio::select! {
        () = connection => {}
        () = watch_idle => {}
    }
}

/// The credentials a connection was opened with: each operation on it verifies them
/// again, as each HTTP request does, so that a token revoked meanwhile is refused.
struct Credentials(Option<String>);

/// Verifies the token of a connection (refusing the connection when it is not valid);
/// what it returns is the connection's data.
async fn start_session(
    state: AppState,
    header_authorization: Option<String>,
    payload: Value,
) -> async_graphql::Result<Data> {
    let authorization = payload_authorization(&payload)?.or(header_authorization);
    let session = authentication::session(&state.services, authorization.as_deref()).await.map_err(ApiError::from)?;
    let mut data = Data::default();
    if let Principal::Token { id, .. } = &session.principal {
        let slot = state.connections.admit_token(*id).map_err(|refused| match refused {
            Refused::TooMany(message) | Refused::Origin(message) => {
                ApiError::RateLimited { message, retry_after_secs: TOO_MANY_CONNECTIONS_RETRY_AFTER_SECS }
            }
        })?;
        data.insert(slot);
    }
    data.insert(Credentials(authorization));
    Ok(data)
}

/// The `Authorization` value a `connection_init` payload carries, if any.
fn payload_authorization(payload: &Value) -> Result<Option<String>, ApiError> {
    let Value::Object(fields) = payload else { return Ok(None) };
    let text = |value: &Value, name: &str| {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::bad_input(format!("connection_init: {name} must be a string")))
    };
    if let Some(token) = fields.get("token") {
        return Ok(Some(format!("Bearer {}", text(token, "token")?)));
    }
    match fields.iter().find(|(name, _)| name.eq_ignore_ascii_case("authorization")) {
        Some((name, value)) => Ok(Some(text(value, name)?)),
        None => Ok(None),
    }
}

/// Runs the operations of one connection: subscriptions as streams, queries and
/// mutations exactly as over HTTP.
#[derive(Clone)]
struct ConnectionExecutor {
    state: AppState,
    address: Option<IpAddr>,
    activity: Arc<Activity>,
}

impl Executor for ConnectionExecutor {
    /// Not used by WebSocket connections (they run everything as streams); without a
    /// connection there are no credentials.
    async fn execute(&self, mut request: Request) -> Response {
        self.state.services.read_model().parsed().prepare(&mut request);
        execute(&self.state, Principal::Anonymous, request).await
    }

    fn execute_stream(&self, request: Request, connection: Option<Arc<Data>>) -> BoxStream<'static, Response> {
        let state = self.state.clone();
        let authorization = connection
            .as_ref()
            .and_then(|data| data.get(&TypeId::of::<Credentials>()))
            .and_then(|credentials| credentials.downcast_ref::<Credentials>())
            .and_then(|credentials| credentials.0.clone());
        let (address, running) = (self.address, Running::start(&self.activity));
        stream::once(async move {
            let session = match authentication::session(&state.services, authorization.as_deref()).await {
                Ok(session) => session,
                Err(e) => return stream::once(async move { refusal(ApiError::from(e)) }).boxed(),
            };
            // Operations over a connection spend the same budget as requests over HTTP.
            if let Err(wait) = state.rate_limiter.check(&session.principal, address) {
                let rejection = Rejection::rate_limited(wait);
                let retry_after_secs = rejection.retry_after.map_or(1, |after| after.as_secs());
                let limited = ApiError::RateLimited { message: rejection.message, retry_after_secs };
                return stream::once(async move { refusal(limited) }).boxed();
            }
            run(state, session, request, connection)
        })
        .flatten()
        .map(move |response| {
            let _running = &running;
            response
        })
        .boxed()
    }
}

/// Runs one operation for a verified session.
fn run(
    state: AppState,
    session: Session,
    mut request: Request,
    connection: Option<Arc<Data>>,
) -> BoxStream<'static, Response> {
    let principal = session.principal.clone();
    // The document may be named by hash, and may have to be a trusted one, as over HTTP.
    let extensions: serde_json::Map<String, serde_json::Value> = (request.extensions.iter())
        .filter_map(|(name, value)| Some((name.clone(), value.clone().into_json().ok()?)))
        .collect();
    let extensions = Some(serde_json::Value::Object(extensions));
    let reference = DocumentReference { query: Some(std::mem::take(&mut request.query)), ..Default::default() }
        .with_extensions(extensions.as_ref());
    match state.documents.resolve(&principal, reference) {
        Ok(query) => request.query = query,
        Err(error) => return stream::once(async move { refusal(error) }).boxed(),
    }
    state.services.read_model().parsed().prepare(&mut request);
    if !is_subscription(&mut request) {
        return stream::once(async move { execute(&state, principal, request).await }).boxed();
    }
    let request = with_request_data(&state, principal, request).data(session);
    state
        .executor
        .schema()
        .execute_stream_with_session_data(request, connection.unwrap_or_default())
        .map(|mut response| {
            code_every_error(&mut response);
            response
        })
        .boxed()
}

/// An operation refused before it ran (its connection's token no longer holds).
fn refusal(error: ApiError) -> Response {
    Response::from_errors(vec![async_graphql::Error::from(error).into_server_error(Pos::default())])
}

/// Whether the operation the request selects is a subscription (a request that does
/// not parse is not: executing it reports why).
fn is_subscription(request: &mut Request) -> bool {
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else { return false };
    let mut operations = document.operations.iter();
    let selected = match name {
        Some(name) => operations.find(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
        None => operations.next(),
    };
    selected.is_some_and(|(_, operation)| operation.node.ty == OperationType::Subscription)
}
