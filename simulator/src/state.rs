//! Everything a handler needs, shared as [`AppState`]: configuration, the signing key, Forge
//! (its own keys), the sites, the product API's state (issued OAuth tokens, faults, the
//! received log), the outbound HTTP client and the context-token lifetime (changeable at run
//! time).
//! Also the clock, so every token uses the same notion of "now".

use crate::config::Config;
use crate::forge::Forge;
use crate::http::{self, ClientError};
use crate::keys::{KeyError, SigningKey};
use crate::product::Product;
use crate::sites::Sites;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The shared simulator state.
pub type AppState = Arc<Simulator>;

/// The simulator: one per process (or per test).
#[derive(Debug)]
pub struct Simulator {
    /// Start-up configuration.
    pub config: Config,
    /// Our origin, e.g. `http://127.0.0.1:3100` (no trailing `/`).
    pub public_url: String,
    /// The install-signing key pair.
    pub key: SigningKey,
    /// Forge, unless `SIM_FORGE` is off.
    pub forge: Option<Forge>,
    /// The sites.
    pub sites: Sites,
    /// The product REST API and OAuth token endpoint.
    pub product: Product,
    /// Client for requests to the app.
    pub http: reqwest::Client,
    token_lifetime_secs: AtomicU64,
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Key generation failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Http(#[from] ClientError),
}

impl Simulator {
    /// Generates the key pairs and sets up the sites; `bound` is the listening address (the
    /// public URL unless configured otherwise).
    pub fn new(config: Config, bound: SocketAddr) -> Result<AppState, StartError> {
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        let forge = config.forge.clone().map(Forge::new).transpose()?;
        Ok(Arc::new(Self {
            key: SigningKey::generate()?,
            forge,
            sites: Sites::new(&public_url),
            product: Product::new(config.oauth_token_lifetime_secs),
            http: http::client()?,
            token_lifetime_secs: AtomicU64::new(config.token_lifetime_secs),
            public_url,
            config,
        }))
    }

    /// Current lifetime of new context tokens, in seconds.
    pub fn token_lifetime_secs(&self) -> u64 {
        self.token_lifetime_secs.load(Ordering::Relaxed)
    }

    /// Changes the lifetime of context tokens issued from now on (validated by the caller).
    pub fn set_token_lifetime_secs(&self, secs: u64) {
        self.token_lifetime_secs.store(secs, Ordering::Relaxed);
    }
}

/// Unix time in seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Unix time in milliseconds (expiry of OAuth access tokens, the received log).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
