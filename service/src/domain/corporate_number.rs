//! 法人番号 (corporate number): 13 digits, the first a check digit over the other 12.

use std::fmt;
use std::str::FromStr;

/// A corporate number that is known to be valid. The only way to get one is to parse
/// it, so every value in the registry has a correct check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CorporateNumber([u8; 13]);

/// What is wrong with a corporate number, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorporateNumberError {
    #[error("corporate number is empty")]
    Empty,
    #[error("corporate number contains '{0}', which is not a digit")]
    NotADigit(char),
    #[error("corporate number must have 13 digits, found {0}")]
    WrongLength(usize),
    #[error("corporate number {number} has check digit {found}, expected {expected}")]
    CheckDigit { number: String, found: u8, expected: u8 },
}

impl CorporateNumber {
    /// Parses a corporate number. Surrounding spaces (ASCII or full-width) are ignored
    /// and full-width digits (０-９) read as digits; anything else is refused.
    pub fn parse(input: &str) -> Result<Self, CorporateNumberError> {
        let trimmed = input.trim_matches(|c: char| c.is_whitespace());
        if trimmed.is_empty() {
            return Err(CorporateNumberError::Empty);
        }
        let mut digits = [0u8; 13];
        let mut count = 0usize;
        for c in trimmed.chars() {
            let digit = match c {
                '0'..='9' => c as u32 - '0' as u32,
                '０'..='９' => c as u32 - '０' as u32,
                other => return Err(CorporateNumberError::NotADigit(other)),
            };
            if count < 13 {
                digits[count] = digit as u8;
            }
            count += 1;
        }
        if count != 13 {
            return Err(CorporateNumberError::WrongLength(count));
        }
        let expected = check_digit(&digits[1..]);
        if digits[0] != expected {
            return Err(CorporateNumberError::CheckDigit {
                number: digits.iter().map(|d| char::from(b'0' + d)).collect(),
                found: digits[0],
                expected,
            });
        }
        Ok(Self(digits.map(|d| b'0' + d)))
    }

    /// Builds the valid corporate number for a 12-digit base (check digit prepended).
    pub fn from_base(base: u64) -> Option<Self> {
        if base >= 1_000_000_000_000 {
            return None;
        }
        let mut digits = [0u8; 13];
        let mut rest = base;
        for slot in digits[1..].iter_mut().rev() {
            *slot = (rest % 10) as u8;
            rest /= 10;
        }
        digits[0] = check_digit(&digits[1..]);
        Some(Self(digits.map(|d| b'0' + d)))
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// `9 - (Σ P_n·Q_n mod 9)`, P_n the n-th digit of the base counted from the right,
/// Q_n = 1 for odd n and 2 for even n.
fn check_digit(base: &[u8]) -> u8 {
    let sum: u32 = base.iter().rev().enumerate().map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 1 } else { 2 }).sum();
    9 - (sum % 9) as u8
}

