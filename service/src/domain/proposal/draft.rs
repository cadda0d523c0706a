//! A proposal as a record: its title, date, status and version, and the state changes
//! drafting, withdrawing and promoting make. Whether its changes apply to the live data
//! is [`super::validate`]'s question; here only the lifecycle is decided.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::change::ScopeChange;
use crate::domain::designation::RuleViolation;
use crate::domain::text;

/// Where a proposal is in its life: drafted and changed, then promoted or withdrawn
/// (both final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProposalStatus {
    Draft,
    Promoted,
    Withdrawn,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Draft => "DRAFT",
            ProposalStatus::Promoted => "PROMOTED",
            ProposalStatus::Withdrawn => "WITHDRAWN",
        }
    }
}

impl FromStr for ProposalStatus {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "DRAFT" => Ok(ProposalStatus::Draft),
            "PROMOTED" => Ok(ProposalStatus::Promoted),
            "WITHDRAWN" => Ok(ProposalStatus::Withdrawn),
            other => Err(format!("unknown proposal status \"{other}\"")),
        }
    }
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope revision proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeProposal {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub status: ProposalStatus,
    /// The day its changes would take effect.
    pub effective_from: NaiveDate,
    /// 1 when created, one more with every change to it.
    pub version: i32,
    /// In the order they apply.
    pub changes: Vec<ScopeChange>,
    pub created_at: DateTime<Utc>,
    /// The actor id of who created it (`token:<id>`, `cli:<user>`).
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub promoted_at: Option<DateTime<Utc>>,
    pub promoted_by: Option<String>,
}

impl ScopeProposal {
    /// A new draft, version 1, without changes.
    pub fn draft(
        title: &str,
        description: Option<&str>,
        effective_from: NaiveDate,
        created_by: String,
        now: DateTime<Utc>,
    ) -> Result<Self, RuleViolation> {
        let invalid = |e: text::TextError| RuleViolation::Invalid(e.to_string());
        Ok(Self {
            id: Uuid::now_v7(),
            title: text::required("title", title).map_err(invalid)?,
            description: text::optional("description", description).map_err(invalid)?,
            status: ProposalStatus::Draft,
            effective_from,
            version: 1,
            changes: Vec::new(),
            created_at: now,
            created_by,
            updated_at: now,
            promoted_at: None,
            promoted_by: None,
        })
    }

    /// Refuses any change once it is no longer a draft.
    fn check_draft(&self) -> Result<(), RuleViolation> {
        match self.status {
            ProposalStatus::Draft => Ok(()),
            status => Err(RuleViolation::Conflict(format!(
                "proposal {} is {status}: only a DRAFT changes, a promoted or withdrawn proposal stays as it is",
                self.id
            ))),
        }
    }

    fn next(&self, now: DateTime<Utc>) -> Self {
        Self { version: self.version + 1, updated_at: now, ..self.clone() }
    }

    /// The draft with `change` appended.
    pub fn with_change(&self, change: ScopeChange, now: DateTime<Utc>) -> Result<Self, RuleViolation> {
        self.check_draft()?;
        let mut next = self.next(now);
        next.changes.push(change);
        Ok(next)
    }

    /// The draft without its change at `index`.
    pub fn without_change(&self, index: usize, now: DateTime<Utc>) -> Result<Self, RuleViolation> {
        self.check_draft()?;
        if index >= self.changes.len() {
            return Err(RuleViolation::Invalid(format!(
                "index {index} is out of range: the proposal has {} change(s) (indexes from 0)",
                self.changes.len()
            )));
        }
        let mut next = self.next(now);
        next.changes.remove(index);
        Ok(next)
    }

    pub fn withdrawn(&self, now: DateTime<Utc>) -> Result<Self, RuleViolation> {
        self.check_draft()?;
        Ok(Self { status: ProposalStatus::Withdrawn, ..self.next(now) })
    }

    /// Promoted by `actor`; refuses a proposal without changes (it would write nothing).
    pub fn promoted(&self, actor: String, now: DateTime<Utc>) -> Result<Self, RuleViolation> {
        self.check_draft()?;
        if self.changes.is_empty() {
            return Err(RuleViolation::Invalid(format!("proposal {} has no changes to promote", self.id)));
        }
        Ok(Self {
            status: ProposalStatus::Promoted,
            promoted_at: Some(now),
            promoted_by: Some(actor),
            ..self.next(now)
        })
    }

    /// The code of the source a promotion's records cite.
    pub fn source_code(&self) -> String {
        format!("scope-proposal-{}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ScopeProposal {
        let day = NaiveDate::from_ymd_opt(2027, 4, 1).expect("date");
        ScopeProposal::draft(" Medical care ", None, day, "cli:test".into(), Utc::now()).expect("valid")
    }

    #[test]
    fn a_draft_changes_with_its_version_and_stops_changing_once_final() {
        let draft = draft();
        assert_eq!((draft.title.as_str(), draft.version, draft.status), ("Medical care", 1, ProposalStatus::Draft));
        let change = ScopeChange::RetireSector { code: "chemicals".into() };
        let added = draft.with_change(change.clone(), Utc::now()).expect("a draft changes");
        assert_eq!((added.version, added.changes.len()), (2, 1));
        assert!(matches!(added.without_change(1, Utc::now()), Err(RuleViolation::Invalid(_))));
        assert!(matches!(draft.promoted("cli:test".into(), Utc::now()), Err(RuleViolation::Invalid(_))));
        let promoted = added.promoted("cli:admin".into(), Utc::now()).expect("promoted");
        assert_eq!((promoted.status, promoted.version), (ProposalStatus::Promoted, 3));
        for refused in [
            promoted.with_change(change, Utc::now()),
            promoted.without_change(0, Utc::now()),
            promoted.withdrawn(Utc::now()),
            promoted.promoted("cli:admin".into(), Utc::now()),
        ] {
            assert!(matches!(refused, Err(RuleViolation::Conflict(_))), "{refused:?}");
        }
        assert!(ScopeProposal::draft(" ", None, draft.effective_from, "x".into(), Utc::now()).is_err());
    }
}
