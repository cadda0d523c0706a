//! Test support: one fresh database and one running server per test, on SQLite and
//! (when `SCOPE_REGISTRY_TEST_POSTGRES` is set) on PostgreSQL.

use std::future::Future;
use std::path::PathBuf;
use std::process::{Command, Output};

use scope_registry::app::Application;
use scope_registry::config::{DatabaseArgs, SeedArgs, ServeSettings};
use scope_registry::storage::Db;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const POSTGRES_ENV: &str = "SCOPE_REGISTRY_TEST_POSTGRES";
pub const BINARY: &str = env!("CARGO_BIN_EXE_scope-registry");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database of one backend (dropped when the test ends).
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDatabase {
    /// None when PostgreSQL tests are not configured.
    pub async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path: PathBuf = dir.path().join("registry.db");
                Some(Self { url: format!("sqlite://{}", path.display()), _dir: Some(dir), pg_name: None })
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_ENV).ok()?;
                let name = format!("sr_e2e_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url).await.expect("connect to the PostgreSQL test server");
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
                admin.close().await.ok();
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base).to_owned();
                Some(Self { url: format!("{base}/{name}"), _dir: None, pg_name: Some(name) })
            }
        }
    }

    /// Stands in for a database that has moved to another owner.
    fn placeholder() -> Self {
        Self { url: String::new(), _dir: None, pg_name: None }
    }

    async fn drop_database(&self) {
        if let (Some(name), Ok(admin_url)) = (&self.pg_name, std::env::var(POSTGRES_ENV))
            && let Ok(admin) = Database::connect(&admin_url).await
        {
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
            admin.close().await.ok();
        }
    }
}

/// A server running in this process on a free port, against its own database.
pub struct TestApp {
    pub address: String,
    pub database: TestDatabase,
    pub db: Db,
    pub settings: ServeSettings,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(database: TestDatabase) -> Self {
        let settings = ServeSettings {
            database: DatabaseArgs { db_max_connections: 5, ..DatabaseArgs::at(database.url.clone()) },
            seed: SeedArgs { seed_dir: Some(seed_dir()) },
            ..ServeSettings::new("127.0.0.1:0", &database.url)
        };
        Self::start(database, settings).await
    }

    async fn start(database: TestDatabase, settings: ServeSettings) -> Self {
        let app = Application::build(&settings).await.expect("application starts");
        let address = format!("http://{}", app.local_addr());
        let db = app.db().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run(async {
                rx.await.ok();
            })
            .await
            .expect("server runs");
        });
        Self {
            address,
            database,
            db,
            settings,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Restarts the server on the same database with changed settings (limits, CORS…).
    pub async fn reconfigure(mut self, change: impl FnOnce(&mut ServeSettings)) -> Self {
        self.stop_server().await;
        let mut settings = self.settings.clone();
        change(&mut settings);
        let database = std::mem::replace(&mut self.database, TestDatabase::placeholder());
        Self::start(database, settings).await
    }

    /// A request builder for `path` on this server.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.address))
    }

    /// POSTs `body` to /graphql as JSON.
    pub async fn post_json(&self, body: &Value, token: Option<&str>) -> reqwest::Response {
        let mut request = self.request(reqwest::Method::POST, "/graphql").json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    /// The host and port, for raw TCP clients.
    pub fn socket_address(&self) -> &str {
        self.address.trim_start_matches("http://")
    }

    /// POSTs a GraphQL request and returns the whole JSON response.
    pub async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        post(&self.client, &self.address, query, variables, token).await
    }

    /// Sends a GraphQL request from a task of its own, so that many run at once.
    pub fn spawn_graphql(&self, query: &str, variables: Value, token: Option<&str>) -> tokio::task::JoinHandle<Value> {
        let (client, address) = (self.client.clone(), self.address.clone());
        let (query, token) = (query.to_owned(), token.map(str::to_owned));
        tokio::spawn(async move { post(&client, &address, &query, variables, token.as_deref()).await })
    }

    /// Like `graphql` but fails the test on any error, returning `data`.
    pub async fn data(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let body = self.graphql(query, variables, token).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Runs the binary against this app's database.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli_with_database(&self.database.url, args)
    }

    /// Issues a token through the CLI.
    pub fn token(&self, role: &str, ministry: Option<&str>) -> String {
        let mut args = vec!["token", "issue", "--role", role, "--name", "e2e"];
        if let Some(ministry) = ministry {
            args.extend(["--ministry", ministry]);
        }
        let output = self.cli(&args);
        assert!(output.status.success(), "token issue failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
    }

    async fn stop_server(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        if let Some(server) = self.server.take() {
            server.await.ok();
        }
    }

    async fn stop(mut self) {
        self.stop_server().await;
        self.database.drop_database().await;
    }
}

