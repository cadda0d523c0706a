//! Operators (事業者) as the registry knows them.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::designation::{Designation, RuleViolation};
use super::reference::ReferenceSnapshot;
use super::{CorporateNumber, Principal, Regime};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub id: Uuid,
    pub corporate_number: CorporateNumber,
    pub name_ja: String,
    pub name_en: Option<String>,
    /// The day the corporation closed (merged, dissolved), if it has.
    pub closed_on: Option<NaiveDate>,
    pub successor: Option<CorporateNumber>,
    /// Increases on every change (lost-update protection).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Operator {
    /// A newly registered operator (version 1).
    pub fn register(
        id: Uuid,
        corporate_number: CorporateNumber,
        name_ja: String,
        name_en: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            corporate_number,
            name_ja,
            name_en,
            closed_on: None,
            successor: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The operator with its names corrected (absent names stay; `Some(None)` clears the
    /// English name); None when that changes nothing.
    pub fn renamed(
        &self,
        name_ja: Option<String>,
        name_en: Option<Option<String>>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let name_ja = name_ja.unwrap_or_else(|| self.name_ja.clone());
        let name_en = name_en.unwrap_or_else(|| self.name_en.clone());
        if (&name_ja, &name_en) == (&self.name_ja, &self.name_en) {
            return None;
        }
        Some(Self { name_ja, name_en, version: self.version + 1, updated_at: now, ..self.clone() })
    }

    /// The operator closed on `closed_on` (merged into `successor`, or dissolved). An
    /// operator closes once; it cannot succeed itself.
    pub fn closed(
        &self,
        closed_on: NaiveDate,
        successor: Option<CorporateNumber>,
        now: DateTime<Utc>,
    ) -> Result<Self, RuleViolation> {
        if let Some(already) = self.closed_on {
            return Err(RuleViolation::Conflict(format!(
                "operator {} already closed on {already}",
                self.corporate_number
            )));
        }
        if successor == Some(self.corporate_number) {
            return Err(RuleViolation::Invalid(format!(
                "operator {} cannot be its own successor",
                self.corporate_number
            )));
        }
        Ok(Self { closed_on: Some(closed_on), successor, version: self.version + 1, updated_at: now, ..self.clone() })
    }

    /// A ministry changes an operator's master data (its names) only while every open
    /// designation of the operator — in force on `today` or starting later — is in its
    /// jurisdiction on `today`: it cannot rename an operator another ministry designates.
    /// Administrators may always; an operator nobody designates now, any ministry.
    pub fn check_master_data_change(
        &self,
        snapshot: &ReferenceSnapshot,
        principal: &Principal,
        designations: &[Designation],
        today: NaiveDate,
    ) -> Result<(), RuleViolation> {
        let Some(own) = principal.acting_ministry() else { return Ok(()) };
        let outside = designations
            .iter()
            .filter(|d| d.effective_to.is_none_or(|to| to > today))
            .find(|d| !snapshot.has_jurisdiction(own, d.regime, &d.field, d.scope_item.as_deref(), today));
        match outside {
            None => Ok(()),
            Some(d) => Err(RuleViolation::Forbidden(format!(
                "{own} cannot change operator {}: its {} designation in {} \"{}\" is not in {own}'s jurisdiction",
                self.corporate_number,
                d.regime,
                d.regime.field_noun(),
                d.field
            ))),
        }
    }

    /// A closed operator's designations end by the day it closed: refuses a period that
    /// does not.
    pub fn check_period(&self, from: NaiveDate, to: Option<NaiveDate>) -> Result<(), RuleViolation> {
        match self.closed_on {
            Some(closed_on) if from >= closed_on || to.is_none_or(|to| to > closed_on) => {
                Err(RuleViolation::Invalid(format!(
                    "operator {} closed on {closed_on}: its designations must end by then (effectiveTo at most {closed_on})",
                    self.corporate_number
                )))
            }
            _ => Ok(()),
        }
    }
}

/// Which operators a listing selects. Designation conditions count designations
/// active at `as_of`; all conditions are AND-ed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OperatorQuery {
    pub as_of: NaiveDate,
    /// Has an active designation under each of these regimes.
    pub regimes: Vec<Regime>,
    pub not_regime: Option<Regime>,
    pub sector: Option<String>,
    pub domain: Option<String>,
    pub name_contains: Option<String>,
    /// Not an active CI operator in any of these sectors (for domain gaps).
    pub not_in_sectors: Option<Vec<String>>,
}

