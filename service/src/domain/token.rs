//! Bearer tokens as the registry keeps them (the secret itself is never kept).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Role;

/// A token's record: who it is for and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: Uuid,
    /// Says who or what uses it.
    pub label: String,
    pub role: Role,
    /// Set exactly when `role` is `Ministry`.
    pub ministry: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Whether a token is accepted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        }
    }
}

impl ApiToken {
    /// Revocation wins over expiry; a token expires at `expires_at` exactly.
    pub fn status_at(&self, now: DateTime<Utc>) -> TokenStatus {
        if self.revoked_at.is_some() {
            TokenStatus::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_wins_over_expiry() {
        let now = Utc::now();
        let mut token = ApiToken {
            id: Uuid::nil(),
            label: "t".into(),
            role: Role::Reader,
            ministry: None,
            created_at: now,
            expires_at: Some(now),
            last_used_at: None,
            revoked_at: None,
        };
        assert_eq!(token.status_at(now - chrono::Duration::seconds(1)), TokenStatus::Active);
        assert_eq!(token.status_at(now), TokenStatus::Expired);
        token.revoked_at = Some(now);
        assert_eq!(token.status_at(now - chrono::Duration::seconds(1)), TokenStatus::Revoked);
    }
}
