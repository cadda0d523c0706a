//! Turning a `POST /graphql` body into a GraphQL request, refusing everything else with
//! a clear status: only JSON, only UTF-8, one request per body, bounded size. A body
//! larger than the ordinary limit is accepted (up to the import limit) only when its
//! operation does nothing but import.

use async_graphql::Variables;
use async_graphql::parser::types::DocumentOperations;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use serde::Deserialize;

use super::error::{Reason, Rejection};
use crate::config::Limits;
use crate::domain::Principal;
use crate::domain::authorization::{Operation, authorize};
use crate::graphql::persisted::DocumentReference;
use crate::graphql::{ApiError, QueryLimits};
use crate::read_model::ParsedQueries;

/// The one mutation allowed the larger body limit: it carries a whole CSV file.
pub const IMPORT_FIELD: &str = "importDesignations";
/// The other mutation that carries a whole file (the NTA's corporate-number file).
pub const NTA_SYNC_FIELD: &str = "syncCorporateNumbers";

/// A `POST /graphql` body as the GraphQL-over-HTTP convention shapes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphQLBody {
    /// Absent when the request names a persisted document by hash.
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<Variables>,
    #[serde(default)]
    extensions: Option<serde_json::Value>,
    #[serde(default)]
    document_id: Option<String>,
}

/// A decoded request, or a GraphQL error that ends it before execution.
pub struct Decoded {
    /// The operation's name for logs and metrics: as given, or the name of the
    /// document's only operation.
    pub operation_name: Option<String>,
    pub outcome: Result<async_graphql::Request, ApiError>,
    /// Whether its answer may be kept for the same request (`graphql::answers`).
    pub may_be_kept: bool,
}

/// The body limits, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub ordinary: usize,
    pub import: usize,
}

impl BodyLimits {
    /// The limits for `principal`: the import allowance only for a principal that may
    /// import; everyone else (anonymous callers included) gets the ordinary limit.
    pub fn for_principal(self, principal: &Principal) -> Self {
        match authorize(principal, Operation::ImportDesignations) {
            Ok(()) => self,
            Err(_) => Self { import: self.ordinary, ..self },
        }
    }

