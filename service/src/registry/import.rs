//! Bulk import of designations from CSV (the format of `domain::import`): everything is
//! checked first, every invalid row reported, and only a fully valid file is written —
//! in one transaction, so an interrupted import leaves the registry as it was.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::{RegistryError, require_writer};
use crate::domain::audit::{AuditAction, Subject, SubjectType};
use crate::domain::designation::{Designation, DesignationStatus};
use crate::domain::import::{self, ColumnMap, ImportRow, RowError, StoredOperator};
use crate::domain::operator::Operator;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{CorporateNumber, Principal};
use crate::storage::{Db, StorageError, designations, operators};

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Data rows read (the header not counted).
    pub rows_read: u64,
    /// Rows that created a designation (or registered an operator, for rows without one).
    pub created: u64,
    /// Rows identical to what is stored.
    pub unchanged: u64,
    /// Operators registered because the file named them first.
    pub operators_created: u64,
    /// Every problem found; when there is any, nothing was written.
    pub errors: Vec<RowError>,
}

/// Where an import is, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Checking,
    Writing,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Checking => "checking",
            Phase::Writing => "writing",
        }
    }
}

/// Called as rows are checked and written.
pub trait Progress: Sync {
    fn update(&self, phase: Phase, done: u64, total: u64);
}

/// No progress display (the API).
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _: Phase, _: u64, _: u64) {}
}

/// How often progress is reported while checking rows.
const PROGRESS_EVERY: u64 = 1000;

