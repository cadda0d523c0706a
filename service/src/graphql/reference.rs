//! Reference data types and queries: sectors, business domains, scope items,
//! ministries, the crosswalk, gaps and obligation rules. Public (no token needed);
//! served from the in-memory snapshot, never from a query per request.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::{Context, Enum, MergedObject, Object, SimpleObject, TypeName};
use chrono::{DateTime, NaiveDate, Utc};

use super::limits::LIST_COST;
use super::scalars::Date;
use super::{ApiResult, request};
use crate::domain::consistency::{Inconsistency, inconsistencies_at};
use crate::domain::crosswalk::LinkKind;
use crate::domain::reference::{Addressee, LinkOrigin, LinkRecord, Provenance, ReferenceSnapshot};
use crate::domain::{Regime, Relation, today};
use crate::services;

/// The protection regime: CI = 重要インフラ (Cybersecurity Basic Act, 15 sectors), ESPA =
/// 基幹インフラ (Economic Security Promotion Act Art. 50, 15 business domains).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(name = "Regime")]
pub enum RegimeValue {
    /// Critical infrastructure (重要インフラ).
    #[graphql(name = "CI")]
    Ci,
    /// Core infrastructure under the Economic Security Promotion Act (基幹インフラ).
    #[graphql(name = "ESPA")]
    Espa,
}

/// Whom an obligation binds.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(name = "ObligationAddressee")]
pub enum AddresseeValue {
    /// Every operator with an active ESPA designation (特定社会基盤事業者).
    EspaDesignee,
    /// Only ESPA designees while recorded as 特別社会基盤事業者 (Cyber Response Act
    /// Art. 2(3); see `Operator.specialSocialInfrastructureOperator`).
    SpecialSocialInfrastructureOperator,
    /// Every operator with an active CI designation (重要社会基盤事業者).
    CiOperator,
}

impl From<Addressee> for AddresseeValue {
    fn from(addressee: Addressee) -> Self {
        match addressee {
            Addressee::EspaDesignee => AddresseeValue::EspaDesignee,
            Addressee::SpecialSocialInfrastructureOperator => AddresseeValue::SpecialSocialInfrastructureOperator,
            Addressee::CiOperator => AddresseeValue::CiOperator,
        }
    }
}

impl From<Regime> for RegimeValue {
    fn from(regime: Regime) -> Self {
        match regime {
            Regime::Ci => RegimeValue::Ci,
            Regime::Espa => RegimeValue::Espa,
        }
    }
}

impl From<RegimeValue> for Regime {
    fn from(value: RegimeValue) -> Self {
        match value {
            RegimeValue::Ci => Regime::Ci,
            RegimeValue::Espa => Regime::Espa,
        }
    }
}

/// How the CI side relates to the ESPA side, read "CI RELATION ESPA" (set-theory
/// relationship mapping as in NIST IR 8477).
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(name = "Relation")]
pub enum RelationValue {
    /// Both sides cover the same.
    #[graphql(name = "EQUAL")]
    Equal,
    /// The CI side is contained in the ESPA side.
    #[graphql(name = "SUBSET_OF")]
    SubsetOf,
    /// The CI side contains the ESPA side.
    #[graphql(name = "SUPERSET_OF")]
    SupersetOf,
    /// The sides overlap, neither containing the other.
    #[graphql(name = "INTERSECTS_WITH")]
    IntersectsWith,
}

impl From<Relation> for RelationValue {
    fn from(relation: Relation) -> Self {
        match relation {
            Relation::Equal => RelationValue::Equal,
            Relation::SubsetOf => RelationValue::SubsetOf,
            Relation::SupersetOf => RelationValue::SupersetOf,
            Relation::IntersectsWith => RelationValue::IntersectsWith,
        }
    }
}

impl From<RelationValue> for Relation {
    fn from(value: RelationValue) -> Self {
        match value {
            RelationValue::Equal => Relation::Equal,
            RelationValue::SubsetOf => Relation::SubsetOf,
            RelationValue::SupersetOf => Relation::SupersetOf,
            RelationValue::IntersectsWith => Relation::IntersectsWith,
        }
    }
}

/// Whether a crosswalk link comes from seed-data or was curated through the API.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum LinkOriginValue {
    /// Loaded from the seed-data files.
    Seed,
    /// Set by an administrator through the API.
    Curated,
}

impl From<LinkOrigin> for LinkOriginValue {
    fn from(origin: LinkOrigin) -> Self {
        match origin {
            LinkOrigin::Seed => LinkOriginValue::Seed,
            LinkOrigin::Curated => LinkOriginValue::Curated,
        }
    }
}

