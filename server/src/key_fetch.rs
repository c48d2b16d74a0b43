//! What every fetch of Atlassian's public keys shares (Connect install keys, the Forge JWKS):
//! one HTTP client policy (no redirects, 2 s to connect, 5 s in all), bodies read up to a cap,
//! and warnings about failures throttled. Never logs a response body.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A client for key fetches: redirects are refused (a key server that redirects is not the
/// one configured), and a slow one fails fast rather than holding requests.
pub fn client(what: &str) -> Result<reqwest::Client, String> {
    // reqwest is built without a TLS provider of its own and panics without one: make sure
    // there is one (a no-op once `startup` installed it).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .user_agent(concat!(
            "confluence-preferences/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| format!("cannot build the {what} HTTP client: {e}"))
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Longer than the cap (announced or actual); reading stopped there.
    TooLarge,
    /// The connection failed while reading.
    Read,
}

/// The whole body, if it is at most `max` bytes; stops reading as soon as it is not.
pub async fn read_capped(mut res: reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    if res
        .content_length()
        .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > max))
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|_| BodyError::Read)? {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// At most one warning per period; the ones left out are counted and reported with the next.
#[derive(Default)]
pub struct Throttle(Mutex<(Option<Instant>, u64)>);

impl Throttle {
    /// `Some(warnings left out since the last one)` if a warning may be written now.
    pub fn allow(&self, every: Duration) -> Option<u64> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (last, suppressed) = &mut *state;
        if last.is_some_and(|at| at.elapsed() < every) {
            *suppressed += 1;
            return None;
        }
        *last = Some(Instant::now());
        Some(std::mem::take(suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_allows_one_per_period_and_counts_the_rest() {
        let throttle = Throttle::default();
        let every = Duration::from_millis(50);
        assert_eq!(throttle.allow(every), Some(0));
        assert_eq!(throttle.allow(every), None);
        assert_eq!(throttle.allow(every), None);
        std::thread::sleep(every);
        assert_eq!(throttle.allow(every), Some(2));
        assert_eq!(throttle.allow(every), None);
    }
}
