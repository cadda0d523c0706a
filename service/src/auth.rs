//! Bearer tokens: issuing them (the secret is shown once, only its hash is stored) and
//! turning an `Authorization` header into a [`Principal`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::domain::{Principal, Role};
use crate::storage::entities::api_token;
use crate::storage::{Db, StorageError, tokens};

/// Every token starts with this, so that a leaked one is recognisable (and so that
/// garbage is refused without a database look-up).
const TOKEN_PREFIX: &str = "sr_";
const SECRET_BYTES: usize = 32;
/// How long a verified token is trusted without asking the database again.
const CACHE_TTL: Duration = Duration::from_secs(5);
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
    #[error("a ministry token needs --ministry CODE, other roles take none")]
    MinistryMismatch,
    #[error("unknown ministry \"{0}\"")]
    UnknownMinistry(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A newly issued token: the secret exists only in this value.
pub struct IssuedToken {
    pub id: Uuid,
    pub secret: String,
}

/// What a token may be issued with.
pub struct TokenRequest {
    pub role: Role,
    pub ministry: Option<String>,
    pub label: String,
    pub expires_at: Option<DateTime<Utc>>,
}

fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a token and stores its hash. Returns the secret, which is never stored.
pub async fn issue(db: &Db, request: TokenRequest, known_ministries: &[String]) -> Result<IssuedToken, AuthError> {
    match (request.role, &request.ministry) {
        (Role::Ministry, Some(code)) if !known_ministries.contains(code) => {
            return Err(AuthError::UnknownMinistry(code.clone()));
        }
        (Role::Ministry, Some(_)) | (Role::Admin | Role::Reader, None) => {}
        _ => return Err(AuthError::MinistryMismatch),
    }
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let id = Uuid::now_v7();
    tokens::insert(
        &db.conn,
        api_token::Model {
            id,
            label: request.label,
            role: request.role.as_str().to_owned(),
            ministry_code: request.ministry,
            secret_hash: hash_secret(&secret),
            created_at: Utc::now(),
            expires_at: request.expires_at,
            last_used_at: None,
            revoked_at: None,
        },
    )
    .await?;
    Ok(IssuedToken { id, secret })
}

#[derive(Clone)]
struct CachedToken {
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
    verified_at: Instant,
    touched_at: Instant,
}

/// Verifies bearer tokens, remembering recent answers for a few seconds so that a
/// busy client does not cost a database query per request.
pub struct Authenticator {
    db: Db,
    cache: Mutex<HashMap<String, CachedToken>>,
}

impl Authenticator {
    pub fn new(db: Db) -> Self {
        Self { db, cache: Mutex::new(HashMap::new()) }
    }

    /// The principal for an `Authorization` header value (`None`: anonymous).
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let Some(header) = header else {
            return Ok(Principal::Anonymous);
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
        let now = Instant::now();
        let cached = self.cache.lock().ok().and_then(|cache| cache.get(&hash).cloned());
        if let Some(entry) = cached
            && now.duration_since(entry.verified_at) < CACHE_TTL
        {
            if entry.expires_at.is_some_and(|at| at <= Utc::now()) {
                return Err(AuthError::Expired);
            }
            if now.duration_since(entry.touched_at) >= TOUCH_INTERVAL {
                self.touch(&hash, &entry.principal).await;
            }
            return Ok(entry.principal);
        }
        let record = tokens::find_by_hash(&self.db.conn, &hash).await?.ok_or(AuthError::UnknownToken)?;
        // The look-up was by hash; compare again in constant time as defence in depth.
        if !bool::from(record.secret_hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Err(AuthError::UnknownToken);
        }
        if record.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        if record.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(AuthError::Expired);
        }
        let role: Role = record.role.parse().map_err(|_| AuthError::UnknownToken)?;
        let principal = Principal::Token { id: record.id, label: record.label, role, ministry: record.ministry_code };
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, e| now.duration_since(e.verified_at) < CACHE_TTL);
            cache.insert(
                hash.clone(),
                CachedToken {
                    principal: principal.clone(),
                    expires_at: record.expires_at,
                    verified_at: now,
                    touched_at: now,
                },
            );
        }
        if record.last_used_at.is_none_or(|at| Utc::now().signed_duration_since(at).num_seconds() >= 60) {
            self.touch(&hash, &principal).await;
        }
        Ok(principal)
    }

    /// Forgets every cached verification, so that a revocation takes effect at once.
    pub fn forget_all(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    async fn touch(&self, hash: &str, principal: &Principal) {
        if let Principal::Token { id, .. } = principal {
            if let Ok(mut cache) = self.cache.lock()
                && let Some(entry) = cache.get_mut(hash)
            {
                entry.touched_at = Instant::now();
            }
            // Best effort: a failed write of the last-use time must not fail the request.
            if let Err(e) = tokens::touch(&self.db.conn, *id, Utc::now()).await {
                tracing::warn!(error = %e, "could not record token use");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_hex_sha256() {
        let h = hash_secret("sr_x");
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(h, hash_secret("sr_y"));
    }
}
