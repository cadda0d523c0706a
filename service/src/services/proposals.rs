//! Scope revision proposals: policy staff and administrators draft changes to the
//! protection scope from a date on (nothing live changes), anyone with a token reads
//! them with their impact and compares two, and an administrator promotes one into the
//! live, effective-dated reference data in one transaction. Every action is audited,
//! refusals as `FORBIDDEN` too.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::audit::{self, Change, guard};
use super::export::Table;
use super::reference::states;
use super::{ServiceError, Services, authorize, changed_concurrently, check_version, with_retry};
use crate::domain::audit::{AuditAction, AuditActor, AuditState, Subject, SubjectType};
use crate::domain::authorization::Operation;
use crate::domain::designation::Designation;
use crate::domain::operator::Operator;
use crate::domain::proposal::{
    self, ImpactComparison, OperatorDesignations, PromotedRecords, ProposalStatus, RecordKey, ReferenceDiff,
    ScopeChange, ScopeImpact, ScopeProposal,
};
use crate::domain::reference::{Provenance, ReferenceData, ReferenceSnapshot, SourceRecord};
use crate::domain::{CorporateNumber, Principal, Regime, today};
use crate::storage::{self, designations as stored_designations, proposals as stored, reference as stored_reference};

/// What creating a proposal takes.
#[derive(Debug, Clone)]
pub struct NewProposal {
    pub title: String,
    pub description: Option<String>,
    /// The day its changes would take effect (today or later).
    pub effective_from: NaiveDate,
}

/// A proposal's impact with the two snapshots it was computed over (its codes are
/// looked up in `after`, which holds every live record too).
pub struct ProposalImpact {
    pub before: Arc<ReferenceSnapshot>,
    pub after: Arc<ReferenceSnapshot>,
    pub impact: ScopeImpact,
}

/// Every proposal (with this status), oldest first.
pub async fn list(
    services: &Services,
    principal: &Principal,
    status: Option<ProposalStatus>,
) -> Result<Vec<ScopeProposal>, ServiceError> {
    authorize(principal, Operation::ReadProposals)?;
    Ok(stored::list(&services.db.conn, status).await?)
}

/// The proposal with this id (None when there is none).
pub async fn find(services: &Services, principal: &Principal, id: Uuid) -> Result<Option<ScopeProposal>, ServiceError> {
    authorize(principal, Operation::ReadProposals)?;
    Ok(stored::find(&services.db.conn, id).await?)
}

fn not_found(id: Uuid) -> ServiceError {
    ServiceError::NotFound(format!("no scope proposal {id}"))
}

fn actor_id(principal: &Principal) -> Result<String, ServiceError> {
    AuditActor::of(principal)
        .map(|actor| actor.id)
        .ok_or_else(|| ServiceError::Unauthenticated("drafting a proposal needs a bearer token".into()))
}

/// A proposal's date: never in the past, so that promoting it never rewrites what held.
fn check_date(effective_from: NaiveDate, what: &str) -> Result<(), ServiceError> {
    let today = today();
    if effective_from < today {
        return Err(ServiceError::Invalid(format!(
            "effectiveFrom ({effective_from}) is in the past: {what} takes effect today ({today}) or later, so that \
             what the scope was on earlier days stays as it was"
        )));
    }
    Ok(())
}

/// Creates a DRAFT proposal (version 1, no changes).
pub async fn create(
    services: &Services,
    principal: &Principal,
    input: NewProposal,
) -> Result<ScopeProposal, ServiceError> {
    let action = AuditAction::CreateScopeProposal;
    let attempt = || {
        let asked = json!({
            "title": input.title,
            "description": input.description,
            "effectiveFrom": input.effective_from,
        });
        Change::attempt(action, SubjectType::ScopeProposal, None, asked)
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::DraftProposal)?;
        check_date(input.effective_from, "a proposal")?;
        let draft = ScopeProposal::draft(
            &input.title,
            input.description.as_deref(),
            input.effective_from,
            actor_id(principal)?,
            Utc::now(),
        )?;
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            stored::insert(&txn, &draft).await?;
            let change = Change::to_proposal(action, draft.id).after(draft.audit_state());
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(draft.clone())
        })
        .await
    })
    .await
}

