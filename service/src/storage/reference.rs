//! Reference data in the database: loading it into memory, and syncing it from the
//! seed-data files (idempotent: unchanged records are not touched).

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Iterable,
    PaginatorTrait, PrimaryKeyToColumn, PrimaryKeyTrait, QueryOrder,
};
use serde::Deserialize;
use serde_json::Value;

use super::StorageError;
use super::crosswalk::LinkRow;
use super::entities::{
    business_domain, crosswalk_link, crosswalk_override, domain_scope_item, jurisdiction, ministry, obligation_rule,
    scope_item_link, sector, sector_scope_item, source,
};
use crate::domain::audit::{AuditAction, AuditEvent};
use crate::domain::proposal::RecordPositions;
use crate::domain::reference::{
    Addressee, FieldRecord, JurisdictionRecord, LinkOrigin, LinkOverride, LinkRecord, MinistryRecord, ObligationRule,
    Provenance, ReferenceData, ScopeItemRecord, SourceRecord,
};
use crate::domain::{Regime, Validity};

/// What a sync changed, per kind of record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    pub kinds: Vec<KindReport>,
    /// Every row written, with its state before and after (for the audit trail).
    pub changes: Vec<RowChange>,
    /// Crosswalk pairs curated through the API on which seed-data says something else:
    /// the sync leaves them as curated.
    pub conflicts: Vec<LinkConflict>,
    /// Curated crosswalk pairs that seed-data now says exactly: they count as seeded again.
    pub adopted: Vec<String>,
}

/// One row a sync wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    pub kind: &'static str,
    pub key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A crosswalk pair on which seed-data and a curation disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConflict {
    pub kind: &'static str,
    /// "<ci>:<espa>".
    pub pair: String,
    pub seed_data: Vec<LinkRecord>,
    pub curated: Vec<LinkRecord>,
}

/// "SUBSET_OF until 2027-01-01; EQUAL from 2027-01-01", or "no link".
fn describe_links(links: &[LinkRecord]) -> String {
    if links.is_empty() {
        return "no link".to_owned();
    }
    let period = |v: &Validity| match (v.from, v.to) {
        (None, None) => "always".to_owned(),
        (Some(from), None) => format!("from {from}"),
        (None, Some(to)) => format!("until {to}"),
        (Some(from), Some(to)) => format!("from {from} until {to}"),
    };
    links.iter().map(|l| format!("{} {}", l.relation, period(&l.validity))).collect::<Vec<_>>().join("; ")
}

impl fmt::Display for LinkConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: seed-data says {}, the curated links say {}",
            self.kind,
            self.pair,
            describe_links(&self.seed_data),
            describe_links(&self.curated)
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindReport {
    pub kind: &'static str,
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
}

impl SyncReport {
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for k in &self.kinds {
            writeln!(
                f,
                "{:<18} inserted {:>3}  updated {:>3}  deleted {:>3}  unchanged {:>3}",
                k.kind, k.inserted, k.updated, k.deleted, k.unchanged
            )?;
        }
        for pair in &self.adopted {
            writeln!(f, "adopted: {pair} was curated and seed-data now says the same")?;
        }
        for conflict in &self.conflicts {
            writeln!(f, "conflict: {conflict}")?;
        }
        Ok(())
    }
}

/// True when no reference data has been loaded yet (a new database).
pub async fn is_empty(conn: &DatabaseConnection) -> Result<bool, StorageError> {
    Ok(sector::Entity::find().count(conn).await? == 0)
}

/// Every reference table's rows, as stored.
struct ReferenceRows {
    sources: Vec<source::Model>,
    ministries: Vec<ministry::Model>,
    sectors: Vec<sector::Model>,
    domains: Vec<business_domain::Model>,
    sector_items: Vec<sector_scope_item::Model>,
    domain_items: Vec<domain_scope_item::Model>,
    jurisdictions: Vec<jurisdiction::Model>,
    links: Vec<crosswalk_link::Model>,
    item_links: Vec<scope_item_link::Model>,
    link_overrides: Vec<crosswalk_override::Model>,
    obligations: Vec<obligation_rule::Model>,
}

