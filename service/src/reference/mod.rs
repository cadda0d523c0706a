//! Reference data: the seed-data files, their validation, and the in-memory snapshot
//! the API serves from (swapped atomically when the data changes).

pub mod files;
pub mod store;

pub use files::{SeedError, SeedErrors, SeedSource};
pub use store::ReferenceStore;
