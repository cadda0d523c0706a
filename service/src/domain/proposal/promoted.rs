//! What a promotion wrote, as it is kept: the keys of the records it inserted and of the
//! stored records it ended, and the source its records cite. Storage writes the records
//! at their positions ([`RecordPositions`]); a later load of seed-data keeps them
//! ([`keep_promoted`]), so that reseeding never undoes a decision.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::apply::Dated;
use super::plan::{NewRecord, RecordKey, ReferenceDiff, item_link_key, jurisdiction_key, link_key};
use crate::domain::reference::{FieldRecord, ReferenceData, ScopeItemRecord};

/// The records one promotion wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromotedRecords {
    /// Code of the source the inserted records cite (inserted with them).
    pub source: String,
    pub inserted: Vec<RecordKey>,
    /// Stored records whose end it moved.
    pub ended: Vec<RecordKey>,
}

impl PromotedRecords {
    pub fn of(source: String, diff: &ReferenceDiff) -> Self {
        Self {
            source,
            inserted: diff.inserts.iter().map(NewRecord::key).collect(),
            ended: diff.ends.iter().map(|end| end.key.clone()).collect(),
        }
    }

    /// Positions in `data` (the reference data after the promotion) of everything it
    /// wrote, its source included.
    pub fn positions(&self, data: &ReferenceData) -> RecordPositions {
        let keys: HashSet<&RecordKey> = self.inserted.iter().chain(&self.ended).collect();
        let at = |keys_of: &mut dyn Iterator<Item = RecordKey>| -> Vec<usize> {
            keys_of.enumerate().filter(|(_, key)| keys.contains(key)).map(|(i, _)| i).collect()
        };
        RecordPositions {
            sources: data.sources.iter().enumerate().filter(|(_, s)| s.code == self.source).map(|(i, _)| i).collect(),
            sectors: at(&mut data.sectors.iter().map(sector_key)),
            domains: at(&mut data.domains.iter().map(domain_key)),
            sector_items: at(&mut data.sector_items.iter().map(sector_item_key)),
            domain_items: at(&mut data.domain_items.iter().map(domain_item_key)),
            jurisdictions: at(&mut data.jurisdictions.iter().map(jurisdiction_key)),
            links: at(&mut data.links.iter().map(link_key)),
            item_links: at(&mut data.item_links.iter().map(item_link_key)),
        }
    }
}

/// Which records of a reference data set to write, by position in each of its lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordPositions {
    pub sources: Vec<usize>,
    pub sectors: Vec<usize>,
    pub domains: Vec<usize>,
    pub sector_items: Vec<usize>,
    pub domain_items: Vec<usize>,
    pub jurisdictions: Vec<usize>,
    pub links: Vec<usize>,
    pub item_links: Vec<usize>,
}

fn sector_key(r: &FieldRecord) -> RecordKey {
    RecordKey::Sector(r.code.clone())
}

fn domain_key(r: &FieldRecord) -> RecordKey {
    RecordKey::Domain(r.code.clone())
}

fn sector_item_key(r: &ScopeItemRecord) -> RecordKey {
    RecordKey::SectorItem(r.code.clone())
}

fn domain_item_key(r: &ScopeItemRecord) -> RecordKey {
    RecordKey::DomainItem(r.code.clone())
}

/// `seed` (reference data read from seed-data) with what the promotions wrote, as
/// `current` (the database) holds it: every record a promotion inserted that seed-data
/// does not state is appended, and every record a promotion ended ends as it does in
/// the database. Where seed-data states a promoted record itself, seed-data's record
/// stands (the file has caught up with the decision).
pub fn keep_promoted(seed: &ReferenceData, current: &ReferenceData, promotions: &[PromotedRecords]) -> ReferenceData {
    let mut data = seed.clone();
    let inserted: HashSet<&RecordKey> = promotions.iter().flat_map(|p| &p.inserted).collect();
    let ended: HashSet<&RecordKey> = promotions.iter().flat_map(|p| &p.ended).collect();
    for promotion in promotions {
        if !data.sources.iter().any(|s| s.code == promotion.source)
            && let Some(source) = current.sources.iter().find(|s| s.code == promotion.source)
        {
            data.sources.push(source.clone());
        }
    }
    keep(&mut data.sectors, &current.sectors, sector_key, &inserted, &ended);
    keep(&mut data.domains, &current.domains, domain_key, &inserted, &ended);
    keep(&mut data.sector_items, &current.sector_items, sector_item_key, &inserted, &ended);
    keep(&mut data.domain_items, &current.domain_items, domain_item_key, &inserted, &ended);
    keep(&mut data.jurisdictions, &current.jurisdictions, jurisdiction_key, &inserted, &ended);
    keep(&mut data.links, &current.links, link_key, &inserted, &ended);
    keep(&mut data.item_links, &current.item_links, item_link_key, &inserted, &ended);
    data
}

fn keep<T: Dated + Clone>(
    seed: &mut Vec<T>,
    current: &[T],
    key: impl Fn(&T) -> RecordKey,
    inserted: &HashSet<&RecordKey>,
    ended: &HashSet<&RecordKey>,
) {
    for record in current {
        let record_key = key(record);
        let stated = seed.iter().position(|r| key(r) == record_key);
        match stated {
            None if inserted.contains(&record_key) => seed.push(record.clone()),
            Some(at) if ended.contains(&record_key) => seed[at].validity_mut().to = record.validity().to,
            _ => {}
        }
    }
}