/// A server the tests talk to over HTTP: the in-process app, or a server process.
pub trait Api: Sync {
    /// POSTs a GraphQL request, fails the test on any error and returns `data`.
    fn data(&self, query: &str, variables: Value, token: Option<&str>) -> impl Future<Output = Value> + Send;
}

impl Api for TestApp {
    fn data(&self, query: &str, variables: Value, token: Option<&str>) -> impl Future<Output = Value> + Send {
        TestApp::data(self, query, variables, token)
    }
}

pub async fn post(
    client: &reqwest::Client,
    address: &str,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> Value {
    let mut request =
        client.post(format!("{address}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    response.json().await.expect("JSON response")
}

pub fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../seed-data")
}

pub fn cli_with_database(url: &str, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run scope-registry")
}

/// Server logs (warnings and errors) go to the test's captured output.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .try_init();
}

/// Says that a test cannot run here because `missing` is not available: outside CI it
/// is skipped (and says so); under CI (`CI` is set) it fails, since a run that skips
/// proves nothing.
pub fn unavailable(missing: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{missing}; under CI every test must run, so this one fails instead of skipping");
    }
    eprintln!("skipped: {missing}, so this test did not run (under CI it would fail)");
}

/// Runs a test body against a fresh app of the given backend; PostgreSQL runs are
/// skipped when no test server is configured (and fail under CI).
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = TestApp> + Send + 'static,
{
    init_logging();
    let Some(database) = TestDatabase::create(backend).await else {
        unavailable(&format!("{POSTGRES_ENV} is not set"));
        return;
    };
    let app = TestApp::spawn(database).await;
    // The body runs in its own task so that the database is dropped even when it panics.
    let outcome = tokio::spawn(test(app)).await;
    match outcome {
        Ok(app) => app.stop().await,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Like `run`, for tests that manage the database themselves (CLI-only tests).
pub async fn with_database<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(String) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(database) = TestDatabase::create(backend).await else {
        unavailable(&format!("{POSTGRES_ENV} is not set"));
        return;
    };
    let outcome = tokio::spawn(test(database.url.clone())).await;
    database.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Declares one test per backend for an `async fn(TestApp) -> TestApp`.
#[macro_export]
macro_rules! e2e {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::support::run($crate::support::Backend::Sqlite, super::$name).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::support::run($crate::support::Backend::Postgres, super::$name).await;
                }
            }
        )*
    };
}

/// Declares one test per backend for an `async fn(String /* database URL */)`.
#[macro_export]
macro_rules! e2e_database {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::support::with_database($crate::support::Backend::Sqlite, super::$name).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::support::with_database($crate::support::Backend::Postgres, super::$name).await;
                }
            }
        )*
    };
}

/// Declares one PostgreSQL test for an `async fn(String /* database URL */)`, for what
/// applies to PostgreSQL only (several instances on one database).
#[macro_export]
macro_rules! e2e_postgres {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::support::with_database($crate::support::Backend::Postgres, super::$name).await;
                }
            }
        )*
    };
}

/// The first error's `extensions.code`.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body:#}"))
}

/// The `code` fields of a list of objects.
pub fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list:#}"))
        .iter()
        .map(|item| item["code"].as_str().expect("code").to_owned())
        .collect()
}

/// The real binary serving on a free port, as a child process, logging JSON lines.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: String,
    /// Log lines read so far (stderr).
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `scope-registry serve` against `database_url` and waits until it listens.
    pub fn start(database_url: &str, extra_args: &[&str]) -> Self {
        use std::io::BufRead;
        let seed = seed_dir();
        let mut child = Command::new(BINARY)
            .args(["--log-format", "json", "serve", "--bind", "127.0.0.1:0", "--database-url", database_url])
            .arg("--seed-dir")
            .arg(&seed)
            .args(extra_args)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start scope-registry serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line)
                    && let Some(address) = entry["fields"]["address"].as_str()
                {
                    address_tx.send(address.to_owned()).ok();
                }
                lines.lock().expect("log lock").push(line);
            }
        });
        let address = address_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not start: {:?}", log.lock().expect("log lock")));
        Self { child, address, log }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // A test that failed half-way must not leave a server behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}
