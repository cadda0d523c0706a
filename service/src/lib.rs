//! Scope Registry: the authoritative, queryable registry of Japan's critical
//! infrastructure protection scope — CI sectors (重要インフラ分野), ESPA business
//! domains (特定社会基盤事業), the crosswalk between them and every operator's
//! designation status over time.
//!
//! Layers (dependencies point one way: http/cli → graphql → domain ← storage):
//! `domain` pure types and rules; `storage` database access; `reference` seed-data and
//! the in-memory snapshot; `graphql` the API; `http` and `app` the wiring; `metrics` what operators see.

pub mod app;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod reference;
pub mod registry;
pub mod storage;
