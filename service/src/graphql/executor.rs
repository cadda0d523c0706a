//! Running requests: a document is validated in full the first time it is run, and
//! afterwards only checked for what can differ between requests of the same document
//! (cost and depth, which depend on variables, and fragment cycles). Other systems send
//! the same few documents over and over; validating each again in full was a tenth of
//! the cost of an operator look-up.
//!
//! What validation decides depends on the document, the operation run and which
//! variables are given (the conformance rewrites leave out omitted ones), never on the
//! variables' values (no argument has a validator) or on who asks: that triple is what is
//! remembered, with the document as the rewrites left it. A remembered document runs on a
//! schema without extensions, the answer's keys put in order here: with any extension
//! registered, async-graphql sends every field of every answer through the extension
//! chain (a boxed future per extension and a registry look-up per field).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Variables};
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::conformance::Order;
use super::{AppSchema, Execution, Introspection, QueryLimits, build_schema_for};
use crate::services::Services;

/// Bytes of document text remembered as valid at most (with their parsed documents).
const REMEMBERED_TEXT: u64 = 1 << 20;
/// What a remembered document weighs beyond its text.
const ENTRY_WEIGHT: u64 = 256;
/// Longer documents are never remembered, nor copied to be: they carry a file inline
/// (an import), and are not sent twice.
const LONGEST_REMEMBERED: usize = 64 * 1024;

/// A document as validation sees it: its text, the operation run, the variables given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape {
    query: String,
    operation_name: Option<String>,
    variables: Vec<String>,
}

impl Shape {
    fn of(request: &Request) -> Self {
        let mut variables: Vec<String> = request.variables.keys().map(|name| name.to_string()).collect();
        variables.sort_unstable();
        Self { query: request.query.clone(), operation_name: request.operation_name.clone(), variables }
    }
}

/// A document that passed full validation, as the conformance rewrites left it (the one
/// operation run, omitted variables left out: both follow from its [`Shape`]), and the
/// order of its answer's keys unless `@skip` or `@include` make it depend on variables.
struct Prepared {
    document: ExecutableDocument,
    order: Option<Arc<Order>>,
}

impl Prepared {
    fn new(document: ExecutableDocument, operation_name: Option<&str>) -> Self {
        let conditional = any_selection(&document, |selection| !selection.directives().is_empty());
        let order =
            if conditional { None } else { Order::of(&document, operation_name, &Variables::default()).map(Arc::new) };
        Self { document, order }
    }
}

#[derive(Clone)]
struct ByText;

impl Weighter<Shape, Arc<Prepared>> for ByText {
    fn weight(&self, shape: &Shape, _: &Arc<Prepared>) -> u64 {
        shape.query.len() as u64 + ENTRY_WEIGHT
    }
}

/// The schema twice: checked (full validation, limits and conformance rewrites as
/// extensions), and for documents that passed it, known (no extension at all).
pub struct Executor {
    checked: AppSchema,
    known: AppSchema,
    prepared: Cache<Shape, Arc<Prepared>, ByText>,
}

impl Executor {
    pub fn new(services: Arc<Services>, limits: QueryLimits, introspection: Introspection) -> Self {
        Self::with(Some(services), limits, introspection)
    }

    fn with(services: Option<Arc<Services>>, limits: QueryLimits, introspection: Introspection) -> Self {
        let estimated_items = (REMEMBERED_TEXT / (4 * ENTRY_WEIGHT)) as usize;
        Self {
            checked: build_schema_for(services.clone(), limits, introspection, Execution::Checked),
            known: build_schema_for(services, limits, introspection, Execution::Known),
            prepared: Cache::with_weighter(estimated_items, REMEMBERED_TEXT, ByText),
        }
    }

