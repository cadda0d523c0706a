//! What a hostile or careless client can make the server spend is bounded: large bodies
//! only for those who may import, and only so many at once; WebSocket connections per
//! address, per token and in all, from allowed origins, with init and idle timeouts, and
//! their operations spending the rate limit; errors per answer; no hints about hidden
//! fields. And an unreachable database is answered at once with 503 `UNAVAILABLE`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{ServerProcess, TestApp, cli_with_database, error_code};
use crate::ws::{GraphqlSocket, REFERENCE_DATA_CHANGED, Received};
use crate::{e2e, e2e_database, e2e_postgres};

const IMPORT: &str = "mutation Import($csv: String!) { importDesignations(csv: $csv, dryRun: true) { rowsRead } }";

fn import_body(bytes: usize) -> Value {
    // A file whose header is wrong: the import answers at once, whatever its size.
    json!({ "query": IMPORT, "variables": { "csv": "x".repeat(bytes) } })
}

async fn large_bodies_are_for_those_who_may_import(app: TestApp) -> TestApp {
    let app = app
        .reconfigure(|s| {
            s.limits.max_body_bytes = 4096;
            s.limits.max_import_body_bytes = 65_536;
        })
        .await;
    let body = import_body(20_000);
    for (role, ministry) in [(None, None), (Some("reader"), None), (Some("policy"), None)] {
        let token = role.map(|role| app.token(role, ministry));
        let response = app.post_json(&body, token.as_deref()).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{role:?}");
        let refused: Value = response.json().await.unwrap();
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("need a token that may import"), "{message}");
    }
    for (role, ministry) in [("ministry", Some("METI")), ("admin", None)] {
        let token = app.token(role, ministry);
        let response = app.post_json(&body, Some(&token)).await;
        assert_eq!(response.status(), StatusCode::OK, "{role}");
    }
    app
}

fn resident_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .expect("a memory figure")
}

/// Sends 40 bodies of 15 MB at once, anonymously and then as an administrator (who
/// may import: only `--max-large-bodies` of those are read at once).
async fn forty_large_bodies_at_once_stay_within_bounds(database_url: String) {
    let admin = {
        let output = cli_with_database(&database_url, &["token", "issue", "--role", "admin", "--create"]);
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    // A generous time limit: on a busy machine the last of 40 queued bodies waits a while.
    let args = ["--request-timeout-secs", "300"];
    let server = tokio::task::spawn_blocking(move || ServerProcess::start(&database_url, &args)).await.unwrap();
    let address = format!("http://{}", server.address);
    let pid = server.child.id();
    // A connection the server closed after refusing a body is never reused.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let body = std::sync::Arc::new(serde_json::to_vec(&import_body(15 * 1024 * 1024)).unwrap());
    let before = resident_kb(pid, "VmRSS");
    for token in [None, Some(admin.as_str())] {
        let requests: Vec<_> = (0..40)
            .map(|_| {
                let (client, address, body) = (client.clone(), address.clone(), body.clone());
                let token = token.map(str::to_owned);
                tokio::spawn(async move {
                    let mut request = client
                        .post(format!("{address}/graphql"))
                        .header("content-type", "application/json")
                        .body(body.as_ref().clone());
                    if let Some(token) = token {
                        request = request.bearer_auth(token);
                    }
                    match request.send().await {
                        Ok(response) => {
                            let status = response.status();
                            let body = response.text().await.unwrap_or_default();
                            Ok((status, body.chars().take(300).collect::<String>()))
                        }
                        Err(e) => Err(e),
                    }
                })
            })
            .collect();
        let mut read = 0;
        for request in requests {
            // A refusal comes before the upload ends: the client may see the connection
            // close before it has sent everything.
            match (token, request.await.unwrap()) {
                (None, Ok((status, body))) => assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}"),
                (Some(_), Ok((StatusCode::OK, _))) => read += 1,
                // Asked to come back: too many large bodies now, or (on a machine this busy)
                // the database pool could not serve the token check in time.
                (Some(_), Ok((status, body))) => assert!(
                    [StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE].contains(&status),
                    "{status}: {body}"
                ),
                (_, Err(_)) => {}
            }
        }
        if token.is_some() {
            assert!(read >= 2, "at least the places there are were used: {read}");
        }
    }
    let peak = resident_kb(pid, "VmHWM");
    println!("forty 15 MB bodies: resident {} MB before, peak {} MB", before / 1024, peak / 1024);
    assert!(peak < 300 * 1024, "peak resident set {} MB", peak / 1024);
}

