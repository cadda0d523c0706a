//! Column groups shared by several reference tables.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
pub enum Provenance {
    SourceCode,
    SourceLocator,
    Confirmed,
    Note,
}

#[derive(DeriveIden)]
pub enum Validity {
    ValidFrom,
    ValidTo,
}

#[derive(DeriveIden)]
pub enum Source {
    Table,
    Code,
}

/// Adds `source_code` (→ source), `source_locator`, `confirmed` and `note`: every
/// reference record names where it comes from and whether that is certain.
pub fn with_provenance(table: &mut TableCreateStatement, table_name: &str) {
    table
        .col(text(Provenance::SourceCode))
        .col(text_null(Provenance::SourceLocator))
        .col(boolean(Provenance::Confirmed).default(true))
        .col(text_null(Provenance::Note))
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{table_name}_source"))
                .from_col(Provenance::SourceCode)
                .to(Source::Table, Source::Code),
        );
}

/// Adds the effective-dated validity columns (`valid_to` exclusive, both open when null).
pub fn with_validity(table: &mut TableCreateStatement) {
    table.col(date_null(Validity::ValidFrom)).col(date_null(Validity::ValidTo)).check(
        Expr::col(Validity::ValidTo)
            .is_null()
            .or(Expr::col(Validity::ValidFrom).is_null())
            .or(Expr::col(Validity::ValidTo).gt(Expr::col(Validity::ValidFrom))),
    );
}

/// A check that exactly one of two nullable columns holds a value.
pub fn exactly_one_of(a: impl IntoIden + Clone, b: impl IntoIden + Clone) -> Cond {
    Cond::any()
        .add(Expr::col(a.clone()).is_not_null().and(Expr::col(b.clone()).is_null()))
        .add(Expr::col(a).is_null().and(Expr::col(b).is_not_null()))
}
