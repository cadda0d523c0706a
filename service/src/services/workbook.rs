//! The Excel workbook export: one sheet per view (the crosswalk, the scope gaps, the
//! overlap's linked pairs and per-domain gaps, the operators with their designations),
//! filled from the same exports as the CSV files, behind a cover sheet with the as-of
//! date and the sources. Corporate numbers are text (Excel would turn 13 digits into
//! `1.44444E+12`), dates are Excel dates, headers frozen and filtered.

use futures_util::StreamExt;
use rust_xlsxwriter::{Format as CellFormat, Workbook, Worksheet, XlsxError};

use super::export::{ExportKind, ExportQuery, export};
use super::{ServiceError, Services};
use crate::domain::Principal;
use crate::domain::date::parse_date;

/// The language of the header rows.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Headers {
    /// Japanese labels.
    #[default]
    Ja,
    /// The column names of the CSV exports (what the import reads).
    En,
}

/// The sheet holding the operators (the one the import reads).
pub const OPERATORS_SHEET: &str = "事業者";

/// The header label of a column in Japanese (the import accepts it and the English name).
pub fn japanese_label(column: &str) -> &str {
    match column {
        "corporate_number" => "法人番号",
        "name_ja" => "名称",
        "name_en" => "英語名称",
        "regime" => "制度",
        "sector_or_domain" => "分野・事業",
        "scope_item" => "対象業務",
        "effective_from" => "効力発生日",
        "effective_to" => "効力終了日",
        "legal_basis" => "根拠",
        "reference" => "参照",
        "as_of" => "基準日",
        "kind" => "種別",
        "level" => "階層",
        "sector" => "重要インフラ分野",
        "sector_name_ja" => "分野名",
        "sector_item" => "分野の対象業務",
        "sector_item_name_ja" => "分野の対象業務名",
        "relation" => "関係",
        "domain" => "特定社会基盤事業",
        "domain_name_ja" => "事業名",
        "domain_item" => "事業の対象業務",
        "domain_item_name_ja" => "事業の対象業務名",
        "rationale" => "理由",
        "source" => "出典",
        "code" => "コード",
        "name" => "名称",
        "parent" => "上位",
        "operator_count" => "事業者数",
        other => other,
    }
}

/// Excel's last row (1,048,576 rows, the header included).
const MAX_ROWS: u32 = 1_048_576;

fn xlsx(error: XlsxError) -> ServiceError {
    ServiceError::internal(error)
}

/// One sheet: `(sheet name, export, the overlap rows of this kind only)`.
const SHEETS: [(&str, ExportKind, Option<&str>); 5] = [
    ("対応表", ExportKind::Crosswalk, None),
    ("対応なし", ExportKind::ScopeGaps, None),
    ("重なり（対応の組）", ExportKind::Overlap, Some("both_in_linked_pair")),
    ("重なり（事業ごとの漏れ）", ExportKind::Overlap, Some("domain_gap")),
    (OPERATORS_SHEET, ExportKind::Operators, None),
];

