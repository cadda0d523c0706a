//! Scope revision proposals: a policy analyst drafts changes to the protection scope
//! effective from a date, sees what they would change, and an administrator later
//! promotes them into the live, effective-dated reference data.
//!
//! - [`ScopeChange`]: one change (stored as JSON, one variant per field of the GraphQL
//!   one-of input `ScopeChangeInput`).
//! - [`apply`] / [`validate`]: the proposed reference data, or the first change that
//!   cannot be applied ([`ChangeRejected`]).
//! - [`promotion_plan`]: the records to insert and the stored records whose end moves
//!   ([`ReferenceDiff`]), for storage to write in one transaction.
//! - [`impact`]: what the proposal changes for gaps, overlap, designations, candidates,
//!   obligations and ministries ([`ScopeImpact`]), in one pass over the operators.
//! - [`proposed_fields`] / [`proposed_links`]: the scope the proposal makes at its date,
//!   each sector, domain, scope item and link marked added, retired or changed.
//! - [`compare`]: where the impacts of two proposals differ ([`ImpactComparison`]).
//! - [`ScopeProposal`]: the proposal as a record and its lifecycle (draft, promoted,
//!   withdrawn; versioned).
//! - [`PromotedRecords`] / [`keep_promoted`]: what a promotion wrote, kept by later
//!   loads of seed-data.
//!
//! Everything here is pure: no I/O, no database, no clock.

mod apply;
mod change;
mod compare;
mod draft;
mod impact;
mod plan;
mod promoted;
mod scope;

#[cfg(test)]
mod tests;

pub use apply::{apply, validate};
pub use change::{ChangeRejected, NewScopeItem, ScopeChange};
pub use compare::{
    ImpactComparison, ImpactDifference, JurisdictionChange, ObligationMeasure, OperatorMeasure, OverlapMeasure,
    ScopeKind, compare,
};
pub use draft::{ProposalStatus, ScopeProposal};
pub use impact::{
    CandidateGroup, CellCount, DesignationFacts, DesignationView, DomainGapCount, EndingByRecord, EndingDesignation,
    EndingDesignations, FieldCode, LinkChange, MinistryImpact, ObligationChange, OperatorDesignations, OverlapSummary,
    ScopeCodes, ScopeImpact, impact,
};
pub use plan::{NewRecord, PlanError, RecordKey, ReferenceDiff, ValidityEnd, promotion_plan};
pub use promoted::{PromotedRecords, RecordPositions, keep_promoted};
pub use scope::{MarkedRecord, ProposedField, ProposedLink, RecordChange, proposed_fields, proposed_links};