/// One edit of a draft: checked against its current version, `next` decides the new
/// state (and checks it against `live`), written if nobody changed it meanwhile.
async fn edit(
    services: &Services,
    principal: &Principal,
    action: AuditAction,
    id: Uuid,
    expected_version: i32,
    asked: Value,
    next: impl Fn(&ScopeProposal, &ReferenceData) -> Result<ScopeProposal, ServiceError>,
) -> Result<ScopeProposal, ServiceError> {
    let attempt = || {
        let asked = json!({ "expectedVersion": expected_version, "asked": asked });
        Change::attempt(action, SubjectType::ScopeProposal, Some(id.to_string()), asked)
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::DraftProposal)?;
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let current = stored::find(&txn, id).await?.ok_or_else(|| not_found(id))?;
            check_version("the scope proposal", current.version, expected_version)?;
            let next = next(&current, services.snapshot().data())?;
            if !stored::update(&txn, &next, current.version, None).await? {
                return Err(changed_concurrently("the scope proposal"));
            }
            let change = Change::to_proposal(action, id).before(current.audit_state()).after(next.audit_state());
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(next)
        })
        .await
    })
    .await
}

/// A change as asked for: exactly, or with the regime of its scope item left for the
/// code to say (see [`ScopeChange::with_regime_from`]).
#[derive(Debug, Clone)]
pub enum AskedChange {
    Exact(ScopeChange),
    RegimeFromCode(ScopeChange),
}

/// Appends a change; refused (nothing stored) when it cannot apply to the scope at the
/// proposal's date after the changes before it.
pub async fn add_change(
    services: &Services,
    principal: &Principal,
    id: Uuid,
    expected_version: i32,
    change: AskedChange,
) -> Result<ScopeProposal, ServiceError> {
    let (AskedChange::Exact(asked) | AskedChange::RegimeFromCode(asked)) = &change;
    let asked = serde_json::to_value(asked).unwrap_or(Value::Null);
    edit(services, principal, AuditAction::AddScopeProposalChange, id, expected_version, asked, |current, live| {
        let change = match change.clone() {
            AskedChange::Exact(change) => change,
            AskedChange::RegimeFromCode(change) => {
                let drafted = proposal::apply(live, current.effective_from, &provenance_of(current), &current.changes)
                    .map_err(|rejected| ServiceError::Invalid(rejected.to_string()))?;
                change.with_regime_from(&drafted).map_err(ServiceError::Invalid)?
            }
        };
        let next = current.with_change(change, Utc::now())?;
        proposal::validate(live, next.effective_from, &next.changes)
            .map_err(|rejected| ServiceError::Invalid(rejected.to_string()))?;
        Ok(next)
    })
    .await
}

/// Removes the change at `index`; refused when a later change depends on it.
pub async fn remove_change(
    services: &Services,
    principal: &Principal,
    id: Uuid,
    expected_version: i32,
    index: usize,
) -> Result<ScopeProposal, ServiceError> {
    let asked = json!({ "index": index });
    edit(services, principal, AuditAction::RemoveScopeProposalChange, id, expected_version, asked, |current, live| {
        let next = current.without_change(index, Utc::now())?;
        proposal::validate(live, next.effective_from, &next.changes).map_err(|rejected| {
            ServiceError::Invalid(format!(
                "removing change {index} ({}) would leave changes that no longer apply: {rejected}; remove those \
                 first",
                current.changes[index].describe()
            ))
        })?;
        Ok(next)
    })
    .await
}

/// Withdraws a draft (final).
pub async fn withdraw(
    services: &Services,
    principal: &Principal,
    id: Uuid,
    expected_version: i32,
) -> Result<ScopeProposal, ServiceError> {
    let action = AuditAction::WithdrawScopeProposal;
    edit(services, principal, action, id, expected_version, json!({}), |current, _| Ok(current.withdrawn(Utc::now())?))
        .await
}

/// The source the records of a promoted proposal cite: the proposal itself.
fn source_of(proposal: &ScopeProposal) -> SourceRecord {
    SourceRecord {
        code: proposal.source_code(),
        title: proposal.title.clone(),
        publisher: Some("Scope Registry (promoted scope revision proposal)".into()),
        published_on: Some(today()),
        url: None,
        note: proposal.description.clone(),
    }
}

fn provenance_of(proposal: &ScopeProposal) -> Provenance {
    Provenance {
        source: proposal.source_code(),
        locator: Some(format!("scope revision proposal {}", proposal.id)),
        confirmed: false,
        note: Some("promoted from a scope revision proposal; not yet confirmed by a published instrument".into()),
    }
}

