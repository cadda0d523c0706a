//! Bulk import of designations from CSV (the format of `domain::import`): everything is
//! checked first, every invalid row reported, and only a fully valid file is written —
//! in one transaction, so an interrupted import leaves the registry as it was.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::Utc;
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::{ServiceError, Services, authorize, with_retry, workbook};
use crate::domain::audit::{AuditAction, SubjectType};
use crate::domain::authorization::Operation;
use crate::domain::designation::Designation;
use crate::domain::import::{self, ColumnMap, ImportPlan, ImportRow, Reconciler, RowAction, RowError, StoredOperator};
use crate::domain::operator::Operator;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{CorporateNumber, Principal, spreadsheet};
use crate::storage::{Db, StorageError, designations, operators};
use sea_orm::DatabaseTransaction;

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
    authorize(principal, Operation::ImportDesignations)?;
    if let Some(ministry) = principal.acting_ministry()
        && snapshot.ministry_index(ministry).is_none()
    {
        return Err(ServiceError::Invalid(format!("unknown ministry \"{ministry}\"")));
    }
    let mut report = ImportReport { dry_run, ..ImportReport::default() };
    let source = match Source::open(csv) {
        Ok(source) => source,
        Err(errors) => {
            report.errors = errors;
            return Ok(report);
        }
    };
    let checked = match check(&services.db, &source, snapshot, principal, &mut report, progress).await? {
        Ok(checked) => checked,
        Err(errors) => {
            report.errors = errors;
            return Ok(report);
        }
    };
    let plan = checked.plan;
    report.unchanged = plan.unchanged;
    report.operators_created = plan.new_operators;
    report.created = plan.new_designations + plan.operator_only;
    let total = plan.new_operators + plan.new_designations;
    if dry_run || total == 0 {
        return Ok(report);
    }
    let written = Written { rows_read: report.rows_read, created: report.created, total };
    with_retry(|| write(services, principal, &source, snapshot, &checked, &written, progress)).await?;
    // The import stands; stale statistics only slow reads down, so a failure here is
    // logged, not reported.
    if let Err(e) = services.db.refresh_statistics().await {
        tracing::warn!(error = %e, "could not refresh the planner's statistics after the import");
    }
    Ok(report)
}

/// Rows looked up in the database at once while checking.
const ROWS_PER_LOOKUP: usize = 5000;

/// What the first pass over a valid file found: what the import does, what each row
/// does (in file order) and the ids of the stored operators the file names.
struct Checked {
    plan: ImportPlan,
    actions: Vec<RowAction>,
    stored_ids: HashMap<CorporateNumber, Uuid>,
}

/// The first pass: reads every row and checks it on its own and, a batch of rows at a
/// time, against the stored operators it names (loaded for that batch) and the rows
/// before it. No row is kept: the second pass reads them again from the same bytes.
async fn check(
    db: &Db,
    source: &Source<'_>,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    report: &mut ImportReport,
    progress: &dyn Progress,
) -> Result<Result<Checked, Vec<RowError>>, ServiceError> {
    let mut reconciler = Reconciler::new();
    let mut stored: HashMap<CorporateNumber, StoredOperator> = HashMap::new();
    let mut errors = Vec::new();
    let mut actions = Vec::new();
    let mut batch = Vec::with_capacity(ROWS_PER_LOOKUP);
    let estimated_rows = source.estimated_rows();
    for row in source.rows(snapshot, principal) {
        report.rows_read += 1;
        match row {
            Ok(row) => batch.push(row),
            Err(found) => errors.extend(found),
        }
        if batch.len() == ROWS_PER_LOOKUP {
            reconcile_batch(db, &mut batch, &mut stored, &mut reconciler, &mut actions).await?;
        }
        if report.rows_read.is_multiple_of(PROGRESS_EVERY) {
            progress.update(Phase::Checking, report.rows_read, estimated_rows.max(report.rows_read));
        }
    }
    reconcile_batch(db, &mut batch, &mut stored, &mut reconciler, &mut actions).await?;
    progress.update(Phase::Checking, report.rows_read, report.rows_read);
    match reconciler.finish() {
        Ok(plan) if errors.is_empty() => {
            let stored_ids = stored.into_iter().map(|(number, s)| (number, s.operator.id)).collect();
            return Ok(Ok(Checked { plan, actions, stored_ids }));
        }
        Ok(_) => {}
        Err(found) => errors.extend(found),
    }
    errors.sort_by_key(|e| e.line);
    Ok(Err(errors))
}

