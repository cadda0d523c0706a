//! Bulk import of designations from CSV (the format of `domain::import`): everything is
//! checked first, every invalid row reported, and only a fully valid file is written —
//! in one transaction, so an interrupted import leaves the registry as it was.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::{ServiceError, Services, authorize, with_retry, workbook};
use crate::domain::audit::{AuditAction, SubjectType};
use crate::domain::authorization::Operation;
use crate::domain::designation::Designation;
use crate::domain::import::{self, ColumnMap, ImportRow, RowError, StoredOperator};
use crate::domain::operator::Operator;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{CorporateNumber, Principal, spreadsheet};
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
    services: &Services,
    principal: &Principal,
    csv: &[u8],
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<ImportReport, ServiceError> {
    let attempt = || {
        Change::attempt(
            AuditAction::ImportDesignations,
            SubjectType::Import,
            None,
            serde_json::json!({ "bytes": csv.len(), "dryRun": dry_run }),
        )
    };
    guard(services, principal, attempt, checked_import(services, principal, csv, dry_run, progress)).await
}

async fn checked_import(
    services: &Services,
    principal: &Principal,
    csv: &[u8],
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<ImportReport, ServiceError> {
    let snapshot = &services.snapshot();
    let db = &services.db;
    authorize(principal, Operation::ImportDesignations)?;
    if let Some(ministry) = principal.acting_ministry()
        && snapshot.ministry_index(ministry).is_none()
    {
        return Err(ServiceError::Invalid(format!("unknown ministry \"{ministry}\"")));
    }
    let mut report = ImportReport { dry_run, ..ImportReport::default() };
    let (rows, mut errors) = if csv.starts_with(b"PK\x03\x04") {
        read_workbook(csv, snapshot, principal, &mut report)
    } else {
        read_rows(csv, snapshot, principal, &mut report, progress)
    };

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
        .map(|row| {
            Operator::register(Uuid::now_v7(), row.corporate_number, row.name_ja.clone(), row.name_en.clone(), now)
        })
        .collect();
    let operator_ids: HashMap<CorporateNumber, Uuid> = stored
        .values()
        .map(|s| (s.operator.corporate_number, s.operator.id))
        .chain(new_operators.iter().map(|o| (o.corporate_number, o.id)))
        .collect();
    // Each new designation with its operator's corporate number (for the audit trail).
    let (new_designations, their_operators): (Vec<Designation>, Vec<CorporateNumber>) = plan
        .new_designations
        .iter()
        .filter_map(|row| {
            let d = row.designation.as_ref()?;
            let operator_id = *operator_ids.get(&row.corporate_number)?;
            let designation =
                Designation::new(Uuid::now_v7(), operator_id, &d.plan, d.legal_basis.clone(), d.reference.clone(), now);
            Some((designation, row.corporate_number))
        })
        .unzip();

    let total = (new_operators.len() + new_designations.len()) as u64;
    if total == 0 {
        return Ok(report);
    }
    with_retry(|| async {
        progress.update(Phase::Writing, 0, total);
        let txn = db.begin_write().await?;
        operators::insert_many(&txn, &new_operators).await?;
        progress.update(Phase::Writing, new_operators.len() as u64, total);
        designations::insert_many(&txn, &new_designations).await.map_err(|e| match e {
            StorageError::Conflict(_) => {
                ServiceError::Conflict("a concurrent change conflicts with this import; nothing was imported".into())
            }
            other => other.into(),
        })?;
        let ministries: HashSet<&str> = new_designations.iter().map(|d| d.ministry.as_str()).collect();
        let mut change = Change::import()
            .after(serde_json::json!({
                "rowsRead": report.rows_read,
                "created": report.created,
                "unchanged": report.unchanged,
                "operatorsCreated": report.operators_created,
                "designationsCreated": new_designations.len(),
            }))
            .in_jurisdiction_of(ministries);
        for operator in &new_operators {
            change = change.and_operator(operator);
        }
        for (designation, operator) in new_designations.iter().zip(&their_operators) {
            change = change.and_designation(designation, operator);
        }
        let recorded = audit::record(&txn, principal, change).await?;
        services.commit(txn, recorded).await?;
        progress.update(Phase::Writing, total, total);
        Ok(())
    })
    .await?;
    // The import stands; stale statistics only slow reads down, so a failure here is
    // logged, not reported.
    if let Err(e) = db.refresh_statistics().await {
        tracing::warn!(error = %e, "could not refresh the planner's statistics after the import");
    }
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
                let line = e.position().map_or(report.rows_read + 1, |p| line_of(p, body));
                errors.push(RowError { line, column: None, message: format!("unreadable row: {e}") });
                continue;
            }
        };
        let line = record.position().map_or(report.rows_read + 1, |p| line_of(p, body));
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

