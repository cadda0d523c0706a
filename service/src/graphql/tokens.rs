//! Token management in the API (administrators only): listing tokens without their
//! secrets, and revoking one. Tokens are issued on the command line, where the secret
//! can be shown once.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use super::pagination::parse_id;
use super::reference::MinistryObject;
use super::{ApiResult, request, services};
use crate::domain::Role;
use crate::domain::audit::Subject;
use crate::domain::today;
use crate::domain::token::{ApiToken, TokenStatus};
use crate::services;

/// What a token may do.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Role")]
pub enum RoleValue {
    /// Everything.
    Admin,
    /// Registers operators; designates and revokes within its ministry's jurisdiction.
    Ministry,
    /// Policy staff: reads everything and drafts scope revision proposals; never
    /// changes live data.
    Policy,
    /// Reads everything.
    Reader,
}

impl From<Role> for RoleValue {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => RoleValue::Admin,
            Role::Ministry => RoleValue::Ministry,
            Role::Policy => RoleValue::Policy,
            Role::Reader => RoleValue::Reader,
        }
    }
}

/// Whether a token is accepted now.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "TokenStatus")]
pub enum TokenStatusValue {
    /// Accepted.
    Active,
    /// Refused: past its expiry.
    Expired,
    /// Refused: revoked.
    Revoked,
}

/// A bearer token's record (its secret is never stored or shown).
pub struct ApiTokenObject(ApiToken);

/// A bearer token's record (its secret is never stored or shown).
#[Object(name = "ApiToken")]
impl ApiTokenObject {
    /// Stable identifier (UUID); `scope-registry token revoke` takes it.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Says who or what uses it.
    async fn label(&self) -> &str {
        &self.0.label
    }

    /// What it may do.
    async fn role(&self) -> RoleValue {
        self.0.role.into()
    }

    /// The ministry a ministry token acts for.
    async fn ministry(&self, ctx: &Context<'_>) -> Option<MinistryObject> {
        MinistryObject::by_code(&request(ctx).snapshot(), self.0.ministry.as_deref()?, today())
    }

    /// When it was issued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it stops being accepted (null: never).
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    /// When it was last used (recorded at most once a minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    /// When it was revoked.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// Whether it is accepted now.
    async fn status(&self) -> TokenStatusValue {
        match self.0.status_at(Utc::now()) {
            TokenStatus::Active => TokenStatusValue::Active,
            TokenStatus::Expired => TokenStatusValue::Expired,
            TokenStatus::Revoked => TokenStatusValue::Revoked,
        }
    }

    /// Its issue and revocation, from the audit trail.
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::audit::AuditEventObject>> {
        super::audit::history(ctx, Subject::token(self.0.id)).await
    }
}

/// Listing tokens (admin).
#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// Every token, oldest first, without secrets (admin only).
    async fn tokens(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApiTokenObject>> {
        let tokens = services::tokens::list(services(ctx), &request(ctx).principal).await?;
        Ok(tokens.into_iter().map(ApiTokenObject).collect())
    }
}

/// Managing tokens (admin).
#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Revokes a token (admin only): from the next request on, in every instance, it is
    /// refused as `UNAUTHENTICATED`. `CONFLICT` when it already is revoked.
    async fn revoke_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token's id.")] id: ID,
        #[graphql(desc = "Why it is revoked (recorded in the audit trail).")] reason: Option<String>,
    ) -> ApiResult<ApiTokenObject> {
        let id = parse_id(&id, "token")?;
        let revoked = services::tokens::revoke(services(ctx), &request(ctx).principal, id, reason).await?;
        Ok(ApiTokenObject(revoked))
    }
}