/// Ordered and hashed as its digits, so ordered maps can be searched by a cursor's text.
impl std::borrow::Borrow<[u8]> for CorporateNumber {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl FromStr for CorporateNumber {
    type Err = CorporateNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for CorporateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for CorporateNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Read back only through [`CorporateNumber::parse`], so that a stored number is checked
/// like any other input.
impl<'de> serde::Deserialize<'de> for CorporateNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <&str>::deserialize(deserializer)?;
        Self::parse(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_spec_example() {
        assert_eq!(CorporateNumber::parse("7000012050002").unwrap().as_str(), "7000012050002");
    }

    #[test]
    fn refuses_a_wrong_check_digit() {
        assert_eq!(
            CorporateNumber::parse("7000012050003"),
            Err(CorporateNumberError::CheckDigit { number: "7000012050003".into(), found: 7, expected: 6 })
        );
    }

    #[test]
    fn normalises_width_and_spaces() {
        let n = CorporateNumber::parse("\u{3000} ７００００１２0５０００２ ").unwrap();
        assert_eq!(n.as_str(), "7000012050002");
    }

    #[test]
    fn says_what_is_wrong() {
        assert_eq!(CorporateNumber::parse("  "), Err(CorporateNumberError::Empty));
        assert_eq!(CorporateNumber::parse("700001205000"), Err(CorporateNumberError::WrongLength(12)));
        assert_eq!(CorporateNumber::parse("70000120500020"), Err(CorporateNumberError::WrongLength(14)));
        assert_eq!(CorporateNumber::parse("7000-012050002"), Err(CorporateNumberError::NotADigit('-')));
        assert_eq!(
            CorporateNumber::parse("7000012050002'; DROP TABLE operator;--"),
            Err(CorporateNumberError::NotADigit('\''))
        );
    }

    #[test]
    fn from_base_round_trips() {
        let n = CorporateNumber::from_base(12_050_002).unwrap();
        assert_eq!(n.as_str(), "7000012050002");
        assert_eq!(CorporateNumber::parse(n.as_str()).unwrap(), n);
        assert!(CorporateNumber::from_base(1_000_000_000_000).is_none());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::domain::strategies::{corporate_number, corporate_number_as_typed, to_full_width};

        /// The check digit exactly as the specification states it, written apart from
        /// the implementation: P_n is the n-th digit of the base counted from the right,
        /// Q_n is 1 for odd n and 2 for even n.
        fn check_digit_per_spec(base: &[u8; 12]) -> u8 {
            let sum: u32 = (1..=12).map(|n| u32::from(base[12 - n]) * if n % 2 == 1 { 1 } else { 2 }).sum();
            9 - (sum % 9) as u8
        }

        proptest! {
            #[test]
            fn parsing_agrees_with_the_specified_check_digit(digits in prop::array::uniform13(0u8..10)) {
                let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                let base: [u8; 12] = digits[1..].try_into().unwrap();
                let valid = digits[0] == check_digit_per_spec(&base);
                prop_assert_eq!(CorporateNumber::parse(&text).is_ok(), valid, "{}", text);
            }

            #[test]
            fn valid_numbers_round_trip(number in corporate_number()) {
                let text = number.to_string();
                prop_assert_eq!(text.len(), 13);
                prop_assert!(text.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(CorporateNumber::parse(&text), Ok(number));
            }

            #[test]
            fn width_and_surrounding_spaces_do_not_matter((number, typed) in corporate_number_as_typed()) {
                prop_assert_eq!(CorporateNumber::parse(&typed), Ok(number));
            }

            #[test]
            fn any_other_character_is_named(number in corporate_number(), at in 1usize..12, intruder in any::<char>()) {
                prop_assume!(!intruder.is_ascii_digit() && !('０'..='９').contains(&intruder) && !intruder.is_whitespace());
                let mut text: Vec<char> = number.as_str().chars().collect();
                text.insert(at, intruder);
                let text: String = text.into_iter().collect();
                prop_assert_eq!(CorporateNumber::parse(&text), Err(CorporateNumberError::NotADigit(intruder)));
            }

            #[test]
            fn a_changed_digit_is_caught_unless_the_formula_allows_it(number in corporate_number(), at in 0usize..13, to in 0u8..10) {
                let mut digits: Vec<u8> = number.as_str().bytes().map(|b| b - b'0').collect();
                prop_assume!(digits[at] != to);
                digits[at] = to;
                let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                let base: [u8; 12] = digits[1..].try_into().unwrap();
                prop_assert_eq!(CorporateNumber::parse(&text).is_ok(), digits[0] == check_digit_per_spec(&base));
            }

            #[test]
            fn never_panics_and_accepts_only_what_spells_a_valid_number(text in any::<String>()) {
                if let Ok(number) = CorporateNumber::parse(&text) {
                    let spelled: String = text
                        .trim()
                        .chars()
                        .map(|c| if ('０'..='９').contains(&c) { char::from_u32(u32::from(c) - 0xFF10 + 0x30).unwrap() } else { c })
                        .collect();
                    prop_assert_eq!(spelled, number.to_string());
                }
            }

            #[test]
            fn full_width_spelling_is_the_same_number(number in corporate_number()) {
                let wide: String = number.as_str().chars().map(to_full_width).collect();
                prop_assert_eq!(CorporateNumber::parse(&wide), Ok(number));
            }
        }
    }
}
