//! The changes a scope revision proposal is made of, one variant per field of the
//! GraphQL one-of input `ScopeChangeInput`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::reference::ReferenceData;
use crate::domain::{Regime, Relation};

/// A scope item a new sector or domain comes with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewScopeItem {
    /// `parent/item`, or just `item` (expanded with the new field's code).
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
}

/// One change to the protection scope, effective from the proposal's date.
///
/// Stored as JSON, externally tagged with the GraphQL field names:
/// `{"addDomain": {"code": "medical", "nameJa": "医療", …}}`,
/// `{"setJurisdiction": {"ministry": "MHLW", "regime": "ESPA", "field": "medical"}}`.
///
/// Scope items are named by regime as well as code: both regimes use the same item
/// codes for different records (`electricity/power-generation` is a CI service and an
/// ESPA sub-business), so a code alone does not say which one is meant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum ScopeChange {
    /// A new CI sector, with its scope items, under `ministry`.
    AddSector {
        code: String,
        name_ja: String,
        name_en: String,
        ministry: String,
        #[serde(default)]
        scope_items: Vec<NewScopeItem>,
    },
    /// The CI sector ends (with its scope items, links, scope-item links and
    /// jurisdictions).
    RetireSector { code: String },
    /// A new ESPA business domain, with its scope items, under `ministry`.
    AddDomain {
        code: String,
        name_ja: String,
        name_en: String,
        ministry: String,
        #[serde(default)]
        scope_items: Vec<NewScopeItem>,
    },
    /// The ESPA business domain ends (with its scope items, links, scope-item links and
    /// jurisdictions).
    RetireDomain { code: String },
    /// A new scope item of an existing sector (CI) or domain (ESPA) `parent`; `code` is
    /// `parent/item` or just `item`.
    AddScopeItem { regime: Regime, parent: String, code: String, name_ja: String, name_en: String },
    /// The scope item ends (with its scope-item links).
    RetireScopeItem { regime: Regime, code: String },
    /// The sector and the domain are linked with this relation from the date on.
    SetLink { sector: String, domain: String, relation: Relation, rationale: String },
    /// The sector–domain link ends (with the scope-item links between their items).
    RemoveLink { sector: String, domain: String },
    /// The two scope items are linked with this relation from the date on.
    SetScopeItemLink { sector_item: String, domain_item: String, relation: Relation, rationale: String },
    /// The scope-item link ends.
    RemoveScopeItemLink { sector_item: String, domain_item: String },
    /// `ministry` has jurisdiction over the sector (CI) or domain (ESPA) `field` from the
    /// date on, and is the only one; with `scope_item`, over that scope item of the field
    /// beside the ministries that have the whole field (co-competence; see
    /// [`super::apply`]).
    SetJurisdiction {
        ministry: String,
        regime: Regime,
        field: String,
        /// `field/item` or just `item`; absent in changes stored before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope_item: Option<String>,
    },
}

