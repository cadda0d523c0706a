//! Reference data: the two regimes' fields and scope items, who has jurisdiction,
//! how the fields correspond (the crosswalk) and which duties designations trigger.
//!
//! `ReferenceData` is the plain content (as loaded from seed-data or the database);
//! `ReferenceSnapshot` adds the look-up indexes and answers "what holds at D".

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::{Regime, Relation, Validity};

/// Where a record comes from and how certain it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// Code of a [`SourceRecord`].
    pub source: String,
    /// Page, table or article within the source.
    pub locator: Option<String>,
    /// False when the fact is not certain from the source (the note says why).
    pub confirmed: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRecord {
    pub code: String,
    pub title: String,
    pub publisher: Option<String>,
    pub published_on: Option<NaiveDate>,
    pub url: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MinistryRecord {
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    pub provenance: Provenance,
}

/// A CI sector or an ESPA business domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldRecord {
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    pub validity: Validity,
    pub provenance: Provenance,
    /// False where the source's list of scope items ends in 「等」 (not complete).
    pub exhaustive: bool,
}

/// A sub-business or service of a sector or domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeItemRecord {
    pub code: String,
    /// Code of the sector (CI) or domain (ESPA) it belongs to.
    pub parent: String,
    pub name_ja: String,
    pub name_en: String,
    pub validity: Validity,
    pub provenance: Provenance,
    /// The law and article that define the business, where found.
    pub legal_basis: Option<String>,
}

/// A ministry's jurisdiction over one sector or domain, for a period: over the whole
/// field, or narrowed to one of its scope items (co-competent ministers for part of a
/// field, as MOF beside the FSA for ESPA finance's deposit insurance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JurisdictionRecord {
    pub ministry: String,
    pub regime: Regime,
    pub field: String,
    /// The scope item of `field` it is narrowed to; `None`: the whole field.
    pub scope_item: Option<String>,
    pub validity: Validity,
    pub provenance: Provenance,
}

impl JurisdictionRecord {
    /// Does it cover a designation in its field for `scope_item` (`None`: the whole
    /// field)? A jurisdiction over the whole field covers every designation in it; one
    /// narrowed to a scope item covers only designations for that item, never one
    /// without a scope item.
    pub fn covers(&self, scope_item: Option<&str>) -> bool {
        match self.scope_item.as_deref() {
            None => true,
            Some(narrowed) => scope_item == Some(narrowed),
        }
    }
}

/// Whether a link came from seed-data or from a curation through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkOrigin {
    Seed,
    Curated,
}

impl LinkOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkOrigin::Seed => "seed",
            LinkOrigin::Curated => "curated",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "seed" => Some(LinkOrigin::Seed),
            "curated" => Some(LinkOrigin::Curated),
            _ => None,
        }
    }
}

/// "CI side RELATION ESPA side", between two fields or two scope items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkRecord {
    /// Sector code, or CI scope-item code for item links.
    pub ci: String,
    /// Domain code, or ESPA scope-item code for item links.
    pub espa: String,
    pub relation: Relation,
    pub rationale: String,
    pub validity: Validity,
    pub provenance: Provenance,
    pub origin: LinkOrigin,
}

/// Why a sector–domain pair's declared relation stands although its scope-item links
/// imply another (see `consistency`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkOverride {
    pub sector: String,
    pub domain: String,
    pub reason: String,
}

/// Whom a duty binds: every operator designated under a regime, or only the ESPA
/// designees recorded as 特別社会基盤事業者 (Cyber Response Act Art. 2(3)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Addressee {
    /// Operators with an active ESPA designation (特定社会基盤事業者).
    EspaDesignee,
    /// ESPA designees while recorded as 特別社会基盤事業者.
    SpecialSocialInfrastructureOperator,
    /// Operators with an active CI designation (重要社会基盤事業者).
    CiOperator,
}

impl Addressee {
    pub const ALL: [Addressee; 3] =
        [Addressee::EspaDesignee, Addressee::SpecialSocialInfrastructureOperator, Addressee::CiOperator];

    pub fn as_str(self) -> &'static str {
        match self {
            Addressee::EspaDesignee => "ESPA_DESIGNEE",
            Addressee::SpecialSocialInfrastructureOperator => "SPECIAL_SOCIAL_INFRASTRUCTURE_OPERATOR",
            Addressee::CiOperator => "CI_OPERATOR",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Addressee::ALL.into_iter().find(|a| a.as_str() == text.trim())
    }

    /// Every operator designated under `regime`.
    pub fn designees_of(regime: Regime) -> Self {
        match regime {
            Regime::Espa => Addressee::EspaDesignee,
            Regime::Ci => Addressee::CiOperator,
        }
    }

