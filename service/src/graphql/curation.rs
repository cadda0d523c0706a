//! Crosswalk curation in the API (administrators only): effective-dated changes to the
//! links between the regimes, each audited; `crosswalk(asOf:)` still shows what held
//! before the change.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object};
use chrono::NaiveDate;

use super::audit::AuditEventObject;
use super::reference::{CrosswalkLinkObject, RelationValue, ScopeItemLinkObject};
use super::scalars::Date;
use super::{ApiError, ApiResult, request, services};
use crate::domain::crosswalk::LinkKind;
use crate::domain::reference::{LinkRecord, ReferenceData, ReferenceSnapshot};
use crate::domain::today;
use crate::services;
use crate::services::crosswalk::{LinkInput, Pair, RemovalInput};

/// Sets the link between a CI sector and an ESPA business domain from a day on.
#[derive(InputObject)]
pub struct UpsertCrosswalkLinkInput {
    /// The CI sector code.
    sector: String,
    /// The ESPA business domain code.
    domain: String,
    /// How the sector relates to the domain.
    relation: RelationValue,
    /// One sentence on why this relation holds.
    rationale: String,
    /// Code of the source the judgement rests on (see `sources`).
    source: String,
    /// Page, table or article within the source.
    locator: Option<String>,
    /// First day the new link holds (default: today in Japan; not in the past). The link
    /// that held before ends the day before.
    effective_from: Option<Date>,
    /// Why the link changes (recorded in the audit trail).
    reason: String,
}

/// Ends the link between a CI sector and an ESPA business domain from a day on.
#[derive(InputObject)]
pub struct RemoveCrosswalkLinkInput {
    /// The CI sector code.
    sector: String,
    /// The ESPA business domain code.
    domain: String,
    /// First day no link holds (default: today in Japan; not in the past).
    effective_from: Option<Date>,
    /// Why the link goes (recorded in the audit trail).
    reason: String,
}

/// Sets the link between a CI scope item and an ESPA scope item from a day on (their
/// sector and domain must be linked then).
#[derive(InputObject)]
pub struct UpsertScopeItemLinkInput {
    /// The CI scope item code, e.g. "electricity/power-generation".
    sector_item: String,
    /// The ESPA scope item code.
    domain_item: String,
    /// How the CI item relates to the ESPA item.
    relation: RelationValue,
    /// One sentence on why this relation holds.
    rationale: String,
    /// Code of the source the judgement rests on (see `sources`).
    source: String,
    /// Page, table or article within the source.
    locator: Option<String>,
    /// First day the new link holds (default: today in Japan; not in the past).
    effective_from: Option<Date>,
    /// Why the link changes (recorded in the audit trail).
    reason: String,
}

/// Ends the link between two scope items from a day on.
#[derive(InputObject)]
pub struct RemoveScopeItemLinkInput {
    /// The CI scope item code.
    sector_item: String,
    /// The ESPA scope item code.
    domain_item: String,
    /// First day no link holds (default: today in Japan; not in the past).
    effective_from: Option<Date>,
    /// Why the link goes (recorded in the audit trail).
    reason: String,
}

impl From<UpsertCrosswalkLinkInput> for LinkInput {
    fn from(input: UpsertCrosswalkLinkInput) -> Self {
        LinkInput {
            pair: pair(LinkKind::Fields, input.sector, input.domain),
            relation: input.relation.into(),
            rationale: input.rationale,
            source: input.source,
            locator: input.locator,
            effective_from: input.effective_from.map(|d| d.0),
            reason: input.reason,
        }
    }
}

impl From<UpsertScopeItemLinkInput> for LinkInput {
    fn from(input: UpsertScopeItemLinkInput) -> Self {
        LinkInput {
            pair: pair(LinkKind::ScopeItems, input.sector_item, input.domain_item),
            relation: input.relation.into(),
            rationale: input.rationale,
            source: input.source,
            locator: input.locator,
            effective_from: input.effective_from.map(|d| d.0),
            reason: input.reason,
        }
    }
}

