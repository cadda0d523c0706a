//! End-to-end tests: each boots the real application on a free port against a fresh
//! database and talks HTTP (or runs the real binary). Every test runs on SQLite and on
//! PostgreSQL (the latter when `SCOPE_REGISTRY_TEST_POSTGRES` names a server).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test stops at its first failure")]
#![allow(clippy::print_stdout, reason = "tests print what they measured")]

mod browser;
mod fixtures;
mod support;
mod ws;

mod answers;
mod audit;
mod authorization;
mod bulk;
mod changes;
mod clients;
mod conformance;
mod curation;
mod demo;
mod designations;
mod exports;
mod fuzzing;
mod graphiql;
mod hostile;
mod instances;
mod known_at;
mod lifecycle;
mod limits;
mod nta_sync;
mod obligations;
mod operations;
mod operators;
mod overlap;
mod page;
mod persisted;
mod process;
mod proposals;
mod proposals_page;
mod reference;
mod resources;
mod schema;
mod seeding;
mod snapshot;
mod subscriptions;
mod tokens;
