//! Calls to Atlassian, by target kind (`confluence`, `oauth`, `personal_data`: the `Call`'s
//! fixed `kind`) and outcome (`ok` or an `OutboundError` code); the retries they took and the
//! 429 answers they met (each one, retried or not). The `Outbound` client owns its meters.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Call {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    kind: &'static str,
}

#[derive(Default)]
pub struct OutboundMeters {
    calls: Family<Call, Counter>,
    retries: Family<Kind, Counter>,
    rate_limited: Family<Kind, Counter>,
}

impl OutboundMeters {
    /// One call ended (`outcome`: `ok` or an error code), after `retries` retries.
    pub fn call(&self, kind: &'static str, outcome: &'static str, retries: u32) {
        self.calls.get_or_create(&Call { kind, outcome }).inc();
        if retries > 0 {
            (self.retries.get_or_create(&Kind { kind })).inc_by(u64::from(retries));
        }
    }

    /// Atlassian answered 429.
    pub fn rate_limited(&self, kind: &'static str) {
        self.rate_limited.get_or_create(&Kind { kind }).inc();
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "outbound_calls",
            "Calls to Atlassian, by target kind and outcome (after retries)",
            self.calls.clone(),
        );
        registry.register(
            "outbound_retries",
            "Retries of calls to Atlassian, by target kind",
            self.retries.clone(),
        );
        registry.register(
            "outbound_rate_limited",
            "429 answers from Atlassian, by target kind (each one, whether retried or not)",
            self.rate_limited.clone(),
        );
    }
}
