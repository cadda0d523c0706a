//! The National Tax Agency's corporate-number files (法人番号公表サイト, 基本3情報
//! ダウンロード, CSV Unicode edition): the monthly full files (全件データ) and the daily
//! difference files (差分データ). Both have the same 30 columns, no header line, as the
//! NTA's resource definition (リソース定義書) lays them out; this module reads them and
//! plans what they mean for the registry's operators.

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;

use super::CorporateNumber;
use super::operator::Operator;
use super::text::excerpt;

/// Columns of a record, in the NTA's order (1-based positions in the specification).
const COLUMNS: usize = 30;
const SEQUENCE: usize = 0; // 一連番号
const CORPORATE_NUMBER: usize = 1; // 法人番号
const PROCESS: usize = 2; // 処理区分
const CORRECTION: usize = 3; // 訂正区分
const CHANGE_DATE: usize = 5; // 変更年月日
const NAME: usize = 6; // 商号又は名称
const CLOSE_DATE: usize = 18; // 登記記録の閉鎖等年月日
const CLOSE_CAUSE: usize = 19; // 登記記録の閉鎖等の事由
const SUCCESSOR: usize = 20; // 承継先法人番号
const LATEST: usize = 23; // 最新履歴

/// 処理区分: what happened to the corporation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// 01 新規
    New,
    /// 11 商号又は名称の変更
    NameChanged,
    /// 12 国内所在地の変更
    DomesticAddressChanged,
    /// 13 国外所在地の変更
    ForeignAddressChanged,
    /// 21 登記記録の閉鎖等
    Closed,
    /// 22 登記記録の復活等
    Reinstated,
    /// 71 吸収合併 (the record of the surviving corporation)
    AbsorbedAnother,
    /// 72 吸収合併無効
    MergerAnnulled,
    /// 81 商号の登記の抹消
    TradeNameErased,
    /// 99 削除
    Deleted,
}

impl Process {
    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "01" => Process::New,
            "11" => Process::NameChanged,
            "12" => Process::DomesticAddressChanged,
            "13" => Process::ForeignAddressChanged,
            "21" => Process::Closed,
            "22" => Process::Reinstated,
            "71" => Process::AbsorbedAnother,
            "72" => Process::MergerAnnulled,
            "81" => Process::TradeNameErased,
            "99" => Process::Deleted,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Process::New => "01",
            Process::NameChanged => "11",
            Process::DomesticAddressChanged => "12",
            Process::ForeignAddressChanged => "13",
            Process::Closed => "21",
            Process::Reinstated => "22",
            Process::AbsorbedAnother => "71",
            Process::MergerAnnulled => "72",
            Process::TradeNameErased => "81",
            Process::Deleted => "99",
        }
    }

    pub fn name_ja(self) -> &'static str {
        match self {
            Process::New => "新規",
            Process::NameChanged => "商号又は名称の変更",
            Process::DomesticAddressChanged => "国内所在地の変更",
            Process::ForeignAddressChanged => "国外所在地の変更",
            Process::Closed => "登記記録の閉鎖等",
            Process::Reinstated => "登記記録の復活等",
            Process::AbsorbedAnother => "吸収合併",
            Process::MergerAnnulled => "吸収合併無効",
            Process::TradeNameErased => "商号の登記の抹消",
            Process::Deleted => "削除",
        }
    }

    /// Whether the record undoes something the registry may hold (a closing, a merger,
    /// the corporation itself): a person decides, the sync does not.
    fn needs_review(self) -> bool {
        matches!(self, Process::Reinstated | Process::MergerAnnulled | Process::TradeNameErased | Process::Deleted)
    }
}

/// 登記記録の閉鎖等の事由: why the registration closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCause {
    /// 01 清算の結了等
    Liquidated,
    /// 11 合併による解散等
    MergedAway,
    /// 21 登記官による閉鎖
    ClosedByRegistrar,
    /// 31 その他の清算の結了等
    OtherLiquidation,
}

impl CloseCause {
    fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "01" => CloseCause::Liquidated,
            "11" => CloseCause::MergedAway,
            "21" => CloseCause::ClosedByRegistrar,
            "31" => CloseCause::OtherLiquidation,
            _ => return None,
        })
    }

    pub fn name_ja(self) -> &'static str {
        match self {
            CloseCause::Liquidated => "清算の結了等",
            CloseCause::MergedAway => "合併による解散等",
            CloseCause::ClosedByRegistrar => "登記官による閉鎖",
            CloseCause::OtherLiquidation => "その他の清算の結了等",
        }
    }
}

/// The registration's closing, as a record states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closing {
    pub on: NaiveDate,
    pub cause: CloseCause,
    /// 承継先法人番号
    pub successor: Option<CorporateNumber>,
}

