//! Curating the crosswalk (administrators only): setting or removing the link of a
//! sector–domain or scope item–scope item pair from a day on. The link that held before
//! stays in the record, so `asOf` keeps answering what the crosswalk said then. Each
//! curation is audited, and the running server serves the new snapshot at once.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::audit::{self, Change, guard};
use super::{ServiceError, Services, authorize, with_retry};
use crate::domain::audit::{AuditAction, AuditEvent, AuditState, Subject};
use crate::domain::authorization::Operation;
use crate::domain::crosswalk::{self, LinkKind, StoredLink};
use crate::domain::reference::{LinkOrigin, LinkRecord, Provenance, ReferenceSnapshot};
use crate::domain::{Principal, Regime, Relation, Validity, text, today};
use crate::storage;

/// Which pair a curation is about: CI side and ESPA side codes.
#[derive(Debug, Clone)]
pub struct Pair {
    pub kind: LinkKind,
    pub ci: String,
    pub espa: String,
}

impl Pair {
    fn subject(&self) -> Subject {
        Subject::link(self.kind.subject_type(), &self.ci, &self.espa)
    }

    fn describe(&self) -> String {
        format!("{} → {}", self.ci, self.espa)
    }
}

/// What setting a pair's link takes.
#[derive(Debug, Clone)]
pub struct LinkInput {
    pub pair: Pair,
    pub relation: Relation,
    pub rationale: String,
    /// Code of the cited source.
    pub source: String,
    /// Page, table or article within the source.
    pub locator: Option<String>,
    /// First day it holds (default: today in Japan; never in the past).
    pub effective_from: Option<NaiveDate>,
    pub reason: String,
}

/// What removing a pair's link takes.
#[derive(Debug, Clone)]
pub struct RemovalInput {
    pub pair: Pair,
    /// First day no link holds (default: today in Japan; never in the past).
    pub effective_from: Option<NaiveDate>,
    pub reason: String,
}

/// The day a curation takes effect: today or later, so that what the crosswalk said on
/// earlier days is never rewritten.
fn effective_day(requested: Option<NaiveDate>) -> Result<NaiveDate, ServiceError> {
    let today = today();
    match requested {
        Some(day) if day < today => Err(ServiceError::Invalid(format!(
            "effectiveFrom ({day}) is in the past: a curation takes effect today ({today}) or later, so that what \
             the crosswalk said on earlier days stays as it was"
        ))),
        Some(day) => Ok(day),
        None => Ok(today),
    }
}

/// Checks that both ends exist (scope items: and that their fields are linked on `day`),
/// and returns the ministries with jurisdiction over the two fields then.
fn check_pair(snapshot: &ReferenceSnapshot, pair: &Pair, day: NaiveDate) -> Result<BTreeSet<String>, ServiceError> {
    let parent = |regime: Regime, code: &str| -> Result<String, ServiceError> {
        match pair.kind {
            LinkKind::Fields => snapshot
                .field(regime, code)
                .map(|f| f.code.clone())
                .ok_or_else(|| ServiceError::Invalid(format!("unknown {} \"{code}\"", regime.field_noun()))),
            LinkKind::ScopeItems => snapshot
                .item_index(regime, code)
                .map(|i| snapshot.items(regime)[i].parent.clone())
                .ok_or_else(|| ServiceError::Invalid(format!("unknown {regime} scope item \"{code}\""))),
        }
    };
    let sector = parent(Regime::Ci, &pair.ci)?;
    let domain = parent(Regime::Espa, &pair.espa)?;
    if pair.kind == LinkKind::ScopeItems
        && !snapshot.links_at(day).into_iter().any(|i| {
            let link = &snapshot.data().links[i];
            link.ci == sector && link.espa == domain
        })
    {
        return Err(ServiceError::Invalid(format!(
            "sector \"{sector}\" and business domain \"{domain}\" are not linked on {day}: link them first"
        )));
    }
    let ministries = snapshot
        .ministries_of(Regime::Ci, &sector, day)
        .into_iter()
        .chain(snapshot.ministries_of(Regime::Espa, &domain, day))
        .map(|i| snapshot.data().ministries[i].code.clone())
        .collect();
    Ok(ministries)
}

/// What every curation checks first: an administrator, a day not in the past, a known
/// pair and a reason. Returns the snapshot it was checked against, the day, and the
/// change to record (without its states yet).
fn prepare(
    services: &Services,
    principal: &Principal,
    action: AuditAction,
    pair: &Pair,
    effective_from: Option<NaiveDate>,
    reason: &str,
) -> Result<(Arc<ReferenceSnapshot>, NaiveDate, Change), ServiceError> {
    authorize(principal, Operation::CurateCrosswalk)?;
    let snapshot = services.snapshot();
    let day = effective_day(effective_from)?;
    let ministries = check_pair(&snapshot, pair, day)?;
    let reason = text::required("reason", reason)?;
    let change = Change::to_reference_data(action, pair.subject())
        .reason(Some(&reason))
        .in_jurisdiction_of(ministries.iter().map(String::as_str));
    Ok((snapshot, day, change))
}