impl ReferenceRows {
    async fn read(conn: &impl ConnectionTrait) -> Result<Self, StorageError> {
        Ok(Self {
            sources: source::Entity::find().order_by_asc(source::Column::Code).all(conn).await?,
            ministries: ministry::Entity::find().order_by_asc(ministry::Column::Position).all(conn).await?,
            sectors: sector::Entity::find().order_by_asc(sector::Column::Position).all(conn).await?,
            domains: business_domain::Entity::find().order_by_asc(business_domain::Column::Position).all(conn).await?,
            sector_items: sector_scope_item::Entity::find()
                .order_by_asc(sector_scope_item::Column::Position)
                .all(conn)
                .await?,
            domain_items: domain_scope_item::Entity::find()
                .order_by_asc(domain_scope_item::Column::Position)
                .all(conn)
                .await?,
            jurisdictions: jurisdiction::Entity::find().order_by_asc(jurisdiction::Column::Id).all(conn).await?,
            links: crosswalk_link::Entity::find().order_by_asc(crosswalk_link::Column::Id).all(conn).await?,
            item_links: scope_item_link::Entity::find().order_by_asc(scope_item_link::Column::Id).all(conn).await?,
            link_overrides: crosswalk_override::Entity::find()
                .order_by_asc(crosswalk_override::Column::SectorCode)
                .order_by_asc(crosswalk_override::Column::DomainCode)
                .all(conn)
                .await?,
            obligations: obligation_rule::Entity::find()
                .order_by_asc(obligation_rule::Column::Position)
                .all(conn)
                .await?,
        })
    }
}

/// Reads all reference data, in display order.
pub async fn load(conn: &impl ConnectionTrait) -> Result<ReferenceData, StorageError> {
    assemble(ReferenceRows::read(conn).await?)
}

/// The reference data as the registry held it once event `after` was recorded: the
/// stored rows with every later seed-data load and curation undone, newest first.
pub async fn load_as_recorded(conn: &impl ConnectionTrait, after: i64) -> Result<ReferenceData, StorageError> {
    let mut rows = ReferenceRows::read(conn).await?;
    for event in super::record_time::later_reference_changes(conn, after).await? {
        rows.undo(&event)?;
    }
    rows.sort();
    assemble(rows)
}

fn assemble(rows: ReferenceRows) -> Result<ReferenceData, StorageError> {
    let ReferenceRows {
        sources,
        ministries,
        sectors,
        domains,
        sector_items,
        domain_items,
        jurisdictions,
        links,
        item_links,
        link_overrides,
        obligations,
    } = rows;
    let corrupt =
        |what: &str| StorageError::Database(sea_orm::DbErr::Custom(format!("invalid {what} in the database")));
    let mut data = ReferenceData {
        sources: sources
            .into_iter()
            .map(|s| SourceRecord {
                code: s.code,
                title: s.title,
                publisher: s.publisher,
                published_on: s.published_on,
                url: s.url,
                note: s.note,
            })
            .collect(),
        ministries: ministries
            .into_iter()
            .map(|m| MinistryRecord {
                provenance: provenance(m.source_code, m.source_locator, m.confirmed, m.note),
                code: m.code,
                name_ja: m.name_ja,
                name_en: m.name_en,
            })
            .collect(),
        sectors: sectors.into_iter().map(sector::Model::into_record).collect(),
        domains: domains.into_iter().map(business_domain::Model::into_record).collect(),
        sector_items: sector_items.into_iter().map(sector_scope_item::Model::into_record).collect(),
        domain_items: domain_items.into_iter().map(domain_scope_item::Model::into_record).collect(),
        link_overrides: link_overrides
            .into_iter()
            .map(|o| LinkOverride { sector: o.sector_code, domain: o.domain_code, reason: o.reason })
            .collect(),
        ..ReferenceData::default()
    };
    for j in jurisdictions {
        let (regime, field, scope_item) = match (j.sector_code, j.domain_code, j.sector_item_code, j.domain_item_code) {
            (Some(sector), None, item, None) => (Regime::Ci, sector, item),
            (None, Some(domain), None, item) => (Regime::Espa, domain, item),
            _ => return Err(corrupt("jurisdiction")),
        };
        data.jurisdictions.push(JurisdictionRecord {
            ministry: j.ministry_code,
            regime,
            field,
            scope_item,
            validity: Validity::new(j.valid_from, j.valid_to),
            provenance: provenance(j.source_code, j.source_locator, j.confirmed, j.note),
        });
    }
    for link in links {
        data.links.push(link.into_stored()?.link);
    }
    for link in item_links {
        data.item_links.push(link.into_stored()?.link);
    }
    for o in obligations {
        let triggered_by: Regime = o.triggered_by.parse().map_err(|_| corrupt("regime"))?;
        let binds = match o.binds.as_deref() {
            Some(binds) => Addressee::parse(binds).ok_or_else(|| corrupt("obligation addressee"))?,
            None => Addressee::designees_of(triggered_by),
        };
        data.obligations.push(ObligationRule {
            triggered_by,
            binds,
            provenance: provenance(o.source_code, o.source_locator, o.confirmed, o.note),
            code: o.code,
            name_ja: o.name_ja,
            name_en: o.name_en,
            legal_basis: o.legal_basis,
            in_force_from: o.in_force_from,
            description: o.description,
        });
    }
    Ok(data)
}

