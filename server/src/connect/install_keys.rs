//! Atlassian's install public keys, fetched by `kid` from `CONNECT_INSTALL_KEYS_URL`. The kid is
//! validated before use and the URL built by concatenation; no redirects, a short timeout and a
//! capped body. Keys are cached by kid (a rotated key always gets a new kid). Never fails open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect::{InstallPublicKey, Kid, VerifyError, install_key_url};

const MAX_KEY_BYTES: usize = 16 * 1024;
const MAX_CACHED_KEYS: usize = 64;

pub struct InstallKeys {
    base_url: String,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Arc<InstallPublicKey>>>,
}

impl InstallKeys {
    pub fn new(base_url: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .user_agent(concat!(
                "confluence-preferences/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| format!("cannot build the install-key HTTP client: {e}"))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, kid: &Kid) -> Option<Arc<InstallPublicKey>> {
        self.cache.lock().ok()?.get(kid.as_str()).cloned()
    }

    /// The public key for `kid`: from the cache, or fetched. Any failure is an `InvalidKey`.
    pub async fn get(&self, kid: &Kid) -> Result<Arc<InstallPublicKey>, VerifyError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let url = install_key_url(&self.base_url, kid);
        let pem = self.fetch(&url).await.map_err(|reason| {
            tracing::warn!(kid = kid.as_str(), reason, "install key fetch failed");
            VerifyError::InvalidKey
        })?;
        let key = Arc::new(InstallPublicKey::from_pem(&pem)?);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED_KEYS {
                cache.clear();
            }
            cache.insert(kid.as_str().to_string(), key.clone());
        }
        Ok(key)
    }

    async fn fetch(&self, url: &str) -> Result<String, &'static str> {
        let mut res = self.http.get(url).send().await.map_err(|_| "unreachable")?;
        if res.status() != reqwest::StatusCode::OK {
            return Err("status not 200");
        }
        if res
            .content_length()
            .is_some_and(|len| len > MAX_KEY_BYTES as u64)
        {
            return Err("too large");
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|_| "body read failed")? {
            if body.len() + chunk.len() > MAX_KEY_BYTES {
                return Err("too large");
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| "not UTF-8")
    }
}
