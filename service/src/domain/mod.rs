//! Pure domain types and rules: no I/O. Everything here can be unit-tested alone.

pub mod audit;
pub mod authorization;
pub mod changes;
pub mod consistency;
pub mod corporate_number;
pub mod crosswalk;
pub mod date;
pub mod designation;
pub mod import;
pub mod nta;
pub mod operator;
pub mod overlap;
pub mod principal;
pub mod proposal;
pub mod record_time;
pub mod reference;
pub mod regime;
pub mod special_operator;
pub mod spreadsheet;
#[cfg(test)]
pub mod strategies;
pub mod text;
pub mod token;

pub use corporate_number::CorporateNumber;
pub use date::{Validity, today};
pub use principal::{Principal, Role};
pub use regime::{Regime, Relation};
