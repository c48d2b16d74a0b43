//! Personal data: the app stores preferences keyed by Atlassian accountId, so it reports every
//! stored account to Atlassian's personal data reporting API once per cycle, erases the data of
//! accounts Atlassian answers `closed` for, and deletes what uninstalled tenants left once
//! their retention passed (docs/DEPLOYMENT.md, "Personal data").
//!
//! One run ([`Runner::run`]): first the retention sweep (`db::personal_data::purge_uninstalled`),
//! then, tenant after tenant, the reporting cycle of each installed Connect tenant (signed app
//! calls to `PERSONAL_DATA_REPORT_PATH` under its baseUrl) and of each Forge installation on a
//! site without one (the stored app system token, `/app/report-accounts/`; skipped while no
//! token that still lives is held):
//! - its lease is taken (one instance at a time per tenant, `db::personal_data`); the
//!   background job ([`Mode::Due`]) only works tenants whose `next_at` came, `server
//!   personal-data --once` ([`Mode::Once`]) all of them now;
//! - a cycle that is running resumes after its last answered batch; otherwise a new one starts;
//! - its accounts go in accountId order, at most [`BATCH_SIZE`] per signed app call, with a
//!   pause between batches (`PERSONAL_DATA_BATCH_PAUSE_MS`: a bounded rate);
//! - each answered batch is stored (cursor, counters, `Cycle-Period`) before the next is sent,
//!   so a crash repeats at most the batch in flight; `closed` accounts are erased on that
//!   site (their row and every cached copy) before the batch counts as done;
//! - 429 and 503 wait as `Retry-After` says (short waits inside the call; longer ones pause the
//!   cycle until then); other failures pause it with backoff; no account is skipped either way;
//! - at the end one summary line per tenant, and the next cycle is due one cycle later
//!   (Atlassian's `Cycle-Period` when an answer stated one, else `PERSONAL_DATA_CYCLE_SECS`).

pub mod period;

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::connect::secrets::SharedSecret;
use crate::connect::verifier::Tenant;
use crate::db::now;
use crate::db::personal_data::{self as store, BatchDone, Lease, Purged, StoredAccount};
use crate::forge::app_tokens;
use crate::outbound::send::{Call, Credential, Destination};
use crate::outbound::{OutboundError, RetryPolicy};
use crate::state::AppState;
use connect::outbound::ProductTarget;
use period::{PeriodForm, parse_cycle_period, rfc3339};

/// Accounts per request: the API takes at most 90.
pub const BATCH_SIZE: usize = 90;
/// How long a lease lasts without a stored batch renewing it (a crashed instance's tenants are
/// taken over after this).
pub const LEASE: Duration = Duration::from_secs(300);
/// The wait after a 429 or 503 that stated no usable `Retry-After`.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(60);
/// `--once` waits out a `Retry-After` up to this long; a longer one ends the tenant's run.
const ONCE_MAX_WAIT: Duration = Duration::from_secs(60);
/// `--once` tries one batch at most this many times.
const ONCE_MAX_ATTEMPTS: u32 = 5;

/// The retry policy of one report call: a background job may wait longer than a user's request.
fn report_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(10),
        budget: Duration::from_secs(30),
    }
}

/// The pause after a failure other than 429/503: 5 minutes, doubling with each error of the
/// cycle, at most a day.
fn error_backoff(errors: i64) -> Duration {
    let doublings = u32::try_from(errors.clamp(0, 9)).unwrap_or(9);
    Duration::from_secs(300)
        .saturating_mul(1 << doublings)
        .min(Duration::from_secs(86_400))
}

/// Which tenants a run works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every installed tenant now (`server personal-data --once`): a running cycle resumes, a
    /// finished one starts again early; a cycle paused by `Retry-After` or backoff still waits
    /// for its time (it counts as not answered); `Retry-After` waits up to a minute are waited
    /// out.
    Once,
    /// Tenants whose next step is due (the background job).
    Due,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Tenants whose cycle completed in this run.
    pub cycles: usize,
    /// Batches Atlassian answered.
    pub batches: u64,
    /// Tenants left unfinished by a failure (a batch not answered, the store unavailable).
    pub failed: u64,
    /// Tenants another instance held (`Once` only).
    pub busy: usize,
    /// Forge installations without a usable app system token (not reported; not a failure).
    pub skipped: usize,
    pub closed: u64,
    pub erased: u64,
    /// The retention sweep.
    pub purged: Purged,
}

