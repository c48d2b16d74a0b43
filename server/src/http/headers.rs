//! Security headers on every response: no caching of dynamic answers, no referrer (page URLs
//! carry a token), nosniff, HSTS on https deployments, and a CSP whose `frame-ancestors` lets
//! Confluence (and configured origins) frame the app. No `X-Frame-Options`.

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;

#[derive(Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        let mut ancestors = vec![
            "'self'".to_string(),
            "https://*.atlassian.net".into(),
            "https://*.jira.com".into(),
            "https://*.atlassian.com".into(),
        ];
        ancestors.extend(config.frame_ancestors.iter().cloned());
        let csp = format!(
            "frame-ancestors {}; base-uri 'none'; object-src 'none'; form-action 'self'",
            ancestors.join(" ")
        );
        Self {
            csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'self'")),
            hsts: config
                .base_url
                .starts_with("https://")
                .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        }
    }
}

/// Adds the headers to every response of `router` (plain header layers: no per-request state or
/// boxing, unlike a `from_fn` middleware).
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>, h: SecurityHeaders) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            h.csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            h.hsts,
        ))
        // Static assets set their own caching; everything else is per-user and must not be cached.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store"),
        ))
}
