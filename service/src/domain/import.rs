//! The designation import format and its rules, without I/O: one CSV row is one
//! designation of one operator (or, with the designation columns empty, just the
//! operator). Rows are checked on their own first, then against what is stored and
//! against each other; every problem is reported with its line and column.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::date::parse_spreadsheet_date;
use super::designation::{self, Designation, DesignationRequest, PlannedDesignation};
use super::operator::Operator;
use super::reference::ReferenceSnapshot;
use super::{CorporateNumber, Principal, Regime, spreadsheet, text};

/// The columns, in the order exports write them.
pub const COLUMNS: [&str; 10] = [
    "corporate_number",
    "name_ja",
    "name_en",
    "regime",
    "sector_or_domain",
    "scope_item",
    "effective_from",
    "effective_to",
    "legal_basis",
    "reference",
];

/// Column positions in a file (whose header may order them differently).
#[derive(Debug, Clone, Copy)]
pub struct ColumnMap([usize; 10]);

/// One problem with one row (line 1 is the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    /// The column's name, when the problem is in one column.
    pub column: Option<&'static str>,
    pub message: String,
}

impl ColumnMap {
    /// Maps a header row; every column must be there exactly once, nothing else.
    pub fn from_header(header: &[&str]) -> Result<Self, RowError> {
        let error = |message: String| RowError { line: 1, column: None, message };
        let mut positions = [usize::MAX; 10];
        for (position, name) in header.iter().enumerate() {
            let name = name.trim();
            let Some(index) = COLUMNS.iter().position(|c| *c == name) else {
                let name = text::excerpt(name);
                return Err(error(format!("unknown column \"{name}\" (expected {})", COLUMNS.join(","))));
            };
            if positions[index] != usize::MAX {
                return Err(error(format!("column \"{name}\" appears twice")));
            }
            positions[index] = position;
        }
        if let Some(missing) = COLUMNS.iter().zip(positions).find(|(_, p)| *p == usize::MAX) {
            return Err(error(format!("missing column \"{}\" (expected {})", missing.0, COLUMNS.join(","))));
        }
        Ok(Self(positions))
    }

    fn get<'a>(&self, record: &'a [&'a str], column: usize) -> &'a str {
        record.get(self.0[column]).copied().unwrap_or("").trim()
    }
}

/// A designation as a row asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowDesignation {
    pub plan: PlannedDesignation,
    pub legal_basis: Option<String>,
    pub reference: Option<String>,
}

/// A row that is valid on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: u64,
    pub corporate_number: CorporateNumber,
    pub name_ja: String,
    pub name_en: Option<String>,
    /// None: the row only registers the operator.
    pub designation: Option<RowDesignation>,
}

const CORPORATE_NUMBER: usize = 0;
const NAME_JA: usize = 1;
const NAME_EN: usize = 2;
const REGIME: usize = 3;
const FIELD: usize = 4;
const SCOPE_ITEM: usize = 5;
const EFFECTIVE_FROM: usize = 6;
const EFFECTIVE_TO: usize = 7;
const LEGAL_BASIS: usize = 8;
const REFERENCE: usize = 9;

