//! Scope Registry: the authoritative, queryable registry of Japan's critical
//! infrastructure protection scope — CI sectors (重要インフラ分野), ESPA business
//! domains (特定社会基盤事業), the crosswalk between them and every operator's
//! designation status over time.
//!
//! Layers, one folder each; dependencies point one way
//! (`http`/`cli` → `graphql` → `services` → `domain`, with `services` →
//! `read_model`/`storage`/`seed` → `domain`):
//! - `domain`: pure types and rules, state changes included; no I/O;
//! - `services`: the use cases (who may act, one transaction per change, the audit
//!   trail with each change's effects);
//! - `read_model`: what is answered from memory, kept coherent by the change feed;
//! - `storage`: the database (sea-orm entities and queries);
//! - `seed`: the seed-data files;
//! - `graphql`: the API, thin resolvers over `services`;
//! - `http`, `app`, `cli`, `config`: the wiring; `metrics`: what operators see.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod read_model;
pub mod seed;
pub mod services;
pub mod storage;
