//! The GraphQL API: types and thin resolvers. Resolvers parse input into domain types,
//! call the service layer and map errors once (see `error`).

pub mod error;
pub mod reference;
pub mod scalars;

use std::sync::Arc;

use async_graphql::{Context, EmptyMutation, EmptySubscription, MergedObject, SDLExportOptions, Schema};

pub use error::{ApiError, ApiResult};

use crate::domain::Principal;
use crate::domain::reference::ReferenceSnapshot;

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
pub struct QueryRoot(reference::ReferenceQuery);

pub type AppSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// Builds the schema (without request data).
pub fn build_schema() -> AppSchema {
    Schema::build(QueryRoot::default(), EmptyMutation, EmptySubscription).finish()
}

/// The SDL as checked in at `schema/schema.graphql`: sorted, so that it is stable.
pub fn sdl() -> String {
    build_schema().sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_arguments().sorted_enum_items())
}
