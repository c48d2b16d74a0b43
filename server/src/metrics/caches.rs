//! The in-process caches, read at each scrape: hits, misses, evictions (counted by the caches
//! themselves, `crate::cache::WeighedCache`), the bytes they hold (their weight, the unit of
//! their capacity) and their entries, each by cache name (`tenants`, `installations`,
//! `connect_tokens`, `forge_tokens`, `preferences`, `pages`). A cache that is off is absent.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

/// What a cache tells about itself.
pub trait CacheReading: Send + Sync {
    fn hits(&self) -> u64;
    fn misses(&self) -> u64;
    fn evictions(&self) -> u64;
    fn bytes(&self) -> u64;
    fn entries(&self) -> u64;
}

/// The caches of one server, by name.
pub type CacheList = Vec<(&'static str, Arc<dyn CacheReading>)>;

pub fn register(registry: &mut Registry, caches: CacheList) {
    registry.register_collector(Box::new(Caches(caches)));
}

struct Caches(CacheList);

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabel {
    cache: &'static str,
}

type Read = fn(&dyn CacheReading) -> u64;

impl Collector for Caches {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counters: [(&str, &str, Read); 3] = [
            ("cache_hits", "Lookups that found an entry.", |c| c.hits()),
            ("cache_misses", "Lookups that found none.", |c| c.misses()),
            (
                "cache_evictions",
                "Entries dropped to make room, or not kept for being too large (not invalidations).",
                |c| c.evictions(),
            ),
        ];
        for (name, help, read) in counters {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (cache, reading) in &self.0 {
                let label = CacheLabel { cache };
                ConstCounter::new(read(reading.as_ref())).encode(family.encode_family(&label)?)?;
            }
        }
        let gauges: [(&str, &str, Option<Unit>, Read); 2] = [
            (
                "cache",
                "What the cache holds, by its own estimate of each entry's size.",
                Some(Unit::Bytes),
                |c| c.bytes(),
            ),
            ("cache_entries", "Entries held.", None, |c| c.entries()),
        ];
        for (name, help, unit, read) in gauges {
            let mut family =
                encoder.encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?;
            for (cache, reading) in &self.0 {
                let label = CacheLabel { cache };
                let value = i64::try_from(read(reading.as_ref())).unwrap_or(i64::MAX);
                ConstGauge::new(value).encode(family.encode_family(&label)?)?;
            }
        }
        Ok(())
    }
}
