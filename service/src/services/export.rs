//! Exports for spreadsheets and other systems: the operators (in the import format, so
//! an export re-imports as "all unchanged"), the overlap report, the crosswalk and the
//! scope gaps — each as of a date, as CSV (UTF-8 with BOM, for Excel) or JSON. Rows are
//! written as they are read, so that a million operators start at once and take the
//! memory of one page.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use sea_orm::DatabaseTransaction;
use serde_json::{Map, Value};

use super::{ServiceError, Services, authorize};
use crate::domain::authorization::Operation;
use crate::domain::date::parse_date;
use crate::domain::designation::Designation;
use crate::domain::import::COLUMNS;
use crate::domain::operator::{Operator, OperatorQuery};
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{Principal, Regime, spreadsheet, today};
use crate::storage::{StorageError, designations, operators};

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Operators,
    Overlap,
    Crosswalk,
    ScopeGaps,
}

impl FromStr for ExportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "operators" => Ok(ExportKind::Operators),
            "overlap" => Ok(ExportKind::Overlap),
            "crosswalk" => Ok(ExportKind::Crosswalk),
            "scope-gaps" => Ok(ExportKind::ScopeGaps),
            other => Err(format!("unknown export \"{other}\" (expected operators, overlap, crosswalk or scope-gaps)")),
        }
    }
}

impl ExportKind {
    /// Operator data needs a token; reference data is public.
    pub fn needs_token(self) -> bool {
        matches!(self, ExportKind::Operators | ExportKind::Overlap)
    }
}

/// What an export answers for. Parsed in one place for HTTP (`?asOf=`) and the command
/// line (`--as-of`), so that a further point in time is added once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportQuery {
    pub as_of: NaiveDate,
    /// Record time: the export as the registry had recorded it then (None: now).
    pub known_at: Option<DateTime<Utc>>,
}

impl ExportQuery {
    /// From the caller's `asOf` text (absent: today in Japan) and `knownAt` (RFC 3339).
    pub fn parse(as_of: Option<&str>, known_at: Option<&str>) -> Result<Self, ServiceError> {
        let as_of = as_of.map(parse_date).transpose().map_err(|e| ServiceError::Invalid(format!("asOf: {e}")))?;
        let known_at = known_at
            .map(DateTime::parse_from_rfc3339)
            .transpose()
            .map_err(|e| {
                ServiceError::Invalid(format!("knownAt: {e} (an RFC 3339 instant, e.g. 2026-04-01T09:00:00Z)"))
            })?
            .map(|at| at.to_utc());
        Ok(Self { as_of: as_of.unwrap_or_else(today), known_at })
    }
}

/// The file formats of exports.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For Excel: UTF-8 with BOM, CRLF line ends, a header row, one line per record,
    /// formula-like cells neutralised (`domain::spreadsheet`).
    Csv,
    /// An array of objects keyed by column name (empty cells are null), one per line.
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    fn start(self, columns: &[&str]) -> Result<Vec<u8>, ServiceError> {
        match self {
            Format::Csv => {
                let mut out = "\u{feff}".as_bytes().to_vec();
                csv_records(&mut out, [columns])?;
                Ok(out)
            }
            Format::Json => Ok(b"[".to_vec()),
        }
    }

    /// Rows `written..` of the file.
    fn rows(self, columns: &[&str], rows: &[Vec<String>], written: usize) -> Result<Vec<u8>, ServiceError> {
        let mut out = Vec::new();
        match self {
            Format::Csv => {
                csv_records(&mut out, rows.iter().map(|row| row.iter().map(|c| spreadsheet::neutralise(c))))?
            }
            Format::Json => {
                for (i, row) in rows.iter().enumerate() {
                    out.extend_from_slice(if written + i == 0 { b"\n" } else { b",\n" });
                    serde_json::to_writer(&mut out, &json_object(columns, row)).map_err(ServiceError::internal)?;
                }
            }
        }
        Ok(out)
    }

    fn end(self) -> Vec<u8> {
        match self {
            Format::Csv => Vec::new(),
            Format::Json => b"\n]\n".to_vec(),
        }
    }
}

