//! Designations: one operator's status under one regime for one sector or domain
//! (optionally one scope item) over a period, and the rules a new one must meet.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::reference::ReferenceSnapshot;
use super::{Principal, Regime, Validity};

/// Whether a designation still stands or was revoked (its period closed early).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DesignationStatus {
    Designated,
    Revoked,
}

impl DesignationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DesignationStatus::Designated => "DESIGNATED",
            DesignationStatus::Revoked => "REVOKED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "DESIGNATED" => Some(DesignationStatus::Designated),
            "REVOKED" => Some(DesignationStatus::Revoked),
            _ => None,
        }
    }
}

/// A designation is active at D when `effective_from <= D < effective_to`.
pub fn is_active(effective_from: NaiveDate, effective_to: Option<NaiveDate>, date: NaiveDate) -> bool {
    Validity::new(Some(effective_from), effective_to).contains(date)
}

/// Why a requested change breaks a rule of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleViolation {
    /// The request itself is wrong (BAD_USER_INPUT).
    Invalid(String),
    /// The principal may not act there (FORBIDDEN).
    Forbidden(String),
    /// The record is no longer in a state that allows it (CONFLICT).
    Conflict(String),
}

impl RuleViolation {
    /// What is wrong, for people.
    pub fn into_message(self) -> String {
        match self {
            RuleViolation::Invalid(message) | RuleViolation::Forbidden(message) | RuleViolation::Conflict(message) => {
                message
            }
        }
    }
}

/// What was asked for, as typed.
#[derive(Debug, Clone, Default)]
pub struct DesignationRequest {
    pub regime: Option<Regime>,
    pub sector: Option<String>,
    pub domain: Option<String>,
    pub scope_item: Option<String>,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    /// The designating ministry (admins choose when several have jurisdiction).
    pub ministry: Option<String>,
}

/// A designation that meets every rule that does not need the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDesignation {
    pub regime: Regime,
    pub field: String,
    pub scope_item: Option<String>,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub ministry: String,
}

fn invalid(message: impl Into<String>) -> RuleViolation {
    RuleViolation::Invalid(message.into())
}

/// Checks a request against the reference data and the principal's jurisdiction.
pub fn plan(
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    request: &DesignationRequest,
) -> Result<PlannedDesignation, RuleViolation> {
    let regime = request.regime.ok_or_else(|| invalid("regime is required (CI or ESPA)"))?;
    let field = match (regime, request.sector.as_deref(), request.domain.as_deref()) {
        (Regime::Ci, Some(sector), None) => sector.trim().to_owned(),
        (Regime::Espa, None, Some(domain)) => domain.trim().to_owned(),
        (Regime::Ci, _, Some(_)) => return Err(invalid("a CI designation names a sector, not a domain")),
        (Regime::Espa, Some(_), _) => return Err(invalid("an ESPA designation names a domain, not a sector")),
        (Regime::Ci, None, None) => return Err(invalid("a CI designation needs a sector")),
        (Regime::Espa, None, None) => return Err(invalid("an ESPA designation needs a domain")),
    };
    let noun = regime.field_noun();
    let record = snapshot.field(regime, &field).ok_or_else(|| invalid(format!("unknown {noun} \"{field}\"")))?;
    let effective_from = request.effective_from.ok_or_else(|| invalid("effectiveFrom is required"))?;
    if let Some(to) = request.effective_to
        && to <= effective_from
    {
        return Err(invalid(format!("effectiveTo ({to}) must be after effectiveFrom ({effective_from})")));
    }
    if !record.validity.contains(effective_from) {
        return Err(invalid(format!("{noun} \"{field}\" is not in force on {effective_from}")));
    }
    let scope_item = match request.scope_item.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(item) => {
            // Accept the short form ("power-generation") as well as the full code.
            let code = if item.contains('/') { item.to_owned() } else { format!("{field}/{item}") };
            let index = snapshot
                .item_index(regime, &code)
                .ok_or_else(|| invalid(format!("unknown scope item \"{code}\" in {noun} \"{field}\"")))?;
            let found = &snapshot.items(regime)[index];
            if found.parent != field {
                return Err(invalid(format!(
                    "scope item \"{code}\" belongs to \"{}\", not to \"{field}\"",
                    found.parent
                )));
            }
            if !found.validity.contains(effective_from) {
                return Err(invalid(format!("scope item \"{code}\" is not in force on {effective_from}")));
            }
            Some(code)
        }
    };
    let ministry = designating_ministry(
        snapshot,
        principal,
        Target { regime, field: &field, scope_item: scope_item.as_deref() },
        effective_from,
        request.ministry.as_deref(),
    )?;
    Ok(PlannedDesignation { regime, field, scope_item, effective_from, effective_to: request.effective_to, ministry })
}