/// Where a reference record comes from and how certain it is.
#[derive(SimpleObject)]
#[graphql(name = "Provenance")]
pub struct ProvenanceValue {
    /// Code of the cited source (see `sources`).
    source_code: String,
    /// The citation: the source's title with page, table or article.
    citation: String,
    /// False when the fact is not certain from the source; `note` says what is uncertain.
    confirmed: bool,
    /// What is uncertain, or other remarks.
    note: Option<String>,
}

impl ProvenanceValue {
    fn new(snap: &ReferenceSnapshot, provenance: &Provenance) -> Self {
        Self {
            source_code: provenance.source.clone(),
            citation: snap.cite(provenance),
            confirmed: provenance.confirmed,
            note: provenance.note.clone(),
        }
    }
}

/// A document or law that reference records cite.
#[derive(SimpleObject)]
pub struct Source {
    /// Stable code.
    code: String,
    /// Title of the document or law.
    title: String,
    /// Who published it.
    publisher: Option<String>,
    /// When it was published.
    published_on: Option<Date>,
    /// Where to read it.
    url: Option<String>,
    /// Remarks.
    note: Option<String>,
}

/// Which regime a field type belongs to (the two GraphQL types share one implementation).
pub trait FieldKind: Send + Sync + 'static {
    const REGIME: Regime;
    const TYPE_NAME: &'static str;
}

/// Marker for CI sectors.
pub struct CiKind;
/// Marker for ESPA business domains.
pub struct EspaKind;

impl FieldKind for CiKind {
    const REGIME: Regime = Regime::Ci;
    const TYPE_NAME: &'static str = "Sector";
}

impl FieldKind for EspaKind {
    const REGIME: Regime = Regime::Espa;
    const TYPE_NAME: &'static str = "BusinessDomain";
}

pub type SectorObject = FieldObject<CiKind>;
pub type DomainObject = FieldObject<EspaKind>;

/// A field of one regime as seen at a date (the date its nested fields answer for).
pub struct FieldObject<K> {
    snap: Arc<ReferenceSnapshot>,
    index: usize,
    as_of: NaiveDate,
    kind: PhantomData<K>,
}

impl<K: FieldKind> FieldObject<K> {
    pub fn new(snap: Arc<ReferenceSnapshot>, index: usize, as_of: NaiveDate) -> Self {
        Self { snap, index, as_of, kind: PhantomData }
    }

    /// The field with this code, if it exists.
    pub fn by_code(snap: &Arc<ReferenceSnapshot>, code: &str, as_of: NaiveDate) -> Option<Self> {
        snap.field_index(K::REGIME, code).map(|i| Self::new(snap.clone(), i, as_of))
    }

    fn record(&self) -> &crate::domain::reference::FieldRecord {
        &self.snap.fields(K::REGIME)[self.index]
    }
}

impl<K: FieldKind> TypeName for FieldObject<K> {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(K::TYPE_NAME)
    }
}

/// A CI sector (重要インフラ分野, type `Sector`) or an ESPA business domain
/// (特定社会基盤事業, type `BusinessDomain`).
#[Object(name_type)]
impl<K: FieldKind> FieldObject<K> {
    /// Stable lower-kebab code, e.g. "electricity".
    async fn code(&self) -> &str {
        &self.record().code
    }

    /// Japanese name, as in the source document.
    async fn name_ja(&self) -> &str {
        &self.record().name_ja
    }

    /// English name.
    async fn name_en(&self) -> &str {
        &self.record().name_en
    }

    /// First day it is part of the regime's scope (null: since before records begin).
    async fn valid_from(&self) -> Option<Date> {
        self.record().validity.from.map(Date)
    }

    /// First day it is no longer part of the scope (exclusive; null: still in scope).
    async fn valid_to(&self) -> Option<Date> {
        self.record().validity.to.map(Date)
    }

    /// Its services (CI) or sub-businesses (ESPA) existing at the date it was asked for.
    async fn scope_items(&self) -> Vec<ScopeItemObject> {
        self.snap
            .items_of(K::REGIME, &self.record().code, Some(self.as_of))
            .into_iter()
            .map(|i| ScopeItemObject::new(self.snap.clone(), K::REGIME, i, self.as_of))
            .collect()
    }

    /// Ministries with jurisdiction at `asOf` (default: the date it was asked for), over
    /// all of it or over some of its scope items (co-competence: see `jurisdictions`).
    async fn ministries(&self, as_of: Option<Date>) -> Vec<MinistryObject> {
        let date = as_of.map_or(self.as_of, |d| d.0);
        self.snap
            .ministries_of(K::REGIME, &self.record().code, date)
            .into_iter()
            .map(|i| MinistryObject { snap: self.snap.clone(), index: i, as_of: date })
            .collect()
    }