/// One record of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtaRecord {
    /// The line of the file it is on (1-based).
    pub line: usize,
    pub sequence: u64,
    pub corporate_number: CorporateNumber,
    pub process: Process,
    /// 訂正区分: the record corrects an earlier one.
    pub correction: bool,
    pub changed_on: NaiveDate,
    pub name: String,
    pub closing: Option<Closing>,
    /// 最新履歴: the corporation's latest record.
    pub latest: bool,
}

/// A line that cannot be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtaLineError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for NtaLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Reads a whole file (UTF-8, a leading BOM allowed). Every line that cannot be read is
/// reported; then there are no records.
pub fn parse(text: &str) -> Result<Vec<NtaRecord>, Vec<NtaLineError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = Vec::new();
    let mut errors = Vec::new();
    // Lines are counted from each record's byte offset (a quoted name could hold a line
    // break, so the record's index is not its line).
    let (mut counted_to, mut line) = (0usize, 1usize);
    for (index, row) in reader.records().enumerate() {
        let line = match row.as_ref().ok().and_then(|r| r.position()).map(|p| p.byte() as usize) {
            // The reader puts a record's start before the line break that ends the
            // previous one.
            Some(start) if start >= counted_to => {
                let start = start + text.as_bytes()[start..].iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                line += text.as_bytes()[counted_to..start].iter().filter(|&&b| b == b'\n').count();
                counted_to = start;
                line
            }
            _ => index + 1,
        };
        match row.map_err(|e| format!("not CSV: {e}")).and_then(|row| record(line, &row)) {
            Ok(record) => records.push(record),
            Err(message) => errors.push(NtaLineError { line, message }),
        }
    }
    if records.is_empty() && errors.is_empty() {
        errors.push(NtaLineError { line: 1, message: "the file has no records".to_owned() });
    }
    if errors.is_empty() { Ok(records) } else { Err(errors) }
}

fn record(line: usize, row: &csv::StringRecord) -> Result<NtaRecord, String> {
    if row.len() != COLUMNS {
        return Err(format!(
            "{} columns, where the NTA's layout has {COLUMNS} (is this the CSV Unicode edition of the corporate-number \
             download?)",
            row.len()
        ));
    }
    let field = |index: usize| row.get(index).unwrap_or_default().trim();
    let sequence = field(SEQUENCE)
        .parse()
        .map_err(|_| format!("一連番号 (sequence number) {:?} is not a number", excerpt(field(SEQUENCE))))?;
    let corporate_number = CorporateNumber::parse(field(CORPORATE_NUMBER)).map_err(|e| format!("法人番号: {e}"))?;
    let process = Process::parse(field(PROCESS)).ok_or_else(|| {
        format!(
            "unknown 処理区分 (processing code) {:?}; the NTA's codes are 01, 11, 12, 13, 21, 22, 71, 72, 81, 99",
            excerpt(field(PROCESS))
        )
    })?;
    let correction = flag(field(CORRECTION), "訂正区分")?;
    let changed_on = date(field(CHANGE_DATE), "変更年月日")?;
    let name = field(NAME).to_owned();
    if name.is_empty() {
        return Err("商号又は名称 (name) is empty".to_owned());
    }
    let closing = match (field(CLOSE_DATE), field(CLOSE_CAUSE)) {
        ("", "") => None,
        ("", _) => return Err("登記記録の閉鎖等の事由 (closing cause) without a closing date".to_owned()),
        (on, cause) => Some(Closing {
            on: date(on, "登記記録の閉鎖等年月日")?,
            cause: CloseCause::parse(cause).ok_or_else(|| {
                format!(
                    "unknown 登記記録の閉鎖等の事由 (closing cause) {:?}; the NTA's codes are 01, 11, 21, 31",
                    excerpt(cause)
                )
            })?,
            successor: match field(SUCCESSOR) {
                "" => None,
                number => Some(CorporateNumber::parse(number).map_err(|e| format!("承継先法人番号 (successor): {e}"))?),
            },
        }),
    };
    if closing.is_none() && !field(SUCCESSOR).is_empty() {
        return Err("承継先法人番号 (successor) without a closing date".to_owned());
    }
    let latest = flag(field(LATEST), "最新履歴")?;
    Ok(NtaRecord { line, sequence, corporate_number, process, correction, changed_on, name, closing, latest })
}

fn flag(text: &str, column: &str) -> Result<bool, String> {
    match text {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(format!("{column} must be 0 or 1, not {:?}", excerpt(other))),
    }
}

fn date(text: &str, column: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{column} {:?} is not a date in the form YYYY-MM-DD", excerpt(text)))
}