/// Reads the operators sheet of an .xlsx workbook (as the workbook export writes it, with
/// Japanese or English headers): the same rows and checks as a CSV file, every problem
/// named by its cell (`事業者!B3`); line N is the sheet's row N.
fn read_workbook(
    bytes: &[u8],
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    report: &mut ImportReport,
) -> (Vec<ImportRow>, Vec<RowError>) {
    use calamine::{Data, DataType, Reader};
    let sheet = workbook::OPERATORS_SHEET;
    let at_header = |message: String| vec![RowError { line: 1, column: None, message }];
    let range = match calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(bytes))
        .map_err(|e| e.to_string())
        .and_then(|mut book| book.worksheet_range(sheet).map_err(|e| e.to_string()))
    {
        Ok(range) => range,
        Err(e) => return (Vec::new(), at_header(format!("not a workbook with a sheet \"{sheet}\": {e}"))),
    };
    let mut records = range.rows();
    let header: Vec<String> = records.next().unwrap_or_default().iter().map(|cell| cell.to_string()).collect();
    let names: Vec<&str> = header
        .iter()
        .map(|label| {
            import::COLUMNS.iter().copied().find(|c| workbook::japanese_label(c) == label.trim()).unwrap_or(label)
        })
        .collect();
    let columns = match ColumnMap::from_header(&names) {
        Ok(columns) => columns,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let (first_row, first_column) = range.start().unwrap_or((0, 0));
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (offset, record) in records.enumerate() {
        let line = u64::from(first_row) + offset as u64 + 2;
        report.rows_read += 1;
        let corporate_number = names.iter().position(|n| *n == "corporate_number");
        let mut cells = Vec::with_capacity(record.len());
        let mut number_problem = None;
        for (position, cell) in record.iter().enumerate() {
            cells.push(match cell {
                Data::Empty => String::new(),
                Data::String(text) => text.clone(),
                Data::DateTime(_) | Data::DateTimeIso(_) => cell.as_date().map(|d| d.to_string()).unwrap_or_default(),
                Data::Float(_) | Data::Int(_) if Some(position) == corporate_number => {
                    number_problem =
                        spreadsheet::excel_number_problem(&format!("{:E}", cell.as_f64().unwrap_or_default()));
                    cell.to_string()
                }
                other => other.to_string(),
            });
        }
        let reference = |column: Option<&str>| {
            let position = column.and_then(|c| names.iter().position(|n| *n == c)).unwrap_or(0);
            format!("{sheet}!{}{line}", column_letters(u32::from(first_column as u16) + position as u32))
        };
        if let Some(message) = number_problem {
            errors.push(RowError {
                line,
                column: Some("corporate_number"),
                message: format!("{}: {message}", reference(Some("corporate_number"))),
            });
            continue;
        }
        let fields: Vec<&str> = cells.iter().map(|c| c.trim()).collect();
        match import::parse_row(line, &fields, &columns, snapshot, principal) {
            Ok(row) => rows.push(row),
            Err(found) => errors.extend(
                found.into_iter().map(|e| RowError { message: format!("{}: {}", reference(e.column), e.message), ..e }),
            ),
        }
    }
    (rows, errors)
}

