//! Persisted documents, for client systems that send the same few queries over and over:
//!
//! - **Automatic persisted queries** (the Apollo APQ convention): a client sends only the
//!   SHA-256 of its query (`extensions.persistedQuery.sha256Hash`); when this instance
//!   does not know it, the answer is `PersistedQueryNotFound` and the client sends hash and
//!   query once, which is kept (bounded, per instance) for the next time.
//! - **Trusted documents** (`--trusted-documents FILE`): only the documents listed in the
//!   file run for anyone but an admin, sent in full, by hash (`persistedQuery`) or by
//!   `documentId` (`sha256:<hex>`, the GraphQL-over-HTTP persisted-documents form).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::ApiError;
use crate::domain::Principal;
use crate::domain::authorization::{Operation, Refusal, authorize};

/// The message Apollo clients (and others following the APQ convention) look for to send
/// the query with its hash.
pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";
/// Bytes of query text kept for automatic persisted queries, in all.
const AUTOMATIC_CAPACITY_BYTES: u64 = 16 * 1024 * 1024;
/// About how many documents that is (for the cache's sizing only).
const AUTOMATIC_ESTIMATED_DOCUMENTS: usize = 4096;

/// The SHA-256 of a document's text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DocumentHash([u8; 32]);

impl DocumentHash {
    pub fn of(document: &str) -> Self {
        Self(Sha256::digest(document.as_bytes()).into())
    }

    /// Parses 64 hexadecimal digits (either case).
    pub fn parse(hex: &str) -> Result<Self, String> {
        let invalid =
            || format!("{:?} is not a SHA-256 hash (64 hexadecimal digits)", crate::domain::text::excerpt(hex));
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for DocumentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for DocumentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentHash({self})")
    }
}

/// How a request names its document, as it arrived.
#[derive(Debug, Default)]
pub struct DocumentReference {
    /// The query text, when sent.
    pub query: Option<String>,
    /// `extensions.persistedQuery`, when sent.
    pub persisted_query: Option<serde_json::Value>,
    /// `documentId` (in the body, or in `extensions`), when sent.
    pub document_id: Option<String>,
}

impl DocumentReference {
    /// Reads the references out of a request's `extensions` object.
    pub fn with_extensions(mut self, extensions: Option<&serde_json::Value>) -> Self {
        if let Some(extensions) = extensions {
            self.persisted_query = extensions.get("persistedQuery").cloned();
            if self.document_id.is_none() {
                self.document_id = extensions.get("documentId").and_then(|id| id.as_str()).map(str::to_owned);
            }
        }
        self
    }

    /// Whether the request names a persisted document.
    pub fn names_a_document(&self) -> bool {
        self.persisted_query.is_some() || self.document_id.is_some()
    }

    /// The hash the request names, if it names one.
    fn hash(&self) -> Result<Option<DocumentHash>, ApiError> {
        let from_persisted_query = match &self.persisted_query {
            None => None,
            Some(persisted) => {
                let version = persisted.get("version").and_then(serde_json::Value::as_i64);
                if version != Some(1) {
                    return Err(ApiError::bad_input(
                        "extensions.persistedQuery must have \"version\": 1 (the only version of automatic persisted queries)",
                    ));
                }
                let hash = persisted.get("sha256Hash").and_then(|hash| hash.as_str()).ok_or_else(|| {
                    ApiError::bad_input("extensions.persistedQuery must have a string \"sha256Hash\"")
                })?;
                Some(
                    DocumentHash::parse(hash)
                        .map_err(|e| ApiError::bad_input(format!("persistedQuery.sha256Hash: {e}")))?,
                )
            }
        };
        let from_document_id = match &self.document_id {
            None => None,
            Some(id) => {
                let hex = id.strip_prefix("sha256:").ok_or_else(|| {
                    ApiError::bad_input(format!(
                        "documentId {:?} must have the form \"sha256:<64 hexadecimal digits>\"",
                        crate::domain::text::excerpt(id)
                    ))
                })?;
                Some(DocumentHash::parse(hex).map_err(|e| ApiError::bad_input(format!("documentId: {e}")))?)
            }
        };
        match (from_persisted_query, from_document_id) {
            (Some(a), Some(b)) if a != b => {
                Err(ApiError::bad_input("documentId and extensions.persistedQuery name different documents"))
            }
            (a, b) => Ok(a.or(b)),
        }
    }
}

