//! Curating the crosswalk: effective-dated changes to the links between the two regimes.
//!
//! A pair's links form a timeline of non-overlapping periods. A change effective on a
//! day ends the link holding then and starts a new one, so that the crosswalk as it was
//! before the day stays what it was (`asOf` still shows it).

use chrono::NaiveDate;

use super::Validity;
use super::audit::{AuditAction, SubjectType};
use super::reference::{LinkOrigin, LinkRecord};

/// The two kinds of crosswalk link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A CI sector and an ESPA business domain.
    Fields,
    /// A CI scope item and an ESPA scope item.
    ScopeItems,
}

impl LinkKind {
    /// How the audit trail names a pair of this kind.
    pub fn subject_type(self) -> SubjectType {
        match self {
            LinkKind::Fields => SubjectType::CrosswalkLink,
            LinkKind::ScopeItems => SubjectType::ScopeItemLink,
        }
    }

    /// The audit actions of setting and of removing a link of this kind.
    pub fn actions(self) -> (AuditAction, AuditAction) {
        match self {
            LinkKind::Fields => (AuditAction::UpsertCrosswalkLink, AuditAction::RemoveCrosswalkLink),
            LinkKind::ScopeItems => (AuditAction::UpsertScopeItemLink, AuditAction::RemoveScopeItemLink),
        }
    }
}

/// A stored link of one pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    pub id: i32,
    pub link: LinkRecord,
}

/// One write that a curation makes to a pair's links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEdit {
    Update {
        id: i32,
        link: LinkRecord,
    },
    Insert(LinkRecord),
    /// Drops a link that starts on the day it is removed: it would never hold.
    Delete {
        id: i32,
    },
}

/// The link of the pair in force on `date`, if any.
pub fn in_force(stored: &[StoredLink], date: NaiveDate) -> Option<&StoredLink> {
    stored.iter().find(|s| s.link.validity.contains(date))
}

/// `link` ending on `date` (its end is now a curated decision).
fn ended(link: &LinkRecord, date: NaiveDate) -> LinkRecord {
    LinkRecord { validity: Validity::new(link.validity.from, Some(date)), origin: LinkOrigin::Curated, ..link.clone() }
}

/// The writes that make `proposed` (relation, rationale and provenance; its validity is
/// ignored) the pair's link from `date` on. Empty when the link in force already says
/// exactly that.
pub fn plan_upsert(stored: &[StoredLink], date: NaiveDate, proposed: &LinkRecord) -> Vec<LinkEdit> {
    let curated = |validity: Validity| LinkRecord { validity, origin: LinkOrigin::Curated, ..proposed.clone() };
    match in_force(stored, date) {
        Some(current)
            if current.link.relation == proposed.relation
                && current.link.rationale == proposed.rationale
                && current.link.provenance == proposed.provenance =>
        {
            Vec::new()
        }
        // It starts that very day: a same-day correction replaces it.
        Some(current) if current.link.validity.from == Some(date) => {
            vec![LinkEdit::Update { id: current.id, link: curated(current.link.validity) }]
        }
        Some(current) => vec![
            LinkEdit::Update { id: current.id, link: ended(&current.link, date) },
            LinkEdit::Insert(curated(Validity::new(Some(date), current.link.validity.to))),
        ],
        None => {
            // Up to the next link of the pair, if one is already scheduled.
            let next = stored.iter().filter_map(|s| s.link.validity.from).filter(|from| *from > date).min();
            vec![LinkEdit::Insert(curated(Validity::new(Some(date), next)))]
        }
    }
}

/// The write that ends the pair's link from `date` on; None when no link holds then.
pub fn plan_removal(stored: &[StoredLink], date: NaiveDate) -> Option<LinkEdit> {
    in_force(stored, date).map(|current| {
        if current.link.validity.from == Some(date) {
            LinkEdit::Delete { id: current.id }
        } else {
            LinkEdit::Update { id: current.id, link: ended(&current.link, date) }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Relation;
    use crate::domain::reference::Provenance;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn link(relation: Relation, from: Option<&str>, to: Option<&str>, origin: LinkOrigin) -> LinkRecord {
        LinkRecord {
            ci: "electricity".into(),
            espa: "electricity".into(),
            relation,
            rationale: format!("{relation}"),
            validity: Validity::new(from.map(d), to.map(d)),
            provenance: Provenance { source: "s".into(), locator: None, confirmed: true, note: None },
            origin,
        }
    }

    fn seeded() -> Vec<StoredLink> {
        vec![StoredLink { id: 1, link: link(Relation::SubsetOf, None, None, LinkOrigin::Seed) }]
    }

    #[test]
    fn an_upsert_ends_the_link_in_force_and_starts_a_curated_one() {
        let edits = plan_upsert(&seeded(), d("2027-01-01"), &link(Relation::Equal, None, None, LinkOrigin::Seed));
        assert_eq!(
            edits,
            [
                LinkEdit::Update {
                    id: 1,
                    link: link(Relation::SubsetOf, None, Some("2027-01-01"), LinkOrigin::Curated)
                },
                LinkEdit::Insert(link(Relation::Equal, Some("2027-01-01"), None, LinkOrigin::Curated)),
            ]
        );
    }

    #[test]
    fn an_identical_upsert_changes_nothing_and_a_same_day_one_replaces() {
        assert!(
            plan_upsert(&seeded(), d("2027-01-01"), &link(Relation::SubsetOf, None, None, LinkOrigin::Seed)).is_empty()
        );
        let stored =
            vec![StoredLink { id: 7, link: link(Relation::Equal, Some("2027-01-01"), None, LinkOrigin::Curated) }];
        let edits = plan_upsert(&stored, d("2027-01-01"), &link(Relation::SupersetOf, None, None, LinkOrigin::Seed));
        assert_eq!(
            edits,
            [LinkEdit::Update {
                id: 7,
                link: link(Relation::SupersetOf, Some("2027-01-01"), None, LinkOrigin::Curated)
            }]
        );
    }

    #[test]
    fn a_new_link_stops_where_a_scheduled_one_starts() {
        let stored =
            vec![StoredLink { id: 3, link: link(Relation::Equal, Some("2030-01-01"), None, LinkOrigin::Seed) }];
        let edits = plan_upsert(&stored, d("2027-01-01"), &link(Relation::SubsetOf, None, None, LinkOrigin::Seed));
        assert_eq!(
            edits,
            [LinkEdit::Insert(link(Relation::SubsetOf, Some("2027-01-01"), Some("2030-01-01"), LinkOrigin::Curated))]
        );
    }

    #[test]
    fn removal_ends_the_link_or_drops_one_that_has_not_started() {
        assert_eq!(
            plan_removal(&seeded(), d("2027-01-01")),
            Some(LinkEdit::Update {
                id: 1,
                link: link(Relation::SubsetOf, None, Some("2027-01-01"), LinkOrigin::Curated)
            })
        );
        let stored =
            vec![StoredLink { id: 7, link: link(Relation::Equal, Some("2027-01-01"), None, LinkOrigin::Curated) }];
        assert_eq!(plan_removal(&stored, d("2027-01-01")), Some(LinkEdit::Delete { id: 7 }));
        assert_eq!(plan_removal(&stored, d("2026-12-31")), None);
    }
}
