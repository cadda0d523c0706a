//! The fictional demo data set (seed-data/demo/operators.toml), loaded through the
//! same use cases as any other change. Operators already registered are skipped, so
//! loading twice adds nothing.

use chrono::NaiveDate;
use serde::Deserialize;

use super::designations::{DesignateInput, RevokeInput, designate, revoke};
use super::operators::{NewOperator, register};
use super::{ServiceError, Services, parse_corporate_number};
use crate::domain::designation::DesignationRequest;
use crate::domain::{Principal, Regime};
use crate::storage::operators;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoFile {
    operator: Vec<DemoOperator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoOperator {
    corporate_number: String,
    name_ja: String,
    name_en: Option<String>,
    #[serde(default)]
    designation: Vec<DemoDesignation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoDesignation {
    regime: String,
    sector: Option<String>,
    domain: Option<String>,
    scope_item: Option<String>,
    effective_from: NaiveDate,
    effective_to: Option<NaiveDate>,
    legal_basis: Option<String>,
    reference: Option<String>,
    revoke: Option<DemoRevocation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoRevocation {
    effective_to: NaiveDate,
    reason: String,
}

/// What a demo load did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DemoReport {
    pub operators_loaded: usize,
    pub operators_skipped: usize,
    pub designations: usize,
}

pub async fn load(services: &Services, principal: &Principal, text: &str) -> Result<DemoReport, ServiceError> {
    let file: DemoFile =
        toml::from_str(text).map_err(|e| ServiceError::Invalid(format!("seed-data/demo/operators.toml: {e}")))?;
    let mut report = DemoReport::default();
    for operator in file.operator {
        let number = parse_corporate_number(&operator.corporate_number)?;
        if operators::find_by_corporate_number(&services.db.conn, &number).await?.is_some() {
            report.operators_skipped += 1;
            continue;
        }
        let new = NewOperator {
            corporate_number: operator.corporate_number.clone(),
            name_ja: operator.name_ja,
            name_en: operator.name_en,
        };
        register(services, principal, new).await?;
        for d in operator.designation {
            let regime: Regime = d.regime.parse().map_err(ServiceError::Invalid)?;
            let input = DesignateInput {
                corporate_number: operator.corporate_number.clone(),
                request: DesignationRequest {
                    regime: Some(regime),
                    sector: d.sector,
                    domain: d.domain,
                    scope_item: d.scope_item,
                    effective_from: Some(d.effective_from),
                    effective_to: d.effective_to,
                    ministry: None,
                },
                legal_basis: d.legal_basis,
                reference: d.reference,
            };
            let made = designate(services, principal, input).await?;
            if let Some(revocation) = d.revoke {
                let input = RevokeInput {
                    id: made.id,
                    effective_to: Some(revocation.effective_to),
                    reason: revocation.reason,
                    expected_version: None,
                };
                revoke(services, principal, input).await?;
            }
            report.designations += 1;
        }
        report.operators_loaded += 1;
    }
    Ok(report)
}
