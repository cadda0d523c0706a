//! Calendar dates and effective-dated validity.

use chrono::{FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Japan Standard Time (UTC+9, no daylight saving): "today" is a date in Japan.
const JST: FixedOffset = FixedOffset::east_opt(9 * 3600).expect("valid constant offset");

/// Earliest and latest dates the registry accepts; anything outside is a typo
/// (year 0, 9999-12-31 used as "forever") rather than a legal date.
pub const EARLIEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid constant");
pub const LATEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2199, 12, 31).expect("valid constant");

/// Today's date in Japan, the default for every `asOf`.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&JST).date_naive()
}

/// Why a date string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("\"{0}\" is not a date in the form YYYY-MM-DD")]
    Malformed(String),
    #[error("{0} is outside the accepted range {EARLIEST_DATE} to {LATEST_DATE}")]
    OutOfRange(NaiveDate),
}

/// Parses an ISO 8601 calendar date (`2025-05-16`) within the accepted range.
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    let trimmed = text.trim();
    // chrono accepts signed and over-long years; the registry wants exactly YYYY-MM-DD.
    let shaped = trimmed.len() == 10
        && trimmed.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let date = shaped
        .then(|| NaiveDate::parse_from_str(trimmed, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| DateError::Malformed(text.to_owned()))?;
    check_range(date)
}

/// Parses a date in an imported file: `YYYY-MM-DD`, or the forms Excel writes when it
/// re-saves a CSV in a Japanese locale, `YYYY/M/D` and `YYYY/MM/DD` (`2024/4/1`).
pub fn parse_spreadsheet_date(text: &str) -> Result<NaiveDate, DateError> {
    let trimmed = text.trim();
    let Some((year, rest)) = trimmed.split_once('/') else { return parse_date(text) };
    let malformed = || DateError::Malformed(text.to_owned());
    let (month, day) = rest.split_once('/').ok_or_else(malformed)?;
    let number = |part: &str, digits: std::ops::RangeInclusive<usize>| {
        (digits.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    let date = match (number(year, 4..=4), number(month, 1..=2), number(day, 1..=2)) {
        (Some(y), Some(m), Some(d)) => i32::try_from(y).ok().and_then(|y| NaiveDate::from_ymd_opt(y, m, d)),
        _ => None,
    };
    check_range(date.ok_or_else(malformed)?)
}

/// Refuses dates outside the accepted range.
pub fn check_range(date: NaiveDate) -> Result<NaiveDate, DateError> {
    if (EARLIEST_DATE..=LATEST_DATE).contains(&date) { Ok(date) } else { Err(DateError::OutOfRange(date)) }
}

/// A half-open validity period `[from, to)`; an absent bound is open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Validity {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Validity {
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Self {
        Self { from, to }
    }

    /// True when the period holds on `date` (`from <= date < to`).
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| from <= date) && self.to.is_none_or(|to| date < to)
    }

    /// The days both periods hold (empty, `from >= to`, when they do not meet).
    pub fn intersect(&self, other: &Validity) -> Validity {
        let later = |a: Option<NaiveDate>, b: Option<NaiveDate>| a.max(b);
        let earlier = |a: Option<NaiveDate>, b: Option<NaiveDate>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Validity { from: later(self.from, other.from), to: earlier(self.to, other.to) }
    }

    /// True when `to` is after `from` (or either is open).
    pub fn is_well_formed(&self) -> bool {
        match (self.from, self.to) {
            (Some(from), Some(to)) => from < to,
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn spreadsheet_dates_are_read_as_excel_writes_them() {
        let april_first = NaiveDate::from_ymd_opt(2024, 4, 1).expect("date");
        for text in ["2024-04-01", "2024/4/1", "2024/04/01", " 2024/4/01 "] {
            assert_eq!(parse_spreadsheet_date(text), Ok(april_first), "{text}");
        }
        for text in ["2024/2/30", "24/4/1", "2024/4", "2024/004/1", "2024/4/1/1", "2024-4-1", "1899/12/31"] {
            assert!(parse_spreadsheet_date(text).is_err(), "{text}");
        }
    }

    #[test]
    fn validity_is_half_open() {
        let v = Validity::new(Some(d("2024-03-08")), Some(d("2025-04-01")));
        assert!(!v.contains(d("2024-03-07")));
        assert!(v.contains(d("2024-03-08")));
        assert!(v.contains(d("2025-03-31")));
        assert!(!v.contains(d("2025-04-01")));
        assert!(Validity::default().contains(d("1900-01-01")));
    }

    #[test]
    fn parse_date_accepts_iso_and_refuses_the_rest() {
        assert_eq!(parse_date("2025-05-16"), Ok(d("2025-05-16")));
        assert_eq!(parse_date(" 2025-05-16 "), Ok(d("2025-05-16")));
        for bad in ["2025-5-16", "2025-02-30", "16/05/2025", "+2025-05-16", "", "２０２５-05-16"] {
            assert!(matches!(parse_date(bad), Err(DateError::Malformed(_))), "{bad}");
        }
        assert!(matches!(parse_date("0000-01-01"), Err(DateError::OutOfRange(_))));
        assert!(matches!(parse_date("9999-12-31"), Err(DateError::OutOfRange(_))));
    }

    #[test]
    fn well_formed_needs_to_after_from() {
        assert!(Validity::new(Some(d("2024-01-01")), Some(d("2024-01-02"))).is_well_formed());
        assert!(!Validity::new(Some(d("2024-01-01")), Some(d("2024-01-01"))).is_well_formed());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::domain::strategies::{date_in_range, date_out_of_range};

        proptest! {
            #[test]
            fn every_accepted_date_round_trips(date in date_in_range()) {
                prop_assert_eq!(parse_date(&date.format("%Y-%m-%d").to_string()), Ok(date));
            }

            #[test]
            fn dates_outside_the_range_say_so(date in date_out_of_range()) {
                prop_assert_eq!(parse_date(&date.format("%Y-%m-%d").to_string()), Err(DateError::OutOfRange(date)));
            }

            #[test]
            fn never_panics_and_accepts_only_plain_iso_dates(text in any::<String>()) {
                if let Ok(date) = parse_date(&text) {
                    prop_assert_eq!(text.trim(), date.format("%Y-%m-%d").to_string());
                }
            }

            #[test]
            fn almost_dates_are_malformed(year in 1900u32..2200, month in 0u32..14, day in 0u32..33) {
                let text = format!("{year:04}-{month:02}-{day:02}");
                match NaiveDate::from_ymd_opt(year as i32, month, day) {
                    Some(date) => prop_assert_eq!(parse_date(&text), Ok(date)),
                    None => prop_assert_eq!(parse_date(&text), Err(DateError::Malformed(text.clone()))),
                }
            }

            #[test]
            fn validity_is_from_inclusive_to_exclusive(
                from in proptest::option::of(date_in_range()),
                to in proptest::option::of(date_in_range()),
                day in date_in_range(),
            ) {
                let validity = Validity::new(from, to);
                let expected = from.is_none_or(|f| f <= day) && to.is_none_or(|t| day < t);
                prop_assert_eq!(validity.contains(day), expected);
                prop_assert_eq!(validity.is_well_formed(), !matches!((from, to), (Some(f), Some(t)) if f >= t));
            }
        }
    }
}