fn provenance(source: String, locator: Option<String>, confirmed: bool, note: Option<String>) -> Provenance {
    Provenance { source, locator, confirmed, note }
}

/// A row of `$module` with the given columns and the provenance columns every
/// reference table has.
macro_rules! row_with_provenance {
    ($module:ident, $provenance:expr, { $($column:ident: $value:expr),* $(,)? }) => {{
        let provenance: &Provenance = $provenance;
        $module::Model {
            $($column: $value,)*
            source_code: provenance.source.clone(),
            source_locator: provenance.locator.clone(),
            confirmed: provenance.confirmed,
            note: provenance.note.clone(),
        }
    }};
}

/// Sectors and business domains are stored alike, one table per regime.
macro_rules! field_row {
    ($module:ident) => {
        impl $module::Model {
            fn into_record(self) -> FieldRecord {
                FieldRecord {
                    validity: Validity::new(self.valid_from, self.valid_to),
                    provenance: provenance(self.source_code, self.source_locator, self.confirmed, self.note),
                    code: self.code,
                    name_ja: self.name_ja,
                    name_en: self.name_en,
                    exhaustive: self.exhaustive,
                }
            }

            fn from_record(index: usize, field: &FieldRecord) -> Self {
                row_with_provenance!($module, &field.provenance, {
                    code: field.code.clone(),
                    name_ja: field.name_ja.clone(),
                    name_en: field.name_en.clone(),
                    position: position(index),
                    valid_from: field.validity.from,
                    valid_to: field.validity.to,
                    exhaustive: field.exhaustive,
                })
            }
        }
    };
}

/// Scope items likewise, with the parent's code in `$parent`.
macro_rules! scope_item_row {
    ($module:ident, $parent:ident) => {
        impl $module::Model {
            fn into_record(self) -> ScopeItemRecord {
                ScopeItemRecord {
                    validity: Validity::new(self.valid_from, self.valid_to),
                    provenance: provenance(self.source_code, self.source_locator, self.confirmed, self.note),
                    code: self.code,
                    parent: self.$parent,
                    name_ja: self.name_ja,
                    name_en: self.name_en,
                    legal_basis: self.legal_basis,
                }
            }

            fn from_record(index: usize, item: &ScopeItemRecord) -> Self {
                row_with_provenance!($module, &item.provenance, {
                    code: item.code.clone(),
                    $parent: item.parent.clone(),
                    name_ja: item.name_ja.clone(),
                    name_en: item.name_en.clone(),
                    position: position(index),
                    valid_from: item.validity.from,
                    valid_to: item.validity.to,
                    legal_basis: item.legal_basis.clone(),
                })
            }
        }
    };
}

field_row!(sector);
field_row!(business_domain);
scope_item_row!(sector_scope_item, sector_code);
scope_item_row!(domain_scope_item, domain_code);

fn position(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// A row that seed-data defines: identified by a natural key, which for tables with
/// a surrogate id is not the primary key.
trait SeedRow: Clone + PartialEq + Send + Sync + serde::Serialize + 'static {
    type Entity: EntityTrait<Model = Self>;
    const KIND: &'static str;
    fn key(&self) -> String;
    /// Takes over the surrogate id of the stored row with the same natural key.
    fn adopt_id(&mut self, _stored: &Self) {}
}

