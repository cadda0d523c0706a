//! How the in-memory index lays out what it holds for every operator for the life of
//! the process. At a million operators every byte per record counts (see BENCHMARKS.md):
//! codes that repeat across designations (sector, domain, scope item, ministry, legal
//! basis) are small integers into one table of [`Symbols`], and an operator's free text
//! (names, each designation's reference and revocation reason, legal bases that do not
//! repeat) sits in one allocation it owns, so that an operator costs three allocations
//! at most (its text, its designations, and its 特別社会基盤事業者 periods if it has any).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use chrono::serde::{ts_nanoseconds, ts_nanoseconds_option};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::index::OperatorEntry;
use super::snapshot::days;
use crate::domain::designation::{Designation, DesignationStatus};
use crate::domain::operator::{DesignatedPeriod, Operator};
use crate::domain::proposal::DesignationView;
use crate::domain::special_operator::SpecialPeriod;
use crate::domain::{CorporateNumber, Regime};

/// Distinct legal bases shared through [`Symbols`]; beyond this many (free text that
/// does not repeat) further ones are held as the operator's own text. Codes are always
/// shared: the reference data bounds them.
const SHARED_LEGAL_BASES: usize = 10_000;

/// A code or repeated text, as its place in [`Symbols`] (plus one, so that an absent one
/// costs nothing beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Symbol(NonZeroU32);

impl Symbol {
    /// Its place in [`Symbols::table`].
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// The table of codes and repeated texts held designations refer to. It only grows
/// (codes are few: the reference data's), so a symbol stays valid for the process.
#[derive(Default)]
pub struct Symbols {
    texts: Vec<Arc<str>>,
    by_text: HashMap<Arc<str>, Symbol>,
    legal_bases: usize,
}

impl Symbols {
    /// The symbol of `text`, added when new (None: the table is full, which would take
    /// four billion distinct codes).
    fn intern(&mut self, text: &str) -> Option<Symbol> {
        if let Some(known) = self.by_text.get(text) {
            return Some(*known);
        }
        let symbol = Symbol(NonZeroU32::new(u32::try_from(self.texts.len() + 1).ok()?)?);
        let text: Arc<str> = Arc::from(text);
        self.texts.push(text.clone());
        self.by_text.insert(text, symbol);
        Some(symbol)
    }

    /// Takes in the code table of a snapshot: the symbol each of its texts has here (this
    /// table may already hold codes, interned meanwhile in another order); None when full.
    pub fn adopt(&mut self, texts: &[String], legal_bases: usize) -> Option<Vec<Symbol>> {
        self.legal_bases = self.legal_bases.saturating_add(legal_bases).min(SHARED_LEGAL_BASES);
        texts.iter().map(|text| self.intern(text)).collect()
    }

    /// The texts by symbol (for a snapshot).
    pub fn texts(&self) -> (Vec<&str>, usize) {
        (self.texts.iter().map(|text| &**text).collect(), self.legal_bases)
    }

    /// The symbol a query's code has, if any held designation uses it.
    pub fn find(&self, text: &str) -> Option<Symbol> {
        self.by_text.get(text).copied()
    }

    /// `value` of every symbol's text, indexed by [`Symbol::index`] (to look a code up
    /// once per pass rather than once per designation).
    pub fn table<T>(&self, value: impl Fn(&str) -> T) -> Vec<T> {
        self.texts.iter().map(|text| value(text)).collect()
    }

    pub fn text(&self, symbol: Symbol) -> &str {
        // Symbols are only made by `intern`, which pushed the text first.
        self.texts.get(symbol.index()).map_or("", |text| text)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.texts.len()
    }
}

/// A piece of an operator's own text.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Span {
    start: u32,
    end: u32,
}

/// A text a designation holds: shared, or the operator's own.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum Text {
    Shared(Symbol),
    Own(Span),
}

/// Collects an operator's free text into one string.
#[derive(Default)]
struct TextBuilder {
    text: String,
}

