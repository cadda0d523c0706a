//! Several instances on one PostgreSQL database: two real server processes (the
//! binary, each on its own port) share a fresh test database. A change made through one
//! reaches subscribers and caches of the other (at once for a request with a token); a
//! subscriber loses nothing across a reconnect or the death of its instance.
//!
//! These apply to PostgreSQL only (a SQLite file is served by one process), so they are
//! declared for PostgreSQL alone; other processes on a SQLite file, such as the CLI, are
//! covered in `subscriptions`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::e2e_postgres;
use crate::fixtures::{ci, cn, designate, espa, register_all};
use crate::support::{Api, BINARY, cli_with_database, post, seed_dir};
use crate::ws::{Received, designation_changes};

/// The poll interval the instances run with (the default) and the bound it gives.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// A `scope-registry serve` process on a free port.
pub(crate) struct Instance {
    child: Child,
    pub(crate) address: String,
    client: reqwest::Client,
}

impl Instance {
    /// Starts a server on `database_url` and waits until it listens.
    async fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[]).await
    }

    /// Starts a server with extra arguments.
    async fn start_with(database_url: &str, args: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json"])
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("SCOPE_REGISTRY_SEED_DIR", seed_dir())
            .env("SCOPE_REGISTRY_POLL_INTERVAL_MS", POLL_INTERVAL.as_millis().to_string())
            .env("RUST_LOG", "warn,scope_registry=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start scope-registry serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read the server's log") {
                let Ok(entry) = serde_json::from_str::<Value>(&line) else { continue };
                if let Some(address) = entry["fields"]["address"].as_str() {
                    return format!("http://{address}");
                }
            }
            panic!("the server stopped before it listened");
        })
        .await
        .expect("the server listens within a minute");
        // Keep reading its log, so that it never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[server] {line}");
            }
        });
        Self { child, address, client: reqwest::Client::new() }
    }

    /// SIGKILL: no shutdown, no goodbye to anyone.
    async fn kill(&mut self) {
        self.child.kill().await.expect("SIGKILL the server");
    }
}

impl Api for Instance {
    async fn data(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let body = post(&self.client, &self.address, query, variables, token).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }
}