/// Appends CSV records (CRLF line ends) to `out`.
fn csv_records<R, C>(out: &mut Vec<u8>, records: impl IntoIterator<Item = R>) -> Result<(), ServiceError>
where
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    for record in records {
        writer.write_record(record.into_iter().map(|c| c.as_ref().to_owned())).map_err(ServiceError::internal)?;
    }
    writer.flush().map_err(ServiceError::internal)
}

fn json_object(columns: &[&str], row: &[String]) -> Value {
    let object: Map<String, Value> = columns
        .iter()
        .zip(row)
        .map(|(column, cell)| {
            let value = if cell.is_empty() { Value::Null } else { Value::String(cell.clone()) };
            ((*column).to_owned(), value)
        })
        .collect();
    Value::Object(object)
}

/// A table: named columns, rows of text (small reports built whole).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[&'static str]) -> Self {
        Self { columns: columns.to_vec(), rows: Vec::new() }
    }

    fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as CSV (see [`Format::Csv`]).
    pub fn to_csv(&self) -> Result<Vec<u8>, ServiceError> {
        let mut out = Format::Csv.start(&self.columns)?;
        out.extend(Format::Csv.rows(&self.columns, &self.rows, 0)?);
        Ok(out)
    }

    /// JSON: an array of objects keyed by column name (empty cells are null).
    pub fn to_json(&self) -> Value {
        Value::Array(self.rows.iter().map(|row| json_object(&self.columns, row)).collect())
    }
}

/// Rows in batches, as they are read.
pub type Rows = BoxStream<'static, Result<Vec<Vec<String>>, ServiceError>>;

/// An export under way: its columns, and its rows as they are read from one consistent
/// snapshot (the database's, in one read transaction, or the in-memory reference data's).
pub struct Export {
    pub columns: Vec<&'static str>,
    rows: Rows,
}

impl From<Table> for Export {
    fn from(table: Table) -> Self {
        Self { columns: table.columns, rows: Box::pin(futures_util::stream::once(async move { Ok(table.rows) })) }
    }
}

impl Export {
    /// The rows, in batches as they are read.
    pub fn into_rows(self) -> Rows {
        self.rows
    }

    /// The file, chunk by chunk as the rows arrive: memory stays that of one batch.
    pub fn encode(self, format: Format) -> BoxStream<'static, Result<Vec<u8>, ServiceError>> {
        let Export { columns, mut rows } = self;
        Box::pin(async_stream::try_stream! {
            yield format.start(&columns)?;
            let mut written = 0;
            while let Some(batch) = rows.next().await {
                let batch = batch?;
                yield format.rows(&columns, &batch, written)?;
                written += batch.len();
            }
            yield format.end();
        })
    }
}

/// Operators are read in pages of this many (one query for them, one for their
/// designations).
const EXPORT_PAGE: u64 = 2000;

/// Starts an export. What can fail before the first byte (authorization, the database
/// being away) fails here; the rows follow as they are read.
pub async fn export(
    services: &Services,
    principal: &Principal,
    kind: ExportKind,
    query: ExportQuery,
) -> Result<Export, ServiceError> {
    if kind.needs_token() {
        authorize(principal, Operation::ExportOperatorData)?;
    }
    let snapshot = &match query.known_at {
        None => services.snapshot(),
        Some(at) => super::record_time::reference(services, at).await?,
    };
    let as_of = query.as_of;
    match (kind, query.known_at) {
        (ExportKind::Operators, None) => operators(services, principal, as_of).await,
        (ExportKind::Operators, Some(at)) => Ok(recorded_operators(services, principal, as_of, at).await?.into()),
        (ExportKind::Overlap, known_at) => Ok(overlap(services, snapshot, principal, as_of, known_at).await?.into()),
        (ExportKind::Crosswalk, _) => Ok(crosswalk(snapshot, as_of).into()),
        (ExportKind::ScopeGaps, _) => Ok(scope_gaps(snapshot, as_of).into()),
    }
}