/// The sectors, domains and scope items (by regime) a promotion retires.
fn retired(diff: &ReferenceDiff) -> [(Regime, Vec<String>, Vec<String>); 2] {
    let mut retired = [(Regime::Ci, Vec::new(), Vec::new()), (Regime::Espa, Vec::new(), Vec::new())];
    for end in &diff.ends {
        match &end.key {
            RecordKey::Sector(code) => retired[0].1.push(code.clone()),
            RecordKey::SectorItem(code) => retired[0].2.push(code.clone()),
            RecordKey::Domain(code) => retired[1].1.push(code.clone()),
            RecordKey::DomainItem(code) => retired[1].2.push(code.clone()),
            _ => {}
        }
    }
    retired
}

/// Promotes a draft (administrators): in one transaction, the reference records its
/// changes make from its date (inserted, or stored ones ended; nothing deleted), the
/// designations on what it retires ended then with the proposal as reason, the
/// proposal marked PROMOTED, and one audited change whose effects make every
/// instance's caches and `referenceDataChanged` subscribers follow. `CONFLICT` naming
/// the change when the live data changed so that one no longer applies.
pub async fn promote(
    services: &Services,
    principal: &Principal,
    id: Uuid,
    expected_version: i32,
) -> Result<ScopeProposal, ServiceError> {
    let action = AuditAction::PromoteScopeProposal;
    let attempt = || {
        let asked = json!({ "expectedVersion": expected_version });
        Change::attempt(action, SubjectType::ScopeProposal, Some(id.to_string()), asked)
    };
    guard(services, principal, attempt, async {
        authorize(principal, Operation::PromoteProposal)?;
        let actor = actor_id(principal)?;
        with_retry(|| async {
            let txn = services.db.begin_write().await?;
            let current = stored::find(&txn, id).await?.ok_or_else(|| not_found(id))?;
            check_version("the scope proposal", current.version, expected_version)?;
            let now = Utc::now();
            let promoted = current.promoted(actor.clone(), now)?;
            let day = current.effective_from;
            check_date(day, "a promotion").map_err(|e| ServiceError::Conflict(e.to_string()))?;

            // The live data as stored now, with the proposal's source.
            let mut live = stored_reference::load(&txn).await?;
            live.sources.push(source_of(&current));
            let proposed =
                proposal::apply(&live, day, &provenance_of(&current), &current.changes).map_err(|rejected| {
                    ServiceError::Conflict(format!(
                        "the live reference data changed since the proposal was drafted, and {rejected}; nothing \
                         was written"
                    ))
                })?;
            let source = current.source_code();
            let diff = proposal::promotion_plan(&live, &proposed).map_err(ServiceError::internal)?;
            let records = PromotedRecords::of(source, &diff);
            let rows = stored_reference::write_records(&txn, &proposed, &records.positions(&proposed)).await?;

            let reason = format!("scope revision proposal {id} ({}) retires what it is on from {day}", current.title);
            let mut ended: Vec<(Designation, Designation)> = Vec::new();
            for (regime, fields, items) in retired(&diff) {
                for designation in stored_designations::reaching_past(&txn, regime, &fields, &items, day).await? {
                    if let Some(end) = designation.ended_by_closure(day, &reason, now) {
                        ended.push((designation, end));
                    }
                }
            }
            let operator_ids: Vec<Uuid> = ended.iter().map(|(d, _)| d.operator_id).collect();
            let operators: HashMap<Uuid, Operator> =
                storage::operators::find_by_ids(&txn, &operator_ids).await?.into_iter().map(|o| (o.id, o)).collect();
            if !stored::update(&txn, &promoted, current.version, Some(&records)).await? {
                return Err(changed_concurrently("the scope proposal"));
            }
            let subject = Subject::new(SubjectType::ScopeProposal, id.to_string());
            let mut change = Change::to_reference_data(action, subject)
                .reason(Some(&format!("scope revision proposal {id}: {}", current.title)))
                .before(json!({
                    "proposal": current.audit_state(),
                    "rows": states(&rows, |c| c.before.as_ref()),
                    "designations": ended.iter().map(|(before, _)| before.audit_state()).collect::<Vec<_>>(),
                }))
                .after(json!({
                    "proposal": promoted.audit_state(),
                    "rows": states(&rows, |c| c.after.as_ref()),
                    "designations": ended.iter().map(|(_, after)| after.audit_state()).collect::<Vec<_>>(),
                }));
            for (before, after) in &ended {
                let operator = operators
                    .get(&before.operator_id)
                    .ok_or_else(|| ServiceError::internal(storage::corrupt("designation operator")))?;
                if !stored_designations::end(&txn, after, before.version).await? {
                    return Err(changed_concurrently("a designation the promotion ends"));
                }
                change = change.and_designation(after, &operator.corporate_number);
            }
            let recorded = audit::record(&txn, principal, change).await?;
            services.commit(txn, recorded).await?;
            Ok(promoted.clone())
        })
        .await
    })
    .await
}

