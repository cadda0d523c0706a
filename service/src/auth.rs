//! Bearer tokens: making secrets (shown once, stored only as a hash) and turning an
//! `Authorization` header into a [`Principal`].
//!
//! Every request is verified against the database, so that a revocation or an expiry
//! takes effect at once, also when another process made it (`scope-registry token
//! revoke`). The look-up is one indexed query by the secret's hash; the last-use time
//! is written at most once a minute per token.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::Principal;
use crate::domain::token::TokenStatus;
use crate::storage::{Db, StorageError, tokens};

/// Every token starts with this, so that a leaked one is recognisable (and so that
/// garbage is refused without a database look-up).
const TOKEN_PREFIX: &str = "sr_";
const SECRET_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

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

/// Verifies bearer tokens against the database.
pub struct Authenticator {
    db: Db,
}

impl Authenticator {
    pub fn new(db: Db) -> Self {
        Self { db }
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
        let (token, stored_hash) = tokens::find_by_hash(&self.db.conn, &hash).await?.ok_or(AuthError::UnknownToken)?;
        // The look-up was by hash; compare again in constant time as defence in depth.
        if !bool::from(stored_hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Err(AuthError::UnknownToken);
        }
        let now = Utc::now();
        match token.status_at(now) {
            TokenStatus::Revoked => return Err(AuthError::Revoked),
            TokenStatus::Expired => return Err(AuthError::Expired),
            TokenStatus::Active => {}
        }
        let stale = token.last_used_at.is_none_or(|at| (now - at).to_std().is_ok_and(|age| age >= TOUCH_INTERVAL));
        if stale {
            // Best effort: a failed write of the last-use time must not fail the request.
            if let Err(e) = tokens::touch(&self.db.conn, token.id, now).await {
                tracing::warn!(error = %e, token = %token.id, "could not record token use");
            }
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
