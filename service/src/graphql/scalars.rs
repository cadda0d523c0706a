//! Custom scalars of the public contract.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

use crate::domain::date::parse_date;

/// ISO 8601 calendar date, e.g. "2025-05-16" (accepted range 1900-01-01 to 2199-12-31).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// ISO 8601 calendar date, e.g. "2025-05-16" (accepted range 1900-01-01 to 2199-12-31).
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => parse_date(text).map(Date).map_err(|e| InputValueError::custom(e.to_string())),
            _ => Err(InputValueError::custom("a Date is a string in the form YYYY-MM-DD")),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Date(date)
    }
}

impl Date {
    /// The date asked for, or today in Japan when none was.
    pub fn or_today(as_of: Option<Date>) -> NaiveDate {
        as_of.map_or_else(crate::domain::today, |d| d.0)
    }
}
