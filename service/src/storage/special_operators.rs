//! Periods in which operators are recorded as 特別社会基盤事業者.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::StorageError;
use super::entities::special_operator_period as period;
use super::operators::LOOKUP_CHUNK;
use crate::domain::special_operator::SpecialPeriod;

impl From<period::Model> for SpecialPeriod {
    fn from(m: period::Model) -> Self {
        SpecialPeriod {
            id: m.id,
            operator_id: m.operator_id,
            effective_from: m.effective_from,
            effective_to: m.effective_to,
            ministry: m.ministry_code,
            reference: m.reference,
            end_reason: m.end_reason,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Inserts a new period (a second open one for the operator is a unique violation).
pub async fn insert(conn: &impl ConnectionTrait, p: &SpecialPeriod) -> Result<(), StorageError> {
    let model = period::Model {
        id: p.id,
        operator_id: p.operator_id,
        effective_from: p.effective_from,
        effective_to: p.effective_to,
        ministry_code: p.ministry.clone(),
        reference: p.reference.clone(),
        end_reason: p.end_reason.clone(),
        version: p.version,
        created_at: p.created_at,
        updated_at: p.updated_at,
    };
    period::Entity::insert(period::ActiveModel::from(model)).exec_without_returning(conn).await?;
    Ok(())
}

/// Writes the end of a period if it is still at `expected_version`; whether it was.
pub async fn end(
    conn: &impl ConnectionTrait,
    ended: &SpecialPeriod,
    expected_version: i32,
) -> Result<bool, StorageError> {
    let result = period::Entity::update_many()
        .col_expr(period::Column::EffectiveTo, Expr::value(ended.effective_to))
        .col_expr(period::Column::EndReason, Expr::value(ended.end_reason.clone()))
        .col_expr(period::Column::UpdatedAt, Expr::value(ended.updated_at))
        .col_expr(period::Column::Version, Expr::value(ended.version))
        .filter(period::Column::Id.eq(ended.id))
        .filter(period::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Every period of the given operators, grouped by operator, oldest first (operators
/// without any are absent).
pub async fn of_operators(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<SpecialPeriod>>, StorageError> {
    let mut grouped = HashMap::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let periods = period::Entity::find().filter(period::Column::OperatorId.is_in(chunk.iter().copied()));
        group_into(&mut grouped, conn, periods).await?;
    }
    Ok(grouped)
}

/// Every period of every operator, grouped by operator, oldest first.
pub async fn all(conn: &impl ConnectionTrait) -> Result<HashMap<Uuid, Vec<SpecialPeriod>>, StorageError> {
    let mut grouped = HashMap::new();
    group_into(&mut grouped, conn, period::Entity::find()).await?;
    Ok(grouped)
}

/// Reads the selected periods, oldest first per operator, into `grouped`.
async fn group_into(
    grouped: &mut HashMap<Uuid, Vec<SpecialPeriod>>,
    conn: &impl ConnectionTrait,
    periods: sea_orm::Select<period::Entity>,
) -> Result<(), StorageError> {
    let rows =
        periods.order_by_asc(period::Column::OperatorId).order_by_asc(period::Column::EffectiveFrom).all(conn).await?;
    for row in rows {
        grouped.entry(row.operator_id).or_default().push(row.into());
    }
    Ok(())
}

/// The operators recorded as 特別社会基盤事業者 at `date` (for reports while the index
/// is still loading).
pub async fn active_at(conn: &impl ConnectionTrait, date: NaiveDate) -> Result<HashSet<Uuid>, StorageError> {
    let ids: Vec<Uuid> = period::Entity::find()
        .select_only()
        .column(period::Column::OperatorId)
        .filter(period::Column::EffectiveFrom.lte(date))
        .filter(Condition::any().add(period::Column::EffectiveTo.is_null()).add(period::Column::EffectiveTo.gt(date)))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ids.into_iter().collect())
}
