//! Bearer tokens in the database (only a hash of each secret is stored).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::entities::api_token;
use super::{StorageError, corrupt};
use crate::domain::token::ApiToken;

impl TryFrom<api_token::Model> for ApiToken {
    type Error = StorageError;
    fn try_from(m: api_token::Model) -> Result<Self, StorageError> {
        Ok(ApiToken {
            id: m.id,
            label: m.label,
            role: m.role.parse().map_err(|_| corrupt("token role"))?,
            ministry: m.ministry_code,
            created_at: m.created_at,
            expires_at: m.expires_at,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
        })
    }
}

/// Stores a new token with the hash of its secret.
pub async fn insert(conn: &impl ConnectionTrait, token: &ApiToken, secret_hash: String) -> Result<(), StorageError> {
    let row = api_token::Model {
        id: token.id,
        label: token.label.clone(),
        role: token.role.as_str().to_owned(),
        ministry_code: token.ministry.clone(),
        secret_hash,
        created_at: token.created_at,
        expires_at: token.expires_at,
        last_used_at: token.last_used_at,
        revoked_at: token.revoked_at,
    };
    api_token::Entity::insert(api_token::ActiveModel::from(row)).exec_without_returning(conn).await?;
    Ok(())
}

/// The token whose secret has this hash, with the hash as stored.
pub async fn find_by_hash(
    conn: &impl ConnectionTrait,
    secret_hash: &str,
) -> Result<Option<(ApiToken, String)>, StorageError> {
    api_token::Entity::find()
        .filter(api_token::Column::SecretHash.eq(secret_hash))
        .one(conn)
        .await?
        .map(|m| {
            let stored_hash = m.secret_hash.clone();
            ApiToken::try_from(m).map(|token| (token, stored_hash))
        })
        .transpose()
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<ApiToken>, StorageError> {
    api_token::Entity::find_by_id(id).one(conn).await?.map(ApiToken::try_from).transpose()
}

/// Every token, oldest first.
pub async fn list(conn: &impl ConnectionTrait) -> Result<Vec<ApiToken>, StorageError> {
    api_token::Entity::find()
        .order_by_asc(api_token::Column::CreatedAt)
        .order_by_asc(api_token::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(ApiToken::try_from)
        .collect()
}

/// Marks a token revoked unless it already is; returns whether it was revoked now.
pub async fn revoke(conn: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> Result<bool, StorageError> {
    let result = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(at))
        .filter(api_token::Column::Id.eq(id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn touch(conn: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> Result<(), StorageError> {
    api_token::Entity::update_many()
        .set(api_token::ActiveModel { last_used_at: Set(Some(at)), ..Default::default() })
        .filter(api_token::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
