//! Typed configuration: command-line flags with environment fallbacks, defaults in one
//! place.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// The embedded default: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://scope-registry.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// How often a server looks for changes it was not told about (milliseconds).
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 250;

// Defaults shared by the flags and the `Default`s below.
const DEFAULT_DB_MAX_CONNECTIONS: u32 = 10;
const DEFAULT_DB_ACQUIRE_TIMEOUT_MS: u64 = 3000;
const DEFAULT_MAX_LARGE_BODIES: u32 = 2;
const DEFAULT_WS_MAX_CONNECTIONS: u32 = 1000;
const DEFAULT_WS_MAX_PER_ADDRESS: u32 = 64;
const DEFAULT_WS_MAX_PER_TOKEN: u32 = 16;
const DEFAULT_WS_INIT_TIMEOUT_SECS: u64 = 10;
const DEFAULT_WS_IDLE_TIMEOUT_SECS: u64 = 300;
const DEFAULT_MAX_BODY_BYTES: u64 = 262_144;
const DEFAULT_MAX_IMPORT_BODY_BYTES: u64 = 16_777_216;
const DEFAULT_MAX_QUERY_DEPTH: u16 = 16;
const DEFAULT_MAX_QUERY_COMPLEXITY: u32 = 25_000;
const DEFAULT_MAX_STATUS_BATCH: u32 = 1000;
const DEFAULT_MAX_PAGE_SIZE: u32 = 500;
const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 600;
const DEFAULT_RATE_LIMIT_BURST: u32 = 60;
const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;

/// Which database to use.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://FILE or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Maximum connections in the pool.
    #[arg(long, env = "SCOPE_REGISTRY_DB_MAX_CONNECTIONS", default_value_t = DEFAULT_DB_MAX_CONNECTIONS)]
    pub db_max_connections: u32,
    /// How long a request waits for a database connection before it is answered 503
    /// `UNAVAILABLE` (milliseconds): an unreachable database fails fast.
    #[arg(long, env = "SCOPE_REGISTRY_DB_ACQUIRE_TIMEOUT_MS", default_value_t = DEFAULT_DB_ACQUIRE_TIMEOUT_MS,
          value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub db_acquire_timeout_ms: u64,
}

impl DatabaseArgs {
    /// `database_url` with the other defaults.
    pub fn at(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            db_max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            db_acquire_timeout_ms: DEFAULT_DB_ACQUIRE_TIMEOUT_MS,
        }
    }

    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }
}

/// Whether a one-off command may create the database it is pointed at.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct CreateArgs {
    /// Create a new database when none exists at the URL (without it, such a command
    /// refuses: it would create a database no running server uses).
    #[arg(long)]
    pub create: bool,
}

/// Where reference data is loaded from.
#[derive(Args, Debug, Clone, Default)]
pub struct SeedArgs {
    /// Directory with the seed-data files (default: ./seed-data when present, else the
    /// copy embedded in the binary).
    #[arg(long, env = "SCOPE_REGISTRY_SEED_DIR")]
    pub seed_dir: Option<PathBuf>,
}

/// Settings of `scope-registry serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeSettings {
    /// Address to listen on.
    #[arg(long, env = "SCOPE_REGISTRY_BIND", default_value = DEFAULT_BIND)]
    pub bind: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub seed: SeedArgs,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub http: HttpSettings,
    /// How often to look for changes in the audit trail that no notification announced
    /// (milliseconds): changes by other processes on SQLite, and on PostgreSQL the
    /// fallback should a notification be lost. Caches and subscriptions follow changes
    /// made elsewhere at most this much later.
    #[arg(
        long,
        env = "SCOPE_REGISTRY_POLL_INTERVAL_MS",
        default_value_t = DEFAULT_POLL_INTERVAL_MS,
        value_parser = clap::value_parser!(u64).range(10..=60_000),
    )]
    pub poll_interval_ms: u64,
    /// PostgreSQL: do not LISTEN for change notifications, for a connection pooler that
    /// cannot carry them (PgBouncer in transaction mode). Changes made through other
    /// instances are then followed by polling, and before every request with a token.
    #[arg(long, env = "SCOPE_REGISTRY_WITHOUT_NOTIFICATIONS")]
    pub without_notifications: bool,
    /// Where the registry index is written after it loads, and read back at the next
    /// start instead of every operator from the database (`off`: never). Default: beside
    /// a SQLite database file (`<file>.index`); none on PostgreSQL.
    #[arg(long, env = "SCOPE_REGISTRY_INDEX_SNAPSHOT", value_name = "FILE|off")]
    pub index_snapshot: Option<String>,
}

