//! The process: what build runs (version and commit) and since when.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

/// The commit this binary was built from: `APP_GIT_COMMIT` in the build's environment (CI or a
/// release script sets it), else "unknown". No build script: a clean clone builds as it is.
pub const COMMIT: &str = match option_env!("APP_GIT_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

pub fn register(registry: &mut Registry) {
    registry.register(
        "build",
        "The running build: crate version and git commit (always 1)",
        Info::new([("version", env!("CARGO_PKG_VERSION")), ("commit", COMMIT)]),
    );
    let start: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
    start.set(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    );
    registry.register_with_unit(
        "process_start_time",
        "When this server started, in seconds since the Unix epoch",
        Unit::Seconds,
        start,
    );
    registry.register_collector(Box::new(Uptime(Instant::now())));
}

/// Seconds since start, read at each scrape (a monotonic clock: immune to clock steps).
#[derive(Debug)]
struct Uptime(Instant);

impl Collector for Uptime {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauge = ConstGauge::new(self.0.elapsed().as_secs_f64());
        let metric = encoder.encode_descriptor(
            "uptime",
            "Seconds since this server started.",
            Some(&Unit::Seconds),
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}
