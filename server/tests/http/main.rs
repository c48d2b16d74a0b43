//! Black-box HTTP tests of the app server: the real router on a random port, a real install-key
//! server, a throw-away database per test (SQLite, or PostgreSQL with `TEST_DATABASE=postgres`:
//! the same tests on both backends). Each test is named after the rule or attack it checks
//! (docs/AUTH-RULES.md §C1–§C6); `instances` runs several app instances on one PostgreSQL.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

#[path = "../common/mod.rs"]
mod common;

mod api;
mod cache;
mod forge_api;
mod forge_jose;
mod forge_jwks;
mod harness;
mod install;
mod install_keys;
mod instances;
mod isolation;
mod lifecycle;
mod logs;
mod metrics;
mod outbound;
mod pages;
mod personal_data;
mod preferences;
mod routes;
mod settle;
mod world;
