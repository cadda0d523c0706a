//! Reference data in the database: loading it into memory, and syncing it from the
//! seed-data files (idempotent: unchanged records are not touched).

use std::collections::HashMap;
use std::fmt;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Iterable,
    PaginatorTrait, PrimaryKeyToColumn, PrimaryKeyTrait, QueryOrder, TransactionTrait,
};

use super::StorageError;
use super::entities::{
    business_domain, crosswalk_link, domain_scope_item, jurisdiction, ministry, obligation_rule, scope_item_link,
    sector, sector_scope_item, source,
};
use crate::domain::reference::{
    FieldRecord, JurisdictionRecord, LinkOrigin, LinkRecord, MinistryRecord, ObligationRule, Provenance, ReferenceData,
    ScopeItemRecord, SourceRecord,
};
use crate::domain::{Regime, Validity};

/// What a sync changed, per kind of record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub kinds: Vec<KindReport>,
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
        self.kinds.iter().any(|k| k.inserted + k.updated + k.deleted > 0)
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
        Ok(())
    }
}

/// True when no reference data has been loaded yet (a new database).
pub async fn is_empty(conn: &DatabaseConnection) -> Result<bool, StorageError> {
    Ok(sector::Entity::find().count(conn).await? == 0)
}

/// Reads all reference data, in display order.
pub async fn load(conn: &impl ConnectionTrait) -> Result<ReferenceData, StorageError> {
    let sources = source::Entity::find().order_by_asc(source::Column::Code).all(conn).await?;
    let ministries = ministry::Entity::find().order_by_asc(ministry::Column::Position).all(conn).await?;
    let sectors = sector::Entity::find().order_by_asc(sector::Column::Position).all(conn).await?;
    let domains = business_domain::Entity::find().order_by_asc(business_domain::Column::Position).all(conn).await?;
    let sector_items =
        sector_scope_item::Entity::find().order_by_asc(sector_scope_item::Column::Position).all(conn).await?;
    let domain_items =
        domain_scope_item::Entity::find().order_by_asc(domain_scope_item::Column::Position).all(conn).await?;
    let jurisdictions = jurisdiction::Entity::find().order_by_asc(jurisdiction::Column::Id).all(conn).await?;
    let links = crosswalk_link::Entity::find().order_by_asc(crosswalk_link::Column::Id).all(conn).await?;
    let item_links = scope_item_link::Entity::find().order_by_asc(scope_item_link::Column::Id).all(conn).await?;
    let obligations = obligation_rule::Entity::find().order_by_asc(obligation_rule::Column::Position).all(conn).await?;

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
        sectors: sectors
            .into_iter()
            .map(|f| FieldRecord {
                validity: Validity::new(f.valid_from, f.valid_to),
                provenance: provenance(f.source_code, f.source_locator, f.confirmed, f.note),
                code: f.code,
                name_ja: f.name_ja,
                name_en: f.name_en,
            })
            .collect(),
        domains: domains
            .into_iter()
            .map(|f| FieldRecord {
                validity: Validity::new(f.valid_from, f.valid_to),
                provenance: provenance(f.source_code, f.source_locator, f.confirmed, f.note),
                code: f.code,
                name_ja: f.name_ja,
                name_en: f.name_en,
            })
            .collect(),
        sector_items: sector_items
            .into_iter()
            .map(|i| ScopeItemRecord {
                validity: Validity::new(i.valid_from, i.valid_to),
                provenance: provenance(i.source_code, i.source_locator, i.confirmed, i.note),
                code: i.code,
                parent: i.sector_code,
                name_ja: i.name_ja,
                name_en: i.name_en,
            })
            .collect(),
        domain_items: domain_items
            .into_iter()
            .map(|i| ScopeItemRecord {
                validity: Validity::new(i.valid_from, i.valid_to),
                provenance: provenance(i.source_code, i.source_locator, i.confirmed, i.note),
                code: i.code,
                parent: i.domain_code,
                name_ja: i.name_ja,
                name_en: i.name_en,
            })
            .collect(),
        ..ReferenceData::default()
    };
    for j in jurisdictions {
        let (regime, field) = match (j.sector_code, j.domain_code) {
            (Some(sector), None) => (Regime::Ci, sector),
            (None, Some(domain)) => (Regime::Espa, domain),
            _ => return Err(corrupt("jurisdiction")),
        };
        data.jurisdictions.push(JurisdictionRecord {
            ministry: j.ministry_code,
            regime,
            field,
            validity: Validity::new(j.valid_from, j.valid_to),
            provenance: provenance(j.source_code, j.source_locator, j.confirmed, j.note),
        });
    }
    for l in links {
        data.links.push(LinkRecord {
            relation: l.relation.parse().map_err(|_| corrupt("relation"))?,
            origin: parse_origin(&l.origin).ok_or_else(|| corrupt("link origin"))?,
            validity: Validity::new(l.valid_from, l.valid_to),
            provenance: provenance(l.source_code, l.source_locator, l.confirmed, l.note),
            ci: l.sector_code,
            espa: l.domain_code,
            rationale: l.rationale,
        });
    }
    for l in item_links {
        data.item_links.push(LinkRecord {
            relation: l.relation.parse().map_err(|_| corrupt("relation"))?,
            origin: parse_origin(&l.origin).ok_or_else(|| corrupt("link origin"))?,
            validity: Validity::new(l.valid_from, l.valid_to),
            provenance: provenance(l.source_code, l.source_locator, l.confirmed, l.note),
            ci: l.sector_item_code,
            espa: l.domain_item_code,
            rationale: l.rationale,
        });
    }
    for o in obligations {
        data.obligations.push(ObligationRule {
            triggered_by: o.triggered_by.parse().map_err(|_| corrupt("regime"))?,
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

fn parse_origin(text: &str) -> Option<LinkOrigin> {
    match text {
        "seed" => Some(LinkOrigin::Seed),
        "curated" => Some(LinkOrigin::Curated),
        _ => None,
    }
}

fn position(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// A row that seed-data defines: identified by a natural key, which for tables with
/// a surrogate id is not the primary key.
trait SeedRow: Clone + PartialEq + Send + Sync + 'static {
    type Entity: EntityTrait<Model = Self>;
    const KIND: &'static str;
    fn key(&self) -> String;
    /// Takes over the surrogate id of the stored row with the same natural key.
    fn adopt_id(&mut self, _stored: &Self) {}
}

macro_rules! seed_row {
    ($module:ident, $kind:literal, |$row:ident| $key:expr) => {
        impl SeedRow for $module::Model {
            type Entity = $module::Entity;
            const KIND: &'static str = $kind;
            fn key(&self) -> String {
                let $row = self;
                $key
            }
        }
    };
    ($module:ident, $kind:literal, |$row:ident| $key:expr, surrogate) => {
        impl SeedRow for $module::Model {
            type Entity = $module::Entity;
            const KIND: &'static str = $kind;
            fn key(&self) -> String {
                let $row = self;
                $key
            }
            fn adopt_id(&mut self, stored: &Self) {
                self.id = stored.id;
            }
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
seed_row!(
    jurisdiction,
    "jurisdictions",
    |r| format!("{}|{:?}|{:?}|{:?}", r.ministry_code, r.sector_code, r.domain_code, r.valid_from),
    surrogate
);
seed_row!(crosswalk_link, "links", |r| format!("{}|{}|{:?}", r.sector_code, r.domain_code, r.valid_from), surrogate);
seed_row!(
    scope_item_link,
    "item links",
    |r| format!("{}|{}|{:?}", r.sector_item_code, r.domain_item_code, r.valid_from),
    surrogate
);

/// The rows of every table as seed-data defines them.
struct DesiredRows {
    sources: Vec<source::Model>,
    ministries: Vec<ministry::Model>,
    sectors: Vec<sector::Model>,
    domains: Vec<business_domain::Model>,
    sector_items: Vec<sector_scope_item::Model>,
    domain_items: Vec<domain_scope_item::Model>,
    jurisdictions: Vec<jurisdiction::Model>,
    links: Vec<crosswalk_link::Model>,
    item_links: Vec<scope_item_link::Model>,
    obligations: Vec<obligation_rule::Model>,
}

impl DesiredRows {
    fn from(data: &ReferenceData) -> Self {
        let p = |p: &Provenance| (p.source.clone(), p.locator.clone(), p.confirmed, p.note.clone());
        Self {
            sources: data
                .sources
                .iter()
                .map(|s| source::Model {
                    code: s.code.clone(),
                    title: s.title.clone(),
                    publisher: s.publisher.clone(),
                    published_on: s.published_on,
                    url: s.url.clone(),
                    note: s.note.clone(),
                })
                .collect(),
            ministries: data
                .ministries
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let (source_code, source_locator, confirmed, note) = p(&m.provenance);
                    ministry::Model {
                        code: m.code.clone(),
                        name_ja: m.name_ja.clone(),
                        name_en: m.name_en.clone(),
                        position: position(i),
                        source_code,
                        source_locator,
                        confirmed,
                        note,
                    }
                })
                .collect(),
            sectors: data
                .sectors
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let (source_code, source_locator, confirmed, note) = p(&f.provenance);
                    sector::Model {
                        code: f.code.clone(),
                        name_ja: f.name_ja.clone(),
                        name_en: f.name_en.clone(),
                        position: position(i),
                        valid_from: f.validity.from,
                        valid_to: f.validity.to,
                        source_code,
                        source_locator,
                        confirmed,
                        note,
                    }
                })
                .collect(),
            domains: data
                .domains
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let (source_code, source_locator, confirmed, note) = p(&f.provenance);
                    business_domain::Model {
                        code: f.code.clone(),
                        name_ja: f.name_ja.clone(),
                        name_en: f.name_en.clone(),
                        position: position(i),
                        valid_from: f.validity.from,
                        valid_to: f.validity.to,
                        source_code,
                        source_locator,
                        confirmed,
                        note,
                    }
                })
                .collect(),
            sector_items: data
                .sector_items
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let (source_code, source_locator, confirmed, note) = p(&s.provenance);
                    sector_scope_item::Model {
                        code: s.code.clone(),
                        sector_code: s.parent.clone(),
                        name_ja: s.name_ja.clone(),
                        name_en: s.name_en.clone(),
                        position: position(i),
                        valid_from: s.validity.from,
                        valid_to: s.validity.to,
                        source_code,
                        source_locator,
                        confirmed,
                        note,
                    }
                })
                .collect(),
            domain_items: data
                .domain_items
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let (source_code, source_locator, confirmed, note) = p(&s.provenance);
                    domain_scope_item::Model {
                        code: s.code.clone(),
                        domain_code: s.parent.clone(),
                        name_ja: s.name_ja.clone(),
                        name_en: s.name_en.clone(),
                        position: position(i),
                        valid_from: s.validity.from,
                        valid_to: s.validity.to,
                        source_code,
                        source_locator,
                        confirmed,
                        note,
                    }
                })
                .collect(),
            jurisdictions: data
                .jurisdictions
                .iter()
                .map(|j| {
                    let (source_code, source_locator, confirmed, note) = p(&j.provenance);
                    let (sector_code, domain_code) = match j.regime {
                        Regime::Ci => (Some(j.field.clone()), None),
                        Regime::Espa => (None, Some(j.field.clone())),
                    };
                    jurisdiction::Model {
                        id: 0,
                        ministry_code: j.ministry.clone(),
                        sector_code,
                        domain_code,
                        valid_from: j.validity.from,
                        valid_to: j.validity.to,
                        source_code,
                        source_locator,
                        confirmed,
                        note,
                    }
                })
                .collect(),
            links: data
                .links
                .iter()
                .filter(|l| l.origin == LinkOrigin::Seed)
                .map(|l| {
                    let (source_code, source_locator, confirmed, note) = p(&l.provenance);
                    crosswalk_link::Model {
                        id: 0,
                        sector_code: l.ci.clone(),
                        domain_code: l.espa.clone(),
                        relation: l.relation.as_str().to_owned(),
                        rationale: l.rationale.clone(),
                        origin: l.origin.as_str().to_owned(),
                        valid_from: l.validity.from,
                        valid_to: l.validity.to,
                        source_code,
                        source_locator,
                        confirmed,
                        note,
                    }
                })
                .collect(),
            item_links: data
                .item_links
                .iter()
                .filter(|l| l.origin == LinkOrigin::Seed)
                .map(|l| {
                    let (source_code, source_locator, confirmed, note) = p(&l.provenance);
                    scope_item_link::Model {
                        id: 0,
                        sector_item_code: l.ci.clone(),
                        domain_item_code: l.espa.clone(),
                        relation: l.relation.as_str().to_owned(),
                        rationale: l.rationale.clone(),
                        origin: l.origin.as_str().to_owned(),
                        valid_from: l.validity.from,
                        valid_to: l.validity.to,
                        source_code,
                        source_locator,
                        confirmed,
                        note,
                    }
                })
                .collect(),
            obligations: data
                .obligations
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let (source_code, source_locator, confirmed, note) = p(&o.provenance);
                    obligation_rule::Model {
                        code: o.code.clone(),
                        name_ja: o.name_ja.clone(),
                        name_en: o.name_en.clone(),
                        legal_basis: o.legal_basis.clone(),
                        triggered_by: o.triggered_by.as_str().to_owned(),
                        in_force_from: o.in_force_from,
                        description: o.description.clone(),
                        position: position(i),
                        source_code,
                        source_locator,
                        confirmed,
                        note,
                    }
                })
                .collect(),
        }
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
        match stored_by_key.remove(&row.key()) {
            Some(existing) => {
                row.adopt_id(&existing);
                if row == existing {
                    kind.unchanged += 1;
                } else {
                    M::Entity::update(row.into_active_model().reset_all()).exec(conn).await?;
                    kind.updated += 1;
                }
            }
            None => {
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
    kind.deleted = deletes.len();
    report.kinds.push(kind);
    Ok(deletes)
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

/// Makes the database hold exactly the given reference data, in one transaction:
/// either everything is applied or nothing is. Curated crosswalk links are left alone.
pub async fn sync(conn: &DatabaseConnection, data: &ReferenceData) -> Result<SyncReport, StorageError> {
    let desired = DesiredRows::from(data);
    let txn = conn.begin().await?;
    let mut report = SyncReport::default();
    let seeded_link = |origin: &str| origin == LinkOrigin::Seed.as_str();
    let sources = upsert(&txn, desired.sources, keep_all, &mut report).await?;
    let ministries = upsert(&txn, desired.ministries, keep_all, &mut report).await?;
    let sectors = upsert(&txn, desired.sectors, keep_all, &mut report).await?;
    let domains = upsert(&txn, desired.domains, keep_all, &mut report).await?;
    let sector_items = upsert(&txn, desired.sector_items, keep_all, &mut report).await?;
    let domain_items = upsert(&txn, desired.domain_items, keep_all, &mut report).await?;
    let jurisdictions = upsert(&txn, desired.jurisdictions, keep_all, &mut report).await?;
    let links = upsert(&txn, desired.links, |l| seeded_link(&l.origin), &mut report).await?;
    let item_links = upsert(&txn, desired.item_links, |l| seeded_link(&l.origin), &mut report).await?;
    let obligations = upsert(&txn, desired.obligations, keep_all, &mut report).await?;
    delete_rows(&txn, obligations).await?;
    delete_rows(&txn, item_links).await?;
    delete_rows(&txn, links).await?;
    delete_rows(&txn, jurisdictions).await?;
    delete_rows(&txn, domain_items).await?;
    delete_rows(&txn, sector_items).await?;
    delete_rows(&txn, domains).await?;
    delete_rows(&txn, sectors).await?;
    delete_rows(&txn, ministries).await?;
    delete_rows(&txn, sources).await?;
    txn.commit().await?;
    Ok(report)
}
