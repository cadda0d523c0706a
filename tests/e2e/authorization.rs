//! The authorization matrix (README "Who may do what"), walked end to end: every
//! mutation, subscription, export and writing command, by every role, inside and outside
//! a ministry's jurisdiction and across a transfer of jurisdiction. The expected cells
//! here are checked against the matrix the service enforces
//! (`domain::authorization::MATRIX`, which the README's table is rendered from), and a
//! mutation or subscription the schema has and this file does not walk fails the test.

use std::sync::atomic::{AtomicU64, Ordering};

use scope_registry::domain::Role;
use scope_registry::domain::authorization::{Allowed, MATRIX};
use serde_json::{Value, json};

use crate::e2e;
use crate::fixtures::{DESIGNATE, ci, cn, designate, espa, register_all};
use crate::support::{TestApp, error_code};
use crate::ws::{GraphqlSocket, REFERENCE_DATA_CHANGED, Received, WAIT};

/// Who asks. The ministry "inside" is METI, acting on electricity; "outside" is MLIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Reader,
    Policy,
    MinistryInside,
    MinistryOutside,
    Admin,
}

const EVERYONE: [Who; 6] =
    [Who::Anonymous, Who::Reader, Who::Policy, Who::MinistryInside, Who::MinistryOutside, Who::Admin];

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// It ran (no authentication or authorization error).
    Ran,
    Unauthenticated,
    Forbidden,
    /// An import ran, and refused its rows outside the ministry's jurisdiction.
    RowsRefused,
}

use Outcome::{Forbidden as F, Ran as R, RowsRefused as X, Unauthenticated as U};

/// The expected cells: anonymous, reader, policy, ministry inside, ministry outside, admin.
const EXPECTED: &[(&str, [Outcome; 6])] = &[
    ("registerOperator", [U, F, F, R, R, R]),
    ("updateOperator", [U, F, F, R, F, R]),
    ("closeOperator", [U, F, F, R, F, R]),
    ("designate", [U, F, F, R, F, R]),
    ("revokeDesignation", [U, F, F, R, F, R]),
    ("correctDesignation", [U, F, F, R, F, R]),
    ("recordSpecialSocialInfrastructureOperator", [U, F, F, R, F, R]),
    ("endSpecialSocialInfrastructureOperator", [U, F, F, R, F, R]),
    ("importDesignations", [U, F, F, R, X, R]),
    ("syncCorporateNumbers", [U, F, F, F, F, R]),
    ("upsertCrosswalkLink", [U, F, F, F, F, R]),
    ("removeCrosswalkLink", [U, F, F, F, F, R]),
    ("upsertScopeItemLink", [U, F, F, F, F, R]),
    ("removeScopeItemLink", [U, F, F, F, F, R]),
    ("revokeToken", [U, F, F, F, F, R]),
    ("createScopeProposal", [U, F, R, F, F, R]),
    ("addScopeProposalChange", [U, F, R, F, F, R]),
    ("removeScopeProposalChange", [U, F, R, F, F, R]),
    ("withdrawScopeProposal", [U, F, R, F, F, R]),
    ("promoteScopeProposal", [U, F, F, F, F, R]),
    ("scopeProposals", [U, R, R, R, R, R]),
    ("/export/proposals/{id}/impact.csv", [U, R, R, R, R, R]),
    ("designationChanged", [U, R, R, R, R, R]),
    ("referenceDataChanged", [R, R, R, R, R, R]),
    ("operators", [U, R, R, R, R, R]),
    ("auditEvents", [U, R, R, R, R, R]),
    ("tokens", [U, F, F, F, F, R]),
    ("/export/operators.csv", [U, R, R, R, R, R]),
    ("/export/crosswalk.csv", [R, R, R, R, R, R]),
];

/// The role a cell stands for (None: anonymous).
fn role(who: Who) -> Option<Role> {
    match who {
        Who::Anonymous => None,
        Who::Reader => Some(Role::Reader),
        Who::Policy => Some(Role::Policy),
        Who::MinistryInside | Who::MinistryOutside => Some(Role::Ministry),
        Who::Admin => Some(Role::Admin),
    }
}

