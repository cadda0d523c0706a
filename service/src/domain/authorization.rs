//! The authorization matrix: for every operation of the API, the command line and the
//! exports, which roles may run it at all. It is data (the README's table is rendered
//! from it and a test compares the two), checked in one place ([`authorize`]) by every
//! use case. What a ministry may do *within* an operation — only where its ministry has
//! jurisdiction — is the operation's own rule, named in [`Rule::jurisdiction`] and
//! checked by the domain rule it names.

use std::fmt;

use super::{Principal, Role};

/// Every operation a caller can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    ReadReferenceData,
    ReadOperators,
    ReadAuditTrail,
    ReadTokens,
    ReadProposals,
    RegisterOperator,
    UpdateOperator,
    CloseOperator,
    Designate,
    RevokeDesignation,
    CorrectDesignation,
    RecordSpecialOperator,
    EndSpecialOperator,
    ImportDesignations,
    SyncCorporateNumbers,
    CurateCrosswalk,
    LoadReferenceData,
    IssueToken,
    RevokeToken,
    DraftProposal,
    PromoteProposal,
    SubscribeDesignations,
    SubscribeReferenceData,
    ExportOperatorData,
    ExportReferenceData,
    RunAnyDocument,
}

/// Which roles may run an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Anyone, without a token.
    Everyone,
    /// Any token (reader, policy, ministry, admin).
    AnyToken,
    /// Admins and ministries (a ministry within its jurisdiction, see the rule).
    Writers,
    /// Admins and policy staff.
    Drafters,
    /// Admins only (admin tokens and the command line).
    Admins,
}

impl Allowed {
    fn permits(self, role: Role) -> bool {
        match self {
            Allowed::Everyone | Allowed::AnyToken => true,
            Allowed::Writers => matches!(role, Role::Admin | Role::Ministry),
            Allowed::Drafters => matches!(role, Role::Admin | Role::Policy),
            Allowed::Admins => role == Role::Admin,
        }
    }
}

/// One row of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub operation: Operation,
    /// The GraphQL fields, commands and endpoints that run it.
    pub entry_points: &'static str,
    pub allowed: Allowed,
    /// What confines a ministry within the operation (empty: nothing more).
    pub jurisdiction: &'static str,
}

