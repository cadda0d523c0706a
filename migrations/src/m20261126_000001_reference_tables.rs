//! Reference data: sources, ministries, CI sectors, ESPA business domains, their scope
//! items, effective-dated jurisdictions, crosswalk links and obligation rules.

use sea_orm_migration::{prelude::*, schema::*};

use crate::provenance::{Source, with_provenance, with_validity};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SourceCol {
    Title,
    Publisher,
    PublishedOn,
    Url,
    Note,
}

#[derive(DeriveIden)]
enum Ministry {
    Table,
    Code,
    NameJa,
    NameEn,
    Position,
}

#[derive(DeriveIden)]
enum Sector {
    Table,
    Code,
    NameJa,
    NameEn,
    Position,
}

#[derive(DeriveIden)]
enum BusinessDomain {
    Table,
    Code,
    NameJa,
    NameEn,
    Position,
}

#[derive(DeriveIden)]
enum SectorScopeItem {
    Table,
    Code,
    SectorCode,
    NameJa,
    NameEn,
    Position,
}

#[derive(DeriveIden)]
enum DomainScopeItem {
    Table,
    Code,
    DomainCode,
    NameJa,
    NameEn,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Jurisdiction {
    Table,
    Id,
    MinistryCode,
    SectorCode,
    DomainCode,
}

#[derive(DeriveIden)]
enum CrosswalkLink {
    Table,
    Id,
    SectorCode,
    DomainCode,
    Relation,
    Rationale,
    Origin,
}

#[derive(DeriveIden)]
enum ScopeItemLink {
    Table,
    Id,
    SectorItemCode,
    DomainItemCode,
    Relation,
    Rationale,
    Origin,
}

#[derive(DeriveIden)]
enum ObligationRule {
    Table,
    Code,
    NameJa,
    NameEn,
    LegalBasis,
    TriggeredBy,
    InForceFrom,
    Description,
    Position,
}

const RELATIONS: [&str; 4] = ["EQUAL", "SUBSET_OF", "SUPERSET_OF", "INTERSECTS_WITH"];
const ORIGINS: [&str; 2] = ["seed", "curated"];

fn fk(name: &str, from: impl IntoIden, to_table: impl IntoIden, to_col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from_col(from).to(to_table, to_col).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Source::Table)
                    .col(text(Source::Code).primary_key())
                    .col(text(SourceCol::Title))
                    .col(text_null(SourceCol::Publisher))
                    .col(date_null(SourceCol::PublishedOn))
                    .col(text_null(SourceCol::Url))
                    .col(text_null(SourceCol::Note))
                    .to_owned(),
            )
            .await?;

        let mut ministry = Table::create()
            .table(Ministry::Table)
            .col(text(Ministry::Code).primary_key())
            .col(text(Ministry::NameJa))
            .col(text(Ministry::NameEn))
            .col(integer(Ministry::Position))
            .to_owned();
        with_provenance(&mut ministry, "ministry");
        manager.create_table(ministry).await?;

        let mut sector = Table::create()
            .table(Sector::Table)
            .col(text(Sector::Code).primary_key())
            .col(text(Sector::NameJa))
            .col(text(Sector::NameEn))
            .col(integer(Sector::Position))
            .to_owned();
        with_validity(&mut sector);
        with_provenance(&mut sector, "sector");
        manager.create_table(sector).await?;

        let mut domain = Table::create()
            .table(BusinessDomain::Table)
            .col(text(BusinessDomain::Code).primary_key())
            .col(text(BusinessDomain::NameJa))
            .col(text(BusinessDomain::NameEn))
            .col(integer(BusinessDomain::Position))
            .to_owned();
        with_validity(&mut domain);
        with_provenance(&mut domain, "business_domain");
        manager.create_table(domain).await?;

        // (parent, code) is unique so that a designation's composite foreign key can
        // require its scope item to belong to its own sector or domain.
        let mut sector_item = Table::create()
            .table(SectorScopeItem::Table)
            .col(text(SectorScopeItem::Code).primary_key())
            .col(text(SectorScopeItem::SectorCode))
            .col(text(SectorScopeItem::NameJa))
            .col(text(SectorScopeItem::NameEn))
            .col(integer(SectorScopeItem::Position))
            .foreign_key(&mut fk(
                "fk_sector_scope_item_sector",
                SectorScopeItem::SectorCode,
                Sector::Table,
                Sector::Code,
            ))
            .to_owned();
        with_validity(&mut sector_item);
        with_provenance(&mut sector_item, "sector_scope_item");
        manager.create_table(sector_item).await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_sector_scope_item_parent")
                    .table(SectorScopeItem::Table)
                    .col(SectorScopeItem::SectorCode)
                    .col(SectorScopeItem::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;

        let mut domain_item = Table::create()
            .table(DomainScopeItem::Table)
            .col(text(DomainScopeItem::Code).primary_key())
            .col(text(DomainScopeItem::DomainCode))
            .col(text(DomainScopeItem::NameJa))
            .col(text(DomainScopeItem::NameEn))
            .col(integer(DomainScopeItem::Position))
            .foreign_key(&mut fk(
                "fk_domain_scope_item_domain",
                DomainScopeItem::DomainCode,
                BusinessDomain::Table,
                BusinessDomain::Code,
            ))
            .to_owned();
        with_validity(&mut domain_item);
        with_provenance(&mut domain_item, "domain_scope_item");
        manager.create_table(domain_item).await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_domain_scope_item_parent")
                    .table(DomainScopeItem::Table)
                    .col(DomainScopeItem::DomainCode)
                    .col(DomainScopeItem::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;

        let mut jurisdiction = Table::create()
            .table(Jurisdiction::Table)
            .col(pk_auto(Jurisdiction::Id))
            .col(text(Jurisdiction::MinistryCode))
            .col(text_null(Jurisdiction::SectorCode))
            .col(text_null(Jurisdiction::DomainCode))
            .check(crate::provenance::exactly_one_of(Jurisdiction::SectorCode, Jurisdiction::DomainCode))
            .foreign_key(&mut fk(
                "fk_jurisdiction_ministry",
                Jurisdiction::MinistryCode,
                Ministry::Table,
                Ministry::Code,
            ))
            .foreign_key(&mut fk("fk_jurisdiction_sector", Jurisdiction::SectorCode, Sector::Table, Sector::Code))
            .foreign_key(&mut fk(
                "fk_jurisdiction_domain",
                Jurisdiction::DomainCode,
                BusinessDomain::Table,
                BusinessDomain::Code,
            ))
            .to_owned();
        with_validity(&mut jurisdiction);
        with_provenance(&mut jurisdiction, "jurisdiction");
        manager.create_table(jurisdiction).await?;

        let mut link = Table::create()
            .table(CrosswalkLink::Table)
            .col(pk_auto(CrosswalkLink::Id))
            .col(text(CrosswalkLink::SectorCode))
            .col(text(CrosswalkLink::DomainCode))
            .col(text(CrosswalkLink::Relation))
            .col(text(CrosswalkLink::Rationale))
            .col(text(CrosswalkLink::Origin).default("seed"))
            .check(Expr::col(CrosswalkLink::Relation).is_in(RELATIONS))
            .check(Expr::col(CrosswalkLink::Origin).is_in(ORIGINS))
            .foreign_key(&mut fk("fk_crosswalk_link_sector", CrosswalkLink::SectorCode, Sector::Table, Sector::Code))
            .foreign_key(&mut fk(
                "fk_crosswalk_link_domain",
                CrosswalkLink::DomainCode,
                BusinessDomain::Table,
                BusinessDomain::Code,
            ))
            .to_owned();
        with_validity(&mut link);
        with_provenance(&mut link, "crosswalk_link");
        manager.create_table(link).await?;

        let mut item_link = Table::create()
            .table(ScopeItemLink::Table)
            .col(pk_auto(ScopeItemLink::Id))
            .col(text(ScopeItemLink::SectorItemCode))
            .col(text(ScopeItemLink::DomainItemCode))
            .col(text(ScopeItemLink::Relation))
            .col(text(ScopeItemLink::Rationale))
            .col(text(ScopeItemLink::Origin).default("seed"))
            .check(Expr::col(ScopeItemLink::Relation).is_in(RELATIONS))
            .check(Expr::col(ScopeItemLink::Origin).is_in(ORIGINS))
            .foreign_key(&mut fk(
                "fk_scope_item_link_sector_item",
                ScopeItemLink::SectorItemCode,
                SectorScopeItem::Table,
                SectorScopeItem::Code,
            ))
            .foreign_key(&mut fk(
                "fk_scope_item_link_domain_item",
                ScopeItemLink::DomainItemCode,
                DomainScopeItem::Table,
                DomainScopeItem::Code,
            ))
            .to_owned();
        with_validity(&mut item_link);
        with_provenance(&mut item_link, "scope_item_link");
        manager.create_table(item_link).await?;

        let mut rule = Table::create()
            .table(ObligationRule::Table)
            .col(text(ObligationRule::Code).primary_key())
            .col(text(ObligationRule::NameJa))
            .col(text(ObligationRule::NameEn))
            .col(text(ObligationRule::LegalBasis))
            .col(text(ObligationRule::TriggeredBy))
            .col(date_null(ObligationRule::InForceFrom))
            .col(text_null(ObligationRule::Description))
            .col(integer(ObligationRule::Position))
            .check(Expr::col(ObligationRule::TriggeredBy).is_in(["CI", "ESPA"]))
            .to_owned();
        with_provenance(&mut rule, "obligation_rule");
        manager.create_table(rule).await?;
        Ok(())
    }
}