/// What a designation is for: a field, and optionally one of its scope items.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub regime: Regime,
    pub field: &'a str,
    pub scope_item: Option<&'a str>,
}

impl Target<'_> {
    /// `sector "finance"`, or `scope item "finance/deposit-insurance" of business domain
    /// "finance"`.
    fn describe(&self) -> String {
        let field = format!("{} \"{}\"", self.regime.field_noun(), self.field);
        match self.scope_item {
            None => field,
            Some(item) => format!("scope item \"{item}\" of {field}"),
        }
    }

    fn covered_by(&self, snapshot: &ReferenceSnapshot, ministry: &str, date: NaiveDate) -> bool {
        snapshot.has_jurisdiction(ministry, self.regime, self.field, self.scope_item, date)
    }
}

/// Why a ministry with jurisdiction over only some scope items of the field (co-competent
/// for part of it) is not covered: " (MOF's jurisdiction over it is narrowed to …)".
fn narrowed_hint(snapshot: &ReferenceSnapshot, ministry: &str, target: &Target<'_>, date: NaiveDate) -> String {
    let items: Vec<&str> = snapshot
        .jurisdictions_over(target.regime, target.field, date)
        .into_iter()
        .map(|i| &snapshot.data().jurisdictions[i])
        .filter(|j| j.ministry == ministry)
        .filter_map(|j| j.scope_item.as_deref())
        .collect();
    if items.is_empty() {
        return String::new();
    }
    let needs = if target.scope_item.is_some() { "" } else { "; a designation there names its scope item" };
    format!(" ({ministry}'s jurisdiction there is narrowed to scope item {}{needs})", items.join(", "))
}

/// The ministry a designation is made by: a ministry principal's own (where one of its
/// jurisdictions covers the target), or for administrators the one whose jurisdiction
/// covers it at the date — where co-competent ministries share a scope item, the one
/// with the whole field unless another is named.
fn designating_ministry(
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    target: Target<'_>,
    date: NaiveDate,
    requested: Option<&str>,
) -> Result<String, RuleViolation> {
    let what = target.describe();
    if let Some(own) = principal.acting_ministry() {
        if requested.is_some_and(|r| r != own) {
            return Err(RuleViolation::Forbidden(format!("a {own} token cannot act for another ministry")));
        }
        if !target.covered_by(snapshot, own, date) {
            let hint = narrowed_hint(snapshot, own, &target, date);
            return Err(RuleViolation::Forbidden(format!("{own} has no jurisdiction over {what} on {date}{hint}")));
        }
        return Ok(own.to_owned());
    }
    let with_jurisdiction: Vec<&str> = snapshot
        .ministries_covering(target.regime, target.field, target.scope_item, date)
        .into_iter()
        .map(|i| snapshot.data().ministries[i].code.as_str())
        .collect();
    // Several cover it when co-competent ministries share a scope item: without a named
    // ministry, the one with the whole field designates (as before narrowing existed).
    let whole_field: Vec<&str> = snapshot
        .ministries_covering(target.regime, target.field, None, date)
        .into_iter()
        .map(|i| snapshot.data().ministries[i].code.as_str())
        .filter(|code| with_jurisdiction.contains(code))
        .collect();
    match (requested, with_jurisdiction.as_slice()) {
        (Some(code), list) if list.contains(&code) => Ok(code.to_owned()),
        (None, [_, _, ..]) if whole_field.len() == 1 => Ok(whole_field[0].to_owned()),
        (Some(code), _) => {
            let hint = narrowed_hint(snapshot, code, &target, date);
            Err(invalid(format!("ministry \"{code}\" has no jurisdiction over {what} on {date}{hint}")))
        }
        (None, [only]) => Ok((*only).to_owned()),
        (None, []) => Err(invalid(format!("no ministry has jurisdiction over {what} on {date}"))),
        (None, several) => Err(invalid(format!(
            "several ministries have jurisdiction over {what} on {date} ({}): name one",
            several.join(", ")
        ))),
    }
}

