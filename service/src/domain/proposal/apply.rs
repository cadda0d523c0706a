//! Applying a proposal's changes to the live reference data: the reference data as it
//! would be if the proposal were promoted.

use chrono::NaiveDate;

use super::change::{ChangeRejected, NewScopeItem, ScopeChange, item_code};
use crate::domain::reference::{
    FieldRecord, JurisdictionRecord, LinkOrigin, LinkRecord, Provenance, ReferenceData, ScopeItemRecord,
};
use crate::domain::{Regime, Relation, Validity, text};

/// The reference data with `changes` applied, in order, from `effective_from` on.
///
/// Each change is checked against the scope as it holds on `effective_from` once the
/// earlier changes are applied, and the first one that cannot be applied rejects the
/// whole proposal (`live` is never modified: the result is a new value). The rules:
///
/// - **Nothing is deleted.** A record that ends gets `validity.to = effective_from`;
///   the periods before stay as they were, so `asOf` earlier dates keep answering what
///   held then. Only records this proposal itself adds, and that would never hold
///   (added and ended on the same day), are left out of the result.
/// - **New records** (fields, scope items, links, jurisdictions) hold from
///   `effective_from` on, carry `provenance`, and are appended after the live records
///   of their kind (display order). New links are marked [`LinkOrigin::Curated`]; how
///   promoted records are marked is for storage to decide.
/// - **Codes** are lower-kebab (`medical`), scope items `parent/item` (a bare `item` is
///   expanded with its parent's code). A code that was ever published in a regime,
///   even one retired since, cannot be added again: codes never change meaning.
/// - **Retiring a sector or domain** ends it, its scope items, the links and scope-item
///   links touching it and the jurisdictions over it, including those scheduled to start
///   later. **Retiring a scope item** ends it, its scope-item links and the jurisdictions
///   narrowed to it.
/// - **Only what holds can end**: retiring or removing needs the record to be in force
///   on `effective_from`. A live record that would have to end on or before the day it
///   starts (scheduled for `effective_from` or later) rejects the change.
/// - **setLink / setScopeItemLink**: both ends must be in force on `effective_from`
///   (for scope items: CI item on the left, ESPA item on the right, and their sector and
///   domain linked then). If the pair's link in force then has the same relation and
///   rationale, nothing changes; otherwise that link ends and the new one starts, lasting
///   as long as the one it replaces would have (or up to the pair's next scheduled link).
/// - **removeLink** ends the pair's link and every scope-item link between the two
///   fields' items; **removeScopeItemLink** ends that link.
/// - **setJurisdiction** makes the ministry the *only* ministry with jurisdiction over
///   the field from `effective_from` on, as a transfer (water moved from MHLW to MLIT on
///   2024-04-01): every other ministry's jurisdiction over the field in force that day
///   ends then, those narrowed to one of its scope items included; a jurisdiction over
///   the whole field the ministry already holds then continues as it is (no new record);
///   jurisdictions scheduled to start later are left as they are.
/// - **setJurisdiction with a scope item** gives the ministry jurisdiction over that
///   scope item of the field (it must own the item) from `effective_from` on, beside the
///   ministries that have the field (co-competence: MOF beside the FSA for ESPA
///   finance's deposit insurance): nothing ends, and nothing changes where the
///   ministry's jurisdiction already covers the item. A designation for the item may
///   then be made by it; one without a scope item, or for another item, may not.
///   Retiring the scope item, or the field, ends it.
/// - **addSector / addDomain** need a known ministry, which gets jurisdiction over the new
///   field; ministries themselves cannot be added by a proposal.
/// - Names and rationales are free text (trimmed, required, at most 500 characters, no
///   control characters).
pub fn apply(
    live: &ReferenceData,
    effective_from: NaiveDate,
    provenance: &Provenance,
    changes: &[ScopeChange],
) -> Result<ReferenceData, ChangeRejected> {
    let mut draft = Draft::new(live, effective_from, provenance);
    for (index, change) in changes.iter().enumerate() {
        draft.apply(change).map_err(|reason| ChangeRejected { index, change: change.describe(), reason })?;
    }
    Ok(draft.data)
}