struct Tokens {
    reader: String,
    policy: String,
    meti: String,
    mlit: String,
    admin: String,
}

impl Tokens {
    fn issue(app: &TestApp) -> Self {
        Self {
            reader: app.token("reader", None),
            policy: app.token("policy", None),
            meti: app.token("ministry", Some("METI")),
            mlit: app.token("ministry", Some("MLIT")),
            admin: app.token("admin", None),
        }
    }

    fn of(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Reader => Some(&self.reader),
            Who::Policy => Some(&self.policy),
            Who::MinistryInside => Some(&self.meti),
            Who::MinistryOutside => Some(&self.mlit),
            Who::Admin => Some(&self.admin),
        }
    }
}

/// A GraphQL answer as an outcome (errors other than the two authorization codes fail
/// the test: every attempt here is otherwise valid).
fn outcome(body: &Value) -> Outcome {
    match body.get("errors").map(|_| error_code(body)) {
        None => Outcome::Ran,
        Some("UNAUTHENTICATED") => Outcome::Unauthenticated,
        Some("FORBIDDEN") => Outcome::Forbidden,
        Some(other) => panic!("unexpected {other}: {body:#}"),
    }
}

struct Walk<'a> {
    app: &'a TestApp,
    tokens: Tokens,
    next: AtomicU64,
}