impl ScopeChange {
    /// The GraphQL field name of the change (`addDomain`).
    pub fn kind(&self) -> &'static str {
        match self {
            ScopeChange::AddSector { .. } => "addSector",
            ScopeChange::RetireSector { .. } => "retireSector",
            ScopeChange::AddDomain { .. } => "addDomain",
            ScopeChange::RetireDomain { .. } => "retireDomain",
            ScopeChange::AddScopeItem { .. } => "addScopeItem",
            ScopeChange::RetireScopeItem { .. } => "retireScopeItem",
            ScopeChange::SetLink { .. } => "setLink",
            ScopeChange::RemoveLink { .. } => "removeLink",
            ScopeChange::SetScopeItemLink { .. } => "setScopeItemLink",
            ScopeChange::RemoveScopeItemLink { .. } => "removeScopeItemLink",
            ScopeChange::SetJurisdiction { .. } => "setJurisdiction",
        }
    }

    /// A short human label: `addDomain medical`, `setLink medical → medical (EQUAL)`,
    /// `retireScopeItem CI logistics/warehousing`, `setJurisdiction MHLW over ESPA medical`,
    /// `setJurisdiction MOF over ESPA finance/deposit-insurance`.
    pub fn describe(&self) -> String {
        let kind = self.kind();
        match self {
            ScopeChange::AddSector { code, .. }
            | ScopeChange::RetireSector { code }
            | ScopeChange::AddDomain { code, .. }
            | ScopeChange::RetireDomain { code } => format!("{kind} {}", code.trim()),
            ScopeChange::AddScopeItem { regime, parent, code, .. } => {
                format!("{kind} {regime} {}", item_code(parent.trim(), code.trim()))
            }
            ScopeChange::RetireScopeItem { regime, code } => format!("{kind} {regime} {}", code.trim()),
            ScopeChange::SetLink { sector, domain, relation, .. } => {
                format!("{kind} {} → {} ({relation})", sector.trim(), domain.trim())
            }
            ScopeChange::RemoveLink { sector, domain } => format!("{kind} {} → {}", sector.trim(), domain.trim()),
            ScopeChange::SetScopeItemLink { sector_item, domain_item, relation, .. } => {
                format!("{kind} {} → {} ({relation})", sector_item.trim(), domain_item.trim())
            }
            ScopeChange::RemoveScopeItemLink { sector_item, domain_item } => {
                format!("{kind} {} → {}", sector_item.trim(), domain_item.trim())
            }
            ScopeChange::SetJurisdiction { ministry, regime, field, scope_item } => {
                let over = match scope_item.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
                    None => field.trim().to_owned(),
                    Some(item) => item_code(field.trim(), item),
                };
                format!("{kind} {} over {regime} {over}", ministry.trim())
            }
        }
    }
}

impl ScopeChange {
    /// For a scope-item change asked for without a regime: the change with the regime in
    /// which its parent (addScopeItem) or its code (retireScopeItem) exists in `data`
    /// (the live data with the proposal's earlier changes applied). A code of both
    /// regimes is ambiguous; one of neither is left for validation to report.
    pub fn with_regime_from(self, data: &ReferenceData) -> Result<Self, String> {
        let found = |ci: bool, espa: bool, what: &str, code: &str| match (ci, espa) {
            (true, true) => Err(format!("\"{code}\" is {what} in both regimes: say which with `regime` (CI or ESPA)")),
            (false, true) => Ok(Regime::Espa),
            _ => Ok(Regime::Ci),
        };
        Ok(match self {
            ScopeChange::AddScopeItem { parent, code, name_ja, name_en, .. } => {
                let key = parent.trim();
                let regime = found(
                    data.sectors.iter().any(|f| f.code == key),
                    data.domains.iter().any(|f| f.code == key),
                    "a sector or domain code",
                    key,
                )?;
                ScopeChange::AddScopeItem { regime, parent, code, name_ja, name_en }
            }
            ScopeChange::RetireScopeItem { code, .. } => {
                let key = code.trim();
                let regime = found(
                    data.sector_items.iter().any(|i| i.code == key),
                    data.domain_items.iter().any(|i| i.code == key),
                    "a scope item code",
                    key,
                )?;
                ScopeChange::RetireScopeItem { regime, code }
            }
            other => other,
        })
    }
}

/// The full code of a scope item of `parent` given as `parent/item` or `item`.
pub(super) fn item_code(parent: &str, code: &str) -> String {
    if code.contains('/') { code.to_owned() } else { format!("{parent}/{code}") }
}

/// Why a proposal's change cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRejected {
    /// Position of the change in the proposal's list (from 0).
    pub index: usize,
    /// [`ScopeChange::describe`] of the change.
    pub change: String,
    pub reason: String,
}

impl fmt::Display for ChangeRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "change {} ({}) cannot be applied: {}", self.index, self.change, self.reason)
    }
}

impl std::error::Error for ChangeRejected {}
