//! The seed-data files (TOML, one file per kind) and their validation.
//!
//! Loading is all-or-nothing: every problem in every file is collected with the file
//! and record it concerns, and nothing is returned unless all files are valid.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::consistency;
use crate::domain::date::parse_date;
use crate::domain::reference::{
    Addressee, FieldRecord, JurisdictionRecord, LinkOrigin, LinkOverride, LinkRecord, MinistryRecord, ObligationRule,
    Provenance, ReferenceData, ReferenceSnapshot, ScopeItemRecord, SourceRecord,
};
use crate::domain::{Regime, Relation, Validity};

const SOURCES: &str = "sources.toml";
const MINISTRIES: &str = "ministries.toml";
const SECTORS: &str = "sectors.toml";
const DOMAINS: &str = "domains.toml";
const JURISDICTIONS: &str = "jurisdictions.toml";
const CROSSWALK: &str = "crosswalk.toml";
const OBLIGATIONS: &str = "obligations.toml";

/// The files as they were when the binary was built, so that a fresh machine can start
/// the service from the binary alone.
const EMBEDDED: [(&str, &str); 7] = [
    (SOURCES, include_str!("../../../seed-data/sources.toml")),
    (MINISTRIES, include_str!("../../../seed-data/ministries.toml")),
    (SECTORS, include_str!("../../../seed-data/sectors.toml")),
    (DOMAINS, include_str!("../../../seed-data/domains.toml")),
    (JURISDICTIONS, include_str!("../../../seed-data/jurisdictions.toml")),
    (CROSSWALK, include_str!("../../../seed-data/crosswalk.toml")),
    (OBLIGATIONS, include_str!("../../../seed-data/obligations.toml")),
];

/// The fictional demo operators, as built into the binary.
const EMBEDDED_DEMO: &str = include_str!("../../../seed-data/demo/operators.toml");

/// Where the seed-data files are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedSource {
    /// A `seed-data` directory on disk (edited files take effect on the next `seed`).
    Dir(PathBuf),
    /// The copy compiled into the binary.
    Embedded,
}

impl SeedSource {
    /// `dir` when given; else `./seed-data` when present; else the embedded copy.
    pub fn resolve(dir: Option<&Path>) -> Self {
        match dir {
            Some(dir) => SeedSource::Dir(dir.to_path_buf()),
            None if Path::new("seed-data").join(SECTORS).is_file() => SeedSource::Dir(PathBuf::from("seed-data")),
            None => SeedSource::Embedded,
        }
    }

    fn read(&self, file: &str) -> Result<String, SeedError> {
        match self {
            SeedSource::Dir(dir) => {
                let path = dir.join(file);
                std::fs::read_to_string(&path)
                    .map_err(|e| SeedError::new(&path.display().to_string(), "-", format!("cannot read file: {e}")))
            }
            SeedSource::Embedded => Ok(EMBEDDED
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, text)| (*text).to_owned())
                .unwrap_or_default()),
        }
    }

    /// The demo data set (`demo/operators.toml`).
    pub fn read_demo(&self) -> Result<String, SeedError> {
        match self {
            SeedSource::Dir(_) => self.read("demo/operators.toml"),
            SeedSource::Embedded => Ok(EMBEDDED_DEMO.to_owned()),
        }
    }

    fn display_name(&self, file: &str) -> String {
        match self {
            SeedSource::Dir(dir) => dir.join(file).display().to_string(),
            SeedSource::Embedded => format!("seed-data/{file} (embedded)"),
        }
    }
}

impl fmt::Display for SeedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedSource::Dir(dir) => write!(f, "{}", dir.display()),
            SeedSource::Embedded => f.write_str("embedded seed-data"),
        }
    }
}

/// One problem in one record of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError {
    pub file: String,
    pub record: String,
    pub message: String,
}

impl SeedError {
    fn new(file: &str, record: &str, message: impl Into<String>) -> Self {
        Self { file: file.to_owned(), record: record.to_owned(), message: message.into() }
    }
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.record, self.message)
    }
}

impl std::error::Error for SeedError {}

/// Every problem found; loading fails when there is at least one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SeedErrors(pub Vec<SeedError>);