    /// The regime whose designation every addressee of this kind holds.
    pub fn regime(self) -> Regime {
        match self {
            Addressee::EspaDesignee | Addressee::SpecialSocialInfrastructureOperator => Regime::Espa,
            Addressee::CiOperator => Regime::Ci,
        }
    }

    /// The kinds of addressee an operator is at a date: by its active designations' regimes
    /// and whether it is recorded as 特別社会基盤事業者 then (which counts only while it
    /// holds an active ESPA designation too).
    pub fn of(active_regimes: &[Regime], special: bool) -> Vec<Addressee> {
        let espa = active_regimes.contains(&Regime::Espa);
        Addressee::ALL
            .into_iter()
            .filter(|a| match a {
                Addressee::EspaDesignee => espa,
                Addressee::SpecialSocialInfrastructureOperator => espa && special,
                Addressee::CiOperator => active_regimes.contains(&Regime::Ci),
            })
            .collect()
    }
}

/// A duty that a regime status triggers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObligationRule {
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    pub legal_basis: String,
    /// The regime of the status that triggers it (always `binds.regime()`).
    pub triggered_by: Regime,
    /// Whom it binds.
    pub binds: Addressee,
    /// None: not yet in force (date to be fixed by cabinet order).
    pub in_force_from: Option<NaiveDate>,
    pub description: Option<String>,
    pub provenance: Provenance,
}

impl ObligationRule {
    pub fn in_force_at(&self, date: NaiveDate) -> bool {
        self.in_force_from.is_some_and(|from| from <= date)
    }
}

/// The whole reference data set, in display order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReferenceData {
    pub sources: Vec<SourceRecord>,
    pub ministries: Vec<MinistryRecord>,
    pub sectors: Vec<FieldRecord>,
    pub domains: Vec<FieldRecord>,
    pub sector_items: Vec<ScopeItemRecord>,
    pub domain_items: Vec<ScopeItemRecord>,
    pub jurisdictions: Vec<JurisdictionRecord>,
    pub links: Vec<LinkRecord>,
    pub item_links: Vec<LinkRecord>,
    pub link_overrides: Vec<LinkOverride>,
    pub obligations: Vec<ObligationRule>,
}

/// Reference data with indexes, immutable once built; replaced as a whole when the
/// data changes.
#[derive(Debug, Default)]
pub struct ReferenceSnapshot {
    data: ReferenceData,
    sector_by_code: HashMap<String, usize>,
    domain_by_code: HashMap<String, usize>,
    sector_item_by_code: HashMap<String, usize>,
    domain_item_by_code: HashMap<String, usize>,
    ministry_by_code: HashMap<String, usize>,
    source_by_code: HashMap<String, usize>,
}

fn index_by<T>(items: &[T], code: impl Fn(&T) -> &str) -> HashMap<String, usize> {
    items.iter().enumerate().map(|(i, item)| (code(item).to_owned(), i)).collect()
}

/// Reference to a field (sector or domain) inside a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldRef {
    pub regime: Regime,
    pub index: usize,
}

/// The fields and scope items that no crosswalk link covers at a date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeGaps {
    pub sectors_without_domain: Vec<usize>,
    pub domains_without_sector: Vec<usize>,
    pub sector_items_without_link: Vec<usize>,
    pub domain_items_without_link: Vec<usize>,
}

impl ReferenceSnapshot {
    pub fn new(data: ReferenceData) -> Self {
        Self {
            sector_by_code: index_by(&data.sectors, |r| &r.code),
            domain_by_code: index_by(&data.domains, |r| &r.code),
            sector_item_by_code: index_by(&data.sector_items, |r| &r.code),
            domain_item_by_code: index_by(&data.domain_items, |r| &r.code),
            ministry_by_code: index_by(&data.ministries, |r| &r.code),
            source_by_code: index_by(&data.sources, |r| &r.code),
            data,
        }
    }

    pub fn data(&self) -> &ReferenceData {
        &self.data
    }

    pub fn fields(&self, regime: Regime) -> &[FieldRecord] {
        match regime {
            Regime::Ci => &self.data.sectors,
            Regime::Espa => &self.data.domains,
        }
    }

    pub fn items(&self, regime: Regime) -> &[ScopeItemRecord] {
        match regime {
            Regime::Ci => &self.data.sector_items,
            Regime::Espa => &self.data.domain_items,
        }
    }

    pub fn field_index(&self, regime: Regime, code: &str) -> Option<usize> {
        match regime {
            Regime::Ci => self.sector_by_code.get(code).copied(),
            Regime::Espa => self.domain_by_code.get(code).copied(),
        }
    }

