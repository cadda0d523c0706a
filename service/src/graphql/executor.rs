//! Running requests: a document is validated in full the first time it is run, and
//! afterwards only checked for what can differ between requests of the same document
//! (cost and depth, which depend on variables, and fragment cycles). Other systems send
//! the same few documents over and over; validating each again in full was a tenth of
//! the cost of an operator look-up.
//!
//! What validation decides depends on the document, the operation run and which
//! variables are given (the conformance rewrites leave out omitted ones), never on the
//! variables' values (no argument has a validator) or on who asks: that triple is what is
//! remembered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationMode, ValidationResult};
use quick_cache::sync::Cache;

use super::{AppSchema, Introspection, QueryLimits, build_schema_with};
use crate::services::Services;

/// Documents remembered as valid at most.
const CAPACITY: usize = 1024;

/// A document as validation sees it: its text, the operation run, the variables given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape {
    query: String,
    operation_name: Option<String>,
    variables: Vec<String>,
}

impl Shape {
    fn of(request: &async_graphql::Request) -> Self {
        let mut variables: Vec<String> = request.variables.keys().map(|name| name.to_string()).collect();
        variables.sort_unstable();
        Self { query: request.query.clone(), operation_name: request.operation_name.clone(), variables }
    }
}

/// The schema twice: validating in full, and validating only what varies.
pub struct Executor {
    full: AppSchema,
    known: AppSchema,
    valid: Cache<Shape, ()>,
}

impl Executor {
    pub fn new(services: Arc<Services>, limits: QueryLimits, introspection: Introspection) -> Self {
        Self::with(Some(services), limits, introspection)
    }

    fn with(services: Option<Arc<Services>>, limits: QueryLimits, introspection: Introspection) -> Self {
        Self {
            full: build_schema_with(services.clone(), limits, introspection, ValidationMode::Strict),
            known: build_schema_with(services, limits, introspection, ValidationMode::Fast),
            valid: Cache::new(CAPACITY),
        }
    }

    pub async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        let shape = Shape::of(&request);
        if self.valid.get(&shape).is_some() {
            return self.known.execute(request).await;
        }
        let passed = Arc::new(Validated::default());
        let response = self.full.execute(request.data(passed.clone())).await;
        if passed.0.load(Ordering::Acquire) {
            self.valid.insert(shape, ());
        }
        response
    }

    /// The schema that validates in full (subscriptions, and anything run once).
    pub fn schema(&self) -> &AppSchema {
        &self.full
    }
}

/// Set when a request's document passed validation (and the limits).
#[derive(Default)]
struct Validated(AtomicBool);

/// Notes in the request's [`Validated`] that its document passed; outermost, so that a
/// document refused by the limits is not remembered either.
pub struct NoteValidity;

impl ExtensionFactory for NoteValidity {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NoteValidity)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for NoteValidity {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        if result.is_ok()
            && let Some(validated) = ctx.data_opt::<Arc<Validated>>()
        {
            validated.0.store(true, Ordering::Release);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executor() -> Executor {
        Executor::with(None, QueryLimits::default(), Introspection::Enabled)
    }

    #[tokio::test]
    async fn only_documents_that_passed_full_validation_skip_it() {
        let executor = executor();
        let valid = async_graphql::Request::new("query Q { __typename }");
        assert!(executor.execute(valid).await.errors.is_empty());
        assert!(executor.valid.get(&Shape::of(&async_graphql::Request::new("query Q { __typename }"))).is_some());

        for _ in 0..2 {
            let invalid = executor.execute(async_graphql::Request::new("{ noSuchField }")).await;
            assert!(invalid.errors[0].message.contains("noSuchField"), "{:?}", invalid.errors);
        }
        assert_eq!(executor.valid.len(), 1, "a refused document is validated in full every time");
    }

    #[tokio::test]
    async fn the_same_text_with_other_variables_or_operation_is_validated_again() {
        let executor = executor();
        let text = "query A { __typename } query B { __typename }";
        let request = |name: &str| async_graphql::Request::new(text).operation_name(name);
        assert!(executor.execute(request("A")).await.errors.is_empty());
        assert!(executor.valid.get(&Shape::of(&request("B"))).is_none());
        let with_variable = request("A").variables(async_graphql::Variables::from_json(serde_json::json!({"x": 1})));
        assert!(executor.valid.get(&Shape::of(&with_variable)).is_none());
    }
}