macro_rules! seed_row {
    ($module:ident, $kind:literal, |$row:ident| $key:expr $(, surrogate $id:ident)?) => {
        impl SeedRow for $module::Model {
            type Entity = $module::Entity;
            const KIND: &'static str = $kind;
            fn key(&self) -> String {
                let $row = self;
                $key
            }
            $(
                fn adopt_id(&mut self, stored: &Self) {
                    self.$id = stored.$id;
                }
            )?
        }
    };
}

seed_row!(source, "sources", |r| r.code.clone());
seed_row!(ministry, "ministries", |r| r.code.clone());
seed_row!(sector, "sectors", |r| r.code.clone());
seed_row!(business_domain, "domains", |r| r.code.clone());
seed_row!(sector_scope_item, "sector items", |r| r.code.clone());
seed_row!(domain_scope_item, "domain items", |r| r.code.clone());
seed_row!(obligation_rule, "obligations", |r| r.code.clone());
seed_row!(crosswalk_override, "link overrides", |r| format!("{}|{}", r.sector_code, r.domain_code));
// A jurisdiction narrowed to a scope item adds the item to the key; one over the whole
// field keeps the key it had before narrowing existed (the audit trail's keys stay valid).
seed_row!(
    jurisdiction,
    "jurisdictions",
    |r| {
        let key = format!("{}|{:?}|{:?}|{:?}", r.ministry_code, r.sector_code, r.domain_code, r.valid_from);
        match r.sector_item_code.as_ref().or(r.domain_item_code.as_ref()) {
            None => key,
            Some(item) => format!("{key}|{item}"),
        }
    },
    surrogate id
);
seed_row!(crosswalk_link, "links", |r| format!("{}|{}|{:?}", r.sector_code, r.domain_code, r.valid_from), surrogate id);
seed_row!(
    scope_item_link,
    "item links",
    |r| format!("{}|{}|{:?}", r.sector_item_code, r.domain_item_code, r.valid_from),
    surrogate id
);

/// The rows of every table as seed-data defines them.
impl ReferenceRows {
    fn desired(data: &ReferenceData) -> Self {
        Self {
            sources: data.sources.iter().map(source::Model::from_record).collect(),
            ministries: in_order(&data.ministries, ministry::Model::from_record),
            sectors: in_order(&data.sectors, sector::Model::from_record),
            domains: in_order(&data.domains, business_domain::Model::from_record),
            sector_items: in_order(&data.sector_items, sector_scope_item::Model::from_record),
            domain_items: in_order(&data.domain_items, domain_scope_item::Model::from_record),
            jurisdictions: data.jurisdictions.iter().map(jurisdiction::Model::from_record).collect(),
            links: data.links.iter().map(|l| crosswalk_link::Model::from_record(0, l)).collect(),
            item_links: data.item_links.iter().map(|l| scope_item_link::Model::from_record(0, l)).collect(),
            link_overrides: data
                .link_overrides
                .iter()
                .map(|o| crosswalk_override::Model {
                    sector_code: o.sector.clone(),
                    domain_code: o.domain.clone(),
                    reason: o.reason.clone(),
                })
                .collect(),
            obligations: in_order(&data.obligations, obligation_rule::Model::from_record),
        }
    }
}

/// Rows for records whose order in seed-data is their display position.
fn in_order<R, M>(records: &[R], row: impl Fn(usize, &R) -> M) -> Vec<M> {
    records.iter().enumerate().map(|(index, record)| row(index, record)).collect()
}

impl source::Model {
    fn from_record(s: &SourceRecord) -> Self {
        Self {
            code: s.code.clone(),
            title: s.title.clone(),
            publisher: s.publisher.clone(),
            published_on: s.published_on,
            url: s.url.clone(),
            note: s.note.clone(),
        }
    }
}

impl ministry::Model {
    fn from_record(index: usize, m: &MinistryRecord) -> Self {
        row_with_provenance!(ministry, &m.provenance, {
            code: m.code.clone(),
            name_ja: m.name_ja.clone(),
            name_en: m.name_en.clone(),
            position: position(index),
        })
    }
}

