//! When to try a call to Atlassian again, and how long to wait: `Retry-After` (seconds or an
//! HTTP date) on 429 and 503, otherwise exponential backoff with full jitter, a bounded number
//! of retries, and one overall budget per call so a user's request never waits long. Pure.

use std::time::{Duration, SystemTime};

/// The retry policy of one outbound call.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff step; doubles each retry.
    pub base_delay: Duration,
    /// No single wait is longer than this, whatever `Retry-After` asks.
    pub max_delay: Duration,
    /// Everything (attempts and waits) fits in this.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            budget: Duration::from_secs(4),
        }
    }
}

/// `Retry-After` as a wait from `now`: delta-seconds or an HTTP date (a past date is 0).
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

impl RetryPolicy {
    /// The backoff before retry number `retry` (1-based) with no `Retry-After`: a uniformly
    /// random wait up to `base * 2^(retry-1)` ("full jitter"), capped. `unit` is in [0, 1).
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        exp.min(self.max_delay).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// How long to wait before retry number `retry`, or `None` to give up: retries used up,
    /// or the wait (asked or computed) would not leave time for the attempt in `remaining`.
    pub fn wait(
        &self,
        retry: u32,
        asked: Option<Duration>,
        remaining: Duration,
        unit: f64,
    ) -> Option<Duration> {
        if retry > self.max_retries {
            return None;
        }
        let wait = match asked {
            Some(asked) if asked > self.max_delay => return None,
            Some(asked) => asked,
            None => self.backoff(retry, unit),
        };
        // Leave at least a short attempt after the wait.
        (wait + Duration::from_millis(100) < remaining).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT")
            .unwrap_or(SystemTime::UNIX_EPOCH);
        assert_eq!(retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Wed, 21 Oct 2026 07:28:03 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2026 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "-1", "1.5", "soon", "Wed, 99 Oct 2026"] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.backoff(1, 0.999_999),
            Duration::from_millis(200).mul_f64(0.999_999)
        );
        assert_eq!(p.backoff(2, 0.5), Duration::from_millis(200));
        assert_eq!(p.backoff(3, 0.5), Duration::from_millis(400));
        assert_eq!(p.backoff(30, 1.0), p.max_delay, "capped, no overflow");
        assert_eq!(p.backoff(2, 0.0), Duration::ZERO);
    }

    #[test]
    fn gives_up_beyond_the_retries_the_cap_or_the_budget() {
        let p = RetryPolicy::default();
        let lots = Duration::from_secs(10);
        assert_eq!(
            p.wait(1, Some(Duration::from_secs(1)), lots, 0.5),
            Some(Duration::from_secs(1))
        );
        assert_eq!(p.wait(4, None, lots, 0.5), None, "three retries at most");
        assert_eq!(
            p.wait(1, Some(Duration::from_secs(30)), lots, 0.5),
            None,
            "asked more than the cap"
        );
        assert_eq!(
            p.wait(
                1,
                Some(Duration::from_secs(1)),
                Duration::from_millis(900),
                0.5
            ),
            None,
            "no time left for the attempt"
        );
    }
}