    /// The jurisdictions over it in force at `asOf` (default: the date it was asked for):
    /// which ministry has it, over all of it or narrowed to one scope item. A ministry
    /// designates there where one of its jurisdictions covers the designation.
    async fn jurisdictions(&self, as_of: Option<Date>) -> Vec<JurisdictionObject> {
        let date = as_of.map_or(self.as_of, |d| d.0);
        self.snap
            .jurisdictions_over(K::REGIME, &self.record().code, date)
            .into_iter()
            .map(|index| JurisdictionObject { snap: self.snap.clone(), index, as_of: date })
            .collect()
    }

    /// Crosswalk links to the other regime in force at the date it was asked for.
    async fn links(&self) -> Vec<CrosswalkLinkObject> {
        self.snap
            .links_of(K::REGIME, &self.record().code, self.as_of)
            .into_iter()
            .map(|i| CrosswalkLinkObject::new(self.snap.clone(), i, self.as_of))
            .collect()
    }

    /// False where the source's list of its services or sub-businesses ends in 「等」: an
    /// item the list does not name may still belong here, so gaps beside it are not certain.
    async fn exhaustive(&self) -> bool {
        self.record().exhaustive
    }

    /// The regime this field belongs to.
    async fn regime(&self) -> RegimeValue {
        K::REGIME.into()
    }

    /// Where this record comes from.
    async fn provenance(&self) -> ProvenanceValue {
        ProvenanceValue::new(&self.snap, &self.record().provenance)
    }
}

/// A service of a CI sector or a sub-business of an ESPA business domain: the level at
/// which the two regimes really overlap.
pub struct ScopeItemObject {
    snap: Arc<ReferenceSnapshot>,
    regime: Regime,
    index: usize,
    as_of: NaiveDate,
}

impl ScopeItemObject {
    pub fn new(snap: Arc<ReferenceSnapshot>, regime: Regime, index: usize, as_of: NaiveDate) -> Self {
        Self { snap, regime, index, as_of }
    }

    fn record(&self) -> &crate::domain::reference::ScopeItemRecord {
        &self.snap.items(self.regime)[self.index]
    }
}

/// A service (CI) or sub-business (ESPA) of a sector or business domain.
#[Object(name = "ScopeItem")]
impl ScopeItemObject {
    /// Stable code "<sector-or-domain>/<item>", e.g. "electricity/power-generation".
    async fn code(&self) -> &str {
        &self.record().code
    }

    /// Japanese name, as in the source document.
    async fn name_ja(&self) -> &str {
        &self.record().name_ja
    }

    /// English name.
    async fn name_en(&self) -> &str {
        &self.record().name_en
    }

    /// The law and article that define the business (null where not recorded); its
    /// source is the item's provenance.
    async fn legal_basis(&self) -> Option<&str> {
        self.record().legal_basis.as_deref()
    }

    /// The regime it belongs to.
    async fn regime(&self) -> RegimeValue {
        self.regime.into()
    }

    /// The CI sector it belongs to (null for ESPA items).
    async fn sector(&self) -> Option<SectorObject> {
        (self.regime == Regime::Ci)
            .then(|| SectorObject::by_code(&self.snap, &self.record().parent, self.as_of))
            .flatten()
    }

    /// The ESPA business domain it belongs to (null for CI items).
    async fn domain(&self) -> Option<DomainObject> {
        (self.regime == Regime::Espa)
            .then(|| DomainObject::by_code(&self.snap, &self.record().parent, self.as_of))
            .flatten()
    }

    /// Scope-item crosswalk links in force at the date it was asked for.
    async fn links(&self) -> Vec<ScopeItemLinkObject> {
        let code = &self.record().code;
        self.snap
            .item_links_at(self.as_of)
            .into_iter()
            .filter(|&i| {
                let link = &self.snap.data().item_links[i];
                match self.regime {
                    Regime::Ci => &link.ci == code,
                    Regime::Espa => &link.espa == code,
                }
            })
            .map(|i| ScopeItemLinkObject::new(self.snap.clone(), i, self.as_of))
            .collect()
    }

    /// Where this record comes from.
    async fn provenance(&self) -> ProvenanceValue {
        ProvenanceValue::new(&self.snap, &self.record().provenance)
    }
}