/// The matrix, in the README's order.
pub const MATRIX: &[Rule] = &[
    Rule {
        operation: Operation::ReadReferenceData,
        entry_points: "`sectors`, `businessDomains`, `ministries`, `crosswalk`, `scopeGaps`, … queries",
        allowed: Allowed::Everyone,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::ReadOperators,
        entry_points: "`operator`, `operators`, `operatorStatuses`, `overlap`",
        allowed: Allowed::AnyToken,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::ReadAuditTrail,
        entry_points: "`auditEvents`, `history`",
        allowed: Allowed::AnyToken,
        jurisdiction: "a ministry reads the events in its jurisdiction and its own",
    },
    Rule {
        operation: Operation::ReadTokens,
        entry_points: "`tokens`, `token list`",
        allowed: Allowed::Admins,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::ReadProposals,
        entry_points: "`scopeProposals`, `scopeProposal`, `compareScopeProposals`, `/export/proposals/{id}/impact.csv`",
        allowed: Allowed::AnyToken,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::RegisterOperator,
        entry_points: "`registerOperator`",
        allowed: Allowed::Writers,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::UpdateOperator,
        entry_points: "`updateOperator`",
        allowed: Allowed::Writers,
        jurisdiction: "only while every open designation of the operator (in force today or later) is in its \
                       jurisdiction today",
    },
    Rule {
        operation: Operation::CloseOperator,
        entry_points: "`closeOperator`",
        allowed: Allowed::Writers,
        jurisdiction: "only when it may revoke every designation the closing ends",
    },
    Rule {
        operation: Operation::Designate,
        entry_points: "`designate`",
        allowed: Allowed::Writers,
        jurisdiction: "jurisdiction over the sector or domain on `effectiveFrom` (a jurisdiction narrowed to a scope item: only designations for that item)",
    },
    Rule {
        operation: Operation::RevokeDesignation,
        entry_points: "`revokeDesignation`",
        allowed: Allowed::Writers,
        jurisdiction: "jurisdiction over the sector or domain on the last day the designation holds or on the day \
                       it ends (`effectiveTo`): across a transfer, the ministry that had it and the one that has it",
    },
    Rule {
        operation: Operation::CorrectDesignation,
        entry_points: "`correctDesignation`",
        allowed: Allowed::Writers,
        jurisdiction: "only designations its ministry made, with jurisdiction on the corrected `effectiveFrom`",
    },
    Rule {
        operation: Operation::RecordSpecialOperator,
        entry_points: "`recordSpecialSocialInfrastructureOperator`",
        allowed: Allowed::Writers,
        jurisdiction: "only operators it designated under ESPA on `effectiveFrom` (the designating ministry)",
    },
    Rule {
        operation: Operation::EndSpecialOperator,
        entry_points: "`endSpecialSocialInfrastructureOperator`",
        allowed: Allowed::Writers,
        jurisdiction: "only periods it recorded, or of operators it designates under ESPA on the last day the period \
                       holds or on the day it ends (`effectiveTo`)",
    },
    Rule {
        operation: Operation::ImportDesignations,
        entry_points: "`importDesignations`, `import`",
        allowed: Allowed::Writers,
        jurisdiction: "every row as for `designate` (rows outside are reported)",
    },
    Rule {
        operation: Operation::SyncCorporateNumbers,
        entry_points: "`syncCorporateNumbers`, `nta-sync`",
        allowed: Allowed::Admins,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::CurateCrosswalk,
        entry_points: "`upsertCrosswalkLink`, `removeCrosswalkLink`, `upsertScopeItemLink`, `removeScopeItemLink`",
        allowed: Allowed::Admins,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::LoadReferenceData,
        entry_points: "`seed`, `serve` on a new database",
        allowed: Allowed::Admins,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::IssueToken,
        entry_points: "`token issue`",
        allowed: Allowed::Admins,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::RevokeToken,
        entry_points: "`revokeToken`, `token revoke`",
        allowed: Allowed::Admins,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::DraftProposal,
        entry_points: "`createScopeProposal`, `addScopeProposalChange`, `removeScopeProposalChange`, \
                       `withdrawScopeProposal`",
        allowed: Allowed::Drafters,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::PromoteProposal,
        entry_points: "`promoteScopeProposal`",
        allowed: Allowed::Admins,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::SubscribeDesignations,
        entry_points: "`designationChanged`",
        allowed: Allowed::AnyToken,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::SubscribeReferenceData,
        entry_points: "`referenceDataChanged`",
        allowed: Allowed::Everyone,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::ExportOperatorData,
        entry_points: "`/export/operators.csv`, `/export/overlap.csv`, `/export/workbook.xlsx`, `export operators|overlap`",
        allowed: Allowed::AnyToken,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::ExportReferenceData,
        entry_points: "`/export/crosswalk.csv`, `/export/scope-gaps.csv`, `export crosswalk|scope-gaps`",
        allowed: Allowed::Everyone,
        jurisdiction: "",
    },
    Rule {
        operation: Operation::RunAnyDocument,
        entry_points: "any GraphQL document, when `--trusted-documents` lists the only ones that run",
        allowed: Allowed::Admins,
        jurisdiction: "",
    },
];

/// Why a caller may not run an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It needs a token and there is none.
    Unauthenticated(String),
    /// The token's role may not.
    Forbidden(String),
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Operation::ReadReferenceData => "read the reference data",
            Operation::ReadOperators => "read operator data",
            Operation::ReadAuditTrail => "read the audit trail",
            Operation::ReadTokens => "list tokens",
            Operation::ReadProposals => "read scope proposals",
            Operation::RegisterOperator => "register operators",
            Operation::UpdateOperator => "change operators",
            Operation::CloseOperator => "close operators",
            Operation::Designate => "designate operators",
            Operation::RevokeDesignation => "revoke designations",
            Operation::CorrectDesignation => "correct designations",
            Operation::RecordSpecialOperator => "record operators as 特別社会基盤事業者",
            Operation::EndSpecialOperator => "end operators' 特別社会基盤事業者 periods",
            Operation::ImportDesignations => "import designations",
            Operation::SyncCorporateNumbers => "sync operators with the NTA's corporate-number files",
            Operation::CurateCrosswalk => "curate the crosswalk",
            Operation::LoadReferenceData => "load reference data",
            Operation::IssueToken => "issue tokens",
            Operation::RevokeToken => "revoke tokens",
            Operation::DraftProposal => "draft scope proposals",
            Operation::PromoteProposal => "promote scope proposals",
            Operation::SubscribeDesignations => "subscribe to designation changes",
            Operation::SubscribeReferenceData => "subscribe to reference-data changes",
            Operation::ExportOperatorData => "export operator data",
            Operation::ExportReferenceData => "export reference data",
            Operation::RunAnyDocument => "run documents that are not trusted",
        };
        f.write_str(text)
    }
}

