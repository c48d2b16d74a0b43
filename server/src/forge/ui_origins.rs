//! The browser origins allowed to call `/api/*` across origins for the Forge Custom UI
//! (`FORGE_UI_ORIGINS`), and the CORS answers for them. Which origin sends `requestRemote`'s HTTP
//! call on a real site is unconfirmed (docs/ARCHITECTURE.md, "Forge Custom UI"): the bridge hands
//! the request to Atlassian's host code, most likely the product page (`https://<site>.atlassian.net`),
//! otherwise the Custom UI frame on Forge's CDN; the default allows both. Never `*`, never
//! credentials: the FIT travels as a header, so CORS grants no ambient authority, and only
//! preflights of allowed origins are answered here; every call still needs a valid token.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// `FORGE_UI_ORIGINS` when unset: the sites' product pages and Forge's Custom UI CDN.
pub const DEFAULT_UI_ORIGINS: &str = "https://*.atlassian.net,https://*.cdn.prod.atlassian-dev.net";
/// How long a browser may reuse a preflight answer.
const MAX_AGE_SECS: &str = "600";

/// One allowed origin: exact, or any subdomain of a host (`https://*.atlassian.net`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum OriginPattern {
    Exact(String),
    /// `scheme://` and `.suffix`: matches `scheme://<one or more labels>.suffix`.
    Subdomains {
        scheme: String,
        suffix: String,
    },
}

/// The parsed allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiOrigins(Vec<OriginPattern>);

impl UiOrigins {
    /// A comma-separated list of `scheme://host[:port]` or `https://*.domain`. `http` only for
    /// loopback hosts (tests and the simulator); no paths, no bare `*`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            patterns.push(parse_one(item)?);
        }
        Ok(Self(patterns))
    }

    /// Whether `origin` (the `Origin` header, exactly) is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|p| match p {
            OriginPattern::Exact(o) => o == origin,
            OriginPattern::Subdomains { scheme, suffix } => origin
                .strip_prefix(scheme.as_str())
                .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                .is_some_and(|labels| {
                    !labels.is_empty()
                        && labels
                            .split('.')
                            .all(|l| !l.is_empty() && l.bytes().all(is_label_byte))
                }),
        })
    }
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

fn parse_one(item: &str) -> Result<OriginPattern, String> {
    let problem = |why: &str| format!("{item:?} {why}");
    let (scheme, host) = item
        .split_once("://")
        .ok_or_else(|| problem("is not an origin (scheme://host[:port])"))?;
    if host.is_empty() || host.contains('/') || host.contains('?') || host.contains('#') {
        return Err(problem("is not an origin: no path, query or fragment"));
    }
    if let Some(domain) = host.strip_prefix("*.") {
        if scheme != "https" {
            return Err(problem("must use https for a wildcard"));
        }
        if domain.split('.').count() < 2
            || !domain
                .split('.')
                .all(|l| !l.is_empty() && l.bytes().all(is_label_byte))
        {
            return Err(problem(
                "must name a domain below the wildcard (https://*.example.com)",
            ));
        }
        return Ok(OriginPattern::Subdomains {
            scheme: "https://".into(),
            suffix: format!(".{domain}"),
        });
    }
    if host.contains('*') {
        return Err(problem("may only start with *. (https://*.example.com)"));
    }
    let url = url::Url::parse(item).map_err(|_| problem("is not an origin"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match scheme {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(problem(
                "must use https (plain http only for loopback hosts)",
            ));
        }
    }
    // The serialised origin, as a browser sends it (lower-case host, default port dropped).
    Ok(OriginPattern::Exact(url.origin().ascii_serialization()))
}

fn header_value(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

/// The `Origin` of a request, if the allow-list admits it.
fn allowed_origin(headers: &HeaderMap, origins: &UiOrigins) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    origins
        .allows(origin.to_str().ok()?)
        .then(|| origin.clone())
}

/// Middleware on `/api/*`: answers CORS preflights from allowed origins (others get 403 and no
/// CORS headers, so the browser stops there), and lets allowed origins read the answers. Off
/// when Forge is off. Same-origin calls (the Connect page) are untouched.
pub async fn api_cors(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let Some(origins) = state.config.forge.as_ref().map(|f| &f.ui_origins) else {
        return next.run(req).await;
    };
    let allowed = allowed_origin(req.headers(), origins);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let Some(origin) = allowed else {
            return crate::http::errors::json_error(&app::AppError::forbidden(
                "This origin may not call the API from a browser.",
            ));
        };
        let mut res = StatusCode::NO_CONTENT.into_response();
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("origin"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, accept, x-host-locale"),
        );
        if let Some(age) = header_value(MAX_AGE_SECS) {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, age);
        }
        return res;
    }
    let mut res = next.run(req).await;
    if let Some(origin) = allowed {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.append(header::VARY, HeaderValue::from_static("origin"));
        // The 401's challenge, so the page can tell an expired token from a refused one.
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("www-authenticate"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_allows_sites_and_the_forge_cdn_only() {
        let o = UiOrigins::parse(DEFAULT_UI_ORIGINS).unwrap();
        assert!(o.allows("https://acme.atlassian.net"));
        assert!(o.allows("https://abc123.cdn.prod.atlassian-dev.net"));
        for refused in [
            "https://atlassian.net",
            "http://acme.atlassian.net",
            "https://acme.atlassian.net.evil.com",
            "https://evilatlassian.net",
            "https://acme.atlassian.net:8443",
            "https://a..atlassian.net",
            "https://ACME.atlassian.net",
            "null",
            "",
        ] {
            assert!(!o.allows(refused), "{refused}");
        }
    }

    #[test]
    fn exact_origins_are_compared_as_browsers_send_them() {
        let o = UiOrigins::parse(" http://localhost:3110 , https://App.Example.com:443 ,").unwrap();
        assert!(o.allows("http://localhost:3110"));
        assert!(o.allows("https://app.example.com"));
        assert!(!o.allows("http://localhost:3111"));
        assert!(!o.allows("http://127.0.0.1:3110"));
    }

    #[test]
    fn unsafe_or_malformed_entries_are_refused() {
        for bad in [
            "*",
            "https://*",
            "https://*.com",
            "http://*.example.com",
            "http://example.com",
            "https://example.com/path",
            "https://a.*.example.com",
            "example.com",
        ] {
            assert!(UiOrigins::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(UiOrigins::parse("").unwrap(), UiOrigins(Vec::new()));
    }
}