/// One line per designation active at `as_of`, and one for each operator without one,
/// in corporate-number order, page after page in one read transaction (so the file is
/// the registry at one moment, however long the download takes).
async fn operators(services: &Services, principal: &Principal, as_of: NaiveDate) -> Result<Export, ServiceError> {
    authorize(principal, Operation::ReadOperators)?;
    let txn = services.db.begin_snapshot().await?;
    // The first page is read before the answer starts: a database that is away is the
    // request's error, not a broken download.
    let first = operator_page(&txn, as_of, None).await?;
    let rows = async_stream::try_stream! {
        let (mut rows, mut after) = first;
        loop {
            yield rows;
            let Some(last) = after else { break };
            (rows, after) = operator_page(&txn, as_of, Some(&last)).await?;
        }
        txn.commit().await.map_err(StorageError::from)?;
    };
    Ok(Export { columns: COLUMNS.to_vec(), rows: Box::pin(rows) })
}

/// One line per designation active at `as_of`, and one for each operator without one
/// as recorded at `at`: read whole from the audit trail (record-time answers are not streamed).
async fn recorded_operators(
    services: &Services,
    principal: &Principal,
    as_of: NaiveDate,
    at: DateTime<Utc>,
) -> Result<Table, ServiceError> {
    let mut table = Table::new(&COLUMNS);
    let query = OperatorQuery::at(as_of);
    let mut after: Option<String> = None;
    loop {
        let record_time = super::record_time::list(services, principal, &query, after.as_deref(), EXPORT_PAGE, at);
        let page = record_time.await?;
        let numbers: Vec<_> = page.operators.iter().map(|o| o.corporate_number).collect();
        let (found, _) = super::record_time::operators(services, &numbers, at).await?;
        let mut grouped: std::collections::HashMap<_, _> =
            found.into_values().map(|e| (e.operator.id, e.designations.to_vec())).collect();
        for operator in &page.operators {
            let held = grouped.remove(&operator.id).unwrap_or_default();
            for row in operator_rows(operator, held, as_of) {
                table.push(row);
            }
        }
        if !page.has_next_page {
            break;
        }
        after = page.operators.last().map(|o| o.corporate_number.to_string());
    }
    Ok(table)
}

/// One operator's lines: one per designation active at `as_of`, or one without any.
fn operator_rows(operator: &Operator, designations: Vec<Designation>, as_of: NaiveDate) -> Vec<Vec<String>> {
    let operator_cells =
        [operator.corporate_number.to_string(), operator.name_ja.clone(), operator.name_en.clone().unwrap_or_default()];
    let active: Vec<_> = designations.into_iter().filter(|d| d.is_active_at(as_of)).collect();
    if active.is_empty() {
        let mut row = operator_cells.to_vec();
        row.resize(COLUMNS.len(), String::new());
        return vec![row];
    }
    active
        .into_iter()
        .map(|d| {
            let mut row = operator_cells.to_vec();
            row.extend([
                d.regime.as_str().to_owned(),
                d.field,
                d.scope_item.unwrap_or_default(),
                d.effective_from.to_string(),
                d.effective_to.map(|t| t.to_string()).unwrap_or_default(),
                d.legal_basis.unwrap_or_default(),
                d.reference.unwrap_or_default(),
            ]);
            row
        })
        .collect()
}

/// The rows of one page of operators after `after`, and the corporate number to go on
/// after (None: this was the last page).
async fn operator_page(
    txn: &DatabaseTransaction,
    as_of: NaiveDate,
    after: Option<&str>,
) -> Result<(Vec<Vec<String>>, Option<String>), ServiceError> {
    let page = operators::page(txn, &OperatorQuery::at(as_of), after, EXPORT_PAGE).await?;
    let ids: Vec<_> = page.iter().map(|o| o.id).collect();
    let mut grouped = designations::grouped_by_operator(txn, &ids).await?;
    let mut rows = Vec::with_capacity(page.len());
    for operator in &page {
        rows.extend(operator_rows(operator, grouped.remove(&operator.id).unwrap_or_default(), as_of));
    }
    let after =
        (page.len() as u64 == EXPORT_PAGE).then(|| page.last().map(|o| o.corporate_number.to_string())).flatten();
    Ok((rows, after))
}