/// Checks one row on its own (format, codes, dates, jurisdiction); collects all its
/// problems.
pub fn parse_row(
    line: u64,
    record: &[&str],
    columns: &ColumnMap,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
) -> Result<ImportRow, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut fail = |column: usize, message: String| {
        errors.push(RowError { line, column: Some(COLUMNS[column]), message });
    };
    let value = |column: usize| columns.get(record, column);

    let corporate_number = CorporateNumber::parse(value(CORPORATE_NUMBER))
        .map_err(|e| {
            fail(CORPORATE_NUMBER, spreadsheet::excel_number_problem(value(CORPORATE_NUMBER)).unwrap_or(e.to_string()))
        })
        .ok();
    let name_ja = text::required("name_ja", value(NAME_JA)).map_err(|e| fail(NAME_JA, e.to_string())).ok();
    let name_en = text::optional("name_en", Some(value(NAME_EN))).map_err(|e| fail(NAME_EN, e.to_string())).ok();
    let legal_basis =
        text::optional("legal_basis", Some(value(LEGAL_BASIS))).map_err(|e| fail(LEGAL_BASIS, e.to_string())).ok();
    let reference =
        text::optional("reference", Some(value(REFERENCE))).map_err(|e| fail(REFERENCE, e.to_string())).ok();

    let designation_columns = [REGIME, FIELD, SCOPE_ITEM, EFFECTIVE_FROM, EFFECTIVE_TO];
    let operator_only = designation_columns.iter().all(|&c| value(c).is_empty());
    let mut designation = None;
    if !operator_only {
        let regime = match value(REGIME).parse::<Regime>() {
            Ok(regime) => Some(regime),
            Err(e) => {
                fail(REGIME, e);
                None
            }
        };
        let field = Some(value(FIELD)).filter(|f| !f.is_empty());
        if field.is_none() {
            fail(FIELD, "sector_or_domain is required for a designation".into());
        }
        let mut date = |column: usize, required: bool| -> Option<NaiveDate> {
            match value(column) {
                "" if required => {
                    fail(column, format!("{} is required for a designation", COLUMNS[column]));
                    None
                }
                "" => None,
                text => parse_spreadsheet_date(text).map_err(|e| fail(column, e.to_string())).ok(),
            }
        };
        let effective_from = date(EFFECTIVE_FROM, true);
        let effective_to = date(EFFECTIVE_TO, false);
        if let (Some(regime), Some(field), Some(effective_from)) = (regime, field, effective_from) {
            let request = DesignationRequest {
                regime: Some(regime),
                sector: (regime == Regime::Ci).then(|| field.to_owned()),
                domain: (regime == Regime::Espa).then(|| field.to_owned()),
                scope_item: Some(value(SCOPE_ITEM).to_owned()),
                effective_from: Some(effective_from),
                effective_to,
                ministry: None,
            };
            match designation::plan(snapshot, principal, &request) {
                Ok(plan) => designation = Some(plan),
                Err(violation) => {
                    let message = violation.into_message();
                    fail(column_of(&message), message);
                }
            }
        }
    }
    match (corporate_number, name_ja, name_en, legal_basis, reference) {
        (Some(corporate_number), Some(name_ja), Some(name_en), Some(legal_basis), Some(reference))
            if errors.is_empty() =>
        {
            Ok(ImportRow {
                line,
                corporate_number,
                name_ja,
                name_en,
                designation: designation.map(|plan| RowDesignation { plan, legal_basis, reference }),
            })
        }
        _ => Err(errors),
    }
}

/// Which column a designation rule's message is about.
fn column_of(message: &str) -> usize {
    if message.contains("scope item") {
        SCOPE_ITEM
    } else if message.contains("effectiveTo") {
        EFFECTIVE_TO
    } else if message.contains("not in force") || message.contains("jurisdiction") || message.contains("unknown") {
        FIELD
    } else {
        REGIME
    }
}

/// What is stored for one operator the file mentions.
#[derive(Debug, Clone)]
pub struct StoredOperator {
    pub operator: Operator,
    pub designations: Vec<Designation>,
}

/// What one row does, as [`Reconciler::check`] decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    /// Nothing: identical to what is stored, or naming an operator already known.
    Unchanged,
    /// Registers its operator (the first row naming it), and creates its designation
    /// when it has one.
    RegistersOperator,
    /// Creates its designation for an operator already stored or registered by an
    /// earlier row.
    Designates,
    /// Nothing: the row is invalid (reported).
    Invalid,
}

/// What an import will do, counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportPlan {
    /// Operators to register (the first row that mentions each).
    pub new_operators: u64,
    /// Rows whose designation is new.
    pub new_designations: u64,
    /// Rows that only register an operator.
    pub operator_only: u64,
    /// Rows identical to what is stored.
    pub unchanged: u64,
}

/// A field or scope item code, as a small number (a file uses few distinct codes).
type Code = u32;
/// No scope item.
const NO_ITEM: Code = Code::MAX;
/// The rows of one operator/regime/field/scope item whose periods must not overlap.
type PeriodGroup = (CorporateNumber, Regime, Code, Code);
/// A period in its group: from, to and the line it comes from (0: stored).
type Period = (PeriodGroup, NaiveDate, Option<NaiveDate>, u64);