/// Imports a CSV file as `principal`: as an administrator anywhere, as a ministry only
/// where it has jurisdiction (rows outside are reported, one by one). A successful import
/// is one audit event whose subjects are every operator and designation it created.
pub async fn import(
    db: &Db,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    csv: &[u8],
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<ImportReport, RegistryError> {
    let attempt = || {
        Change::creating(AuditAction::ImportDesignations, SubjectType::Import)
            .after(serde_json::json!({ "bytes": csv.len(), "dryRun": dry_run }))
    };
    guard(db, principal, attempt, checked_import(db, snapshot, principal, csv, dry_run, progress)).await
}

async fn checked_import(
    db: &Db,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    csv: &[u8],
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<ImportReport, RegistryError> {
    require_writer(principal)?;
    if let Some(ministry) = principal.acting_ministry()
        && snapshot.ministry_index(ministry).is_none()
    {
        return Err(RegistryError::Invalid(format!("unknown ministry \"{ministry}\"")));
    }
    let mut report = ImportReport { dry_run, ..ImportReport::default() };
    let (rows, mut errors) = read_rows(csv, snapshot, principal, &mut report, progress);

    let numbers: Vec<CorporateNumber> =
        rows.iter().map(|r| r.corporate_number).collect::<HashSet<_>>().into_iter().collect();
    let stored = load_stored(db, &numbers).await?;
    let plan = match import::reconcile(rows, &stored) {
        Ok(plan) => Some(plan),
        Err(found) => {
            errors.extend(found);
            None
        }
    };
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        report.errors = errors;
        return Ok(report);
    }
    let Some(plan) = plan else {
        return Ok(report);
    };
    report.unchanged = plan.unchanged;
    report.operators_created = plan.new_operators.len() as u64;
    let operator_only_rows = plan.new_operators.iter().filter(|r| r.designation.is_none()).count() as u64;
    report.created = plan.new_designations.len() as u64 + operator_only_rows;
    if dry_run {
        return Ok(report);
    }

    let now = Utc::now();
    let new_operators: Vec<Operator> = plan
        .new_operators
        .iter()
        .map(|row| Operator {
            id: Uuid::now_v7(),
            corporate_number: row.corporate_number,
            name_ja: row.name_ja.clone(),
            name_en: row.name_en.clone(),
            closed_on: None,
            successor: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let operator_ids: HashMap<CorporateNumber, Uuid> = stored
        .values()
        .map(|s| (s.operator.corporate_number, s.operator.id))
        .chain(new_operators.iter().map(|o| (o.corporate_number, o.id)))
        .collect();
    let new_designations: Vec<Designation> = plan
        .new_designations
        .iter()
        .filter_map(|row| {
            let d = row.designation.as_ref()?;
            Some(Designation {
                id: Uuid::now_v7(),
                operator_id: *operator_ids.get(&row.corporate_number)?,
                regime: d.plan.regime,
                field: d.plan.field.clone(),
                scope_item: d.plan.scope_item.clone(),
                effective_from: d.plan.effective_from,
                effective_to: d.plan.effective_to,
                status: DesignationStatus::Designated,
                legal_basis: d.legal_basis.clone(),
                reference: d.reference.clone(),
                ministry: d.plan.ministry.clone(),
                revocation_reason: None,
                revoked_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            })
        })
        .collect();

    let total = (new_operators.len() + new_designations.len()) as u64;
    if total == 0 {
        return Ok(report);
    }
    progress.update(Phase::Writing, 0, total);
    let txn = db.begin_write().await?;
    operators::insert_many(&txn, &new_operators).await?;
    progress.update(Phase::Writing, new_operators.len() as u64, total);
    designations::insert_many(&txn, &new_designations).await.map_err(|e| match e {
        StorageError::Conflict(_) => {
            RegistryError::Conflict("a concurrent change conflicts with this import; nothing was imported".into())
        }
        other => other.into(),
    })?;
    let ministries: HashSet<&str> = new_designations.iter().map(|d| d.ministry.as_str()).collect();
    let mut change = Change::creating(AuditAction::ImportDesignations, SubjectType::Import)
        .after(serde_json::json!({
            "rowsRead": report.rows_read,
            "created": report.created,
            "unchanged": report.unchanged,
            "operatorsCreated": report.operators_created,
            "designationsCreated": new_designations.len(),
        }))
        .in_jurisdiction_of(ministries);
    for operator in &new_operators {
        change = change.concerning(Subject::operator(operator));
    }
    for designation in &new_designations {
        change = change.concerning(Subject::designation(designation.id));
    }
    for row in &plan.new_designations {
        change = change.concerning(Subject::operator_number(&row.corporate_number));
    }
    audit::record(&txn, principal, change).await?;
    txn.commit().await.map_err(StorageError::from)?;
    progress.update(Phase::Writing, total, total);
    Ok(report)
}

/// Reads the header and every row, checking each on its own.
fn read_rows(
    csv: &[u8],
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    report: &mut ImportReport,
    progress: &dyn Progress,
) -> (Vec<ImportRow>, Vec<RowError>) {
    let body = csv.strip_prefix("\u{feff}".as_bytes()).unwrap_or(csv);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body);
    let mut records = reader.byte_records();
    let header_error = |message: String| vec![RowError { line: 1, column: None, message }];
    let columns = match records.next() {
        None => return (Vec::new(), header_error("the file is empty: a header row is required".into())),
        Some(Err(e)) => return (Vec::new(), header_error(format!("unreadable header: {e}"))),
        Some(Ok(header)) => match utf8_fields(&header).map(|fields| ColumnMap::from_header(&fields)) {
            Some(Ok(columns)) => columns,
            Some(Err(e)) => return (Vec::new(), vec![e]),
            None => return (Vec::new(), header_error("the header is not valid UTF-8".into())),
        },
    };
    let estimated_rows = body.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in records {
        report.rows_read += 1;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(report.rows_read + 1, |p| p.line());
                errors.push(RowError { line, column: None, message: format!("unreadable row: {e}") });
                continue;
            }
        };
        let line = record.position().map_or(report.rows_read + 1, |p| p.line());
        if record.len() != import::COLUMNS.len() {
            errors.push(RowError {
                line,
                column: None,
                message: format!("expected {} fields, found {}", import::COLUMNS.len(), record.len()),
            });
            continue;
        }
        let Some(fields) = utf8_fields(&record) else {
            errors.push(RowError { line, column: None, message: "the row is not valid UTF-8".into() });
            continue;
        };
        match import::parse_row(line, &fields, &columns, snapshot, principal) {
            Ok(row) => rows.push(row),
            Err(found) => errors.extend(found),
        }
        if report.rows_read.is_multiple_of(PROGRESS_EVERY) {
            progress.update(Phase::Checking, report.rows_read, estimated_rows.max(report.rows_read));
        }
    }
    progress.update(Phase::Checking, report.rows_read, report.rows_read);
    (rows, errors)
}

fn utf8_fields(record: &csv::ByteRecord) -> Option<Vec<&str>> {
    record.iter().map(|field| std::str::from_utf8(field).ok()).collect()
}

/// The stored operators the file names, with all their designations.
async fn load_stored(
    db: &Db,
    numbers: &[CorporateNumber],
) -> Result<HashMap<CorporateNumber, StoredOperator>, RegistryError> {
    let found = operators::find_by_corporate_numbers(&db.conn, numbers).await?;
    let ids: Vec<Uuid> = found.iter().map(|o| o.id).collect();
    let mut by_operator: HashMap<Uuid, Vec<Designation>> = HashMap::new();
    for d in designations::of_operators(&db.conn, &ids).await? {
        by_operator.entry(d.operator_id).or_default().push(d);
    }
    Ok(found
        .into_iter()
        .map(|operator| {
            let designations = by_operator.remove(&operator.id).unwrap_or_default();
            (operator.corporate_number, StoredOperator { operator, designations })
        })
        .collect())
}
