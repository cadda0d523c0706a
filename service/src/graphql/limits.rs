//! What a GraphQL request may cost, checked before anything expensive runs.
//!
//! async-graphql computes depth and complexity only after a full validation pass, and
//! both its parser and its validation walk fragments inline. So the text is scanned for
//! bracket nesting before it is parsed (the parser recurses), and the parsed document's
//! size with fragments expanded is computed once per fragment before it is validated (a
//! few fragments that each spread the next twice would otherwise cost 2^n). Depth and
//! complexity themselves are checked by [`LimitsExtension`] after validation.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Positioned;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{ErrorExtensionValues, ServerError, ValidationResult};

use super::ApiError;
use crate::config::Limits;

/// What a field that queries the database adds to a query's complexity.
pub const DATABASE_COST: usize = 10;

/// The complexity of a paged listing: a database query plus the page times its selection.
pub fn paged_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let page = first.map_or(super::pagination::DEFAULT_PAGE_SIZE as usize, |n| usize::try_from(n).unwrap_or(0));
    DATABASE_COST.saturating_add(page.saturating_mul(child_complexity))
}

/// What a top-level list of reference records (sectors, domains, links…) or of overlap
/// rows multiplies its selection by in a query's complexity: about as many records as
/// it holds, so that aliasing such lists costs what it produces.
pub const LIST_COST: usize = 15;

/// Bracket levels allowed beyond the depth limit, for inline fragments and nested
/// argument values.
const NESTING_ALLOWANCE: usize = 16;

/// The limits the GraphQL layer enforces, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    pub max_depth: usize,
    pub max_complexity: usize,
    pub max_status_batch: usize,
    pub max_page_size: u64,
}

impl From<&Limits> for QueryLimits {
    fn from(limits: &Limits) -> Self {
        Self {
            max_depth: usize::from(limits.max_query_depth),
            max_complexity: limits.max_query_complexity as usize,
            max_status_batch: limits.max_status_batch as usize,
            max_page_size: u64::from(limits.max_page_size),
        }
    }
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self::from(&Limits::default())
    }
}

impl QueryLimits {
    /// Deepest bracket nesting the text may have.
    pub fn max_nesting(&self) -> usize {
        self.max_depth + NESTING_ALLOWANCE
    }

    /// Refuses a query text whose brackets nest deeper than [`Self::max_nesting`].
    /// Strings and comments are skipped, so their content never counts.
    pub fn check_nesting(&self, query: &str) -> Result<(), ApiError> {
        let nesting = bracket_nesting(query);
        let limit = self.max_nesting();
        if nesting > limit {
            return Err(ApiError::QueryTooComplex(format!(
                "the query nests brackets {nesting} levels deep; the limit is {limit} (query depth limit {} plus {NESTING_ALLOWANCE})",
                self.max_depth
            )));
        }
        Ok(())
    }

    /// Refuses a document with more selections and directives, fragments expanded, than
    /// the complexity limit (every field costs at least 1), or with a fragment cycle.
    pub fn check_size(&self, doc: &ExecutableDocument) -> Result<(), ApiError> {
        let size = expanded_size(doc)?;
        if size > self.max_complexity {
            return Err(ApiError::QueryTooComplex(format!(
                "the query selects {size} fields, fragments expanded; the complexity limit is {}",
                self.max_complexity
            )));
        }
        Ok(())
    }
}

/// The deepest nesting of `{`, `[` and `(` outside strings and comments.
fn bracket_nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // An escaped triple quote does not end the block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Selections plus directives of all operations, each fragment spread counted as the
/// size of its fragment; each fragment is sized once.
fn expanded_size(doc: &ExecutableDocument) -> Result<usize, ApiError> {
    let mut sizer = Sizer { doc, sizes: HashMap::new() };
    let mut total = 0usize;
    for (_, operation) in doc.operations.iter() {
        let own = operation.node.directives.len();
        total = total.saturating_add(own).saturating_add(sizer.selection_set(&operation.node.selection_set.node)?);
    }
    Ok(total)
}

enum FragmentSize {
    InProgress,
    Done(usize),
}

struct Sizer<'a> {
    doc: &'a ExecutableDocument,
    sizes: HashMap<&'a str, FragmentSize>,
}

impl<'a> Sizer<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<usize, ApiError> {
        let mut size = 0usize;
        for item in &set.items {
            let inner = match &item.node {
                Selection::Field(field) => {
                    field.node.directives.len().saturating_add(self.selection_set(&field.node.selection_set.node)?)
                }
                Selection::InlineFragment(fragment) => fragment
                    .node
                    .directives
                    .len()
                    .saturating_add(self.selection_set(&fragment.node.selection_set.node)?),
                Selection::FragmentSpread(spread) => {
                    spread.node.directives.len().saturating_add(self.fragment(spread.node.fragment_name.node.as_str())?)
                }
            };
            size = size.saturating_add(1).saturating_add(inner);
        }
        Ok(size)
    }

    fn fragment(&mut self, name: &'a str) -> Result<usize, ApiError> {
        match self.sizes.get(name) {
            Some(FragmentSize::Done(size)) => return Ok(*size),
            Some(FragmentSize::InProgress) => {
                return Err(ApiError::bad_input(format!(
                    "fragment \"{name}\" spreads itself (directly or through others)"
                )));
            }
            None => {}
        }
        // An unknown fragment is reported by validation.
        let Some(fragment) = self.doc.fragments.get(name) else {
            return Ok(0);
        };
        self.sizes.insert(name, FragmentSize::InProgress);
        let size =
            fragment.node.directives.len().saturating_add(self.selection_set(&fragment.node.selection_set.node)?);
        self.sizes.insert(name, FragmentSize::Done(size));
        Ok(size)
    }
}

