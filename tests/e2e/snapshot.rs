//! The registry index's snapshot, with the real binary: a restart reads the index back
//! from it (beside a SQLite file by default, where `--index-snapshot` says otherwise) and
//! answers what changed while the server was down as the database has it; a damaged
//! snapshot is not used, and a new one replaces it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::e2e_database;
use crate::fixtures::cn;
use crate::support::{ServerProcess, cli_with_database, post};

const HEADER: &str = "corporate_number,name_ja,name_en,regime,sector_or_domain,scope_item,effective_from,effective_to,legal_basis,reference\n";

const STATUSES: &str = "query($n: [String!]!) { operatorStatuses(corporateNumbers: $n) {
    corporateNumber found operator { nameJa designations { regime sector { code } domain { code } } } } }";

/// Imports `rows` through the command line (another process than the server).
/// The first import creates the database.
fn import(database_url: &str, dir: &Path, name: &str, rows: &str) {
    let file = dir.join(name);
    std::fs::write(&file, format!("{HEADER}{rows}")).expect("write the file");
    let output = cli_with_database(database_url, &["import", file.to_str().expect("utf-8 path"), "--create"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// The log entry with `message` once the server has written it (at most a minute).
fn wait_for_log(server: &ServerProcess, message: &str) -> Value {
    let started = Instant::now();
    loop {
        let found = server
            .log_lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|entry| entry["fields"]["message"] == message);
        if let Some(entry) = found {
            return entry;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no {message:?} in {:?}", server.log_lines());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts a server, waits until its index is loaded (and, when `writes`, its snapshot
/// written), and gives back the log entry of the load.
async fn start(database_url: &str, args: Vec<String>, loaded: &'static str, writes: bool) -> (ServerProcess, Value) {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let arguments: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = ServerProcess::start(&url, &arguments);
        let entry = wait_for_log(&server, loaded);
        if writes {
            wait_for_log(&server, "index snapshot written");
        }
        (server, entry)
    })
    .await
    .expect("start the server")
}

async fn stop(server: ServerProcess) {
    tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.terminate();
        server.child.wait().expect("the server exits");
    })
    .await
    .expect("stop the server");
}

/// Where the snapshot is: beside a SQLite file by default, as given on PostgreSQL.
fn snapshot_of(database_url: &str, dir: &Path) -> (PathBuf, Vec<String>) {
    match database_url.strip_prefix("sqlite://") {
        Some(rest) => {
            let file = rest.split('?').next().expect("a path");
            (PathBuf::from(format!("{file}.index")), Vec::new())
        }
        None => {
            let path = dir.join("registry.index");
            let args = vec!["--index-snapshot".to_owned(), path.to_str().expect("utf-8 path").to_owned()];
            (path, args)
        }
    }
}

async fn a_restart_starts_from_the_snapshot_and_answers_what_changed_meanwhile(database_url: String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (snapshot, args) = snapshot_of(&database_url, dir.path());
    let (one, two, three) = (cn(1), cn(2), cn(3));
    import(
        &database_url,
        dir.path(),
        "first.csv",
        &format!(
            "{one},第一電力株式会社,,CI,electricity,,2024-04-01,,,\n\
             {two},第二瓦斯株式会社,,ESPA,gas,,2024-05-17,,,\n"
        ),
    );
    let reader = {
        let output = cli_with_database(&database_url, &["token", "issue", "--role", "reader", "--name", "snapshot"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
    };

    let (server, loaded) = start(&database_url, args.clone(), "registry index loaded", true).await;
    assert_eq!(loaded["fields"]["operators"], 2, "{loaded}");
    assert!(snapshot.exists(), "the snapshot is written to {}", snapshot.display());
    stop(server).await;

    // While the server is down, another process designates an operator again and
    // registers a third one.
    import(
        &database_url,
        dir.path(),
        "second.csv",
        &format!(
            "{one},第一電力株式会社,,ESPA,electricity,,2024-05-17,,,\n\
             {three},第三水道株式会社,,CI,water,,2024-04-01,,,\n"
        ),
    );
    let (server, loaded) = start(&database_url, args.clone(), "registry index loaded from its snapshot", true).await;
    assert_eq!(loaded["fields"]["operators"], 2, "{loaded}");
    assert_eq!(loaded["fields"]["changed_since"], 2, "{loaded}");
    let address = format!("http://{}", server.address);
    let client = reqwest::Client::new();
    let answer = post(&client, &address, STATUSES, json!({ "n": [one, two, three] }), Some(&reader)).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    let statuses = &answer["data"]["operatorStatuses"];
    let designations = |i: usize| statuses[i]["operator"]["designations"].as_array().expect("designations").len();
    assert_eq!((designations(0), designations(1), designations(2)), (2, 1, 1), "{statuses:#}");
    assert_eq!(statuses[2]["operator"]["nameJa"], "第三水道株式会社");
    let listing = post(&client, &address, "{ operators(first: 10) { totalCount } }", json!({}), Some(&reader)).await;
    assert_eq!(listing["data"]["operators"]["totalCount"], 3, "{listing:#}");
    let overlap = post(&client, &address, "{ overlap { totals { both ciOnly espaOnly } } }", json!({}), Some(&reader));
    assert_eq!(overlap.await["data"]["overlap"]["totals"], json!({ "both": 1, "ciOnly": 1, "espaOnly": 1 }));
    stop(server).await;

    // A damaged snapshot is not used; the index loads from the database and a new
    // snapshot replaces the damaged one.
    let mut bytes = std::fs::read(&snapshot).expect("the snapshot");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&snapshot, &bytes).expect("damage the snapshot");
    let (server, loaded) = start(&database_url, args.clone(), "registry index loaded", true).await;
    assert_eq!(loaded["fields"]["operators"], 3, "{loaded}");
    assert!(server.log_lines().iter().any(|line| line.contains("index snapshot not used")), "{:?}", server.log_lines());
    let address = format!("http://{}", server.address);
    let answer = post(&client, &address, STATUSES, json!({ "n": [three] }), Some(&reader)).await;
    assert_eq!(answer["data"]["operatorStatuses"][0]["found"], true, "{answer:#}");
    stop(server).await;
    let (server, loaded) = start(&database_url, args, "registry index loaded from its snapshot", false).await;
    assert_eq!(
        (loaded["fields"]["operators"].as_u64(), loaded["fields"]["changed_since"].as_u64()),
        (Some(3), Some(0))
    );
    stop(server).await;
}

e2e_database!(a_restart_starts_from_the_snapshot_and_answers_what_changed_meanwhile);
