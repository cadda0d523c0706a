//! A GraphQL-over-WebSocket client speaking `graphql-transport-ws`, as other systems
//! would, with helpers for the registry's subscriptions.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a message it expects.
pub const WAIT: Duration = Duration::from_secs(15);

pub const DESIGNATION_CHANGED: &str = "subscription($after: ID, $filter: DesignationChangeFilter) {
    designationChanged(after: $after, filter: $filter) {
        eventId cursor action at
        designation { id regime sector { code } domain { code } effectiveTo status }
        status { corporateNumber found ciSectors { code } espaDomains { code } obligations { code } }
    } }";

pub const REFERENCE_DATA_CHANGED: &str =
    "subscription($after: ID) { referenceDataChanged(after: $after) { eventId action entityType entityId } }";

/// How the server ended a connection.
#[derive(Debug)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

/// What arrived for the subscription.
#[derive(Debug)]
pub enum Received {
    /// A `next` message's payload (`data` and/or `errors`).
    Next(Value),
    /// The subscription completed.
    Complete,
    /// The connection closed (or broke, with code 1006).
    Closed(Closed),
}

pub struct GraphqlSocket {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl GraphqlSocket {
    /// Connects to the server at `address` ("http://host:port") and initialises the
    /// connection with `payload`; `Err` when the server closes it instead.
    pub async fn open(address: &str, payload: Value) -> Result<Self, Closed> {
        let url = format!("{}/graphql", address.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("a WebSocket request");
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
        let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("WebSocket handshake");
        assert_eq!(
            response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()),
            Some("graphql-transport-ws")
        );
        let mut this = Self { socket };
        this.send(json!({ "type": "connection_init", "payload": payload })).await;
        match this.message().await {
            Ok(message) if message["type"] == "connection_ack" => Ok(this),
            Ok(message) => panic!("expected connection_ack, got {message}"),
            Err(closed) => Err(closed),
        }
    }

    /// Connects with a bearer token (or none).
    pub async fn connect(address: &str, token: Option<&str>) -> Self {
        let payload = token.map_or(json!({}), |token| json!({ "token": token }));
        Self::open(address, payload).await.unwrap_or_else(|closed| panic!("connection refused: {closed:?}"))
    }

    pub async fn subscribe(&mut self, query: &str, variables: Value) {
        self.subscribe_with(json!({ "query": query, "variables": variables })).await;
    }

    /// Subscribes with a payload as given (for extensions, or no query at all).
    pub async fn subscribe_with(&mut self, payload: Value) {
        self.send(json!({ "id": "1", "type": "subscribe", "payload": payload })).await;
    }

    async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.expect("send");
    }

    /// The next protocol message (answering pings), or how the connection ended.
    async fn message(&mut self) -> Result<Value, Closed> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).expect("JSON message");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Ok(message);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map_or(Closed { code: 1005, reason: String::new() }, |f| Closed {
                        code: f.code.into(),
                        reason: f.reason.to_string(),
                    }));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Err(Closed { code: 1006, reason: "connection lost".into() }),
            }
        }
    }

    /// The text of the next protocol message other than a ping, as it came (for the
    /// order of its keys, which a parsed `Value` does not keep).
    pub async fn next_text(&mut self) -> String {
        let read = async {
            loop {
                match self.socket.next().await {
                    Some(Ok(Message::Text(text))) if text.contains("\"ping\"") => {
                        self.send(json!({ "type": "pong" })).await;
                    }
                    Some(Ok(Message::Text(text))) => return text.to_string(),
                    Some(Ok(_)) => {}
                    other => panic!("the connection ended: {other:?}"),
                }
            }
        };
        tokio::time::timeout(WAIT, read).await.unwrap_or_else(|_| panic!("no message within {WAIT:?}"))
    }

    /// What arrives next for the subscription within `within` (None: nothing did).
    pub async fn receive(&mut self, within: Duration) -> Option<Received> {
        let message = tokio::time::timeout(within, self.message()).await.ok()?;
        Some(match message {
            Ok(message) if message["type"] == "next" => Received::Next(message["payload"].clone()),
            Ok(message) if message["type"] == "complete" => Received::Complete,
            Ok(message) => panic!("unexpected message {message}"),
            Err(closed) => Received::Closed(closed),
        })
    }

    /// The next `next` payload; fails the test on anything else.
    pub async fn next_payload(&mut self) -> Value {
        match self.receive(WAIT).await {
            Some(Received::Next(payload)) => payload,
            other => panic!("expected a message within {WAIT:?}, got {other:?}"),
        }
    }

    /// The next message's `data.<field>`; fails the test on errors.
    pub async fn next_item(&mut self, field: &str) -> Value {
        let payload = self.next_payload().await;
        assert!(payload.get("errors").is_none(), "unexpected errors: {payload:#}");
        payload["data"][field].clone()
    }

    /// The next `designationChanged` message.
    pub async fn next_change(&mut self) -> Value {
        self.next_item("designationChanged").await
    }

    /// The first error's code of the next message; then the subscription completes.
    pub async fn next_error_code(&mut self) -> String {
        let payload = self.next_payload().await;
        let code =
            payload["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error in {payload:#}"));
        code.to_owned()
    }

    /// Fails the test if anything arrives within `quiet`.
    pub async fn expect_silence(&mut self, quiet: Duration) {
        if let Some(received) = self.receive(quiet).await {
            panic!("expected nothing more, got {received:?}");
        }
    }

    pub async fn close(mut self) {
        self.socket.close(None).await.ok();
    }
}

/// Opens a connection as `token` and subscribes to `designationChanged`.
pub async fn designation_changes(address: &str, token: &str, after: Option<&str>, filter: Value) -> GraphqlSocket {
    let mut socket = GraphqlSocket::connect(address, Some(token)).await;
    socket.subscribe(DESIGNATION_CHANGED, json!({ "after": after, "filter": filter })).await;
    socket
}