/// One ministry's jurisdiction over a field, as seen at a date.
pub struct JurisdictionObject {
    snap: Arc<ReferenceSnapshot>,
    index: usize,
    as_of: NaiveDate,
}

impl JurisdictionObject {
    fn record(&self) -> &crate::domain::reference::JurisdictionRecord {
        &self.snap.data().jurisdictions[self.index]
    }
}

/// A ministry's jurisdiction over a CI sector or an ESPA business domain for a period:
/// over all of it, or narrowed to one of its scope items (co-competent ministers for part
/// of a field, as MOF beside the FSA for ESPA finance's deposit insurance). It lets the
/// ministry designate where it covers the designation: a narrowed one only designations
/// for its scope item.
#[Object(name = "Jurisdiction")]
impl JurisdictionObject {
    /// The ministry that has it.
    async fn ministry(&self) -> Option<MinistryObject> {
        MinistryObject::by_code(&self.snap, &self.record().ministry, self.as_of)
    }

    /// The regime of its field.
    async fn regime(&self) -> RegimeValue {
        self.record().regime.into()
    }

    /// The sector (CI) or business domain (ESPA) code.
    async fn field_code(&self) -> &str {
        &self.record().field
    }

    /// The scope item it is narrowed to (null: the whole sector or domain).
    async fn scope_item(&self) -> Option<ScopeItemObject> {
        let record = self.record();
        let code = record.scope_item.as_deref()?;
        self.snap
            .item_index(record.regime, code)
            .map(|i| ScopeItemObject::new(self.snap.clone(), record.regime, i, self.as_of))
    }

    /// First day it holds (null: since its field exists).
    async fn valid_from(&self) -> Option<Date> {
        self.record().validity.from.map(Date)
    }

    /// First day it no longer holds (exclusive; null: still holds).
    async fn valid_to(&self) -> Option<Date> {
        self.record().validity.to.map(Date)
    }

    /// Where this record comes from.
    async fn provenance(&self) -> ProvenanceValue {
        ProvenanceValue::new(&self.snap, &self.record().provenance)
    }
}

/// A ministry (府省庁) with jurisdiction over sectors or business domains.
pub struct MinistryObject {
    snap: Arc<ReferenceSnapshot>,
    index: usize,
    as_of: NaiveDate,
}

impl MinistryObject {
    pub fn by_code(snap: &Arc<ReferenceSnapshot>, code: &str, as_of: NaiveDate) -> Option<Self> {
        snap.ministry_index(code).map(|index| Self { snap: snap.clone(), index, as_of })
    }

    fn code_str(&self) -> &str {
        &self.snap.data().ministries[self.index].code
    }

    fn fields_at<K: FieldKind>(&self, as_of: Option<Date>) -> Vec<FieldObject<K>> {
        let date = as_of.map_or(self.as_of, |d| d.0);
        let code = self.code_str();
        self.snap
            .fields_at(K::REGIME, date)
            .into_iter()
            .filter(|&i| self.snap.has_any_jurisdiction(code, K::REGIME, &self.snap.fields(K::REGIME)[i].code, date))
            .map(|i| FieldObject::new(self.snap.clone(), i, date))
            .collect()
    }
}

/// A ministry with jurisdiction over CI sectors or ESPA business domains.
#[Object(name = "Ministry")]
impl MinistryObject {
    /// Stable code, e.g. "MLIT".
    async fn code(&self) -> &str {
        self.code_str()
    }

    /// Japanese name.
    async fn name_ja(&self) -> &str {
        &self.snap.data().ministries[self.index].name_ja
    }

    /// English name.
    async fn name_en(&self) -> &str {
        &self.snap.data().ministries[self.index].name_en
    }

    /// CI sectors under its jurisdiction at `asOf` (default: today), all of it or some
    /// of its scope items.
    async fn sectors(&self, as_of: Option<Date>) -> Vec<SectorObject> {
        self.fields_at(as_of)
    }

    /// ESPA business domains under its jurisdiction at `asOf` (default: today), all of it
    /// or some of its scope items (co-competence: see `jurisdictions`).
    async fn business_domains(&self, as_of: Option<Date>) -> Vec<DomainObject> {
        self.fields_at(as_of)
    }