impl jurisdiction::Model {
    fn from_record(j: &JurisdictionRecord) -> Self {
        let (sector_code, domain_code, sector_item_code, domain_item_code) = match j.regime {
            Regime::Ci => (Some(j.field.clone()), None, j.scope_item.clone(), None),
            Regime::Espa => (None, Some(j.field.clone()), None, j.scope_item.clone()),
        };
        // The id is the database's; the sync adopts the stored row's.
        row_with_provenance!(jurisdiction, &j.provenance, {
            id: 0,
            ministry_code: j.ministry.clone(),
            sector_code: sector_code,
            domain_code: domain_code,
            sector_item_code: sector_item_code,
            domain_item_code: domain_item_code,
            valid_from: j.validity.from,
            valid_to: j.validity.to,
        })
    }
}

impl obligation_rule::Model {
    fn from_record(index: usize, o: &ObligationRule) -> Self {
        row_with_provenance!(obligation_rule, &o.provenance, {
            code: o.code.clone(),
            name_ja: o.name_ja.clone(),
            name_en: o.name_en.clone(),
            legal_basis: o.legal_basis.clone(),
            triggered_by: o.triggered_by.as_str().to_owned(),
            binds: Some(o.binds.as_str().to_owned()),
            in_force_from: o.in_force_from,
            description: o.description.clone(),
            position: position(index),
        })
    }
}

/// Rows to delete once every table has been upserted (deleted in reverse dependency
/// order, so that children go before their parents).
type PendingDeletes<M> = Vec<M>;

/// Inserts new rows and updates changed ones; returns the stored rows that seed-data
/// no longer has.
async fn upsert<M, C>(
    conn: &C,
    desired: Vec<M>,
    stored_filter: impl Fn(&M) -> bool,
    report: &mut SyncReport,
) -> Result<PendingDeletes<M>, StorageError>
where
    C: ConnectionTrait,
    M: SeedRow + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + ActiveModelBehavior + Send,
{
    let stored: Vec<M> = M::Entity::find().all(conn).await?.into_iter().filter(|m| stored_filter(m)).collect();
    let mut stored_by_key: HashMap<String, M> = stored.into_iter().map(|m| (m.key(), m)).collect();
    let mut kind = KindReport { kind: M::KIND, ..KindReport::default() };
    for mut row in desired {
        let key = row.key();
        match stored_by_key.remove(&key) {
            Some(existing) => {
                row.adopt_id(&existing);
                if row == existing {
                    kind.unchanged += 1;
                } else {
                    report.changes.push(row_change(key, Some(&existing), Some(&row)));
                    M::Entity::update(row.into_active_model().reset_all()).exec(conn).await?;
                    kind.updated += 1;
                }
            }
            None => {
                report.changes.push(row_change(key, None, Some(&row)));
                let mut active = row.into_active_model();
                if <<M::Entity as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::auto_increment() {
                    for key in <<M::Entity as EntityTrait>::PrimaryKey as Iterable>::iter() {
                        active.not_set(key.into_column());
                    }
                }
                M::Entity::insert(active).exec_without_returning(conn).await?;
                kind.inserted += 1;
            }
        }
    }
    let deletes: Vec<M> = stored_by_key.into_values().collect();
    for row in &deletes {
        report.changes.push(row_change(row.key(), Some(row), None));
    }
    kind.deleted = deletes.len();
    report.kinds.push(kind);
    Ok(deletes)
}

fn row_change<M: SeedRow>(key: String, before: Option<&M>, after: Option<&M>) -> RowChange {
    let state = |row: &M| serde_json::to_value(row).unwrap_or(Value::Null);
    RowChange { kind: M::KIND, key, before: before.map(state), after: after.map(state) }
}