impl TextBuilder {
    fn push(&mut self, piece: &str) -> Option<Span> {
        let start = u32::try_from(self.text.len()).ok()?;
        self.text.push_str(piece);
        let end = u32::try_from(self.text.len()).ok()?;
        Some(Span { start, end })
    }
}

/// Why an operator cannot be held (it is then read from the database on each use).
#[derive(Debug, thiserror::Error)]
#[error("an operator's text or the index's code table exceeds the index's bounds")]
pub struct TooLarge;

/// An operator as the index holds it (an [`OperatorEntry`] is made from it on each read),
/// and as its snapshot writes it (dates and instants as numbers).
#[derive(Serialize, Deserialize)]
pub struct HeldOperator {
    id: Uuid,
    name_ja: Span,
    name_en: Option<Span>,
    #[serde(with = "days::option")]
    closed_on: Option<NaiveDate>,
    successor: Option<CorporateNumber>,
    version: i32,
    #[serde(with = "ts_nanoseconds")]
    created_at: DateTime<Utc>,
    #[serde(with = "ts_nanoseconds")]
    updated_at: DateTime<Utc>,
    text: Box<str>,
    pub designations: Box<[HeldDesignation]>,
    /// Few operators have any (an empty box allocates nothing).
    special: Box<[SpecialPeriod]>,
}

/// A designation as the index holds it, the operator implied.
#[derive(Serialize, Deserialize)]
pub struct HeldDesignation {
    id: Uuid,
    pub regime: Regime,
    pub status: DesignationStatus,
    pub field: Symbol,
    scope_item: Option<Symbol>,
    ministry: Symbol,
    #[serde(with = "days")]
    pub effective_from: NaiveDate,
    #[serde(with = "days::option")]
    pub effective_to: Option<NaiveDate>,
    version: i32,
    legal_basis: Option<Text>,
    reference: Option<Span>,
    revocation_reason: Option<Span>,
    #[serde(with = "ts_nanoseconds_option")]
    revoked_at: Option<DateTime<Utc>>,
    #[serde(with = "ts_nanoseconds")]
    created_at: DateTime<Utc>,
    #[serde(with = "ts_nanoseconds")]
    updated_at: DateTime<Utc>,
}

impl HeldOperator {
    pub fn new(
        operator: &Operator,
        designations: &[Designation],
        special: &[SpecialPeriod],
        symbols: &mut Symbols,
    ) -> Result<Self, TooLarge> {
        let mut text = TextBuilder::default();
        let name_ja = text.push(&operator.name_ja).ok_or(TooLarge)?;
        let name_en = own(&mut text, operator.name_en.as_deref())?;
        let mut held = Vec::with_capacity(designations.len());
        for d in designations {
            let legal_basis = match d.legal_basis.as_deref() {
                None => None,
                Some(basis) => Some(match symbols.find(basis) {
                    Some(known) => Text::Shared(known),
                    None if symbols.legal_bases < SHARED_LEGAL_BASES => {
                        symbols.legal_bases += 1;
                        Text::Shared(symbols.intern(basis).ok_or(TooLarge)?)
                    }
                    None => Text::Own(text.push(basis).ok_or(TooLarge)?),
                }),
            };
            held.push(HeldDesignation {
                id: d.id,
                regime: d.regime,
                status: d.status,
                field: symbols.intern(&d.field).ok_or(TooLarge)?,
                scope_item: d.scope_item.as_deref().map(|item| symbols.intern(item).ok_or(TooLarge)).transpose()?,
                ministry: symbols.intern(&d.ministry).ok_or(TooLarge)?,
                effective_from: d.effective_from,
                effective_to: d.effective_to,
                version: d.version,
                legal_basis,
                reference: own(&mut text, d.reference.as_deref())?,
                revocation_reason: own(&mut text, d.revocation_reason.as_deref())?,
                revoked_at: d.revoked_at,
                created_at: d.created_at,
                updated_at: d.updated_at,
            });
        }
        Ok(Self {
            id: operator.id,
            name_ja,
            name_en,
            closed_on: operator.closed_on,
            successor: operator.successor,
            version: operator.version,
            created_at: operator.created_at,
            updated_at: operator.updated_at,
            text: text.text.into_boxed_str(),
            designations: held.into_boxed_slice(),
            special: special.into(),
        })
    }

