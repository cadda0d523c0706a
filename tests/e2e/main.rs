//! End-to-end tests: each boots the real application on a free port against a fresh
//! database and talks HTTP (or runs the real binary). Every test runs on SQLite and on
//! PostgreSQL (the latter when `SCOPE_REGISTRY_TEST_POSTGRES` names a server).

mod fixtures;
mod support;

mod demo;
mod designations;
mod fuzzing;
mod hostile;
mod limits;
mod operations;
mod operators;
mod overlap;
mod process;
mod reference;
mod schema;
mod seeding;
mod tokens;
