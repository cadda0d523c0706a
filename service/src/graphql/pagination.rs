//! Relay pagination of operator listings: page sizes, cursors and ids.

use async_graphql::ID;
use async_graphql::connection::CursorType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::{ApiError, ApiResult};
use crate::domain::CorporateNumber;

/// Page size of listings when `first` is not given.
pub const DEFAULT_PAGE_SIZE: u64 = 50;

/// Opaque cursor of operator listings (they are ordered by corporate number).
pub struct OperatorCursor(pub String);

impl CursorType for OperatorCursor {
    type Error = String;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| "invalid cursor".to_owned())?;
        let text = String::from_utf8(bytes).map_err(|_| "invalid cursor".to_owned())?;
        let number = text.strip_prefix("cn:").ok_or_else(|| "invalid cursor".to_owned())?;
        CorporateNumber::parse(number).map(|n| OperatorCursor(n.to_string())).map_err(|_| "invalid cursor".to_owned())
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("cn:{}", self.0))
    }
}

/// The page size a connection's `first` asks for (default 50, at most `max`).
pub fn page_size(first: Option<i32>, max: u64) -> ApiResult<u64> {
    match first {
        None => Ok(DEFAULT_PAGE_SIZE.min(max)),
        Some(n) if n < 0 => Err(ApiError::bad_input("first must not be negative")),
        Some(n) if n as u64 > max => Err(ApiError::bad_input(format!("first must be at most {max}, got {n}"))),
        Some(n) => Ok(n as u64),
    }
}

pub fn decode_after(after: Option<String>) -> ApiResult<Option<String>> {
    after
        .map(|a| {
            OperatorCursor::decode_cursor(&a).map(|c| c.0).map_err(|_| ApiError::bad_input("invalid cursor in after"))
        })
        .transpose()
}

/// Parses a UUID given as an `ID`, saying what it should have been.
pub fn parse_id(id: &ID, what: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(format!("\"{}\" is not a {what} id", id.as_str())))
}
