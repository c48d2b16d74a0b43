//! Forge's signing keys, fetched from `FORGE_JWKS_URL` (configuration, never a claim) and kept
//! in one map by `kid`. A `kid` is attacker-controlled, so strangers must not drive fetches:
//! - a known kid never fetches;
//! - an unknown kid refetches the whole document at most once per `cooldown`, and concurrent
//!   requests share that one fetch (single flight), so a flood of made-up kids costs at most
//!   one fetch per cooldown;
//! - a failed fetch keeps the keys already held (cached keys keep working while the JWKS is
//!   down); an unknown kid in that state is [`JwksError::Unavailable`] (503), not a 401.
//!
//! No redirects, 2 s / 5 s timeouts, a 64 KiB body cap (`crate::key_fetch`). Never logs a body.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use connect::forge::{FitKid, ForgeKey, parse_jwks};

use crate::key_fetch::{self, Throttle};
use crate::metrics::keys::{FetchMeters, FetchOutcome};

/// Largest JWKS document read (Forge's holds a few RSA keys, about 1.5 KiB each).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// The default refetch cooldown (docs/AUTH-RULES.md §F1.2: at least 30 s in production).
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// At most one warning about failed fetches per this long.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Why there is no key for a kid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksError {
    /// The JWKS answered (now or within the cooldown) without this kid: the token is invalid.
    UnknownKid,
    /// The JWKS could not be read (now or within the cooldown) and this kid is not cached: the
    /// caller may retry (503).
    Unavailable,
}

/// How the last fetch ended, and when it started.
struct LastFetch {
    at: Instant,
    ok: bool,
}

pub struct ForgeJwks {
    url: String,
    http: reqwest::Client,
    cooldown: Duration,
    keys: RwLock<Arc<HashMap<String, Arc<ForgeKey>>>>,
    /// Held while fetching: the single flight. Also records the last attempt.
    refresh: tokio::sync::Mutex<Option<LastFetch>>,
    fetches: std::sync::atomic::AtomicU64,
    failure_warnings: Throttle,
    meters: FetchMeters,
}

impl ForgeJwks {
    pub fn new(url: &str, cooldown: Duration) -> Result<Self, String> {
        Ok(Self {
            url: url.to_owned(),
            http: key_fetch::client("Forge JWKS")?,
            cooldown,
            keys: RwLock::default(),
            refresh: tokio::sync::Mutex::new(None),
            fetches: Default::default(),
            failure_warnings: Throttle::default(),
            meters: FetchMeters::default(),
        })
    }

    /// The key for `kid`: from the map, or after (at most) one shared refetch.
    pub async fn key(&self, kid: &FitKid) -> Result<Arc<ForgeKey>, JwksError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        // Everyone missing a kid queues here; the first fetches, the rest find its result.
        let mut last = self.refresh.lock().await;
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if let Some(prev) = last.as_ref()
            && prev.at.elapsed() < self.cooldown
        {
            return Err(if prev.ok {
                JwksError::UnknownKid
            } else {
                JwksError::Unavailable
            });
        }
        let at = Instant::now();
        let ok = self.fetch().await;
        *last = Some(LastFetch { at, ok });
        match self.cached(kid) {
            Some(key) => Ok(key),
            None if ok => Err(JwksError::UnknownKid),
            None => Err(JwksError::Unavailable),
        }
    }

    /// Fetches by outcome (for the metrics).
    pub fn meters(&self) -> &FetchMeters {
        &self.meters
    }

    /// How many times the JWKS was requested (for tests and diagnostics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn cached(&self, kid: &FitKid) -> Option<Arc<ForgeKey>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.get(kid.as_str()).cloned()
    }

    /// Fetches the document and replaces the map when it holds at least one usable key (keys
    /// Atlassian withdrew stop verifying). Otherwise the map is left as it was.
    async fn fetch(&self) -> bool {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = self.fetch_keys().await;
        match result {
            Ok(fresh) => {
                self.meters.record(FetchOutcome::Ok);
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
                true
            }
            Err(reason) => {
                self.meters.record(FetchOutcome::Failed);
                if let Some(suppressed) = self.failure_warnings.allow(WARN_EVERY) {
                    tracing::warn!(
                        reason,
                        suppressed,
                        "Forge JWKS fetch failed: keeping the cached keys"
                    );
                }
                false
            }
        }
    }

    async fn fetch_keys(&self) -> Result<HashMap<String, Arc<ForgeKey>>, &'static str> {
        let res = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|_| "unreachable")?;
        if res.status() != reqwest::StatusCode::OK {
            return Err("status not 200");
        }
        let body = key_fetch::read_capped(res, MAX_JWKS_BYTES)
            .await
            .map_err(|e| match e {
                key_fetch::BodyError::TooLarge => "too large",
                key_fetch::BodyError::Read => "body read failed",
            })?;
        let parsed = parse_jwks(&body).map_err(|_| "not a JWKS document")?;
        if !parsed.skipped.is_empty() {
            tracing::debug!(skipped = parsed.skipped.len(), "Forge JWKS: keys left out");
        }
        if parsed.keys.is_empty() {
            return Err("no usable RSA signing key");
        }
        Ok(parsed
            .keys
            .into_iter()
            .map(|(kid, key)| (kid.as_str().to_owned(), Arc::new(key)))
            .collect())
    }
}
