//! API tokens this process has already verified, by their exact text. A browser sends the same
//! context or session token with every call for minutes, so a hit skips the parse, the HMAC and
//! the qsh and kind checks, which depend on the token's bytes and the secret alone. What can
//! change between two uses is checked again on every one: the tenant's state (installed,
//! enabled) and its current secret, which must be the one the token was verified with, and the
//! token's times. Only tokens that passed every check are kept, so nobody can fill this with
//! junk; its size is bounded in bytes.

use std::sync::Arc;

use connect::Claims;

use super::secrets::SharedSecret;
use super::verifier::TokenKind;
use crate::cache::{MeteredCache, Weighed, weighed};
use crate::metrics::caches::CacheReading;

/// What a full verification established about a token.
pub struct Memo {
    pub claims: Claims,
    pub kind: TokenKind,
    /// The tenant secret that verified the signature.
    pub secret: SharedSecret,
}

#[derive(Clone)]
struct Entry {
    memo: Arc<Memo>,
    token_len: usize,
}

impl Weighed for Entry {
    fn weight(&self) -> usize {
        // The key, and claims decoded from it (no larger than the token's text).
        512 + 2 * self.token_len + self.memo.secret.as_bytes().len()
    }
}

pub struct VerifiedTokens {
    entries: Arc<MeteredCache<Box<str>, Entry>>,
}

impl VerifiedTokens {
    /// Holds about `capacity_bytes` of tokens and what they proved.
    pub fn new(capacity_bytes: u64) -> Self {
        Self {
            entries: weighed(capacity_bytes, 1024),
        }
    }

    pub fn get(&self, token: &str) -> Option<Arc<Memo>> {
        self.entries.get(token).map(|e| e.memo)
    }

    pub fn insert(&self, token: &str, memo: Memo) {
        let entry = Entry {
            memo: Arc::new(memo),
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
