//! 特別社会基盤事業者 (Cyber Response Act Art. 2(3)): the ESPA designees that use
//! 重要電子計算機, whom the Act's duties (asset notification, incident reporting) bind.
//! The registry records it per operator over periods, as the designating ministry
//! says; the periods of one operator never overlap (at most one is open, and a new one
//! starts no earlier than every earlier one ended).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::designation::{Designation, RuleViolation};
use super::operator::Operator;
use super::{Principal, Regime, Validity};

/// One period in which an operator is recorded as 特別社会基盤事業者.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecialPeriod {
    pub id: Uuid,
    pub operator_id: Uuid,
    pub effective_from: NaiveDate,
    /// Exclusive; open when absent.
    pub effective_to: Option<NaiveDate>,
    /// The ministry that recorded it (one that designated the operator under ESPA).
    pub ministry: String,
    /// The official reference (notice number), when given.
    pub reference: Option<String>,
    /// Why it ended, once it has.
    pub end_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SpecialPeriod {
    /// A period recorded by METI, for tests.
    #[cfg(test)]
    pub(crate) fn for_test(operator_id: uuid::Uuid, from: NaiveDate, to: Option<NaiveDate>) -> Self {
        Self {
            id: uuid::Uuid::now_v7(),
            operator_id,
            effective_from: from,
            effective_to: to,
            ministry: "METI".into(),
            reference: None,
            end_reason: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    pub fn is_active_at(&self, date: NaiveDate) -> bool {
        Validity::new(Some(self.effective_from), self.effective_to).contains(date)
    }

    /// The period ended from `effective_to` on (equal to its start cancels it). Ending
    /// only closes an open period.
    pub fn ended(&self, effective_to: NaiveDate, reason: String, now: DateTime<Utc>) -> Result<Self, RuleViolation> {
        if self.effective_to.is_some() {
            return Err(RuleViolation::Conflict(format!(
                "the 特別社会基盤事業者 period {} has already ended",
                self.id
            )));
        }
        if effective_to < self.effective_from {
            return Err(invalid(format!(
                "effectiveTo ({effective_to}) is before the period's effectiveFrom ({})",
                self.effective_from
            )));
        }
        Ok(Self {
            effective_to: Some(effective_to),
            end_reason: Some(reason),
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        })
    }
}

impl SpecialPeriod {
    /// The period as its operator's closing on `closed_on` leaves it: ended there (one
    /// that has not started yet, at its own start), with `closing` as its end reason
    /// (after an earlier one). None when it ends by then anyway.
    pub fn ended_by_closure(&self, closed_on: NaiveDate, closing: &str, now: DateTime<Utc>) -> Option<Self> {
        if self.effective_to.is_some_and(|to| to <= closed_on) {
            return None;
        }
        let end_reason = match &self.end_reason {
            Some(earlier) => format!("{earlier}; {closing}"),
            None => closing.to_owned(),
        };
        Some(Self {
            effective_to: Some(closed_on.max(self.effective_from)),
            end_reason: Some(end_reason),
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        })
    }
}

/// Whether any of the periods holds at `date`.
pub fn is_special_at(periods: &[SpecialPeriod], date: NaiveDate) -> bool {
    periods.iter().any(|p| p.is_active_at(date))
}

fn invalid(message: impl Into<String>) -> RuleViolation {
    RuleViolation::Invalid(message.into())
}

/// What recording takes, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPeriod {
    pub effective_from: NaiveDate,
    pub ministry: String,
}

/// Checks a recording from `effective_from` of `operator` (with all its designations and
/// periods): it must hold an ESPA designation then (only 特定社会基盤事業者 can be
/// 特別社会基盤事業者), be open then, and have no period open or ending after that day.
/// A ministry records only where it made one of those ESPA designations (the designating
/// ministry); an administrator names the ministry when several did.
pub fn plan_recording(
    principal: &Principal,
    operator: &Operator,
    designations: &[Designation],
    periods: &[SpecialPeriod],
    effective_from: NaiveDate,
    requested_ministry: Option<&str>,
) -> Result<PlannedPeriod, RuleViolation> {
    let number = &operator.corporate_number;
    let mut designating: Vec<&str> = designations
        .iter()
        .filter(|d| d.regime == Regime::Espa && d.is_active_at(effective_from))
        .map(|d| d.ministry.as_str())
        .collect();
    designating.sort_unstable();
    designating.dedup();
    if designating.is_empty() {
        return Err(invalid(format!(
            "operator {number} holds no ESPA designation on {effective_from}: only ESPA designees \
             (特定社会基盤事業者) can be recorded as 特別社会基盤事業者"
        )));
    }
    let ministry = match (principal.acting_ministry(), requested_ministry) {
        (Some(own), Some(asked)) if asked != own => {
            return Err(RuleViolation::Forbidden(format!("a {own} token cannot act for another ministry")));
        }
        (Some(own), _) if designating.contains(&own) => own.to_owned(),
        (Some(own), _) => {
            return Err(RuleViolation::Forbidden(format!(
                "{own} has not designated operator {number} under ESPA on {effective_from}: only its designating \
                 ministry ({}) may record it as 特別社会基盤事業者",
                designating.join(", ")
            )));
        }
        (None, Some(asked)) if designating.contains(&asked) => asked.to_owned(),
        (None, Some(asked)) => {
            return Err(invalid(format!(
                "ministry \"{asked}\" has not designated operator {number} under ESPA on {effective_from} \
                 (designating: {})",
                designating.join(", ")
            )));
        }
        (None, None) => match designating.as_slice() {
            [only] => (*only).to_owned(),
            several => {
                return Err(invalid(format!(
                    "several ministries designated operator {number} under ESPA on {effective_from} ({}): name one",
                    several.join(", ")
                )));
            }
        },
    };
    operator.check_period(effective_from, None)?;
    if let Some(open) = periods.iter().find(|p| p.effective_to.is_none()) {
        return Err(RuleViolation::Conflict(format!(
            "operator {number} is already recorded as 特別社会基盤事業者 from {}; end that period first",
            open.effective_from
        )));
    }
    if let Some(end) = periods.iter().filter_map(|p| p.effective_to).max().filter(|end| *end > effective_from) {
        return Err(RuleViolation::Conflict(format!(
            "operator {number} was recorded as 特別社会基盤事業者 until {end}: a new period cannot start before then"
        )));
    }
    Ok(PlannedPeriod { effective_from, ministry })
}

/// The open period of an operator, to be ended from `effective_to` on. A ministry ends
/// it when it recorded it or holds an ESPA designation of the operator on the last day
/// the period holds or on the day it ends.
pub fn plan_ending<'a>(
    principal: &Principal,
    operator: &Operator,
    designations: &[Designation],
    periods: &'a [SpecialPeriod],
    effective_to: NaiveDate,
) -> Result<&'a SpecialPeriod, RuleViolation> {
    let number = &operator.corporate_number;
    let open = periods
        .iter()
        .find(|p| p.effective_to.is_none())
        .ok_or_else(|| invalid(format!("operator {number} has no open 特別社会基盤事業者 period to end")))?;
    let Some(own) = principal.acting_ministry() else { return Ok(open) };
    let last_day = effective_to.pred_opt().unwrap_or(effective_to);
    let designates = designations.iter().any(|d| {
        d.regime == Regime::Espa && d.ministry == own && (d.is_active_at(last_day) || d.is_active_at(effective_to))
    });
    if open.ministry == own || designates {
        return Ok(open);
    }
    Err(RuleViolation::Forbidden(format!(
        "{own} neither recorded operator {number} as 特別社会基盤事業者 nor designates it under ESPA on {last_day} \
         or {effective_to}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CorporateNumber;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    fn operator() -> Operator {
        let number = CorporateNumber::parse("7000012050002").expect("valid");
        Operator::register(Uuid::now_v7(), number, "北星電力".into(), None, Utc::now())
    }

    fn espa(operator: &Operator, ministry: &str, from: &str) -> Designation {
        Designation::for_test(operator.id, Regime::Espa, "electricity", date(from), ministry)
    }

    fn period(operator: &Operator, from: &str, to: Option<&str>) -> SpecialPeriod {
        SpecialPeriod::for_test(operator.id, date(from), to.map(date))
    }

    fn ministry(code: &str) -> Principal {
        Principal::Cli { user: "test".into(), ministry: Some(code.into()) }
    }

    const ADMIN: Principal = Principal::Cli { user: String::new(), ministry: None };

    #[test]
    fn only_an_espa_designee_by_its_designating_ministry() {
        let op = operator();
        let meti = [espa(&op, "METI", "2024-05-17")];
        let planned = plan_recording(&ministry("METI"), &op, &meti, &[], date("2026-10-01"), None);
        assert_eq!(planned, Ok(PlannedPeriod { effective_from: date("2026-10-01"), ministry: "METI".into() }));
        let other = plan_recording(&ministry("MIC"), &op, &meti, &[], date("2026-10-01"), None);
        assert!(matches!(other, Err(RuleViolation::Forbidden(_))), "{other:?}");
        let before = plan_recording(&ADMIN, &op, &meti, &[], date("2024-05-16"), None);
        assert!(matches!(before, Err(RuleViolation::Invalid(m)) if m.contains("holds no ESPA designation")));
        let admin = plan_recording(&ADMIN, &op, &meti, &[], date("2026-10-01"), None);
        assert_eq!(admin.map(|p| p.ministry), Ok("METI".into()));
    }

    #[test]
    fn periods_never_overlap_and_only_an_open_one_ends() {
        let op = operator();
        let meti = [espa(&op, "METI", "2024-05-17")];
        let open = [period(&op, "2026-10-01", None)];
        let again = plan_recording(&ADMIN, &op, &meti, &open, date("2027-01-01"), None);
        assert!(matches!(again, Err(RuleViolation::Conflict(_))), "{again:?}");
        let closed = [period(&op, "2026-10-01", Some("2027-04-01"))];
        let early = plan_recording(&ADMIN, &op, &meti, &closed, date("2027-03-31"), None);
        assert!(matches!(early, Err(RuleViolation::Conflict(_))), "{early:?}");
        assert!(plan_recording(&ADMIN, &op, &meti, &closed, date("2027-04-01"), None).is_ok());
        assert!(matches!(plan_ending(&ADMIN, &op, &meti, &closed, date("2027-05-01")), Err(RuleViolation::Invalid(_))));
        let ending = plan_ending(&ministry("MIC"), &op, &meti, &open, date("2027-05-01"));
        assert!(matches!(ending, Err(RuleViolation::Forbidden(_))), "{ending:?}");
        let ended =
            open[0].ended(date("2027-05-01"), "no longer uses 重要電子計算機".into(), Utc::now()).expect("ends");
        assert!(ended.is_active_at(date("2027-04-30")) && !ended.is_active_at(date("2027-05-01")));
        assert!(matches!(ended.ended(date("2027-06-01"), "again".into(), Utc::now()), Err(RuleViolation::Conflict(_))));
        // A closing ends what is still open then, and leaves what ended earlier.
        let closed = open[0].ended_by_closure(date("2027-01-01"), "merged", Utc::now()).expect("ended");
        assert_eq!((closed.effective_to, closed.end_reason.as_deref()), (Some(date("2027-01-01")), Some("merged")));
        assert_eq!(ended.ended_by_closure(date("2027-06-01"), "merged", Utc::now()), None);
        let future = period(&op, "2027-04-01", None).ended_by_closure(date("2027-01-01"), "merged", Utc::now());
        assert_eq!(future.and_then(|p| p.effective_to), Some(date("2027-04-01")), "never takes effect");
    }
}