/// Sets the pair's link from `effective_from` on (an identical link changes nothing) and
/// returns it.
pub async fn upsert(services: &Services, principal: &Principal, input: LinkInput) -> Result<LinkRecord, ServiceError> {
    let action = input.pair.kind.actions().0;
    let attempt = || {
        let subject = input.pair.subject();
        Change::attempt(
            action,
            subject.kind,
            Some(subject.id),
            json!({
                "relation": input.relation.as_str(),
                "rationale": input.rationale,
                "source": input.source,
                "effectiveFrom": input.effective_from,
            }),
        )
        .reason(Some(&input.reason))
    };
    guard(services, principal, attempt, async {
        let (snapshot, day, change) =
            prepare(services, principal, action, &input.pair, input.effective_from, &input.reason)?;
        let rationale = text::required("rationale", &input.rationale)?;
        let source = text::required("source", &input.source)?;
        if snapshot.source(&source).is_none() {
            return Err(ServiceError::Invalid(format!("unknown source \"{source}\" (see the `sources` query)")));
        }
        let proposed = LinkRecord {
            ci: input.pair.ci.clone(),
            espa: input.pair.espa.clone(),
            relation: input.relation,
            rationale,
            validity: Validity::default(),
            provenance: Provenance {
                source,
                locator: text::optional("locator", input.locator.as_deref())?,
                confirmed: true,
                note: None,
            },
            origin: LinkOrigin::Curated,
        };
        let Pair { kind, ci, espa } = &input.pair;
        let after = with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let before = storage::crosswalk::pair(&txn, *kind, ci, espa).await?;
            let edits = crosswalk::plan_upsert(&before, day, &proposed);
            if edits.is_empty() {
                return Ok(before);
            }
            storage::crosswalk::apply(&txn, *kind, &edits).await?;
            let after = storage::crosswalk::pair(&txn, *kind, ci, espa).await?;
            let change = change.clone().before(states(&before)).after(states(&after));
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(after)
        })
        .await?;
        crosswalk::in_force(&after, day)
            .map(|stored| stored.link.clone())
            .ok_or_else(|| ServiceError::internal(storage::corrupt("curated crosswalk link")))
    })
    .await
}

/// Ends the pair's link from `effective_from` on; returns the recorded event (its
/// `before` holds the link as it was).
pub async fn remove(
    services: &Services,
    principal: &Principal,
    input: RemovalInput,
) -> Result<AuditEvent, ServiceError> {
    let action = input.pair.kind.actions().1;
    let attempt = || {
        let subject = input.pair.subject();
        Change::attempt(action, subject.kind, Some(subject.id), json!({ "effectiveFrom": input.effective_from }))
            .reason(Some(&input.reason))
    };
    guard(services, principal, attempt, async {
        let (snapshot, day, change) =
            prepare(services, principal, action, &input.pair, input.effective_from, &input.reason)?;
        if input.pair.kind == LinkKind::Fields {
            check_no_item_links_after(&snapshot, &input.pair, day)?;
        }
        let Pair { kind, ci, espa } = &input.pair;
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let before = storage::crosswalk::pair(&txn, *kind, ci, espa).await?;
            let edit = crosswalk::plan_removal(&before, day)
                .ok_or_else(|| ServiceError::NotFound(format!("no link {} holds on {day}", input.pair.describe())))?;
            storage::crosswalk::apply(&txn, *kind, std::slice::from_ref(&edit)).await?;
            let after = storage::crosswalk::pair(&txn, *kind, ci, espa).await?;
            let change = change.clone().before(states(&before)).after(states(&after));
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await
        })
        .await
    })
    .await
}

/// Scope-item links between the two fields' items that still hold on or after `day`
/// must go first: they would otherwise outlive the link of their fields.
fn check_no_item_links_after(snapshot: &ReferenceSnapshot, pair: &Pair, day: NaiveDate) -> Result<(), ServiceError> {
    let parent_of = |regime: Regime, code: &str| {
        snapshot.item_index(regime, code).map(|i| snapshot.items(regime)[i].parent.as_str())
    };
    let blocking: Vec<String> = snapshot
        .data()
        .item_links
        .iter()
        .filter(|l| l.validity.to.is_none_or(|to| to > day))
        .filter(|l| {
            parent_of(Regime::Ci, &l.ci) == Some(&pair.ci) && parent_of(Regime::Espa, &l.espa) == Some(&pair.espa)
        })
        .map(|l| format!("{} → {}", l.ci, l.espa))
        .collect();
    if blocking.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Conflict(format!(
            "scope-item links between {} still hold on or after {day}; remove them first: {}",
            pair.describe(),
            blocking.join(", ")
        )))
    }
}

/// A pair's links as the audit trail shows them.
/// The pair's links with their row ids (so that undoing the change for `knownAt`
/// restores them in their place).
fn states(stored: &[StoredLink]) -> Value {
    Value::Array(
        stored
            .iter()
            .map(|s| {
                let mut state = s.link.audit_state();
                state["id"] = s.id.into();
                state
            })
            .collect(),
    )
}