/// Opens a WebSocket (without `connection_init`); Err is the HTTP status of a refusal.
async fn handshake(
    address: &str,
    origin: Option<&str>,
) -> Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>, u16> {
    let url = format!("{}/graphql", address.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    if let Some(origin) = origin {
        request.headers_mut().insert("Origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("handshake: {other}"),
    }
}

/// Caps per address and per token, the origin allow-list, and 2,000 connections beyond
/// the caps refused before any WebSocket state exists.
async fn websocket_connections_are_bounded(database_url: String) {
    let reader = {
        let output = cli_with_database(&database_url, &["token", "issue", "--role", "reader", "--create"]);
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let args = ["--ws-max-per-address", "5", "--ws-max-per-token", "2", "--ws-max-connections", "50"];
    let server = tokio::task::spawn_blocking(move || ServerProcess::start(&database_url, &args)).await.unwrap();
    let address = format!("http://{}", server.address);
    let pid = server.child.id();

    let host = server.address.clone();
    assert_eq!(handshake(&address, Some("https://evil.example")).await.err(), Some(403), "another origin");
    let own = handshake(&address, Some(&format!("http://{host}"))).await.expect("the same origin");
    let mut held = vec![own];
    for _ in 0..4 {
        held.push(handshake(&address, None).await.expect("within the cap"));
    }
    assert_eq!(handshake(&address, None).await.err(), Some(429), "a sixth from one address");

    let before = resident_kb(pid, "VmRSS");
    for _ in 0..2000 {
        assert_eq!(handshake(&address, None).await.err(), Some(429));
    }
    let after = resident_kb(pid, "VmRSS");
    println!("2,000 refused WebSocket connections: resident {} MB before, {} MB after", before / 1024, after / 1024);
    assert!(after < before + 20 * 1024, "resident set grew from {before} kB to {after} kB");
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Per token: the third connection with one token is refused when it says who it is.
    let first = GraphqlSocket::connect(&address, Some(&reader)).await;
    let second = GraphqlSocket::connect(&address, Some(&reader)).await;
    let third = GraphqlSocket::open(&address, json!({ "token": reader })).await.err().expect("refused");
    assert!(third.reason.contains("limit per token"), "{third:?}");
    drop((first, second));
}

/// A connection that never says who it is, or sits idle with nothing running, is closed;
/// a subscriber waiting for changes is not.
async fn websocket_connections_time_out(database_url: String) {
    let args = ["--ws-init-timeout-secs", "1", "--ws-idle-timeout-secs", "2"];
    let server = tokio::task::spawn_blocking(move || ServerProcess::start(&database_url, &args)).await.unwrap();
    let address = format!("http://{}", server.address);
    let mut silent = handshake(&address, None).await.expect("accepted");
    let started = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(10), silent.next()).await.expect("closed in time");
    assert!(!matches!(ended, Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_)))), "{ended:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "closed after {:?}", started.elapsed());

    let mut idle = GraphqlSocket::connect(&address, None).await;
    let mut subscriber = GraphqlSocket::connect(&address, None).await;
    subscriber.subscribe(REFERENCE_DATA_CHANGED, json!({})).await;
    match idle.receive(Duration::from_secs(10)).await {
        Some(Received::Closed(_)) => {}
        other => panic!("the idle connection should close, got {other:?}"),
    }
    assert!(subscriber.receive(Duration::from_secs(3)).await.is_none(), "the subscriber stays connected");
}