impl Walk<'_> {
    /// A new operator (registered by the admin), different for every attempt.
    async fn operator(&self) -> String {
        let number = cn(5000 + self.next.fetch_add(1, Ordering::Relaxed));
        register_all(self.app, &self.tokens.admin, std::slice::from_ref(&number)).await;
        number
    }

    /// A new operator with an open METI electricity designation; its id and version.
    async fn designated(&self) -> (String, String) {
        let number = self.operator().await;
        let id = designate(self.app, &self.tokens.admin, ci(&number, "electricity", "2024-04-01")).await;
        (number, id)
    }

    /// A new draft proposal (created by the admin), from a year of its own, with one new
    /// sector of its own when `with_change`; its id and version.
    async fn draft(&self, n: u64, with_change: bool) -> (Value, u64) {
        let create = "mutation($from: Date!) { createScopeProposal(input: { title: \"試案\", effectiveFrom: $from }) { id version } }";
        // Any future year: each draft adds a sector of its own.
        let from = format!("{}-04-01", 2030 + n % 150);
        let created = self.app.data(create, json!({ "from": from }), Some(&self.tokens.admin)).await;
        let id = created["createScopeProposal"]["id"].clone();
        if !with_change {
            return (id, 1);
        }
        let changed = self.app.data(ADD_CHANGE, add_sector(&id, 1, n), Some(&self.tokens.admin)).await;
        (id, changed["addScopeProposalChange"]["version"].as_u64().expect("version"))
    }

    async fn run(&self, query: &str, variables: Value, who: Who) -> Outcome {
        outcome(&self.app.graphql(query, variables, self.tokens.of(who)).await)
    }

    /// One cell: `operation` as `who`, on fresh records of its own.
    async fn attempt(&self, operation: &str, who: Who) -> Outcome {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        match operation {
            "registerOperator" => {
                let query = "mutation($n: String!) { registerOperator(input: { corporateNumber: $n, nameJa: \"登録\" }) { id } }";
                self.run(query, json!({ "n": cn(9000 + n) }), who).await
            }
            "updateOperator" => {
                let (number, _) = self.designated().await;
                let query = "mutation($n: String!) { updateOperator(input: { corporateNumber: $n, expectedVersion: 1, nameJa: \"改称\" }) { version } }";
                self.run(query, json!({ "n": number }), who).await
            }
            "closeOperator" => {
                let (number, _) = self.designated().await;
                let query = "mutation($n: String!) { closeOperator(input: { corporateNumber: $n, closedOn: \"2025-04-01\", reason: \"解散\" }) { closedOn } }";
                self.run(query, json!({ "n": number }), who).await
            }
            "designate" => {
                let number = self.operator().await;
                self.run(DESIGNATE, json!({ "input": ci(&number, "electricity", "2024-04-01") }), who).await
            }
            "revokeDesignation" => {
                let (_, id) = self.designated().await;
                let query = "mutation($id: ID!) { revokeDesignation(input: { id: $id, effectiveTo: \"2025-01-01\", reason: \"取消\" }) { status } }";
                self.run(query, json!({ "id": id }), who).await
            }
            "correctDesignation" => {
                let (_, id) = self.designated().await;
                let query = "mutation($id: ID!) { correctDesignation(input: { id: $id, expectedVersion: 1, reference: \"告示\", reason: \"記入漏れ\" }) { version } }";
                self.run(query, json!({ "id": id }), who).await
            }
            "recordSpecialSocialInfrastructureOperator" | "endSpecialSocialInfrastructureOperator" => {
                // An operator METI designated under ESPA (electricity).
                let number = self.operator().await;
                designate(self.app, &self.tokens.admin, espa(&number, "electricity", "2024-05-17")).await;
                let record = "mutation($n: String!) { recordSpecialSocialInfrastructureOperator(input: { corporateNumber: $n, effectiveFrom: \"2026-10-01\" }) { id } }";
                if operation == "recordSpecialSocialInfrastructureOperator" {
                    return self.run(record, json!({ "n": number }), who).await;
                }
                self.app.data(record, json!({ "n": number }), Some(&self.tokens.admin)).await;
                let end = "mutation($n: String!) { endSpecialSocialInfrastructureOperator(input: { corporateNumber: $n, effectiveTo: \"2027-04-01\", reason: \"終了\" }) { id } }";
                self.run(end, json!({ "n": number }), who).await
            }
            "importDesignations" => {
                let csv = format!(
                    "corporate_number,name_ja,name_en,regime,sector_or_domain,scope_item,effective_from,effective_to,legal_basis,reference\n\
                     {},取込,,CI,electricity,,2024-04-01,,,\n",
                    cn(9500 + n)
                );
                let query = "mutation($csv: String!) { importDesignations(csv: $csv) { errors { message } } }";
                let body = self.app.graphql(query, json!({ "csv": csv }), self.tokens.of(who)).await;
                match outcome(&body) {
                    Outcome::Ran
                        if !body["data"]["importDesignations"]["errors"].as_array().expect("errors").is_empty() =>
                    {
                        let message = &body["data"]["importDesignations"]["errors"][0]["message"];
                        assert!(message.as_str().expect("message").contains("jurisdiction"), "{body}");
                        Outcome::RowsRefused
                    }
                    other => other,
                }
            }
            "syncCorporateNumbers" => {
                let sample = crate::support::seed_dir().join("examples/nta-diff-sample.csv");
                let file = std::fs::read_to_string(sample).expect("the NTA sample file");
                let query = "mutation($file: String!) { syncCorporateNumbers(file: $file) { recordsRead } }";
                self.run(query, json!({ "file": file }), who).await
            }
            "upsertCrosswalkLink" | "removeCrosswalkLink" => {
                // Effective in the future, a year apart per attempt, so that each one changes something.
                let from = format!("{}-01-01", 2030 + n);
                let set = "mutation($from: Date!) { upsertCrosswalkLink(input: { sector: \"gas\", domain: \"gas\", relation: EQUAL, rationale: \"見直し\", source: \"nco-2025-08-26\", effectiveFrom: $from, reason: \"見直し\" }) { relation } }";
                if operation == "upsertCrosswalkLink" {
                    return self.run(set, json!({ "from": from }), who).await;
                }
                let remove = "mutation($from: Date!) { removeCrosswalkLink(input: { sector: \"chemicals\", domain: \"gas\", effectiveFrom: $from, reason: \"見直し\" }) { id } }";
                let link = "mutation($from: Date!) { upsertCrosswalkLink(input: { sector: \"chemicals\", domain: \"gas\", relation: INTERSECTS_WITH, rationale: \"試行\", source: \"nco-2025-08-26\", effectiveFrom: $from, reason: \"試行\" }) { relation } }";
                self.app.data(link, json!({ "from": from }), Some(&self.tokens.admin)).await;
                let until = format!("{}-06-01", 2030 + n);
                self.run(remove, json!({ "from": until }), who).await
            }
            "upsertScopeItemLink" | "removeScopeItemLink" => {
                let from = format!("{}-01-01", 2030 + n);
                let set = "mutation($from: Date!) { upsertScopeItemLink(input: { sectorItem: \"gas/gas-manufacturing\", domainItem: \"gas/gas-manufacturing\", relation: EQUAL, rationale: \"見直し\", source: \"nco-2025-08-26\", effectiveFrom: $from, reason: \"見直し\" }) { relation } }";
                if operation == "upsertScopeItemLink" {
                    return self.run(set, json!({ "from": from }), who).await;
                }
                self.app.data(set, json!({ "from": from }), Some(&self.tokens.admin)).await;
                let remove = "mutation($from: Date!) { removeScopeItemLink(input: { sectorItem: \"gas/gas-manufacturing\", domainItem: \"gas/gas-manufacturing\", effectiveFrom: $from, reason: \"見直し\" }) { id } }";
                self.run(remove, json!({ "from": format!("{}-06-01", 2030 + n) }), who).await
            }
            "createScopeProposal" => {
                let create = "mutation { createScopeProposal(input: { title: \"試案\", effectiveFrom: \"2099-04-01\" }) { id } }";
                self.run(create, json!({}), who).await
            }
            "addScopeProposalChange" => {
                let (id, version) = self.draft(n, false).await;
                self.run(ADD_CHANGE, add_sector(&id, version, n), who).await
            }
            "removeScopeProposalChange" => {
                let (id, version) = self.draft(n, true).await;
                let remove = "mutation($id: ID!, $v: Int!) { removeScopeProposalChange(input: { proposalId: $id, expectedVersion: $v, index: 0 }) { version } }";
                self.run(remove, json!({ "id": id, "v": version }), who).await
            }
            "withdrawScopeProposal" | "promoteScopeProposal" => {
                let (id, version) = self.draft(n, true).await;
                let query = format!(
                    "mutation($id: ID!, $v: Int!) {{ {operation}(input: {{ id: $id, expectedVersion: $v }}) {{ status }} }}"
                );
                self.run(&query, json!({ "id": id, "v": version }), who).await
            }
            "scopeProposals" => self.run("{ scopeProposals { id } }", json!({}), who).await,
            "revokeToken" => {
                // A token of its own, never one this walk uses.
                let label = format!("victim {n}");
                let issued = self.app.cli(&["token", "issue", "--role", "reader", "--name", &label]);
                assert!(issued.status.success());
                let tokens = self.app.data("{ tokens { id label } }", json!({}), Some(&self.tokens.admin)).await;
                let id = tokens["tokens"].as_array().expect("tokens").iter().find(|t| t["label"] == label.as_str());
                let id = id.expect("the victim")["id"].clone();
                self.run("mutation($id: ID!) { revokeToken(id: $id) { status } }", json!({ "id": id }), who).await
            }
            "designationChanged" | "referenceDataChanged" => {
                let query = if operation == "referenceDataChanged" {
                    REFERENCE_DATA_CHANGED
                } else {
                    "subscription { designationChanged(after: \"0\") { eventId } }"
                };
                let mut socket = GraphqlSocket::connect(&self.app.address, self.tokens.of(who)).await;
                socket.subscribe(query, json!({ "after": "0" })).await;
                let received = socket.receive(WAIT).await;
                socket.close().await;
                match received {
                    Some(Received::Next(payload)) => outcome(&payload),
                    other => panic!("{operation} as {who:?}: {other:?}"),
                }
            }
            "operators" => self.run("{ operators(first: 1) { totalCount } }", json!({}), who).await,
            "auditEvents" => self.run("{ auditEvents(first: 1) { totalCount } }", json!({}), who).await,
            "tokens" => self.run("{ tokens { id } }", json!({}), who).await,
            path if path.starts_with("/export/") => {
                let path = if path.contains("{id}") {
                    let (id, _) = self.draft(n, true).await;
                    path.replace("{id}", id.as_str().expect("id"))
                } else {
                    path.to_owned()
                };
                let mut request = self.app.request(reqwest::Method::GET, &path);
                if let Some(token) = self.tokens.of(who) {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.expect("export");
                match response.status().as_u16() {
                    200 => Outcome::Ran,
                    401 => Outcome::Unauthenticated,
                    403 => Outcome::Forbidden,
                    other => panic!("{path} as {who:?}: {other}"),
                }
            }
            other => panic!("no attempt for {other}"),
        }
    }
}

