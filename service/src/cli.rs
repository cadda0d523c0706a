//! Command-line use cases that need more than a call: bulk import with progress
//! display, exports to a file, synthetic data generation.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::Principal;
use crate::domain::nta::SyncStep;
use crate::domain::reference::ReferenceSnapshot;
use crate::services::export::{ExportKind, ExportQuery, Format, export};
use crate::services::import::{ImportReport, Phase, Progress, import};
use crate::services::nta_sync::{self, SyncReport};
use crate::services::workbook::{Headers, workbook};
use crate::services::{ServiceError, Services, generate};

/// Progress on stderr: a bar on a terminal, a plain line every tenth otherwise (logs, CI).
pub struct CliProgress {
    bar: Option<ProgressBar>,
    /// Last phase and tenth reported as a plain line.
    last_line: Mutex<Option<(Phase, u64)>>,
}

impl CliProgress {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len} rows ({per_sec}, eta {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Self { bar, last_line: Mutex::new(None) }
    }
}

impl Default for CliProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for CliProgress {
    fn update(&self, phase: Phase, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_message(phase.as_str());
            bar.set_length(total);
            bar.set_position(done);
            return;
        }
        let tenth = (done * 10).checked_div(total).unwrap_or(10);
        if let Ok(mut last) = self.last_line.lock()
            && *last != Some((phase, tenth))
        {
            *last = Some((phase, tenth));
            eprintln!("{}: {done}/{total}", phase.as_str());
        }
    }
}

/// Imports a file, printing progress and then the report.
pub async fn import_file(
    services: &Services,
    principal: &Principal,
    path: &Path,
    dry_run: bool,
) -> anyhow::Result<ImportReport> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let started = Instant::now();
    let progress = CliProgress::new();
    let report = import(services, principal, &bytes, dry_run, &progress).await?;
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    for error in &report.errors {
        eprintln!(
            "line {}{}: {}",
            error.line,
            error.column.map(|c| format!(", column {c}")).unwrap_or_default(),
            error.message
        );
    }
    eprintln!(
        "{}{} rows read, {} created ({} operators registered), {} unchanged, {} errors in {:.1} s",
        if dry_run { "dry run: " } else { "" },
        report.rows_read,
        report.created,
        report.operators_created,
        report.unchanged,
        report.errors.len(),
        started.elapsed().as_secs_f64()
    );
    if !report.errors.is_empty() {
        anyhow::bail!("the file has {} invalid row(s); nothing was imported", report.errors.len());
    }
    Ok(report)
}

/// Syncs operators with an NTA corporate-number file, printing every step and a summary.
pub async fn nta_sync_file(services: &Services, path: &Path, dry_run: bool) -> anyhow::Result<SyncReport> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{} is not UTF-8: use the NTA's CSV Unicode edition (the Shift-JIS edition cannot hold every name)",
            path.display()
        )
    })?;
    // The changes are the sync's: the audit trail names it as the actor.
    let principal = Principal::Cli { user: "nta-sync".to_owned(), ministry: None };
    let report = nta_sync::sync(services, &principal, &text, dry_run).await?;
    for step in &report.plan.steps {
        eprintln!("{step}");
    }
    let unknown = &report.plan.unknown;
    if !unknown.is_empty() {
        let shown: Vec<String> = unknown.iter().take(UNKNOWN_SHOWN).map(ToString::to_string).collect();
        let more = if unknown.len() > UNKNOWN_SHOWN {
            format!(" and {} more", unknown.len() - UNKNOWN_SHOWN)
        } else {
            String::new()
        };
        eprintln!("not registered: {}{more}", shown.join(", "));
    }
    eprintln!(
        "{}{} records: {} renamed, {} closed, {} to review, {} unchanged, {} not registered",
        if dry_run { "dry run: " } else { "" },
        report.plan.records,
        report.count(|step| matches!(step, SyncStep::Rename { .. })),
        report.count(|step| matches!(step, SyncStep::Close { .. })),
        report.count(|step| matches!(step, SyncStep::Review { .. })),
        report.plan.unchanged,
        unknown.len(),
    );
    Ok(report)
}

/// Unregistered corporate numbers a sync names on the terminal.
const UNKNOWN_SHOWN: usize = 20;

/// Writes an export to a file or stdout, chunk by chunk as its rows are read.
pub async fn export_to(
    services: &Services,
    principal: &Principal,
    kind: ExportKind,
    query: ExportQuery,
    format: Format,
    output: Option<&Path>,
) -> Result<(), ServiceError> {
    let cannot_write = |e: std::io::Error| ServiceError::Invalid(format!("cannot write the export: {e}"));
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path).map_err(cannot_write)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // A one-off command has no index loaded: the overlap comes from one query.
    let mut chunks = export(services, principal, kind, query).await?.encode(format);
    while let Some(chunk) = chunks.next().await {
        out.write_all(&chunk?).map_err(cannot_write)?;
    }
    out.flush().map_err(cannot_write)
}

/// Writes the Excel workbook to a file or stdout.
pub async fn workbook_to(
    services: &Services,
    principal: &Principal,
    query: ExportQuery,
    headers: Headers,
    output: Option<&Path>,
) -> Result<(), ServiceError> {
    let bytes = workbook(services, principal, query, headers).await?;
    let written = match output {
        Some(path) => std::fs::write(path, &bytes),
        None => std::io::stdout().write_all(&bytes),
    };
    written.map_err(|e| ServiceError::Invalid(format!("cannot write the workbook: {e}")))
}

/// Writes a synthetic import file.
pub fn generate_file(snapshot: &ReferenceSnapshot, operators: u64, seed: u64, output: &Path) -> anyhow::Result<u64> {
    let file = std::fs::File::create(output).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", output.display()))?;
    Ok(generate::generate(snapshot, operators, seed, std::io::BufWriter::new(file))?)
}