/// Checks a batch of rows valid on their own, in file order, after loading the stored
/// operators they name that are not loaded yet.
async fn reconcile_batch(
    db: &Db,
    batch: &mut Vec<ImportRow>,
    stored: &mut HashMap<CorporateNumber, StoredOperator>,
    reconciler: &mut Reconciler,
    actions: &mut Vec<RowAction>,
) -> Result<(), ServiceError> {
    let unknown: HashSet<CorporateNumber> = batch
        .iter()
        .map(|row| row.corporate_number)
        .filter(|number| !stored.contains_key(number) && !reconciler.registers(number))
        .collect();
    if !unknown.is_empty() {
        stored.extend(load_stored(db, &unknown.into_iter().collect::<Vec<_>>()).await?);
    }
    for row in batch.drain(..) {
        actions.push(reconciler.check(&row, stored.get(&row.corporate_number)));
    }
    Ok(())
}

/// What a checked import writes, counted.
struct Written {
    rows_read: u64,
    created: u64,
    /// Operators and designations to insert.
    total: u64,
}

/// Rows of operators or designations inserted at once (the storage layer splits them
/// into statements under the databases' parameter limits).
const ROWS_PER_WRITE: usize = 5000;

/// The second pass, in one transaction: reads the rows again and writes what the first
/// pass decided, a chunk at a time (each chunk's operators before its designations); the
/// audit event, recorded last, names every operator and designation created.
async fn write(
    services: &Services,
    principal: &Principal,
    source: &Source<'_>,
    snapshot: &ReferenceSnapshot,
    checked: &Checked,
    written: &Written,
    progress: &dyn Progress,
) -> Result<(), ServiceError> {
    let plan = &checked.plan;
    progress.update(Phase::Writing, 0, written.total);
    let txn = services.db.begin_write().await?;
    let now = Utc::now();
    let mut change = Change::import().after(serde_json::json!({
        "rowsRead": written.rows_read,
        "created": written.created,
        "unchanged": plan.unchanged,
        "operatorsCreated": plan.new_operators,
        "designationsCreated": plan.new_designations,
    }));
    let mut ministries: BTreeSet<String> = BTreeSet::new();
    let mut registered: HashMap<CorporateNumber, Uuid> = HashMap::new();
    let mut new_operators = Vec::with_capacity(ROWS_PER_WRITE);
    let mut new_designations = Vec::with_capacity(ROWS_PER_WRITE);
    let mut done = 0;
    let unchecked = || ServiceError::internal("the file read differently the second time");
    let mut actions = checked.actions.iter();
    for row in source.rows(snapshot, principal) {
        let row = row.map_err(|_| unchecked())?;
        let number = row.corporate_number;
        let operator_id = match actions.next().ok_or_else(unchecked)? {
            RowAction::Unchanged | RowAction::Invalid => continue,
            RowAction::RegistersOperator => {
                let operator = Operator::register(Uuid::now_v7(), number, row.name_ja, row.name_en, now);
                change = change.and_operator(&operator);
                registered.insert(number, operator.id);
                let id = operator.id;
                new_operators.push(operator);
                id
            }
            RowAction::Designates => {
                *checked.stored_ids.get(&number).or_else(|| registered.get(&number)).ok_or_else(unchecked)?
            }
        };
        if let Some(d) = row.designation {
            let designation = Designation::new(Uuid::now_v7(), operator_id, &d.plan, d.legal_basis, d.reference, now);
            change = change.and_designation(&designation, &number);
            if !ministries.contains(&designation.ministry) {
                ministries.insert(designation.ministry.clone());
            }
            new_designations.push(designation);
        }
        if new_operators.len() >= ROWS_PER_WRITE || new_designations.len() >= ROWS_PER_WRITE {
            done += insert(&txn, &mut new_operators, &mut new_designations).await?;
            progress.update(Phase::Writing, done, written.total);
        }
    }
    insert(&txn, &mut new_operators, &mut new_designations).await?;
    let change = change.in_jurisdiction_of(ministries.iter().map(String::as_str));
    let recorded = audit::record(&txn, principal, change).await?;
    services.commit(txn, recorded).await?;
    progress.update(Phase::Writing, written.total, written.total);
    Ok(())
}

