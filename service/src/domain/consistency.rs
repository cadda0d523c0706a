//! The crosswalk checks itself: the relation a sector–domain link declares is compared
//! with the relation its scope-item links imply, by set logic over the items each side
//! has at a date.
//!
//! Each scope item is a set; a sector (domain) is the union of its items. An item link
//! `a EQUAL|SUBSET_OF b` puts CI item `a` inside ESPA item `b`; `a EQUAL|SUPERSET_OF b`
//! puts ESPA item `b` inside CI item `a`. Then, for a linked pair:
//!
//! | every CI item inside an ESPA item | every ESPA item inside a CI item | implied |
//! |---|---|---|
//! | yes | yes | `EQUAL` |
//! | yes | no | `SUBSET_OF` |
//! | no | yes | `SUPERSET_OF` |
//! | no | no (and at least one item link) | `INTERSECTS_WITH` |
//! | — | — (no item link at all) | none |

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::reference::ReferenceSnapshot;
use super::{Regime, Relation};

/// A sector–domain link whose declared relation its scope-item links do not bear out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inconsistency {
    /// Index into the snapshot's links.
    pub link: usize,
    pub declared: Relation,
    /// None: no scope-item link joins the pair's items.
    pub implied: Option<Relation>,
    /// The items that decide the disagreement (indexes into the regime's items).
    pub deciding: Vec<(Regime, usize)>,
    /// Why the declared relation stands anyway (from seed-data), if it does.
    pub override_reason: Option<String>,
}

/// What the item links of one pair say at a date.
struct Containment {
    ci_items: Vec<usize>,
    espa_items: Vec<usize>,
    /// CI items inside some ESPA item of the pair.
    ci_inside: BTreeSet<usize>,
    /// ESPA items inside some CI item of the pair.
    espa_inside: BTreeSet<usize>,
    any_item_link: bool,
}

impl Containment {
    fn of(snap: &ReferenceSnapshot, sector: &str, domain: &str, date: NaiveDate) -> Self {
        let ci_items = snap.items_of(Regime::Ci, sector, Some(date));
        let espa_items = snap.items_of(Regime::Espa, domain, Some(date));
        let mut containment = Self {
            ci_items,
            espa_items,
            ci_inside: BTreeSet::new(),
            espa_inside: BTreeSet::new(),
            any_item_link: false,
        };
        for i in snap.item_links_at(date) {
            let link = &snap.data().item_links[i];
            let (Some(ci), Some(espa)) =
                (snap.item_index(Regime::Ci, &link.ci), snap.item_index(Regime::Espa, &link.espa))
            else {
                continue;
            };
            if !containment.ci_items.contains(&ci) || !containment.espa_items.contains(&espa) {
                continue;
            }
            containment.any_item_link = true;
            if matches!(link.relation, Relation::Equal | Relation::SubsetOf) {
                containment.ci_inside.insert(ci);
            }
            if matches!(link.relation, Relation::Equal | Relation::SupersetOf) {
                containment.espa_inside.insert(espa);
            }
        }
        containment
    }

    fn all_ci_inside(&self) -> bool {
        self.ci_items.iter().all(|i| self.ci_inside.contains(i))
    }

    fn all_espa_inside(&self) -> bool {
        self.espa_items.iter().all(|i| self.espa_inside.contains(i))
    }

    fn implied(&self) -> Option<Relation> {
        if !self.any_item_link {
            return None;
        }
        Some(match (self.all_ci_inside(), self.all_espa_inside()) {
            (true, true) => Relation::Equal,
            (true, false) => Relation::SubsetOf,
            (false, true) => Relation::SupersetOf,
            (false, false) => Relation::IntersectsWith,
        })
    }