    /// Points the symbols of an operator read from a snapshot at this process's table
    /// (`table`: this process's symbol by the snapshot's); false when one is not in it.
    pub fn remap(&mut self, table: &[Symbol]) -> bool {
        let map = |symbol: &mut Symbol| match table.get(symbol.index()) {
            Some(mapped) => {
                *symbol = *mapped;
                true
            }
            None => false,
        };
        self.designations.iter_mut().all(|d| {
            map(&mut d.field)
                && map(&mut d.ministry)
                && d.scope_item.as_mut().is_none_or(map)
                && match &mut d.legal_basis {
                    Some(Text::Shared(symbol)) => map(symbol),
                    _ => true,
                }
        })
    }

    fn piece(&self, span: Span) -> &str {
        self.text.get(span.start as usize..span.end as usize).unwrap_or_default()
    }

    pub fn name_ja(&self) -> &str {
        self.piece(self.name_ja)
    }

    pub fn name_en(&self) -> Option<&str> {
        self.name_en.map(|span| self.piece(span))
    }

    pub fn special(&self) -> &[SpecialPeriod] {
        &self.special
    }

    /// Writes the operator into `into`, reusing its strings' room (a scan over every
    /// operator then allocates nothing per operator).
    pub fn operator_into(&self, number: CorporateNumber, into: &mut Operator) {
        into.id = self.id;
        into.corporate_number = number;
        into.name_ja.clear();
        into.name_ja.push_str(self.name_ja());
        match (self.name_en(), &mut into.name_en) {
            (None, name_en) => *name_en = None,
            (Some(name), Some(held)) => {
                held.clear();
                held.push_str(name);
            }
            (Some(name), name_en) => *name_en = Some(name.to_owned()),
        }
        into.closed_on = self.closed_on;
        into.successor = self.successor;
        into.version = self.version;
        into.created_at = self.created_at;
        into.updated_at = self.updated_at;
    }

    pub fn operator(&self, number: CorporateNumber) -> Operator {
        Operator {
            id: self.id,
            corporate_number: number,
            name_ja: self.name_ja().to_owned(),
            name_en: self.name_en().map(str::to_owned),
            closed_on: self.closed_on,
            successor: self.successor,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// The operator with its designations and periods, as they were stored.
    pub fn entry(&self, number: CorporateNumber, symbols: &Symbols) -> Arc<OperatorEntry> {
        let designations = self
            .designations
            .iter()
            .map(|d| Designation {
                id: d.id,
                operator_id: self.id,
                regime: d.regime,
                field: symbols.text(d.field).to_owned(),
                scope_item: d.scope_item.map(|item| symbols.text(item).to_owned()),
                effective_from: d.effective_from,
                effective_to: d.effective_to,
                status: d.status,
                legal_basis: d.legal_basis.map(|basis| self.resolve(basis, symbols).to_owned()),
                reference: d.reference.map(|span| self.piece(span).to_owned()),
                ministry: symbols.text(d.ministry).to_owned(),
                revocation_reason: d.revocation_reason.map(|span| self.piece(span).to_owned()),
                revoked_at: d.revoked_at,
                version: d.version,
                created_at: d.created_at,
                updated_at: d.updated_at,
            })
            .collect();
        Arc::new(OperatorEntry {
            operator: self.operator(number),
            designations: Arc::new(designations),
            special: Arc::new(self.special.to_vec()),
        })
    }

    fn resolve<'a>(&'a self, text: Text, symbols: &'a Symbols) -> &'a str {
        match text {
            Text::Shared(symbol) => symbols.text(symbol),
            Text::Own(span) => self.piece(span),
        }
    }

    /// What listings and reports look at in each designation.
    pub fn periods<'a>(&'a self, symbols: &'a Symbols) -> impl Iterator<Item = DesignatedPeriod<'a>> + 'a {
        self.designations.iter().map(move |d| DesignatedPeriod {
            regime: d.regime,
            field: symbols.text(d.field),
            effective_from: d.effective_from,
            effective_to: d.effective_to,
        })
    }

    /// What a scope revision proposal's impact looks at in each designation.
    pub fn views<'a>(&'a self, symbols: &'a Symbols) -> impl Iterator<Item = DesignationView<'a>> + 'a {
        self.designations.iter().map(move |d| DesignationView {
            id: d.id,
            regime: d.regime,
            field: symbols.text(d.field),
            scope_item: d.scope_item.map(|item| symbols.text(item)),
            effective_from: d.effective_from,
            effective_to: d.effective_to,
            ministry: symbols.text(d.ministry),
        })
    }
}

