//! Bearer tokens: making secrets (shown once, stored only as a hash) and turning an
//! `Authorization` header into a [`Principal`].
//!
//! A token is looked up in the database by the secret's hash (one indexed query) and then
//! remembered by the read model, so that a busy client costs no query per request.
//! Revocation and expiry still take effect at once, also when another process or
//! instance revokes: before a remembered token is trusted, the read model settles
//! strictly (on SQLite a look at the database files, on PostgreSQL a query for the
//! newest change, shared by the requests that arrive together), and a revocation's
//! effect makes it forget the token.
//!
//! Expiry is checked on every request. The last-use time is written at most once a
//! minute per token.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ServiceError, Services};
use crate::domain::Principal;
use crate::domain::token::{ApiToken, TokenStatus};
use crate::storage::tokens;

/// Every token starts with this, so that a leaked one is recognisable (and so that
/// garbage is refused without a database look-up).
const TOKEN_PREFIX: &str = "sr_";
const SECRET_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// Why a bearer token is refused (each is `UNAUTHENTICATED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
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
}

impl From<TokenRefusal> for ServiceError {
    fn from(refusal: TokenRefusal) -> Self {
        ServiceError::Unauthenticated(refusal.to_string())
    }
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

/// Hashed on every request with a token: hex-encoded in one allocation.
fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The principal for an `Authorization` header value (`None`: anonymous).
pub async fn authenticate(services: &Services, header: Option<&str>) -> Result<Principal, ServiceError> {
    Ok(session(services, header).await?.principal)
}

/// Like [`authenticate`], with the token's expiry, for connections that outlive one
/// request (subscriptions end when their token expires).
pub async fn session(services: &Services, header: Option<&str>) -> Result<Session, ServiceError> {
    let Some(header) = header else {
        return Ok(Session { principal: Principal::Anonymous, expires_at: None });
    };
    let secret = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or(TokenRefusal::MalformedHeader)?
        .trim();
    if !secret.starts_with(TOKEN_PREFIX)
        || secret.len() != TOKEN_PREFIX.len() + 43
        || !secret[TOKEN_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(TokenRefusal::MalformedToken.into());
    }
    let hash = hash_secret(secret);
    let read = services.read_model();
    // Whatever was revoked before this request began is forgotten by now.
    read.settle_strictly().await?;
    let now = Utc::now();
    let (token, touch) = match read.tokens().get(&hash, TOUCH_INTERVAL) {
        Some(found) => found,
        None => {
            let (token, stored_hash) =
                tokens::find_by_hash(&services.db.conn, &hash).await?.ok_or(TokenRefusal::UnknownToken)?;
            // The look-up was by hash; compare again in constant time as defence in depth.
            if !bool::from(stored_hash.as_bytes().ct_eq(hash.as_bytes())) {
                return Err(TokenRefusal::UnknownToken.into());
            }
            let touch = token.last_used_at.is_none_or(|at| (now - at).to_std().is_ok_and(|age| age >= TOUCH_INTERVAL));
            if token.status_at(now) == TokenStatus::Active {
                read.tokens().remember(hash.clone(), token.clone());
            }
            (token, touch)
        }
    };
    match token.status_at(now) {
        TokenStatus::Revoked => return Err(TokenRefusal::Revoked.into()),
        TokenStatus::Expired => return Err(TokenRefusal::Expired.into()),
        TokenStatus::Active => {}
    }
    if touch {
        touch_token(services, &token, &hash, now).await;
    }
    Ok(Session {
        principal: Principal::Token { id: token.id, label: token.label, role: token.role, ministry: token.ministry },
        expires_at: token.expires_at,
    })
}

/// Records the token's use (best effort: a failed write must not fail the request).
async fn touch_token(services: &Services, token: &ApiToken, hash: &str, now: DateTime<Utc>) {
    services.read_model().tokens().touched(hash);
    if let Err(e) = tokens::touch(&services.db.conn, token.id, now).await {
        tracing::warn!(error = %e, token = %token.id, "could not record token use");
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
