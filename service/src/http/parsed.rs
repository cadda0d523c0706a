//! Parsed GraphQL documents, kept by query text: other systems send the same few queries
//! (with different variables) over and over, and parsing is a large part of answering
//! a small one. Validation still runs on every request.

use std::collections::HashMap;
use std::sync::RwLock;

use async_graphql::parser::types::ExecutableDocument;

/// Documents kept at most; beyond this the memory starts afresh.
const LIMIT: usize = 512;
/// Longer queries are parsed every time (they are rare and would crowd the memory).
const LONGEST_KEPT: usize = 8 * 1024;

#[derive(Default)]
pub struct ParsedQueries {
    documents: RwLock<HashMap<String, ExecutableDocument>>,
}

impl ParsedQueries {
    /// The parsed document of `query`: from memory, or parsed now (and kept, when it
    /// parses and is not too long).
    pub fn document(&self, query: &str) -> Result<ExecutableDocument, async_graphql::parser::Error> {
        if query.len() > LONGEST_KEPT {
            return async_graphql::parser::parse_query(query);
        }
        let known = self.documents.read().ok().and_then(|documents| documents.get(query).cloned());
        if let Some(document) = known {
            return Ok(document);
        }
        let document = async_graphql::parser::parse_query(query)?;
        if let Ok(mut documents) = self.documents.write() {
            if documents.len() >= LIMIT {
                documents.clear();
            }
            documents.insert(query.to_owned(), document.clone());
        }
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
