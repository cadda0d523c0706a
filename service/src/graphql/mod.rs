//! The GraphQL API: types and thin resolvers. Resolvers parse input into domain types,
//! call the service layer and map errors once (see `error`).

pub mod error;
pub mod limits;
pub mod reference;
pub mod registry;
pub mod scalars;

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, MergedObject, SDLExportOptions, Schema};

pub use error::{ApiError, ApiResult};
pub use limits::QueryLimits;

use crate::domain::Principal;
use crate::domain::reference::ReferenceSnapshot;
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

/// All queries.
#[derive(MergedObject, Default)]
pub struct QueryRoot(reference::ReferenceQuery, registry::RegistryQuery);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct MutationRoot(registry::RegistryMutation);

pub type AppSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Whether the schema answers introspection queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Introspection {
    Enabled,
    Disabled,
}

/// Builds the schema; `db` is what resolvers query, `limits` what a request may cost.
pub fn build_schema(db: Option<Db>, limits: QueryLimits, introspection: Introspection) -> AppSchema {
    let mut builder = Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .data(limits)
        .extension(limits::LimitsExtension(limits));
    if introspection == Introspection::Disabled {
        builder = builder.disable_introspection();
    }
    match db {
        Some(db) => builder.data(db).finish(),
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
