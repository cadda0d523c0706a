//! The per-request designation loader: nested `designations` and `obligations` of a
//! set of operators cost one query for the set (and one for their 特別社会基盤事業者
//! periods), never one per operator.

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
use crate::domain::special_operator::SpecialPeriod;
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

/// One operator's designations and 特別社会基盤事業者 periods (all periods).
#[derive(Clone, Default)]
pub struct OperatorRecords {
    pub designations: Arc<Vec<Designation>>,
    pub special: Arc<Vec<SpecialPeriod>>,
}

impl From<&OperatorEntry> for OperatorRecords {
    fn from(entry: &OperatorEntry) -> Self {
        Self { designations: entry.designations.clone(), special: entry.special.clone() }
    }
}

impl DesignationLoader {
    pub fn per_request(services: Arc<Services>) -> Designations {
        DataLoader::with_cache(DesignationLoader { services }, tokio::spawn, HashMapCache::default())
    }
}

impl Loader<Uuid> for DesignationLoader {
    type Value = OperatorRecords;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        records_of(&self.services, keys).await
    }
}

async fn records_of(services: &Services, ids: &[Uuid]) -> ApiResult<HashMap<Uuid, OperatorRecords>> {
    let grouped = services::designations::of_operators(services, ids).await?;
    let mut special = services::special_operators::of_operators(services, ids).await?;
    Ok(grouped
        .into_iter()
        .map(|(id, list)| {
            let special = Arc::new(special.remove(&id).unwrap_or_default());
            (id, OperatorRecords { designations: Arc::new(list), special })
        })
        .collect())
}

pub async fn records_of_operator(ctx: &Context<'_>, operator: Uuid) -> ApiResult<OperatorRecords> {
    Ok(ctx.data_unchecked::<Designations>().load_one(operator).await?.unwrap_or_default())
}

/// An operator from the index, with its designations handed to the request's loader
/// (so that nested `designations` and `obligations` cost nothing more).
pub async fn operator_with_designations(ctx: &Context<'_>, entry: &OperatorEntry) -> OperatorObject {
    ctx.data_unchecked::<Designations>().feed_one(entry.operator.id, entry.into()).await;
    OperatorObject::new(entry.operator.clone())
}

/// Hands operators' designations and periods, read with them, to the request's loader.
pub async fn feed_designations(ctx: &Context<'_>, entries: &[Arc<OperatorEntry>]) {
    let records = entries.iter().map(|entry| (entry.operator.id, OperatorRecords::from(entry.as_ref())));
    ctx.data_unchecked::<Designations>().feed_many(records).await;
}

/// Loads the designations and periods of a set of operators (two queries) into the
/// request's loader.
pub async fn prime_designations(ctx: &Context<'_>, operators: &[Uuid]) -> ApiResult<()> {
    let records = records_of(super::services(ctx), operators).await?;
    ctx.data_unchecked::<Designations>().feed_many(records).await;
    Ok(())
}

/// Whether the selection under `node` asks for anything built from designations.
pub fn wants_designations(node: async_graphql::Lookahead<'_>) -> bool {
    ["designations", "obligations", "specialSocialInfrastructureOperator", "specialSocialInfrastructurePeriods"]
        .into_iter()
        .any(|field| node.field(field).exists())
}

/// An operator's designations and periods as recorded at an instant (`knownAt`), with
/// the reference data recorded then (empty: it was not registered then).
#[derive(Clone)]
pub struct RecordedDesignations {
    pub records: OperatorRecords,
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
                let records = entries.get(&number).map(|e| OperatorRecords::from(e.as_ref())).unwrap_or_default();
                ((number, at), RecordedDesignations { records, snapshot: snapshot.clone() })
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
        let value = RecordedDesignations { records: entry.as_ref().into(), snapshot: snapshot.clone() };
        ((entry.operator.corporate_number, at), value)
    });
    loader.feed_many(values).await;
}
