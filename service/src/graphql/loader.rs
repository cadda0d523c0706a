//! The per-request designation loader: nested `designations` and `obligations` of a
//! set of operators cost one query for the set, never one per operator.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::operators::OperatorObject;
use super::{ApiError, ApiResult};
use crate::domain::CorporateNumber;
use crate::domain::designation::Designation;
use crate::domain::reference::ReferenceSnapshot;
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
    OperatorObject::new(entry.operator.clone())
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

/// An operator's designations as recorded at an instant (`knownAt`), with the reference
/// data recorded then (empty: it was not registered then).
#[derive(Clone)]
pub struct RecordedDesignations {
    pub designations: Arc<Vec<Designation>>,
    pub snapshot: Arc<ReferenceSnapshot>,
}

/// Loads operators as recorded at instants: the keys asked for together are read once
/// per instant. Made on first use in a request (answers without `knownAt` never make one).
pub struct RecordedLoader {
    services: Arc<Services>,
}

pub type Recorded = DataLoader<RecordedLoader, HashMapCache>;

impl Loader<(CorporateNumber, DateTime<Utc>)> for RecordedLoader {
    type Value = RecordedDesignations;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[(CorporateNumber, DateTime<Utc>)],
    ) -> Result<HashMap<(CorporateNumber, DateTime<Utc>), Self::Value>, Self::Error> {
        let mut by_instant: HashMap<DateTime<Utc>, Vec<CorporateNumber>> = HashMap::new();
        for (number, at) in keys {
            by_instant.entry(*at).or_default().push(*number);
        }
        let mut found = HashMap::new();
        for (at, numbers) in by_instant {
            let (entries, snapshot) = services::record_time::operators(&self.services, &numbers, at).await?;
            found.extend(numbers.into_iter().map(|number| {
                let designations = entries.get(&number).map(|e| e.designations.clone()).unwrap_or_default();
                ((number, at), RecordedDesignations { designations, snapshot: snapshot.clone() })
            }));
        }
        Ok(found)
    }
}

/// The request's loader of operators as recorded (made on first use).
pub fn recorded<'a>(ctx: &'a Context<'_>, slot: &'a OnceLock<Recorded>) -> &'a Recorded {
    slot.get_or_init(|| {
        let services = ctx.data_unchecked::<Arc<Services>>().clone();
        DataLoader::with_cache(RecordedLoader { services }, tokio::spawn, HashMapCache::default())
    })
}

/// Hands operators already read as recorded at `at` to the request's loader.
pub async fn feed_recorded(
    loader: &Recorded,
    at: DateTime<Utc>,
    snapshot: &Arc<ReferenceSnapshot>,
    entries: impl IntoIterator<Item = Arc<OperatorEntry>>,
) {
    let values = entries.into_iter().map(|entry| {
        let value = RecordedDesignations { designations: entry.designations.clone(), snapshot: snapshot.clone() };
        ((entry.operator.corporate_number, at), value)
    });
    loader.feed_many(values).await;
}