impl fmt::Display for SeedErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seed-data is invalid ({} problem(s)); nothing was written:", self.0.len())?;
        for error in &self.0 {
            writeln!(f, "  {error}")?;
        }
        Ok(())
    }
}

/// The citation fields of an entry, as written.
struct Citation<'a> {
    source: &'a str,
    locator: Option<&'a String>,
    confirmed: Option<bool>,
    note: Option<&'a String>,
}

/// An entry of a seed-data file, with the citation fields every such record has.
macro_rules! cited_entry {
    ($name:ident { $($(#[$attr:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($(#[$attr])* $field: $ty,)*
            source: String,
            locator: Option<String>,
            confirmed: Option<bool>,
            note: Option<String>,
        }

        impl $name {
            fn citation(&self) -> Citation<'_> {
                Citation {
                    source: &self.source,
                    locator: self.locator.as_ref(),
                    confirmed: self.confirmed,
                    note: self.note.as_ref(),
                }
            }
        }
    };
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    #[serde(default)]
    source: Vec<SourceEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceEntry {
    code: String,
    title: String,
    publisher: Option<String>,
    published_on: Option<String>,
    url: Option<String>,
    note: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MinistriesFile {
    #[serde(default)]
    ministry: Vec<MinistryEntry>,
}

cited_entry!(MinistryEntry { code: String, name_ja: String, name_en: String });

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SectorsFile {
    #[serde(default)]
    sector: Vec<FieldEntry>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DomainsFile {
    #[serde(default)]
    domain: Vec<FieldEntry>,
}

cited_entry!(
    FieldEntry {
        code: String,
        name_ja: String,
        name_en: String,
        valid_from: Option<String>,
        valid_to: Option<String>,
        /// false where the source's list ends in 「等」; true when left out.
        exhaustive: Option<bool>,
        #[serde(default)]
        scope_item: Vec<ItemEntry>,
    }
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemEntry {
    code: String,
    name_ja: String,
    name_en: String,
    valid_from: Option<String>,
    valid_to: Option<String>,
    /// The law and article that define the business.
    legal_basis: Option<String>,
    source: Option<String>,
    locator: Option<String>,
    confirmed: Option<bool>,
    note: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct JurisdictionsFile {
    #[serde(default)]
    jurisdiction: Vec<JurisdictionEntry>,
}

cited_entry!(
    JurisdictionEntry {
        ministry: String,
        sector: Option<String>,
        domain: Option<String>,
        /// Narrows it to one scope item of the sector or domain (co-competence for part
        /// of a field).
        scope_item: Option<String>,
        valid_from: Option<String>,
        valid_to: Option<String>,
    }
);

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CrosswalkFile {
    #[serde(default)]
    link: Vec<LinkEntry>,
    #[serde(default)]
    item_link: Vec<ItemLinkEntry>,
}

/// A `[[link]]` or `[[item_link]]` entry: the two kinds differ only in how their ends
/// are named.
macro_rules! link_entry {
    ($name:ident { $ci:ident, $espa:ident } $(+ { $($extra:ident: $ty:ty),* })?) => {
        cited_entry!($name {
            $ci: String,
            $espa: String,
            relation: String,
            rationale: String,
            valid_from: Option<String>,
            valid_to: Option<String>,
            $($($extra: $ty,)*)?
        });

        impl $name {
            fn parts(&self) -> LinkParts<'_> {
                LinkParts {
                    ci: &self.$ci,
                    espa: &self.$espa,
                    relation: &self.relation,
                    rationale: &self.rationale,
                    valid_from: self.valid_from.as_deref(),
                    valid_to: self.valid_to.as_deref(),
                    citation: self.citation(),
                }
            }
        }
    };
}

// `override_reason`: why the declared relation stands although the pair's scope-item
// links imply another (the loader refuses an unexplained disagreement).
link_entry!(LinkEntry { sector, domain } + { override_reason: Option<String> });
link_entry!(ItemLinkEntry { sector_item, domain_item });

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ObligationsFile {
    #[serde(default)]
    obligation: Vec<ObligationEntry>,
}

cited_entry!(
    ObligationEntry {
        code: String,
        name_ja: String,
        name_en: String,
        legal_basis: String,
        triggered_by: String,
        binds: String,
        in_force_from: Option<String>,
        description: Option<String>,
    }
);

/// Collects problems while the files are turned into reference data.
struct Checker {
    errors: Vec<SeedError>,
    file: String,
}

impl Checker {
    fn at(&mut self, file: String) {
        self.file = file;
    }

    fn error(&mut self, record: &str, message: impl Into<String>) {
        self.errors.push(SeedError::new(&self.file, record, message));
    }

    fn parse<T: for<'de> Deserialize<'de> + Default>(&mut self, text: &str) -> T {
        match toml::from_str(text) {
            Ok(value) => value,
            Err(e) => {
                let record = e
                    .span()
                    .map(|span| format!("line {}", text[..span.start.min(text.len())].lines().count().max(1)))
                    .unwrap_or_else(|| "-".to_owned());
                self.error(&record, e.message().to_owned());
                T::default()
            }
        }
    }

    fn date(&mut self, record: &str, field: &str, value: Option<&str>) -> Option<NaiveDate> {
        let text = value?;
        match parse_date(text) {
            Ok(date) => Some(date),
            Err(e) => {
                self.error(record, format!("{field}: {e}"));
                None
            }
        }
    }

    fn validity(&mut self, record: &str, from: Option<&str>, to: Option<&str>) -> Validity {
        let validity = Validity::new(self.date(record, "valid_from", from), self.date(record, "valid_to", to));
        if !validity.is_well_formed() {
            self.error(record, "valid_to must be after valid_from");
        }
        validity
    }

    fn code(&mut self, record: &str, code: &str) {
        if !is_kebab(code) {
            self.error(record, format!("code \"{code}\" is not lower-kebab-case (a-z, 0-9 and single hyphens)"));
        }
    }

    fn unique<'a>(&mut self, seen: &mut HashSet<&'a str>, record: &str, code: &'a str) {
        if !seen.insert(code) {
            self.error(record, format!("duplicate code \"{code}\""));
        }
    }

    fn known(&mut self, record: &str, what: &str, code: &str, known: &HashSet<String>) {
        if !known.contains(code) {
            self.error(record, format!("unknown {what} \"{code}\""));
        }
    }

    fn provenance(&mut self, record: &str, sources: &HashSet<String>, citation: Citation<'_>) -> Provenance {
        self.known(record, "source", citation.source, sources);
        let confirmed = citation.confirmed.unwrap_or(true);
        if !confirmed && citation.note.is_none() {
            self.error(record, "an unconfirmed record needs a note saying what is uncertain");
        }
        Provenance {
            source: citation.source.to_owned(),
            locator: citation.locator.cloned(),
            confirmed,
            note: citation.note.cloned(),
        }
    }
}

fn is_kebab(code: &str) -> bool {
    !code.is_empty()
        && code
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

fn codes<T>(items: &[T], code: impl Fn(&T) -> &str) -> HashSet<String> {
    items.iter().map(|item| code(item).to_owned()).collect()
}

/// Reads and validates every seed-data file.
pub fn load(source: &SeedSource) -> Result<ReferenceData, SeedErrors> {
    let mut texts = HashMap::new();
    let mut read_errors = Vec::new();
    for (name, _) in EMBEDDED {
        match source.read(name) {
            Ok(text) => {
                texts.insert(name, text);
            }
            Err(e) => read_errors.push(e),
        }
    }
    if !read_errors.is_empty() {
        return Err(SeedErrors(read_errors));
    }
    let mut check = Checker { errors: Vec::new(), file: String::new() };
    let data = build(source, &texts, &mut check);
    if check.errors.is_empty() { Ok(data) } else { Err(SeedErrors(check.errors)) }
}

fn build(source: &SeedSource, texts: &HashMap<&str, String>, check: &mut Checker) -> ReferenceData {
    let text = |name: &str| texts.get(name).map(String::as_str).unwrap_or_default();
    let mut data = ReferenceData::default();

    check.at(source.display_name(SOURCES));
    let sources_file: SourcesFile = check.parse(text(SOURCES));
    let mut seen = HashSet::new();
    for entry in &sources_file.source {
        let record = format!("source \"{}\"", entry.code);
        check.code(&record, &entry.code);
        check.unique(&mut seen, &record, &entry.code);
        data.sources.push(SourceRecord {
            code: entry.code.clone(),
            title: entry.title.clone(),
            publisher: entry.publisher.clone(),
            published_on: check.date(&record, "published_on", entry.published_on.as_deref()),
            url: entry.url.clone(),
            note: entry.note.clone(),
        });
    }
    let source_codes = codes(&data.sources, |s| &s.code);

    check.at(source.display_name(MINISTRIES));
    let ministries_file: MinistriesFile = check.parse(text(MINISTRIES));
    let mut seen = HashSet::new();
    for entry in &ministries_file.ministry {
        let record = format!("ministry \"{}\"", entry.code);
        if entry.code.is_empty() || !entry.code.bytes().all(|b| b.is_ascii_uppercase()) {
            check.error(&record, "ministry codes are upper-case letters (e.g. MLIT)");
        }
        check.unique(&mut seen, &record, &entry.code);
        let provenance = check.provenance(&record, &source_codes, entry.citation());
        data.ministries.push(MinistryRecord {
            code: entry.code.clone(),
            name_ja: entry.name_ja.clone(),
            name_en: entry.name_en.clone(),
            provenance,
        });
    }
    let ministry_codes = codes(&data.ministries, |m| &m.code);

    check.at(source.display_name(SECTORS));
    let sectors_file: SectorsFile = check.parse(text(SECTORS));
    (data.sectors, data.sector_items) = fields(check, "sector", &sectors_file.sector, &source_codes);
    check.at(source.display_name(DOMAINS));
    let domains_file: DomainsFile = check.parse(text(DOMAINS));
    (data.domains, data.domain_items) = fields(check, "domain", &domains_file.domain, &source_codes);
    let sector_codes = codes(&data.sectors, |f| &f.code);
    let domain_codes = codes(&data.domains, |f| &f.code);

    check.at(source.display_name(JURISDICTIONS));
    let jurisdictions_file: JurisdictionsFile = check.parse(text(JURISDICTIONS));
    for (n, entry) in jurisdictions_file.jurisdiction.iter().enumerate() {
        let target = entry.sector.as_deref().or(entry.domain.as_deref()).unwrap_or("?");
        let record = format!("jurisdiction #{} ({} over {target})", n + 1, entry.ministry);
        check.known(&record, "ministry", &entry.ministry, &ministry_codes);
        let (regime, field) = match (&entry.sector, &entry.domain) {
            (Some(sector), None) => {
                check.known(&record, "sector", sector, &sector_codes);
                (Regime::Ci, sector.clone())
            }
            (None, Some(domain)) => {
                check.known(&record, "domain", domain, &domain_codes);
                (Regime::Espa, domain.clone())
            }
            _ => {
                check.error(&record, "name exactly one of sector or domain");
                continue;
            }
        };
        if let Some(item) = &entry.scope_item {
            let items = match regime {
                Regime::Ci => &data.sector_items,
                Regime::Espa => &data.domain_items,
            };
            match items.iter().find(|i| i.code == *item) {
                None => check.error(&record, format!("unknown {regime} scope item \"{item}\"")),
                Some(found) if found.parent != field => check.error(
                    &record,
                    format!(
                        "scope item \"{item}\" belongs to {} \"{}\", not to \"{field}\": a jurisdiction narrowed \
                         to a scope item names the sector or domain that owns it",
                        regime.field_noun(),
                        found.parent
                    ),
                ),
                Some(_) => {}
            }
        }
        let validity = check.validity(&record, entry.valid_from.as_deref(), entry.valid_to.as_deref());
        let provenance = check.provenance(&record, &source_codes, entry.citation());
        let jurisdiction = JurisdictionRecord {
            ministry: entry.ministry.clone(),
            regime,
            field,
            scope_item: entry.scope_item.clone(),
            validity,
            provenance,
        };
        let same = |j: &JurisdictionRecord| {
            (&j.ministry, j.regime, &j.field, &j.scope_item, j.validity.from)
                == (
                    &jurisdiction.ministry,
                    jurisdiction.regime,
                    &jurisdiction.field,
                    &jurisdiction.scope_item,
                    jurisdiction.validity.from,
                )
        };
        if data.jurisdictions.iter().any(same) {
            check.error(&record, "appears twice (same ministry, field, scope item and valid_from)");
        }
        data.jurisdictions.push(jurisdiction);
    }
    for (regime, fields) in [(Regime::Ci, &data.sectors), (Regime::Espa, &data.domains)] {
        for field in fields {
            // A narrowed jurisdiction covers only its scope item: some ministry must
            // have the whole field, or a designation without a scope item has none.
            let whole = |j: &JurisdictionRecord| j.regime == regime && j.field == field.code && j.scope_item.is_none();
            if !data.jurisdictions.iter().any(whole) {
                check.error(
                    &format!("{} \"{}\"", regime.field_noun(), field.code),
                    "no ministry has jurisdiction over it (over the whole of it: not only over some of its scope items)",
                );
            }
        }
    }

    check.at(source.display_name(CROSSWALK));
    let crosswalk_file: CrosswalkFile = check.parse(text(CROSSWALK));
    for entry in &crosswalk_file.link {
        let record = format!("link {} → {}", entry.sector, entry.domain);
        check.known(&record, "sector", &entry.sector, &sector_codes);
        check.known(&record, "domain", &entry.domain, &domain_codes);
        let link = link(check, &record, &source_codes, entry.parts());
        data.links.extend(link);
        if let Some(reason) = &entry.override_reason {
            if reason.trim().is_empty() {
                check.error(&record, "override_reason must say why, or be left out");
            } else if !data.link_overrides.iter().any(|o| o.sector == entry.sector && o.domain == entry.domain) {
                data.link_overrides.push(LinkOverride {
                    sector: entry.sector.clone(),
                    domain: entry.domain.clone(),
                    reason: reason.trim().to_owned(),
                });
            }
        }
    }
    let sector_item_parent: HashMap<&str, &str> =
        data.sector_items.iter().map(|i| (i.code.as_str(), i.parent.as_str())).collect();
    let domain_item_parent: HashMap<&str, &str> =
        data.domain_items.iter().map(|i| (i.code.as_str(), i.parent.as_str())).collect();
    for entry in &crosswalk_file.item_link {
        let record = format!("item_link {} → {}", entry.sector_item, entry.domain_item);
        let ci_parent = sector_item_parent.get(entry.sector_item.as_str());
        let espa_parent = domain_item_parent.get(entry.domain_item.as_str());
        if ci_parent.is_none() {
            check.error(&record, format!("unknown sector scope item \"{}\"", entry.sector_item));
        }
        if espa_parent.is_none() {
            check.error(&record, format!("unknown domain scope item \"{}\"", entry.domain_item));
        }
        if let (Some(ci), Some(espa)) = (ci_parent, espa_parent)
            && !data.links.iter().any(|l| l.ci == *ci && l.espa == *espa)
        {
            check.error(&record, format!("its fields are not linked: add a [[link]] for {ci} → {espa} first"));
        }
        let link = link(check, &record, &source_codes, entry.parts());
        data.item_links.extend(link);
    }
    check_duplicate_links(check, "link", &data.links);
    check_duplicate_links(check, "item_link", &data.item_links);
    if check.errors.is_empty() {
        check_consistency(check, &data);
    }

    check.at(source.display_name(OBLIGATIONS));
    let obligations_file: ObligationsFile = check.parse(text(OBLIGATIONS));
    let mut seen = HashSet::new();
    for entry in &obligations_file.obligation {
        let record = format!("obligation \"{}\"", entry.code);
        check.code(&record, &entry.code);
        check.unique(&mut seen, &record, &entry.code);
        let triggered_by = match entry.triggered_by.parse::<Regime>() {
            Ok(regime) => regime,
            Err(e) => {
                check.error(&record, format!("triggered_by: {e}"));
                continue;
            }
        };
        let Some(binds) = Addressee::parse(&entry.binds) else {
            let known: Vec<&str> = Addressee::ALL.iter().map(|a| a.as_str()).collect();
            check.error(
                &record,
                format!("binds: unknown addressee \"{}\" (expected one of {})", entry.binds, known.join(", ")),
            );
            continue;
        };
        if binds.regime() != triggered_by {
            check.error(
                &record,
                format!("binds {} holds a {} designation, not {triggered_by}", binds.as_str(), binds.regime()),
            );
        }
        let in_force_from = check.date(&record, "in_force_from", entry.in_force_from.as_deref());
        let provenance = check.provenance(&record, &source_codes, entry.citation());
        data.obligations.push(ObligationRule {
            code: entry.code.clone(),
            name_ja: entry.name_ja.clone(),
            name_en: entry.name_en.clone(),
            legal_basis: entry.legal_basis.clone(),
            triggered_by,
            binds,
            in_force_from,
            description: entry.description.clone(),
            provenance,
        });
    }
    data
}

/// Sectors or domains with their nested scope items.
fn fields(
    check: &mut Checker,
    noun: &str,
    entries: &[FieldEntry],
    sources: &HashSet<String>,
) -> (Vec<FieldRecord>, Vec<ScopeItemRecord>) {
    let mut fields = Vec::new();
    let mut items = Vec::new();
    let mut seen_fields = HashSet::new();
    let mut seen_items = HashSet::new();
    for entry in entries {
        let record = format!("{noun} \"{}\"", entry.code);
        check.code(&record, &entry.code);
        check.unique(&mut seen_fields, &record, &entry.code);
        let validity = check.validity(&record, entry.valid_from.as_deref(), entry.valid_to.as_deref());
        let provenance = check.provenance(&record, sources, entry.citation());
        for item in &entry.scope_item {
            let item_record = format!("{noun} \"{}\": scope_item \"{}\"", entry.code, item.code);
            match item.code.split_once('/') {
                Some((parent, rest)) if parent == entry.code && is_kebab(rest) => {}
                _ => check.error(&item_record, format!("scope item codes are \"{}/<lower-kebab-name>\"", entry.code)),
            }
            check.unique(&mut seen_items, &item_record, &item.code);
            let item_validity = check.validity(&item_record, item.valid_from.as_deref(), item.valid_to.as_deref());
            // An item without its own source is documented where its parent is.
            let (source, locator) = match &item.source {
                Some(source) => (source.as_str(), item.locator.as_ref()),
                None => (entry.source.as_str(), item.locator.as_ref().or(entry.locator.as_ref())),
            };
            let citation = Citation { source, locator, confirmed: item.confirmed, note: item.note.as_ref() };
            let item_provenance = check.provenance(&item_record, sources, citation);
            items.push(ScopeItemRecord {
                code: item.code.clone(),
                parent: entry.code.clone(),
                name_ja: item.name_ja.clone(),
                name_en: item.name_en.clone(),
                validity: item_validity,
                provenance: item_provenance,
                legal_basis: item.legal_basis.clone(),
            });
        }
        fields.push(FieldRecord {
            code: entry.code.clone(),
            name_ja: entry.name_ja.clone(),
            name_en: entry.name_en.clone(),
            validity,
            provenance,
            exhaustive: entry.exhaustive.unwrap_or(true),
        });
    }
    (fields, items)
}

struct LinkParts<'a> {
    ci: &'a str,
    espa: &'a str,
    relation: &'a str,
    rationale: &'a str,
    valid_from: Option<&'a str>,
    valid_to: Option<&'a str>,
    citation: Citation<'a>,
}

fn link(check: &mut Checker, record: &str, sources: &HashSet<String>, parts: LinkParts<'_>) -> Option<LinkRecord> {
    let relation = parts.relation.parse::<Relation>().map_err(|e| check.error(record, e)).ok();
    if parts.rationale.trim().is_empty() {
        check.error(record, "a link needs a rationale");
    }
    let validity = check.validity(record, parts.valid_from, parts.valid_to);
    let provenance = check.provenance(record, sources, parts.citation);
    Some(LinkRecord {
        ci: parts.ci.to_owned(),
        espa: parts.espa.to_owned(),
        relation: relation?,
        rationale: parts.rationale.trim().to_owned(),
        validity,
        provenance,
        origin: LinkOrigin::Seed,
    })
}

/// Every link's declared relation must be the one its scope-item links imply, on every
/// date the data changes, unless the link says why not (`override_reason`).
fn check_consistency(check: &mut Checker, data: &ReferenceData) {
    let snap = ReferenceSnapshot::new(data.clone());
    let mut reported = HashSet::new();
    for date in consistency::boundary_dates(&snap) {
        for found in consistency::inconsistencies_at(&snap, date) {
            let link = &data.links[found.link];
            if found.override_reason.is_some() || !reported.insert(found.link) {
                continue;
            }
            let implied = found.implied.map_or("nothing (no scope-item link joins their items)", Relation::as_str);
            let deciding: Vec<&str> =
                found.deciding.iter().map(|&(regime, i)| snap.items(regime)[i].code.as_str()).collect();
            check.error(
                &format!("link {} → {}", link.ci, link.espa),
                format!(
                    "declares {} but on {date} its scope-item links imply {implied} (deciding: {}); correct the \
                     relation or the item links, or give an override_reason",
                    link.relation,
                    if deciding.is_empty() { "-".to_owned() } else { deciding.join(", ") }
                ),
            );
        }
    }
}

/// Two links between the same pair must not hold on the same date.
fn check_duplicate_links(check: &mut Checker, noun: &str, links: &[LinkRecord]) {
    for (i, a) in links.iter().enumerate() {
        for b in &links[i + 1..] {
            let overlaps = a.validity.from.is_none_or(|from| b.validity.to.is_none_or(|to| from < to))
                && b.validity.from.is_none_or(|from| a.validity.to.is_none_or(|to| from < to));
            if a.ci == b.ci && a.espa == b.espa && overlaps {
                check.error(&format!("{noun} {} → {}", a.ci, a.espa), "duplicate link for the same period");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_seed_data_is_valid_and_complete() {
        let data = load(&SeedSource::Embedded).expect("embedded seed-data is valid");
        assert_eq!(data.sectors.len(), 15);
        assert_eq!(data.domains.len(), 15);
        assert_eq!(data.links.len(), 15);
        assert_eq!(data.ministries.len(), 8);
        assert!(data.obligations.len() >= 3);
    }

    /// Every record cites a source that exists (the loader refuses others), every
    /// confirmed record says where in its source the fact stands, and every source says
    /// where to read it.
    #[test]
    fn every_shipped_record_can_be_traced_to_its_source() {
        let data = load(&SeedSource::Embedded).expect("embedded seed-data is valid");
        let sources = codes(&data.sources, |s| &s.code);
        let mut records: Vec<(String, &Provenance)> = Vec::new();
        records.extend(data.ministries.iter().map(|m| (format!("ministry {}", m.code), &m.provenance)));
        for f in data.sectors.iter().chain(&data.domains) {
            records.push((format!("field {}", f.code), &f.provenance));
        }
        for i in data.sector_items.iter().chain(&data.domain_items) {
            records.push((format!("scope item {}", i.code), &i.provenance));
        }
        for j in &data.jurisdictions {
            records.push((format!("jurisdiction {} over {}", j.ministry, j.field), &j.provenance));
        }
        for l in data.links.iter().chain(&data.item_links) {
            records.push((format!("link {} → {}", l.ci, l.espa), &l.provenance));
        }
        records.extend(data.obligations.iter().map(|o| (format!("obligation {}", o.code), &o.provenance)));
        let untraceable: Vec<String> = records
            .iter()
            .filter_map(|(record, p)| {
                if !sources.contains(&p.source) {
                    Some(format!("{record}: unknown source {}", p.source))
                } else if p.confirmed && p.locator.is_none() {
                    Some(format!("{record}: confirmed, but no locator in {}", p.source))
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(untraceable, Vec::<String>::new());
        let without_url: Vec<&str> = data.sources.iter().filter(|s| s.url.is_none()).map(|s| s.code.as_str()).collect();
        assert_eq!(without_url, Vec::<&str>::new());
    }

    #[test]
    fn a_record_citing_a_source_that_does_not_exist_is_refused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        for (name, text) in EMBEDDED {
            let text = if name == MINISTRIES {
                text.replacen("source = \"nco-2025-08-26\"", "source = \"nowhere\"", 1)
            } else {
                text.to_owned()
            };
            std::fs::write(dir.path().join(name), text).expect("write seed file");
        }
        let errors = load(&SeedSource::Dir(dir.path().to_path_buf())).expect_err("refused");
        assert!(errors.0.iter().any(|e| e.message == "unknown source \"nowhere\""), "{errors}");
    }

    #[test]
    fn kebab_codes() {
        assert!(is_kebab("information-communications"));
        assert!(!is_kebab("Information"));
        assert!(!is_kebab("a--b"));
        assert!(!is_kebab("-a"));
        assert!(!is_kebab(""));
    }
}
