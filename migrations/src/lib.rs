//! Database migrations of Scope Registry: the only source of the database schema.
//!
//! Every migration runs in a transaction on both backends (`use_transaction`), so a
//! failed migration leaves nothing half-applied. Tables are designed so that later
//! migrations only add (SQLite cannot alter most things in place).

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_reference_tables;
mod m20261126_000002_api_tokens;
mod m20261126_000003_registry_tables;
mod m20261127_000004_change_control;
mod m20261201_000005_change_effects;
mod m20261201_000006_policy_role;
mod m20261203_000007_scope_proposals;
mod m20261204_000001_crosswalk_overrides;
mod m20261204_000002_exhaustive_lists;
mod m20261204_000003_scope_item_legal_basis;
mod m20261205_000001_special_operators;
mod m20261206_000001_jurisdiction_scope_item;
mod provenance;

/// The error text the SQLite non-overlap trigger raises (PostgreSQL reports SQLSTATE 23P01).
pub use m20261126_000003_registry_tables::OVERLAP_MESSAGE;
/// The error text the audit trail's append-only triggers raise.
pub use m20261127_000004_change_control::APPEND_ONLY_MESSAGE;

/// The ordered list of migrations the service applies at start-up.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_reference_tables::Migration),
            Box::new(m20261126_000002_api_tokens::Migration),
            Box::new(m20261126_000003_registry_tables::Migration),
            Box::new(m20261127_000004_change_control::Migration),
            Box::new(m20261201_000005_change_effects::Migration),
            Box::new(m20261201_000006_policy_role::Migration),
            Box::new(m20261203_000007_scope_proposals::Migration),
            Box::new(m20261204_000001_crosswalk_overrides::Migration),
            Box::new(m20261204_000002_exhaustive_lists::Migration),
            Box::new(m20261204_000003_scope_item_legal_basis::Migration),
            Box::new(m20261205_000001_special_operators::Migration),
            Box::new(m20261206_000001_jurisdiction_scope_item::Migration),
        ]
    }
}