/// The live reference data and the data a proposal would make, as snapshots, at the
/// proposal's date.
pub struct ProposalSnapshots {
    pub before: Arc<ReferenceSnapshot>,
    pub after: Arc<ReferenceSnapshot>,
    /// The proposal's `effective_from`.
    pub date: NaiveDate,
}

/// The live reference data and the data the proposal would make (what its impact and
/// its proposed scope are computed from), for a reader of proposals: `CONFLICT` naming
/// the change when one no longer applies to the live data. Once promoted, its changes
/// are the live data, so it is compared with itself.
pub fn snapshots(
    services: &Services,
    principal: &Principal,
    proposal: &ScopeProposal,
) -> Result<ProposalSnapshots, ServiceError> {
    authorize(principal, Operation::ReadProposals)?;
    let before = services.snapshot();
    let date = proposal.effective_from;
    if proposal.status == ProposalStatus::Promoted {
        return Ok(ProposalSnapshots { after: before.clone(), before, date });
    }
    let data =
        proposal::apply(before.data(), date, &provenance_of(proposal), &proposal.changes).map_err(|rejected| {
            ServiceError::Conflict(format!(
                "the live reference data changed since the proposal was drafted, and {rejected}: change the draft"
            ))
        })?;
    Ok(ProposalSnapshots { before, after: Arc::new(ReferenceSnapshot::new(data)), date })
}

/// What the proposal would change at its date, computed over every operator from the
/// in-memory index (from the database while the index is still loading).
pub async fn impact(
    services: &Services,
    principal: &Principal,
    proposal: &ScopeProposal,
) -> Result<ProposalImpact, ServiceError> {
    let ProposalSnapshots { before, after, date } = snapshots(services, principal, proposal)?;
    let impact = match services.read.index().impact(&before, &after, date).await? {
        Some(impact) => impact,
        None => {
            let conn = &services.db.conn;
            let grouped = stored_designations::all_by_operator(conn).await?;
            let ids: Vec<Uuid> = grouped.keys().copied().collect();
            let numbers: HashMap<Uuid, CorporateNumber> = storage::operators::find_by_ids(conn, &ids)
                .await?
                .into_iter()
                .map(|o| (o.id, o.corporate_number))
                .collect();
            let operators = grouped.iter().filter_map(|(id, designations)| {
                Some(OperatorDesignations { operator: *numbers.get(id)?, designations: &designations[..] })
            });
            proposal::impact(&before, &after, date, operators)
        }
    };
    Ok(ProposalImpact { before, after, impact })
}

/// The impacts of two proposals and where they differ.
pub async fn compare(
    services: &Services,
    principal: &Principal,
    a: &ScopeProposal,
    b: &ScopeProposal,
) -> Result<(ProposalImpact, ProposalImpact, ImpactComparison), ServiceError> {
    let impact_a = impact(services, principal, a).await?;
    let impact_b = impact(services, principal, b).await?;
    let comparison = proposal::compare(&impact_a.impact, &impact_b.impact);
    Ok((impact_a, impact_b, comparison))
}

/// The operators with these numbers (an impact's candidates), in the order given.
pub async fn operators(
    services: &Services,
    principal: &Principal,
    numbers: &[CorporateNumber],
) -> Result<Vec<Operator>, ServiceError> {
    authorize(principal, Operation::ReadProposals)?;
    let found = services.read.index().get_many(numbers).await?;
    Ok(numbers.iter().filter_map(|n| found.get(n).map(|entry| entry.operator.clone())).collect())
}