    /// Runs `request`; `attach` adds what the resolvers need (called again when a
    /// remembered document goes over a limit and is run checked, for the message).
    pub async fn execute(&self, request: Request, attach: impl Fn(Request) -> Request) -> Response {
        if request.query.len() > LONGEST_REMEMBERED {
            return self.checked.execute(attach(request)).await;
        }
        let shape = Shape::of(&request);
        match self.prepared.get(&shape) {
            Some(prepared) => self.execute_known(request, shape, &prepared, attach).await,
            None => self.execute_checked(request, shape, attach).await,
        }
    }

    async fn execute_checked(&self, request: Request, shape: Shape, attach: impl Fn(Request) -> Request) -> Response {
        let checked = Arc::new(Checked::default());
        let response = self.checked.execute(attach(request).data(checked.clone())).await;
        let document = checked.document.lock().ok().and_then(|mut document| document.take());
        if checked.passed.load(Ordering::Acquire)
            && let Some(document) = document
            // Introspection answers are trimmed with the schema's registry (see
            // `conformance`), which only the extension chain sees.
            && !any_selection(&document, |selection| {
                matches!(selection, Selection::Field(field) if field.node.name.node == "__schema")
            })
        {
            let prepared = Prepared::new(document, shape.operation_name.as_deref());
            self.prepared.insert(shape, Arc::new(prepared));
        }
        response
    }

    async fn execute_known(
        &self,
        mut request: Request,
        shape: Shape,
        prepared: &Prepared,
        attach: impl Fn(Request) -> Request,
    ) -> Response {
        let order = prepared.order.clone().or_else(|| {
            Order::of(&prepared.document, request.operation_name.as_deref(), &request.variables).map(Arc::new)
        });
        let variables = request.variables.clone();
        request.set_parsed_query(prepared.document.clone());
        let mut response = self.known.execute(attach(request)).await;
        if goes_over_a_limit(&response) {
            // Refused before anything ran; run checked, whose refusal names the figures.
            let mut again = Request::new(shape.query).variables(variables);
            if let Some(name) = shape.operation_name {
                again = again.operation_name(name);
            }
            return self.checked.execute(attach(again)).await;
        }
        if let Some(order) = order {
            order.apply(&mut response.data);
        }
        response
    }

    /// The schema that validates in full (subscriptions, and anything run once).
    pub fn schema(&self) -> &AppSchema {
        &self.checked
    }
}

/// async-graphql's own refusals when the built-in depth and complexity limits are passed.
fn goes_over_a_limit(response: &Response) -> bool {
    matches!(response.errors.as_slice(), [error]
        if error.extensions.is_none()
            && error.path.is_empty()
            && matches!(error.message.as_str(), "Query is too complex." | "Query is nested too deep."))
}

/// Whether any selection of the document's operations and fragments satisfies `test`.
fn any_selection(document: &ExecutableDocument, test: impl Fn(&Selection) -> bool + Copy) -> bool {
    fn within(set: &SelectionSet, test: impl Fn(&Selection) -> bool + Copy) -> bool {
        set.items.iter().any(|item| {
            test(&item.node)
                || match &item.node {
                    Selection::Field(field) => within(&field.node.selection_set.node, test),
                    Selection::InlineFragment(fragment) => within(&fragment.node.selection_set.node, test),
                    Selection::FragmentSpread(_) => false,
                }
        })
    }
    document.operations.iter().any(|(_, operation)| within(&operation.node.selection_set.node, test))
        || document.fragments.values().any(|fragment| within(&fragment.node.selection_set.node, test))
}

/// What a checked run leaves for the executor: the document as the rewrites left it, and
/// whether it passed validation and the limits.
#[derive(Default)]
struct Checked {
    document: Mutex<Option<ExecutableDocument>>,
    passed: AtomicBool,
}

/// Records the rewritten document and whether it passed in the request's [`Checked`];
/// outermost, so that it sees the document after every rewrite, and a document refused
/// by the limits is not remembered.
pub struct Remember;

