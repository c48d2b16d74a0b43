//! Logging: human-readable lines in development, JSON in production, one span per request with
//! its request id, method and path. Never the query string (page URLs carry a token) and never
//! headers (they carry tokens).

use axum::http::Request;
use tower_http::LatencyUnit;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, MakeSpan};
use tracing::Level;
use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json {
        // The request span is the only span: `span` carries its fields, and the default list of
        // all spans would repeat them (serialising it was a third of a read's logging cost).
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// The request span: id, method and path only.
#[derive(Clone, Copy, Debug)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &Request<B>) -> tracing::Span {
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
    }
}

pub fn on_response() -> DefaultOnResponse {
    // Most answers take well under a millisecond: "0 ms" would say nothing.
    DefaultOnResponse::new()
        .level(Level::INFO)
        .latency_unit(LatencyUnit::Micros)
}

pub fn on_failure() -> DefaultOnFailure {
    DefaultOnFailure::new().level(Level::ERROR)
}
