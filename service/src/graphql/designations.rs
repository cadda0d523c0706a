//! Designations: the `Designation` type, and designating, revoking and correcting
//! (admin or ministry tokens).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, NaiveDate, Utc};

use super::audit::{AuditEventObject, history};
use super::limits::DATABASE_COST;
use super::pagination::parse_id;
use super::reference::{DomainObject, MinistryObject, RegimeValue, ScopeItemObject, SectorObject};
use super::scalars::Date;
use super::{ApiError, ApiResult, request, services};
use crate::domain::Regime;
use crate::domain::audit::Subject;
use crate::domain::designation::{Correction, Designation, DesignationRequest, DesignationStatus};
use crate::domain::reference::ReferenceSnapshot;
use crate::services;

/// Whether a designation stands or was revoked.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "DesignationStatus")]
pub enum DesignationStatusValue {
    /// Designated (its period may still have ended on its own `effectiveTo`).
    Designated,
    /// Revoked: the period was closed early, see `revocationReason`.
    Revoked,
}

/// One operator's status under one regime for one sector (CI) or domain (ESPA),
/// optionally one scope item, over `effectiveFrom` ..< `effectiveTo`.
pub struct DesignationObject {
    designation: Designation,
    as_of: NaiveDate,
    /// The reference data recorded at the instant it was asked about (`knownAt`); None:
    /// the request's.
    snapshot: Option<Arc<ReferenceSnapshot>>,
}

impl DesignationObject {
    /// A designation, answering for its sector or domain as of `as_of`.
    pub fn at(designation: Designation, as_of: NaiveDate) -> Self {
        Self { designation, as_of, snapshot: None }
    }

    /// A designation just changed: its sector or domain as of its first day.
    pub fn changed(designation: Designation) -> Self {
        Self { as_of: designation.effective_from, designation, snapshot: None }
    }

    /// Answers its sector, domain, scope item and ministry from `snapshot` (the reference
    /// data recorded at an instant) when given.
    pub fn in_snapshot(self, snapshot: Option<Arc<ReferenceSnapshot>>) -> Self {
        Self { snapshot, ..self }
    }

    fn snapshot(&self, ctx: &Context<'_>) -> Arc<ReferenceSnapshot> {
        self.snapshot.clone().unwrap_or_else(|| request(ctx).snapshot())
    }
}

/// One operator's status under one regime for one sector (CI) or domain (ESPA),
/// optionally one scope item, over `effectiveFrom` ..< `effectiveTo`.
#[Object(name = "Designation")]
impl DesignationObject {
    /// Stable identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.designation.id.to_string())
    }

    /// The regime it is made under.
    async fn regime(&self) -> RegimeValue {
        self.designation.regime.into()
    }

    /// The CI sector (CI designations only).
    async fn sector(&self, ctx: &Context<'_>) -> Option<SectorObject> {
        (self.designation.regime == Regime::Ci)
            .then(|| SectorObject::by_code(&self.snapshot(ctx), &self.designation.field, self.as_of))
            .flatten()
    }

    /// The ESPA business domain (ESPA designations only).
    async fn domain(&self, ctx: &Context<'_>) -> Option<DomainObject> {
        (self.designation.regime == Regime::Espa)
            .then(|| DomainObject::by_code(&self.snapshot(ctx), &self.designation.field, self.as_of))
            .flatten()
    }

    /// The scope item it is narrowed to (null: the whole sector or domain).
    async fn scope_item(&self, ctx: &Context<'_>) -> Option<ScopeItemObject> {
        let snap = &self.snapshot(ctx);
        let code = self.designation.scope_item.as_deref()?;
        snap.item_index(self.designation.regime, code)
            .map(|i| ScopeItemObject::new(snap.clone(), self.designation.regime, i, self.as_of))
    }

    /// First day it holds.
    async fn effective_from(&self) -> Date {
        Date(self.designation.effective_from)
    }

    /// First day it no longer holds (exclusive; null: open).
    async fn effective_to(&self) -> Option<Date> {
        self.designation.effective_to.map(Date)
    }

    /// Designated or revoked.
    async fn status(&self) -> DesignationStatusValue {
        match self.designation.status {
            DesignationStatus::Designated => DesignationStatusValue::Designated,
            DesignationStatus::Revoked => DesignationStatusValue::Revoked,
        }
    }

    /// The legal basis, e.g. "経済安全保障推進法第50条第1項".
    async fn legal_basis(&self) -> Option<&str> {
        self.designation.legal_basis.as_deref()
    }

    /// The official reference (notice number).
    async fn reference(&self) -> Option<&str> {
        self.designation.reference.as_deref()
    }

    /// The ministry that made it.
    async fn ministry(&self, ctx: &Context<'_>) -> ApiResult<MinistryObject> {
        MinistryObject::by_code(&self.snapshot(ctx), &self.designation.ministry, self.as_of).ok_or(ApiError::Internal)
    }

    /// Why it was revoked.
    async fn revocation_reason(&self) -> Option<&str> {
        self.designation.revocation_reason.as_deref()
    }

    /// When it was revoked.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.designation.revoked_at
    }

    /// Increases on every change to the designation.
    async fn version(&self) -> i32 {
        self.designation.version
    }

    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.designation.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.designation.updated_at
    }

    /// Every change to it, oldest first, from the audit trail (including its end when
    /// its operator closed; a ministry sees those in its jurisdiction).
    async fn history(&self, ctx: &Context<'_>) -> ApiResult<Vec<AuditEventObject>> {
        history(ctx, Subject::designation(self.designation.id)).await
    }
}

