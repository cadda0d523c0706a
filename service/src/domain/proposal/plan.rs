//! Promotion: the writes that turn the live reference data into a proposal's reference
//! data, for storage to make in one transaction.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::NaiveDate;

use super::apply::Dated;
use crate::domain::Regime;
use crate::domain::reference::{FieldRecord, JurisdictionRecord, LinkRecord, ReferenceData, ScopeItemRecord};

/// Identifies a stored reference record. Fields and scope items are stored by code;
/// jurisdictions and links have no code, but the periods of one ministry's jurisdiction
/// over one field, and of one pair's links, never overlap: the start identifies them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum RecordKey {
    Sector(String),
    Domain(String),
    SectorItem(String),
    DomainItem(String),
    Jurisdiction {
        ministry: String,
        regime: Regime,
        field: String,
        /// The scope item a narrowed jurisdiction covers (absent: the whole field).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope_item: Option<String>,
        from: Option<NaiveDate>,
    },
    Link {
        sector: String,
        domain: String,
        from: Option<NaiveDate>,
    },
    ScopeItemLink {
        sector_item: String,
        domain_item: String,
        from: Option<NaiveDate>,
    },
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = |from: &Option<NaiveDate>| from.map_or_else(|| "always".to_owned(), |d| format!("from {d}"));
        match self {
            RecordKey::Sector(code) => write!(f, "sector \"{code}\""),
            RecordKey::Domain(code) => write!(f, "business domain \"{code}\""),
            RecordKey::SectorItem(code) => write!(f, "CI scope item \"{code}\""),
            RecordKey::DomainItem(code) => write!(f, "ESPA scope item \"{code}\""),
            RecordKey::Jurisdiction { ministry, regime, field, scope_item: None, from } => {
                write!(f, "{ministry}'s jurisdiction over {} \"{field}\" {}", regime.field_noun(), since(from))
            }
            RecordKey::Jurisdiction { ministry, regime, field, scope_item: Some(item), from } => write!(
                f,
                "{ministry}'s jurisdiction over scope item \"{item}\" of {} \"{field}\" {}",
                regime.field_noun(),
                since(from)
            ),
            RecordKey::Link { sector, domain, from } => write!(f, "link {sector} → {domain} {}", since(from)),
            RecordKey::ScopeItemLink { sector_item, domain_item, from } => {
                write!(f, "scope-item link {sector_item} → {domain_item} {}", since(from))
            }
        }
    }
}

/// A record a promotion inserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewRecord {
    Sector(FieldRecord),
    Domain(FieldRecord),
    SectorItem(ScopeItemRecord),
    DomainItem(ScopeItemRecord),
    Jurisdiction(JurisdictionRecord),
    Link(LinkRecord),
    ScopeItemLink(LinkRecord),
}

impl NewRecord {
    pub fn key(&self) -> RecordKey {
        match self {
            NewRecord::Sector(r) => RecordKey::Sector(r.code.clone()),
            NewRecord::Domain(r) => RecordKey::Domain(r.code.clone()),
            NewRecord::SectorItem(r) => RecordKey::SectorItem(r.code.clone()),
            NewRecord::DomainItem(r) => RecordKey::DomainItem(r.code.clone()),
            NewRecord::Jurisdiction(r) => jurisdiction_key(r),
            NewRecord::Link(r) => link_key(r),
            NewRecord::ScopeItemLink(r) => item_link_key(r),
        }
    }
}

/// A stored record whose period's end (`validity.to`, exclusive) changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidityEnd {
    pub key: RecordKey,
    /// Its end now (None: open).
    pub before: Option<NaiveDate>,
    /// Its end once promoted.
    pub after: Option<NaiveDate>,
}

/// Exactly what promoting a proposal writes: records to insert (fields, then scope
/// items, jurisdictions, links and scope-item links, so that what a record refers to is
/// inserted before it) and stored records whose end changes. Nothing else changes and
/// nothing is deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceDiff {
    pub inserts: Vec<NewRecord>,
    pub ends: Vec<ValidityEnd>,
}

impl ReferenceDiff {
    pub fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.ends.is_empty()
    }

    /// `live` with the diff written: the stored ends changed, the inserts appended after
    /// the records of their kind. For a diff from [`promotion_plan`] it equals the
    /// proposed data, which lets a caller check what it is about to write.
    pub fn replay(&self, live: &ReferenceData) -> ReferenceData {
        let mut data = live.clone();
        for end in &self.ends {
            let validity = match &end.key {
                RecordKey::Sector(code) => find(&mut data.sectors, |r| &r.code == code),
                RecordKey::Domain(code) => find(&mut data.domains, |r| &r.code == code),
                RecordKey::SectorItem(code) => find(&mut data.sector_items, |r| &r.code == code),
                RecordKey::DomainItem(code) => find(&mut data.domain_items, |r| &r.code == code),
                key @ RecordKey::Jurisdiction { .. } => find(&mut data.jurisdictions, |r| jurisdiction_key(r) == *key),
                key @ RecordKey::Link { .. } => find(&mut data.links, |r| link_key(r) == *key),
                key @ RecordKey::ScopeItemLink { .. } => find(&mut data.item_links, |r| item_link_key(r) == *key),
            };
            if let Some(validity) = validity {
                validity.to = end.after;
            }
        }
        for insert in &self.inserts {
            match insert.clone() {
                NewRecord::Sector(r) => data.sectors.push(r),
                NewRecord::Domain(r) => data.domains.push(r),
                NewRecord::SectorItem(r) => data.sector_items.push(r),
                NewRecord::DomainItem(r) => data.domain_items.push(r),
                NewRecord::Jurisdiction(r) => data.jurisdictions.push(r),
                NewRecord::Link(r) => data.links.push(r),
                NewRecord::ScopeItemLink(r) => data.item_links.push(r),
            }
        }
        data
    }
}

