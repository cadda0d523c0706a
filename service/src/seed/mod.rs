//! The seed-data files (`seed-data/`, or the copy built into the binary): reading,
//! validating and turning them into reference data. Loading them into the database is
//! a use case (`services::reference`).

pub mod files;

pub use files::{SeedError, SeedErrors, SeedSource};