/// The workbook as of `query`, as the bytes of an .xlsx file. Built whole (a zip file
/// ends with its directory), with sheets kept on disk row by row (constant memory).
pub async fn workbook(
    services: &Services,
    principal: &Principal,
    query: ExportQuery,
    headers: Headers,
) -> Result<Vec<u8>, ServiceError> {
    let mut book = Workbook::new();
    let bold = CellFormat::new().set_bold();
    let date = CellFormat::new().set_num_format("yyyy-mm-dd");
    cover(book.add_worksheet(), services, query, &bold, &date).map_err(xlsx)?;
    for (name, kind, only_kind) in SHEETS {
        let started = export(services, principal, kind, query).await?;
        let sheet = book.add_worksheet_with_constant_memory().map_err(xlsx)?;
        sheet.set_name(name).map_err(xlsx)?;
        let columns = started.columns.clone();
        let kind_column = columns.iter().position(|c| *c == "kind");
        for (i, column) in columns.iter().enumerate() {
            let label = match headers {
                Headers::Ja => japanese_label(column),
                Headers::En => column,
            };
            let col = u16::try_from(i).unwrap_or(u16::MAX);
            sheet.write_string_with_format(0, col, label, &bold).map_err(xlsx)?;
            sheet.set_column_width(col, width(column)).map_err(xlsx)?;
        }
        let mut row: u32 = 0;
        let mut batches = started.into_rows();
        while let Some(batch) = batches.next().await {
            for cells in batch? {
                if let (Some(only), Some(at)) = (only_kind, kind_column)
                    && cells.get(at).map(String::as_str) != Some(only)
                {
                    continue;
                }
                row += 1;
                if row >= MAX_ROWS {
                    return Err(ServiceError::Invalid(format!(
                        "the sheet {name} has more rows than Excel allows ({MAX_ROWS}); use the CSV export"
                    )));
                }
                for (i, (column, cell)) in columns.iter().zip(&cells).enumerate() {
                    write_cell(sheet, row, u16::try_from(i).unwrap_or(u16::MAX), column, cell, &date).map_err(xlsx)?;
                }
            }
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx)?;
        let last_column = u16::try_from(columns.len().saturating_sub(1)).unwrap_or(u16::MAX);
        sheet.autofilter(0, 0, row, last_column).map_err(xlsx)?;
    }
    book.save_to_buffer().map_err(xlsx)
}

/// Dates as Excel dates, counts as numbers, everything else (corporate numbers
/// included) as text: a string cell is never a formula.
fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    column: &str,
    cell: &str,
    date: &CellFormat,
) -> Result<(), XlsxError> {
    if cell.is_empty() {
        return Ok(());
    }
    let is_date = matches!(column, "as_of" | "effective_from" | "effective_to");
    match (is_date.then(|| parse_date(cell).ok()).flatten(), column) {
        (Some(day), _) => sheet.write_date_with_format(row, col, day, date).map(drop),
        (None, "operator_count") if cell.parse::<f64>().is_ok() => {
            sheet.write_number(row, col, cell.parse::<f64>().unwrap_or_default()).map(drop)
        }
        _ => sheet.write_string(row, col, cell).map(drop),
    }
}

/// Column widths in characters, for the usual content of each column.
fn width(column: &str) -> f64 {
    match column {
        "name_ja" | "name_en" | "legal_basis" | "reference" | "rationale" | "source" => 36.0,
        c if c.ends_with("name_ja") => 24.0,
        "corporate_number" | "as_of" | "effective_from" | "effective_to" => 14.0,
        _ => 18.0,
    }
}

/// The cover sheet: what the workbook is, as of when, from which sources.
fn cover(
    sheet: &mut Worksheet,
    services: &Services,
    query: ExportQuery,
    bold: &CellFormat,
    date: &CellFormat,
) -> Result<(), XlsxError> {
    sheet.set_name("表紙")?;
    sheet.set_column_width(0, 18.0)?;
    sheet.set_column_width(1, 80.0)?;
    sheet.write_string_with_format(0, 0, "重要インフラ・基幹インフラ 保護対象 台帳 (Scope Registry)", bold)?;
    sheet.write_string_with_format(2, 0, "基準日 (as of)", bold)?;
    sheet.write_date_with_format(2, 1, query.as_of, date)?;
    sheet.write_string_with_format(3, 0, "シート (sheets)", bold)?;
    let names: Vec<&str> = SHEETS.iter().map(|(name, _, _)| *name).collect();
    sheet.write_string(3, 1, names.join(" / "))?;
    sheet.write_string_with_format(5, 0, "出典 (sources)", bold)?;
    let snapshot = services.snapshot();
    for (row, source) in (6u32..).zip(&snapshot.data().sources) {
        let published = source.published_on.map(|d| format!(" ({d})")).unwrap_or_default();
        let publisher = source.publisher.as_deref().map(|p| format!("{p}: ")).unwrap_or_default();
        sheet.write_string(row, 0, &source.code)?;
        sheet.write_string(
            row,
            1,
            format!("{publisher}{}{published} {}", source.title, source.url.as_deref().unwrap_or("")),
        )?;
    }
    Ok(())
}