/// Issues a token through the CLI.
fn token(database_url: &str, role: &str) -> String {
    let output = cli_with_database(database_url, &["token", "issue", "--role", role, "--name", "e2e"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
}

/// The id of the newest audit event.
async fn last_event_id(instance: &Instance, admin: &str) -> String {
    let mut after: Option<String> = None;
    loop {
        let data = instance
            .data(
                "query($after: String) { auditEvents(first: 500, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
                Some(admin),
            )
            .await;
        let connection = &data["auditEvents"];
        if !connection["pageInfo"]["hasNextPage"].as_bool().expect("hasNextPage") {
            let last = connection["edges"].as_array().and_then(|e| e.last()).map(|e| e["node"]["id"].clone());
            return last.and_then(|id| id.as_str().map(str::to_owned)).or(after).expect("an event");
        }
        after = connection["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

/// Two instances and the tokens the tests use, on a fresh database.
pub(crate) struct Deployment {
    pub(crate) a: Instance,
    pub(crate) b: Instance,
    pub(crate) admin: String,
    pub(crate) reader: String,
}

impl Deployment {
    pub(crate) async fn start(database_url: String) -> Self {
        // The first one migrates and seeds the new database.
        let a = Instance::start(&database_url).await;
        let b = Instance::start(&database_url).await;
        Self { admin: token(&database_url, "admin"), reader: token(&database_url, "reader"), a, b }
    }

    /// Registers operators 1..=n through A.
    async fn operators(&self, n: u64) -> Vec<String> {
        let numbers: Vec<String> = (1..=n).map(cn).collect();
        register_all(&self.a, &self.admin, &numbers).await;
        numbers
    }
}

/// The designation id of each message.
fn designation_ids(changes: &[Value]) -> Vec<String> {
    changes.iter().map(|c| c["designation"]["id"].as_str().expect("designation id").to_owned()).collect()
}

/// Event ids increase from one change to the next.
fn assert_increasing(changes: &[Value]) {
    let ids: Vec<i64> = changes.iter().map(|c| c["eventId"].as_str().unwrap().parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "event ids in commit order: {ids:?}");
}

async fn a_change_through_one_instance_reaches_a_subscriber_on_another(database_url: String) {
    let d = Deployment::start(database_url).await;
    let numbers = d.operators(1).await;
    let start = last_event_id(&d.a, &d.admin).await;
    let mut subscriber = designation_changes(&d.b.address, &d.reader, Some(&start), Value::Null).await;

    let first = designate(&d.a, &d.admin, ci(&numbers[0], "gas", "2024-04-01")).await;
    assert_eq!(subscriber.next_change().await["designation"]["id"], first.as_str());

    // Now that the subscription is surely running: how long delivery takes.
    let id = designate(&d.a, &d.admin, espa(&numbers[0], "electricity", "2024-05-17")).await;
    let answered = Instant::now();
    let change = subscriber.next_change().await;
    eprintln!("a change through A reached a subscriber on B {:?} after A answered", answered.elapsed());
    assert_eq!(change["designation"]["id"], id.as_str());
    assert_eq!(change["status"]["corporateNumber"], numbers[0].as_str());
    assert_eq!(change["status"]["ciSectors"], json!([{ "code": "gas" }]));
    assert_eq!(change["status"]["espaDomains"], json!([{ "code": "electricity" }]));
    assert_eq!(change["eventId"], last_event_id(&d.b, &d.admin).await.as_str());
    subscriber.expect_silence(Duration::from_millis(300)).await;
}

async fn a_subscriber_that_reconnects_receives_exactly_what_it_missed_then_live_changes(database_url: String) {
    let d = Deployment::start(database_url).await;
    let numbers = d.operators(5).await;
    let start = last_event_id(&d.a, &d.admin).await;
    let mut subscriber = designation_changes(&d.b.address, &d.reader, Some(&start), Value::Null).await;
    let seen = designate(&d.a, &d.admin, ci(&numbers[0], "gas", "2024-04-01")).await;
    let last_seen = subscriber.next_change().await;
    assert_eq!(last_seen["designation"]["id"], seen.as_str());
    subscriber.close().await;

    let mut missed = Vec::new();
    for number in &numbers[1..4] {
        missed.push(designate(&d.a, &d.admin, ci(number, "gas", "2024-04-01")).await);
    }
    let mut subscriber = designation_changes(&d.b.address, &d.reader, last_seen["cursor"].as_str(), Value::Null).await;
    let mut received = Vec::new();
    for _ in 0..3 {
        received.push(subscriber.next_change().await);
    }
    assert_eq!(designation_ids(&received), missed, "exactly the three it missed, in order");
    let live = designate(&d.a, &d.admin, ci(&numbers[4], "gas", "2024-04-01")).await;
    received.push(subscriber.next_change().await);
    assert_eq!(received[3]["designation"]["id"], live.as_str());
    assert_increasing(&received);
    subscriber.expect_silence(Duration::from_millis(500)).await;
}

/// The relation of the electricity–electricity link an instance serves today.
async fn electricity_relation(instance: &Instance) -> String {
    let data = instance.data("{ crosswalk { sector { code } domain { code } relation } }", json!({}), None).await;
    let links = data["crosswalk"].as_array().expect("links");
    let link = links.iter().find(|l| l["sector"]["code"] == "electricity" && l["domain"]["code"] == "electricity");
    link.expect("the electricity link")["relation"].as_str().expect("relation").to_owned()
}

async fn a_reference_change_through_one_instance_is_served_by_another_within_the_bound(database_url: String) {
    let d = Deployment::start(database_url).await;
    assert_eq!(electricity_relation(&d.b).await, "SUBSET_OF");

    let upsert = json!({ "i": { "sector": "electricity", "domain": "electricity", "relation": "EQUAL",
        "rationale": "Both regimes now name 発電事業.", "source": "nco-2025-08-26", "reason": "見直し" } });
    d.a.data(
        "mutation($i: UpsertCrosswalkLinkInput!) { upsertCrosswalkLink(input: $i) { relation } }",
        upsert,
        Some(&d.admin),
    )
    .await;
    // A read that B answers stale tells when B still served the old value: at the latest
    // when the read was sent (the request's own latency does not count).
    let committed = Instant::now();
    let mut last_stale = None;
    loop {
        let sent = committed.elapsed();
        if electricity_relation(&d.b).await == "EQUAL" {
            break;
        }
        last_stale = Some(sent);
        assert!(sent < Duration::from_secs(10), "B never served the change");
    }
    eprintln!(
        "B served A's crosswalk change {:?} after A answered; the last stale read was sent {last_stale:?} after",
        committed.elapsed()
    );
    assert!(
        last_stale.is_none_or(|sent| sent < POLL_INTERVAL),
        "B still served the old value {last_stale:?} after the change committed, beyond the poll interval"
    );
}

async fn a_subscriber_loses_nothing_when_its_instance_is_killed(database_url: String) {
    let mut d = Deployment::start(database_url).await;
    let numbers = d.operators(6).await;
    let start = last_event_id(&d.a, &d.admin).await;
    let mut subscriber = designation_changes(&d.b.address, &d.reader, Some(&start), Value::Null).await;
    let mut made = Vec::new();
    for number in &numbers[..2] {
        made.push(designate(&d.a, &d.admin, ci(number, "water", "2024-04-01")).await);
    }
    let mut received = vec![subscriber.next_change().await, subscriber.next_change().await];

    // A change, and B dies at once: it may or may not have passed it on.
    made.push(designate(&d.a, &d.admin, ci(&numbers[2], "water", "2024-04-01")).await);
    d.b.kill().await;
    loop {
        match subscriber.receive(Duration::from_secs(15)).await {
            Some(Received::Next(payload)) => received.push(payload["data"]["designationChanged"].clone()),
            Some(Received::Closed(closed)) => {
                assert_eq!(closed.code, 1006, "the connection broke: {closed:?}");
                break;
            }
            other => panic!("expected B's connection to break, got {other:?}"),
        }
    }
    for number in &numbers[3..5] {
        made.push(designate(&d.a, &d.admin, ci(number, "water", "2024-04-01")).await);
    }

    // Reconnecting to A with the last cursor received: the rest, then live changes.
    let cursor = received.last().expect("a message")["cursor"].as_str().expect("cursor").to_owned();
    let mut subscriber = designation_changes(&d.a.address, &d.reader, Some(&cursor), Value::Null).await;
    while received.len() < made.len() {
        received.push(subscriber.next_change().await);
    }
    made.push(designate(&d.a, &d.admin, ci(&numbers[5], "water", "2024-04-01")).await);
    received.push(subscriber.next_change().await);
    assert_eq!(designation_ids(&received), made, "every change once, in order");
    assert_increasing(&received);
    subscriber.expect_silence(Duration::from_millis(500)).await;
}

/// B remembers a token it verified; a revocation through A must still be refused by B's
/// very next request. Likewise a read with a token on B right after A answered a change
/// sees the change. B runs without notifications and polls once a minute, so that only
/// what B does before an authenticated request can pass these (with notifications they
/// usually arrive first, and a race would hide).
async fn an_instance_follows_what_another_committed_before_an_authenticated_request(database_url: String) {
    let a = Instance::start(&database_url).await;
    let b = Instance::start_with(&database_url, &["--without-notifications", "--poll-interval-ms", "60000"]).await;
    let d = Deployment { admin: token(&database_url, "admin"), reader: token(&database_url, "reader"), a, b };
    let operators = "{ operators(first: 1) { totalCount } }";
    let revoke = "mutation($id: ID!) { revokeToken(id: $id) { status } }";
    let tokens = "{ tokens { id label status } }";
    for round in 0..10 {
        let label = format!("round {round}");
        let output = cli_with_database(&database_url, &["token", "issue", "--role", "reader", "--name", &label]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let secret = String::from_utf8(output.stdout).expect("utf-8").trim().to_owned();
        d.b.data(operators, json!({}), Some(&secret)).await;
        d.b.data(operators, json!({}), Some(&secret)).await;
        let listed = d.a.data(tokens, json!({}), Some(&d.admin)).await;
        let id = listed["tokens"].as_array().expect("tokens").iter().find(|t| t["label"] == label.as_str());
        let id = id.expect("the new token")["id"].clone();
        let revoked = d.a.data(revoke, json!({ "id": id }), Some(&d.admin)).await;
        assert_eq!(revoked["revokeToken"]["status"], "REVOKED");
        let body = post(&d.b.client, &d.b.address, operators, json!({}), Some(&secret)).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "round {round}: {body}");
    }

    let numbers = d.operators(10).await;
    let status = "query($n: String!) { operator(corporateNumber: $n) { designations { id } } }";
    for number in &numbers {
        d.b.data(status, json!({ "n": number }), Some(&d.reader)).await;
        let id = designate(&d.a, &d.admin, ci(number, "gas", "2024-04-01")).await;
        let seen = d.b.data(status, json!({ "n": number }), Some(&d.reader)).await;
        assert_eq!(seen["operator"]["designations"], json!([{ "id": id }]), "B's first read after A answered");
    }
}

e2e_postgres!(
    an_instance_follows_what_another_committed_before_an_authenticated_request,
    a_change_through_one_instance_reaches_a_subscriber_on_another,
    a_subscriber_that_reconnects_receives_exactly_what_it_missed_then_live_changes,
    a_reference_change_through_one_instance_is_served_by_another_within_the_bound,
    a_subscriber_loses_nothing_when_its_instance_is_killed,
);
