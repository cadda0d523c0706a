//! 特別社会基盤事業者: the `SpecialSocialInfrastructurePeriod` type, and recording and
//! ending those periods (admin, or the ministry that designated the operator under ESPA).

use async_graphql::{Context, ID, InputObject, Object};

use super::limits::DATABASE_COST;
use super::reference::MinistryObject;
use super::scalars::Date;
use super::{ApiError, ApiResult, request, services};
use crate::domain::special_operator::SpecialPeriod;
use crate::services;

/// A period in which an operator is recorded as 特別社会基盤事業者 (Cyber Response Act
/// Art. 2(3)), over `effectiveFrom` ..< `effectiveTo`.
pub struct SpecialPeriodObject(pub SpecialPeriod);

/// A period in which an operator is recorded as 特別社会基盤事業者 (Cyber Response Act
/// Art. 2(3): an ESPA designee that uses 重要電子計算機), over `effectiveFrom` ..<
/// `effectiveTo`; the Act's duties bind it then (see `Obligation.binds`).
#[Object(name = "SpecialSocialInfrastructurePeriod")]
impl SpecialPeriodObject {
    /// Stable identifier (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// First day it holds.
    async fn effective_from(&self) -> Date {
        Date(self.0.effective_from)
    }

    /// First day it no longer holds (exclusive); null while open.
    async fn effective_to(&self) -> Option<Date> {
        self.0.effective_to.map(Date)
    }

    /// The ministry that recorded it (one that designated the operator under ESPA).
    async fn ministry(&self, ctx: &Context<'_>) -> ApiResult<MinistryObject> {
        MinistryObject::by_code(&request(ctx).snapshot(), &self.0.ministry, self.0.effective_from)
            .ok_or(ApiError::Internal)
    }

    /// The official reference (notice number), when given.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }

    /// Why it ended, once it has.
    async fn end_reason(&self) -> Option<&str> {
        self.0.end_reason.as_deref()
    }

    /// Increases on every change to the period.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// Records an operator as 特別社会基盤事業者 from a date on.
#[derive(InputObject)]
pub struct RecordSpecialSocialInfrastructureOperatorInput {
    /// The operator's corporate number.
    corporate_number: String,
    /// First day it holds: the operator must hold an ESPA designation then.
    effective_from: Date,
    /// The official reference (notice number).
    reference: Option<String>,
    /// The recording ministry, for administrators when several ministries designated the
    /// operator under ESPA then (a ministry token records as its own ministry).
    ministry: Option<String>,
}

/// Ends an operator's open 特別社会基盤事業者 period.
#[derive(InputObject)]
pub struct EndSpecialSocialInfrastructureOperatorInput {
    /// The operator's corporate number.
    corporate_number: String,
    /// First day it no longer holds (exclusive; default: today in Japan; equal to its
    /// start cancels it).
    effective_to: Option<Date>,
    /// Why (recorded with the period and in the audit trail).
    reason: String,
}

/// Recording and ending 特別社会基盤事業者 periods.
#[derive(Default)]
pub struct SpecialOperatorMutation;

#[Object]
impl SpecialOperatorMutation {
    /// Records an operator as 特別社会基盤事業者 from `effectiveFrom` on (an open period),
    /// so that the Cyber Response Act's duties bind it. Only an operator holding an ESPA
    /// designation on that day (`BAD_USER_INPUT` otherwise); a ministry token only for
    /// operators its ministry designated under ESPA then (`FORBIDDEN` otherwise);
    /// `CONFLICT` while a period is open or when one ended after `effectiveFrom`.
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn record_special_social_infrastructure_operator(
        &self,
        ctx: &Context<'_>,
        input: RecordSpecialSocialInfrastructureOperatorInput,
    ) -> ApiResult<SpecialPeriodObject> {
        let record = services::special_operators::RecordInput {
            corporate_number: input.corporate_number,
            effective_from: input.effective_from.0,
            reference: input.reference,
            ministry: input.ministry,
        };
        let period = services::special_operators::record(services(ctx), &request(ctx).principal, record).await?;
        Ok(SpecialPeriodObject(period))
    }

    /// Ends the operator's open 特別社会基盤事業者 period from `effectiveTo` on (the
    /// record and its history stay). A ministry token only for periods its ministry
    /// recorded, or of operators it designates under ESPA then; `BAD_USER_INPUT` when no
    /// period is open.
    #[graphql(complexity = "DATABASE_COST + child_complexity")]
    async fn end_special_social_infrastructure_operator(
        &self,
        ctx: &Context<'_>,
        input: EndSpecialSocialInfrastructureOperatorInput,
    ) -> ApiResult<SpecialPeriodObject> {
        let end = services::special_operators::EndInput {
            corporate_number: input.corporate_number,
            effective_to: input.effective_to.map(|d| d.0),
            reason: input.reason,
        };
        let period = services::special_operators::end(services(ctx), &request(ctx).principal, end).await?;
        Ok(SpecialPeriodObject(period))
    }
}
