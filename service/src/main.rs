//! The `scope-registry` command line.

#![allow(clippy::print_stdout, reason = "the command line prints its results (tokens, the SDL, listings) on stdout")]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scope_registry::app::{
    Application, StartupError, cli_principal, command_services, open_database, open_seeded_services,
    seed_reference_data,
};
use scope_registry::cli;
use scope_registry::config::{CreateArgs, DatabaseArgs, LogFormat, SeedArgs, ServeSettings};
use scope_registry::domain::Role;
use scope_registry::domain::reference::ReferenceSnapshot;
use scope_registry::graphql;
use scope_registry::seed::{SeedSource, files};
use scope_registry::services::export::{ExportKind, ExportQuery, Format};
use scope_registry::services::tokens::TokenRequest;
use scope_registry::services::workbook::Headers;
use scope_registry::services::{self, Services};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

/// mimalloc keeps a multi-threaded server's resident set small and allocation fast
/// (glibc's per-thread arenas grew it several-fold under load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (v3, `include/mimalloc.h`; the sys crate names no
/// constant for it): how long freed memory stays committed before it goes back to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Returns freed memory to the OS at once instead of after mimalloc's default delay
/// (a second, ten for whole arenas): under steady load the delayed memory kept the
/// resident set some 20 MB higher (BENCHMARKS.md). `MIMALLOC_PURGE_DELAY` (milliseconds),
/// when set, is left to mimalloc.
fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: stores an integer option; mimalloc reads options at any time, and this
    // runs first thing in main, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

/// SQLite allocates through the C library's malloc, not through mimalloc, and glibc gives
/// each thread that allocates (every SQLite connection has one) an arena of its own, which
/// keeps what loading the registry index freed: one arena kept the resident set some 20 MB
/// lower under the load run, at the same throughput (BENCHMARKS.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn share_one_c_heap() {
    // SAFETY: sets an allocator tunable before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn share_one_c_heap() {}

