//! Clients nobody on this project wrote: `tests/clients/run.mjs` (graphql-js and the
//! official graphql-ws client, pinned in its package-lock.json) against the real binary
//! serving SQLite and PostgreSQL. Its packages are installed with the machine's npm
//! (`npm ci`) when they are missing or older than the lock file. Without Node.js and
//! npm the test says it was skipped, except under CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::e2e_database;
use crate::support::{ServerProcess, cli_with_database};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/clients")
}

/// Whether `program --version` runs.
fn runs(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|output| output.status.success())
}

/// `npm ci` once per test process, when node_modules is missing or older than the lock.
fn install(project: &Path) {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if *installed {
        return;
    }
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let lock = modified(project.join("package-lock.json"));
    let current = modified(project.join("node_modules/.package-lock.json"));
    if current.is_none() || current < lock {
        let output = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(project)
            .output()
            .expect("run npm ci");
        assert!(
            output.status.success(),
            "npm ci failed in tests/clients:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    *installed = true;
}

async fn clients_nobody_here_wrote_accept_the_api(database_url: String) {
    if !runs("node") || !runs("npm") {
        assert!(std::env::var_os("CI").is_none(), "node and npm are needed for tests/clients (.ci/run installs them)");
        eprintln!("skipped: node or npm is not installed, so the graphql-js and graphql-ws clients did not run");
        return;
    }
    let project = project();
    tokio::task::spawn_blocking({
        let project = project.clone();
        move || install(&project)
    })
    .await
    .expect("install");
    let server = ServerProcess::start(&database_url, &[]);
    let issued = cli_with_database(&database_url, &["token", "issue", "--role", "admin", "--name", "clients"]);
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
    let token = String::from_utf8(issued.stdout).expect("utf-8").trim().to_owned();
    let output = tokio::process::Command::new("node")
        .arg(project.join("run.mjs"))
        .arg(format!("http://{}", server.address))
        .arg(&token)
        .output()
        .await
        .expect("run node tests/clients/run.mjs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    assert!(
        output.status.success(),
        "tests/clients/run.mjs failed:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains(" passed, 0 failed"), "{report}");
}

e2e_database!(clients_nobody_here_wrote_accept_the_api);