/// Designates an operator under one regime: CI with a `sector`, ESPA with a `domain`.
#[derive(InputObject)]
pub struct DesignateInput {
    /// The operator's corporate number (it must be registered).
    corporate_number: String,
    /// CI or ESPA.
    regime: RegimeValue,
    /// The CI sector code (CI only).
    sector: Option<String>,
    /// The ESPA business domain code (ESPA only).
    domain: Option<String>,
    /// Narrows it to one scope item of the sector or domain ("electricity/power-generation"
    /// or just "power-generation").
    scope_item: Option<String>,
    /// First day it holds; the sector or domain must be in force then.
    effective_from: Date,
    /// First day it no longer holds (exclusive); must be after `effectiveFrom`.
    effective_to: Option<Date>,
    /// The legal basis.
    legal_basis: Option<String>,
    /// The official reference (notice number).
    reference: Option<String>,
    /// The designating ministry; defaults to the caller's ministry, or for administrators
    /// to the ministry with jurisdiction at `effectiveFrom`.
    ministry: Option<String>,
}

/// Revokes a designation: its period closes at `effectiveTo`; the record stays.
#[derive(InputObject)]
pub struct RevokeDesignationInput {
    /// The designation's id.
    id: ID,
    /// First day it no longer holds (default: today in Japan); equal to its
    /// `effectiveFrom` cancels a designation that has not taken effect.
    effective_to: Option<Date>,
    /// Why it is revoked (required).
    reason: String,
    /// The `version` the caller read; when given and stale, `CONFLICT` and nothing changes.
    expected_version: Option<i32>,
}

/// Fixes a designation made with a wrong date or reference, without revoking it.
#[derive(InputObject)]
pub struct CorrectDesignationInput {
    /// The designation's id.
    id: ID,
    /// The `version` the caller read; when stale (someone changed it since), `CONFLICT`
    /// and nothing changes.
    expected_version: i32,
    /// The corrected first day (absent: unchanged); the sector or domain must be in force
    /// then and the designating ministry have jurisdiction.
    effective_from: Option<Date>,
    /// The corrected end, exclusive (absent: unchanged; null: open).
    effective_to: MaybeUndefined<Date>,
    /// The corrected legal basis (absent: unchanged; null: removed).
    legal_basis: MaybeUndefined<String>,
    /// The corrected official reference (absent: unchanged; null: removed).
    reference: MaybeUndefined<String>,
    /// What was wrong (required; recorded in the audit trail).
    reason: String,
}

/// Changes to designations (admin or ministry tokens).
#[derive(Default)]
pub struct DesignationMutation;

#[Object]
impl DesignationMutation {
    /// Designates an operator. A ministry token acts only where its ministry has
    /// jurisdiction at `effectiveFrom`; periods for the same operator, regime, sector or
    /// domain and scope item never overlap (`CONFLICT`).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn designate(&self, ctx: &Context<'_>, input: DesignateInput) -> ApiResult<DesignationObject> {
        let data = request(ctx);
        let designate = services::designations::DesignateInput {
            corporate_number: input.corporate_number,
            request: DesignationRequest {
                regime: Some(input.regime.into()),
                sector: input.sector,
                domain: input.domain,
                scope_item: input.scope_item,
                effective_from: Some(input.effective_from.0),
                effective_to: input.effective_to.map(|d| d.0),
                ministry: input.ministry,
            },
            legal_basis: input.legal_basis,
            reference: input.reference,
        };
        let designation = services::designations::designate(services(ctx), &data.principal, designate).await?;
        Ok(DesignationObject::changed(designation))
    }

    /// Revokes a designation: closes its period and records the reason (history stays).
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn revoke_designation(
        &self,
        ctx: &Context<'_>,
        input: RevokeDesignationInput,
    ) -> ApiResult<DesignationObject> {
        let data = request(ctx);
        let revoke = services::designations::RevokeInput {
            id: parse_id(&input.id, "designation")?,
            effective_to: input.effective_to.map(|d| d.0),
            reason: input.reason,
            expected_version: input.expected_version,
        };
        let designation = services::designations::revoke(services(ctx), &data.principal, revoke).await?;
        Ok(DesignationObject::changed(designation))
    }

    /// Fixes a wrong date, legal basis or reference of a designation without revoking it,
    /// if it is still at `expectedVersion` (`CONFLICT` otherwise, and when the corrected
    /// period overlaps another). The same rules as for `designate` apply; a ministry
    /// corrects only its own ministry's designations.
    async fn correct_designation(
        &self,
        ctx: &Context<'_>,
        input: CorrectDesignationInput,
    ) -> ApiResult<DesignationObject> {
        let data = request(ctx);
        let date = |d: Date| d.0;
        let correct = services::designations::CorrectInput {
            id: parse_id(&input.id, "designation")?,
            expected_version: input.expected_version,
            correction: Correction {
                effective_from: input.effective_from.map(date),
                effective_to: input.effective_to.map_value(date).into(),
                legal_basis: input.legal_basis.into(),
                reference: input.reference.into(),
            },
            reason: input.reason,
        };
        let designation = services::designations::correct(services(ctx), &data.principal, correct).await?;
        Ok(DesignationObject::changed(designation))
    }
}