    pub fn item_index(&self, regime: Regime, code: &str) -> Option<usize> {
        match regime {
            Regime::Ci => self.sector_item_by_code.get(code).copied(),
            Regime::Espa => self.domain_item_by_code.get(code).copied(),
        }
    }

    pub fn field(&self, regime: Regime, code: &str) -> Option<&FieldRecord> {
        self.field_index(regime, code).map(|i| &self.fields(regime)[i])
    }

    pub fn ministry_index(&self, code: &str) -> Option<usize> {
        self.ministry_by_code.get(code).copied()
    }

    pub fn source(&self, code: &str) -> Option<&SourceRecord> {
        self.source_by_code.get(code).map(|&i| &self.data.sources[i])
    }

    /// A human-readable citation: the source's title plus the locator.
    pub fn cite(&self, provenance: &Provenance) -> String {
        let title = self.source(&provenance.source).map_or(provenance.source.as_str(), |s| &s.title);
        match &provenance.locator {
            Some(locator) => format!("{title}, {locator}"),
            None => title.to_owned(),
        }
    }

    /// Indexes of the fields of a regime that exist at `date`.
    pub fn fields_at(&self, regime: Regime, date: NaiveDate) -> Vec<usize> {
        (0..self.fields(regime).len()).filter(|&i| self.fields(regime)[i].validity.contains(date)).collect()
    }

    /// Indexes of the scope items of one field that exist at `date` (all when `None`).
    pub fn items_of(&self, regime: Regime, field_code: &str, date: Option<NaiveDate>) -> Vec<usize> {
        self.items(regime)
            .iter()
            .enumerate()
            .filter(|(_, item)| item.parent == field_code && date.is_none_or(|d| item.validity.contains(d)))
            .map(|(i, _)| i)
            .collect()
    }

    /// Indexes of the jurisdictions over a field (whole or narrowed) in force at `date`.
    pub fn jurisdictions_over(&self, regime: Regime, field_code: &str, date: NaiveDate) -> Vec<usize> {
        (0..self.data.jurisdictions.len())
            .filter(|&i| {
                let j = &self.data.jurisdictions[i];
                j.regime == regime && j.field == field_code && j.validity.contains(date)
            })
            .collect()
    }

    /// Ministries with jurisdiction over a field at `date` — over all of it, or over some
    /// of its scope items — in ministry order: the ministries a change to the field
    /// concerns.
    pub fn ministries_of(&self, regime: Regime, field_code: &str, date: NaiveDate) -> Vec<usize> {
        self.ministries_where(regime, field_code, date, |_| true)
    }

    /// Ministries whose jurisdiction at `date` covers a designation in the field for
    /// `scope_item` (see [`JurisdictionRecord::covers`]), in ministry order.
    pub fn ministries_covering(
        &self,
        regime: Regime,
        field_code: &str,
        scope_item: Option<&str>,
        date: NaiveDate,
    ) -> Vec<usize> {
        self.ministries_where(regime, field_code, date, |j| j.covers(scope_item))
    }

    fn ministries_where(
        &self,
        regime: Regime,
        field_code: &str,
        date: NaiveDate,
        keep: impl Fn(&JurisdictionRecord) -> bool,
    ) -> Vec<usize> {
        let set: BTreeSet<usize> = self
            .jurisdictions_over(regime, field_code, date)
            .into_iter()
            .map(|i| &self.data.jurisdictions[i])
            .filter(|j| keep(j))
            .filter_map(|j| self.ministry_index(&j.ministry))
            .collect();
        set.into_iter().collect()
    }

    /// May `ministry` act at `date` on a designation in the field for `scope_item`
    /// (`None`: no scope item)? It may when one of its jurisdictions then covers it: over
    /// the whole field, or narrowed to exactly that scope item.
    pub fn has_jurisdiction(
        &self,
        ministry: &str,
        regime: Regime,
        field_code: &str,
        scope_item: Option<&str>,
        date: NaiveDate,
    ) -> bool {
        self.jurisdictions_over(regime, field_code, date)
            .into_iter()
            .map(|i| &self.data.jurisdictions[i])
            .any(|j| j.ministry == ministry && j.covers(scope_item))
    }

    /// Has `ministry` any jurisdiction over the field at `date`, over all of it or over
    /// some of its scope items?
    pub fn has_any_jurisdiction(&self, ministry: &str, regime: Regime, field_code: &str, date: NaiveDate) -> bool {
        self.jurisdictions_over(regime, field_code, date)
            .into_iter()
            .any(|i| self.data.jurisdictions[i].ministry == ministry)
    }

    fn field_exists(&self, regime: Regime, code: &str, date: NaiveDate) -> bool {
        self.field(regime, code).is_some_and(|f| f.validity.contains(date))
    }