/// May this principal end a designation made for `field` from `revoked_from` on (its new
/// `effectiveTo`)? A ministry may when it has jurisdiction over the field on the last day
/// the designation still holds or on the day it ends. Across a transfer of jurisdiction
/// (water moved from MHLW to MLIT on 2024-04-01) this lets the ministry that had it end
/// a designation up to the transfer, and the one that has it end it from then on — but
/// not MHLW end an open water designation in 2025, when water is MLIT's.
pub fn check_revocation(
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    target: Target<'_>,
    revoked_from: NaiveDate,
) -> Result<(), RuleViolation> {
    let Some(own) = principal.acting_ministry() else { return Ok(()) };
    let last_day = revoked_from.pred_opt().unwrap_or(revoked_from);
    if target.covered_by(snapshot, own, last_day) || target.covered_by(snapshot, own, revoked_from) {
        return Ok(());
    }
    Err(RuleViolation::Forbidden(format!(
        "{own} has no jurisdiction over {} on {last_day} or {revoked_from}, when the designation would end",
        target.describe()
    )))
}

/// A stored designation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Designation {
    pub id: Uuid,
    pub operator_id: Uuid,
    pub regime: Regime,
    /// The sector (CI) or domain (ESPA) code.
    pub field: String,
    pub scope_item: Option<String>,
    pub effective_from: NaiveDate,
    /// Exclusive; open when absent.
    pub effective_to: Option<NaiveDate>,
    pub status: DesignationStatus,
    pub legal_basis: Option<String>,
    pub reference: Option<String>,
    pub ministry: String,
    pub revocation_reason: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Designation {
    /// Its field and scope item, as jurisdiction is checked against them.
    pub fn target(&self) -> Target<'_> {
        Target { regime: self.regime, field: &self.field, scope_item: self.scope_item.as_deref() }
    }

    /// A new designation of operator `operator_id` as planned (version 1).
    pub fn new(
        id: Uuid,
        operator_id: Uuid,
        plan: &PlannedDesignation,
        legal_basis: Option<String>,
        reference: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            operator_id,
            regime: plan.regime,
            field: plan.field.clone(),
            scope_item: plan.scope_item.clone(),
            effective_from: plan.effective_from,
            effective_to: plan.effective_to,
            status: DesignationStatus::Designated,
            legal_basis,
            reference,
            ministry: plan.ministry.clone(),
            revocation_reason: None,
            revoked_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_active_at(&self, date: NaiveDate) -> bool {
        is_active(self.effective_from, self.effective_to, date)
    }

    /// The designation revoked from `effective_to` on (its period closes there; equal to
    /// its start cancels one that has not taken effect). Revocation only shortens.
    pub fn revoked(&self, effective_to: NaiveDate, reason: String, now: DateTime<Utc>) -> Result<Self, RuleViolation> {
        if self.status == DesignationStatus::Revoked {
            return Err(RuleViolation::Conflict(format!("designation {} is already revoked", self.id)));
        }
        if effective_to < self.effective_from {
            return Err(invalid(format!(
                "effectiveTo ({effective_to}) is before the designation's effectiveFrom ({})",
                self.effective_from
            )));
        }
        if let Some(end) = self.effective_to
            && effective_to > end
        {
            return Err(invalid(format!(
                "effectiveTo ({effective_to}) is after the designation's current end ({end}); revocation cannot extend it"
            )));
        }
        Ok(self.ended(effective_to, reason, now))
    }

    /// The designation as its operator's closing on `closed_on` leaves it: ended there,
    /// or for one that has not started yet, at its own start (it never takes effect),
    /// with `closing` added to its reason. None when it ends by then anyway.
    pub fn ended_by_closure(&self, closed_on: NaiveDate, closing: &str, now: DateTime<Utc>) -> Option<Self> {
        if self.effective_to.is_some_and(|to| to <= closed_on) {
            return None;
        }
        let reason = match &self.revocation_reason {
            Some(earlier) => format!("{earlier}; {closing}"),
            None => closing.to_owned(),
        };
        Some(self.ended(closed_on.max(self.effective_from), reason, now))
    }

    fn ended(&self, effective_to: NaiveDate, reason: String, now: DateTime<Utc>) -> Self {
        Self {
            effective_to: Some(effective_to),
            status: DesignationStatus::Revoked,
            revocation_reason: Some(reason),
            revoked_at: Some(now),
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        }
    }
}