async fn websocket_operations_spend_the_rate_limit(app: TestApp) -> TestApp {
    let app = app
        .reconfigure(|s| {
            s.limits.rate_limit_per_minute = 12;
            s.limits.rate_limit_burst = 3;
        })
        .await;
    let reader = app.token("reader", None);
    let mut socket = GraphqlSocket::connect(&app.address, Some(&reader)).await;
    let mut codes = Vec::new();
    for _ in 0..10 {
        socket.subscribe("{ sectors { code } }", json!({})).await;
        let payload = socket.next_payload().await;
        codes.push(payload["errors"][0]["extensions"]["code"].as_str().unwrap_or("ok").to_owned());
        assert!(matches!(socket.receive(Duration::from_secs(5)).await, Some(Received::Complete)));
    }
    assert_eq!(codes[..3], ["ok", "ok", "ok"], "{codes:?}");
    assert!(codes[3..].iter().all(|c| c == "RATE_LIMITED"), "{codes:?}");
    // Over HTTP the same budget is spent already.
    let response = app.post_json(&json!({ "query": "{ sectors { code } }" }), Some(&reader)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    app
}

async fn errors_are_capped_and_hidden_fields_not_hinted(app: TestApp) -> TestApp {
    let directives = "@skip(if: false) ".repeat(5000);
    let body = app.graphql(&format!("{{ sectors {directives} {{ code }} }}"), json!({}), None).await;
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 50, "{}", errors.len());
    let last = errors.last().unwrap()["message"].as_str().unwrap();
    assert!(last.contains("left out") && last.contains("in all"), "{last}");
    assert!(body.to_string().len() < 20_000, "an answer of {} bytes", body.to_string().len());

    let typo = "{ sector(code: \"gas\") { nameJaa } }";
    let hinted = app.graphql(typo, json!({}), None).await;
    assert!(hinted.to_string().contains("Did you mean"), "with introspection, hints are fine: {hinted}");
    let app = app.reconfigure(|s| s.limits.disable_introspection = true).await;
    let hidden = app.graphql(typo, json!({}), None).await;
    assert_eq!(error_code(&hidden), "BAD_USER_INPUT");
    assert!(!hidden.to_string().contains("Did you mean"), "{hidden}");
    app
}

/// Forwards TCP connections to PostgreSQL until told to fail: then every connection,
/// open or new, is cut, as when the database host goes away.
struct Outage {
    port: u16,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Outage {
    async fn start(upstream: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = down.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                if flag.load(Ordering::Acquire) {
                    client.shutdown().await.ok();
                    continue;
                }
                let (upstream, flag) = (upstream.clone(), flag.clone());
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                    let copy = tokio::io::copy_bidirectional(&mut client, &mut server);
                    tokio::pin!(copy);
                    loop {
                        tokio::select! {
                            _ = &mut copy => return,
                            () = tokio::time::sleep(Duration::from_millis(50)) => {
                                if flag.load(Ordering::Acquire) { return }
                            }
                        }
                    }
                });
            }
        });
        Self { port, down, task }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::Release);
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The database host goes away: requests that need it are answered within the acquire
/// timeout with 503, `UNAVAILABLE` and `Retry-After` (GraphQL and exports alike), public
/// reference data keeps being answered from memory, and all is well once it is back.
async fn an_unreachable_database_is_answered_at_once_with_503(database_url: String) {
    let (base, name) = database_url.rsplit_once('/').unwrap();
    let upstream = base.rsplit_once('@').map_or(base, |(_, host)| host).to_owned();
    let outage = Outage::start(upstream).await;
    let through = format!("{}@127.0.0.1:{}/{name}", base.rsplit_once('@').unwrap().0, outage.port);
    // The command runs off the runtime's threads: the forwarding tasks need them.
    let url = through.clone();
    let output = tokio::task::spawn_blocking(move || cli_with_database(&url, &["token", "issue", "--role", "admin"]))
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let admin = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let url = through.clone();
    let args = ["--db-acquire-timeout-ms", "1000", "--without-notifications"];
    let server = tokio::task::spawn_blocking(move || ServerProcess::start(&url, &args)).await.unwrap();
    let address = format!("http://{}", server.address);
    let client = reqwest::Client::new();
    let ask = |query: &str, token: Option<&str>| {
        let mut request = client.post(format!("{address}/graphql")).json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let operators = "{ operators(first: 1) { totalCount } }";
    assert_eq!(ask(operators, Some(&admin)).await.unwrap().status(), StatusCode::OK);

    outage.set_down(true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let response = ask(operators, Some(&admin)).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAVAILABLE", "{body}");
    assert!(waited < Duration::from_secs(4), "answered after {waited:?}");
    let export = client.get(format!("{address}/export/operators.csv")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(export.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(export.headers().contains_key("retry-after"));
    let body: Value = export.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAVAILABLE", "{body}");
    let public = ask("{ sectors { code } }", None).await.unwrap();
    assert_eq!(public.status(), StatusCode::OK, "reference data is answered from memory");

    outage.set_down(false);
    let back = Instant::now();
    loop {
        let response = ask(operators, Some(&admin)).await.unwrap();
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(20), "still {} after the database came back", response.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

e2e!(
    large_bodies_are_for_those_who_may_import,
    websocket_operations_spend_the_rate_limit,
    errors_are_capped_and_hidden_fields_not_hinted,
);
e2e_database!(
    forty_large_bodies_at_once_stay_within_bounds,
    websocket_connections_are_bounded,
    websocket_connections_time_out
);
e2e_postgres!(an_unreachable_database_is_answered_at_once_with_503);
