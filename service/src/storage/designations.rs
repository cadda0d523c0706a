//! Designations: batched loading, writes and the active-field scan for overlap reports.

use std::collections::HashMap;

use chrono::NaiveDate;
use futures_util::{Stream, StreamExt};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, StreamTrait,
};
use uuid::Uuid;

use super::entities::designation;
use super::{StorageError, corrupt};
use crate::domain::Regime;
use crate::domain::designation::{Designation, DesignationStatus};
use crate::domain::overlap::ActiveField;

impl TryFrom<designation::Model> for Designation {
    type Error = StorageError;
    fn try_from(m: designation::Model) -> Result<Self, StorageError> {
        let regime: Regime = m.regime.parse().map_err(|_| corrupt("designation regime"))?;
        let (field, scope_item) = match regime {
            Regime::Ci => (m.sector_code, m.sector_item_code),
            Regime::Espa => (m.domain_code, m.domain_item_code),
        };
        Ok(Designation {
            id: m.id,
            operator_id: m.operator_id,
            regime,
            field: field.ok_or_else(|| corrupt("designation target"))?,
            scope_item,
            effective_from: m.effective_from,
            effective_to: m.effective_to,
            status: DesignationStatus::parse(&m.status).ok_or_else(|| corrupt("designation status"))?,
            legal_basis: m.legal_basis,
            reference: m.reference,
            ministry: m.ministry_code,
            revocation_reason: m.revocation_reason,
            revoked_at: m.revoked_at,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

impl From<&Designation> for designation::Model {
    fn from(d: &Designation) -> Self {
        let (sector_code, domain_code, sector_item_code, domain_item_code) = match d.regime {
            Regime::Ci => (Some(d.field.clone()), None, d.scope_item.clone(), None),
            Regime::Espa => (None, Some(d.field.clone()), None, d.scope_item.clone()),
        };
        designation::Model {
            id: d.id,
            operator_id: d.operator_id,
            regime: d.regime.as_str().to_owned(),
            sector_code,
            domain_code,
            sector_item_code,
            domain_item_code,
            effective_from: d.effective_from,
            effective_to: d.effective_to,
            status: d.status.as_str().to_owned(),
            legal_basis: d.legal_basis.clone(),
            reference: d.reference.clone(),
            ministry_code: d.ministry.clone(),
            revocation_reason: d.revocation_reason.clone(),
            revoked_at: d.revoked_at,
            version: d.version,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

pub async fn insert(conn: &impl ConnectionTrait, designation: &Designation) -> Result<(), StorageError> {
    designation::Entity::insert(designation::ActiveModel::from(designation::Model::from(designation)))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Inserts many designations (in chunks of multi-row inserts).
pub async fn insert_many(conn: &impl ConnectionTrait, designations: &[Designation]) -> Result<(), StorageError> {
    for chunk in designations.chunks(super::operators::INSERT_CHUNK) {
        let models = chunk.iter().map(|d| designation::ActiveModel::from(designation::Model::from(d)));
        designation::Entity::insert_many(models).exec_without_returning(conn).await?;
    }
    Ok(())
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Designation>, StorageError> {
    designation::Entity::find_by_id(id).one(conn).await?.map(Designation::try_from).transpose()
}

/// The designations with the given ids that exist (in id order when `ids` is sorted).
pub async fn find_many(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Designation>, StorageError> {
    find_where_in(conn, designation::Column::Id, ids, &[designation::Column::Id]).await
}

/// Every designation (any period) of the given operators, in a stable order.
pub async fn of_operators(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Designation>, StorageError> {
    use designation::Column::{EffectiveFrom, Id, OperatorId, Regime};
    find_where_in(conn, OperatorId, ids, &[OperatorId, EffectiveFrom, Regime, Id]).await
}

/// Every designation, read as a stream in its operator's corporate-number order (as
/// [`super::operators::all_in_number_order`] reads the operators), each operator's in the
/// order of [`of_operators`].
pub async fn all_in_operator_order<C: ConnectionTrait + StreamTrait + Send>(
    conn: &C,
) -> Result<impl Stream<Item = Result<Designation, StorageError>> + Send + '_, StorageError> {
    use designation::Column::{EffectiveFrom, Id, Regime};
    let rows = designation::Entity::find()
        .inner_join(super::entities::operator::Entity)
        .order_by_asc(super::entities::operator::Column::CorporateNumber)
        .order_by_asc(EffectiveFrom)
        .order_by_asc(Regime)
        .order_by_asc(Id)
        .stream(conn)
        .await?;
    Ok(rows.map(|row| Designation::try_from(row?)))
}

/// Every designation of the given operators, grouped by operator (each operator asked
/// for has a list, empty when it has none).
pub async fn grouped_by_operator(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Designation>>, StorageError> {
    let mut grouped: HashMap<Uuid, Vec<Designation>> = ids.iter().map(|id| (*id, Vec::new())).collect();
    for designation in of_operators(conn, ids).await? {
        grouped.entry(designation.operator_id).or_default().push(designation);
    }
    Ok(grouped)
}

/// The designations whose `column` is one of `ids`, ordered by `order` within each
/// chunk of ids.
async fn find_where_in(
    conn: &impl ConnectionTrait,
    column: designation::Column,
    ids: &[Uuid],
    order: &[designation::Column],
) -> Result<Vec<Designation>, StorageError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(super::operators::LOOKUP_CHUNK) {
        let mut select = designation::Entity::find().filter(column.is_in(chunk.iter().copied()));
        for by in order {
            select = select.order_by_asc(*by);
        }
        for model in select.all(conn).await? {
            found.push(Designation::try_from(model)?);
        }
    }
    Ok(found)
}

/// Writes a designation's revocation (its end, status and reason, as the domain decided
/// them), if it is still at `expected_version`. Returns whether it was.
pub async fn end(
    conn: &impl ConnectionTrait,
    ended: &Designation,
    expected_version: i32,
) -> Result<bool, StorageError> {
    let result = designation::Entity::update_many()
        .col_expr(designation::Column::EffectiveTo, Expr::value(ended.effective_to))
        .col_expr(designation::Column::Status, Expr::value(ended.status.as_str()))
        .col_expr(designation::Column::RevocationReason, Expr::value(ended.revocation_reason.clone()))
        .col_expr(designation::Column::RevokedAt, Expr::value(ended.revoked_at))
        .col_expr(designation::Column::UpdatedAt, Expr::value(ended.updated_at))
        .col_expr(designation::Column::Version, Expr::col(designation::Column::Version).add(1))
        .filter(designation::Column::Id.eq(ended.id))
        .filter(designation::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Writes a corrected period and references, if the designation is still at
/// `expected_version`. Returns whether it was. The database's non-overlap rule checks
/// the new period.
pub async fn correct(
    conn: &impl ConnectionTrait,
    corrected: &Designation,
    expected_version: i32,
) -> Result<bool, StorageError> {
    let result = designation::Entity::update_many()
        .col_expr(designation::Column::EffectiveFrom, Expr::value(corrected.effective_from))
        .col_expr(designation::Column::EffectiveTo, Expr::value(corrected.effective_to))
        .col_expr(designation::Column::LegalBasis, Expr::value(corrected.legal_basis.clone()))
        .col_expr(designation::Column::Reference, Expr::value(corrected.reference.clone()))
        .col_expr(designation::Column::UpdatedAt, Expr::value(corrected.updated_at))
        .col_expr(designation::Column::Version, Expr::col(designation::Column::Version).add(1))
        .filter(designation::Column::Id.eq(corrected.id))
        .filter(designation::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The distinct (operator, regime, sector-or-domain) triples active at `as_of`.
pub async fn active_fields(
    conn: &impl ConnectionTrait,
    as_of: NaiveDate,
) -> Result<Vec<ActiveField<Uuid>>, StorageError> {
    let rows: Vec<(Uuid, String, Option<String>, Option<String>)> = designation::Entity::find()
        .select_only()
        .column(designation::Column::OperatorId)
        .column(designation::Column::Regime)
        .column(designation::Column::SectorCode)
        .column(designation::Column::DomainCode)
        .distinct()
        .filter(active_at(as_of))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(operator, regime, sector, domain)| {
            let regime: Regime = regime.parse().ok()?;
            let field = match regime {
                Regime::Ci => sector?,
                Regime::Espa => domain?,
            };
            Some(ActiveField { operator, regime, field })
        })
        .collect())
}

/// `effective_from <= as_of AND (effective_to IS NULL OR as_of < effective_to)`.
pub fn active_at(as_of: NaiveDate) -> Condition {
    Condition::all().add(designation::Column::EffectiveFrom.lte(as_of)).add(
        Condition::any()
            .add(designation::Column::EffectiveTo.is_null())
            .add(designation::Column::EffectiveTo.gt(as_of)),
    )
}

/// The designations under `regime` on one of `fields` (sector or domain codes) or one
/// of `items` (scope-item codes) that still hold on `day` or later: those a retirement
/// from `day` ends.
pub async fn reaching_past(
    conn: &impl ConnectionTrait,
    regime: Regime,
    fields: &[String],
    items: &[String],
    day: NaiveDate,
) -> Result<Vec<Designation>, StorageError> {
    use designation::Column;
    if fields.is_empty() && items.is_empty() {
        return Ok(Vec::new());
    }
    let (field_column, item_column) = match regime {
        Regime::Ci => (Column::SectorCode, Column::SectorItemCode),
        Regime::Espa => (Column::DomainCode, Column::DomainItemCode),
    };
    let models = designation::Entity::find()
        .filter(Column::Regime.eq(regime.as_str()))
        .filter(
            Condition::any()
                .add(field_column.is_in(fields.iter().cloned()))
                .add(item_column.is_in(items.iter().cloned())),
        )
        .filter(Condition::any().add(Column::EffectiveTo.is_null()).add(Column::EffectiveTo.gt(day)))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?;
    models.into_iter().map(Designation::try_from).collect()
}

/// Every designation, grouped by operator id (to compute over all of them while the
/// in-memory index is still loading).
pub async fn all_by_operator(conn: &impl ConnectionTrait) -> Result<HashMap<Uuid, Vec<Designation>>, StorageError> {
    let mut grouped: HashMap<Uuid, Vec<Designation>> = HashMap::new();
    for model in designation::Entity::find().order_by_asc(designation::Column::Id).all(conn).await? {
        let designation = Designation::try_from(model)?;
        grouped.entry(designation.operator_id).or_default().push(designation);
    }
    Ok(grouped)
}

/// One designation's target and period, for counting what started or ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignationPeriod {
    pub regime: Regime,
    pub field: String,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
}

/// A designation's regime, sector code, domain code, start and end, as selected.
type PeriodRow = (String, Option<String>, Option<String>, NaiveDate, Option<NaiveDate>);

/// The designations that start or end on a day `after < D <= until`.
pub async fn starting_or_ending(
    conn: &impl ConnectionTrait,
    after: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<DesignationPeriod>, StorageError> {
    use designation::Column::{DomainCode, EffectiveFrom, EffectiveTo, Regime as RegimeColumn, SectorCode};
    let rows: Vec<PeriodRow> = designation::Entity::find()
        .select_only()
        .columns([RegimeColumn, SectorCode, DomainCode, EffectiveFrom, EffectiveTo])
        .filter(
            Condition::any()
                .add(EffectiveFrom.gt(after).and(EffectiveFrom.lte(until)))
                .add(EffectiveTo.gt(after).and(EffectiveTo.lte(until))),
        )
        .into_tuple()
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|(regime, sector, domain, effective_from, effective_to)| {
            let regime: Regime = regime.parse().map_err(|_| corrupt("designation regime"))?;
            let field = match regime {
                Regime::Ci => sector,
                Regime::Espa => domain,
            };
            let field = field.ok_or_else(|| corrupt("designation target"))?;
            Ok(DesignationPeriod { regime, field, effective_from, effective_to })
        })
        .collect()
}
