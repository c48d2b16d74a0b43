//! Fetches of Atlassian's public keys (Connect install keys, the Forge JWKS), by outcome. Each
//! fetcher owns its meters ([`FetchMeters`]); `Metrics::new` registers them under its name.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// Keys read and usable.
    Ok,
    /// The server does not know the key (404, or not a usable key).
    Unknown,
    /// The key server failed: a connection error, a timeout, a status other than 200 or 404, an
    /// unreadable body.
    Failed,
    /// Not fetched: fetches at their limit (install keys only).
    Busy,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

pub struct FetchMeters {
    family: Family<OutcomeLabel, Counter>,
    /// By `FetchOutcome`, in its order.
    counters: [Counter; 4],
}

impl Default for FetchMeters {
    fn default() -> Self {
        let family = Family::<OutcomeLabel, Counter>::default();
        let counters = ["ok", "unknown", "failed", "busy"]
            .map(|outcome| family.get_or_create_owned(&OutcomeLabel { outcome }));
        Self { family, counters }
    }
}

impl FetchMeters {
    pub fn record(&self, outcome: FetchOutcome) {
        let i = match outcome {
            FetchOutcome::Ok => 0,
            FetchOutcome::Unknown => 1,
            FetchOutcome::Failed => 2,
            FetchOutcome::Busy => 3,
        };
        if let Some(counter) = self.counters.get(i) {
            counter.inc();
        }
    }

    pub fn register(&self, registry: &mut Registry, name: &str, help: &str) {
        registry.register(name, help, self.family.clone());
    }
}
