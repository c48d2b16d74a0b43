//! The Connect app server as a library, so integration tests can start the real thing on a
//! random port with a throw-away database: `startup::build` assembles it, `startup::serve` runs it.

#![recursion_limit = "256"]

pub mod cache;
pub mod config;
pub mod connect;
pub mod db;
pub mod forge;
pub mod http;
pub mod key_fetch;
pub mod metrics;
pub mod outbound;
pub mod personal_data;
pub mod startup;
pub mod state;
