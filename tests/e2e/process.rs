//! The real binary as a process: graceful shutdown on SIGTERM, JSON logs with request
//! ids and no secrets, and start-up failures that say what is wrong in one line.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;

use crate::e2e_database;
use crate::support::{BINARY, ServerProcess, cli_with_database};

/// Waits for the process to exit, at most `limit`.
fn wait_for_exit(server: &mut ServerProcess, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().expect("process status") {
            return status;
        }
        assert!(started.elapsed() < limit, "the server did not exit within {limit:?}: {:?}", server.log_lines());
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn sigterm_lets_a_slow_request_finish_and_exits_zero(database_url: String) {
    let token = {
        let output =
            cli_with_database(&database_url, &["token", "issue", "--role", "reader", "--name", "shutdown", "--create"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
    };
    let url = database_url.clone();
    let token_for_server = token.clone();
    tokio::task::spawn_blocking(move || {
        let mut server = ServerProcess::start(&url, &["--shutdown-grace-secs", "20"]);
        let body = r#"{"query": "query Slow { sectors { code } operators { totalCount } }"}"#;
        let (first, rest) = body.split_at(20);
        // A slow client: headers and part of the body now, the rest after SIGTERM.
        let mut slow = TcpStream::connect(&server.address).expect("connect");
        write!(
            slow,
            "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nAuthorization: Bearer {token_for_server}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
            body.len()
        )
        .expect("send the first half");
        std::thread::sleep(Duration::from_millis(300));
        server.terminate();
        std::thread::sleep(Duration::from_millis(500));
        assert!(server.child.try_wait().expect("status").is_none(), "the server waits for the request in flight");
        assert!(TcpStream::connect(&server.address).is_err(), "no new connections after SIGTERM");

        slow.write_all(rest.as_bytes()).expect("send the rest");
        let mut answer = String::new();
        slow.read_to_string(&mut answer).expect("read the answer");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"totalCount\":0"), "{answer}");

        let status = wait_for_exit(&mut server, Duration::from_secs(15));
        assert_eq!(status.code(), Some(0), "exit status after SIGTERM: {status:?}");

        // JSON log lines; those of the request carry its id; no secret anywhere.
        let lines = server.log_lines();
        let entries: Vec<Value> =
            lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"))).collect();
        let finished: Vec<&Value> =
            entries.iter().filter(|e| e["fields"]["message"] == "request finished").collect();
        assert_eq!(finished.len(), 1, "{lines:?}");
        assert!(finished[0]["span"]["request_id"].as_str().is_some_and(|id| id.len() == 36), "{:?}", finished[0]);
        assert_eq!(finished[0]["span"]["operation"], "Slow");
        assert!(lines.iter().any(|l| l.contains("shutdown signal received")), "{lines:?}");
        assert!(!lines.iter().any(|l| l.contains(&token_for_server) || l.contains(&token_for_server[3..])));
    })
    .await
    .expect("test thread");
}

async fn a_database_migrated_by_a_newer_version_is_refused(database_url: String) {
    let migrated = cli_with_database(&database_url, &["migrate"]);
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let conn = Database::connect(&database_url).await.expect("connect");
    let backend = conn.get_database_backend();
    conn.execute_raw(Statement::from_string(
        backend,
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000001_from_the_future', 0)",
    ))
    .await
    .expect("insert");
    conn.close().await.ok();

    for args in [&["serve", "--bind", "127.0.0.1:0"][..], &["migrate"][..]] {
        let output = cli_with_database(&database_url, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(lines.len(), 1, "one error line: {stderr}");
        assert!(
            lines[0].contains("migrated by a newer version") && lines[0].contains("m29991231_000001_from_the_future"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

e2e_database!(sigterm_lets_a_slow_request_finish_and_exits_zero, a_database_migrated_by_a_newer_version_is_refused);

#[test]
fn an_unreachable_database_fails_with_one_clear_line() {
    let missing_dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite://{}/no/such/dir/registry.db", missing_dir.path().display());
    // Port 1 on loopback: nothing listens there.
    for url in ["postgres://postgres@127.0.0.1:1/registry", sqlite.as_str()] {
        let output = Command::new(BINARY)
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
            .env_remove("RUST_LOG")
            .output()
            .expect("run scope-registry");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{url}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{url}: exactly one line: {stderr}");
        assert!(lines[0].starts_with("error: cannot connect to the database"), "{url}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    }
}
