//! Atlassian's install public keys, fetched by `kid` from `CONNECT_INSTALL_KEYS_URL`. The kid is
//! validated before use and the URL built by concatenation; no redirects, a short timeout and a
//! capped body. Never fails open.
//!
//! Anyone can send `POST /installed` with a made-up kid, so strangers must not drive fetches:
//! - one fetch per kid at a time: concurrent requests for a kid wait for it and share its result;
//! - a kid the key server does not know (404/410, or no valid key) is refused from memory for
//!   `unknown_ttl`; other failures (unreachable, 5xx) are not remembered;
//! - at most `max_fetches` fetches at once: beyond that a request is refused without fetching
//!   (`KeyError::Busy`, 503 `key_service_busy`);
//! - failed fetches log at most one warning per `warn_every`, counting the ones left out.
//!
//! A key is trusted for `key_ttl`, then fetched again, so a key Atlassian withdraws stops
//! verifying without a restart. Both memories are bounded (quick_cache evicts single entries).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use connect::{InstallPublicKey, Kid, install_key_url};
use tokio::sync::{OnceCell, Semaphore};

use crate::key_fetch::{self, BodyError, Throttle};
use crate::metrics::keys::{FetchMeters, FetchOutcome};

const MAX_KEY_BYTES: usize = 16 * 1024;
/// Atlassian publishes a handful of keys at a time.
const MAX_CACHED_KEYS: usize = 64;
/// A stream of made-up kids pushes out only other made-up kids' entries (and keys live apart).
const MAX_UNKNOWN_KIDS: usize = 4096;

/// How long keys and unknown kids are remembered, and how much fetching may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallKeyPolicy {
    /// How long a fetched key is trusted (`CONNECT_INSTALL_KEY_TTL_SECS`).
    pub key_ttl: Duration,
    /// How long a kid the key server does not know is refused without asking again.
    pub unknown_ttl: Duration,
    /// Fetches in flight at once, over all kids.
    pub max_fetches: usize,
    /// At most one warning about failed fetches (and one about refusals) per this long.
    pub warn_every: Duration,
}

impl Default for InstallKeyPolicy {
    fn default() -> Self {
        Self {
            key_ttl: Duration::from_secs(24 * 60 * 60),
            unknown_ttl: Duration::from_secs(60),
            max_fetches: 8,
            warn_every: Duration::from_secs(60),
        }
    }
}

/// Why there is no key for a kid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Unknown kid, not a valid key, or the key server failed: the token cannot be verified.
    Invalid,
    /// Too many fetches in flight; nothing was fetched, the caller may retry.
    Busy,
}

/// What one fetch ended with, shared by every request that waited for it.
type Outcome = Result<Arc<InstallPublicKey>, KeyError>;

/// A fetch in progress and how many requests hold it.
struct Flight {
    outcome: Arc<OnceCell<Outcome>>,
    holders: usize,
}

