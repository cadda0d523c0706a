//! Token management: issuing, listing and revoking bearer tokens (administrators only).
//! A revoked token is refused from the next request on, in every process: the
//! revocation's effect makes every instance forget the token it remembered (see
//! `authentication`).

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::authentication::new_secret;
use super::{ServiceError, Services, authorize, with_retry};
use crate::domain::audit::{AuditAction, AuditState, SubjectType};
use crate::domain::authorization::Operation;
use crate::domain::token::ApiToken;
use crate::domain::{Principal, Role, text};
use crate::storage::tokens;

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
    services: &Services,
    principal: &Principal,
    request: TokenRequest,
) -> Result<IssuedToken, ServiceError> {
    let attempt = || {
        Change::attempt(
            AuditAction::IssueToken,
            SubjectType::Token,
            None,
            json!({
                "label": request.label,
                "role": request.role.as_str(),
                "ministry": request.ministry,
                "expiresAt": request.expires_at,
            }),
        )
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::IssueToken)?;
        match (request.role, request.ministry.as_deref()) {
            (Role::Ministry, Some(code)) if services.snapshot().ministry_index(code).is_none() => {
                return Err(ServiceError::Invalid(format!("unknown ministry \"{code}\"")));
            }
            (Role::Ministry, Some(_)) | (Role::Admin | Role::Policy | Role::Reader, None) => {}
            _ => {
                return Err(ServiceError::Invalid("a ministry token needs a ministry; other roles take none".into()));
            }
        }
        let now = Utc::now();
        if request.expires_at.is_some_and(|at| at <= now) {
            return Err(ServiceError::Invalid("the expiry must be in the future".into()));
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
        let secret = new_secret();
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            tokens::insert(&txn, &token, secret.hash.clone()).await?;
            let change = Change::to_token(AuditAction::IssueToken, &token).after(token.audit_state());
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(())
        })
        .await?;
        Ok(IssuedToken { token, secret: secret.secret })
    })
    .await
}

/// Every token, oldest first, without secrets.
pub async fn list(services: &Services, principal: &Principal) -> Result<Vec<ApiToken>, ServiceError> {
    authorize(principal, Operation::ReadTokens)?;
    Ok(tokens::list(&services.db.conn).await?)
}

/// Revokes a token: from the next request on it is refused as `UNAUTHENTICATED`.
pub async fn revoke(
    services: &Services,
    principal: &Principal,
    id: Uuid,
    reason: Option<String>,
) -> Result<ApiToken, ServiceError> {
    let attempt = || {
        Change::attempt(AuditAction::RevokeToken, SubjectType::Token, Some(id.to_string()), json!({}))
            .reason(reason.as_deref())
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::RevokeToken)?;
        let reason = text::optional("reason", reason.as_deref())?;
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let current = tokens::find(&txn, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("no token with id {id}")))?;
            let now = Utc::now();
            if let Some(at) = current.revoked_at {
                return Err(ServiceError::Conflict(format!("token {id} was already revoked at {at}")));
            }
            if !tokens::revoke(&txn, id, now).await? {
                return Err(ServiceError::Conflict(format!("token {id} was revoked concurrently")));
            }
            let revoked = ApiToken { revoked_at: Some(now), ..current.clone() };
            let change = Change::to_token(AuditAction::RevokeToken, &revoked)
                .before(current.audit_state())
                .after(revoked.audit_state())
                .reason(reason.as_deref());
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(revoked)
        })
        .await
    })
    .await
}
