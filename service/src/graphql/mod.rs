//! The GraphQL API: types and thin resolvers. Resolvers parse input into domain types,
//! call the service layer and map errors once (see `error`).

pub mod audit;
pub mod curation;
pub mod error;
pub mod import;
pub mod limits;
pub mod reference;
pub mod registry;
pub mod scalars;
pub mod tokens;

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, MergedObject, SDLExportOptions, Schema};

pub use error::{ApiError, ApiResult};
pub use limits::QueryLimits;

use crate::domain::Principal;
use crate::domain::reference::ReferenceSnapshot;
use crate::reference::ReferenceStore;
use crate::registry::index::RegistryIndex;
use crate::storage::Db;

/// What one request carries: who asks, and the reference snapshot it is answered from
/// (one snapshot per request, so that a concurrent change cannot mix two versions).
pub struct RequestData {
    pub principal: Principal,
    pub snapshot: Arc<ReferenceSnapshot>,
}

/// The per-request data; the HTTP layer always attaches it before execution.
pub fn request<'a>(ctx: &'a Context<'_>) -> &'a RequestData {
    ctx.data_unchecked::<RequestData>()
}

/// The database; the schema always carries it when it serves requests.
pub fn db<'a>(ctx: &'a Context<'_>) -> &'a Db {
    ctx.data_unchecked::<Db>()
}

/// The in-memory read model of operators; the schema always carries it when it serves
/// requests.
pub fn index<'a>(ctx: &'a Context<'_>) -> &'a RegistryIndex {
    ctx.data_unchecked::<Arc<RegistryIndex>>()
}

/// All queries.
#[derive(MergedObject, Default)]
pub struct QueryRoot(reference::ReferenceQuery, registry::RegistryQuery, audit::AuditTrailQuery, tokens::TokenQuery);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    registry::RegistryMutation,
    curation::CurationMutation,
    tokens::TokenMutation,
    import::ImportMutation,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// What resolvers work with: the database, the reference store that curations replace
/// the snapshot of, and the in-memory index of operators.
pub struct Services {
    pub db: Db,
    pub reference: ReferenceStore,
    pub index: Arc<RegistryIndex>,
}

/// Whether the schema answers introspection queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Introspection {
    Enabled,
    Disabled,
}

/// Builds the schema (without services: only to print the SDL); `limits` is what a
/// request may cost.
pub fn build_schema(services: Option<Services>, limits: QueryLimits, introspection: Introspection) -> AppSchema {
    let mut builder = Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .data(limits)
        .extension(limits::LimitsExtension(limits));
    if introspection == Introspection::Disabled {
        builder = builder.disable_introspection();
    }
    match services {
        Some(Services { db, reference, index }) => builder.data(db).data(reference).data(index).finish(),
        None => builder.finish(),
    }
}

/// The limits a resolver enforces; always attached by `build_schema`.
pub fn limits<'a>(ctx: &'a Context<'_>) -> &'a QueryLimits {
    ctx.data_unchecked::<QueryLimits>()
}

/// The SDL as checked in at `schema/schema.graphql`: sorted, so that it is stable.
pub fn sdl() -> String {
    build_schema(None, QueryLimits::default(), Introspection::Enabled)
        .sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_arguments().sorted_enum_items())
}