impl ExtensionFactory for Remember {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Remember)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Remember {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let Some(checked) = ctx.data_opt::<Arc<Checked>>()
            && let Ok(mut slot) = checked.document.lock()
        {
            *slot = Some(document.clone());
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        if result.is_ok()
            && let Some(checked) = ctx.data_opt::<Arc<Checked>>()
        {
            checked.passed.store(true, Ordering::Release);
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

    fn remembered(executor: &Executor, request: &Request) -> bool {
        executor.prepared.get(&Shape::of(request)).is_some()
    }

    #[tokio::test]
    async fn only_documents_that_passed_full_validation_skip_it() {
        let executor = executor();
        let valid = || Request::new("query Q { __typename }");
        assert!(executor.execute(valid(), |r| r).await.errors.is_empty());
        assert!(remembered(&executor, &valid()));
        let again = executor.execute(valid(), |r| r).await;
        assert_eq!(again.data.to_string(), r#"{__typename: "QueryRoot"}"#);

        for _ in 0..2 {
            let invalid = executor.execute(Request::new("{ noSuchField }"), |r| r).await;
            assert!(invalid.errors[0].message.contains("noSuchField"), "{:?}", invalid.errors);
        }
        assert_eq!(executor.prepared.len(), 1, "a refused document is validated in full every time");
    }

    #[tokio::test]
    async fn the_same_text_with_other_variables_or_operation_is_validated_again() {
        let executor = executor();
        let text = "query A { __typename } query B { __typename }";
        let request = |name: &str| Request::new(text).operation_name(name);
        assert!(executor.execute(request("A"), |r| r).await.errors.is_empty());
        assert!(!remembered(&executor, &request("B")));
        let with_variable = request("A").variables(Variables::from_json(serde_json::json!({"x": 1})));
        assert!(!remembered(&executor, &with_variable));
    }

    #[tokio::test]
    async fn a_remembered_document_is_kept_as_rewritten_with_its_order() {
        let executor = executor();
        let text = "query A($skip: Boolean) { b: __typename a: __typename } query B { __typename }";
        let request = || Request::new(text).operation_name("A");
        assert!(executor.execute(request(), |r| r).await.errors.is_empty());
        let prepared = executor.prepared.get(&Shape::of(&request())).expect("remembered");
        assert_eq!(prepared.document.operations.iter().count(), 1, "only the operation run");
        assert!(prepared.order.is_some(), "no directive: the order does not depend on variables");
        let again = executor.execute(request(), |r| r).await;
        assert_eq!(again.data.to_string(), r#"{b: "QueryRoot", a: "QueryRoot"}"#);

        let conditional = || {
            Request::new("query($no: Boolean!) { a: __type(name: \"Sector\") @skip(if: $no) { name } b: __typename }")
        };
        let with = |no: bool| conditional().variables(Variables::from_json(serde_json::json!({ "no": no })));
        let first = executor.execute(with(true), |r| r).await;
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert!(executor.prepared.get(&Shape::of(&with(true))).expect("remembered").order.is_none());
        assert_eq!(
            executor.execute(with(false), |r| r).await.data.to_string(),
            r#"{a: {name: "Sector"}, b: "QueryRoot"}"#
        );
        assert_eq!(executor.execute(with(true), |r| r).await.data.to_string(), r#"{b: "QueryRoot"}"#);
    }

    #[tokio::test]
    async fn a_document_carrying_a_file_is_not_remembered() {
        let executor = executor();
        let long = || Request::new(format!("{{ __typename }} #{}", "x".repeat(LONGEST_REMEMBERED)));
        assert!(executor.execute(long(), |r| r).await.errors.is_empty());
        assert!(!remembered(&executor, &long()));
    }

    #[tokio::test]
    async fn introspection_is_not_remembered() {
        let executor = executor();
        let request = || Request::new("{ __schema { queryType { name } } }");
        assert!(executor.execute(request(), |r| r).await.errors.is_empty());
        assert!(!remembered(&executor, &request()));
    }
}
