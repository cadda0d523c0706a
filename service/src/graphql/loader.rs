//! The per-request designation loader: nested `designations` and `obligations` of a
//! set of operators cost one query for the set, never one per operator.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use uuid::Uuid;

use super::operators::OperatorObject;
use super::{ApiError, ApiResult};
use crate::domain::designation::Designation;
use crate::services::operators::OperatorEntry;
use crate::services::{self, Services};

/// Loads every designation of many operators in one query. One loader per request, so
/// nothing is shared between requests; resolvers that fetch a set of operators prime it
/// with their designations (one query for the set), so nested fields never query per
/// operator and batching does not depend on timing.
pub struct DesignationLoader {
    services: Arc<Services>,
}

pub type Designations = DataLoader<DesignationLoader, HashMapCache>;

impl DesignationLoader {
    pub fn per_request(services: Arc<Services>) -> Designations {
        DataLoader::with_cache(DesignationLoader { services }, tokio::spawn, HashMapCache::default())
    }
}

impl Loader<Uuid> for DesignationLoader {
    type Value = Arc<Vec<Designation>>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let grouped = services::designations::of_operators(&self.services, keys).await?;
        Ok(grouped.into_iter().map(|(id, list)| (id, Arc::new(list))).collect())
    }
}

pub async fn designations_of(ctx: &Context<'_>, operator: Uuid) -> ApiResult<Arc<Vec<Designation>>> {
    Ok(ctx.data_unchecked::<Designations>().load_one(operator).await?.unwrap_or_default())
}

/// An operator from the index, with its designations handed to the request's loader
/// (so that nested `designations` and `obligations` cost nothing more).
pub async fn operator_with_designations(ctx: &Context<'_>, entry: &OperatorEntry) -> OperatorObject {
    ctx.data_unchecked::<Designations>().feed_one(entry.operator.id, entry.designations.clone()).await;
    OperatorObject(entry.operator.clone())
}

/// Loads the designations of a set of operators in one query into the request's loader.
pub async fn prime_designations(ctx: &Context<'_>, operators: &[Uuid]) -> ApiResult<()> {
    let grouped = services::designations::of_operators(super::services(ctx), operators).await?;
    ctx.data_unchecked::<Designations>().feed_many(grouped.into_iter().map(|(id, list)| (id, Arc::new(list)))).await;
    Ok(())
}

/// Whether the selection under `node` asks for anything built from designations.
pub fn wants_designations(node: async_graphql::Lookahead<'_>) -> bool {
    node.field("designations").exists() || node.field("obligations").exists()
}
