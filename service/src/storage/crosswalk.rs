//! Crosswalk links in the database: the two link tables behind one interface, a pair's
//! timeline, and the writes a curation makes.

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};

use super::entities::{crosswalk_link, scope_item_link};
use super::{StorageError, corrupt};
use crate::domain::crosswalk::{LinkEdit, LinkKind, StoredLink};
use crate::domain::reference::{LinkOrigin, LinkRecord, Provenance};
use crate::domain::{Relation, Validity};

/// A row of either link table (sector–domain or scope item–scope item).
pub(crate) trait LinkRow:
    Clone + Send + Sync + IntoActiveModel<<Self::Entity as EntityTrait>::ActiveModel> + 'static
where
    <Self::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = Self::Entity> + ActiveModelBehavior + Send,
{
    type Entity: EntityTrait<Model = Self>;
    /// The id, CI-side and ESPA-side columns.
    fn columns() -> [<Self::Entity as EntityTrait>::Column; 3];
    fn from_record(id: i32, link: &LinkRecord) -> Self;
    fn into_stored(self) -> Result<StoredLink, StorageError>;
    fn id(&self) -> i32;
    fn origin(&self) -> &str;
    /// The pair it links, as "<ci>:<espa>".
    fn pair_key(&self) -> String;
}

fn parse_relation_and_origin(relation: &str, origin: &str) -> Result<(Relation, LinkOrigin), StorageError> {
    Ok((
        relation.parse().map_err(|_| corrupt("relation"))?,
        LinkOrigin::parse(origin).ok_or_else(|| corrupt("link origin"))?,
    ))
}

macro_rules! link_row {
    ($module:ident, $ci:ident, $espa:ident, $ci_col:ident, $espa_col:ident) => {
        impl LinkRow for $module::Model {
            type Entity = $module::Entity;

            fn columns() -> [$module::Column; 3] {
                [$module::Column::Id, $module::Column::$ci_col, $module::Column::$espa_col]
            }

            fn from_record(id: i32, link: &LinkRecord) -> Self {
                $module::Model {
                    id,
                    $ci: link.ci.clone(),
                    $espa: link.espa.clone(),
                    relation: link.relation.as_str().to_owned(),
                    rationale: link.rationale.clone(),
                    origin: link.origin.as_str().to_owned(),
                    valid_from: link.validity.from,
                    valid_to: link.validity.to,
                    source_code: link.provenance.source.clone(),
                    source_locator: link.provenance.locator.clone(),
                    confirmed: link.provenance.confirmed,
                    note: link.provenance.note.clone(),
                }
            }

            fn into_stored(self) -> Result<StoredLink, StorageError> {
                let (relation, origin) = parse_relation_and_origin(&self.relation, &self.origin)?;
                Ok(StoredLink {
                    id: self.id,
                    link: LinkRecord {
                        ci: self.$ci,
                        espa: self.$espa,
                        relation,
                        rationale: self.rationale,
                        validity: Validity::new(self.valid_from, self.valid_to),
                        provenance: Provenance {
                            source: self.source_code,
                            locator: self.source_locator,
                            confirmed: self.confirmed,
                            note: self.note,
                        },
                        origin,
                    },
                })
            }

            fn id(&self) -> i32 {
                self.id
            }

            fn origin(&self) -> &str {
                &self.origin
            }

            fn pair_key(&self) -> String {
                format!("{}:{}", self.$ci, self.$espa)
            }
        }
    };
}

link_row!(crosswalk_link, sector_code, domain_code, SectorCode, DomainCode);
link_row!(scope_item_link, sector_item_code, domain_item_code, SectorItemCode, DomainItemCode);

async fn pair_of<M>(conn: &impl ConnectionTrait, ci: &str, espa: &str) -> Result<Vec<StoredLink>, StorageError>
where
    M: LinkRow,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + ActiveModelBehavior + Send,
{
    let [id, ci_col, espa_col] = M::columns();
    M::Entity::find()
        .filter(Condition::all().add(ci_col.eq(ci)).add(espa_col.eq(espa)))
        .order_by_asc(id)
        .all(conn)
        .await?
        .into_iter()
        .map(M::into_stored)
        .collect()
}

/// Every stored link between `ci` and `espa` (all periods), oldest first.
pub async fn pair(
    conn: &impl ConnectionTrait,
    kind: LinkKind,
    ci: &str,
    espa: &str,
) -> Result<Vec<StoredLink>, StorageError> {
    match kind {
        LinkKind::Fields => pair_of::<crosswalk_link::Model>(conn, ci, espa).await,
        LinkKind::ScopeItems => pair_of::<scope_item_link::Model>(conn, ci, espa).await,
    }
}

async fn apply_to<M>(conn: &impl ConnectionTrait, edits: &[LinkEdit]) -> Result<(), StorageError>
where
    M: LinkRow,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + ActiveModelBehavior + Send,
{
    let [id_col, ..] = M::columns();
    for edit in edits {
        match edit {
            LinkEdit::Update { id, link } => {
                M::Entity::update(M::from_record(*id, link).into_active_model().reset_all()).exec(conn).await?;
            }
            LinkEdit::Insert(link) => {
                let mut row = M::from_record(0, link).into_active_model();
                row.not_set(id_col);
                M::Entity::insert(row).exec_without_returning(conn).await?;
            }
            LinkEdit::Delete { id } => {
                M::Entity::delete_many().filter(id_col.eq(*id)).exec(conn).await?;
            }
        }
    }
    Ok(())
}

/// Makes a curation's writes, in order.
pub async fn apply(conn: &impl ConnectionTrait, kind: LinkKind, edits: &[LinkEdit]) -> Result<(), StorageError> {
    match kind {
        LinkKind::Fields => apply_to::<crosswalk_link::Model>(conn, edits).await,
        LinkKind::ScopeItems => apply_to::<scope_item_link::Model>(conn, edits).await,
    }
}