impl ServeSettings {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// The defaults, listening on `bind` against `database_url`.
    pub fn new(bind: impl Into<String>, database_url: impl Into<String>) -> Self {
        Self {
            bind: bind.into(),
            database: DatabaseArgs::at(database_url),
            seed: SeedArgs::default(),
            limits: Limits::default(),
            http: HttpSettings::default(),
            poll_interval_ms: DEFAULT_POLL_INTERVAL_MS,
            without_notifications: false,
            index_snapshot: None,
        }
    }

    /// The index snapshot's file, for a database kept in `database_file` (SQLite).
    pub fn index_snapshot(&self, database_file: Option<&std::path::Path>) -> Option<PathBuf> {
        match self.index_snapshot.as_deref() {
            Some("off") => None,
            Some(path) => Some(PathBuf::from(path)),
            None => database_file.map(|file| {
                let mut path = file.as_os_str().to_owned();
                path.push(".index");
                PathBuf::from(path)
            }),
        }
    }
}

/// What one request may ask for. The defaults suit the public contract; raise them only
/// for trusted clients.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes.
    #[arg(long, env = "SCOPE_REGISTRY_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES,
          value_parser = clap::value_parser!(u64).range(1024..=1_073_741_824))]
    pub max_body_bytes: u64,
    /// Largest request body in bytes for a request whose operation only imports
    /// (`importDesignations`): it carries a whole CSV file.
    #[arg(long, env = "SCOPE_REGISTRY_MAX_IMPORT_BODY_BYTES", default_value_t = DEFAULT_MAX_IMPORT_BODY_BYTES,
          value_parser = clap::value_parser!(u64).range(1024..=1_073_741_824))]
    pub max_import_body_bytes: u64,
    /// Deepest field nesting of a GraphQL query.
    #[arg(long, env = "SCOPE_REGISTRY_MAX_QUERY_DEPTH", default_value_t = DEFAULT_MAX_QUERY_DEPTH,
          value_parser = clap::value_parser!(u16).range(2..=64))]
    pub max_query_depth: u16,
    /// Highest GraphQL query complexity (every field costs 1, fields that query the
    /// database 10 more, lists about their length times their selection; see the README).
    #[arg(long, env = "SCOPE_REGISTRY_MAX_QUERY_COMPLEXITY", default_value_t = DEFAULT_MAX_QUERY_COMPLEXITY,
          value_parser = clap::value_parser!(u32).range(10..=10_000_000))]
    pub max_query_complexity: u32,
    /// Largest `operatorStatuses` batch (corporate numbers per request).
    #[arg(long, env = "SCOPE_REGISTRY_MAX_STATUS_BATCH", default_value_t = DEFAULT_MAX_STATUS_BATCH,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_status_batch: u32,
    /// Largest page of operator listings (`first`).
    #[arg(long, env = "SCOPE_REGISTRY_MAX_PAGE_SIZE", default_value_t = DEFAULT_MAX_PAGE_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_page_size: u32,
    /// Requests one token (or, without a token, one client address) may make per
    /// minute; 0 turns rate limiting off.
    #[arg(long, env = "SCOPE_REGISTRY_RATE_LIMIT_PER_MINUTE", default_value_t = DEFAULT_RATE_LIMIT_PER_MINUTE)]
    pub rate_limit_per_minute: u32,
    /// Requests a client may make at once above its steady rate.
    #[arg(long, env = "SCOPE_REGISTRY_RATE_LIMIT_BURST", default_value_t = DEFAULT_RATE_LIMIT_BURST,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_burst: u32,
    /// Apply the rate limit to admin tokens too (by default they are exempt).
    #[arg(long, env = "SCOPE_REGISTRY_RATE_LIMIT_ADMIN")]
    pub rate_limit_admin: bool,
    /// Turn GraphQL introspection off (it is on: the API is documented by its schema);
    /// "did you mean" suggestions go with it.
    #[arg(long, env = "SCOPE_REGISTRY_DISABLE_INTROSPECTION")]
    pub disable_introspection: bool,
    /// Request bodies larger than `--max-body-bytes` (imports) read at once; others wait.
    #[arg(long, env = "SCOPE_REGISTRY_MAX_LARGE_BODIES", default_value_t = DEFAULT_MAX_LARGE_BODIES,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_large_bodies: u32,
    /// WebSocket connections open at once, in all.
    #[arg(long, env = "SCOPE_REGISTRY_WS_MAX_CONNECTIONS", default_value_t = DEFAULT_WS_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_max_connections: u32,
    /// WebSocket connections open at once from one client address.
    #[arg(long, env = "SCOPE_REGISTRY_WS_MAX_PER_ADDRESS", default_value_t = DEFAULT_WS_MAX_PER_ADDRESS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_max_per_address: u32,
    /// WebSocket connections open at once with one token.
    #[arg(long, env = "SCOPE_REGISTRY_WS_MAX_PER_TOKEN", default_value_t = DEFAULT_WS_MAX_PER_TOKEN,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ws_max_per_token: u32,
    /// Seconds a new WebSocket connection has to send `connection_init`.
    #[arg(long, env = "SCOPE_REGISTRY_WS_INIT_TIMEOUT_SECS", default_value_t = DEFAULT_WS_INIT_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_init_timeout_secs: u64,
    /// Seconds a WebSocket connection may stay open with no operation running and no
    /// message from the client.
    #[arg(long, env = "SCOPE_REGISTRY_WS_IDLE_TIMEOUT_SECS", default_value_t = DEFAULT_WS_IDLE_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub ws_idle_timeout_secs: u64,
    /// A JSON file of the only GraphQL documents that run for tokens other than admin
    /// (`{"<sha256>": "<document>"}` or an Apollo persisted query manifest).
    #[arg(long, env = "SCOPE_REGISTRY_TRUSTED_DOCUMENTS", value_name = "FILE")]
    pub trusted_documents: Option<std::path::PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_import_body_bytes: DEFAULT_MAX_IMPORT_BODY_BYTES,
            max_query_depth: DEFAULT_MAX_QUERY_DEPTH,
            max_query_complexity: DEFAULT_MAX_QUERY_COMPLEXITY,
            max_status_batch: DEFAULT_MAX_STATUS_BATCH,
            max_page_size: DEFAULT_MAX_PAGE_SIZE,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            rate_limit_burst: DEFAULT_RATE_LIMIT_BURST,
            rate_limit_admin: false,
            disable_introspection: false,
            max_large_bodies: DEFAULT_MAX_LARGE_BODIES,
            ws_max_connections: DEFAULT_WS_MAX_CONNECTIONS,
            ws_max_per_address: DEFAULT_WS_MAX_PER_ADDRESS,
            ws_max_per_token: DEFAULT_WS_MAX_PER_TOKEN,
            ws_init_timeout_secs: DEFAULT_WS_INIT_TIMEOUT_SECS,
            ws_idle_timeout_secs: DEFAULT_WS_IDLE_TIMEOUT_SECS,
            trusted_documents: None,
        }
    }
}