/// Compares seed-data with the crosswalk pairs curated through the API (a pair is
/// curated when any of its links is). Where the file says exactly what the database
/// holds, the pair counts as seeded again; where it says something else, that is a
/// conflict, and the pair is left as curated. Returns the seed-data rows of the other
/// pairs, which sync as usual, and the curated pairs, which the usual sync leaves alone.
async fn reconcile_curated<M, C>(
    conn: &C,
    desired: Vec<M>,
    report: &mut SyncReport,
) -> Result<(Vec<M>, BTreeSet<String>), StorageError>
where
    C: ConnectionTrait,
    M: SeedRow + LinkRow,
    <<M as LinkRow>::Entity as EntityTrait>::ActiveModel:
        ActiveModelTrait<Entity = <M as LinkRow>::Entity> + ActiveModelBehavior + Send,
{
    let stored = <M as LinkRow>::Entity::find().all(conn).await?;
    let curated: BTreeSet<String> =
        stored.iter().filter(|m| m.origin() == LinkOrigin::Curated.as_str()).map(LinkRow::pair_key).collect();
    // A pair's rows with their links as seed-data would state them, in time order.
    let links_of = |rows: &[M], pair: &str| -> Result<Vec<(M, LinkRecord)>, StorageError> {
        let mut links = Vec::new();
        for row in rows.iter().filter(|m| m.pair_key() == pair) {
            let link = row.clone().into_stored()?.link;
            links.push((row.clone(), LinkRecord { origin: LinkOrigin::Seed, ..link }));
        }
        links.sort_by_key(|(_, link)| link.validity.from);
        Ok(links)
    };
    for pair in &curated {
        let file: Vec<LinkRecord> = links_of(&desired, pair)?.into_iter().map(|(_, link)| link).collect();
        let database = links_of(&stored, pair)?;
        if file.iter().eq(database.iter().map(|(_, link)| link)) {
            for (row, link) in database.iter().filter(|(row, _)| row.origin() != LinkOrigin::Seed.as_str()) {
                let seeded = M::from_record(row.id(), link);
                report.changes.push(row_change(seeded.key(), Some(row), Some(&seeded)));
                <M as LinkRow>::Entity::update(seeded.into_active_model().reset_all()).exec(conn).await?;
            }
            report.adopted.push(format!("{} {pair}", M::KIND));
        } else {
            let curated = database.into_iter().map(|(_, link)| link).collect();
            report.conflicts.push(LinkConflict { kind: M::KIND, pair: pair.clone(), seed_data: file, curated });
        }
    }
    let uncurated = desired.into_iter().filter(|m| !curated.contains(&m.pair_key())).collect();
    Ok((uncurated, curated))
}

async fn delete_rows<M, C>(conn: &C, rows: PendingDeletes<M>) -> Result<(), StorageError>
where
    C: ConnectionTrait,
    M: SeedRow + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + ActiveModelBehavior + Send,
{
    for row in rows {
        let key = row.key();
        M::Entity::delete(row.into_active_model()).exec(conn).await.map_err(|e| match StorageError::from(e) {
            StorageError::MissingReference => StorageError::InUse(format!(
                "{} \"{key}\" was removed from seed-data but registry records still refer to it",
                M::KIND
            )),
            other => other,
        })?;
    }
    Ok(())
}

fn keep_all<M>(_: &M) -> bool {
    true
}

/// Makes the database hold the given reference data, inside the caller's write
/// transaction (either everything is applied or nothing is). Crosswalk pairs curated
/// through the API are never overwritten: they are compared with the file, and any
/// disagreement is reported as a conflict for the caller to act on.
pub async fn sync(conn: &impl ConnectionTrait, data: &ReferenceData) -> Result<SyncReport, StorageError> {
    let desired = ReferenceRows::desired(data);
    let mut report = SyncReport::default();
    let (links, curated_links) = reconcile_curated(conn, desired.links, &mut report).await?;
    let (item_links, curated_item_links) = reconcile_curated(conn, desired.item_links, &mut report).await?;
    let sources = upsert(conn, desired.sources, keep_all, &mut report).await?;
    let ministries = upsert(conn, desired.ministries, keep_all, &mut report).await?;
    let sectors = upsert(conn, desired.sectors, keep_all, &mut report).await?;
    let domains = upsert(conn, desired.domains, keep_all, &mut report).await?;
    let sector_items = upsert(conn, desired.sector_items, keep_all, &mut report).await?;
    let domain_items = upsert(conn, desired.domain_items, keep_all, &mut report).await?;
    let jurisdictions = upsert(conn, desired.jurisdictions, keep_all, &mut report).await?;
    let links = upsert(conn, links, |l| !curated_links.contains(&l.pair_key()), &mut report).await?;
    let item_links = upsert(conn, item_links, |l| !curated_item_links.contains(&l.pair_key()), &mut report).await?;
    let link_overrides = upsert(conn, desired.link_overrides, keep_all, &mut report).await?;
    let obligations = upsert(conn, desired.obligations, keep_all, &mut report).await?;
    delete_rows(conn, obligations).await?;
    delete_rows(conn, link_overrides).await?;
    delete_rows(conn, item_links).await?;
    delete_rows(conn, links).await?;
    delete_rows(conn, jurisdictions).await?;
    delete_rows(conn, domain_items).await?;
    delete_rows(conn, sector_items).await?;
    delete_rows(conn, domains).await?;
    delete_rows(conn, sectors).await?;
    delete_rows(conn, ministries).await?;
    delete_rows(conn, sources).await?;
    Ok(report)
}