/// The row of an operation.
pub fn rule(operation: Operation) -> &'static Rule {
    // Every operation has exactly one row (a unit test checks it); the first row is a
    // harmless fallback the test makes unreachable.
    MATRIX.iter().find(|rule| rule.operation == operation).unwrap_or(&MATRIX[0])
}

/// Whether `principal`'s role may run `operation` at all.
pub fn authorize(principal: &Principal, operation: Operation) -> Result<(), Refusal> {
    let allowed = rule(operation).allowed;
    if allowed == Allowed::Everyone {
        return Ok(());
    }
    let Some(role) = principal.role() else {
        let needs = if operation == Operation::ReadOperators || operation == Operation::ExportOperatorData {
            "operator data needs a bearer token".to_owned()
        } else {
            format!("to {operation} needs a bearer token")
        };
        return Err(Refusal::Unauthenticated(needs));
    };
    if allowed.permits(role) {
        return Ok(());
    }
    Err(Refusal::Forbidden(match allowed {
        Allowed::Admins => format!("only an administrator may {operation}"),
        Allowed::Writers => format!("a {role} token cannot change the registry"),
        Allowed::Drafters => format!("only policy staff and administrators may {operation}"),
        Allowed::Everyone | Allowed::AnyToken => format!("a {role} token may not {operation}"),
    }))
}

/// The matrix as the README shows it: one row per operation, one column per role.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| operation | entry points | anonymous | reader | policy | ministry | admin | a ministry only … |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for rule in MATRIX {
        let cell = |role: Option<Role>| match (rule.allowed, role) {
            (Allowed::Everyone, _) => "yes",
            (_, None) => "no (UNAUTHENTICATED)",
            (allowed, Some(role)) if allowed.permits(role) => "yes",
            _ => "no (FORBIDDEN)",
        };
        let ministry = match cell(Some(Role::Ministry)) {
            "yes" if !rule.jurisdiction.is_empty() => "within jurisdiction",
            other => other,
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            rule.operation,
            rule.entry_points,
            cell(None),
            cell(Some(Role::Reader)),
            cell(Some(Role::Policy)),
            ministry,
            cell(Some(Role::Admin)),
            if rule.jurisdiction.is_empty() { "—" } else { rule.jurisdiction },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_exactly_one_row() {
        for (i, rule) in MATRIX.iter().enumerate() {
            let rows = MATRIX.iter().filter(|r| r.operation == rule.operation).count();
            assert_eq!(rows, 1, "{:?} has {rows} rows", rule.operation);
            assert_eq!(super::rule(rule.operation).operation, rule.operation, "row {i}");
        }
        assert_eq!(MATRIX.len(), 26, "a new Operation needs its row");
    }

    #[test]
    fn roles_are_refused_with_the_right_code() {
        let token = |role| Principal::Token { id: uuid::Uuid::nil(), label: "t".into(), role, ministry: None };
        assert!(matches!(authorize(&Principal::Anonymous, Operation::Designate), Err(Refusal::Unauthenticated(_))));
        assert_eq!(authorize(&Principal::Anonymous, Operation::ReadReferenceData), Ok(()));
        assert!(matches!(authorize(&token(Role::Reader), Operation::Designate), Err(Refusal::Forbidden(_))));
        assert!(matches!(authorize(&token(Role::Policy), Operation::Designate), Err(Refusal::Forbidden(_))));
        assert_eq!(authorize(&token(Role::Policy), Operation::DraftProposal), Ok(()));
        assert!(matches!(authorize(&token(Role::Policy), Operation::PromoteProposal), Err(Refusal::Forbidden(_))));
        assert!(matches!(authorize(&token(Role::Ministry), Operation::DraftProposal), Err(Refusal::Forbidden(_))));
        assert_eq!(authorize(&Principal::Cli { user: "u".into(), ministry: None }, Operation::IssueToken), Ok(()));
    }

    /// The README shows the matrix the service enforces, exactly.
    #[test]
    fn the_readme_shows_this_matrix() {
        let readme = include_str!("../../../README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's matrix differs from domain::authorization; it should be:\n{table}"
        );
    }
}