impl From<RemoveCrosswalkLinkInput> for RemovalInput {
    fn from(input: RemoveCrosswalkLinkInput) -> Self {
        let pair = pair(LinkKind::Fields, input.sector, input.domain);
        RemovalInput { pair, effective_from: input.effective_from.map(|d| d.0), reason: input.reason }
    }
}

impl From<RemoveScopeItemLinkInput> for RemovalInput {
    fn from(input: RemoveScopeItemLinkInput) -> Self {
        let pair = pair(LinkKind::ScopeItems, input.sector_item, input.domain_item);
        RemovalInput { pair, effective_from: input.effective_from.map(|d| d.0), reason: input.reason }
    }
}

fn pair(kind: LinkKind, ci: String, espa: String) -> Pair {
    Pair { kind, ci: ci.trim().to_owned(), espa: espa.trim().to_owned() }
}

/// Curates a link; returns the snapshot with it, where it is, and the day it starts.
async fn upsert(
    ctx: &Context<'_>,
    input: LinkInput,
    links: fn(&ReferenceData) -> &[LinkRecord],
) -> ApiResult<(Arc<ReferenceSnapshot>, usize, NaiveDate)> {
    let day = input.effective_from.unwrap_or_else(today);
    let services = services(ctx);
    let link = services::crosswalk::upsert(services, &request(ctx).principal, input).await?;
    let snapshot = services.snapshot();
    let index = links(snapshot.data())
        .iter()
        .position(|l| l.ci == link.ci && l.espa == link.espa && l.validity == link.validity)
        .ok_or(ApiError::Internal)?;
    Ok((snapshot, index, day))
}

async fn remove(ctx: &Context<'_>, input: RemovalInput) -> ApiResult<AuditEventObject> {
    Ok(AuditEventObject(services::crosswalk::remove(services(ctx), &request(ctx).principal, input).await?))
}

/// Curating the crosswalk (admin).
#[derive(Default)]
pub struct CurationMutation;

#[Object]
impl CurationMutation {
    /// Sets the link of a sector–domain pair from `effectiveFrom` on (admin only) and
    /// returns it. The link that held before stays visible with `asOf`; an identical link
    /// changes nothing. A later `scope-registry seed` never overwrites the curated link:
    /// it reports where seed-data disagrees.
    async fn upsert_crosswalk_link(
        &self,
        ctx: &Context<'_>,
        input: UpsertCrosswalkLinkInput,
    ) -> ApiResult<CrosswalkLinkObject> {
        let (snapshot, index, day) = upsert(ctx, input.into(), |data| &data.links).await?;
        Ok(CrosswalkLinkObject::new(snapshot, index, day))
    }

    /// Ends the link of a sector–domain pair from `effectiveFrom` on (admin only); its
    /// scope-item links must have ended first. Returns the recorded event, whose `before`
    /// holds the link as it was.
    async fn remove_crosswalk_link(
        &self,
        ctx: &Context<'_>,
        input: RemoveCrosswalkLinkInput,
    ) -> ApiResult<AuditEventObject> {
        remove(ctx, input.into()).await
    }

    /// Sets the link of a scope-item pair from `effectiveFrom` on (admin only), as
    /// `upsertCrosswalkLink` does for sectors and domains.
    async fn upsert_scope_item_link(
        &self,
        ctx: &Context<'_>,
        input: UpsertScopeItemLinkInput,
    ) -> ApiResult<ScopeItemLinkObject> {
        let (snapshot, index, day) = upsert(ctx, input.into(), |data| &data.item_links).await?;
        Ok(ScopeItemLinkObject::new(snapshot, index, day))
    }

    /// Ends the link of a scope-item pair from `effectiveFrom` on (admin only). Returns
    /// the recorded event.
    async fn remove_scope_item_link(
        &self,
        ctx: &Context<'_>,
        input: RemoveScopeItemLinkInput,
    ) -> ApiResult<AuditEventObject> {
        remove(ctx, input.into()).await
    }
}
