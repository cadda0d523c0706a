//! Scope revision proposals in the database: one row each, its changes as a JSON array
//! in their order, and once promoted, what the promotion wrote (JSON of
//! [`PromotedRecords`]).

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::entities::scope_proposal;
use super::{StorageError, corrupt};
use crate::domain::proposal::{PromotedRecords, ProposalStatus, ScopeChange, ScopeProposal};

impl TryFrom<scope_proposal::Model> for ScopeProposal {
    type Error = StorageError;
    fn try_from(m: scope_proposal::Model) -> Result<Self, StorageError> {
        let changes: Vec<ScopeChange> =
            serde_json::from_str(&m.changes).map_err(|_| corrupt("scope proposal changes"))?;
        Ok(ScopeProposal {
            id: m.id,
            title: m.title,
            description: Some(m.description).filter(|d| !d.is_empty()),
            status: m.status.parse().map_err(|_| corrupt("scope proposal status"))?,
            effective_from: m.effective_from,
            version: m.version,
            changes,
            created_at: m.created_at,
            created_by: m.created_by,
            updated_at: m.updated_at,
            promoted_at: m.promoted_at,
            promoted_by: m.promoted_by,
        })
    }
}

fn changes_json(proposal: &ScopeProposal) -> Result<String, StorageError> {
    serde_json::to_string(&proposal.changes).map_err(|_| corrupt("scope proposal changes"))
}

pub async fn insert(conn: &impl ConnectionTrait, proposal: &ScopeProposal) -> Result<(), StorageError> {
    let row = scope_proposal::Model {
        id: proposal.id,
        title: proposal.title.clone(),
        description: proposal.description.clone().unwrap_or_default(),
        status: proposal.status.as_str().to_owned(),
        effective_from: proposal.effective_from,
        version: proposal.version,
        changes: changes_json(proposal)?,
        created_at: proposal.created_at,
        created_by: proposal.created_by.clone(),
        updated_at: proposal.updated_at,
        promoted_at: None,
        promoted_by: None,
        source_code: None,
        promoted_records: None,
    };
    scope_proposal::Entity::insert(scope_proposal::ActiveModel::from(row)).exec_without_returning(conn).await?;
    Ok(())
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<ScopeProposal>, StorageError> {
    scope_proposal::Entity::find_by_id(id).one(conn).await?.map(ScopeProposal::try_from).transpose()
}

/// Every proposal (with this status), oldest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    status: Option<ProposalStatus>,
) -> Result<Vec<ScopeProposal>, StorageError> {
    let mut select = scope_proposal::Entity::find();
    if let Some(status) = status {
        select = select.filter(scope_proposal::Column::Status.eq(status.as_str()));
    }
    select
        .order_by_asc(scope_proposal::Column::CreatedAt)
        .order_by_asc(scope_proposal::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(ScopeProposal::try_from)
        .collect()
}

/// Writes the proposal's new state (status, version, changes; once promoted, what it
/// wrote), if it is still at `expected_version`. Returns whether it was.
pub async fn update(
    conn: &impl ConnectionTrait,
    proposal: &ScopeProposal,
    expected_version: i32,
    promoted: Option<&PromotedRecords>,
) -> Result<bool, StorageError> {
    let mut row = scope_proposal::ActiveModel {
        status: Set(proposal.status.as_str().to_owned()),
        version: Set(proposal.version),
        changes: Set(changes_json(proposal)?),
        updated_at: Set(proposal.updated_at),
        promoted_at: Set(proposal.promoted_at),
        promoted_by: Set(proposal.promoted_by.clone()),
        ..Default::default()
    };
    if let Some(promoted) = promoted {
        row.source_code = Set(Some(promoted.source.clone()));
        let json = serde_json::to_string(promoted).map_err(|_| corrupt("promoted records"))?;
        row.promoted_records = Set(Some(json));
    }
    let result = scope_proposal::Entity::update_many()
        .set(row)
        .filter(scope_proposal::Column::Id.eq(proposal.id))
        .filter(scope_proposal::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// What every promotion wrote, in the order they were promoted.
pub async fn promotions(conn: &impl ConnectionTrait) -> Result<Vec<PromotedRecords>, StorageError> {
    scope_proposal::Entity::find()
        .filter(scope_proposal::Column::Status.eq(ProposalStatus::Promoted.as_str()))
        .order_by_asc(scope_proposal::Column::PromotedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(|m| {
            let json = m.promoted_records.ok_or_else(|| corrupt("promoted records"))?;
            serde_json::from_str(&json).map_err(|_| corrupt("promoted records"))
        })
        .collect()
}
