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

/// Which database to use.
#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://FILE or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Maximum connections in the pool.
    #[arg(long, env = "SCOPE_REGISTRY_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,
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
}

impl ServeSettings {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }
}

/// Log line format.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}