/// The span of an optional piece of text, added to the operator's own.
fn own(text: &mut TextBuilder, piece: Option<&str>) -> Result<Option<Span>, TooLarge> {
    piece.map(|piece| text.push(piece).ok_or(TooLarge)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn designation(operator_id: Uuid, reference: Option<&str>, legal_basis: &str) -> Designation {
        Designation {
            reference: reference.map(str::to_owned),
            legal_basis: Some(legal_basis.to_owned()),
            revocation_reason: Some("事業譲渡".into()),
            revoked_at: Some(Utc::now()),
            status: DesignationStatus::Revoked,
            version: 3,
            scope_item: Some("electricity/transmission".into()),
            effective_to: NaiveDate::from_ymd_opt(2026, 1, 1),
            ..Designation::for_test(operator_id, Regime::Espa, "electricity", crate::domain::today(), "METI")
        }
    }

    fn operator() -> Operator {
        let at = Utc::now();
        Operator {
            id: Uuid::new_v4(),
            corporate_number: CorporateNumber::parse("7000012050002").expect("valid"),
            name_ja: "テスト電力株式会社".into(),
            name_en: Some("Test Power".into()),
            closed_on: None,
            successor: None,
            version: 2,
            created_at: at,
            updated_at: at,
        }
    }

    /// What the index holds reads back exactly as stored, codes are held once, and a
    /// scan's reused operator reads back the same.
    #[test]
    fn a_held_operator_reads_back_as_stored() {
        let operator = operator();
        let basis = "経済安全保障推進法第50条第1項";
        let designations =
            vec![designation(operator.id, Some("官報 2024-05-17"), basis), designation(operator.id, None, basis)];
        let mut symbols = Symbols::default();
        let held = HeldOperator::new(&operator, &designations, &[], &mut symbols).expect("held");
        let read = held.entry(operator.corporate_number, &symbols);
        assert_eq!(read.operator, operator);
        assert_eq!(*read.designations, designations);
        assert_eq!(symbols.len(), 4, "field, scope item, ministry and legal basis");
        let mut scratch = Operator { name_ja: "前の名前".into(), name_en: None, ..operator.clone() };
        held.operator_into(operator.corporate_number, &mut scratch);
        assert_eq!(scratch, operator);
    }

    /// Legal bases beyond the shared bound are held as the operator's own text.
    #[test]
    fn legal_bases_that_do_not_repeat_are_the_operators_own_text() {
        let operator = operator();
        let mut symbols = Symbols { legal_bases: SHARED_LEGAL_BASES, ..Symbols::default() };
        let designations = vec![designation(operator.id, None, "一度きりの根拠")];
        let held = HeldOperator::new(&operator, &designations, &[], &mut symbols).expect("held");
        assert_eq!(symbols.len(), 3, "codes only");
        assert_eq!(*held.entry(operator.corporate_number, &symbols).designations, designations);
    }
}