/// Checks that `changes` (a draft's list with one more change at the end) can be
/// applied from `effective_from`: [`apply`] with the result discarded.
pub fn validate(
    live: &ReferenceData,
    effective_from: NaiveDate,
    changes: &[ScopeChange],
) -> Result<(), ChangeRejected> {
    let provenance = Provenance { source: String::new(), locator: None, confirmed: false, note: None };
    apply(live, effective_from, &provenance, changes).map(drop)
}

/// Lower-kebab: a-z, 0-9 and single hyphens (the rule `reference::files` checks
/// seed-data codes against).
fn is_kebab(code: &str) -> bool {
    !code.is_empty()
        && code
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

fn other(regime: Regime) -> Regime {
    match regime {
        Regime::Ci => Regime::Espa,
        Regime::Espa => Regime::Ci,
    }
}

/// True when a period still holds on `day` or later.
fn holds_on_or_after(validity: &Validity, day: NaiveDate) -> bool {
    validity.to.is_none_or(|to| to > day)
}

/// How many records of each kind the live data has: the draft's records at these
/// positions and beyond are the proposal's own.
#[derive(Debug, Clone, Copy)]
struct LiveCounts {
    sectors: usize,
    domains: usize,
    sector_items: usize,
    domain_items: usize,
    jurisdictions: usize,
    links: usize,
    item_links: usize,
}

/// Which link list a change works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Links {
    Fields,
    Items,
}

struct Draft<'a> {
    data: ReferenceData,
    live: LiveCounts,
    day: NaiveDate,
    provenance: &'a Provenance,
}

/// A record with a validity period.
pub(super) trait Dated {
    fn validity(&self) -> Validity;
    fn validity_mut(&mut self) -> &mut Validity;
}

macro_rules! dated {
    ($($t:ty),*) => {$(
        impl Dated for $t {
            fn validity(&self) -> Validity {
                self.validity
            }
            fn validity_mut(&mut self) -> &mut Validity {
                &mut self.validity
            }
        }
    )*};
}
dated!(FieldRecord, ScopeItemRecord, JurisdictionRecord, LinkRecord);

/// Ends from `day` every record that `select` picks and that still holds on `day` or
/// later: its period now stops at `day`. A record that does not start before `day`
/// would be left no period: one the proposal added is dropped, a live one rejects the
/// change (named by `label`).
fn end_where<T: Dated>(
    records: &mut Vec<T>,
    live_count: usize,
    day: NaiveDate,
    select: impl Fn(&T) -> bool,
    label: impl Fn(&T) -> String,
) -> Result<(), String> {
    let picked = |r: &T| select(r) && holds_on_or_after(&r.validity(), day);
    let starts_late = |r: &T| r.validity().from.is_some_and(|from| from >= day);
    if let Some(late) = records[..live_count.min(records.len())].iter().find(|r| picked(r) && starts_late(r)) {
        let from = late.validity().from.unwrap_or(day);
        return Err(format!(
            "{} only starts on {from}: ending it from {day} would leave it no period (propose a later date)",
            label(late)
        ));
    }
    let mut index = records.len();
    while index > 0 {
        index -= 1;
        if !picked(&records[index]) {
            continue;
        }
        if starts_late(&records[index]) {
            records.remove(index);
        } else {
            records[index].validity_mut().to = Some(day);
        }
    }
    Ok(())
}

impl<'a> Draft<'a> {
    fn new(live: &ReferenceData, day: NaiveDate, provenance: &'a Provenance) -> Self {
        let live_counts = LiveCounts {
            sectors: live.sectors.len(),
            domains: live.domains.len(),
            sector_items: live.sector_items.len(),
            domain_items: live.domain_items.len(),
            jurisdictions: live.jurisdictions.len(),
            links: live.links.len(),
            item_links: live.item_links.len(),
        };
        Self { data: live.clone(), live: live_counts, day, provenance }
    }