const ADD_CHANGE: &str = "mutation($id: ID!, $v: Int!, $change: ScopeChangeInput!) {
    addScopeProposalChange(input: { proposalId: $id, expectedVersion: $v, change: $change }) { version } }";

/// The variables of `ADD_CHANGE` adding a CI sector of attempt `n`'s own.
fn add_sector(id: &Value, version: u64, n: u64) -> Value {
    let sector = json!({ "code": format!("trial-{n}"), "nameJa": "試行分野", "nameEn": "Trial", "ministry": "METI" });
    json!({ "id": id, "v": version, "change": { "addSector": sector } })
}

/// The cell the enforced matrix declares for `who` on the operation `entry` belongs to.
fn declared(entry: &str, who: Who) -> Outcome {
    let quoted = format!("`{entry}`");
    let rule = MATRIX
        .iter()
        .find(|rule| rule.entry_points.contains(&quoted))
        .unwrap_or_else(|| panic!("{entry} has no row in the authorization matrix"));
    let permitted = match (rule.allowed, role(who)) {
        (Allowed::Everyone, _) => true,
        (_, None) => return Outcome::Unauthenticated,
        (Allowed::AnyToken, Some(_)) => true,
        (Allowed::Writers, Some(role)) => matches!(role, Role::Admin | Role::Ministry),
        (Allowed::Drafters, Some(role)) => matches!(role, Role::Admin | Role::Policy),
        (Allowed::Admins, Some(role)) => role == Role::Admin,
    };
    if permitted { Outcome::Ran } else { Outcome::Forbidden }
}