    /// Its jurisdictions in force at `asOf` (default: today), CI sectors first, each over
    /// a whole field or narrowed to one scope item.
    async fn jurisdictions(&self, as_of: Option<Date>) -> Vec<JurisdictionObject> {
        let date = as_of.map_or(self.as_of, |d| d.0);
        let code = self.code_str();
        let mut indexes: Vec<usize> = Vec::new();
        for regime in [Regime::Ci, Regime::Espa] {
            for field in self.snap.fields_at(regime, date) {
                let field_code = &self.snap.fields(regime)[field].code;
                indexes.extend(
                    self.snap
                        .jurisdictions_over(regime, field_code, date)
                        .into_iter()
                        .filter(|&i| self.snap.data().jurisdictions[i].ministry == code),
                );
            }
        }
        indexes.into_iter().map(|index| JurisdictionObject { snap: self.snap.clone(), index, as_of: date }).collect()
    }

    /// Where this record comes from.
    async fn provenance(&self) -> ProvenanceValue {
        ProvenanceValue::new(&self.snap, &self.snap.data().ministries[self.index].provenance)
    }
}

/// One link of either table (sector–domain or scope item–scope item), as seen at a date.
struct LinkRef {
    snap: Arc<ReferenceSnapshot>,
    kind: LinkKind,
    index: usize,
    as_of: NaiveDate,
}

impl LinkRef {
    fn record(&self) -> &LinkRecord {
        let data = self.snap.data();
        match self.kind {
            LinkKind::Fields => &data.links[self.index],
            LinkKind::ScopeItems => &data.item_links[self.index],
        }
    }
}

/// The fields both kinds of link have (merged into `CrosswalkLink` and `ScopeItemLink`).
pub struct LinkDetails(LinkRef);

#[Object]
impl LinkDetails {
    /// How the CI side relates to the ESPA side.
    async fn relation(&self) -> RelationValue {
        self.0.record().relation.into()
    }

    /// One sentence on why this relation was chosen.
    async fn rationale(&self) -> &str {
        &self.0.record().rationale
    }

    /// The citation this link rests on.
    async fn source(&self) -> String {
        self.0.snap.cite(&self.0.record().provenance)
    }

    /// First day the link holds (null: as long as both ends exist).
    async fn valid_from(&self) -> Option<Date> {
        self.0.record().validity.from.map(Date)
    }

    /// First day the link no longer holds (exclusive).
    async fn valid_to(&self) -> Option<Date> {
        self.0.record().validity.to.map(Date)
    }

    /// Whether the link comes from seed-data or was curated through the API.
    async fn origin(&self) -> LinkOriginValue {
        self.0.record().origin.into()
    }

    /// Where this record comes from.
    async fn provenance(&self) -> ProvenanceValue {
        ProvenanceValue::new(&self.0.snap, &self.0.record().provenance)
    }
}

/// The two ends of a sector–domain link.
pub struct CrosswalkLinkEnds(LinkRef);

#[Object]
impl CrosswalkLinkEnds {
    /// The CI side.
    async fn sector(&self) -> ApiResult<SectorObject> {
        SectorObject::by_code(&self.0.snap, &self.0.record().ci, self.0.as_of).ok_or(super::ApiError::Internal)
    }

    /// The ESPA side.
    async fn domain(&self) -> ApiResult<DomainObject> {
        DomainObject::by_code(&self.0.snap, &self.0.record().espa, self.0.as_of).ok_or(super::ApiError::Internal)
    }
}

/// A crosswalk link between a CI sector and an ESPA business domain, read
/// "sector RELATION domain". No link means no relationship.
#[derive(MergedObject)]
#[graphql(name = "CrosswalkLink")]
pub struct CrosswalkLinkObject(CrosswalkLinkEnds, LinkDetails);

impl CrosswalkLinkObject {
    pub fn new(snap: Arc<ReferenceSnapshot>, index: usize, as_of: NaiveDate) -> Self {
        let link = || LinkRef { snap: snap.clone(), kind: LinkKind::Fields, index, as_of };
        Self(CrosswalkLinkEnds(link()), LinkDetails(link()))
    }
}

/// The two ends of a scope-item link.
pub struct ScopeItemLinkEnds(LinkRef);

impl ScopeItemLinkEnds {
    fn item(&self, regime: Regime, code: &str) -> ApiResult<ScopeItemObject> {
        let snap = &self.0.snap;
        snap.item_index(regime, code)
            .map(|i| ScopeItemObject::new(snap.clone(), regime, i, self.0.as_of))
            .ok_or(super::ApiError::Internal)
    }
}

#[Object]
impl ScopeItemLinkEnds {
    /// The CI scope item.
    async fn sector_item(&self) -> ApiResult<ScopeItemObject> {
        self.item(Regime::Ci, &self.0.record().ci)
    }

    /// The ESPA scope item.
    async fn domain_item(&self) -> ApiResult<ScopeItemObject> {
        self.item(Regime::Espa, &self.0.record().espa)
    }
}