/// The designations with these ids (an impact's ending designations), in the order given.
pub async fn designations(
    services: &Services,
    principal: &Principal,
    ids: &[Uuid],
) -> Result<Vec<Designation>, ServiceError> {
    authorize(principal, Operation::ReadProposals)?;
    let mut found: HashMap<Uuid, Designation> =
        stored_designations::find_many(&services.db.conn, ids).await?.into_iter().map(|d| (d.id, d)).collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// The columns of a proposal's impact as a table.
const IMPACT_COLUMNS: [&str; 4] = ["section", "subject", "before", "after"];

/// A proposal's impact as a table for the exports: one line per figure, with its value
/// under the live scope (`before`) and under the proposal (`after`); a membership is
/// "yes"/"no", a figure only one side has is empty on the other.
pub async fn impact_table(services: &Services, principal: &Principal, id: Uuid) -> Result<Table, ServiceError> {
    let proposal = find(services, principal, id).await?.ok_or_else(|| not_found(id))?;
    let ProposalImpact { impact, .. } = impact(services, principal, &proposal).await?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |section: &str, subject: String, before: String, after: String| {
        rows.push(vec![section.to_owned(), subject, before, after]);
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    row("proposal", proposal.title.clone(), String::new(), proposal.effective_from.to_string());
    for (kind, before, after) in [
        ("sector without domain", &impact.gaps_before.sectors, &impact.gaps_after.sectors),
        ("domain without sector", &impact.gaps_before.domains, &impact.gaps_after.domains),
        ("sector scope item without link", &impact.gaps_before.sector_items, &impact.gaps_after.sector_items),
        ("domain scope item without link", &impact.gaps_before.domain_items, &impact.gaps_after.domain_items),
    ] {
        let mut codes: Vec<&String> = before.iter().chain(after).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            row(kind, code.clone(), yes_no(before.contains(code)), yes_no(after.contains(code)));
        }
    }
    let (tb, ta) = (impact.overlap_before.totals, impact.overlap_after.totals);
    for (measure, before, after) in
        [("both", tb.both, ta.both), ("espaOnly", tb.espa_only, ta.espa_only), ("ciOnly", tb.ci_only, ta.ci_only)]
    {
        row("overlap total", measure.to_owned(), before.to_string(), after.to_string());
    }
    let cell_count = |cells: &[proposal::CellCount], sector: &str, domain: &str| {
        let found = cells.iter().find(|c| c.sector == sector && c.domain == domain);
        found.map_or_else(String::new, |c| c.operator_count.to_string())
    };
    let mut pairs: Vec<(&str, &str)> = impact
        .overlap_before
        .cells
        .iter()
        .chain(&impact.overlap_after.cells)
        .map(|c| (c.sector.as_str(), c.domain.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    for (sector, domain) in pairs {
        row(
            "overlap cell",
            format!("{sector}:{domain}"),
            cell_count(&impact.overlap_before.cells, sector, domain),
            cell_count(&impact.overlap_after.cells, sector, domain),
        );
    }
    row("ending designations", "all".to_owned(), String::new(), impact.ending.count.to_string());
    for record in &impact.ending.by_record {
        row("ending designations", record.record.to_string(), String::new(), record.designation_count.to_string());
    }
    for group in &impact.candidates {
        let subject = format!("{}:{}:{}", group.sector, group.domain, group.side);
        row("candidates", subject, String::new(), group.count.to_string());
    }
    for change in &impact.obligation_changes {
        let after = change.subject_before - change.would_stop;
        row("obligation subjects", change.rule.clone(), change.subject_before.to_string(), after.to_string());
        let candidates = change.candidates_would_start.to_string();
        row("obligation candidates", change.rule.clone(), String::new(), candidates);
    }
    for ministry in &impact.by_ministry {
        for field in &ministry.gains {
            row(
                "ministry gains",
                format!("{}:{}:{}", ministry.ministry, field.regime, field.code),
                "no".into(),
                "yes".into(),
            );
        }
        for field in &ministry.loses {
            row(
                "ministry loses",
                format!("{}:{}:{}", ministry.ministry, field.regime, field.code),
                "yes".into(),
                "no".into(),
            );
        }
        let counts = format!("{} gained, {} lost", ministry.operators_gained, ministry.operators_lost);
        row("ministry operators", ministry.ministry.clone(), String::new(), counts);
    }
    Ok(Table { columns: IMPACT_COLUMNS.to_vec(), rows })
}
