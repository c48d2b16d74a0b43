//! Security headers on every response: no caching of dynamic answers, no referrer (page URLs
//! carry a token), nosniff, HSTS on https deployments, and a CSP (`http::csp`; the page sets its
//! own) whose `frame-ancestors` lets Confluence (and configured origins) frame the app. No
//! `X-Frame-Options`.

use std::sync::Arc;

use axum::http::{HeaderValue, Response, header};
use tower::util::MapResponseLayer;

use crate::config::Config;

#[derive(Clone)]
pub struct SecurityHeaders {
    csp: HeaderValue,
    hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        Self {
            csp: super::csp::default_policy(config),
            hsts: config
                .base_url
                .starts_with("https://")
                .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        }
    }
}

impl SecurityHeaders {
    /// Sets the headers on `res` (`Cache-Control` only where the handler set none: static
    /// assets set their own caching; everything else is per-user and must not be cached; the
    /// CSP only where the handler set none: the page sets its own).
    fn apply<B>(&self, mut res: Response<B>) -> Response<B> {
        let h = res.headers_mut();
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        }
        if let Some(hsts) = &self.hsts {
            h.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, no-store"),
            );
        }
        res
    }

    /// One layer setting all the headers as the response passes: no boxing, and one future
    /// instead of one per header, which cost a cached read measurably more (docs/BENCHMARKS.md,
    /// "Measured reasons behind code choices").
    pub fn layer<B>(self) -> MapResponseLayer<impl FnOnce(Response<B>) -> Response<B> + Clone> {
        let headers = Arc::new(self);
        MapResponseLayer::new(move |res| headers.apply(res))
    }
}
