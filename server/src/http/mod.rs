//! HTTP wiring: the route table with an explicit auth policy per route, the page and
//! server-function handlers, page rendering, security headers and the CSP, request ids and
//! logging, health probes and static assets.

pub mod api;
pub mod assets;
pub mod caller;
pub mod csp;
pub mod errors;
pub mod headers;
pub mod health;
pub mod log_buffer;
pub mod owner;
pub mod pages;
pub mod render;
pub mod routes;
pub mod telemetry;