impl RunSummary {
    /// Every batch was answered (the CLI's exit status).
    pub fn complete(&self) -> bool {
        self.failed == 0
    }
}

/// The counters of a tenant's cycle.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    reported: i64,
    closed: i64,
    erased: i64,
    errors: i64,
}

/// What an answered batch said.
struct Answer {
    /// Accounts of the batch Atlassian reported closed.
    closed: Vec<String>,
    cycle_period: Option<(Duration, PeriodForm)>,
}

/// Who reports a site's accounts.
enum Reporter {
    /// A Connect tenant, with its app JWT.
    Connect { client_key: String },
    /// A Forge installation, with the app system token Forge last sent (`forge::app_tokens`).
    Forge {
        installation_id: String,
        token_enc: String,
        token_exp: i64,
    },
}

/// One reporting target: its progress row's key, its site and its reporter.
struct Target {
    /// The client key (Connect) or `forge:<installationId>`.
    key: String,
    site_id: String,
    reporter: Reporter,
}

/// The credential of one target's run.
enum Access {
    Connect(Tenant),
    Forge { token: SharedSecret, url: url::Url },
}

/// A Forge system token is used only if it still lives this long.
const TOKEN_MARGIN_SECS: i64 = 120;

/// Runs the job as one instance (its lease owner id).
pub struct Runner {
    state: AppState,
    owner: String,
}

impl Runner {
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            owner: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// The retention sweep, then the reporting cycle of each installed Connect tenant and of
    /// each Forge installation holding an app system token on a site without one.
    pub async fn run(&self, mode: Mode) -> RunSummary {
        let mut summary = RunSummary::default();
        self.purge(&mut summary).await;
        let db = &self.state.db;
        let mut targets = Vec::new();
        match store::reporting_tenants(db).await {
            Ok(tenants) => targets.extend(tenants.into_iter().map(|t| Target {
                key: t.client_key.clone(),
                site_id: t.site_id,
                reporter: Reporter::Connect {
                    client_key: t.client_key,
                },
            })),
            Err(e) => {
                tracing::warn!(target: "personal_data", error = %e, "cannot list tenants");
                summary.failed += 1;
            }
        }
        if self.state.forge.is_some() {
            match store::reporting_installations(db).await {
                Ok(installations) => targets.extend(installations.into_iter().map(|i| Target {
                    key: format!("forge:{}", i.installation_id),
                    site_id: i.site_id,
                    reporter: Reporter::Forge {
                        installation_id: i.installation_id,
                        token_enc: i.token_enc,
                        token_exp: i.token_exp,
                    },
                })),
                Err(e) => {
                    tracing::warn!(target: "personal_data", error = %e,
                        "cannot list Forge installations");
                    summary.failed += 1;
                }
            }
        }
        for target in targets {
            self.report_tenant(&target, mode, &mut summary).await;
        }
        self.state.metrics.jobs.run(summary.complete());
        summary
    }

    /// The credential for `target`'s calls, or why there is none.
    fn access_forge(&self, installation_id: &str, token_enc: &str) -> Result<Access, String> {
        let secrets = self.state.verifier.secrets();
        let token = secrets
            .decrypt(&app_tokens::aad(installation_id), token_enc)
            .map_err(|e| format!("the app system token does not decrypt: {e}"))?;
        let prefix = (self.state.config.forge.as_ref())
            .map(|f| f.api_base_url_prefix.as_str())
            .ok_or("Forge is off")?;
        let url = url::Url::parse(prefix)
            .and_then(|u| u.join("/app/report-accounts/"))
            .map_err(|e| format!("no report URL: {e}"))?;
        Ok(Access::Forge { token, url })
    }