/// A correction of a designation made with a wrong date or reference (absent fields stay
/// as they are; `Some(None)` clears an optional one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Correction {
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<Option<NaiveDate>>,
    pub legal_basis: Option<Option<String>>,
    pub reference: Option<Option<String>>,
}

/// The designation as corrected, if the correction meets the rules a new designation
/// meets: the period is well formed (empty only for a revoked one), the sector or
/// domain and the scope item are in force at the new start, and the designating ministry
/// has jurisdiction then. A ministry corrects only designations its ministry made.
pub fn plan_correction(
    snapshot: &ReferenceSnapshot,
    principal: &Principal,
    current: &Designation,
    correction: &Correction,
) -> Result<Designation, RuleViolation> {
    if let Some(own) = principal.acting_ministry()
        && own != current.ministry
    {
        return Err(RuleViolation::Forbidden(format!(
            "a {own} token cannot correct a designation made by {}",
            current.ministry
        )));
    }
    let effective_from = correction.effective_from.unwrap_or(current.effective_from);
    let effective_to = correction.effective_to.unwrap_or(current.effective_to);
    if let Some(to) = effective_to {
        let empty_allowed = current.status == DesignationStatus::Revoked;
        if to < effective_from || (to == effective_from && !empty_allowed) {
            return Err(invalid(format!("effectiveTo ({to}) must be after effectiveFrom ({effective_from})")));
        }
    }
    if effective_from != current.effective_from {
        let noun = current.regime.field_noun();
        let field = &current.field;
        let in_force = snapshot.field(current.regime, field).is_some_and(|f| f.validity.contains(effective_from));
        if !in_force {
            return Err(invalid(format!("{noun} \"{field}\" is not in force on {effective_from}")));
        }
        if let Some(item) = &current.scope_item {
            let item_in_force = snapshot
                .item_index(current.regime, item)
                .is_some_and(|i| snapshot.items(current.regime)[i].validity.contains(effective_from));
            if !item_in_force {
                return Err(invalid(format!("scope item \"{item}\" is not in force on {effective_from}")));
            }
        }
        let target = current.target();
        if !target.covered_by(snapshot, &current.ministry, effective_from) {
            return Err(invalid(format!(
                "{} has no jurisdiction over {} on {effective_from}",
                current.ministry,
                target.describe()
            )));
        }
    }
    Ok(Designation {
        effective_from,
        effective_to,
        legal_basis: correction.legal_basis.clone().unwrap_or_else(|| current.legal_basis.clone()),
        reference: correction.reference.clone().unwrap_or_else(|| current.reference.clone()),
        ..current.clone()
    })
}