/// A crosswalk link between a CI service and an ESPA sub-business, read
/// "sectorItem RELATION domainItem".
#[derive(MergedObject)]
#[graphql(name = "ScopeItemLink")]
pub struct ScopeItemLinkObject(ScopeItemLinkEnds, LinkDetails);

impl ScopeItemLinkObject {
    pub fn new(snap: Arc<ReferenceSnapshot>, index: usize, as_of: NaiveDate) -> Self {
        let link = || LinkRef { snap: snap.clone(), kind: LinkKind::ScopeItems, index, as_of };
        Self(ScopeItemLinkEnds(link()), LinkDetails(link()))
    }
}

/// What no crosswalk link covers at a date: the protection scope's gaps.
pub struct ScopeGapsObject {
    snap: Arc<ReferenceSnapshot>,
    gaps: crate::domain::reference::ScopeGaps,
    as_of: NaiveDate,
}

impl ScopeGapsObject {
    /// The gaps of `snap` at `as_of` (a proposal's impact shows those of two snapshots).
    pub fn at(snap: Arc<ReferenceSnapshot>, as_of: NaiveDate) -> Self {
        Self { gaps: snap.gaps_at(as_of), snap, as_of }
    }
}

/// Sectors, domains and scope items without a counterpart in the other regime.
#[Object(name = "ScopeGaps")]
impl ScopeGapsObject {
    /// CI sectors linked to no ESPA business domain.
    async fn sectors_without_domain(&self) -> Vec<SectorObject> {
        self.gaps.sectors_without_domain.iter().map(|&i| SectorObject::new(self.snap.clone(), i, self.as_of)).collect()
    }

    /// ESPA business domains linked to no CI sector.
    async fn domains_without_sector(&self) -> Vec<DomainObject> {
        self.gaps.domains_without_sector.iter().map(|&i| DomainObject::new(self.snap.clone(), i, self.as_of)).collect()
    }

    /// CI services that no scope-item link covers (e.g. 倉庫業).
    async fn sector_scope_items_without_link(&self) -> Vec<ScopeItemObject> {
        self.gaps
            .sector_items_without_link
            .iter()
            .map(|&i| ScopeItemObject::new(self.snap.clone(), Regime::Ci, i, self.as_of))
            .collect()
    }

    /// Every scope item that no scope-item link covers, CI first, with whether it is
    /// certainly a gap (false when a linked field on the other side is not exhaustive).
    async fn scope_item_gaps(&self) -> Vec<ScopeItemGap> {
        let ci = self.gaps.sector_items_without_link.iter().map(|&i| (Regime::Ci, i));
        let espa = self.gaps.domain_items_without_link.iter().map(|&i| (Regime::Espa, i));
        ci.chain(espa)
            .map(|(regime, index)| ScopeItemGap {
                item: ScopeItemObject::new(self.snap.clone(), regime, index, self.as_of),
                certain: self.snap.item_gap_is_certain(regime, index, self.as_of),
            })
            .collect()
    }

    /// ESPA sub-businesses that no scope-item link covers (e.g. 送電事業).
    async fn domain_scope_items_without_link(&self) -> Vec<ScopeItemObject> {
        self.gaps
            .domain_items_without_link
            .iter()
            .map(|&i| ScopeItemObject::new(self.snap.clone(), Regime::Espa, i, self.as_of))
            .collect()
    }
}

/// A sector–domain link whose declared relation its scope-item links do not bear out.
pub struct CrosswalkInconsistencyObject {
    snap: Arc<ReferenceSnapshot>,
    found: Inconsistency,
    as_of: NaiveDate,
}

/// A crosswalk link whose declared relation differs from the one its scope-item links
/// imply by set logic (the rule table is in the README, "Reference data").
#[Object(name = "CrosswalkInconsistency")]
impl CrosswalkInconsistencyObject {
    /// The CI side of the link.
    async fn sector(&self) -> ApiResult<SectorObject> {
        let link = &self.snap.data().links[self.found.link];
        SectorObject::by_code(&self.snap, &link.ci, self.as_of).ok_or(super::ApiError::Internal)
    }

    /// The ESPA side of the link.
    async fn domain(&self) -> ApiResult<DomainObject> {
        let link = &self.snap.data().links[self.found.link];
        DomainObject::by_code(&self.snap, &link.espa, self.as_of).ok_or(super::ApiError::Internal)
    }

    /// The relation the link declares.
    async fn declared(&self) -> RelationValue {
        self.found.declared.into()
    }

    /// The relation its scope-item links imply (null: no scope-item link joins the two
    /// sides' items).
    async fn implied(&self) -> Option<RelationValue> {
        self.found.implied.map(Into::into)
    }

