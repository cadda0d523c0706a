//! Free-text fields: trimmed, bounded, without control characters.

/// Longest name, reference or reason the registry stores.
pub const MAX_TEXT_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{field} is too long ({length} characters; at most {MAX_TEXT_CHARS})")]
    TooLong { field: &'static str, length: usize },
    #[error("{0} contains a control character")]
    ControlCharacter(&'static str),
}

/// A required text: trimmed, non-empty.
pub fn required(field: &'static str, value: &str) -> Result<String, TextError> {
    optional(field, Some(value))?.ok_or(TextError::Missing(field))
}

/// An optional text: trimmed; empty means absent.
pub fn optional(field: &'static str, value: Option<&str>) -> Result<Option<String>, TextError> {
    let Some(trimmed) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let length = trimmed.chars().count();
    if length > MAX_TEXT_CHARS {
        return Err(TextError::TooLong { field, length });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter(field));
    }
    Ok(Some(trimmed.to_owned()))
}

/// Longest part of a caller's input an error message repeats.
const EXCERPT_CHARS: usize = 60;

/// `value` as an error message may repeat it: at most a few dozen characters, so that
/// a hostile input of megabytes is not echoed back.
pub fn excerpt(value: &str) -> String {
    match value.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}… ({} characters)", &value[..cut], value.chars().count()),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_refuses_bad_text() {
        assert_eq!(required("nameJa", "  東京電力  "), Ok("東京電力".into()));
        assert_eq!(required("nameJa", "   "), Err(TextError::Missing("nameJa")));
        assert_eq!(optional("nameEn", Some("")), Ok(None));
        assert_eq!(required("nameJa", "a\0b"), Err(TextError::ControlCharacter("nameJa")));
        assert!(matches!(required("nameJa", &"x".repeat(501)), Err(TextError::TooLong { .. })));
    }

    #[test]
    fn excerpts_are_short() {
        assert_eq!(excerpt("電力"), "電力");
        let long = excerpt(&"あ".repeat(10_000));
        assert!(long.chars().count() <= 80 && long.ends_with("(10000 characters)"), "{long}");
    }
}