/// A crosswalk link as a curation's event records it (`AuditState for LinkRecord`, with
/// the row id since record time existed).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordedLink {
    id: Option<i32>,
    ci: String,
    espa: String,
    relation: crate::domain::Relation,
    rationale: String,
    source: String,
    locator: Option<String>,
    confirmed: Option<bool>,
    note: Option<String>,
    valid_from: Option<chrono::NaiveDate>,
    valid_to: Option<chrono::NaiveDate>,
    origin: String,
}

/// Puts the row stored under `key` back as it was (`before`; absent: it did not exist).
fn restore<M: SeedRow + serde::de::DeserializeOwned>(
    rows: &mut Vec<M>,
    key: &str,
    before: Option<&Value>,
) -> Result<(), StorageError> {
    rows.retain(|row| row.key() != key);
    if let Some(before) = before {
        rows.push(M::deserialize(before).map_err(|_| super::corrupt("reference row in the audit trail"))?);
    }
    Ok(())
}

/// Puts a crosswalk pair's links back as a curation recorded them before it. Events
/// older than record time carry no row ids: the pair's rows are reused in order.
fn restore_pair<M: LinkRow>(rows: &mut Vec<M>, pair: &str, before: &Value) -> Result<(), StorageError>
where
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + ActiveModelBehavior + Send,
{
    let recorded: Vec<RecordedLink> = Vec::deserialize(before).map_err(|_| super::corrupt("curation state"))?;
    let mut spare: Vec<i32> = rows.iter().filter(|row| row.pair_key() == pair).map(LinkRow::id).collect();
    rows.retain(|row| row.pair_key() != pair);
    let mut next = rows.iter().map(LinkRow::id).chain(spare.iter().copied()).max().unwrap_or(0);
    spare.reverse();
    for link in recorded {
        let id = link.id.or_else(|| spare.pop()).unwrap_or_else(|| {
            next += 1;
            next
        });
        let record = LinkRecord {
            ci: link.ci,
            espa: link.espa,
            relation: link.relation,
            rationale: link.rationale,
            validity: Validity::new(link.valid_from, link.valid_to),
            provenance: Provenance {
                source: link.source,
                locator: link.locator,
                confirmed: link.confirmed.unwrap_or(true),
                note: link.note,
            },
            origin: LinkOrigin::parse(&link.origin).ok_or_else(|| super::corrupt("curated link origin"))?,
        };
        rows.push(M::from_record(id, &record));
    }
    Ok(())
}

impl ReferenceRows {
    /// Undoes one change to the reference data.
    fn undo(&mut self, event: &AuditEvent) -> Result<(), StorageError> {
        let record = &event.record;
        let before = record.before.as_ref().unwrap_or(&Value::Null);
        let pair = record.entity_id.as_deref().unwrap_or_default();
        match record.action {
            AuditAction::SyncReferenceData => self.undo_sync(before, record.after.as_ref().unwrap_or(&Value::Null)),
            // A promotion records the rows it wrote as a sync does, under `rows`.
            AuditAction::PromoteScopeProposal => {
                self.undo_sync(&before["rows"], record.after.as_ref().map_or(&Value::Null, |after| &after["rows"]))
            }
            AuditAction::UpsertCrosswalkLink | AuditAction::RemoveCrosswalkLink => {
                restore_pair(&mut self.links, pair, before)
            }
            AuditAction::UpsertScopeItemLink | AuditAction::RemoveScopeItemLink => {
                restore_pair(&mut self.item_links, pair, before)
            }
            _ => Ok(()),
        }
    }