    /// The scope items that decide the disagreement: those the declared relation needs
    /// inside the other side and that are not, or those that show more than it claims.
    async fn deciding(&self) -> Vec<ScopeItemObject> {
        self.found
            .deciding
            .iter()
            .map(|&(regime, index)| ScopeItemObject::new(self.snap.clone(), regime, index, self.as_of))
            .collect()
    }

    /// Why the declared relation stands anyway, when seed-data says so.
    async fn override_reason(&self) -> Option<&str> {
        self.found.override_reason.as_deref()
    }
}

/// A scope item that no scope-item link covers.
#[derive(SimpleObject)]
pub struct ScopeItemGap {
    /// The uncovered service (CI) or sub-business (ESPA).
    item: ScopeItemObject,
    /// False when the other side's linked list ends in 「等」, so an item it does not name
    /// may cover this one: an analyst should check before calling it a gap.
    certain: bool,
}

/// A duty that a regime status triggers, as seen at a date.
pub struct ObligationObject {
    snap: Arc<ReferenceSnapshot>,
    index: usize,
    as_of: NaiveDate,
}

impl ObligationObject {
    pub fn new(snap: Arc<ReferenceSnapshot>, index: usize, as_of: NaiveDate) -> Self {
        Self { snap, index, as_of }
    }

    fn rule(&self) -> &crate::domain::reference::ObligationRule {
        &self.snap.data().obligations[self.index]
    }
}

/// A legal duty that a designation triggers (e.g. ESPA Art. 52 prior notification).
#[Object(name = "Obligation")]
impl ObligationObject {
    /// Stable code, e.g. "espa-prior-notification".
    async fn code(&self) -> &str {
        &self.rule().code
    }

    /// Japanese name.
    async fn name_ja(&self) -> &str {
        &self.rule().name_ja
    }

    /// English name.
    async fn name_en(&self) -> &str {
        &self.rule().name_en
    }

    /// The law and article that impose it.
    async fn legal_basis(&self) -> &str {
        &self.rule().legal_basis
    }

    /// The regime whose designation triggers it.
    async fn triggered_by(&self) -> RegimeValue {
        self.rule().triggered_by.into()
    }

    /// Whom it binds: every designee of `triggeredBy`, or (Cyber Response Act duties) only
    /// the ESPA designees recorded as 特別社会基盤事業者.
    async fn binds(&self) -> AddresseeValue {
        self.rule().binds.into()
    }

    /// The date it applies from (null: not yet in force).
    async fn in_force_from(&self) -> Option<Date> {
        self.rule().in_force_from.map(Date)
    }

    /// Whether it is in force at the date it was asked for.
    async fn in_force(&self) -> bool {
        self.rule().in_force_at(self.as_of)
    }

    /// What the duty requires.
    async fn description(&self) -> Option<&str> {
        self.rule().description.as_deref()
    }

    /// Where this record comes from.
    async fn provenance(&self) -> ProvenanceValue {
        ProvenanceValue::new(&self.snap, &self.rule().provenance)
    }
}

fn date_or_today(as_of: Option<Date>) -> NaiveDate {
    as_of.map_or_else(today, |d| d.0)
}

fn fields_at<K: FieldKind>(snap: &Arc<ReferenceSnapshot>, as_of: Option<Date>) -> Vec<FieldObject<K>> {
    let date = date_or_today(as_of);
    snap.fields_at(K::REGIME, date).into_iter().map(|i| FieldObject::new(snap.clone(), i, date)).collect()
}

/// The reference data to answer from: as recorded at `known_at` when given (a past
/// state, see `services::record_time`), else the request's.
async fn snapshot_at(ctx: &Context<'_>, known_at: Option<DateTime<Utc>>) -> ApiResult<Arc<ReferenceSnapshot>> {
    match known_at {
        None => Ok(request(ctx).snapshot()),
        Some(at) => Ok(services::record_time::reference(super::services(ctx), at).await?),
    }
}

/// Queries over reference data (public).
#[derive(Default)]
pub struct ReferenceQuery;