fn names(snapshot: &ReferenceSnapshot, regime: Regime, code: &str) -> [String; 2] {
    snapshot.field(regime, code).map_or_else(Default::default, |f| [f.name_ja.clone(), f.name_en.clone()])
}

/// The totals, one line per linked pair and one per ESPA domain's gap.
async fn overlap(
    services: &Services,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    as_of: NaiveDate,
    known_at: Option<DateTime<Utc>>,
) -> Result<Table, ServiceError> {
    let report = match known_at {
        None => super::overlap::report(services, snapshot, principal, as_of).await?,
        Some(at) => super::record_time::overlap(services, principal, as_of, at).await?.0,
    };
    let mut table =
        Table::new(&["as_of", "kind", "sector", "sector_name_ja", "domain", "domain_name_ja", "operator_count"]);
    let date = as_of.to_string();
    let t = report.totals;
    for (kind, count) in [("total_both", t.both), ("total_espa_only", t.espa_only), ("total_ci_only", t.ci_only)] {
        table.push(vec![
            date.clone(),
            kind.into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            count.to_string(),
        ]);
    }
    for cell in &report.cells {
        let link = &snapshot.data().links[cell.link_index];
        let [sector_ja, _] = names(snapshot, Regime::Ci, &link.ci);
        let [domain_ja, _] = names(snapshot, Regime::Espa, &link.espa);
        table.push(vec![
            date.clone(),
            "both_in_linked_pair".into(),
            link.ci.clone(),
            sector_ja,
            link.espa.clone(),
            domain_ja,
            cell.operator_count.to_string(),
        ]);
    }
    for gap in &report.domain_gaps {
        let domain = &snapshot.fields(Regime::Espa)[gap.domain_index];
        table.push(vec![
            date.clone(),
            "domain_gap".into(),
            gap.linked_sectors.join(" "),
            String::new(),
            domain.code.clone(),
            domain.name_ja.clone(),
            gap.operator_count.to_string(),
        ]);
    }
    Ok(table)
}

/// Sector–domain links, then scope-item links, in force at `as_of`.
fn crosswalk(snapshot: &ReferenceSnapshot, as_of: NaiveDate) -> Table {
    let mut table = Table::new(&[
        "as_of",
        "level",
        "sector",
        "sector_name_ja",
        "sector_item",
        "sector_item_name_ja",
        "relation",
        "domain",
        "domain_name_ja",
        "domain_item",
        "domain_item_name_ja",
        "rationale",
        "source",
    ]);
    let date = as_of.to_string();
    for i in snapshot.links_at(as_of) {
        let link = &snapshot.data().links[i];
        let [sector_ja, _] = names(snapshot, Regime::Ci, &link.ci);
        let [domain_ja, _] = names(snapshot, Regime::Espa, &link.espa);
        table.push(vec![
            date.clone(),
            "field".into(),
            link.ci.clone(),
            sector_ja,
            String::new(),
            String::new(),
            link.relation.as_str().into(),
            link.espa.clone(),
            domain_ja,
            String::new(),
            String::new(),
            link.rationale.clone(),
            snapshot.cite(&link.provenance),
        ]);
    }
    let item = |regime: Regime, code: &str| snapshot.item_index(regime, code).map(|i| &snapshot.items(regime)[i]);
    for i in snapshot.item_links_at(as_of) {
        let link = &snapshot.data().item_links[i];
        let (Some(ci), Some(espa)) = (item(Regime::Ci, &link.ci), item(Regime::Espa, &link.espa)) else {
            continue;
        };
        let [sector_ja, _] = names(snapshot, Regime::Ci, &ci.parent);
        let [domain_ja, _] = names(snapshot, Regime::Espa, &espa.parent);
        table.push(vec![
            date.clone(),
            "scope_item".into(),
            ci.parent.clone(),
            sector_ja,
            ci.code.clone(),
            ci.name_ja.clone(),
            link.relation.as_str().into(),
            espa.parent.clone(),
            domain_ja,
            espa.code.clone(),
            espa.name_ja.clone(),
            link.rationale.clone(),
            snapshot.cite(&link.provenance),
        ]);
    }
    table
}

