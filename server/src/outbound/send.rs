//! One call to Atlassian, end to end. Each hop is signed for exactly what it sends (an app JWT
//! is minted per hop, so a redirect inside the tenant gets a `qsh` of its own); a redirect that
//! leaves the tenant's base URL is not followed and nothing is sent there. 429 and 503 wait as
//! `Retry-After` says (capped), other transient failures back off with jitter, and the whole
//! call fits one budget. One log line per call: kind, method, path relative to the base, status,
//! retries, time; never a token, a query or a body.

use std::time::{Instant, SystemTime};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use url::Url;

use super::Outbound;
use super::error::OutboundError;
use super::retry::{RetryPolicy, retry_after};
use crate::key_fetch::{BodyError, read_capped};
use connect::outbound::ProductTarget;

/// At most this many redirects per call.
const MAX_REDIRECTS: u32 = 3;

/// What a call presents.
pub enum Credential<'a> {
    /// Connect, as the app: an app JWT minted for each hop.
    App { app_key: &'a str, secret: &'a [u8] },
    /// An access token (Connect user impersonation, Forge user or system token).
    Bearer(&'a str),
    /// Nothing (the token endpoint: the assertion is in the body).
    None,
}

/// Where a call goes.
pub enum Destination {
    /// Inside a tenant's base URL; redirects are followed only inside it.
    Product(ProductTarget),
    /// A fixed endpoint (the authorization server); redirects are never followed.
    Fixed(Url),
}

impl Destination {
    fn url(&self) -> &Url {
        match self {
            Self::Product(t) => t.url(),
            Self::Fixed(u) => u,
        }
    }

    /// The path for logs: relative to the tenant's base, no query.
    fn log_path(&self) -> &str {
        match self {
            Self::Product(t) => t.relative_path(),
            Self::Fixed(u) => u.path(),
        }
    }
}

/// One outbound request.
pub struct Call<'a> {
    /// What is called, for logs: `confluence` or `oauth`.
    pub kind: &'static str,
    pub method: Method,
    pub destination: Destination,
    pub credential: Credential<'a>,
    /// A body and its content type (never sent with GET or HEAD).
    pub body: Option<(&'static str, String)>,
}