async fn every_entry_point_answers_every_role_as_the_matrix_says(app: TestApp) -> TestApp {
    // Every mutation and subscription the schema has is walked here.
    let schema = app
        .data("{ __schema { mutationType { fields { name } } subscriptionType { fields { name } } } }", json!({}), None)
        .await;
    for kind in ["mutationType", "subscriptionType"] {
        for field in schema["__schema"][kind]["fields"].as_array().expect("fields") {
            let name = field["name"].as_str().expect("name");
            assert!(EXPECTED.iter().any(|(entry, _)| *entry == name), "{name} has no row in this walk");
        }
    }
    let walk = Walk { tokens: Tokens::issue(&app), app: &app, next: AtomicU64::new(0) };
    let denied_before = denied(&walk).await;
    let mut forbidden = 0;
    for (entry, cells) in EXPECTED {
        for (who, expected) in EVERYONE.into_iter().zip(cells) {
            // What the test expects is what the service declares (inside/outside
            // jurisdiction is the operation's own rule, on top of the role).
            match (expected, declared(entry, who)) {
                (Outcome::Forbidden | Outcome::RowsRefused, Outcome::Ran) => {
                    assert_eq!(who, Who::MinistryOutside, "{entry} as {who:?}: only jurisdiction refuses more")
                }
                (expected, declared) => assert_eq!(*expected, declared, "{entry} as {who:?} against the matrix"),
            }
            let got = walk.attempt(entry, who).await;
            assert_eq!(got, *expected, "{entry} as {who:?}");
            if got == Outcome::Forbidden && !entry.starts_with('/') && *entry != "tokens" {
                forbidden += 1;
            }
        }
    }
    assert_eq!(denied(&walk).await - denied_before, forbidden, "every refused change is recorded as denied");
    app
}

