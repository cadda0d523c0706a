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
    /// Gives the request its parsed document: from memory, or parsed now and kept. A query
    /// that does not parse is left for the schema to report.
    pub fn prepare(&self, request: &mut async_graphql::Request) {
        if request.query.len() > LONGEST_KEPT {
            return;
        }
        let known = self.documents.read().ok().and_then(|documents| documents.get(&request.query).cloned());
        match known {
            Some(document) => request.set_parsed_query(document),
            None => {
                let Ok(document) = request.parsed_query().cloned() else { return };
                if let Ok(mut documents) = self.documents.write() {
                    if documents.len() >= LIMIT {
                        documents.clear();
                    }
                    documents.insert(request.query.clone(), document);
                }
            }
        }
    }
}