/// Inserts a chunk of new operators, then the chunk of designations (of these operators
/// or earlier ones); empties both and returns how many rows it wrote.
async fn insert(
    txn: &DatabaseTransaction,
    new_operators: &mut Vec<Operator>,
    new_designations: &mut Vec<Designation>,
) -> Result<u64, ServiceError> {
    operators::insert_many(txn, new_operators).await?;
    designations::insert_many(txn, new_designations).await.map_err(|e| match e {
        StorageError::Conflict(_) => {
            ServiceError::Conflict("a concurrent change conflicts with this import; nothing was imported".into())
        }
        other => other.into(),
    })?;
    let written = (new_operators.len() + new_designations.len()) as u64;
    new_operators.clear();
    new_designations.clear();
    Ok(written)
}

/// The rows of a file, read as many times as needed from its bytes: a CSV file, or the
/// operators sheet of an .xlsx workbook (as the workbook export writes it, with Japanese
/// or English headers; line N is the sheet's row N, every problem named by its cell).
enum Source<'a> {
    Csv { body: &'a [u8], columns: ColumnMap },
    Workbook { range: calamine::Range<calamine::Data>, names: Vec<String>, columns: ColumnMap },
}

/// One row as read: valid on its own, or its problems.
type ReadRow = Result<ImportRow, Vec<RowError>>;

impl<'a> Source<'a> {
    /// Reads the header; its problems if it is not one.
    fn open(bytes: &'a [u8]) -> Result<Self, Vec<RowError>> {
        if bytes.starts_with(b"PK\x03\x04") { Self::open_workbook(bytes) } else { Self::open_csv(bytes) }
    }

    fn open_csv(csv: &'a [u8]) -> Result<Self, Vec<RowError>> {
        let body = csv.strip_prefix("\u{feff}".as_bytes()).unwrap_or(csv);
        let header_error = |message: String| vec![RowError { line: 1, column: None, message }];
        let mut reader = csv_reader(body);
        let mut header = csv::ByteRecord::new();
        let columns = match reader.read_byte_record(&mut header) {
            Ok(false) => return Err(header_error("the file is empty: a header row is required".into())),
            Err(e) => return Err(header_error(format!("unreadable header: {e}"))),
            Ok(true) => match utf8_fields(&header).map(|fields| ColumnMap::from_header(&fields)) {
                Some(Ok(columns)) => columns,
                Some(Err(e)) => return Err(vec![e]),
                None => return Err(header_error("the header is not valid UTF-8".into())),
            },
        };
        Ok(Source::Csv { body, columns })
    }

    fn open_workbook(bytes: &'a [u8]) -> Result<Self, Vec<RowError>> {
        use calamine::Reader;
        let sheet = workbook::OPERATORS_SHEET;
        let at_header = |message: String| vec![RowError { line: 1, column: None, message }];
        let range = calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(bytes))
            .map_err(|e| e.to_string())
            .and_then(|mut book| book.worksheet_range(sheet).map_err(|e| e.to_string()))
            .map_err(|e| at_header(format!("not a workbook with a sheet \"{sheet}\": {e}")))?;
        let header: Vec<String> = range.rows().next().unwrap_or_default().iter().map(|cell| cell.to_string()).collect();
        let names: Vec<String> = header
            .iter()
            .map(|label| {
                import::COLUMNS
                    .iter()
                    .copied()
                    .find(|c| workbook::japanese_label(c) == label.trim())
                    .unwrap_or(label)
                    .to_owned()
            })
            .collect();
        let columns =
            ColumnMap::from_header(&names.iter().map(String::as_str).collect::<Vec<_>>()).map_err(|e| vec![e])?;
        Ok(Source::Workbook { range, names, columns })
    }

    /// About how many data rows there are (for progress).
    fn estimated_rows(&self) -> u64 {
        match self {
            Source::Csv { body, .. } => body.iter().filter(|&&b| b == b'\n').count() as u64,
            Source::Workbook { range, .. } => range.height().saturating_sub(1) as u64,
        }
    }

    /// Every data row, in file order, each checked on its own.
    fn rows<'s>(
        &'s self,
        snapshot: &'s ReferenceSnapshot,
        principal: &'s Principal,
    ) -> Box<dyn Iterator<Item = ReadRow> + Send + 's> {
        match self {
            Source::Csv { body, columns } => Box::new(CsvRows {
                body,
                reader: csv_reader(body),
                record: csv::ByteRecord::new(),
                columns: *columns,
                snapshot,
                principal,
                read: 0,
                header_skipped: false,
            }),
            Source::Workbook { range, names, columns } => {
                let (first_row, first_column) = range.start().unwrap_or((0, 0));
                Box::new(range.rows().skip(1).enumerate().map(move |(offset, record)| {
                    let line = u64::from(first_row) + offset as u64 + 2;
                    workbook_row(line, record, names, u32::from(first_column as u16), columns, snapshot, principal)
                }))
            }
        }
    }
}

