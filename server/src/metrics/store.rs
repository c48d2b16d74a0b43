//! The store: the connection pool (size, in use, idle, the limit; read at each scrape),
//! preference saves by the outcome their caller was told, and the sizes of group-commit
//! batches (SQLite). The `Db` owns its [`StoreMeters`]; `Metrics::new` registers them.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sqlx::AnyPool;

use crate::db::Db;

/// What a save's caller was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved,
    /// The row was not at the revision the save was based on.
    Conflict,
    /// Not written (the store did not answer in time, or refused).
    Unavailable,
    /// Sent, result unknown when the caller was answered (it may have committed).
    OutcomeUnknown,
    /// A store error (a bug or bad data): 500.
    Failed,
}

const SAVE_OUTCOMES: [&str; 5] = [
    "saved",
    "conflict",
    "unavailable",
    "outcome_unknown",
    "failed",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone)]
pub struct StoreMeters {
    saves_family: Family<OutcomeLabel, Counter>,
    saves: [Counter; SAVE_OUTCOMES.len()],
    batch_sizes: Histogram,
}

impl Default for StoreMeters {
    fn default() -> Self {
        let saves_family = Family::<OutcomeLabel, Counter>::default();
        let saves = SAVE_OUTCOMES
            .map(|outcome| saves_family.get_or_create_owned(&OutcomeLabel { outcome }));
        Self {
            saves_family,
            saves,
            // A batch holds at most 64 saves (`db::group_commit`).
            batch_sizes: Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        }
    }
}

impl StoreMeters {
    pub fn save(&self, outcome: SaveOutcome) {
        let i = match outcome {
            SaveOutcome::Saved => 0,
            SaveOutcome::Conflict => 1,
            SaveOutcome::Unavailable => 2,
            SaveOutcome::OutcomeUnknown => 3,
            SaveOutcome::Failed => 4,
        };
        if let Some(counter) = self.saves.get(i) {
            counter.inc();
        }
    }

    /// A group-commit batch of `saves` saves was written.
    pub fn batch(&self, saves: usize) {
        self.batch_sizes
            .observe(f64::from(u32::try_from(saves).unwrap_or(u32::MAX)));
    }

    pub fn register(&self, registry: &mut Registry, db: &Db) {
        registry.register(
            "store_saves",
            "Preference saves, by the outcome their caller was told",
            self.saves_family.clone(),
        );
        registry.register(
            "store_group_commit_batch_saves",
            "Saves per group-commit batch (SQLite: one writer, saves arriving together commit together)",
            self.batch_sizes.clone(),
        );
        registry.register_collector(Box::new(Pool(db.pool().clone())));
    }
}

/// The pool's state, read at each scrape.
#[derive(Debug)]
struct Pool(AnyPool);

impl Collector for Pool {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let size = self.0.size();
        let idle = u32::try_from(self.0.num_idle()).unwrap_or(u32::MAX);
        let max = self.0.options().get_max_connections();
        for (name, help, value) in [
            (
                "store_pool_connections",
                "Connections the pool holds (open), in use or idle.",
                size,
            ),
            (
                "store_pool_connections_in_use",
                "Connections lent out now (at the limit, requests wait up to DATABASE_TIMEOUT_MS).",
                size.saturating_sub(idle),
            ),
            (
                "store_pool_connections_idle",
                "Open connections not in use.",
                idle,
            ),
            (
                "store_pool_max_connections",
                "The pool's limit (DATABASE_MAX_CONNECTIONS).",
                max,
            ),
        ] {
            let gauge = ConstGauge::new(i64::from(value));
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}