    fn apply(&mut self, change: &ScopeChange) -> Result<(), String> {
        match change {
            ScopeChange::AddSector { code, name_ja, name_en, ministry, scope_items } => {
                self.add_field(Regime::Ci, code, name_ja, name_en, ministry, scope_items)
            }
            ScopeChange::AddDomain { code, name_ja, name_en, ministry, scope_items } => {
                self.add_field(Regime::Espa, code, name_ja, name_en, ministry, scope_items)
            }
            ScopeChange::RetireSector { code } => self.retire_field(Regime::Ci, code.trim()),
            ScopeChange::RetireDomain { code } => self.retire_field(Regime::Espa, code.trim()),
            ScopeChange::AddScopeItem { regime, parent, code, name_ja, name_en } => {
                self.add_item(*regime, parent.trim(), code.trim(), name_ja, name_en)
            }
            ScopeChange::RetireScopeItem { regime, code } => self.retire_item(*regime, code.trim()),
            ScopeChange::SetLink { sector, domain, relation, rationale } => {
                let (sector, domain) = (sector.trim(), domain.trim());
                self.field_in_force(Regime::Ci, sector, "the link's ends must exist")?;
                self.field_in_force(Regime::Espa, domain, "the link's ends must exist")?;
                self.set_link(Links::Fields, sector, domain, *relation, rationale)
            }
            ScopeChange::RemoveLink { sector, domain } => self.remove_link(sector.trim(), domain.trim()),
            ScopeChange::SetScopeItemLink { sector_item, domain_item, relation, rationale } => {
                let (ci, espa) = (sector_item.trim(), domain_item.trim());
                let sector = self.item_in_force(Regime::Ci, ci, "sectorItem")?;
                let domain = self.item_in_force(Regime::Espa, espa, "domainItem")?;
                if !self.fields_linked(&sector, &domain) {
                    return Err(format!(
                        "sector \"{sector}\" and business domain \"{domain}\" are not linked on {}: link them \
                         first (setLink)",
                        self.day
                    ));
                }
                self.set_link(Links::Items, ci, espa, *relation, rationale)
            }
            ScopeChange::RemoveScopeItemLink { sector_item, domain_item } => {
                let (ci, espa) = (sector_item.trim(), domain_item.trim());
                self.item(Regime::Ci, ci, "sectorItem")?;
                self.item(Regime::Espa, espa, "domainItem")?;
                self.remove_item_link(ci, espa)
            }
            ScopeChange::SetJurisdiction { ministry, regime, field, scope_item } => {
                match scope_item.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
                    None => self.set_jurisdiction(ministry.trim(), *regime, field.trim()),
                    Some(item) => self.set_item_jurisdiction(ministry.trim(), *regime, field.trim(), item),
                }
            }
        }
    }

    fn fields(&self, regime: Regime) -> &Vec<FieldRecord> {
        match regime {
            Regime::Ci => &self.data.sectors,
            Regime::Espa => &self.data.domains,
        }
    }

    fn items(&self, regime: Regime) -> &Vec<ScopeItemRecord> {
        match regime {
            Regime::Ci => &self.data.sector_items,
            Regime::Espa => &self.data.domain_items,
        }
    }

    fn links(&self, which: Links) -> &Vec<LinkRecord> {
        match which {
            Links::Fields => &self.data.links,
            Links::Items => &self.data.item_links,
        }
    }

    /// The link list and its live count.
    fn links_mut(&mut self, which: Links) -> (&mut Vec<LinkRecord>, usize) {
        match which {
            Links::Fields => (&mut self.data.links, self.live.links),
            Links::Items => (&mut self.data.item_links, self.live.item_links),
        }
    }

    fn field(&self, regime: Regime, code: &str) -> Result<&FieldRecord, String> {
        self.fields(regime)
            .iter()
            .find(|f| f.code == code)
            .ok_or_else(|| format!("unknown {} \"{code}\"", regime.field_noun()))
    }

    /// The field, which must be in force on the day; `context` says why it must.
    fn field_in_force(&self, regime: Regime, code: &str, context: &str) -> Result<&FieldRecord, String> {
        let field = self.field(regime, code)?;
        if !field.validity.contains(self.day) {
            return Err(format!("{context}: {}", not_in_force(regime.field_noun(), code, &field.validity, self.day)));
        }
        Ok(field)
    }

    /// The scope item of `regime` with this code; `role` names the input (`sectorItem`)
    /// for the message when the code is one of the other regime's items.
    fn item(&self, regime: Regime, code: &str, role: &str) -> Result<&ScopeItemRecord, String> {
        if let Some(item) = self.items(regime).iter().find(|i| i.code == code) {
            return Ok(item);
        }
        let (side, article, other_article) = match regime {
            Regime::Ci => ("a CI sector's", "a", "an"),
            Regime::Espa => ("an ESPA business domain's", "an", "a"),
        };
        if self.items(other(regime)).iter().any(|i| i.code == code) {
            Err(format!(
                "\"{code}\" is {other_article} {} scope item, not {article} {regime} one: {role} names {side} scope item",
                other(regime)
            ))
        } else {
            Err(format!("unknown {regime} scope item \"{code}\""))
        }
    }

    /// The item's parent field, when the item is in force on the day.
    fn item_in_force(&self, regime: Regime, code: &str, role: &str) -> Result<String, String> {
        let item = self.item(regime, code, role)?;
        if !item.validity.contains(self.day) {
            let what = format!("{regime} scope item");
            return Err(format!("the link's ends must exist: {}", not_in_force(&what, code, &item.validity, self.day)));
        }
        Ok(item.parent.clone())
    }

    /// Whether a sector–domain link holds on the day between two fields in force.
    fn fields_linked(&self, sector: &str, domain: &str) -> bool {
        let in_force =
            |regime: Regime, code: &str| self.field(regime, code).is_ok_and(|f| f.validity.contains(self.day));
        in_force(Regime::Ci, sector)
            && in_force(Regime::Espa, domain)
            && self.data.links.iter().any(|l| l.ci == sector && l.espa == domain && l.validity.contains(self.day))
    }

    /// A known ministry (`missing`: the reason when none is named).
    fn ministry(&self, code: &str, missing: impl FnOnce() -> String) -> Result<String, String> {
        if code.is_empty() {
            return Err(missing());
        }
        if !self.data.ministries.iter().any(|m| m.code == code) {
            let known: Vec<&str> = self.data.ministries.iter().map(|m| m.code.as_str()).collect();
            return Err(format!("unknown ministry \"{code}\" (known: {})", known.join(", ")));
        }
        Ok(code.to_owned())
    }

    /// Refuses a code already published in the regime (at any time).
    fn check_new_code<T: Dated>(
        &self,
        records: &[T],
        code_of: impl Fn(&T) -> &str,
        what: &str,
        code: &str,
    ) -> Result<(), String> {
        let Some(existing) = records.iter().find(|r| code_of(r) == code) else { return Ok(()) };
        let validity = existing.validity();
        Err(match validity.to {
            Some(to) if to <= self.day => format!(
                "{what} \"{code}\" already existed (until {to}): codes never change once published, so a retired \
                 code cannot be reused"
            ),
            _ => format!("{what} \"{code}\" already exists: codes never change once published"),
        })
    }

    fn new_validity(&self) -> Validity {
        Validity::new(Some(self.day), None)
    }

    fn scope_item(&self, regime: Regime, parent: &str, item: &NewScopeItem) -> Result<ScopeItemRecord, String> {
        self.new_item(regime, parent, item.code.trim(), &item.name_ja, &item.name_en)
    }

    /// A new scope item of `parent`, checked (its code form, not yet published, names).
    fn new_item(
        &self,
        regime: Regime,
        parent: &str,
        code: &str,
        name_ja: &str,
        name_en: &str,
    ) -> Result<ScopeItemRecord, String> {
        let full = item_code(parent, code);
        match full.split_once('/') {
            Some((p, rest)) if p == parent && is_kebab(rest) => {}
            _ => return Err(format!("scope item code \"{full}\" is not of the form \"{parent}/<lower-kebab-name>\"")),
        }
        self.check_new_code(self.items(regime), |i| &i.code, &format!("{regime} scope item"), &full)?;
        Ok(ScopeItemRecord {
            code: full,
            parent: parent.to_owned(),
            name_ja: text::required("nameJa", name_ja).map_err(|e| e.to_string())?,
            name_en: text::required("nameEn", name_en).map_err(|e| e.to_string())?,
            validity: self.new_validity(),
            provenance: self.provenance.clone(),
            legal_basis: None,
        })
    }

    fn add_field(
        &mut self,
        regime: Regime,
        code: &str,
        name_ja: &str,
        name_en: &str,
        ministry: &str,
        scope_items: &[NewScopeItem],
    ) -> Result<(), String> {
        let code = code.trim();
        let noun = regime.field_noun();
        if !is_kebab(code) {
            return Err(format!(
                "\"{code}\" is not a valid {noun} code: codes are lower-kebab-case (a-z, 0-9 and single hyphens)"
            ));
        }
        self.check_new_code(self.fields(regime), |f| &f.code, noun, code)?;
        let name_ja = text::required("nameJa", name_ja).map_err(|e| e.to_string())?;
        let name_en = text::required("nameEn", name_en).map_err(|e| e.to_string())?;
        let ministry =
            self.ministry(ministry.trim(), || format!("a new {noun} needs a ministry with jurisdiction over it"))?;
        let mut items: Vec<ScopeItemRecord> = Vec::with_capacity(scope_items.len());
        for item in scope_items {
            let record = self.scope_item(regime, code, item)?;
            if items.iter().any(|i| i.code == record.code) {
                return Err(format!("scope item \"{}\" is listed twice", record.code));
            }
            items.push(record);
        }
        let field = FieldRecord {
            code: code.to_owned(),
            name_ja,
            name_en,
            validity: self.new_validity(),
            provenance: self.provenance.clone(),
            // A new field's items are what the proposal lists.
            exhaustive: true,
        };
        let jurisdiction = JurisdictionRecord {
            ministry,
            regime,
            field: code.to_owned(),
            scope_item: None,
            validity: self.new_validity(),
            provenance: self.provenance.clone(),
        };
        match regime {
            Regime::Ci => {
                self.data.sectors.push(field);
                self.data.sector_items.extend(items);
            }
            Regime::Espa => {
                self.data.domains.push(field);
                self.data.domain_items.extend(items);
            }
        }
        self.data.jurisdictions.push(jurisdiction);
        Ok(())
    }

    fn add_item(
        &mut self,
        regime: Regime,
        parent: &str,
        code: &str,
        name_ja: &str,
        name_en: &str,
    ) -> Result<(), String> {
        self.field_in_force(regime, parent, "a new scope item's parent must exist")?;
        let record = self.new_item(regime, parent, code, name_ja, name_en)?;
        match regime {
            Regime::Ci => self.data.sector_items.push(record),
            Regime::Espa => self.data.domain_items.push(record),
        }
        Ok(())
    }

    fn retire_field(&mut self, regime: Regime, code: &str) -> Result<(), String> {
        let noun = regime.field_noun();
        let field = self.field(regime, code)?;
        if !field.validity.contains(self.day) {
            return Err(format!("nothing to retire: {}", not_in_force(noun, code, &field.validity, self.day)));
        }
        let day = self.day;
        let item_codes: Vec<String> =
            self.items(regime).iter().filter(|i| i.parent == code).map(|i| i.code.clone()).collect();
        let (fields, live_fields, items, live_items) = match regime {
            Regime::Ci => {
                (&mut self.data.sectors, self.live.sectors, &mut self.data.sector_items, self.live.sector_items)
            }
            Regime::Espa => {
                (&mut self.data.domains, self.live.domains, &mut self.data.domain_items, self.live.domain_items)
            }
        };
        end_where(fields, live_fields, day, |f| f.code == code, |f| format!("{noun} \"{}\"", f.code))?;
        end_where(items, live_items, day, |i| i.parent == code, |i| format!("{regime} scope item \"{}\"", i.code))?;
        end_where(&mut self.data.links, self.live.links, day, |l| side(regime, l) == code, link_label)?;
        end_where(
            &mut self.data.item_links,
            self.live.item_links,
            day,
            |l| item_codes.iter().any(|c| c == side(regime, l)),
            item_link_label,
        )?;
        end_where(
            &mut self.data.jurisdictions,
            self.live.jurisdictions,
            day,
            |j| j.regime == regime && j.field == code,
            jurisdiction_label,
        )
    }

    fn retire_item(&mut self, regime: Regime, code: &str) -> Result<(), String> {
        let item = self.item(regime, code, "code")?;
        if !item.validity.contains(self.day) {
            let what = format!("{regime} scope item");
            return Err(format!("nothing to retire: {}", not_in_force(&what, code, &item.validity, self.day)));
        }
        let day = self.day;
        let (items, live_items) = match regime {
            Regime::Ci => (&mut self.data.sector_items, self.live.sector_items),
            Regime::Espa => (&mut self.data.domain_items, self.live.domain_items),
        };
        end_where(items, live_items, day, |i| i.code == code, |i| format!("{regime} scope item \"{}\"", i.code))?;
        end_where(&mut self.data.item_links, self.live.item_links, day, |l| side(regime, l) == code, item_link_label)?;
        end_where(
            &mut self.data.jurisdictions,
            self.live.jurisdictions,
            day,
            |j| j.regime == regime && j.scope_item.as_deref() == Some(code),
            jurisdiction_label,
        )
    }

    /// Sets the pair's link from the day on (see [`apply`]).
    fn set_link(
        &mut self,
        which: Links,
        ci: &str,
        espa: &str,
        relation: Relation,
        rationale: &str,
    ) -> Result<(), String> {
        let rationale = text::required("rationale", rationale).map_err(|e| e.to_string())?;
        let day = self.day;
        let pair = |l: &LinkRecord| l.ci == ci && l.espa == espa;
        let current = self.links(which).iter().find(|l| pair(l) && l.validity.contains(day)).cloned();
        let to = match current {
            Some(current) if current.relation == relation && current.rationale == rationale => return Ok(()),
            Some(current) => {
                let label = match which {
                    Links::Fields => link_label,
                    Links::Items => item_link_label,
                };
                let (links, live_count) = self.links_mut(which);
                end_where(links, live_count, day, |l| pair(l) && l.validity.contains(day), label)?;
                current.validity.to
            }
            // Up to the pair's next link, if one is already scheduled.
            None => self
                .links(which)
                .iter()
                .filter(|l| pair(l))
                .filter_map(|l| l.validity.from)
                .filter(|from| *from > day)
                .min(),
        };
        let link = LinkRecord {
            ci: ci.to_owned(),
            espa: espa.to_owned(),
            relation,
            rationale,
            validity: Validity::new(Some(day), to),
            provenance: self.provenance.clone(),
            origin: LinkOrigin::Curated,
        };
        self.links_mut(which).0.push(link);
        Ok(())
    }

    fn remove_link(&mut self, sector: &str, domain: &str) -> Result<(), String> {
        self.field(Regime::Ci, sector)?;
        self.field(Regime::Espa, domain)?;
        let day = self.day;
        let pair = |l: &LinkRecord| l.ci == sector && l.espa == domain;
        if !self.data.links.iter().any(|l| pair(l) && l.validity.contains(day)) {
            return Err(format!("no link {sector} → {domain} holds on {day}: nothing to remove"));
        }
        let items_of = |items: &[ScopeItemRecord], parent: &str| -> Vec<String> {
            items.iter().filter(|i| i.parent == parent).map(|i| i.code.clone()).collect()
        };
        let ci_items = items_of(&self.data.sector_items, sector);
        let espa_items = items_of(&self.data.domain_items, domain);
        end_where(&mut self.data.links, self.live.links, day, |l| pair(l) && l.validity.contains(day), link_label)?;
        end_where(
            &mut self.data.item_links,
            self.live.item_links,
            day,
            |l| ci_items.contains(&l.ci) && espa_items.contains(&l.espa),
            item_link_label,
        )
    }

    fn remove_item_link(&mut self, ci: &str, espa: &str) -> Result<(), String> {
        let day = self.day;
        let pair = |l: &LinkRecord| l.ci == ci && l.espa == espa && l.validity.contains(day);
        if !self.data.item_links.iter().any(pair) {
            return Err(format!("no scope-item link {ci} → {espa} holds on {day}: nothing to remove"));
        }
        end_where(&mut self.data.item_links, self.live.item_links, day, pair, item_link_label)
    }

    fn set_jurisdiction(&mut self, ministry: &str, regime: Regime, field: &str) -> Result<(), String> {
        let ministry = self.ministry(ministry, || "setJurisdiction needs a ministry".to_owned())?;
        self.field_in_force(regime, field, "jurisdiction needs the field to exist")?;
        let day = self.day;
        let over = |j: &JurisdictionRecord| j.regime == regime && j.field == field;
        let whole = |j: &JurisdictionRecord| over(j) && j.scope_item.is_none() && j.ministry == ministry;
        let holds = self.data.jurisdictions.iter().any(|j| whole(j) && j.validity.contains(day));
        let next = self
            .data
            .jurisdictions
            .iter()
            .filter(|j| whole(j))
            .filter_map(|j| j.validity.from)
            .filter(|from| *from > day)
            .min();
        // Alone: every other ministry's jurisdiction over the field ends, those narrowed to
        // one of its scope items (co-competence) included.
        end_where(
            &mut self.data.jurisdictions,
            self.live.jurisdictions,
            day,
            |j| over(j) && j.ministry != ministry && j.validity.contains(day),
            jurisdiction_label,
        )?;
        if !holds {
            self.data.jurisdictions.push(JurisdictionRecord {
                ministry,
                regime,
                field: field.to_owned(),
                scope_item: None,
                validity: Validity::new(Some(day), next),
                provenance: self.provenance.clone(),
            });
        }
        Ok(())
    }

    /// `ministry` gains jurisdiction over one scope item of the field from the day on,
    /// beside the ministries that have it (co-competence): nothing ends. Where the
    /// ministry's jurisdiction already covers the item then (over the whole field, or
    /// narrowed to it), nothing changes.
    fn set_item_jurisdiction(&mut self, ministry: &str, regime: Regime, field: &str, item: &str) -> Result<(), String> {
        let ministry = self.ministry(ministry, || "setJurisdiction needs a ministry".to_owned())?;
        self.field_in_force(regime, field, "jurisdiction needs the field to exist")?;
        let code = item_code(field, item);
        let found = self.item(regime, &code, "scopeItem")?;
        if found.parent != field {
            return Err(format!(
                "scope item \"{code}\" belongs to {} \"{}\", not to \"{field}\": a jurisdiction narrowed to a \
                 scope item names the field that owns it",
                regime.field_noun(),
                found.parent
            ));
        }
        if !found.validity.contains(self.day) {
            let what = format!("{regime} scope item");
            return Err(format!(
                "jurisdiction needs the scope item to exist: {}",
                not_in_force(&what, &code, &found.validity, self.day)
            ));
        }
        let day = self.day;
        let mine = |j: &JurisdictionRecord| j.regime == regime && j.field == field && j.ministry == ministry;
        let covers =
            self.data.jurisdictions.iter().any(|j| mine(j) && j.covers(Some(&code)) && j.validity.contains(day));
        if covers {
            return Ok(());
        }
        let next = self
            .data
            .jurisdictions
            .iter()
            .filter(|j| mine(j) && j.scope_item.as_deref() == Some(code.as_str()))
            .filter_map(|j| j.validity.from)
            .filter(|from| *from > day)
            .min();
        self.data.jurisdictions.push(JurisdictionRecord {
            ministry,
            regime,
            field: field.to_owned(),
            scope_item: Some(code),
            validity: Validity::new(Some(day), next),
            provenance: self.provenance.clone(),
        });
        Ok(())
    }
}