fn csv_reader(body: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body)
}

/// The data rows of a CSV file, one record buffer reused for all.
struct CsvRows<'s> {
    body: &'s [u8],
    reader: csv::Reader<&'s [u8]>,
    record: csv::ByteRecord,
    columns: ColumnMap,
    snapshot: &'s ReferenceSnapshot,
    principal: &'s Principal,
    /// Data rows read so far.
    read: u64,
    header_skipped: bool,
}

impl Iterator for CsvRows<'_> {
    type Item = ReadRow;

    fn next(&mut self) -> Option<ReadRow> {
        if !self.header_skipped {
            self.header_skipped = true;
            self.reader.read_byte_record(&mut self.record).ok()?;
        }
        let result = self.reader.read_byte_record(&mut self.record);
        let at = |error: RowError| Some(Err(vec![error]));
        match result {
            Ok(false) => return None,
            Ok(true) => self.read += 1,
            Err(e) => {
                self.read += 1;
                let line = e.position().map_or(self.read + 1, |p| line_of(p, self.body));
                return at(RowError { line, column: None, message: format!("unreadable row: {e}") });
            }
        }
        let record = &self.record;
        let line = record.position().map_or(self.read + 1, |p| line_of(p, self.body));
        if record.len() != import::COLUMNS.len() {
            let message = format!("expected {} fields, found {}", import::COLUMNS.len(), record.len());
            return at(RowError { line, column: None, message });
        }
        let Some(fields) = utf8_fields(record) else {
            return at(RowError { line, column: None, message: "the row is not valid UTF-8".into() });
        };
        Some(import::parse_row(line, &fields, &self.columns, self.snapshot, self.principal))
    }
}

/// One row of the operators sheet, checked on its own as a CSV row is; every problem is
/// named by its cell.
fn workbook_row(
    line: u64,
    record: &[calamine::Data],
    names: &[String],
    first_column: u32,
    columns: &ColumnMap,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
) -> ReadRow {
    use calamine::{Data, DataType};
    let sheet = workbook::OPERATORS_SHEET;
    let corporate_number = names.iter().position(|n| n == "corporate_number");
    let mut cells = Vec::with_capacity(record.len());
    let mut number_problem = None;
    for (position, cell) in record.iter().enumerate() {
        cells.push(match cell {
            Data::Empty => String::new(),
            Data::String(text) => text.clone(),
            Data::DateTime(_) | Data::DateTimeIso(_) => cell.as_date().map(|d| d.to_string()).unwrap_or_default(),
            Data::Float(_) | Data::Int(_) if Some(position) == corporate_number => {
                number_problem = spreadsheet::excel_number_problem(&format!("{:E}", cell.as_f64().unwrap_or_default()));
                cell.to_string()
            }
            other => other.to_string(),
        });
    }
    let reference = |column: Option<&str>| {
        let position = column.and_then(|c| names.iter().position(|n| n == c)).unwrap_or(0);
        format!("{sheet}!{}{line}", column_letters(first_column + position as u32))
    };
    if let Some(message) = number_problem {
        return Err(vec![RowError {
            line,
            column: Some("corporate_number"),
            message: format!("{}: {message}", reference(Some("corporate_number"))),
        }]);
    }
    let fields: Vec<&str> = cells.iter().map(|c| c.trim()).collect();
    import::parse_row(line, &fields, columns, snapshot, principal).map_err(|found| {
        found
            .into_iter()
            .map(|e| RowError { message: format!("{}: {}", reference(e.column), e.message), ..e })
            .collect()
    })
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
        let (snapshot, principal) = (embedded_snapshot(), administrator());
        let (mut rows, mut errors) = (Vec::new(), Vec::new());
        match Source::open(csv) {
            Err(found) => errors = found,
            Ok(source) => {
                for row in source.rows(&snapshot, &principal) {
                    report.rows_read += 1;
                    match row {
                        Ok(row) => rows.push(row),
                        Err(found) => errors.extend(found),
                    }
                }
            }
        }
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