    async fn purge(&self, summary: &mut RunSummary) {
        let retention = self.state.config.personal_data.uninstalled_retention;
        let cutoff = now().saturating_sub(i64::try_from(retention.as_secs()).unwrap_or(i64::MAX));
        match store::purge_uninstalled(&self.state.db, cutoff).await {
            Ok(purged) => {
                if purged.tenants > 0 || !purged.sites.is_empty() || purged.forge_tokens > 0 {
                    // Deleted tenant rows may be cached (as uninstalled): drop them too.
                    self.state.forget_site_caches();
                    for site in &purged.sites {
                        self.state.forget_deleted_site(site);
                    }
                    tracing::info!(
                        target: "personal_data",
                        tenants = purged.tenants,
                        sites = purged.sites.len(),
                        preferences = purged.preferences,
                        forge_tokens = purged.forge_tokens,
                        retention_days = retention.as_secs() / 86_400,
                        "uninstalled tenants' data deleted"
                    );
                }
                summary.purged = purged;
            }
            Err(e) => {
                tracing::warn!(target: "personal_data", error = %e, "retention sweep failed");
                summary.failed += 1;
            }
        }
    }

    async fn report_tenant(&self, t: &Target, mode: Mode, summary: &mut RunSummary) {
        let db = &self.state.db;
        let config = &self.state.config.personal_data;
        let lease_until = || now() + count(LEASE.as_secs());
        let key = t.key.as_str();
        if let Reporter::Forge { token_exp, .. } = &t.reporter
            && *token_exp <= now() + TOKEN_MARGIN_SECS
        {
            // Forge sends a token with its events only: none is held between them.
            tracing::info!(target: "personal_data", tenant = key,
                "no usable app system token held; Forge installation not reported now");
            summary.skipped += 1;
            return;
        }
        let progress = match store::take_lease(
            db,
            key,
            &self.owner,
            lease_until(),
            mode == Mode::Once,
        )
        .await
        {
            Ok(Lease::Taken(progress)) => progress,
            Ok(Lease::Busy) => {
                if mode == Mode::Once {
                    summary.busy += 1;
                }
                return;
            }
            Ok(Lease::NotDue) => {
                if mode == Mode::Once {
                    // A cycle paused by Retry-After or backoff: not answered yet.
                    tracing::info!(target: "personal_data", tenant = key,
                            "personal-data cycle paused until later; not resumed now");
                    summary.failed += 1;
                }
                return;
            }
            Err(e) => {
                tracing::warn!(target: "personal_data", tenant = key, error = %e,
                        "cannot take the reporting lease");
                summary.failed += 1;
                return;
            }
        };
        let mut counts = Counts {
            reported: progress.reported,
            closed: progress.closed,
            erased: progress.erased,
            errors: progress.errors,
        };
        // Pauses the cycle (its cursor kept) and ends this tenant's run.
        let pause = |wait: Duration, errors: i64| async move {
            let next_at = now() + i64::try_from(wait.as_secs()).unwrap_or(i64::MAX / 2);
            if let Err(e) = store::pause_cycle(db, key, &self.owner, next_at, errors).await {
                tracing::warn!(target: "personal_data", tenant = key, error = %e,
                    "cannot store the paused cycle (the lease expires instead)");
            }
        };
        let access = match &t.reporter {
            Reporter::Connect { client_key } => {
                match self.state.verifier.installed_tenant(client_key).await {
                    Ok(tenant) => Ok(Access::Connect(tenant)),
                    Err(e) => Err(format!("{e:?}")),
                }
            }
            Reporter::Forge {
                installation_id,
                token_enc,
                ..
            } => self.access_forge(installation_id, token_enc),
        };
        let access = match access {
            Ok(access) => access,
            Err(error) => {
                tracing::warn!(target: "personal_data", tenant = key, %error,
                    "tenant not usable for reporting");
                pause(error_backoff(counts.errors), 1).await;
                summary.failed += 1;
                return;
            }
        };
        let mut period = progress
            .cycle_period_secs
            .and_then(|s| u64::try_from(s).ok())
            .map_or(config.default_cycle, Duration::from_secs);
        let mut cursor = progress.last_account;
        if progress.cycle_started_at.is_none() {
            match store::start_cycle(db, key, &self.owner, now()).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(target: "personal_data", tenant = key, error = %e,
                        "cannot start a cycle");
                    pause(error_backoff(counts.errors), 1).await;
                    summary.failed += 1;
                    return;
                }
            }
            counts = Counts::default();
            cursor = None;
        }
        let mut attempts = 0;
        loop {
            let batch =
                match store::accounts_after(db, &t.site_id, cursor.as_deref(), count(BATCH_SIZE))
                    .await
                {
                    Ok(batch) => batch,
                    Err(e) => {
                        tracing::warn!(target: "personal_data", tenant = key, error = %e,
                        "cannot read stored accounts");
                        pause(error_backoff(counts.errors), 1).await;
                        summary.failed += 1;
                        return;
                    }
                };
            let Some(last) = batch.last().map(|a| a.account_id.clone()) else {
                let next_at = now() + i64::try_from(period.as_secs()).unwrap_or(i64::MAX / 2);
                if let Err(e) = store::finish_cycle(db, key, &self.owner, next_at).await {
                    tracing::warn!(target: "personal_data", tenant = key, error = %e,
                        "cannot store the finished cycle");
                    summary.failed += 1;
                    return;
                }
                tracing::info!(
                    target: "personal_data",
                    tenant = key,
                    site_id = %t.site_id,
                    reported = counts.reported,
                    closed = counts.closed,
                    erased = counts.erased,
                    errors = counts.errors,
                    next_cycle_secs = period.as_secs(),
                    "personal-data cycle done"
                );
                summary.cycles += 1;
                return;
            };
            let answer = match self.report_batch(&access, &batch).await {
                Ok(answer) => answer,
                Err(e) => {
                    let (wait, errors) = match &e {
                        OutboundError::RateLimited { retry_after } => {
                            (retry_after.unwrap_or(DEFAULT_RETRY_WAIT), 0)
                        }
                        OutboundError::Unavailable | OutboundError::Timeout => {
                            (DEFAULT_RETRY_WAIT, 1)
                        }
                        _ => (error_backoff(counts.errors), 1),
                    };
                    counts.errors += errors;
                    // `--once` waits out a stated, short Retry-After; anything else ends the
                    // tenant's run (the cycle resumes from its cursor later).
                    let stated = matches!(
                        e,
                        OutboundError::RateLimited {
                            retry_after: Some(_)
                        }
                    );
                    if mode == Mode::Once
                        && stated
                        && wait <= ONCE_MAX_WAIT
                        && attempts < ONCE_MAX_ATTEMPTS
                    {
                        attempts += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    tracing::warn!(
                        target: "personal_data",
                        tenant = key,
                        error = e.code(),
                        retry_in_secs = wait.as_secs(),
                        reported = counts.reported,
                        "personal-data cycle paused"
                    );
                    pause(wait, errors).await;
                    summary.failed += 1;
                    return;
                }
            };
            attempts = 0;
            let mut erased = 0;
            for account in &answer.closed {
                match store::erase_account(db, &t.site_id, account).await {
                    Ok(found) => {
                        self.state.forget_user_caches(&t.site_id, account);
                        erased += i64::from(found);
                    }
                    Err(e) => {
                        // The batch is not done: it is reported (and erased) again.
                        tracing::warn!(target: "personal_data", tenant = key, error = %e,
                            "cannot erase a closed account");
                        pause(error_backoff(counts.errors), 1).await;
                        summary.failed += 1;
                        return;
                    }
                }
            }
            if let Some((stated, form)) = answer.cycle_period {
                if stated != period {
                    tracing::info!(target: "personal_data", tenant = key,
                        cycle_secs = stated.as_secs(), form = form.as_str(),
                        "Atlassian stated the reporting cycle");
                }
                period = stated;
            }
            let done = BatchDone {
                last_account: last.clone(),
                reported: count(batch.len()),
                closed: count(answer.closed.len()),
                erased,
                cycle_period_secs: answer
                    .cycle_period
                    .map(|(p, _)| i64::try_from(p.as_secs()).unwrap_or(i64::MAX)),
                lease_until: lease_until(),
            };
            match store::batch_done(db, key, &self.owner, &done).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(target: "personal_data", tenant = key,
                        "the reporting lease was lost; another instance goes on");
                    summary.failed += 1;
                    return;
                }
                Err(e) => {
                    tracing::warn!(target: "personal_data", tenant = key, error = %e,
                        "cannot store a reported batch (it is reported again)");
                    summary.failed += 1;
                    return;
                }
            }
            (self.state.metrics.jobs).batch(
                u64::try_from(done.reported).unwrap_or(0),
                u64::try_from(erased).unwrap_or(0),
            );
            counts.reported += done.reported;
            counts.closed += done.closed;
            counts.erased += erased;
            summary.batches += 1;
            summary.closed += u64::try_from(done.closed).unwrap_or_default();
            summary.erased += u64::try_from(erased).unwrap_or_default();
            cursor = Some(last);
            if !config.batch_pause.is_zero() {
                tokio::time::sleep(config.batch_pause).await;
            }
        }
    }

    /// One report call for `batch`: Connect, signed with the app's JWT under the tenant's
    /// baseUrl; Forge, with the app system token at `/app/report-accounts/`.
    async fn report_batch(
        &self,
        access: &Access,
        batch: &[StoredAccount],
    ) -> Result<Answer, OutboundError> {
        let outbound = &self.state.outbound;
        let accounts: Vec<_> = batch
            .iter()
            .map(|a| json!({"accountId": a.account_id, "updatedAt": rfc3339(a.updated_at)}))
            .collect();
        let body = Some((
            "application/json",
            json!({ "accounts": accounts }).to_string(),
        ));
        let call = match access {
            Access::Connect(tenant) => {
                let path = &self.state.config.personal_data.report_path;
                let target = ProductTarget::resolve(&tenant.base_url, path)
                    .map_err(|_| OutboundError::OutsideTenant)?;
                Call {
                    kind: "personal_data",
                    method: Method::POST,
                    destination: Destination::Product(target),
                    credential: Credential::App {
                        app_key: &outbound.config().app_key,
                        secret: tenant.secret.as_bytes(),
                    },
                    body,
                }
            }
            Access::Forge { token, url } => Call {
                kind: "personal_data",
                method: Method::POST,
                destination: Destination::Fixed(url.clone()),
                credential: Credential::Bearer(
                    std::str::from_utf8(token.as_bytes())
                        .map_err(|_| OutboundError::NotPossible("a token that is not text"))?,
                ),
                body,
            },
        };
        let reply = outbound.send_with(call, report_policy()).await?;
        let cycle_period = (reply.headers.get("cycle-period"))
            .and_then(|v| v.to_str().ok())
            .and_then(parse_cycle_period);
        if reply.status == 204 || reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Answer {
                closed: Vec::new(),
                cycle_period,
            });
        }
        #[derive(Deserialize)]
        struct Body {
            accounts: Vec<Status>,
        }
        #[derive(Deserialize)]
        struct Status {
            #[serde(rename = "accountId")]
            account_id: String,
            status: String,
        }
        let body: Body =
            serde_json::from_slice(&reply.body).map_err(|_| OutboundError::BadResponse)?;
        let mut closed: Vec<String> = Vec::new();
        for status in body.accounts {
            // Only accounts of this batch: an answer never erases anything else.
            if status.status == "closed"
                && batch.iter().any(|a| a.account_id == status.account_id)
                && !closed.contains(&status.account_id)
            {
                closed.push(status.account_id);
            }
        }
        Ok(Answer {
            closed,
            cycle_period,
        })
    }
}

/// One full run now for every tenant (`server personal-data --once`, tests).
pub async fn run_once(state: &AppState) -> RunSummary {
    Runner::new(state.clone()).run(Mode::Once).await
}

/// The background job: a run of due work every `PERSONAL_DATA_INTERVAL_SECS` (none when 0),
/// the first one interval after start. Aborted at shutdown: progress is stored per batch.
pub fn spawn(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let interval = state.config.personal_data.interval;
    if interval.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let runner = Runner::new(state);
        loop {
            tokio::time::sleep(interval).await;
            let summary = runner.run(Mode::Due).await;
            tracing::debug!(target: "personal_data", ?summary, "personal-data run");
        }
    }))
}

/// A count as the store keeps it (`BIGINT`); saturates, which no real count reaches.
fn count(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_backoff_grows_and_is_capped() {
        assert_eq!(error_backoff(0), Duration::from_secs(300));
        assert_eq!(error_backoff(1), Duration::from_secs(600));
        assert_eq!(error_backoff(50), Duration::from_secs(86_400));
        assert_eq!(error_backoff(-3), Duration::from_secs(300));
    }
}