#[cfg(test)]
impl Designation {
    /// A designation for tests: open from `from`, designated, version 1, no citation.
    pub(crate) fn for_test(operator_id: Uuid, regime: Regime, field: &str, from: NaiveDate, ministry: &str) -> Self {
        let at = Utc::now();
        Self {
            id: Uuid::now_v7(),
            operator_id,
            regime,
            field: field.into(),
            scope_item: None,
            effective_from: from,
            effective_to: None,
            status: DesignationStatus::Designated,
            legal_basis: None,
            reference: None,
            ministry: ministry.into(),
            revocation_reason: None,
            revoked_at: None,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::strategies::embedded_snapshot;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn water(from: &str, to: Option<&str>, ministry: &str) -> Designation {
        Designation {
            effective_to: to.map(d),
            ..Designation::for_test(uuid::Uuid::nil(), Regime::Ci, "water", d(from), ministry)
        }
    }

    #[test]
    fn closing_ends_open_and_future_designations_only() {
        let closed_on = d("2026-04-01");
        let now = chrono::Utc::now();
        let end = |designation: Designation| {
            designation.ended_by_closure(closed_on, "merged", now).and_then(|ended| ended.effective_to)
        };
        assert_eq!(end(water("2020-01-01", None, "MLIT")), Some(closed_on));
        assert_eq!(end(water("2020-01-01", Some("2030-01-01"), "MLIT")), Some(closed_on));
        assert_eq!(end(water("2020-01-01", Some("2026-04-01"), "MLIT")), None);
        assert_eq!(end(water("2027-01-01", None, "MLIT")), Some(d("2027-01-01")));
        let earlier = Designation { revocation_reason: Some("moved".into()), ..water("2020-01-01", None, "MLIT") };
        let ended = earlier.ended_by_closure(closed_on, "merged", now).expect("ended");
        assert_eq!((ended.revocation_reason.as_deref(), ended.version), (Some("moved; merged"), 2));
    }

    #[test]
    fn revocation_only_shortens_and_only_once() {
        let now = chrono::Utc::now();
        let open = water("2024-04-01", Some("2030-01-01"), "MLIT");
        let revoked = open.revoked(d("2025-01-01"), "transfer".into(), now).expect("revoked");
        assert_eq!((revoked.effective_to, revoked.status), (Some(d("2025-01-01")), DesignationStatus::Revoked));
        assert!(matches!(revoked.revoked(d("2024-06-01"), "again".into(), now), Err(RuleViolation::Conflict(_))));
        assert!(matches!(open.revoked(d("2024-03-31"), "early".into(), now), Err(RuleViolation::Invalid(_))));
        assert!(matches!(open.revoked(d("2031-01-01"), "later".into(), now), Err(RuleViolation::Invalid(_))));
        assert!(open.revoked(d("2024-04-01"), "never took effect".into(), now).is_ok());
    }

    #[test]
    fn a_correction_keeps_the_rules_of_a_new_designation() {
        let snap = embedded_snapshot();
        let admin = Principal::Cli { user: "t".into(), ministry: None };
        let current = water("2024-04-01", None, "MLIT");
        let moved = Correction { effective_from: Some(d("2024-05-01")), ..Correction::default() };
        assert_eq!(plan_correction(&snap, &admin, &current, &moved).unwrap().effective_from, d("2024-05-01"));
        // Water moved from MHLW to MLIT on 2024-04-01: MLIT had no jurisdiction before.
        let too_early = Correction { effective_from: Some(d("2024-03-01")), ..Correction::default() };
        assert!(
            matches!(plan_correction(&snap, &admin, &current, &too_early), Err(RuleViolation::Invalid(m)) if m.contains("jurisdiction"))
        );
        let empty = Correction { effective_to: Some(Some(d("2024-04-01"))), ..Correction::default() };
        assert!(matches!(plan_correction(&snap, &admin, &current, &empty), Err(RuleViolation::Invalid(_))));
        let revoked = Designation { status: DesignationStatus::Revoked, ..current.clone() };
        assert!(plan_correction(&snap, &admin, &revoked, &empty).is_ok(), "a revoked one may be empty");
        let mhlw = Principal::Cli { user: "t".into(), ministry: Some("MHLW".into()) };
        let reference = Correction { reference: Some(Some("告示".into())), ..Correction::default() };
        assert!(matches!(plan_correction(&snap, &mhlw, &current, &reference), Err(RuleViolation::Forbidden(_))));
    }

    fn finance(scope_item: Option<&str>) -> DesignationRequest {
        DesignationRequest {
            regime: Some(Regime::Espa),
            domain: Some("finance".into()),
            scope_item: scope_item.map(str::to_owned),
            effective_from: Some(d("2025-01-01")),
            ..DesignationRequest::default()
        }
    }

    fn ministry(code: &str) -> Principal {
        Principal::Cli { user: "t".into(), ministry: Some(code.into()) }
    }

    #[test]
    fn a_narrowed_jurisdiction_covers_only_its_own_scope_item() {
        let snap = embedded_snapshot();
        let planned = |who: &str, item: Option<&str>| plan(&snap, &ministry(who), &finance(item));
        // MAFF: the cooperatives' savings insurance and central institutions, not banks.
        for item in ["savings-insurance", "finance/cooperative-central-institutions"] {
            assert_eq!(planned("MAFF", Some(item)).map(|p| p.ministry).as_deref(), Ok("MAFF"), "{item}");
        }
        for item in [Some("banking"), Some("deposit-insurance"), None] {
            let refused = planned("MAFF", item);
            assert!(
                matches!(&refused, Err(RuleViolation::Forbidden(m)) if m.contains("MAFF has no jurisdiction") && m.contains("narrowed")),
                "{item:?}: {refused:?}"
            );
        }
        // MOF: deposit and savings insurance only.
        assert!(planned("MOF", Some("deposit-insurance")).is_ok());
        assert!(planned("MOF", Some("savings-insurance")).is_ok());
        assert!(matches!(planned("MOF", Some("banking")), Err(RuleViolation::Forbidden(_))));
        assert!(
            matches!(planned("MOF", None), Err(RuleViolation::Forbidden(m)) if m.contains("names its scope item")),
            "a finance designation without a scope item is not covered by a narrowed jurisdiction"
        );
        // The FSA has the whole domain.
        for item in [Some("banking"), Some("deposit-insurance"), Some("savings-insurance"), None] {
            assert!(planned("FSA", item).is_ok(), "{item:?}");
        }
        // A ministry with no jurisdiction over any part keeps the plain message.
        assert_eq!(
            planned("METI", Some("banking")),
            Err(RuleViolation::Forbidden(
                "METI has no jurisdiction over scope item \"finance/banking\" of business domain \"finance\" on 2025-01-01"
                    .into()
            ))
        );
    }

    #[test]
    fn administrators_choose_among_the_ministries_covering_the_scope_item() {
        let snap = embedded_snapshot();
        let admin = Principal::Cli { user: "t".into(), ministry: None };
        let with = |item: Option<&str>, asked: Option<&str>| {
            plan(&snap, &admin, &DesignationRequest { ministry: asked.map(str::to_owned), ..finance(item) })
        };
        assert_eq!(with(Some("banking"), None).map(|p| p.ministry).as_deref(), Ok("FSA"));
        assert_eq!(with(None, None).map(|p| p.ministry).as_deref(), Ok("FSA"));
        // Co-competent for the item: the FSA (the whole domain) unless MOF is named.
        assert_eq!(with(Some("deposit-insurance"), None).map(|p| p.ministry).as_deref(), Ok("FSA"));
        assert_eq!(with(Some("savings-insurance"), None).map(|p| p.ministry).as_deref(), Ok("FSA"));
        assert_eq!(with(Some("deposit-insurance"), Some("MOF")).map(|p| p.ministry).as_deref(), Ok("MOF"));
        assert!(matches!(with(Some("banking"), Some("MOF")), Err(RuleViolation::Invalid(m)) if m.contains("narrowed")));
    }

    #[test]
    fn narrowed_jurisdiction_governs_revocation_and_correction_of_its_item_only() {
        let snap = embedded_snapshot();
        let of = |item: Option<&str>, who: &str| Designation {
            scope_item: item.map(str::to_owned),
            ..Designation::for_test(uuid::Uuid::nil(), Regime::Espa, "finance", d("2025-01-01"), who)
        };
        let savings = of(Some("finance/savings-insurance"), "MAFF");
        assert!(check_revocation(&snap, &ministry("MAFF"), savings.target(), d("2026-01-01")).is_ok());
        let bank = of(Some("finance/banking"), "FSA");
        assert!(matches!(
            check_revocation(&snap, &ministry("MAFF"), bank.target(), d("2026-01-01")),
            Err(RuleViolation::Forbidden(_))
        ));
        let moved = Correction { effective_from: Some(d("2025-02-01")), ..Correction::default() };
        assert!(plan_correction(&snap, &ministry("MAFF"), &savings, &moved).is_ok());
        // A MAFF designation without a scope item (recorded before) cannot be moved.
        let whole = of(None, "MAFF");
        assert!(matches!(plan_correction(&snap, &ministry("MAFF"), &whole, &moved), Err(RuleViolation::Invalid(_))));
    }
}
