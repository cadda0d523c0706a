//! Operators: look-ups, filtered and paginated listings.

use futures_util::{Stream, StreamExt};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    StreamTrait,
};
use uuid::Uuid;

use super::entities::{designation, operator};
use super::{StorageError, corrupt};
use crate::domain::operator::{Operator, OperatorQuery};
use crate::domain::{CorporateNumber, Regime};

impl TryFrom<operator::Model> for Operator {
    type Error = StorageError;
    fn try_from(m: operator::Model) -> Result<Self, StorageError> {
        let number = |text: &str| CorporateNumber::parse(text).map_err(|_| corrupt("corporate number"));
        Ok(Operator {
            id: m.id,
            corporate_number: number(&m.corporate_number)?,
            successor: m.successor_corporate_number.as_deref().map(number).transpose()?,
            name_ja: m.name_ja,
            name_en: m.name_en,
            closed_on: m.closed_on,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

impl From<&Operator> for operator::Model {
    fn from(o: &Operator) -> Self {
        operator::Model {
            id: o.id,
            corporate_number: o.corporate_number.to_string(),
            name_ja: o.name_ja.clone(),
            name_en: o.name_en.clone(),
            closed_on: o.closed_on,
            successor_corporate_number: o.successor.map(|s| s.to_string()),
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

fn convert(models: Vec<operator::Model>) -> Result<Vec<Operator>, StorageError> {
    models.into_iter().map(Operator::try_from).collect()
}

pub async fn insert(conn: &impl ConnectionTrait, operator: &Operator) -> Result<(), StorageError> {
    operator::Entity::insert(operator::ActiveModel::from(operator::Model::from(operator)))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Rows per multi-row INSERT: keeps every statement under SQLite's and PostgreSQL's
/// bound-parameter limits.
pub(crate) const INSERT_CHUNK: usize = 1000;

/// Registers many operators (in chunks of multi-row inserts).
pub async fn insert_many(conn: &impl ConnectionTrait, operators: &[Operator]) -> Result<(), StorageError> {
    for chunk in operators.chunks(INSERT_CHUNK) {
        let models = chunk.iter().map(|o| operator::ActiveModel::from(operator::Model::from(o)));
        operator::Entity::insert_many(models).exec_without_returning(conn).await?;
    }
    Ok(())
}

pub async fn find_by_corporate_number(
    conn: &impl ConnectionTrait,
    corporate_number: &CorporateNumber,
) -> Result<Option<Operator>, StorageError> {
    operator::Entity::find()
        .filter(operator::Column::CorporateNumber.eq(corporate_number.as_str()))
        .one(conn)
        .await?
        .map(Operator::try_from)
        .transpose()
}

/// Sets the names of an operator still at `expected_version`; returns whether it was.
pub async fn update_names(
    conn: &impl ConnectionTrait,
    updated: &Operator,
    expected_version: i32,
) -> Result<bool, StorageError> {
    let result = operator::Entity::update_many()
        .col_expr(operator::Column::NameJa, Expr::value(updated.name_ja.as_str()))
        .col_expr(operator::Column::NameEn, Expr::value(updated.name_en.clone()))
        .col_expr(operator::Column::UpdatedAt, Expr::value(updated.updated_at))
        .col_expr(operator::Column::Version, Expr::col(operator::Column::Version).add(1))
        .filter(operator::Column::Id.eq(updated.id))
        .filter(operator::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records an operator's closing (and successor) if it is still at `expected_version`
/// and open; returns whether it was.
pub async fn close(
    conn: &impl ConnectionTrait,
    closed: &Operator,
    expected_version: i32,
) -> Result<bool, StorageError> {
    let result = operator::Entity::update_many()
        .col_expr(operator::Column::ClosedOn, Expr::value(closed.closed_on))
        .col_expr(operator::Column::SuccessorCorporateNumber, Expr::value(closed.successor.map(|s| s.to_string())))
        .col_expr(operator::Column::UpdatedAt, Expr::value(closed.updated_at))
        .col_expr(operator::Column::Version, Expr::col(operator::Column::Version).add(1))
        .filter(operator::Column::Id.eq(closed.id))
        .filter(operator::Column::Version.eq(expected_version))
        .filter(operator::Column::ClosedOn.is_null())
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The operators that named this one as their successor, in corporate-number order.
pub async fn predecessors(
    conn: &impl ConnectionTrait,
    successor: &CorporateNumber,
) -> Result<Vec<Operator>, StorageError> {
    convert(
        operator::Entity::find()
            .filter(operator::Column::SuccessorCorporateNumber.eq(successor.as_str()))
            .order_by_asc(operator::Column::CorporateNumber)
            .all(conn)
            .await?,
    )
}

pub async fn find_by_corporate_numbers(
    conn: &impl ConnectionTrait,
    corporate_numbers: &[CorporateNumber],
) -> Result<Vec<Operator>, StorageError> {
    let mut found = Vec::new();
    for chunk in corporate_numbers.chunks(LOOKUP_CHUNK) {
        let models = operator::Entity::find()
            .filter(operator::Column::CorporateNumber.is_in(chunk.iter().map(|n| n.to_string())))
            .all(conn)
            .await?;
        found.extend(convert(models)?);
    }
    Ok(found)
}

/// Keys per `IN (…)` look-up.
pub(crate) const LOOKUP_CHUNK: usize = 5000;

/// Every operator in corporate-number order, read as a stream (the in-memory index reads
/// them all at start, beside [`super::designations::all_in_operator_order`]).
pub async fn all_in_number_order<C: ConnectionTrait + StreamTrait + Send>(
    conn: &C,
) -> Result<impl Stream<Item = Result<Operator, StorageError>> + Send + '_, StorageError> {
    let rows = operator::Entity::find().order_by_asc(operator::Column::CorporateNumber).stream(conn).await?;
    Ok(rows.map(|row| Operator::try_from(row?)))
}

pub async fn find_by_ids(conn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Operator>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    convert(operator::Entity::find().filter(operator::Column::Id.is_in(ids.iter().copied())).all(conn).await?)
}

fn condition(query: &OperatorQuery) -> Condition {
    let mut condition = Condition::all();
    for &regime in &query.regimes {
        condition = condition.add(Expr::exists(active_designations(query, |q| {
            q.and_where(Expr::col((designation::Entity, designation::Column::Regime)).eq(regime.as_str()));
        })));
    }
    if let Some(regime) = query.not_regime {
        condition = condition.add(
            Expr::exists(active_designations(query, |q| {
                q.and_where(Expr::col((designation::Entity, designation::Column::Regime)).eq(regime.as_str()));
            }))
            .not(),
        );
    }
    if let Some(sector) = &query.sector {
        condition = condition.add(Expr::exists(active_designations(query, |q| {
            q.and_where(Expr::col((designation::Entity, designation::Column::Regime)).eq(Regime::Ci.as_str()))
                .and_where(Expr::col((designation::Entity, designation::Column::SectorCode)).eq(sector.as_str()));
        })));
    }
    if let Some(domain) = &query.domain {
        condition = condition.add(Expr::exists(active_designations(query, |q| {
            q.and_where(Expr::col((designation::Entity, designation::Column::Regime)).eq(Regime::Espa.as_str()))
                .and_where(Expr::col((designation::Entity, designation::Column::DomainCode)).eq(domain.as_str()));
        })));
    }
    if let Some(sectors) = &query.not_in_sectors
        && !sectors.is_empty()
    {
        condition = condition.add(
            Expr::exists(active_designations(query, |q| {
                q.and_where(Expr::col((designation::Entity, designation::Column::Regime)).eq(Regime::Ci.as_str()))
                    .and_where(
                        Expr::col((designation::Entity, designation::Column::SectorCode))
                            .is_in(sectors.iter().map(String::as_str)),
                    );
            }))
            .not(),
        );
    }
    if let Some(text) = &query.name_contains {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        condition = condition.add(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col(operator::Column::NameJa)))
                        .like(LikeExpr::new(&pattern).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col(operator::Column::NameEn)))
                        .like(LikeExpr::new(&pattern).escape('\\')),
                ),
        );
    }
    condition
}

/// `SELECT 1 FROM designation WHERE operator_id = operator.id AND <active at as_of>`,
/// narrowed by `extra`.
fn active_designations(listing: &OperatorQuery, extra: impl FnOnce(&mut SelectStatement)) -> SelectStatement {
    let mut query = Query::select();
    query
        .expr(Expr::val(1))
        .from(designation::Entity)
        .and_where(
            Expr::col((designation::Entity, designation::Column::OperatorId))
                .equals((operator::Entity, operator::Column::Id)),
        )
        .and_where(Expr::col((designation::Entity, designation::Column::EffectiveFrom)).lte(listing.as_of))
        .and_where(
            Expr::col((designation::Entity, designation::Column::EffectiveTo)).is_null().or(Expr::col((
                designation::Entity,
                designation::Column::EffectiveTo,
            ))
            .gt(listing.as_of)),
        );
    extra(&mut query);
    query
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// One page in corporate-number order, after the given corporate number.
pub async fn page(
    conn: &impl ConnectionTrait,
    query: &OperatorQuery,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Operator>, StorageError> {
    let mut select = operator::Entity::find().filter(condition(query));
    if let Some(after) = after {
        select = select.filter(operator::Column::CorporateNumber.gt(after));
    }
    convert(select.order_by_asc(operator::Column::CorporateNumber).limit(limit).all(conn).await?)
}

pub async fn count(conn: &impl ConnectionTrait, query: &OperatorQuery) -> Result<u64, StorageError> {
    Ok(operator::Entity::find().filter(condition(query)).count(conn).await?)
}