fn find<T: Dated>(records: &mut [T], matches: impl Fn(&T) -> bool) -> Option<&mut crate::domain::Validity> {
    records.iter_mut().find(|r| matches(r)).map(Dated::validity_mut)
}

/// Why the proposed data is not something a promotion can write (it was not made by
/// [`super::apply`] from this live data: the live data changed since, say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0} is in the live data but not in the proposed data: a promotion deletes nothing")]
    Missing(RecordKey),
    #[error("{0} differs in more than its end: a promotion only inserts records and ends stored ones")]
    Changed(RecordKey),
    #[error("{0} appears twice")]
    Duplicate(RecordKey),
    #[error("the {0} differ: a proposal does not change them")]
    Unchangeable(&'static str),
}

pub(super) fn jurisdiction_key(r: &JurisdictionRecord) -> RecordKey {
    RecordKey::Jurisdiction {
        ministry: r.ministry.clone(),
        regime: r.regime,
        field: r.field.clone(),
        scope_item: r.scope_item.clone(),
        from: r.validity.from,
    }
}

pub(super) fn link_key(r: &LinkRecord) -> RecordKey {
    RecordKey::Link { sector: r.ci.clone(), domain: r.espa.clone(), from: r.validity.from }
}

pub(super) fn item_link_key(r: &LinkRecord) -> RecordKey {
    RecordKey::ScopeItemLink { sector_item: r.ci.clone(), domain_item: r.espa.clone(), from: r.validity.from }
}

/// The writes that make `live` into `proposed` (normally `apply(live, …)`): every
/// proposed record not in `live` (by [`RecordKey`]) is inserted, every stored one whose
/// `validity.to` differs is listed with its old and new end. Refuses proposed data that
/// drops a live record or changes one in anything but its end.
pub fn promotion_plan(live: &ReferenceData, proposed: &ReferenceData) -> Result<ReferenceDiff, PlanError> {
    let mut diff = ReferenceDiff::default();
    let code = |r: &FieldRecord| r.code.clone();
    let item_code = |r: &ScopeItemRecord| r.code.clone();
    diff_kind(&live.sectors, &proposed.sectors, |r| RecordKey::Sector(code(r)), NewRecord::Sector, &mut diff)?;
    diff_kind(&live.domains, &proposed.domains, |r| RecordKey::Domain(code(r)), NewRecord::Domain, &mut diff)?;
    diff_kind(
        &live.sector_items,
        &proposed.sector_items,
        |r| RecordKey::SectorItem(item_code(r)),
        NewRecord::SectorItem,
        &mut diff,
    )?;
    diff_kind(
        &live.domain_items,
        &proposed.domain_items,
        |r| RecordKey::DomainItem(item_code(r)),
        NewRecord::DomainItem,
        &mut diff,
    )?;
    diff_kind(&live.jurisdictions, &proposed.jurisdictions, jurisdiction_key, NewRecord::Jurisdiction, &mut diff)?;
    diff_kind(&live.links, &proposed.links, link_key, NewRecord::Link, &mut diff)?;
    diff_kind(&live.item_links, &proposed.item_links, item_link_key, NewRecord::ScopeItemLink, &mut diff)?;
    for (kind, same) in [
        ("sources", live.sources == proposed.sources),
        ("ministries", live.ministries == proposed.ministries),
        ("obligation rules", live.obligations == proposed.obligations),
    ] {
        if !same {
            return Err(PlanError::Unchangeable(kind));
        }
    }
    Ok(diff)
}

fn diff_kind<T: Dated + Clone + PartialEq>(
    live: &[T],
    proposed: &[T],
    key: impl Fn(&T) -> RecordKey,
    wrap: impl Fn(T) -> NewRecord,
    diff: &mut ReferenceDiff,
) -> Result<(), PlanError> {
    let mut stored: HashMap<RecordKey, (&T, bool)> = HashMap::with_capacity(live.len());
    for record in live {
        if stored.insert(key(record), (record, false)).is_some() {
            return Err(PlanError::Duplicate(key(record)));
        }
    }
    let mut inserted: HashSet<RecordKey> = HashSet::new();
    for record in proposed {
        let record_key = key(record);
        match stored.get_mut(&record_key) {
            Some((_, true)) => return Err(PlanError::Duplicate(record_key)),
            Some((before, seen)) => {
                *seen = true;
                let mut same_end = record.clone();
                same_end.validity_mut().to = before.validity().to;
                if same_end != **before {
                    return Err(PlanError::Changed(record_key));
                }
                if record.validity().to != before.validity().to {
                    diff.ends.push(ValidityEnd {
                        key: record_key,
                        before: before.validity().to,
                        after: record.validity().to,
                    });
                }
            }
            None => {
                if !inserted.insert(record_key.clone()) {
                    return Err(PlanError::Duplicate(record_key));
                }
                diff.inserts.push(wrap(record.clone()));
            }
        }
    }
    match live.iter().map(&key).find(|k| stored.get(k).is_some_and(|(_, seen)| !seen)) {
        Some(missing) => Err(PlanError::Missing(missing)),
        None => Ok(()),
    }
}