/// The names an operator unknown to the registry has in its first row, where they
/// start in [`Reconciler::names`] (`name_ja` then `name_en`) and their lengths, and the
/// line.
struct FirstNames {
    start: usize,
    name_ja: u32,
    /// None: the row has no `name_en`.
    name_en: Option<u32>,
    line: u64,
}

/// Checks rows that are valid on their own, one at a time in file order, against what is
/// stored and against each other, keeping only what later rows are checked against and
/// in compact form (codes as numbers, names in one buffer), so that a file of millions
/// of rows needs neither its rows nor their strings kept.
#[derive(Default)]
pub struct Reconciler {
    errors: Vec<RowError>,
    plan: ImportPlan,
    codes: HashMap<String, Code>,
    code_names: Vec<String>,
    /// The names of every operator registered by the file, back to back.
    names: String,
    first_names: HashMap<CorporateNumber, FirstNames>,
    /// The line of every designation seen, by operator and key (regime, field, scope
    /// item, start).
    seen_keys: HashMap<(CorporateNumber, Regime, Code, Code, NaiveDate), u64>,
    /// Every period to check for overlaps, the stored ones included.
    periods: Vec<Period>,
    grouped_stored: HashSet<CorporateNumber>,
}

impl Reconciler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether an earlier row named this operator, unknown to the registry.
    pub fn registers(&self, number: &CorporateNumber) -> bool {
        self.first_names.contains_key(number)
    }

    fn code(&mut self, code: &str) -> Code {
        if let Some(&known) = self.codes.get(code) {
            return known;
        }
        let next = Code::try_from(self.code_names.len()).unwrap_or(NO_ITEM - 1);
        self.codes.insert(code.to_owned(), next);
        self.code_names.push(code.to_owned());
        next
    }

    fn item(&mut self, item: Option<&str>) -> Code {
        item.map_or(NO_ITEM, |i| self.code(i))
    }

    fn name_ja(&self, first: &FirstNames) -> &str {
        self.names.get(first.start..first.start + first.name_ja as usize).unwrap_or_default()
    }

    fn name_en(&self, first: &FirstNames) -> Option<&str> {
        let start = first.start + first.name_ja as usize;
        first.name_en.map(|length| self.names.get(start..start + length as usize).unwrap_or_default())
    }

    /// Checks one row (valid on its own; `stored` is its operator as stored, if it is);
    /// a problem is kept for [`Reconciler::finish`].
    pub fn check(&mut self, row: &ImportRow, stored: Option<&StoredOperator>) -> RowAction {
        let number = row.corporate_number;
        // One name per operator: as registered, or as its first row says.
        let name_clash = match (stored, self.first_names.get(&number)) {
            (Some(s), _) if s.operator.name_ja != row.name_ja => {
                Some((NAME_JA, format!("operator {number} is registered as \"{}\"", s.operator.name_ja)))
            }
            (Some(s), _) if row.name_en.is_some() && s.operator.name_en != row.name_en => Some((
                NAME_EN,
                format!(
                    "operator {number} is registered with name_en \"{}\"",
                    s.operator.name_en.as_deref().unwrap_or("")
                ),
            )),
            (None, Some(first))
                if self.name_ja(first) != row.name_ja
                    || row.name_en.as_deref().is_some_and(|en| self.name_en(first) != Some(en)) =>
            {
                Some((NAME_JA, format!("operator {number} has another name on line {}", first.line)))
            }
            _ => None,
        };
        if let Some((column, message)) = name_clash {
            self.errors.push(RowError { line: row.line, column: Some(COLUMNS[column]), message });
            return RowAction::Invalid;
        }
        if let Some(s) = stored
            && self.grouped_stored.insert(number)
        {
            for d in &s.designations {
                if d.effective_to.is_none_or(|to| d.effective_from < to) {
                    let group = (number, d.regime, self.code(&d.field), self.item(d.scope_item.as_deref()));
                    self.periods.push((group, d.effective_from, d.effective_to, 0));
                }
            }
        }
        let is_new_operator = stored.is_none() && !self.first_names.contains_key(&number);
        if is_new_operator {
            let start = self.names.len();
            self.names.push_str(&row.name_ja);
            self.names.push_str(row.name_en.as_deref().unwrap_or(""));
            // Names are short (`domain::text` bounds them).
            let length = |name: &str| u32::try_from(name.len()).unwrap_or(u32::MAX);
            let first = FirstNames {
                start,
                name_ja: length(&row.name_ja),
                name_en: row.name_en.as_deref().map(length),
                line: row.line,
            };
            self.first_names.insert(number, first);
        }
        let registered = |plan: &mut ImportPlan| {
            if is_new_operator {
                plan.new_operators += 1;
                RowAction::RegistersOperator
            } else {
                RowAction::Designates
            }
        };
        let Some(designation) = &row.designation else {
            if is_new_operator {
                self.plan.operator_only += 1;
                return registered(&mut self.plan);
            }
            self.plan.unchanged += 1;
            return RowAction::Unchanged;
        };
        let plan_d = &designation.plan;
        let group = (number, plan_d.regime, self.code(&plan_d.field), self.item(plan_d.scope_item.as_deref()));
        let key = (number, group.1, group.2, group.3, plan_d.effective_from);
        if let Some(first) = self.seen_keys.insert(key, row.line) {
            self.errors.push(RowError {
                line: row.line,
                column: Some(COLUMNS[EFFECTIVE_FROM]),
                message: format!("the same designation is already on line {first}"),
            });
            return RowAction::Invalid;
        }
        let same = stored.and_then(|s| {
            s.designations.iter().find(|d| {
                d.regime == plan_d.regime
                    && d.field == plan_d.field
                    && d.scope_item == plan_d.scope_item
                    && d.effective_from == plan_d.effective_from
            })
        });
        match same {
            Some(d)
                if d.effective_to == plan_d.effective_to
                    && d.legal_basis == designation.legal_basis
                    && d.reference == designation.reference =>
            {
                self.plan.unchanged += 1;
                RowAction::Unchanged
            }
            Some(d) => {
                self.errors.push(RowError {
                    line: row.line,
                    column: None,
                    message: format!(
                        "differs from stored designation {} with the same start (effective_to, legal_basis or reference); correct that one instead",
                        d.id
                    ),
                });
                RowAction::Invalid
            }
            None => {
                // A closed operator's designations end by the day it closed.
                if let Some(Err(violation)) =
                    stored.map(|s| s.operator.check_period(plan_d.effective_from, plan_d.effective_to))
                {
                    self.errors.push(RowError {
                        line: row.line,
                        column: Some(COLUMNS[EFFECTIVE_TO]),
                        message: violation.into_message(),
                    });
                    return RowAction::Invalid;
                }
                self.periods.push((group, plan_d.effective_from, plan_d.effective_to, row.line));
                self.plan.new_designations += 1;
                registered(&mut self.plan)
            }
        }
    }

    /// After the last row: the overlaps between periods (of the file and stored), and
    /// what the import will do if nothing is wrong.
    pub fn finish(mut self) -> Result<ImportPlan, Vec<RowError>> {
        // What is kept for the names is no longer needed: free it before the sort.
        self.first_names = HashMap::new();
        self.seen_keys = HashMap::new();
        self.names = String::new();
        let mut periods = std::mem::take(&mut self.periods);
        periods.sort_unstable_by_key(|&(group, from, _, line)| (group, from, line != 0, line));
        for group in periods.chunk_by(|a, b| a.0 == b.0) {
            self.sweep(group);
        }
        if self.errors.is_empty() {
            Ok(self.plan)
        } else {
            self.errors.sort_by_key(|e| e.line);
            Err(self.errors)
        }
    }

    /// One group's periods in start order: remembering the period that reaches furthest
    /// so far, a period starting before that end overlaps it.
    fn sweep(&mut self, group: &[Period]) {
        let mut reach: Option<(Option<NaiveDate>, u64)> = None;
        for &((number, regime, field, item), from, to, line) in group {
            if let Some((end, other)) = reach
                && end.is_none_or(|end| from < end)
            {
                // Report on the file's row; name what it collides with.
                let collision = match (line, other) {
                    (0, 0) => None,
                    (0, line) | (line, 0) => Some((line, "a stored designation".to_owned())),
                    (line, other) => Some((line, format!("line {other}"))),
                };
                if let Some((line, with)) = collision {
                    let field = &self.code_names[field as usize];
                    let item = self.code_names.get(item as usize).map(|i| format!(" scope item \"{i}\""));
                    self.errors.push(RowError {
                        line,
                        column: Some(COLUMNS[EFFECTIVE_FROM]),
                        message: format!(
                            "the period overlaps {with} for operator {number}, {regime} {} \"{field}\"{}",
                            regime.field_noun(),
                            item.unwrap_or_default()
                        ),
                    });
                }
            }
            let reaches_further = match reach {
                None => true,
                Some((end, _)) => end.is_some_and(|end| to.is_none_or(|to| to > end)),
            };
            if reaches_further {
                reach = Some((to, line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks rows against nothing stored.
    fn reconcile(rows: &[ImportRow]) -> Result<ImportPlan, Vec<RowError>> {
        let mut reconciler = Reconciler::new();
        for row in rows {
            reconciler.check(row, None);
        }
        reconciler.finish()
    }

    fn row(line: u64, from: &str, to: Option<&str>) -> ImportRow {
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        ImportRow {
            line,
            corporate_number: CorporateNumber::parse("7000012050002").unwrap(),
            name_ja: "テスト".into(),
            name_en: None,
            designation: Some(RowDesignation {
                plan: PlannedDesignation {
                    regime: Regime::Ci,
                    field: "gas".into(),
                    scope_item: None,
                    effective_from: date(from),
                    effective_to: to.map(date),
                    ministry: "METI".into(),
                },
                legal_basis: None,
                reference: None,
            }),
        }
    }

    #[test]
    fn an_open_period_overlaps_every_later_one_not_only_the_next() {
        let rows = vec![
            row(2, "2020-01-01", None),
            row(3, "2021-01-01", Some("2022-01-01")),
            row(4, "2023-01-01", Some("2024-01-01")),
        ];
        let errors = reconcile(&rows).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4]);
        assert!(errors[0].message.contains("line 2"));
    }

    #[test]
    fn adjacent_periods_and_a_new_operator_with_two_rows_are_fine() {
        let rows = vec![row(2, "2020-01-01", Some("2021-01-01")), row(3, "2021-01-01", None)];
        let plan = reconcile(&rows).unwrap();
        assert_eq!(plan.new_operators, 1);
        assert_eq!(plan.new_designations, 2);
    }

    #[test]
    fn a_new_operator_keeps_the_names_of_its_first_row() {
        let named = |line: u64, ja: &str, en: Option<&str>| ImportRow {
            name_ja: ja.into(),
            name_en: en.map(str::to_owned),
            designation: None,
            ..row(line, "2020-01-01", None)
        };
        let rows = vec![
            named(2, "テスト", Some("Test")),
            named(3, "テスト", None),
            named(4, "テスト", Some("Test")),
            named(5, "テスト", Some("Other")),
            named(6, "別名", Some("Test")),
        ];
        let errors = reconcile(&rows).unwrap_err();
        let found: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.message.as_str())).collect();
        let message = "operator 7000012050002 has another name on line 2";
        assert_eq!(found, [(5, message), (6, message)]);
    }

    #[test]
    fn the_header_must_name_every_column_once() {
        assert!(ColumnMap::from_header(&COLUMNS).is_ok());
        let mut reordered = COLUMNS;
        reordered.swap(0, 9);
        assert!(ColumnMap::from_header(&reordered).is_ok());
        assert!(ColumnMap::from_header(&COLUMNS[..9]).unwrap_err().message.contains("missing column \"reference\""));
        let mut twice = COLUMNS.to_vec();
        twice[1] = "corporate_number";
        assert!(ColumnMap::from_header(&twice).unwrap_err().message.contains("appears twice"));
    }
}
