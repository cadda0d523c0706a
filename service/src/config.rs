//! Typed configuration: command-line flags with environment fallbacks, defaults in one
//! place.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// The embedded default: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://scope-registry.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

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
}

/// Log line format.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}