    fn item_exists(&self, regime: Regime, code: &str, date: NaiveDate) -> bool {
        self.item_index(regime, code).is_some_and(|i| self.items(regime)[i].validity.contains(date))
    }

    /// Sector–domain links in force at `date` whose two ends both exist then.
    pub fn links_at(&self, date: NaiveDate) -> Vec<usize> {
        (0..self.data.links.len())
            .filter(|&i| {
                let link = &self.data.links[i];
                link.validity.contains(date)
                    && self.field_exists(Regime::Ci, &link.ci, date)
                    && self.field_exists(Regime::Espa, &link.espa, date)
            })
            .collect()
    }

    /// Scope-item links in force at `date` whose two ends both exist then.
    pub fn item_links_at(&self, date: NaiveDate) -> Vec<usize> {
        (0..self.data.item_links.len())
            .filter(|&i| {
                let link = &self.data.item_links[i];
                link.validity.contains(date)
                    && self.item_exists(Regime::Ci, &link.ci, date)
                    && self.item_exists(Regime::Espa, &link.espa, date)
            })
            .collect()
    }

    /// Links of one field in force at `date`.
    pub fn links_of(&self, regime: Regime, field_code: &str, date: NaiveDate) -> Vec<usize> {
        self.links_at(date)
            .into_iter()
            .filter(|&i| {
                let link = &self.data.links[i];
                match regime {
                    Regime::Ci => link.ci == field_code,
                    Regime::Espa => link.espa == field_code,
                }
            })
            .collect()
    }

    /// Codes of the sectors linked to a domain at `date`.
    pub fn sectors_linked_to(&self, domain_code: &str, date: NaiveDate) -> Vec<&str> {
        self.links_of(Regime::Espa, domain_code, date).into_iter().map(|i| self.data.links[i].ci.as_str()).collect()
    }

    /// Whether a scope item that no item link covers at `date` is certainly a gap: not when
    /// a field its own field is linked to lists its items non-exhaustively (「等」), since
    /// an unlisted item there may cover it.
    pub fn item_gap_is_certain(&self, regime: Regime, item: usize, date: NaiveDate) -> bool {
        let parent = &self.items(regime)[item].parent;
        self.links_of(regime, parent, date).into_iter().all(|i| {
            let link = &self.data.links[i];
            let counterpart = match regime {
                Regime::Ci => self.field(Regime::Espa, &link.espa),
                Regime::Espa => self.field(Regime::Ci, &link.ci),
            };
            counterpart.is_none_or(|field| field.exhaustive)
        })
    }

    /// Everything no link covers at `date`: fields without a counterpart and scope items
    /// that no item link covers.
    pub fn gaps_at(&self, date: NaiveDate) -> ScopeGaps {
        let links = self.links_at(date);
        let item_links = self.item_links_at(date);
        let linked = |side: fn(&LinkRecord) -> &str, list: &[LinkRecord], idx: &[usize]| -> BTreeSet<String> {
            idx.iter().map(|&i| side(&list[i]).to_owned()).collect()
        };
        let linked_sectors = linked(|l| &l.ci, &self.data.links, &links);
        let linked_domains = linked(|l| &l.espa, &self.data.links, &links);
        let linked_sector_items = linked(|l| &l.ci, &self.data.item_links, &item_links);
        let linked_domain_items = linked(|l| &l.espa, &self.data.item_links, &item_links);
        let uncovered_fields = |regime: Regime, linked: &BTreeSet<String>| -> Vec<usize> {
            self.fields_at(regime, date)
                .into_iter()
                .filter(|&i| !linked.contains(&self.fields(regime)[i].code))
                .collect()
        };
        let uncovered_items = |regime: Regime, linked: &BTreeSet<String>| -> Vec<usize> {
            self.items(regime)
                .iter()
                .enumerate()
                .filter(|(_, item)| {
                    item.validity.contains(date)
                        && self.field_exists(regime, &item.parent, date)
                        && !linked.contains(&item.code)
                })
                .map(|(i, _)| i)
                .collect()
        };
        ScopeGaps {
            sectors_without_domain: uncovered_fields(Regime::Ci, &linked_sectors),
            domains_without_sector: uncovered_fields(Regime::Espa, &linked_domains),
            sector_items_without_link: uncovered_items(Regime::Ci, &linked_sector_items),
            domain_items_without_link: uncovered_items(Regime::Espa, &linked_domain_items),
        }
    }

    /// Obligation rules that bind the given kinds of addressee, in rule order.
    pub fn obligations_binding(&self, addressees: &[Addressee]) -> Vec<usize> {
        (0..self.data.obligations.len()).filter(|&i| addressees.contains(&self.data.obligations[i].binds)).collect()
    }
}
