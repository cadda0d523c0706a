//! Operators (事業者) as the registry knows them.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::CorporateNumber;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: Uuid,
    pub corporate_number: CorporateNumber,
    pub name_ja: String,
    pub name_en: Option<String>,
    /// The day the corporation closed (merged, dissolved), if it has.
    pub closed_on: Option<NaiveDate>,
    pub successor: Option<CorporateNumber>,
    /// Increases on every change (lost-update protection).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