/// True when the operation a request runs is a mutation that selects nothing but
/// `field` at its root (under any alias).
pub fn runs_only(doc: &ExecutableDocument, operation_name: Option<&str>, field: &str) -> bool {
    let Some(operation) = selected_operation(doc, operation_name) else { return false };
    let items = &operation.node.selection_set.node.items;
    operation.node.ty == OperationType::Mutation
        && !items.is_empty()
        && items.iter().all(|item| matches!(&item.node, Selection::Field(f) if f.node.name.node.as_str() == field))
}

/// The operation a request runs: the one named, or the only one.
pub fn selected_operation<'d>(
    doc: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'d Positioned<OperationDefinition>> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Refuses, after validation, a query deeper or more complex than the limits, with
/// `QUERY_TOO_COMPLEX` and the limit in the message.
pub struct LimitsExtension(pub QueryLimits);

impl ExtensionFactory for LimitsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CheckLimits(self.0))
    }
}

struct CheckLimits(QueryLimits);

#[async_graphql::async_trait::async_trait]
impl Extension for CheckLimits {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let limits = self.0;
        let refusal = if result.depth > limits.max_depth {
            Some(format!("the query is nested {} fields deep; the depth limit is {}", result.depth, limits.max_depth))
        } else if result.complexity > limits.max_complexity {
            Some(format!(
                "the query's complexity is {}; the complexity limit is {} (see the README, Limits)",
                result.complexity, limits.max_complexity
            ))
        } else {
            None
        };
        match refusal {
            Some(message) => Err(vec![too_complex(message)]),
            None => Ok(result),
        }
    }
}

fn too_complex(message: String) -> ServerError {
    let error = ApiError::QueryTooComplex(message);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", error.code());
    ServerError { extensions: Some(extensions), ..ServerError::new(error.message(), None) }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    #[test]
    fn nesting_skips_strings_and_comments() {
        assert_eq!(bracket_nesting("{ a { b(x: [1, {y: 2}]) } }"), 5);
        assert_eq!(bracket_nesting(r#"{ a(s: "{{{{[[[(", t: "\"{{") }"#), 2);
        assert_eq!(bracket_nesting("{ a # {{{{{{\n }"), 1);
        assert_eq!(bracket_nesting(r#"{ a(s: """ {{{ \""" {{{ """) }"#), 2);
        assert_eq!(bracket_nesting("}}}{"), 1);
        assert_eq!(bracket_nesting(&"{".repeat(100_000)), 100_000);
    }

    #[test]
    fn fragments_are_sized_once_and_cycles_refused() {
        let mut text = String::from("{ sectors { ...F0 } }\n");
        for i in 0..40 {
            text.push_str(&format!("fragment F{i} on Sector {{ ...F{} ...F{} }}\n", i + 1, i + 1));
        }
        text.push_str("fragment F40 on Sector { code }\n");
        let doc = parse_query(&text).unwrap();
        let limits = QueryLimits::default();
        let error = limits.check_size(&doc).unwrap_err();
        assert_eq!(error.code(), "QUERY_TOO_COMPLEX");
        assert!(error.message().contains("complexity limit is 25000"), "{}", error.message());

        let cyclic =
            parse_query("{ sectors { ...A } } fragment A on Sector { ...B } fragment B on Sector { ...A }").unwrap();
        assert_eq!(limits.check_size(&cyclic).unwrap_err().code(), "BAD_USER_INPUT");

        let small =
            parse_query("query Q { sectors { ...F code @skip(if: false) } } fragment F on Sector { nameJa }").unwrap();
        assert_eq!(expanded_size(&small).unwrap(), 5);
    }

    #[test]
    fn recognises_an_import_only_operation() {
        let import = "mutation Import($csv: String!) { a: importDesignations(csv: $csv) { x } b: importDesignations(csv: $csv) { x } }";
        let doc = parse_query(import).unwrap();
        assert!(runs_only(&doc, None, "importDesignations"));
        assert!(runs_only(&doc, Some("Import"), "importDesignations"));
        assert!(!runs_only(&doc, Some("Other"), "importDesignations"));
        for other in [
            "query { importDesignations(csv: \"\") { x } }",
            "mutation { importDesignations(csv: \"\") { x } registerOperator(input: {}) { id } }",
            "mutation { ... on Mutation { importDesignations(csv: \"\") { x } } }",
            "mutation A { importDesignations(csv: \"\") { x } } mutation B { designate(input: {}) { id } }",
        ] {
            assert!(!runs_only(&parse_query(other).unwrap(), None, "importDesignations"), "{other}");
        }
    }
}