/// Fields and scope items without a counterpart at `as_of`.
fn scope_gaps(snapshot: &ReferenceSnapshot, as_of: NaiveDate) -> Table {
    let gaps = snapshot.gaps_at(as_of);
    let mut table = Table::new(&["as_of", "regime", "level", "code", "name_ja", "name_en", "parent"]);
    let date = as_of.to_string();
    for (regime, fields) in [(Regime::Ci, &gaps.sectors_without_domain), (Regime::Espa, &gaps.domains_without_sector)] {
        for &i in fields {
            let f = &snapshot.fields(regime)[i];
            table.push(vec![
                date.clone(),
                regime.as_str().into(),
                regime.field_noun().replace(' ', "_"),
                f.code.clone(),
                f.name_ja.clone(),
                f.name_en.clone(),
                String::new(),
            ]);
        }
    }
    for (regime, items) in
        [(Regime::Ci, &gaps.sector_items_without_link), (Regime::Espa, &gaps.domain_items_without_link)]
    {
        for &i in items {
            let item = &snapshot.items(regime)[i];
            table.push(vec![
                date.clone(),
                regime.as_str().into(),
                "scope_item".into(),
                item.code.clone(),
                item.name_ja.clone(),
                item.name_en.clone(),
                item.parent.clone(),
            ]);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;
    use crate::domain::CorporateNumber;
    use crate::domain::operator::Operator;
    use crate::read_model::ReadModel;
    use sea_orm::ConnectionTrait;

    use crate::storage::{Db, PoolSettings};

    fn operator(i: u64, name: &str) -> Operator {
        let number = CorporateNumber::from_base(999_900_000_000 + i).expect("base fits");
        Operator::register(Uuid::now_v7(), number, name.into(), None, Utc::now())
    }

    /// An export started before a change does not show it, even for rows read after the
    /// change committed: every page comes from the snapshot the export began with.
    #[tokio::test]
    async fn an_export_reads_one_snapshot_while_others_write() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("export.db").display());
        let db = Db::connect(&url, &PoolSettings::default(), true).await.expect("open");
        db.migrate().await.expect("migrate");
        let services = Services::new(db.clone(), ReadModel::on_one_pool(&db).await.expect("read model"));
        let count = EXPORT_PAGE * 2 + 10;
        let before: Vec<Operator> = (0..count).map(|i| operator(i, "変更前株式会社")).collect();
        let txn = db.begin_write().await.expect("begin");
        operators::insert_many(&txn, &before).await.expect("insert");
        txn.commit().await.expect("commit");

        let admin = Principal::Cli { user: "test".into(), ministry: None };
        let export = export(&services, &admin, ExportKind::Operators, ExportQuery::parse(None, None).expect("today"));
        let mut rows = export.await.expect("started").rows;
        let mut read = rows.next().await.expect("a first page").expect("read");
        assert_eq!(read.len() as u64, EXPORT_PAGE);

        // Meanwhile: every operator renamed, and one more registered.
        let txn = db.begin_write().await.expect("begin");
        txn.execute_unprepared("UPDATE operator SET name_ja = '変更後株式会社'").await.expect("rename");
        operators::insert_many(&txn, &[operator(count, "新規株式会社")]).await.expect("insert");
        txn.commit().await.expect("commit");

        while let Some(page) = rows.next().await {
            read.extend(page.expect("read"));
        }
        assert_eq!(read.len() as u64, count, "the operator registered meanwhile is not in the export");
        assert!(read.iter().all(|row| row[1] == "変更前株式会社"), "every row as it was when the export began");
    }
}
