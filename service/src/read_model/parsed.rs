//! Parsed GraphQL documents, kept by query text: other systems send the same few queries
//! (with different variables) over and over, and parsing is a large part of answering
//! a small one. Validation still runs on every request. Documents depend on nothing
//! stored, so no change ever invalidates them.

use async_graphql::parser::types::ExecutableDocument;
use quick_cache::sync::Cache;

/// Documents kept at most; the least used go first beyond this.
const CAPACITY: usize = 512;
/// Longer queries are parsed every time (they are rare and would crowd the memory).
const LONGEST_KEPT: usize = 8 * 1024;

pub struct ParsedQueries {
    documents: Cache<String, ExecutableDocument>,
}

impl Default for ParsedQueries {
    fn default() -> Self {
        Self { documents: Cache::new(CAPACITY) }
    }
}

impl ParsedQueries {
    /// The parsed document of `query`: from memory, or parsed now (and kept, when it
    /// parses and is not too long).
    pub fn document(&self, query: &str) -> Result<ExecutableDocument, async_graphql::parser::Error> {
        if query.len() > LONGEST_KEPT {
            return async_graphql::parser::parse_query(query);
        }
        if let Some(document) = self.documents.get(query) {
            return Ok(document);
        }
        let document = async_graphql::parser::parse_query(query)?;
        self.documents.insert(query.to_owned(), document.clone());
        Ok(document)
    }

    /// Gives the request its parsed document (see [`ParsedQueries::document`]). A query
    /// that does not parse is left for the schema to report.
    pub fn prepare(&self, request: &mut async_graphql::Request) {
        if let Ok(document) = self.document(&request.query) {
            request.set_parsed_query(document);
        }
    }
}
