//! Following changes to designations (the `designationChanged` subscription): which
//! ones a subscriber wants, and those a committed change touched (see
//! [`Change::designations`]) as they stand, with each operator's status.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use super::operators::OperatorStatus;
use super::{ServiceError, Services, authorize, parse_corporate_number};
use crate::domain::authorization::Operation;
use crate::domain::designation::Designation;
use crate::domain::reference::ReferenceSnapshot;
use crate::domain::{CorporateNumber, Principal, Regime};
pub use crate::read_model::Change;
use crate::read_model::OperatorEntry;
use crate::storage::{audit, designations, operators, special_operators};

/// Most operators one subscription may follow by corporate number.
pub const MAX_FOLLOWED_OPERATORS: usize = 1000;

/// Which designation changes a subscriber asked for, as typed.
#[derive(Debug, Clone, Default)]
pub struct WantedDesignations {
    pub corporate_numbers: Option<Vec<String>>,
    pub regime: Option<Regime>,
    pub sector: Option<String>,
    pub domain: Option<String>,
}

/// Which designation changes a subscriber wants, checked; all conditions are AND-ed.
#[derive(Debug, Clone, Default)]
pub struct DesignationFilter {
    /// Designations of these operators only.
    operators: Option<HashSet<CorporateNumber>>,
    regime: Option<Regime>,
    /// The sector (CI) or domain (ESPA) code; `regime` is set with it.
    field: Option<String>,
}

impl DesignationFilter {
    fn wants_field(&self, designation: &Designation) -> bool {
        self.regime.is_none_or(|regime| designation.regime == regime)
            && self.field.as_ref().is_none_or(|field| &designation.field == field)
    }

    fn wants_operator(&self, operator: &CorporateNumber) -> bool {
        self.operators.as_ref().is_none_or(|wanted| wanted.contains(operator))
    }

    /// Whether a change can concern a wanted operator at all (a change to a
    /// designation changes its operator), so that most changes are passed over without
    /// reading anything.
    pub fn may_want(&self, change: &Change) -> bool {
        let Some(wanted) = &self.operators else { return true };
        change.effects.operators.iter().any(|n| wanted.contains(n))
    }
}

/// Checks a subscriber's request: operator data needs a token, the numbers must be
/// valid (at most as many as a status batch) and the sector or domain known.
pub fn follow_designations(
    principal: &Principal,
    snapshot: &ReferenceSnapshot,
    wanted: WantedDesignations,
) -> Result<DesignationFilter, ServiceError> {
    authorize(principal, Operation::SubscribeDesignations)?;
    let operators = match wanted.corporate_numbers {
        Some(numbers) if numbers.len() > MAX_FOLLOWED_OPERATORS => {
            return Err(ServiceError::Invalid(format!(
                "at most {MAX_FOLLOWED_OPERATORS} corporate numbers per subscription, got {}",
                numbers.len()
            )));
        }
        Some(numbers) => Some(numbers.iter().map(|n| parse_corporate_number(n)).collect::<Result<_, _>>()?),
        None => None,
    };
    let field = match (wanted.sector, wanted.domain) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::Invalid(
                "a designation is in a sector (CI) or a business domain (ESPA), not both: give one of sector and domain, \
                 or subscribe twice"
                    .into(),
            ));
        }
        (Some(sector), None) => Some((Regime::Ci, sector)),
        (None, Some(domain)) => Some((Regime::Espa, domain)),
        (None, None) => None,
    };
    let field = field
        .map(|(regime, code)| {
            let code = code.trim().to_owned();
            if snapshot.field_index(regime, &code).is_none() {
                return Err(ServiceError::Invalid(format!("unknown {} \"{code}\"", regime.field_noun())));
            }
            match wanted.regime {
                Some(asked) if asked != regime => Err(ServiceError::Invalid(format!(
                    "regime {asked} has no {} \"{code}\": a {} belongs to {regime}",
                    regime.field_noun(),
                    regime.field_noun()
                ))),
                _ => Ok((regime, code)),
            }
        })
        .transpose()?;
    Ok(DesignationFilter {
        operators,
        regime: field.as_ref().map(|(regime, _)| *regime).or(wanted.regime),
        field: field.map(|(_, code)| code),
    })
}

/// One changed designation as it stands now, with its operator's status now.
pub struct ChangedDesignation {
    pub designation: Designation,
    pub status: OperatorStatus,
}

/// Those of the designations `ids` that `filter` wants, as they stand now, in the order
/// of `ids`, each with its operator's status. Four queries whatever the number of ids.
pub async fn changed_designations(
    services: &Services,
    principal: &Principal,
    filter: &DesignationFilter,
    ids: &[Uuid],
) -> Result<Vec<ChangedDesignation>, ServiceError> {
    authorize(principal, Operation::SubscribeDesignations)?;
    let conn = &services.db.conn;
    let mut found = designations::find_many(conn, ids).await?;
    found.retain(|d| filter.wants_field(d));
    let operator_ids: Vec<Uuid> = found.iter().map(|d| d.operator_id).collect::<HashSet<_>>().into_iter().collect();
    let operators: HashMap<Uuid, _> =
        operators::find_by_ids(conn, &operator_ids).await?.into_iter().map(|o| (o.id, o)).collect();
    found.retain(|d| operators.get(&d.operator_id).is_some_and(|o| filter.wants_operator(&o.corporate_number)));
    let wanted_operators: Vec<Uuid> = found.iter().map(|d| d.operator_id).collect::<HashSet<_>>().into_iter().collect();
    let by_operator = designations::grouped_by_operator(conn, &wanted_operators).await?;
    let special = special_operators::of_operators(conn, &wanted_operators).await?;
    let order: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    found.sort_by_key(|d| order.get(&d.id).copied());
    Ok(found
        .into_iter()
        .filter_map(|designation| {
            let operator = operators.get(&designation.operator_id)?.clone();
            let designations = Arc::new(by_operator.get(&operator.id).cloned().unwrap_or_default());
            let special = Arc::new(special.get(&operator.id).cloned().unwrap_or_default());
            let status = OperatorStatus {
                asked: operator.corporate_number.to_string(),
                entry: Some(Arc::new(OperatorEntry { operator, designations, special })),
                problem: None,
            };
            Some(ChangedDesignation { designation, status })
        })
        .collect())
}

/// Refuses to resume after an event that has not been recorded (a subscriber's last id
/// from another database, or a mistyped one).
pub async fn check_recorded(services: &Services, event: i64) -> Result<(), ServiceError> {
    let latest = audit::latest_id(&services.db.conn).await?;
    if event < 0 || event > latest {
        return Err(ServiceError::Invalid(format!(
            "no audit event {event} has been recorded (the newest is {latest}); resume after an id you received"
        )));
    }
    Ok(())
}

/// The id of the last change this process has passed on: a subscription without
/// `after` starts there.
pub fn last_event_id(services: &Services) -> i64 {
    services.read.feed().last_event_id()
}

/// Every change after event `after`, in commit order and each once (see
/// `ChangeFeed::changes_after`): each has reached this process's caches before it
/// arrives.
pub fn changes_after(
    services: &Services,
    after: i64,
) -> impl Stream<Item = Result<Arc<Change>, ServiceError>> + Send + use<> {
    services.read.feed().changes_after(services.db.clone(), after).map(|change| change.map_err(ServiceError::from))
}
