//! The GraphQL API: types and thin resolvers. Resolvers parse input into domain types,
//! call a use case (`services`) and map errors once (see `error`); nothing here touches
//! the database or the caches directly.

pub mod answers;
pub mod audit;
pub mod changes;
pub mod conformance;
pub mod curation;
pub mod designations;
pub mod error;
pub mod executor;
pub mod import;
pub mod limits;
pub mod loader;
pub mod nta_sync;
pub mod operators;
pub mod overlap;
pub mod pagination;
pub mod persisted;
pub mod proposals;
pub mod reference;
pub mod scalars;
pub mod special_operators;
pub mod subscriptions;
pub mod tokens;

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use async_graphql::{Context, MergedObject, SDLExportOptions, Schema, ValidationMode};

pub use error::{ApiError, ApiResult};
pub use limits::QueryLimits;

use crate::domain::Principal;
use crate::domain::reference::ReferenceSnapshot;
use crate::services::Services;

/// What one request carries: who asks, and the reference snapshot it is answered from.
pub struct RequestData {
    pub principal: Principal,
    snapshot: ArcSwap<ReferenceSnapshot>,
    /// Operators as recorded at instants (`knownAt`), made on first use.
    recorded: OnceLock<loader::Recorded>,
}

impl RequestData {
    pub fn new(principal: Principal, snapshot: Arc<ReferenceSnapshot>) -> Self {
        Self { principal, snapshot: ArcSwap::new(snapshot), recorded: OnceLock::new() }
    }

    /// The snapshot to answer from: one for a whole request, so that a concurrent change
    /// cannot mix two versions; a subscription moves on to the current one before each
    /// message (see [`RequestData::move_to`]).
    pub fn snapshot(&self) -> Arc<ReferenceSnapshot> {
        self.snapshot.load_full()
    }

    /// Answers from `snapshot` from now on (a subscription, before its next message).
    pub fn move_to(&self, snapshot: Arc<ReferenceSnapshot>) {
        self.snapshot.store(snapshot);
    }
}

/// The request's loader of operators as recorded at instants (`knownAt`).
pub fn recorded<'a>(ctx: &'a Context<'_>) -> &'a loader::Recorded {
    loader::recorded(ctx, &request(ctx).recorded)
}

/// The per-request data; the HTTP layer always attaches it before execution.
pub fn request<'a>(ctx: &'a Context<'_>) -> &'a RequestData {
    ctx.data_unchecked::<RequestData>()
}

/// The use cases; the schema always carries them when it serves requests.
pub fn services<'a>(ctx: &'a Context<'_>) -> &'a Services {
    ctx.data_unchecked::<Arc<Services>>()
}

/// All queries.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    reference::ReferenceQuery,
    operators::OperatorQueries,
    overlap::OverlapQuery,
    changes::ChangesQuery,
    audit::AuditTrailQuery,
    tokens::TokenQuery,
    proposals::ProposalQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    operators::OperatorMutation,
    designations::DesignationMutation,
    special_operators::SpecialOperatorMutation,
    curation::CurationMutation,
    tokens::TokenMutation,
    import::ImportMutation,
    nta_sync::NtaSyncMutation,
    proposals::ProposalMutation,
);

pub type AppSchema = Schema<QueryRoot, MutationRoot, subscriptions::SubscriptionRoot>;

/// Whether the schema answers introspection queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Introspection {
    Enabled,
    Disabled,
}

/// Builds the schema (without services: only to print the SDL); `limits` is what a
/// request may cost.
pub fn build_schema(services: Option<Arc<Services>>, limits: QueryLimits, introspection: Introspection) -> AppSchema {
    build_schema_for(services, limits, introspection, Execution::Checked)
}

/// How a schema runs documents (see [`executor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// Validated in full, with the limits and the conformance rewrites in the extension
    /// chain: every document the first time it is run, and subscriptions.
    Checked,
    /// A document that passed [`Execution::Checked`] before, already rewritten: only what
    /// varies is validated, and no extension is registered (async-graphql sends every
    /// field of an answer through the extension chain as soon as there is one).
    Known,
}

/// Like [`build_schema`], for running documents as `execution` says.
pub fn build_schema_for(
    services: Option<Arc<Services>>,
    limits: QueryLimits,
    introspection: Introspection,
    execution: Execution,
) -> AppSchema {
    let mut builder =
        Schema::build(QueryRoot::default(), MutationRoot::default(), subscriptions::SubscriptionRoot).data(limits);
    builder = match execution {
        Execution::Checked => builder
            .validation_mode(ValidationMode::Strict)
            .extension(executor::Remember)
            .extension(limits::LimitsExtension(limits))
            // Outermost first; each rewrites the document after the ones below it have
            // (so omitted variables are looked for in the one operation that runs).
            .extension(conformance::OmittedVariables)
            .extension(conformance::SelectedOperation)
            .extension(conformance::FieldOrder),
        // The built-in limits only tell that a request goes over one: the executor then
        // runs it checked, which says by how much.
        Execution::Known => builder
            .validation_mode(ValidationMode::Fast)
            .limit_depth(limits.max_depth)
            .limit_complexity(limits.max_complexity),
    };
    if introspection == Introspection::Disabled {
        // "Did you mean …" would name the fields introspection hides.
        builder = builder.disable_introspection().disable_suggestions();
    }
    match services {
        Some(services) => builder.data(services).finish(),
        None => builder.finish(),
    }
}

/// The limits a resolver enforces; always attached by `build_schema`.
pub fn limits<'a>(ctx: &'a Context<'_>) -> &'a QueryLimits {
    ctx.data_unchecked::<QueryLimits>()
}

/// The SDL as checked in at `schema/schema.graphql`: sorted, so that it is stable, and
/// with every directive introspection shows (`@specifiedBy` on scalars).
pub fn sdl() -> String {
    build_schema(None, QueryLimits::default(), Introspection::Enabled).sdl_with_options(
        SDLExportOptions::new().sorted_fields().sorted_arguments().sorted_enum_items().include_specified_by(),
    )
}