/// What a file means for one registered operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStep {
    /// The NTA has another name: the operator is renamed.
    Rename { operator: CorporateNumber, from: String, to: String, line: usize, changed_on: NaiveDate },
    /// The registration closed: the operator is closed (its designations end).
    Close { operator: CorporateNumber, closing: Closing, line: usize },
    /// Something a person must look at (reinstated, deleted, a different closing date…).
    Review { operator: CorporateNumber, line: usize, note: String },
}

impl SyncStep {
    pub fn corporate_number(&self) -> CorporateNumber {
        match self {
            SyncStep::Rename { operator, .. }
            | SyncStep::Close { operator, .. }
            | SyncStep::Review { operator, .. } => *operator,
        }
    }

    /// The file line the step comes from.
    pub fn line(&self) -> usize {
        match self {
            SyncStep::Rename { line, .. } | SyncStep::Close { line, .. } | SyncStep::Review { line, .. } => *line,
        }
    }

    /// The step in words.
    pub fn detail(&self) -> String {
        match self {
            SyncStep::Rename { from, to, changed_on, .. } => {
                format!("renamed {from} → {to} (the NTA's name since {changed_on})")
            }
            SyncStep::Close { closing, .. } => {
                let successor = closing.successor.map_or(String::new(), |s| format!(", successor {s}"));
                format!(
                    "closed on {} ({}){successor}; its open designations end then",
                    closing.on,
                    closing.cause.name_ja()
                )
            }
            SyncStep::Review { note, .. } => note.clone(),
        }
    }
}

impl fmt::Display for SyncStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            SyncStep::Rename { .. } => "rename",
            SyncStep::Close { .. } => "close",
            SyncStep::Review { .. } => "review",
        };
        write!(f, "line {}: {} {kind}: {}", self.line(), self.corporate_number(), self.detail())
    }
}

/// The plan for a whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    pub records: usize,
    pub steps: Vec<SyncStep>,
    /// Registered operators the file names and that need nothing.
    pub unchanged: usize,
    /// Corporate numbers the file names that are not registered, in file order.
    pub unknown: Vec<CorporateNumber>,
}