/// A 2xx answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The answer's headers (`Cycle-Period` of the personal-data reporting API, …).
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Outbound {
    /// Sends `call`, following redirects and retrying as the configured policy allows (the
    /// short budget of a user's request).
    pub async fn send(&self, call: Call<'_>) -> Result<Reply, OutboundError> {
        let policy = self.config.retry;
        self.send_core(call, Instant::now() + policy.budget, policy)
            .await
    }

    /// [`send`](Self::send), finished by `deadline` (one budget shared by several calls made for
    /// one user request, such as a token exchange and the call it is for).
    pub async fn send_until(
        &self,
        call: Call<'_>,
        deadline: Instant,
    ) -> Result<Reply, OutboundError> {
        self.send_core(call, deadline, self.config.retry).await
    }

    /// [`send`](Self::send) with its own retry policy: background jobs may wait longer than a
    /// user's request.
    pub async fn send_with(
        &self,
        call: Call<'_>,
        policy: RetryPolicy,
    ) -> Result<Reply, OutboundError> {
        self.send_core(call, Instant::now() + policy.budget, policy)
            .await
    }

    async fn send_core(
        &self,
        call: Call<'_>,
        deadline: Instant,
        policy: RetryPolicy,
    ) -> Result<Reply, OutboundError> {
        let started = Instant::now();
        let Call {
            kind,
            method,
            mut destination,
            credential,
            body,
        } = call;
        let idempotent = matches!(method, Method::GET | Method::HEAD);
        let body = body.filter(|_| !idempotent);
        let (mut retries, mut redirects, mut last_status) = (0u32, 0u32, None);

        let result = loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                break Err(OutboundError::Timeout);
            }
            if !self.scheme_allowed(destination.url()) {
                break Err(OutboundError::OutsideTenant);
            }
            let mut req = self
                .http
                .request(method.clone(), destination.url().clone())
                .timeout(remaining);
            match (&credential, &destination) {
                (Credential::App { app_key, secret }, Destination::Product(target)) => {
                    let now = crate::db::now();
                    match target.app_jwt(method.as_str(), app_key, secret, now) {
                        Ok(jwt) => req = req.header(AUTHORIZATION, format!("JWT {jwt}")),
                        Err(_) => break Err(OutboundError::NotPossible("no signing secret")),
                    }
                }
                (Credential::App { .. }, Destination::Fixed(_)) => {
                    break Err(OutboundError::NotPossible(
                        "app JWTs are for the product only",
                    ));
                }
                (Credential::Bearer(token), _) => {
                    req = req.header(AUTHORIZATION, format!("Bearer {token}"));
                }
                (Credential::None, _) => {}
            }
            if let Some((content_type, body)) = &body {
                req = req.header(CONTENT_TYPE, *content_type).body(body.clone());
            }

            let res = match req.send().await {
                Ok(res) => res,
                Err(e) if e.is_timeout() => break Err(OutboundError::Timeout),
                Err(_) if idempotent => {
                    retries += 1;
                    match backoff(&policy, retries, None, deadline) {
                        Some(wait) => {
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        None => break Err(OutboundError::Unavailable),
                    }
                }
                Err(_) => break Err(OutboundError::Unavailable),
            };
            let status = res.status();
            last_status = Some(status.as_u16());

            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                redirects += 1;
                let next = res
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|location| match &destination {
                        Destination::Product(target) => target.follow(location).ok(),
                        Destination::Fixed(_) => None,
                    });
                match next {
                    Some(Some(next)) if idempotent && redirects <= MAX_REDIRECTS => {
                        destination = Destination::Product(next);
                        continue;
                    }
                    _ => break Err(OutboundError::RedirectRefused),
                }
            }

            let transient = status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE
                || (idempotent
                    && matches!(
                        status,
                        StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT
                    ));
            if transient {
                if status == StatusCode::TOO_MANY_REQUESTS {
                    self.meters.rate_limited(kind);
                }
                let asked = (res.headers().get(RETRY_AFTER))
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, SystemTime::now()));
                retries += 1;
                if let Some(wait) = backoff(&policy, retries, asked, deadline) {
                    tokio::time::sleep(wait).await;
                    continue;
                }
                break Err(if status == StatusCode::TOO_MANY_REQUESTS {
                    OutboundError::RateLimited { retry_after: asked }
                } else {
                    OutboundError::Unavailable
                });
            }

            if status.is_success() {
                let headers = res.headers().clone();
                break match read_capped(res, self.config.max_body).await {
                    Ok(body) => Ok(Reply {
                        status: status.as_u16(),
                        headers,
                        body,
                    }),
                    Err(BodyError::TooLarge) => Err(OutboundError::TooLarge),
                    Err(BodyError::Read) => Err(OutboundError::Unavailable),
                };
            }
            break Err(match status.as_u16() {
                401 => OutboundError::Unauthorized,
                403 => OutboundError::Forbidden,
                404 => OutboundError::NotFound,
                s if s >= 500 => OutboundError::Unavailable,
                s => OutboundError::Rejected(s),
            });
        };

        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let outcome = result.as_ref().map_or_else(OutboundError::code, |_| "ok");
        self.meters.call(kind, outcome, retries);
        tracing::info!(
            target: "outbound",
            kind,
            method = method.as_str(),
            path = destination.log_path(),
            status = last_status,
            retries,
            redirects,
            latency_us,
            outcome,
            "outbound call"
        );
        result
    }

    /// https always; plain http only where the configuration allows it (loopback hosts in
    /// production, anything in development).
    fn scheme_allowed(&self, url: &Url) -> bool {
        match url.scheme() {
            "https" => true,
            "http" => self.config.allow_plain_http || crate::config::is_loopback(url),
            _ => false,
        }
    }
}

/// The wait before retry number `retry`, or `None` to give up (see [`RetryPolicy::wait`]).
fn backoff(
    policy: &RetryPolicy,
    retry: u32,
    asked: Option<std::time::Duration>,
    deadline: Instant,
) -> Option<std::time::Duration> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    policy.wait(retry, asked, remaining, rand::random::<f64>())
}
