//! The personal-data job: runs by result, when a run last completed, and the accounts it
//! reported to Atlassian and erased (closed accounts' data).

use std::sync::atomic::AtomicU64;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

pub struct JobMeters {
    complete: Counter,
    incomplete: Counter,
    last_complete: Gauge<f64, AtomicU64>,
    reported: Counter,
    erased: Counter,
}

impl JobMeters {
    pub fn new(registry: &mut Registry) -> Self {
        let runs = Family::<ResultLabel, Counter>::default();
        let meters = Self {
            complete: runs.get_or_create_owned(&ResultLabel { result: "complete" }),
            incomplete: runs.get_or_create_owned(&ResultLabel {
                result: "incomplete",
            }),
            last_complete: Gauge::default(),
            reported: Counter::default(),
            erased: Counter::default(),
        };
        registry.register(
            "personal_data_runs",
            "Runs of the personal-data job: complete (every batch answered) or incomplete (resumed at the next run)",
            runs,
        );
        registry.register_with_unit(
            "personal_data_last_complete_run_timestamp",
            "When a run of the personal-data job last completed, in seconds since the Unix epoch (0: not yet)",
            Unit::Seconds,
            meters.last_complete.clone(),
        );
        registry.register(
            "personal_data_accounts_reported",
            "Accounts reported to Atlassian's personal data reporting API",
            meters.reported.clone(),
        );
        registry.register(
            "personal_data_accounts_erased",
            "Accounts whose data was erased because Atlassian reported them closed",
            meters.erased.clone(),
        );
        meters
    }

    /// A batch was answered and stored.
    pub fn batch(&self, reported: u64, erased: u64) {
        self.reported.inc_by(reported);
        self.erased.inc_by(erased);
    }

    pub fn run(&self, complete: bool) {
        if complete {
            self.complete.inc();
            self.last_complete.set(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64()),
            );
        } else {
            self.incomplete.inc();
        }
    }
}