pub struct InstallKeys {
    base_url: String,
    http: reqwest::Client,
    policy: InstallKeyPolicy,
    /// Keys by kid, with when they were fetched.
    keys: quick_cache::sync::Cache<String, (Arc<InstallPublicKey>, Instant)>,
    /// Kids the key server did not know, with when it said so.
    unknown: quick_cache::sync::Cache<String, Instant>,
    flights: Mutex<HashMap<String, Flight>>,
    fetches: Semaphore,
    failure_warnings: Throttle,
    busy_warnings: Throttle,
    meters: FetchMeters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl InstallKeys {
    pub fn new(base_url: &str, policy: InstallKeyPolicy) -> Result<Self, String> {
        let http = key_fetch::client("install-key")?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
            keys: quick_cache::sync::Cache::new(MAX_CACHED_KEYS),
            unknown: quick_cache::sync::Cache::new(MAX_UNKNOWN_KIDS),
            flights: Mutex::new(HashMap::new()),
            fetches: Semaphore::new(policy.max_fetches),
            failure_warnings: Throttle::default(),
            busy_warnings: Throttle::default(),
            meters: FetchMeters::default(),
            policy,
        })
    }

    /// Fetches by outcome (for the metrics).
    pub fn meters(&self) -> &FetchMeters {
        &self.meters
    }

    /// The public key for `kid`: remembered, or fetched (once, however many ask at a time).
    pub async fn get(&self, kid: &Kid) -> Outcome {
        if let Some(known) = self.remembered(kid) {
            return known;
        }
        let flight = self.join(kid);
        flight
            .outcome
            .get_or_init(|| self.fetch_once(kid))
            .await
            .clone()
    }

    /// A key still trusted, or a kid recently found unknown.
    fn remembered(&self, kid: &Kid) -> Option<Outcome> {
        let kid = kid.as_str();
        if let Some((key, fetched)) = self.keys.get(kid)
            && fetched.elapsed() < self.policy.key_ttl
        {
            return Some(Ok(key));
        }
        self.unknown
            .get(kid)
            .filter(|since| since.elapsed() < self.policy.unknown_ttl)
            .map(|_| Err(KeyError::Invalid))
    }

    /// The fetch in progress for `kid`, or a new one; held until the handle drops.
    fn join<'a>(&'a self, kid: &'a Kid) -> FlightHandle<'a> {
        let mut flights = lock(&self.flights);
        let flight = flights
            .entry(kid.as_str().to_owned())
            .or_insert_with(|| Flight {
                outcome: Arc::default(),
                holders: 0,
            });
        flight.holders += 1;
        FlightHandle {
            keys: self,
            kid: kid.as_str(),
            outcome: flight.outcome.clone(),
        }
    }

    /// Run by one request per flight (another takes over if it is cancelled).
    async fn fetch_once(&self, kid: &Kid) -> Outcome {
        // The flight before this one may have ended between our look and our joining.
        if let Some(known) = self.remembered(kid) {
            return known;
        }
        let Ok(_permit) = self.fetches.try_acquire() else {
            if let Some(suppressed) = self.busy_warnings.allow(self.policy.warn_every) {
                tracing::warn!(
                    max_fetches = self.policy.max_fetches,
                    suppressed,
                    "install key fetches at their limit: refusing installs with new kids"
                );
            }
            self.meters.record(FetchOutcome::Busy);
            return Err(KeyError::Busy);
        };
        let url = install_key_url(&self.base_url, kid);
        let fetched = self.fetch(&url).await.and_then(|pem| {
            InstallPublicKey::from_pem(&pem).map_err(|_| Miss::Unknown("not a valid key"))
        });
        match fetched {
            Ok(key) => {
                self.meters.record(FetchOutcome::Ok);
                let key = Arc::new(key);
                self.keys
                    .insert(kid.as_str().to_owned(), (key.clone(), Instant::now()));
                Ok(key)
            }
            Err(miss) => {
                let (Miss::Unknown(reason) | Miss::Failed(reason)) = miss;
                self.meters.record(match miss {
                    Miss::Unknown(_) => FetchOutcome::Unknown,
                    Miss::Failed(_) => FetchOutcome::Failed,
                });
                if let Some(suppressed) = self.failure_warnings.allow(self.policy.warn_every) {
                    tracing::warn!(
                        kid = kid.as_str(),
                        reason,
                        suppressed,
                        "install key fetch failed"
                    );
                }
                if let Miss::Unknown(_) = miss {
                    self.unknown.insert(kid.as_str().to_owned(), Instant::now());
                }
                Err(KeyError::Invalid)
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<String, Miss> {
        let failed = Miss::Failed;
        let res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|_| failed("unreachable"))?;
        match res.status() {
            reqwest::StatusCode::OK => {}
            reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::GONE => {
                return Err(Miss::Unknown("not found"));
            }
            _ => return Err(failed("status not 200")),
        }
        let body = key_fetch::read_capped(res, MAX_KEY_BYTES)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => Miss::Unknown("too large"),
                BodyError::Read => failed("body read failed"),
            })?;
        String::from_utf8(body).map_err(|_| Miss::Unknown("not UTF-8"))
    }
}

/// Why a fetch gave no key: the key server has none for the kid (remembered), or it could not
/// be asked properly (not remembered: the next request tries again).
#[derive(Debug, Clone, Copy)]
enum Miss {
    Unknown(&'static str),
    Failed(&'static str),
}

/// One request's hold on a flight. The last holder to leave removes it, and so does the first
/// to leave once it has an outcome: later requests then find that outcome remembered, or fetch
/// again after a failure that is not.
struct FlightHandle<'a> {
    keys: &'a InstallKeys,
    kid: &'a str,
    outcome: Arc<OnceCell<Outcome>>,
}

impl Drop for FlightHandle<'_> {
    fn drop(&mut self) {
        let mut flights = lock(&self.keys.flights);
        if let Some(flight) = flights.get_mut(self.kid)
            && Arc::ptr_eq(&flight.outcome, &self.outcome)
        {
            flight.holders -= 1;
            if flight.holders == 0 || self.outcome.initialized() {
                flights.remove(self.kid);
            }
        }
    }
}
