//! Bearer tokens: making secrets (shown once, stored only as a hash) and turning an
//! `Authorization` header into a [`Principal`].
//!
//! A token is looked up in the database by the secret's hash (one indexed query) and then
//! kept in memory, so that a busy client costs no query per request. Revocation and
//! expiry still take effect at once, also when another process or instance revokes:
//! before a remembered token is trusted, the change feed is settled strictly
//! ([`ChangeFeed::settle_strictly`]: on SQLite a look at the database files, on
//! PostgreSQL a query for the newest change, shared by the requests that arrive
//! together), and the feed passes every revocation (they are audited) to
//! [`VerifiedTokens`], which forgets the token.
//!
//! Expiry is checked on every request. The last-use time is written at most once a
//! minute per token.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::changes::{Change, ChangeFeed, ChangeListener};
use crate::domain::Principal;
use crate::domain::audit::SubjectType;
use crate::domain::token::{ApiToken, TokenStatus};
use crate::storage::{Db, StorageError, tokens};

/// Every token starts with this, so that a leaked one is recognisable (and so that
/// garbage is refused without a database look-up).
const TOKEN_PREFIX: &str = "sr_";
const SECRET_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);
/// Verified tokens kept in memory; beyond this many the memory starts afresh.
const CACHE_LIMIT: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header must be \"Bearer <token>\"")]
    MalformedHeader,
    #[error("malformed bearer token")]
    MalformedToken,
    #[error("unknown bearer token")]
    UnknownToken,
    #[error("the bearer token has been revoked")]
    Revoked,
    #[error("the bearer token has expired")]
    Expired,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A new token secret and the hash stored in its place. The secret exists only here.
pub struct NewSecret {
    pub secret: String,
    pub hash: String,
}

/// Makes a random secret.
pub fn new_secret() -> NewSecret {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    NewSecret { hash: hash_secret(&secret), secret }
}

fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A verified token, and when this process last wrote its use.
struct Verified {
    token: ApiToken,
    touched: Instant,
}

/// Tokens verified against the database, by the secret's hash; a token is forgotten when
/// the change feed passes on a change to it.
#[derive(Default)]
pub struct VerifiedTokens {
    by_hash: RwLock<HashMap<String, Verified>>,
}

impl VerifiedTokens {
    /// The remembered token and whether its use is due to be written.
    fn get(&self, hash: &str) -> Option<(ApiToken, bool)> {
        let verified = self.by_hash.read().ok()?;
        verified.get(hash).map(|v| (v.token.clone(), v.touched.elapsed() >= TOUCH_INTERVAL))
    }

    fn remember(&self, hash: String, token: ApiToken) {
        if let Ok(mut verified) = self.by_hash.write() {
            if verified.len() >= CACHE_LIMIT {
                verified.clear();
            }
            verified.insert(hash, Verified { token, touched: Instant::now() });
        }
    }

    fn touched(&self, id: Uuid) {
        if let Ok(mut verified) = self.by_hash.write() {
            for entry in verified.values_mut().filter(|v| v.token.id == id) {
                entry.touched = Instant::now();
            }
        }
    }

    /// Forgets a token, so that its next use is verified against the database again.
    pub fn forget(&self, id: &str) {
        if let Ok(mut verified) = self.by_hash.write() {
            verified.retain(|_, v| v.token.id.to_string() != id);
        }
    }
}

impl ChangeListener for VerifiedTokens {
    fn changed<'a>(&'a self, change: &'a Change) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let record = &change.event.record;
            if record.entity_type == SubjectType::Token
                && let Some(id) = &record.entity_id
            {
                self.forget(id);
            }
        })
    }
}

/// Verifies bearer tokens (see the module documentation for when from memory).
pub struct Authenticator {
    db: Db,
    changes: Arc<ChangeFeed>,
    verified: Arc<VerifiedTokens>,
}

impl Authenticator {
    /// An authenticator whose remembered tokens follow `changes`.
    pub fn new(db: Db, changes: Arc<ChangeFeed>) -> Self {
        let verified = Arc::new(VerifiedTokens::default());
        changes.listen(verified.clone());
        Self { db, changes, verified }
    }

    /// The principal for an `Authorization` header value (`None`: anonymous).
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        Ok(self.session(header).await?.principal)
    }

    /// Like [`Authenticator::authenticate`], with the token's expiry, for connections
    /// that outlive one request (subscriptions end when their token expires).
    pub async fn session(&self, header: Option<&str>) -> Result<Session, AuthError> {
        let Some(header) = header else {
            return Ok(Session { principal: Principal::Anonymous, expires_at: None });
        };
        let secret = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(AuthError::MalformedHeader)?
            .trim();
        if !secret.starts_with(TOKEN_PREFIX)
            || secret.len() != TOKEN_PREFIX.len() + 43
            || !secret[TOKEN_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(AuthError::MalformedToken);
        }
        let hash = hash_secret(secret);
        // Whatever was revoked before this request began is forgotten by now.
        self.changes.settle_strictly().await?;
        let now = Utc::now();
        let (token, touch) = match self.verified.get(&hash) {
            Some(found) => found,
            None => {
                let (token, stored_hash) =
                    tokens::find_by_hash(&self.db.conn, &hash).await?.ok_or(AuthError::UnknownToken)?;
                // The look-up was by hash; compare again in constant time as defence in depth.
                if !bool::from(stored_hash.as_bytes().ct_eq(hash.as_bytes())) {
                    return Err(AuthError::UnknownToken);
                }
                let touch =
                    token.last_used_at.is_none_or(|at| (now - at).to_std().is_ok_and(|age| age >= TOUCH_INTERVAL));
                if token.status_at(now) == TokenStatus::Active {
                    self.verified.remember(hash, token.clone());
                }
                (token, touch)
            }
        };
        match token.status_at(now) {
            TokenStatus::Revoked => return Err(AuthError::Revoked),
            TokenStatus::Expired => return Err(AuthError::Expired),
            TokenStatus::Active => {}
        }
        if touch {
            self.touch(&token, now).await;
        }
        Ok(Session {
            principal: Principal::Token {
                id: token.id,
                label: token.label,
                role: token.role,
                ministry: token.ministry,
            },
            expires_at: token.expires_at,
        })
    }

    /// Records the token's use (best effort: a failed write must not fail the request).
    async fn touch(&self, token: &ApiToken, now: chrono::DateTime<Utc>) {
        self.verified.touched(token.id);
        if let Err(e) = tokens::touch(&self.db.conn, token.id, now).await {
            tracing::warn!(error = %e, token = %token.id, "could not record token use");
        }
    }
}

/// A verified caller and until when its token holds (never, when it has no expiry).
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub expires_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_only_their_sha256_is_kept() {
        let new = new_secret();
        assert!(new.secret.starts_with(TOKEN_PREFIX) && new.secret.len() == TOKEN_PREFIX.len() + 43);
        assert_eq!(new.hash.len(), 64);
        assert!(new.hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(new.hash, hash_secret(&new.secret));
        assert_ne!(new.hash, new_secret().hash);
    }
}