/// A spreadsheet column's letters (0 → A, 26 → AA).
fn column_letters(mut index: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'A' + (index % 26) as u8));
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.iter().rev().collect()
}

/// The line a record starts on. After a CRLF the csv crate starts the next record at
/// the LF and counts lines from there: one short of the line the record is on.
fn line_of(position: &csv::Position, body: &[u8]) -> u64 {
    let starts_at_lf = usize::try_from(position.byte()).ok().and_then(|at| body.get(at)) == Some(&b'\n');
    position.line() + u64::from(starts_at_lf)
}

/// The record's cells as the export was given them: trimmed, and the `'` the export
/// put before formula-like text removed (`domain::spreadsheet`).
fn utf8_fields(record: &csv::ByteRecord) -> Option<Vec<&str>> {
    record.iter().map(|field| std::str::from_utf8(field).ok().map(|cell| spreadsheet::restore(cell.trim()))).collect()
}

/// The stored operators the file names, with all their designations.
async fn load_stored(
    db: &Db,
    numbers: &[CorporateNumber],
) -> Result<HashMap<CorporateNumber, StoredOperator>, ServiceError> {
    let found = operators::find_by_corporate_numbers(&db.conn, numbers).await?;
    let ids: Vec<Uuid> = found.iter().map(|o| o.id).collect();
    let mut by_operator = designations::grouped_by_operator(&db.conn, &ids).await?;
    Ok(found
        .into_iter()
        .map(|operator| {
            let designations = by_operator.remove(&operator.id).unwrap_or_default();
            (operator.corporate_number, StoredOperator { operator, designations })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::Regime;
    use crate::domain::strategies::{corporate_number, date_in_range, embedded_snapshot};

    fn administrator() -> Principal {
        Principal::Cli { user: "proptest".into(), ministry: None }
    }

    /// One row as a person would fill it in: free text with commas, quotes, Japanese.
    #[derive(Debug, Clone)]
    struct Row {
        corporate_number: CorporateNumber,
        name_ja: String,
        name_en: Option<String>,
        /// (regime, field, from, to): fields in force at any date from 2025-04-01.
        designation: Option<(Regime, &'static str, NaiveDate, Option<NaiveDate>)>,
        legal_basis: Option<String>,
        reference: Option<String>,
    }

    /// Text the import keeps as it is: no control characters, nothing to trim.
    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9,\"'ぁ-んァ-ン一-龥（）・ ]{1,40}"
            .prop_map(|s| s.trim().to_owned())
            .prop_filter("not empty once trimmed", |s| !s.is_empty())
    }

    fn row() -> impl Strategy<Value = Row> {
        let fields = prop::sample::select(vec![
            (Regime::Ci, "gas"),
            (Regime::Ci, "electricity"),
            (Regime::Espa, "gas"),
            (Regime::Espa, "port-transport"),
        ]);
        let start = NaiveDate::from_ymd_opt(2025, 4, 1).expect("date");
        // Late enough that an end up to 5,000 days on stays in the accepted range.
        let last_start = NaiveDate::from_ymd_opt(2150, 1, 1).expect("date");
        let period = (date_in_range(), proptest::option::of(1i64..5000)).prop_map(move |(from, days)| {
            let from = from.clamp(start, last_start);
            (from, days.map(|d| from + chrono::Duration::days(d)))
        });
        let designation = proptest::option::of((fields, period).prop_map(|((r, f), (from, to))| (r, f, from, to)));
        (
            corporate_number(),
            text(),
            proptest::option::of(text()),
            designation,
            proptest::option::of(text()),
            proptest::option::of(text()),
        )
            .prop_map(|(corporate_number, name_ja, name_en, designation, legal_basis, reference)| Row {
                corporate_number,
                name_ja,
                name_en,
                designation,
                legal_basis,
                reference,
            })
    }

    /// Writes rows as the export does (header, quoting by the csv crate).
    fn write(rows: &[Row], bom: bool, terminator: csv::Terminator) -> Vec<u8> {
        let mut out = if bom { "\u{feff}".as_bytes().to_vec() } else { Vec::new() };
        let mut writer = csv::WriterBuilder::new().terminator(terminator).from_writer(&mut out);
        writer.write_record(import::COLUMNS).expect("header");
        let day = |d: NaiveDate| d.to_string();
        for r in rows {
            let (regime, field, from, to) = match r.designation {
                Some((regime, field, from, to)) => {
                    (regime.as_str().to_owned(), field.to_owned(), day(from), to.map(day).unwrap_or_default())
                }
                None => Default::default(),
            };
            writer
                .write_record([
                    r.corporate_number.to_string(),
                    r.name_ja.clone(),
                    r.name_en.clone().unwrap_or_default(),
                    regime,
                    field,
                    String::new(),
                    from,
                    to,
                    r.legal_basis.clone().unwrap_or_default(),
                    r.reference.clone().unwrap_or_default(),
                ])
                .expect("row");
        }
        writer.flush().expect("flush");
        drop(writer);
        out
    }

    fn read(csv: &[u8]) -> (ImportReport, Vec<ImportRow>, Vec<RowError>) {
        let mut report = ImportReport::default();
        let (rows, errors) = read_rows(csv, &embedded_snapshot(), &administrator(), &mut report, &Silent);
        (report, rows, errors)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the text holds (commas, quotes, Japanese), every row comes back as
        /// written, in order, whether the file has a BOM and CRLF line ends or neither.
        #[test]
        fn written_rows_read_back_unchanged(rows in prop::collection::vec(row(), 0..20), bom: bool, crlf: bool) {
            let terminator = if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') };
            let (report, read_back, errors) = read(&write(&rows, bom, terminator));
            prop_assert!(errors.is_empty(), "{errors:?}");
            prop_assert_eq!(report.rows_read, rows.len() as u64);
            prop_assert_eq!(read_back.len(), rows.len());
            for (line, (written, read)) in (2u64..).zip(rows.iter().zip(&read_back)) {
                prop_assert_eq!(read.line, line);
                prop_assert_eq!(read.corporate_number, written.corporate_number);
                prop_assert_eq!(&read.name_ja, &written.name_ja);
                prop_assert_eq!(&read.name_en, &written.name_en);
                match (&read.designation, written.designation) {
                    (None, None) => {}
                    (Some(d), Some((regime, field, from, to))) => {
                        prop_assert_eq!(d.plan.regime, regime);
                        prop_assert_eq!(d.plan.field.as_str(), field);
                        prop_assert_eq!(d.plan.effective_from, from);
                        prop_assert_eq!(d.plan.effective_to, to);
                        prop_assert_eq!(&d.legal_basis, &written.legal_basis);
                        prop_assert_eq!(&d.reference, &written.reference);
                    }
                    (read, written) => prop_assert!(false, "read {read:?}, wrote {written:?}"),
                }
            }
        }

        /// Any bytes at all: no panic, and every data row either reads or is reported
        /// with a line number inside the file.
        #[test]
        fn any_bytes_read_or_are_reported(body in prop::collection::vec(any::<u8>(), 0..2000), header: bool) {
            let mut csv = if header { format!("{}\n", import::COLUMNS.join(",")).into_bytes() } else { Vec::new() };
            csv.extend(body);
            let (report, rows, errors) = read(&csv);
            let lines = csv.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            prop_assert!(rows.len() as u64 <= report.rows_read);
            prop_assert!(rows.len() as u64 == report.rows_read || !errors.is_empty());
            for error in &errors {
                prop_assert!((1..=lines).contains(&error.line), "line {} of {lines}: {error:?}", error.line);
            }
        }
    }
}
