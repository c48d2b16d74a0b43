//! Security headers on every response: no caching of dynamic answers, no referrer (page URLs
//! carry a token), nosniff, HSTS on https deployments, and a CSP whose `frame-ancestors` lets
//! Confluence (and configured origins) frame the app. No `X-Frame-Options`.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

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

pub async fn apply(State(h): State<SecurityHeaders>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, h.csp.clone());
    if let Some(hsts) = &h.hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    // Static assets set their own caching; everything else is per-user and must not be cached.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store"),
        );
    }
    res
}
