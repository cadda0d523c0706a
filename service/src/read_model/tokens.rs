//! Tokens verified against the database, remembered by the hash of their secret so that
//! a busy client costs no query per request. A change to a token (its revocation, made
//! anywhere) makes every instance forget it through the change effects.

use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use uuid::Uuid;

use crate::domain::token::ApiToken;

/// Verified tokens kept in memory; the least used go first beyond this.
const CAPACITY: usize = 10_000;

/// A verified token, and when this process last wrote its use.
#[derive(Clone)]
struct Verified {
    token: ApiToken,
    touched: Instant,
}

pub struct VerifiedTokens {
    by_hash: Cache<String, Verified>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self { by_hash: Cache::new(CAPACITY) }
    }
}

impl VerifiedTokens {
    /// The remembered token and whether its use is due to be written again (once every
    /// `touch_interval`).
    pub fn get(&self, hash: &str, touch_interval: Duration) -> Option<(ApiToken, bool)> {
        self.by_hash.get(hash).map(|v| (v.token, v.touched.elapsed() >= touch_interval))
    }

    pub fn remember(&self, hash: String, token: ApiToken) {
        self.by_hash.insert(hash, Verified { token, touched: Instant::now() });
    }

    /// Notes that this process wrote the token's use now.
    pub fn touched(&self, hash: &str) {
        if let Some(mut verified) = self.by_hash.get(hash) {
            verified.touched = Instant::now();
            self.by_hash.insert(hash.to_owned(), verified);
        }
    }

    /// Forgets a token, so that its next use is verified against the database again.
    pub fn forget(&self, id: Uuid) {
        self.by_hash.retain(|_, verified| verified.token.id != id);
    }
}