/// Query text weighs its length.
#[derive(Clone)]
struct ByLength;

impl Weighter<DocumentHash, Arc<str>> for ByLength {
    fn weight(&self, _hash: &DocumentHash, document: &Arc<str>) -> u64 {
        document.len() as u64
    }
}

/// The documents a trusted-documents file lists.
#[derive(Debug, Default)]
pub struct TrustedDocuments {
    documents: HashMap<DocumentHash, Arc<str>>,
}

/// A trusted-documents file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustedDocumentsError {
    #[error("cannot read the trusted documents file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(
        "the trusted documents file {path} is not a JSON object of \"sha256 hash\": \"document\" pairs \
         nor an Apollo persisted query manifest: {reason}"
    )]
    Format { path: String, reason: String },
    #[error("the trusted documents file {path}: the document listed as {listed} has the SHA-256 {actual}")]
    WrongHash { path: String, listed: String, actual: DocumentHash },
}

/// The two file layouts clients' build tools write.
#[derive(Deserialize)]
#[serde(untagged)]
enum TrustedDocumentsFile {
    /// Apollo's persisted query manifest (`generate-persisted-query-manifest`).
    Manifest { format: String, operations: Vec<ManifestOperation> },
    /// `{"<hash>": "<document>"}` (graphql-codegen's client preset, Relay); keys may
    /// carry a `sha256:` prefix.
    Map(HashMap<String, String>),
}

#[derive(Deserialize)]
struct ManifestOperation {
    id: String,
    body: String,
}

impl TrustedDocuments {
    pub fn load(path: &Path) -> Result<Self, TrustedDocumentsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| TrustedDocumentsError::Read { path: shown.clone(), source })?;
        Self::parse(&text, &shown)
    }

    /// Reads a file's text; every listed hash must be its document's SHA-256.
    pub fn parse(text: &str, path: &str) -> Result<Self, TrustedDocumentsError> {
        let format = |reason: String| TrustedDocumentsError::Format { path: path.to_owned(), reason };
        let file: TrustedDocumentsFile = serde_json::from_str(text).map_err(|e| format(e.to_string()))?;
        let listed: Vec<(String, String)> = match file {
            TrustedDocumentsFile::Manifest { format: name, operations } => {
                if name != "apollo-persisted-query-manifest" {
                    return Err(format(format!("unknown manifest format {:?}", crate::domain::text::excerpt(&name))));
                }
                operations.into_iter().map(|operation| (operation.id, operation.body)).collect()
            }
            TrustedDocumentsFile::Map(map) => map.into_iter().collect(),
        };
        let mut documents = HashMap::with_capacity(listed.len());
        for (listed_as, document) in listed {
            let hex = listed_as.strip_prefix("sha256:").unwrap_or(&listed_as);
            let hash = DocumentHash::parse(hex).map_err(format)?;
            let actual = DocumentHash::of(&document);
            if actual != hash {
                return Err(TrustedDocumentsError::WrongHash { path: path.to_owned(), listed: listed_as, actual });
            }
            documents.insert(hash, Arc::from(document));
        }
        Ok(Self { documents })
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }
}

/// The documents this instance knows by hash.
pub struct PersistedDocuments {
    automatic: Cache<DocumentHash, Arc<str>, ByLength>,
    /// When set, the only documents that run for anyone but an admin.
    trusted: Option<TrustedDocuments>,
}

impl Default for PersistedDocuments {
    fn default() -> Self {
        Self::new(None)
    }
}

impl PersistedDocuments {
    pub fn new(trusted: Option<TrustedDocuments>) -> Self {
        Self {
            automatic: Cache::with_weighter(AUTOMATIC_ESTIMATED_DOCUMENTS, AUTOMATIC_CAPACITY_BYTES, ByLength),
            trusted,
        }
    }