    fn ci_outside(&self) -> impl Iterator<Item = (Regime, usize)> + '_ {
        self.ci_items.iter().filter(|i| !self.ci_inside.contains(i)).map(|&i| (Regime::Ci, i))
    }

    fn espa_outside(&self) -> impl Iterator<Item = (Regime, usize)> + '_ {
        self.espa_items.iter().filter(|i| !self.espa_inside.contains(i)).map(|&i| (Regime::Espa, i))
    }

    fn all_ci(&self) -> impl Iterator<Item = (Regime, usize)> + '_ {
        self.ci_items.iter().map(|&i| (Regime::Ci, i))
    }

    fn all_espa(&self) -> impl Iterator<Item = (Regime, usize)> + '_ {
        self.espa_items.iter().map(|&i| (Regime::Espa, i))
    }

    /// The items that make `declared` wrong: those outside where it needs them inside,
    /// or, where it claims less than the items show, those that show more.
    fn deciding(&self, declared: Relation, implied: Relation) -> Vec<(Regime, usize)> {
        match declared {
            Relation::Equal => self.ci_outside().chain(self.espa_outside()).collect(),
            Relation::SubsetOf if self.all_ci_inside() => self.all_espa().collect(),
            Relation::SubsetOf => self.ci_outside().collect(),
            Relation::SupersetOf if self.all_espa_inside() => self.all_ci().collect(),
            Relation::SupersetOf => self.espa_outside().collect(),
            Relation::IntersectsWith => match implied {
                Relation::SubsetOf => self.all_ci().collect(),
                Relation::SupersetOf => self.all_espa().collect(),
                _ => self.all_ci().chain(self.all_espa()).collect(),
            },
        }
    }
}

/// Every sector–domain link in force at `date` whose declared relation differs from the
/// one its scope-item links imply, in link order.
pub fn inconsistencies_at(snap: &ReferenceSnapshot, date: NaiveDate) -> Vec<Inconsistency> {
    let data = snap.data();
    snap.links_at(date)
        .into_iter()
        .filter_map(|index| {
            let link = &data.links[index];
            let containment = Containment::of(snap, &link.ci, &link.espa, date);
            let implied = containment.implied();
            if implied == Some(link.relation) {
                return None;
            }
            Some(Inconsistency {
                link: index,
                declared: link.relation,
                implied,
                deciding: implied.map(|i| containment.deciding(link.relation, i)).unwrap_or_default(),
                override_reason: data
                    .link_overrides
                    .iter()
                    .find(|o| o.sector == link.ci && o.domain == link.espa)
                    .map(|o| o.reason.clone()),
            })
        })
        .collect()
}

/// Every date on which the answer can change: the first day of every record's period
/// and the day after every period ends (all shipped dates, in order).
pub fn boundary_dates(snap: &ReferenceSnapshot) -> Vec<NaiveDate> {
    let data = snap.data();
    let validities = data
        .sectors
        .iter()
        .chain(&data.domains)
        .map(|f| f.validity)
        .chain(data.sector_items.iter().chain(&data.domain_items).map(|i| i.validity))
        .chain(data.links.iter().chain(&data.item_links).map(|l| l.validity));
    let dates: BTreeSet<NaiveDate> = validities.flat_map(|v| [v.from, v.to]).flatten().collect();
    dates.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::files::{SeedSource, load};

    #[test]
    fn the_shipped_crosswalk_has_no_unexplained_inconsistency_on_any_date() {
        let snap = ReferenceSnapshot::new(load(&SeedSource::Embedded).expect("embedded seed-data is valid"));
        for date in boundary_dates(&snap).into_iter().chain([crate::domain::today()]) {
            let unexplained: Vec<String> = inconsistencies_at(&snap, date)
                .into_iter()
                .filter(|i| i.override_reason.is_none())
                .map(|i| {
                    let link = &snap.data().links[i.link];
                    format!("{date}: {} → {} declares {} but implies {:?}", link.ci, link.espa, i.declared, i.implied)
                })
                .collect();
            assert_eq!(unexplained, Vec::<String>::new());
        }
    }
}
