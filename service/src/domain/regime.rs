//! The two protection regimes and the crosswalk relations between their scopes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// CI = 重要インフラ (Cybersecurity Basic Act / action plan); ESPA = 基幹インフラ
/// (Economic Security Promotion Act Art. 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Regime {
    Ci,
    Espa,
}

impl Regime {
    pub const ALL: [Regime; 2] = [Regime::Ci, Regime::Espa];

    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Ci => "CI",
            Regime::Espa => "ESPA",
        }
    }

    /// What this regime's fields are called, for messages.
    pub fn field_noun(self) -> &'static str {
        match self {
            Regime::Ci => "sector",
            Regime::Espa => "business domain",
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Regime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "CI" => Ok(Regime::Ci),
            "ESPA" => Ok(Regime::Espa),
            other => Err(format!("unknown regime \"{other}\" (expected CI or ESPA)")),
        }
    }
}

/// A crosswalk relation, read "left RELATION right" (CI side on the left), as in
/// NIST IR 8477 set-theory relationship mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Relation {
    Equal,
    SubsetOf,
    SupersetOf,
    IntersectsWith,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Equal => "EQUAL",
            Relation::SubsetOf => "SUBSET_OF",
            Relation::SupersetOf => "SUPERSET_OF",
            Relation::IntersectsWith => "INTERSECTS_WITH",
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Relation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "EQUAL" => Ok(Relation::Equal),
            "SUBSET_OF" => Ok(Relation::SubsetOf),
            "SUPERSET_OF" => Ok(Relation::SupersetOf),
            "INTERSECTS_WITH" => Ok(Relation::IntersectsWith),
            other => {
                Err(format!("unknown relation \"{other}\" (expected EQUAL, SUBSET_OF, SUPERSET_OF or INTERSECTS_WITH)"))
            }
        }
    }
}
