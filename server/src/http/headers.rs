//! Security headers on every response: no caching of dynamic answers, no referrer (page URLs
//! carry a token), nosniff, HSTS on https deployments, and a CSP whose `frame-ancestors` lets
//! Confluence (and configured origins) frame the app. No `X-Frame-Options`.

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

/// The five header layers, outermost first (a tuple is itself a layer: the router applies them
/// in one step, so a request passes one boxed route, not one per layer).
pub type Layers = (
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<Option<HeaderValue>>,
    SetResponseHeaderLayer<HeaderValue>,
);

impl SecurityHeaders {
    /// Plain header layers: no per-request state or boxing, unlike a `from_fn` middleware.
    pub fn layers(self) -> Layers {
        (
            SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            SetResponseHeaderLayer::overriding(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, self.csp),
            SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, self.hsts),
            // Static assets set their own caching; everything else is per-user and must not be
            // cached.
            SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, no-store"),
            ),
        )
    }
}