/// "sector \"ports\" is not in force on 2024-01-01 (it starts on 2024-03-08)".
fn not_in_force(what: &str, code: &str, validity: &Validity, day: NaiveDate) -> String {
    let when = match (validity.from, validity.to) {
        (Some(from), _) if from > day => format!(" (it starts on {from})"),
        (_, Some(to)) if to <= day => format!(" (it is retired from {to})"),
        _ => String::new(),
    };
    format!("{what} \"{code}\" is not in force on {day}{when}")
}

/// The code on the regime's side of a link.
fn side(regime: Regime, link: &LinkRecord) -> &str {
    match regime {
        Regime::Ci => &link.ci,
        Regime::Espa => &link.espa,
    }
}

fn link_label(l: &LinkRecord) -> String {
    format!("link {} → {}", l.ci, l.espa)
}

fn item_link_label(l: &LinkRecord) -> String {
    format!("scope-item link {} → {}", l.ci, l.espa)
}

fn jurisdiction_label(j: &JurisdictionRecord) -> String {
    match &j.scope_item {
        None => format!("{}'s jurisdiction over {} \"{}\"", j.ministry, j.regime.field_noun(), j.field),
        Some(item) => {
            format!(
                "{}'s jurisdiction over scope item \"{item}\" of {} \"{}\"",
                j.ministry,
                j.regime.field_noun(),
                j.field
            )
        }
    }
}
