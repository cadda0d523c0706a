//! Token management: issuing, listing and revoking bearer tokens (administrators only).
//! A revoked token is refused from the next request on, in every process, since each
//! request is verified against the database.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::{RegistryError, require_admin};
use crate::auth;
use crate::domain::audit::{AuditAction, AuditState, Subject, SubjectType};
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::token::ApiToken;
use crate::domain::{Principal, Role, text};
use crate::storage::{Db, StorageError, tokens};

/// What a token may be issued with.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub role: Role,
    pub ministry: Option<String>,
    pub label: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A newly issued token: the secret exists only in this value.
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// Issues a token; only the hash of its secret is stored.
pub async fn issue(
    db: &Db,
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    request: TokenRequest,
) -> Result<IssuedToken, RegistryError> {
    let attempt = || {
        Change::creating(AuditAction::IssueToken, SubjectType::Token).after(json!({
            "label": request.label,
            "role": request.role.as_str(),
            "ministry": request.ministry,
            "expiresAt": request.expires_at,
        }))
    };
    guard(db, principal, attempt, async {
        require_admin(principal, "issue tokens")?;
        match (request.role, request.ministry.as_deref()) {
            (Role::Ministry, Some(code)) if snapshot.ministry_index(code).is_none() => {
                return Err(RegistryError::Invalid(format!("unknown ministry \"{code}\"")));
            }
            (Role::Ministry, Some(_)) | (Role::Admin | Role::Reader, None) => {}
            _ => {
                return Err(RegistryError::Invalid("a ministry token needs a ministry; other roles take none".into()));
            }
        }
        let now = Utc::now();
        if request.expires_at.is_some_and(|at| at <= now) {
            return Err(RegistryError::Invalid("the expiry must be in the future".into()));
        }
        let token = ApiToken {
            id: Uuid::now_v7(),
            label: text::required("label", &request.label)?,
            role: request.role,
            ministry: request.ministry.clone(),
            created_at: now,
            expires_at: request.expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let secret = auth::new_secret();
        let txn = db.begin_write().await?;
        tokens::insert(&txn, &token, secret.hash).await?;
        let change = Change::of(AuditAction::IssueToken, Subject::token(token.id))
            .after(token.audit_state())
            .in_jurisdiction_of(token.ministry.as_deref());
        audit::record(&txn, principal, change).await?;
        txn.commit().await.map_err(StorageError::from)?;
        Ok(IssuedToken { token, secret: secret.secret })
    })
    .await
}

/// Every token, oldest first, without secrets.
pub async fn list(db: &Db, principal: &Principal) -> Result<Vec<ApiToken>, RegistryError> {
    require_admin(principal, "list tokens")?;
    Ok(tokens::list(&db.conn).await?)
}

/// Revokes a token: from the next request on it is refused as `UNAUTHENTICATED`.
pub async fn revoke(
    db: &Db,
    principal: &Principal,
    id: Uuid,
    reason: Option<String>,
) -> Result<ApiToken, RegistryError> {
    let attempt = || Change::of(AuditAction::RevokeToken, Subject::token(id)).reason(reason.as_deref());
    guard(db, principal, attempt, async {
        require_admin(principal, "revoke tokens")?;
        let reason = text::optional("reason", reason.as_deref())?;
        let txn = db.begin_write().await?;
        let current =
            tokens::find(&txn, id).await?.ok_or_else(|| RegistryError::NotFound(format!("no token with id {id}")))?;
        let now = Utc::now();
        if let Some(at) = current.revoked_at {
            return Err(RegistryError::Conflict(format!("token {id} was already revoked at {at}")));
        }
        if !tokens::revoke(&txn, id, now).await? {
            return Err(RegistryError::Conflict(format!("token {id} was revoked concurrently")));
        }
        let revoked = ApiToken { revoked_at: Some(now), ..current.clone() };
        let change = Change::of(AuditAction::RevokeToken, Subject::token(id))
            .before(current.audit_state())
            .after(revoked.audit_state())
            .reason(reason.as_deref())
            .in_jurisdiction_of(current.ministry.as_deref());
        audit::record(&txn, principal, change).await?;
        txn.commit().await.map_err(StorageError::from)?;
        Ok(revoked)
    })
    .await
}