    /// The query text that `principal`'s request names, or why it does not run.
    pub fn resolve(&self, principal: &Principal, reference: DocumentReference) -> Result<String, ApiError> {
        let hash = reference.hash()?;
        // Who may not run untrusted documents is told so as the matrix says: anonymous
        // callers UNAUTHENTICATED (an admin token would do), other tokens FORBIDDEN.
        let refusal = authorize(principal, Operation::RunAnyDocument).err();
        let restricted = self.trusted.as_ref().filter(|_| refusal.is_some());
        let untrusted = |hash: DocumentHash| untrusted(hash, refusal.as_ref());
        match (reference.query.filter(|query| !query.is_empty()), hash) {
            (None, None) => Err(ApiError::bad_input(
                "the request has no \"query\" (nor a persisted query hash in extensions.persistedQuery or documentId)",
            )),
            (Some(query), None) => match restricted {
                Some(trusted) => {
                    let hash = DocumentHash::of(&query);
                    if trusted.documents.contains_key(&hash) { Ok(query) } else { Err(untrusted(hash)) }
                }
                None => Ok(query),
            },
            (Some(query), Some(hash)) => {
                let actual = DocumentHash::of(&query);
                if actual != hash {
                    return Err(ApiError::bad_input(format!(
                        "provided sha does not match query: the query's SHA-256 is {actual}, not {hash}"
                    )));
                }
                match restricted {
                    Some(trusted) if !trusted.documents.contains_key(&hash) => Err(untrusted(hash)),
                    Some(_) => Ok(query),
                    None => {
                        self.automatic.insert(hash, Arc::from(query.as_str()));
                        Ok(query)
                    }
                }
            }
            (None, Some(hash)) => {
                let trusted = self.trusted.as_ref().and_then(|trusted| trusted.documents.get(&hash).cloned());
                let known = match restricted {
                    Some(_) => trusted.ok_or_else(|| untrusted(hash))?,
                    None => trusted.or_else(|| self.automatic.get(&hash)).ok_or_else(not_found)?,
                };
                Ok(known.to_string())
            }
        }
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound(NOT_FOUND_MESSAGE.to_owned())
}

fn untrusted(hash: DocumentHash, refusal: Option<&Refusal>) -> ApiError {
    let message = format!(
        "only trusted documents run without an admin token, and the document with SHA-256 {hash} is not among \
         them (the server's --trusted-documents file lists them)"
    );
    match refusal {
        Some(Refusal::Unauthenticated(_)) => ApiError::Unauthenticated(message),
        _ => ApiError::Forbidden(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    const QUERY: &str = "{ sectors { code } }";

    fn by_hash(query: Option<&str>, hash: &str) -> DocumentReference {
        DocumentReference {
            query: query.map(str::to_owned),
            persisted_query: Some(serde_json::json!({ "version": 1, "sha256Hash": hash })),
            document_id: None,
        }
    }

    fn full(query: &str) -> DocumentReference {
        DocumentReference { query: Some(query.to_owned()), ..DocumentReference::default() }
    }

    fn code(result: Result<String, ApiError>) -> &'static str {
        result.err().map_or("ok", |error| error.code())
    }

    fn token(role: Role) -> Principal {
        Principal::Token { id: uuid::Uuid::nil(), label: "client".into(), role, ministry: None }
    }

    fn admin() -> Principal {
        token(Role::Admin)
    }

    #[test]
    fn hashes_are_hexadecimal_sha256() {
        let hash = DocumentHash::of(QUERY);
        assert_eq!(DocumentHash::parse(&hash.to_string()), Ok(hash));
        assert_eq!(DocumentHash::parse(&hash.to_string().to_uppercase()), Ok(hash));
        assert!(DocumentHash::parse("abc").is_err());
        assert!(DocumentHash::parse(&"g".repeat(64)).is_err());
        assert!(DocumentHash::parse(&"é".repeat(32)).is_err());
    }

    #[test]
    fn an_unknown_hash_asks_for_the_query_and_is_known_after() {
        let documents = PersistedDocuments::default();
        let hash = DocumentHash::of(QUERY).to_string();
        let unknown = documents.resolve(&Principal::Anonymous, by_hash(None, &hash)).err();
        assert_eq!(unknown.as_ref().map(|e| (e.code(), e.message())), Some(("NOT_FOUND", NOT_FOUND_MESSAGE)));
        assert_eq!(documents.resolve(&Principal::Anonymous, by_hash(Some(QUERY), &hash)).ok().as_deref(), Some(QUERY));
        assert_eq!(documents.resolve(&Principal::Anonymous, by_hash(None, &hash)).ok().as_deref(), Some(QUERY));
    }

    #[test]
    fn a_hash_that_is_not_the_querys_is_refused_and_not_kept() {
        let documents = PersistedDocuments::default();
        let other = DocumentHash::of("{ ministries { code } }").to_string();
        assert_eq!(code(documents.resolve(&Principal::Anonymous, by_hash(Some(QUERY), &other))), "BAD_USER_INPUT");
        assert_eq!(code(documents.resolve(&Principal::Anonymous, by_hash(None, &other))), "NOT_FOUND");
    }

    #[test]
    fn malformed_references_are_bad_input() {
        let documents = PersistedDocuments::default();
        let version_2 = DocumentReference {
            persisted_query: Some(
                serde_json::json!({ "version": 2, "sha256Hash": DocumentHash::of(QUERY).to_string() }),
            ),
            ..full(QUERY)
        };
        assert_eq!(code(documents.resolve(&Principal::Anonymous, version_2)), "BAD_USER_INPUT");
        let bare_id =
            DocumentReference { document_id: Some(DocumentHash::of(QUERY).to_string()), ..Default::default() };
        assert_eq!(code(documents.resolve(&Principal::Anonymous, bare_id)), "BAD_USER_INPUT");
        assert_eq!(code(documents.resolve(&Principal::Anonymous, DocumentReference::default())), "BAD_USER_INPUT");
    }

    #[test]
    fn trusted_documents_bind_everyone_but_admins() {
        let hash = DocumentHash::of(QUERY);
        let file = serde_json::json!({ format!("sha256:{hash}"): QUERY }).to_string();
        let documents = PersistedDocuments::new(Some(TrustedDocuments::parse(&file, "trusted.json").expect("parses")));
        let reader = token(Role::Reader);
        assert_eq!(code(documents.resolve(&reader, full(QUERY))), "ok");
        let by_id = DocumentReference { document_id: Some(format!("sha256:{hash}")), ..Default::default() };
        assert_eq!(documents.resolve(&Principal::Anonymous, by_id).ok().as_deref(), Some(QUERY));
        let other = "{ ministries { code } }";
        assert_eq!(code(documents.resolve(&reader, full(other))), "FORBIDDEN");
        assert_eq!(
            code(documents.resolve(&reader, by_hash(Some(other), &DocumentHash::of(other).to_string()))),
            "FORBIDDEN"
        );
        // An admin still runs anything, and what an admin registers does not become trusted.
        assert_eq!(code(documents.resolve(&admin(), by_hash(Some(other), &DocumentHash::of(other).to_string()))), "ok");
        assert_eq!(code(documents.resolve(&reader, by_hash(None, &DocumentHash::of(other).to_string()))), "FORBIDDEN");
    }

    #[test]
    fn trusted_documents_files_are_checked() {
        let hash = DocumentHash::of(QUERY);
        let manifest = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": hash.to_string(), "name": "Sectors", "type": "query", "body": QUERY }],
        });
        assert_eq!(TrustedDocuments::parse(&manifest.to_string(), "m.json").map(|t| t.len()).ok(), Some(1));
        let wrong = serde_json::json!({ hash.to_string(): "{ ministries { code } }" }).to_string();
        assert!(matches!(TrustedDocuments::parse(&wrong, "w.json"), Err(TrustedDocumentsError::WrongHash { .. })));
        assert!(matches!(TrustedDocuments::parse("[1]", "x.json"), Err(TrustedDocumentsError::Format { .. })));
    }
}