#[Object]
impl ReferenceQuery {
    /// The CI sectors in force at `asOf` (default: today in Japan), as recorded at
    /// `knownAt` (default: now).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn sectors(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(
            desc = "The instant to answer as recorded at (default: now): seed-data loads and curations recorded later are left out."
        )]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<SectorObject>> {
        Ok(fields_at(&snapshot_at(ctx, known_at).await?, as_of))
    }

    /// One CI sector by code, whatever its dates (null when unknown).
    async fn sector(&self, ctx: &Context<'_>, code: String) -> Option<SectorObject> {
        SectorObject::by_code(&request(ctx).snapshot(), code.trim(), today())
    }

    /// The ESPA business domains in force at `asOf` (default: today in Japan), as
    /// recorded at `knownAt` (default: now).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn business_domains(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(
            desc = "The instant to answer as recorded at (default: now): seed-data loads and curations recorded later are left out."
        )]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<DomainObject>> {
        Ok(fields_at(&snapshot_at(ctx, known_at).await?, as_of))
    }

    /// One ESPA business domain by code, whatever its dates (null when unknown).
    async fn business_domain(&self, ctx: &Context<'_>, code: String) -> Option<DomainObject> {
        DomainObject::by_code(&request(ctx).snapshot(), code.trim(), today())
    }

    /// All ministries.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn ministries(&self, ctx: &Context<'_>) -> Vec<MinistryObject> {
        let snap = &request(ctx).snapshot();
        let date = today();
        (0..snap.data().ministries.len())
            .map(|index| MinistryObject { snap: snap.clone(), index, as_of: date })
            .collect()
    }

    /// Sector–domain links in force at `asOf` (both ends existing then), as recorded at
    /// `knownAt` (default: now; a curation recorded later is left out).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn crosswalk(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(
            desc = "The instant to answer as recorded at (default: now): seed-data loads and curations recorded later are left out."
        )]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<CrosswalkLinkObject>> {
        let snap = &snapshot_at(ctx, known_at).await?;
        let date = date_or_today(as_of);
        Ok(snap.links_at(date).into_iter().map(|i| CrosswalkLinkObject::new(snap.clone(), i, date)).collect())
    }

    /// Scope-item links in force at `asOf` (both ends existing then), as recorded at
    /// `knownAt` (default: now).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn scope_item_crosswalk(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(
            desc = "The instant to answer as recorded at (default: now): seed-data loads and curations recorded later are left out."
        )]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<ScopeItemLinkObject>> {
        let snap = &snapshot_at(ctx, known_at).await?;
        let date = date_or_today(as_of);
        Ok(snap
            .item_links_at(date)
            .into_iter()
            .map(|index| ScopeItemLinkObject::new(snap.clone(), index, date))
            .collect())
    }

    /// What no link covers at `asOf`: sectors, domains and scope items without a
    /// counterpart, as recorded at `knownAt` (default: now).
    async fn scope_gaps(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(
            desc = "The instant to answer as recorded at (default: now): seed-data loads and curations recorded later are left out."
        )]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<ScopeGapsObject> {
        let snap = snapshot_at(ctx, known_at).await?;
        let date = date_or_today(as_of);
        Ok(ScopeGapsObject::at(snap, date))
    }

    /// The crosswalk's self-check at `asOf`: every sector–domain link whose declared
    /// relation differs from the one its scope-item links imply (empty when all agree).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn crosswalk_consistency(&self, ctx: &Context<'_>, as_of: Option<Date>) -> Vec<CrosswalkInconsistencyObject> {
        let snap = request(ctx).snapshot();
        let date = date_or_today(as_of);
        inconsistencies_at(&snap, date)
            .into_iter()
            .map(|found| CrosswalkInconsistencyObject { snap: snap.clone(), found, as_of: date })
            .collect()
    }

    /// Every obligation rule, with whether it is in force at `asOf`, as recorded at
    /// `knownAt` (default: now).
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn obligation_rules(
        &self,
        ctx: &Context<'_>,
        as_of: Option<Date>,
        #[graphql(
            desc = "The instant to answer as recorded at (default: now): seed-data loads and curations recorded later are left out."
        )]
        known_at: Option<DateTime<Utc>>,
    ) -> ApiResult<Vec<ObligationObject>> {
        let snap = &snapshot_at(ctx, known_at).await?;
        let date = date_or_today(as_of);
        Ok((0..snap.data().obligations.len()).map(|i| ObligationObject::new(snap.clone(), i, date)).collect())
    }

    /// The documents and laws that reference records cite.
    #[graphql(complexity = "LIST_COST * child_complexity")]
    async fn sources(&self, ctx: &Context<'_>) -> Vec<Source> {
        request(ctx)
            .snapshot()
            .data()
            .sources
            .iter()
            .map(|s| Source {
                code: s.code.clone(),
                title: s.title.clone(),
                publisher: s.publisher.clone(),
                published_on: s.published_on.map(Date),
                url: s.url.clone(),
                note: s.note.clone(),
            })
            .collect()
    }
}
