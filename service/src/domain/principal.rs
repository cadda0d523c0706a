//! Who is asking: the principal behind a request or a CLI command.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A token's role. `admin` may do everything; `ministry` writes within its
/// jurisdiction; `policy` (policy staff) reads everything and drafts scope revision
/// proposals, never changing live data; `reader` reads everything. What each may do is
/// the authorization matrix (`domain::authorization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Ministry,
    Policy,
    Reader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Ministry => "ministry",
            Role::Policy => "policy",
            Role::Reader => "reader",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "ministry" => Ok(Role::Ministry),
            "policy" => Ok(Role::Policy),
            "reader" => Ok(Role::Reader),
            other => Err(format!("unknown role \"{other}\" (expected admin, ministry, policy or reader)")),
        }
    }
}

/// The authenticated identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No token: may read reference data only.
    Anonymous,
    /// A bearer token.
    Token {
        id: Uuid,
        label: String,
        role: Role,
        /// Set exactly when `role` is `Ministry`.
        ministry: Option<String>,
    },
    /// The command line, run by a local user (acts as an administrator, or as a
    /// ministry when asked to).
    Cli { user: String, ministry: Option<String> },
}

impl Principal {
    pub fn is_authenticated(&self) -> bool {
        !matches!(self, Principal::Anonymous)
    }

    /// The ministry whose jurisdiction limits this principal's writes, if any.
    pub fn acting_ministry(&self) -> Option<&str> {
        match self {
            Principal::Token { ministry, .. } | Principal::Cli { ministry, .. } => ministry.as_deref(),
            Principal::Anonymous => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Anonymous => None,
            Principal::Token { role, .. } => Some(*role),
            Principal::Cli { ministry: Some(_), .. } => Some(Role::Ministry),
            Principal::Cli { ministry: None, .. } => Some(Role::Admin),
        }
    }

    /// May change registry data (admin or ministry).
    pub fn can_write(&self) -> bool {
        matches!(self.role(), Some(Role::Admin | Role::Ministry))
    }

    /// May do everything (admin tokens and the command line without a ministry).
    pub fn is_admin(&self) -> bool {
        self.role() == Some(Role::Admin)
    }
}