#[derive(Parser)]
#[command(name = "scope-registry", version, about = "Registry of Japan's critical-infrastructure protection scope")]
struct Cli {
    /// Log line format (logs go to stderr).
    #[arg(long, global = true, env = "SCOPE_REGISTRY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API (creates, migrates and seeds a new database first).
    Serve(ServeSettings),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Apply pending database migrations.
    Migrate(DatabaseArgs),
    /// Load the reference data from seed-data (idempotent: unchanged records stay).
    Seed {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        seed: SeedArgs,
        /// Also load the fictional demo operators (seed-data/demo/).
        #[arg(long)]
        demo: bool,
        /// Where seed-data disagrees with crosswalk links curated through the API, keep
        /// the curated links and apply everything else (without it, nothing is written).
        #[arg(long)]
        keep_curated: bool,
    },
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Import designations from a CSV file (all or nothing; see README for the format).
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Act as this ministry (jurisdiction rules apply); default: as an administrator.
        #[arg(long)]
        ministry: Option<String>,
        /// Check everything against the database, write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// Sync operators with a corporate-number file of the National Tax Agency (CSV
    /// Unicode edition, full or daily difference file): names, closings with successor;
    /// numbers not registered are listed. All or nothing; see README.
    NtaSync {
        /// The NTA's CSV file.
        file: PathBuf,
        /// Say what would change, write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// Export operators, the overlap report, the crosswalk or the scope gaps.
    Export {
        /// operators, overlap, crosswalk, scope-gaps, or workbook (all of them in one .xlsx).
        #[arg(value_parser = parse_export_target)]
        kind: ExportTarget,
        /// The date the export answers for, YYYY-MM-DD (default: today in Japan).
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// The workbook's header rows: Japanese labels or the CSV column names.
        #[arg(long, value_enum, default_value_t = Headers::Ja)]
        headers: Headers,
        /// Write here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// Write a synthetic, deterministic import file of fictional operators.
    Generate {
        /// How many operators.
        #[arg(long)]
        operators: u64,
        /// Random seed (same seed, same file).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long)]
        output: PathBuf,
        #[command(flatten)]
        seed_data: SeedArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a new token and print it once on stdout (only its hash is stored).
    Issue {
        /// admin, ministry, policy or reader.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The ministry a ministry token acts for (e.g. MLIT).
        #[arg(long)]
        ministry: Option<String>,
        /// A label saying who or what uses the token.
        #[arg(long, default_value = "unnamed")]
        name: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// List every token (never its secret): id, role, ministry, label, dates, status.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// Revoke a token: it is refused from the next request on, also by running servers.
    Revoke {
        /// The token's id (as `token list` shows it).
        id: Uuid,
        /// Why it is revoked (recorded in the audit trail).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        create: CreateArgs,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

fn parse_export_target(text: &str) -> Result<ExportTarget, String> {
    match text {
        "workbook" => Ok(ExportTarget::Workbook),
        other => other.parse().map(ExportTarget::File).map_err(|e: String| format!("{e}, or workbook")),
    }
}

/// What `export` writes: one of the files, or the workbook of all of them.
#[derive(Debug, Clone, Copy)]
enum ExportTarget {
    File(ExportKind),
    Workbook,
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    return_freed_memory_promptly();
    share_one_c_heap();
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.to_string().trim_end());
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(settings) => serve(settings).await?,
        Command::Schema => print!("{}", graphql::sdl()),
        Command::Migrate(database) => {
            open_database(&database).await?;
            eprintln!("database is up to date");
        }
        Command::Seed { database, seed, demo, keep_curated } => {
            let db = open_database(&database).await?;
            let services = command_services(&db).await?;
            let report = seed_reference_data(&services, &seed, keep_curated).await?;
            eprint!("{report}");
            if demo {
                let text = SeedSource::resolve(seed.seed_dir.as_deref()).read_demo()?;
                let report = services::demo::load(&services, &cli_principal(None), &text).await?;
                eprintln!(
                    "demo: {} operators loaded with {} designations, {} already present",
                    report.operators_loaded, report.designations, report.operators_skipped
                );
            }
        }
        Command::Token(command) => token(command).await?,
        Command::Import { file, ministry, dry_run, database, create } => {
            let services = open_seeded_services(&database, &SeedArgs::default(), create).await?;
            cli::import_file(&services, &cli_principal(ministry), &file, dry_run).await?;
        }
        Command::NtaSync { file, dry_run, database, create } => {
            let services = open_seeded_services(&database, &SeedArgs::default(), create).await?;
            cli::nta_sync_file(&services, &file, dry_run).await?;
        }
        Command::Export { kind, as_of, format, headers, output, database, create } => {
            let query = ExportQuery::parse(as_of.as_deref(), None)?;
            let services = open_seeded_services(&database, &SeedArgs::default(), create).await?;
            let principal = cli_principal(None);
            match kind {
                ExportTarget::File(kind) => {
                    cli::export_to(&services, &principal, kind, query, format, output.as_deref()).await?;
                }
                ExportTarget::Workbook => {
                    cli::workbook_to(&services, &principal, query, headers, output.as_deref()).await?;
                }
            }
        }
        Command::Generate { operators, seed, output, seed_data } => {
            let data = files::load(&SeedSource::resolve(seed_data.seed_dir.as_deref()))?;
            let rows = cli::generate_file(&ReferenceSnapshot::new(data), operators, seed, &output)?;
            eprintln!("wrote {operators} operators with {rows} designations to {}", output.display());
        }
    }
    Ok(())
}

/// Opens the database for a token command, loading reference data into a new one (a
/// ministry token needs to know the ministries).
async fn token_services(database: &DatabaseArgs, create: CreateArgs) -> anyhow::Result<std::sync::Arc<Services>> {
    Ok(open_seeded_services(database, &SeedArgs::default(), create).await?)
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    let principal = cli_principal(None);
    match command {
        TokenCommand::Issue { role, ministry, name, expires_in_days, database, create } => {
            let services = token_services(&database, create).await?;
            let expires_at = expires_in_days.map(|days| chrono::Utc::now() + chrono::Duration::days(i64::from(days)));
            let request = TokenRequest { role, ministry, label: name, expires_at };
            let issued = services::tokens::issue(&services, &principal, request).await?;
            eprintln!("token {} issued; it is shown once:", issued.token.id);
            println!("{}", issued.secret);
        }
        TokenCommand::List { database, create } => {
            let services = token_services(&database, create).await?;
            let now = chrono::Utc::now();
            let time = |at: Option<chrono::DateTime<chrono::Utc>>| {
                at.map_or_else(|| "-".to_owned(), |at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            };
            println!(
                "{:<36}  {:<8}  {:<8}  {:<7}  {:<20}  {:<20}  {:<20}  label",
                "id", "role", "ministry", "status", "created", "expires", "last used"
            );
            for token in services::tokens::list(&services, &principal).await? {
                println!(
                    "{:<36}  {:<8}  {:<8}  {:<7}  {:<20}  {:<20}  {:<20}  {}",
                    token.id,
                    token.role.as_str(),
                    token.ministry.as_deref().unwrap_or("-"),
                    token.status_at(now).as_str(),
                    time(Some(token.created_at)),
                    time(token.expires_at),
                    time(token.last_used_at),
                    token.label
                );
            }
        }
        TokenCommand::Revoke { id, reason, database, create } => {
            let services = token_services(&database, create).await?;
            services::tokens::revoke(&services, &principal, id, reason).await?;
            eprintln!("token {id} revoked; it is refused from now on");
        }
    }
    Ok(())
}

async fn serve(settings: ServeSettings) -> Result<(), StartupError> {
    let app = Application::build(&settings).await?;
    tracing::info!(address = %app.local_addr(), "serving GraphQL at /graphql");
    app.run(shutdown_signal()).await.map_err(|source| StartupError::Bind { addr: settings.bind.clone(), source })?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