/// Plans the steps `records` call for, given the registered operators among them. Each
/// corporation's records are taken in the file's order (its sequence numbers): the
/// last name and the last closing stand.
pub fn plan(records: &[NtaRecord], registered: &HashMap<CorporateNumber, Operator>) -> SyncPlan {
    let mut by_number: Vec<(CorporateNumber, Vec<&NtaRecord>)> = Vec::new();
    let mut position: HashMap<CorporateNumber, usize> = HashMap::new();
    for record in records {
        let at = *position.entry(record.corporate_number).or_insert_with(|| {
            by_number.push((record.corporate_number, Vec::new()));
            by_number.len() - 1
        });
        by_number[at].1.push(record);
    }
    let mut plan = SyncPlan { records: records.len(), ..SyncPlan::default() };
    for (number, mut history) in by_number {
        let Some(operator) = registered.get(&number) else {
            plan.unknown.push(number);
            continue;
        };
        history.sort_by_key(|record| (record.sequence, record.line));
        let steps_before = plan.steps.len();
        plan.steps.extend(history.iter().filter(|r| r.process.needs_review()).map(|record| SyncStep::Review {
            operator: number,
            line: record.line,
            note: format!(
                "処理区分 {} {}: not applied; check the operator by hand",
                record.process.code(),
                record.process.name_ja()
            ),
        }));
        let Some(last) = history.last() else { continue };
        if last.name != operator.name_ja {
            plan.steps.push(SyncStep::Rename {
                operator: number,
                from: operator.name_ja.clone(),
                to: last.name.clone(),
                line: last.line,
                changed_on: last.changed_on,
            });
        }
        let closing = history.iter().rev().find_map(|record| record.closing.map(|closing| (record.line, closing)));
        match (closing, operator.closed_on) {
            (Some((line, closing)), None) => plan.steps.push(SyncStep::Close { operator: number, closing, line }),
            (Some((line, closing)), Some(closed_on)) if closed_on != closing.on => plan.steps.push(SyncStep::Review {
                operator: number,
                line,
                note: format!("the NTA has the registration closed on {}, the registry on {closed_on}", closing.on),
            }),
            (None, Some(closed_on)) if !history.iter().any(|r| r.process.needs_review()) => {
                plan.steps.push(SyncStep::Review {
                    operator: number,
                    line: last.line,
                    note: format!("closed in the registry on {closed_on}, but the NTA's record has no closing"),
                });
            }
            _ => {}
        }
        if plan.steps.len() == steps_before {
            plan.unchanged += 1;
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    /// A record line in the NTA's layout.
    pub fn line(sequence: u64, number: &str, process: &str, name: &str, closing: (&str, &str, &str)) -> String {
        let (close_date, close_cause, successor) = closing;
        let mut fields = vec![String::new(); COLUMNS];
        fields[SEQUENCE] = sequence.to_string();
        fields[CORPORATE_NUMBER] = number.to_owned();
        fields[PROCESS] = process.to_owned();
        fields[CORRECTION] = "0".to_owned();
        fields[4] = "2026-11-30".to_owned();
        fields[CHANGE_DATE] = "2026-11-27".to_owned();
        fields[NAME] = name.to_owned();
        fields[8] = "301".to_owned();
        fields[CLOSE_DATE] = close_date.to_owned();
        fields[CLOSE_CAUSE] = close_cause.to_owned();
        fields[SUCCESSOR] = successor.to_owned();
        fields[22] = "2015-10-05".to_owned();
        fields[LATEST] = "1".to_owned();
        fields[29] = "0".to_owned();
        fields.iter().map(|f| format!("\"{f}\"")).collect::<Vec<_>>().join(",")
    }

    fn number(base: u64) -> CorporateNumber {
        CorporateNumber::from_base(base).expect("valid base")
    }

    fn operator(base: u64, name: &str) -> Operator {
        Operator::register(uuid::Uuid::nil(), number(base), name.to_owned(), None, Utc::now())
    }

    #[test]
    fn records_are_read_in_the_ntas_layout() {
        let successor = number(2).to_string();
        let text = format!(
            "\u{feff}{}\r\n{}\r\n",
            line(1, &number(1).to_string(), "21", "旧商事株式会社", ("2026-11-20", "11", &successor)),
            line(2, &number(2).to_string(), "11", "新商事株式会社", ("", "", "")),
        );
        let records = parse(&text).expect("reads");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].process, Process::Closed);
        assert_eq!(records[0].closing.map(|c| (c.cause, c.successor)), Some((CloseCause::MergedAway, Some(number(2)))));
        assert_eq!(records[1].line, 2);
        assert_eq!(records[1].name, "新商事株式会社");
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let good = line(1, &number(1).to_string(), "11", "名称", ("", "", ""));
        let unknown_code = line(2, &number(2).to_string(), "55", "名称", ("", "", ""));
        let bad_number = line(3, "1234567890123", "11", "名称", ("", "", ""));
        let bad_date = line(4, &number(4).to_string(), "21", "名称", ("2026/11/20", "01", ""));
        let text = [good.as_str(), &unknown_code, &bad_number, &bad_date, "\"1\",\"2\""].join("\n");
        let errors = parse(&text).expect_err("refused");
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5], "{errors:?}");
        assert!(errors[0].message.contains("unknown 処理区分"), "{}", errors[0]);
        assert!(errors[1].message.contains("check digit"), "{}", errors[1]);
        assert!(errors[2].message.contains("YYYY-MM-DD"), "{}", errors[2]);
        assert!(errors[3].message.contains("2 columns"), "{}", errors[3]);
        assert!(parse("").is_err());
    }

    #[test]
    fn the_plan_renames_closes_and_asks_for_review() {
        let registered: HashMap<CorporateNumber, Operator> = [
            operator(1, "旧商事株式会社"),
            operator(2, "新商事株式会社"),
            operator(3, "復活工業株式会社"),
            operator(5, "同名株式会社"),
        ]
        .into_iter()
        .map(|o| (o.corporate_number, o))
        .collect();
        let text = [
            line(1, &number(1).to_string(), "11", "旧商事ホールディングス株式会社", ("", "", "")),
            line(
                2,
                &number(1).to_string(),
                "21",
                "旧商事ホールディングス株式会社",
                ("2026-11-20", "11", &number(2).to_string()),
            ),
            line(3, &number(3).to_string(), "22", "復活工業株式会社", ("", "", "")),
            line(4, &number(4).to_string(), "01", "未登録株式会社", ("", "", "")),
            line(5, &number(5).to_string(), "12", "同名株式会社", ("", "", "")),
        ]
        .join("\n");
        let plan = plan(&parse(&text).expect("reads"), &registered);
        assert_eq!(plan.records, 5);
        assert_eq!(plan.unknown, vec![number(4)]);
        assert_eq!(plan.unchanged, 1, "the address change of 5 needs nothing");
        assert!(
            matches!(&plan.steps[0], SyncStep::Rename { to, line: 2, .. } if to == "旧商事ホールディングス株式会社")
        );
        assert!(matches!(&plan.steps[1], SyncStep::Close { closing, .. } if closing.successor == Some(number(2))));
        assert!(matches!(&plan.steps[2], SyncStep::Review { operator, line: 3, .. } if *operator == number(3)));
        assert_eq!(plan.steps.len(), 3);
    }
}