impl OperatorQuery {
    pub fn at(as_of: NaiveDate) -> Self {
        Self {
            as_of,
            regimes: Vec::new(),
            not_regime: None,
            sector: None,
            domain: None,
            name_contains: None,
            not_in_sectors: None,
        }
    }
}

/// What a listing looks at in one designation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesignatedPeriod<'a> {
    pub regime: Regime,
    pub field: &'a str,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
}

impl OperatorQuery {
    /// Whether an operator with these designations is selected: the same conditions
    /// storage puts to the database, for listings answered from memory.
    pub fn matches(&self, operator: &Operator, designations: &[DesignatedPeriod<'_>]) -> bool {
        self.matches_designations(designations) && self.matches_name(&operator.name_ja, operator.name_en.as_deref())
    }

    /// The conditions on designations alone (what most listings ask).
    pub fn matches_designations(&self, designations: &[DesignatedPeriod<'_>]) -> bool {
        let active = || {
            designations.iter().filter(|d| super::designation::is_active(d.effective_from, d.effective_to, self.as_of))
        };
        let active_in = |regime: Regime, field: Option<&str>| {
            active().any(|d| d.regime == regime && field.is_none_or(|f| d.field == f))
        };
        self.regimes.iter().all(|&r| active_in(r, None))
            && self.not_regime.is_none_or(|r| !active_in(r, None))
            && self.sector.as_deref().is_none_or(|s| active_in(Regime::Ci, Some(s)))
            && self.domain.as_deref().is_none_or(|d| active_in(Regime::Espa, Some(d)))
            && self
                .not_in_sectors
                .as_ref()
                .is_none_or(|sectors| !active().any(|d| d.regime == Regime::Ci && sectors.iter().any(|s| s == d.field)))
    }

    /// The condition on names (case-insensitive, either name).
    pub fn matches_name(&self, name_ja: &str, name_en: Option<&str>) -> bool {
        self.name_contains.as_deref().is_none_or(|text| {
            let text = text.to_lowercase();
            name_ja.to_lowercase().contains(&text) || name_en.is_some_and(|en| en.to_lowercase().contains(&text))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_in_memory_selects_as_the_database_does() {
        let number = CorporateNumber::parse("7000012050002").expect("valid");
        let operator =
            Operator::register(Uuid::nil(), number, "北星電力".into(), Some("Hokusei Power".into()), Utc::now());
        let day = |text: &str| text.parse::<NaiveDate>().expect("date");
        let periods = [
            DesignatedPeriod {
                regime: Regime::Ci,
                field: "electricity",
                effective_from: day("2018-04-01"),
                effective_to: None,
            },
            DesignatedPeriod {
                regime: Regime::Espa,
                field: "electricity",
                effective_from: day("2024-05-17"),
                effective_to: Some(day("2026-01-01")),
            },
        ];
        let at = |date: &str| OperatorQuery::at(day(date));
        let espa = |date: &str| OperatorQuery { regimes: vec![Regime::Espa], ..at(date) };
        assert!(espa("2025-01-01").matches(&operator, &periods));
        assert!(!espa("2026-01-01").matches(&operator, &periods), "effectiveTo is exclusive");
        let not_ci = OperatorQuery { not_regime: Some(Regime::Ci), ..at("2025-01-01") };
        assert!(!not_ci.matches(&operator, &periods));
        let gap = OperatorQuery {
            domain: Some("electricity".into()),
            not_in_sectors: Some(vec!["gas".into()]),
            ..at("2025-01-01")
        };
        assert!(gap.matches(&operator, &periods));
        let named = OperatorQuery { name_contains: Some("hokusei".into()), ..at("2025-01-01") };
        assert!(named.matches(&operator, &periods));
        assert!(!OperatorQuery { sector: Some("gas".into()), ..at("2025-01-01") }.matches(&operator, &periods));
    }
}