    /// Whether a body read with these limits may be larger than the ordinary limit: it
    /// may use the import allowance and declares no length, or a larger one.
    pub fn may_be_large(self, headers: &HeaderMap) -> bool {
        if self.import <= self.ordinary {
            return false;
        }
        declared_length(headers).is_none_or(|length| length > self.ordinary as u64)
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
}

impl From<&Limits> for BodyLimits {
    fn from(limits: &Limits) -> Self {
        let bytes = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let ordinary = bytes(limits.max_body_bytes);
        Self { ordinary, import: bytes(limits.max_import_body_bytes).max(ordinary) }
    }
}

/// Checks the content type and reads the body, at most `limits.import` bytes.
pub async fn read(headers: &HeaderMap, body: Body, limits: BodyLimits) -> Result<axum::body::Bytes, Rejection> {
    check_content_type(headers)?;
    if let Some(length) = declared_length(headers)
        && length > limits.import as u64
    {
        return Err(too_large(&length.to_string(), limits));
    }
    match axum::body::to_bytes(body, limits.import).await {
        Ok(bytes) => Ok(bytes),
        Err(e) if is_length_limit(&e) => Err(too_large(&format!("more than {}", limits.import), limits)),
        Err(_) => Err(Rejection::new(Reason::UnreadableBody, "the request body could not be read to its end")),
    }
}

fn too_large(size: &str, limits: BodyLimits) -> Rejection {
    let import = if limits.import > limits.ordinary {
        format!(" ({} for a request that runs nothing but {IMPORT_FIELD} or {NTA_SYNC_FIELD})", limits.import)
    } else {
        format!(" (larger imports need a token that may import, {IMPORT_FIELD})")
    };
    Rejection::new(
        Reason::PayloadTooLarge,
        format!("the request body is {size} bytes; the limit is {} bytes{import}", limits.ordinary),
    )
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Only `application/json` (optionally `; charset=utf-8`).
fn check_content_type(headers: &HeaderMap) -> Result<(), Rejection> {
    let unsupported = |what: &str| {
        Rejection::new(
            Reason::UnsupportedMediaType,
            format!("{what}; send the GraphQL request as JSON with Content-Type: application/json"),
        )
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("the request has no Content-Type"));
    };
    let text = value.to_str().map_err(|_| unsupported("the Content-Type is not readable text"))?;
    let media: mime::Mime =
        text.parse().map_err(|_| unsupported(&format!("Content-Type {text:?} is not a media type")))?;
    if media.essence_str() != mime::APPLICATION_JSON.essence_str() {
        return Err(unsupported(&format!("Content-Type {:?} is not supported", media.essence_str())));
    }
    match media.get_param(mime::CHARSET) {
        Some(charset) if charset != mime::UTF_8 => {
            Err(unsupported(&format!("charset {:?} is not supported (only utf-8)", charset.as_str())))
        }
        _ => Ok(()),
    }
}

/// Decodes a body already read by [`read`]: UTF-8, JSON, one request; finds its query
/// text (`document`: sent, or persisted and named by hash); then checks the query's shape
/// before anything parses it recursively.
pub fn decode(
    bytes: &[u8],
    limits: BodyLimits,
    query_limits: &QueryLimits,
    parsed: &ParsedQueries,
    document: impl FnOnce(DocumentReference) -> Result<String, ApiError>,
) -> Result<Decoded, Rejection> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Rejection::new(
            Reason::InvalidUtf8,
            format!("the request body is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()),
        )
    })?;
    let body: GraphQLBody = serde_json::from_str(text).map_err(|e| {
        if text.trim_start().starts_with('[') {
            Rejection::new(Reason::BatchNotSupported, "batched requests are not supported; send one request per POST")
        } else if e.is_data() {
            Rejection::new(
                Reason::InvalidRequest,
                format!(
                    "the body must be a JSON object with a string \"query\" (or a persisted query's hash) and \
                     optional \"operationName\", \"variables\" and \"extensions\": {e}"
                ),
            )
        } else {
            Rejection::new(Reason::MalformedJson, format!("the request body is not valid JSON: {e}"))
        }
    })?;
    let operation_name = body.operation_name.filter(|name| !name.is_empty());
    let oversized = bytes.len() > limits.ordinary;
    let reference = DocumentReference { query: body.query, persisted_query: None, document_id: body.document_id }
        .with_extensions(body.extensions.as_ref());
    if reference.query.is_none() && !reference.names_a_document() {
        return Err(Rejection::new(
            Reason::InvalidRequest,
            "the body must have a string \"query\", or name a persisted document (extensions.persistedQuery or documentId)",
        ));
    }
    let query = match document(reference) {
        Ok(query) => query,
        Err(error) => return Ok(Decoded { operation_name, outcome: Err(error), may_be_kept: false }),
    };
    if let Err(error) = query_limits.check_nesting(&query) {
        return Ok(Decoded { operation_name, outcome: Err(error), may_be_kept: false });
    }
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = &operation_name {
        request = request.operation_name(name.clone());
    }
    if let Some(variables) = body.variables {
        request = request.variables(variables);
    }
    // A query that does not parse is left to the executor, which reports it as usual.
    let Ok(doc) = parsed.document(&request.query) else {
        if oversized {
            return Err(too_large(&bytes.len().to_string(), limits));
        }
        return Ok(Decoded { operation_name, outcome: Ok(request), may_be_kept: false });
    };
    let carries_a_file = |field| crate::graphql::limits::runs_only(&doc, operation_name.as_deref(), field);
    if oversized && !carries_a_file(IMPORT_FIELD) && !carries_a_file(NTA_SYNC_FIELD) {
        return Err(too_large(&bytes.len().to_string(), limits));
    }
    let may_be_kept = crate::graphql::answers::may_be_kept(&doc, operation_name.as_deref());
    let operation_name = operation_name.or_else(|| match &doc.operations {
        DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            operations.keys().next().map(|name| name.to_string())
        }
        _ => None,
    });
    let outcome = query_limits.check_size(&doc).map(|()| {
        request.set_parsed_query(doc);
        request
    });
    Ok(Decoded { operation_name, outcome, may_be_kept })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::graphql::persisted::PersistedDocuments;

    fn json_headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        headers
    }

    #[test]
    fn content_types() {
        assert!(check_content_type(&json_headers("application/json")).is_ok());
        assert!(check_content_type(&json_headers("Application/JSON; charset=\"UTF-8\"")).is_ok());
        for bad in ["text/plain", "application/json; charset=latin1", "multipart/form-data; boundary=x", ""] {
            let refused = check_content_type(&json_headers(bad)).unwrap_err();
            assert_eq!(refused.reason, Reason::UnsupportedMediaType, "{bad}");
        }
        assert!(check_content_type(&HeaderMap::new()).is_err());
    }

    #[test]
    fn bodies() {
        let limits = BodyLimits { ordinary: 200, import: 1000 };
        let query_limits = QueryLimits::default();
        let reason = |body: &[u8]| {
            decode(body, limits, &query_limits, &ParsedQueries::default(), |reference| {
                PersistedDocuments::default().resolve(&Principal::Anonymous, reference)
            })
            .err()
            .map(|r| r.reason)
        };
        assert_eq!(reason(b"{\"query\": \"{ sectors { code } }\"}"), None);
        assert_eq!(reason(b"{\"query\": \"\xff\"}"), Some(Reason::InvalidUtf8));
        assert_eq!(reason(b"{\"query\": "), Some(Reason::MalformedJson));
        assert_eq!(reason(b"{\"query\": 5}"), Some(Reason::InvalidRequest));
        assert_eq!(reason(b"{\"variables\": {}}"), Some(Reason::InvalidRequest));
        assert_eq!(reason(b"[{\"query\": \"{ a }\"}]"), Some(Reason::BatchNotSupported));

        let padding = "x".repeat(300);
        let import = format!(r#"{{"query": "mutation {{ importDesignations(csv: \"{padding}\") {{ ok }} }}"}}"#);
        assert_eq!(reason(import.as_bytes()), None, "an import may use the larger limit");
        let other =
            format!(r#"{{"query": "mutation {{ registerOperator(input: {{nameJa: \"{padding}\"}}) {{ id }} }}"}}"#);
        assert_eq!(reason(other.as_bytes()), Some(Reason::PayloadTooLarge));
        let unparsable = format!(r#"{{"query": "mutation {{ importDesignations(csv: \"{padding}\") {{ "}}"#);
        assert_eq!(reason(unparsable.as_bytes()), Some(Reason::PayloadTooLarge));
    }
}
