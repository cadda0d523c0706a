//! proptest strategies for the domain's input formats, shared by the property tests
//! beside each parser: corporate numbers (as people type them) and dates. The CSV
//! import's property tests build their rows from these. Also the reference data the
//! unit tests check rules against.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::CorporateNumber;
use super::date::{EARLIEST_DATE, LATEST_DATE};
use super::reference::ReferenceSnapshot;
use crate::seed::files::{self, SeedSource};

/// The reference data built into the binary (seed-data/).
pub fn embedded_snapshot() -> ReferenceSnapshot {
    ReferenceSnapshot::new(files::load(&SeedSource::Embedded).expect("embedded seed-data"))
}

/// A valid corporate number.
pub fn corporate_number() -> impl Strategy<Value = CorporateNumber> {
    (0u64..1_000_000_000_000).prop_map(|base| CorporateNumber::from_base(base).expect("base below 10^12"))
}

/// A valid corporate number and a way a person might type it: each digit ASCII or
/// full-width, with ASCII or ideographic spaces around it.
pub fn corporate_number_as_typed() -> impl Strategy<Value = (CorporateNumber, String)> {
    let space = prop::sample::select(vec!["", " ", "\t", "\u{3000}", " \u{3000} "]);
    (corporate_number(), prop::collection::vec(any::<bool>(), 13), space.clone(), space).prop_map(
        |(number, full_width, before, after)| {
            let digits: String = number
                .as_str()
                .chars()
                .zip(full_width)
                .map(|(digit, wide)| if wide { to_full_width(digit) } else { digit })
                .collect();
            (number, format!("{before}{digits}{after}"))
        },
    )
}

/// The full-width form (０-９) of an ASCII digit.
pub fn to_full_width(digit: char) -> char {
    char::from_u32(u32::from(digit) - u32::from('0') + u32::from('０')).unwrap_or(digit)
}

/// A date the registry accepts.
pub fn date_in_range() -> impl Strategy<Value = NaiveDate> {
    let days = (LATEST_DATE - EARLIEST_DATE).num_days();
    (0..=days).prop_map(|offset| EARLIEST_DATE + chrono::Duration::days(offset))
}

/// A real calendar date outside the accepted range (year 1 to 9999).
pub fn date_out_of_range() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    prop_oneof![
        (0..(EARLIEST_DATE - first).num_days()).prop_map(move |offset| first + chrono::Duration::days(offset)),
        (1..=(last - LATEST_DATE).num_days()).prop_map(move |offset| LATEST_DATE + chrono::Duration::days(offset)),
    ]
}