    /// A seed-data load recorded `{ kind: { key: row } }` for every row it wrote.
    fn undo_sync(&mut self, before: &Value, after: &Value) -> Result<(), StorageError> {
        let mut written: Vec<(&str, &str)> = Vec::new();
        for side in [before, after] {
            for (kind, rows) in side.as_object().into_iter().flatten() {
                written.extend(rows.as_object().into_iter().flatten().map(|(key, _)| (kind.as_str(), key.as_str())));
            }
        }
        written.sort_unstable();
        written.dedup();
        for (kind, key) in written {
            let old = before.get(kind).and_then(|rows| rows.get(key));
            match kind {
                source::Model::KIND => restore(&mut self.sources, key, old)?,
                ministry::Model::KIND => restore(&mut self.ministries, key, old)?,
                sector::Model::KIND => restore(&mut self.sectors, key, old)?,
                business_domain::Model::KIND => restore(&mut self.domains, key, old)?,
                sector_scope_item::Model::KIND => restore(&mut self.sector_items, key, old)?,
                domain_scope_item::Model::KIND => restore(&mut self.domain_items, key, old)?,
                jurisdiction::Model::KIND => restore(&mut self.jurisdictions, key, old)?,
                crosswalk_link::Model::KIND => restore(&mut self.links, key, old)?,
                scope_item_link::Model::KIND => restore(&mut self.item_links, key, old)?,
                obligation_rule::Model::KIND => restore(&mut self.obligations, key, old)?,
                _ => return Err(super::corrupt("reference kind in the audit trail")),
            }
        }
        Ok(())
    }

    /// The order [`ReferenceRows::read`] reads them in.
    fn sort(&mut self) {
        self.sources.sort_by(|a, b| a.code.cmp(&b.code));
        self.ministries.sort_by_key(|r| r.position);
        self.sectors.sort_by_key(|r| r.position);
        self.domains.sort_by_key(|r| r.position);
        self.sector_items.sort_by_key(|r| r.position);
        self.domain_items.sort_by_key(|r| r.position);
        self.jurisdictions.sort_by_key(|r| r.id);
        self.links.sort_by_key(|r| r.id);
        self.item_links.sort_by_key(|r| r.id);
        self.obligations.sort_by_key(|r| r.position);
    }
}

/// Writes the records of `data` at `positions` — inserting those not stored yet,
/// updating the stored ones — as the rows a sync writes, and leaves every other row as
/// it is: how a promoted scope revision proposal reaches the tables, inside the
/// caller's transaction. Returns the rows written (for the audit trail).
pub async fn write_records(
    conn: &impl ConnectionTrait,
    data: &ReferenceData,
    positions: &RecordPositions,
) -> Result<Vec<RowChange>, StorageError> {
    fn at<M>(rows: Vec<M>, positions: &[usize]) -> Vec<M> {
        rows.into_iter().enumerate().filter(|(i, _)| positions.contains(i)).map(|(_, row)| row).collect()
    }
    let desired = ReferenceRows::desired(data);
    let mut report = SyncReport::default();
    // Rows the data does not pick are left alone: the pending deletes are dropped.
    upsert(conn, at(desired.sources, &positions.sources), keep_all, &mut report).await?;
    upsert(conn, at(desired.sectors, &positions.sectors), keep_all, &mut report).await?;
    upsert(conn, at(desired.domains, &positions.domains), keep_all, &mut report).await?;
    upsert(conn, at(desired.sector_items, &positions.sector_items), keep_all, &mut report).await?;
    upsert(conn, at(desired.domain_items, &positions.domain_items), keep_all, &mut report).await?;
    upsert(conn, at(desired.jurisdictions, &positions.jurisdictions), keep_all, &mut report).await?;
    upsert(conn, at(desired.links, &positions.links), keep_all, &mut report).await?;
    upsert(conn, at(desired.item_links, &positions.item_links), keep_all, &mut report).await?;
    Ok(report.changes)
}
