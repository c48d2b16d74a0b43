//! The keys that sign Forge invocation tokens: one current key (it signs every new FIT) and up
//! to [`MAX_PUBLISHED_KEYS`] - 1 previous ones, all published by `GET /forge/jwks.json`.
//! Rotation makes a new current key; the previous stay published unless dropped, as a real key
//! rollover keeps old keys until the tokens they signed have expired. Counts JWKS fetches.

use crate::ids;
use crate::keys::{KeyError, SigningKey};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

/// Most keys in the JWKS at once (the current one included); older ones fall off on rotation.
pub const MAX_PUBLISHED_KEYS: usize = 4;
/// What every FIT kid starts with (Forge's form: `forge/invocation-token/wf-<uuid>`).
pub const FIT_KID_PREFIX: &str = "forge/invocation-token/wf-";

/// A fresh kid in Forge's form.
pub fn new_fit_kid() -> Result<String, KeyError> {
    Ok(format!(
        "{FIT_KID_PREFIX}{}",
        ids::random_uuid().map_err(KeyError::Random)?
    ))
}

#[derive(Debug)]
struct Ring {
    current: Arc<SigningKey>,
    /// Newest first.
    previous: Vec<Arc<SigningKey>>,
}

/// The FIT signing keys.
#[derive(Debug)]
pub struct ForgeKeys {
    ring: RwLock<Ring>,
    jwks_fetches: AtomicU64,
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    /// The new current kid: every FIT from now on carries it.
    pub kid: String,
    /// Every kid the JWKS now publishes, current first.
    pub published_kids: Vec<String>,
    /// Kids no longer published (dropped on request or beyond [`MAX_PUBLISHED_KEYS`]).
    pub dropped_kids: Vec<String>,
}

impl ForgeKeys {
    /// One fresh key (takes a moment).
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self {
            ring: RwLock::new(Ring {
                current: Arc::new(SigningKey::generate_with_kid(new_fit_kid()?)?),
                previous: Vec::new(),
            }),
            jwks_fetches: AtomicU64::new(0),
        })
    }

    fn ring(&self) -> RwLockReadGuard<'_, Ring> {
        // Plain data: a panic elsewhere cannot leave it half-updated.
        self.ring.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key that signs new FITs.
    pub fn current(&self) -> Arc<SigningKey> {
        self.ring().current.clone()
    }

    /// Every published kid, current first.
    pub fn kids(&self) -> Vec<String> {
        let ring = self.ring();
        std::iter::once(&ring.current)
            .chain(&ring.previous)
            .map(|k| k.kid().to_owned())
            .collect()
    }

    /// The JWKS document: `{"keys": [JWK, ...]}`, current key first.
    pub fn jwks(&self) -> Value {
        let ring = self.ring();
        let keys: Vec<Value> = std::iter::once(&ring.current)
            .chain(&ring.previous)
            .map(|k| k.public_jwk())
            .collect();
        json!({ "keys": keys })
    }

    /// Makes `key` current. The old current key stays published (unless `drop_previous`, which
    /// unpublishes every other key); beyond [`MAX_PUBLISHED_KEYS`] the oldest are unpublished.
    pub fn rotate_to(&self, key: SigningKey, drop_previous: bool) -> Rotation {
        let mut ring = self.ring.write().unwrap_or_else(PoisonError::into_inner);
        let old = std::mem::replace(&mut ring.current, Arc::new(key));
        ring.previous.insert(0, old);
        let keep = if drop_previous {
            0
        } else {
            MAX_PUBLISHED_KEYS - 1
        };
        let keep = keep.min(ring.previous.len());
        let dropped: Vec<String> = ring
            .previous
            .split_off(keep)
            .iter()
            .map(|k| k.kid().to_owned())
            .collect();
        drop(ring);
        Rotation {
            kid: self.current().kid().to_owned(),
            published_kids: self.kids(),
            dropped_kids: dropped,
        }
    }

    /// How often the JWKS was served.
    pub fn jwks_fetches(&self) -> u64 {
        self.jwks_fetches.load(Ordering::Relaxed)
    }
}

/// `GET /forge/jwks.json`: the published keys (404 `forge_disabled` with Forge off). Not
/// cacheable, so a rotation shows at once; each fetch is counted (`GET /api/forge`).
pub async fn serve_jwks(State(sim): State<AppState>) -> Response {
    match sim.forge() {
        Ok(forge) => {
            forge.keys.jwks_fetches.fetch_add(1, Ordering::Relaxed);
            (
                [(header::CACHE_CONTROL, "no-store")],
                Json(forge.keys.jwks()),
            )
                .into_response()
        }
        Err(e) => crate::api::ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect::forge::parse_jwks;

    #[test]
    fn jwks_publishes_what_the_verifier_accepts_and_rotation_keeps_the_previous() {
        let keys = ForgeKeys::generate().unwrap();
        let first = keys.current().kid().to_owned();
        assert!(first.starts_with(FIT_KID_PREFIX));
        assert!(connect::forge::FitKid::parse(&first).is_ok());

        let doc = keys.jwks().to_string();
        let parsed = parse_jwks(doc.as_bytes()).unwrap();
        assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        assert_eq!(parsed.keys.len(), 1);
        assert_eq!(parsed.keys[0].0.as_str(), first);
        assert_eq!(parsed.keys[0].1.bits(), 2048);
        let jwk = &keys.jwks()["keys"][0];
        assert_eq!(
            (&jwk["kty"], &jwk["alg"], &jwk["use"], &jwk["e"]),
            (
                &json!("RSA"),
                &json!("RS256"),
                &json!("sig"),
                &json!("AQAB")
            )
        );

        let second = SigningKey::generate_with_kid(new_fit_kid().unwrap()).unwrap();
        let second_kid = second.kid().to_owned();
        let r = keys.rotate_to(second, false);
        assert_eq!(r.kid, second_kid);
        assert_eq!(r.published_kids, [second_kid.clone(), first.clone()]);
        assert!(r.dropped_kids.is_empty());
        assert_eq!(keys.current().kid(), second_kid);
        assert_eq!(
            parse_jwks(keys.jwks().to_string().as_bytes())
                .unwrap()
                .keys
                .len(),
            2
        );
    }

    #[test]
    fn old_keys_fall_off_and_drop_previous_keeps_only_the_new_one() {
        let keys = ForgeKeys::generate().unwrap();
        let material = keys.current();
        let mut kids = vec![material.kid().to_owned()];
        for i in 0..MAX_PUBLISHED_KEYS {
            // The ring never looks inside a key: the same material under new kids will do.
            let key = material.same_key_as(format!("{FIT_KID_PREFIX}test-{i}"));
            kids.insert(0, key.kid().to_owned());
            let r = keys.rotate_to(key, false);
            assert!(r.published_kids.len() <= MAX_PUBLISHED_KEYS);
        }
        assert_eq!(keys.kids(), kids[..MAX_PUBLISHED_KEYS]);
        let last = material.same_key_as(format!("{FIT_KID_PREFIX}last"));
        let r = keys.rotate_to(last, true);
        assert_eq!(r.published_kids, [format!("{FIT_KID_PREFIX}last")]);
        assert_eq!(r.dropped_kids, kids[..MAX_PUBLISHED_KEYS]);
    }
}
