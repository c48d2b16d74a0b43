//! Forge invocation tokens this process has already verified, by their exact text. The bridge
//! caches a FIT client-side and sends it again for its ~25 s life, so a hit skips the parse and
//! the RSA check. Only tokens that passed every check are kept (nobody can fill this with junk),
//! the token's expiry is checked again on every use, and the installation's state is not
//! remembered here: it is looked up on every call (`forge::Forge::authenticate`). Bounded in
//! bytes.

use std::sync::Arc;

use connect::forge::VerifiedFit;

use crate::cache::{MeteredCache, Weighed, weighed};
use crate::metrics::caches::CacheReading;

#[derive(Clone)]
struct Entry {
    fit: Arc<VerifiedFit>,
    token_len: usize,
}

impl Weighed for Entry {
    fn weight(&self) -> usize {
        // The key, and the claims read from it (no larger than the token's text).
        512 + 2 * self.token_len
    }
}

pub struct RememberedFits {
    entries: Arc<MeteredCache<Box<str>, Entry>>,
}

impl RememberedFits {
    /// Holds about `capacity_bytes` of tokens and what they proved.
    pub fn new(capacity_bytes: u64) -> Self {
        Self {
            entries: weighed(capacity_bytes, 2048),
        }
    }

    pub fn get(&self, token: &str) -> Option<Arc<VerifiedFit>> {
        self.entries.get(token).map(|e| e.fit)
    }

    pub fn insert(&self, token: &str, fit: Arc<VerifiedFit>) {
        let entry = Entry {
            fit,
            token_len: token.len(),
        };
        self.entries.insert(token.into(), entry);
    }

    pub fn remove(&self, token: &str) {
        self.entries.remove(token);
    }

    /// For the metrics.
    pub fn reading(&self) -> Arc<dyn CacheReading> {
        crate::cache::reading(&self.entries)
    }
}
