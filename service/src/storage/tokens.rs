//! Bearer tokens in the database.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::StorageError;
use super::entities::api_token;

pub async fn insert(conn: &impl ConnectionTrait, token: api_token::Model) -> Result<(), StorageError> {
    api_token::Entity::insert(api_token::ActiveModel::from(token)).exec_without_returning(conn).await?;
    Ok(())
}

pub async fn find_by_hash(
    conn: &impl ConnectionTrait,
    secret_hash: &str,
) -> Result<Option<api_token::Model>, StorageError> {
    Ok(api_token::Entity::find().filter(api_token::Column::SecretHash.eq(secret_hash)).one(conn).await?)
}

pub async fn touch(conn: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> Result<(), StorageError> {
    api_token::Entity::update_many()
        .set(api_token::ActiveModel { last_used_at: Set(Some(at)), ..Default::default() })
        .filter(api_token::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
