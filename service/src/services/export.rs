//! Exports for spreadsheets and other systems: the operators (in the import format, so
//! an export re-imports as "all unchanged"), the overlap report, the crosswalk and the
//! scope gaps — each as of a date, as CSV (UTF-8 with BOM, for Excel) or JSON.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::{ServiceError, Services, authorize};
use crate::domain::authorization::Operation;
use crate::domain::import::COLUMNS;
use crate::domain::operator::OperatorQuery;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{Principal, Regime, spreadsheet};

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

/// A table: named columns, rows of text.
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

    /// CSV for Excel: UTF-8 with BOM, CRLF line ends, a header row, one line per record,
    /// formula-like cells neutralised.
    pub fn to_csv(&self) -> Result<Vec<u8>, ServiceError> {
        let mut out = "\u{feff}".as_bytes().to_vec();
        let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
        writer.write_record(&self.columns).map_err(ServiceError::internal)?;
        for row in &self.rows {
            writer
                .write_record(row.iter().map(|cell| spreadsheet::neutralise(cell).into_owned()))
                .map_err(ServiceError::internal)?;
        }
        writer.flush().map_err(ServiceError::internal)?;
        drop(writer);
        Ok(out)
    }

    /// JSON: an array of objects keyed by column name (empty cells are null).
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    let object: Map<String, Value> = self
                        .columns
                        .iter()
                        .zip(row)
                        .map(|(column, cell)| {
                            let value = if cell.is_empty() { Value::Null } else { Value::String(cell.clone()) };
                            ((*column).to_owned(), value)
                        })
                        .collect();
                    Value::Object(object)
                })
                .collect(),
        )
    }
}

/// Operators are read in pages of this many.
const EXPORT_PAGE: u64 = 5000;

pub async fn export(
    services: &Services,
    principal: &Principal,
    kind: ExportKind,
    as_of: NaiveDate,
    known_at: Option<DateTime<Utc>>,
) -> Result<Table, ServiceError> {
    if kind.needs_token() {
        authorize(principal, Operation::ExportOperatorData)?;
    }
    let snapshot = &match known_at {
        None => services.snapshot(),
        Some(at) => super::record_time::reference(services, at).await?,
    };
    match kind {
        ExportKind::Operators => operators(services, principal, as_of, known_at).await,
        ExportKind::Overlap => overlap(services, snapshot, principal, as_of, known_at).await,
        ExportKind::Crosswalk => Ok(crosswalk(snapshot, as_of)),
        ExportKind::ScopeGaps => Ok(scope_gaps(snapshot, as_of)),
    }
}

/// One line per designation active at `as_of`, and one for each operator without one
/// (as recorded at `known_at`, when given).
async fn operators(
    services: &Services,
    principal: &Principal,
    as_of: NaiveDate,
    known_at: Option<DateTime<Utc>>,
) -> Result<Table, ServiceError> {
    let mut table = Table::new(&COLUMNS);
    let query = OperatorQuery::at(as_of);
    let mut after: Option<String> = None;
    loop {
        let (page, mut grouped) = match known_at {
            None => {
                let page = super::operators::list(services, principal, &query, after.as_deref(), EXPORT_PAGE).await?;
                let ids: Vec<_> = page.operators.iter().map(|o| o.id).collect();
                let grouped = super::designations::of_operators(services, &ids).await?;
                (page, grouped)
            }
            Some(at) => {
                let record_time =
                    super::record_time::list(services, principal, &query, after.as_deref(), EXPORT_PAGE, at);
                let page = record_time.await?;
                let numbers: Vec<_> = page.operators.iter().map(|o| o.corporate_number).collect();
                let (found, _) = super::record_time::operators(services, &numbers, at).await?;
                let grouped = found.into_values().map(|e| (e.operator.id, e.designations.to_vec())).collect();
                (page, grouped)
            }
        };
        for operator in &page.operators {
            let operator_cells = [
                operator.corporate_number.to_string(),
                operator.name_ja.clone(),
                operator.name_en.clone().unwrap_or_default(),
            ];
            let active: Vec<_> = grouped
                .remove(&operator.id)
                .unwrap_or_default()
                .into_iter()
                .filter(|d| d.is_active_at(as_of))
                .collect();
            if active.is_empty() {
                let mut row = operator_cells.to_vec();
                row.resize(COLUMNS.len(), String::new());
                table.push(row);
            }
            for d in active {
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