/// How the HTTP server treats connections and browsers.
#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Seconds a request may take, body upload included, before it is answered 503.
    #[arg(long, env = "SCOPE_REGISTRY_REQUEST_TIMEOUT_SECS", default_value_t = DEFAULT_REQUEST_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT.
    #[arg(long, env = "SCOPE_REGISTRY_SHUTDOWN_GRACE_SECS", default_value_t = DEFAULT_SHUTDOWN_GRACE_SECS,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_secs: u64,
    /// Browser origins allowed to call the API cross-origin, over HTTP (CORS) and
    /// WebSocket (comma-separated, e.g. https://policy.example.go.jp); none by default:
    /// only pages of this server's own origin.
    #[arg(long, env = "SCOPE_REGISTRY_CORS_ALLOW_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_allow_origins: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            request_timeout_secs: DEFAULT_REQUEST_TIMEOUT_SECS,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            cors_allow_origins: Vec::new(),
        }
    }
}

impl HttpSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// An origin is a scheme and a host (and port), nothing else: a typo such as a trailing
/// slash would otherwise silently never match.
fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim();
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("\"{origin}\" is not an origin: it must start with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ', '*']) {
        return Err(format!("\"{origin}\" is not an origin: scheme and host only, e.g. https://example.go.jp"));
    }
    Ok(origin.to_owned())
}

/// Log line format.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeSettings,
    }

    #[test]
    fn flag_defaults_match_the_default_values() {
        let parsed = Cli::try_parse_from(["scope-registry"]).unwrap().serve;
        assert_eq!(parsed.limits, Limits::default());
        assert_eq!(parsed.http, HttpSettings::default());
    }

    #[test]
    fn origins_are_checked() {
        assert_eq!(parse_origin(" https://a.example "), Ok("https://a.example".into()));
        assert!(parse_origin("a.example").is_err());
        assert!(parse_origin("https://a.example/").is_err());
        assert!(parse_origin("*").is_err());
    }
}