/// DENIED events in the trail.
async fn denied(walk: &Walk<'_>) -> u64 {
    let query = "{ auditEvents(filter: { outcome: DENIED }) { totalCount } }";
    walk.app.data(query, json!({}), Some(&walk.tokens.admin)).await["auditEvents"]["totalCount"]
        .as_u64()
        .expect("count")
}

/// Water moved from MHLW to MLIT on 2024-04-01. An open MHLW water designation from
/// 2024-03-01: MHLW may end it up to the transfer, not later; MLIT from the transfer on,
/// not before; only MLIT (whose jurisdiction it is in today) may rename the operator.
async fn a_designation_that_outlives_a_jurisdiction_transfer(app: TestApp) -> TestApp {
    let admin = app.token("admin", None);
    let mhlw = app.token("ministry", Some("MHLW"));
    let mlit = app.token("ministry", Some("MLIT"));
    let numbers: Vec<String> = (1..=4).map(|i| cn(7000 + i)).collect();
    register_all(&app, &admin, &numbers).await;
    let revoke = "mutation($id: ID!, $to: Date!) { revokeDesignation(input: { id: $id, effectiveTo: $to, reason: \"移管\" }) { effectiveTo } }";
    let cases = [
        (&mhlw, "2024-04-01", None),
        (&mhlw, "2025-01-01", Some("FORBIDDEN")),
        (&mlit, "2025-01-01", None),
        (&mlit, "2024-03-15", Some("FORBIDDEN")),
    ];
    for ((token, to, refused), number) in cases.into_iter().zip(&numbers) {
        let id = designate(&app, &mhlw, ci(number, "water", "2024-03-01")).await;
        let body = app.graphql(revoke, json!({ "id": id, "to": to }), Some(token)).await;
        match refused {
            None => assert!(body.get("errors").is_none(), "{to}: {body}"),
            Some(code) => assert_eq!(error_code(&body), code, "{to}"),
        }
    }
    let rename = "mutation($n: String!) { updateOperator(input: { corporateNumber: $n, expectedVersion: 1, nameJa: \"改称\" }) { version } }";
    let still_open = &numbers[1];
    assert_eq!(error_code(&app.graphql(rename, json!({ "n": still_open }), Some(&mhlw)).await), "FORBIDDEN");
    let renamed = app.data(rename, json!({ "n": still_open }), Some(&mlit)).await;
    assert_eq!(renamed["updateOperator"]["version"], 2);
    app
}

/// `import --ministry` acts as that ministry; the other writing commands act as an
/// administrator (the local user).
async fn commands_act_as_the_ministry_they_name(app: TestApp) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rows.csv");
    let csv = format!(
        "corporate_number,name_ja,name_en,regime,sector_or_domain,scope_item,effective_from,effective_to,legal_basis,reference\n\
         {},取込,,CI,electricity,,2024-04-01,,,\n",
        cn(7100)
    );
    std::fs::write(&file, csv).expect("write");
    let path = file.to_str().expect("path");
    let outside = app.cli(&["import", path, "--ministry", "MLIT"]);
    assert!(!outside.status.success());
    assert!(String::from_utf8_lossy(&outside.stderr).contains("jurisdiction"));
    let inside = app.cli(&["import", path, "--ministry", "METI"]);
    assert!(inside.status.success(), "{}", String::from_utf8_lossy(&inside.stderr));
    app
}

e2e!(
    every_entry_point_answers_every_role_as_the_matrix_says,
    a_designation_that_outlives_a_jurisdiction_transfer,
    commands_act_as_the_ministry_they_name,
);
