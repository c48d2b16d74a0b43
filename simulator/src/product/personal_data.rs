//! The personal data reporting API as a Connect app calls it: `POST
//! /sites/{site}/wiki/rest/atlassian-connect/latest/report-accounts` with the app's JWT for the
//! site (qsh relative to the site's baseUrl) and `{"accounts": [{"accountId", "updatedAt"}]}`,
//! at most [`MAX_ACCOUNTS`] (400 beyond). It answers 204 when nothing is to be done, 200 with
//! `{"accounts": [{"accountId", "status": "closed"}]}` for accounts marked closed (Atlassian's
//! documented test account [`SEED_CLOSED`], or any marked with `POST /api/personal-data/closed`),
//! and sets `Cycle-Period` when told to. 429/503 come from the fault rules. Every answered batch
//! is logged (`GET /api/personal-data/batches`) so tests can count them.

use super::atlassian_error;
use super::auth::{self, Principal, Surface};
use crate::api::find_site;
use crate::state::{AppState, now_ms};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The route, under each site's baseUrl.
pub const REPORT_PATH: &str = "/sites/{site}/wiki/rest/atlassian-connect/latest/report-accounts";
/// Most accounts one request may report.
pub const MAX_ACCOUNTS: usize = 90;
/// Closed from the start: the closed test account of Atlassian's user privacy guide.
pub const SEED_CLOSED: &str = "5be24ba3f91c106033269289";
/// Longest accountId accepted.
const MAX_ACCOUNT_ID: usize = 128;
/// Batches kept in the log.
const MAX_BATCHES: usize = 10_000;

/// One answered batch.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Batch {
    /// When it arrived (Unix ms).
    pub at: i64,
    /// The site's slug.
    pub site: String,
    /// The accountIds, in the order sent.
    pub accounts: Vec<String>,
    /// Those answered `closed`.
    pub closed: Vec<String>,
}

#[derive(Debug)]
struct Inner {
    closed: BTreeSet<String>,
    cycle_period: Option<String>,
    batches: Vec<Batch>,
}

/// The reporting API's state: closed accounts, the `Cycle-Period` to send, the batch log.
#[derive(Debug)]
pub struct PersonalData {
    inner: Mutex<Inner>,
}

impl Default for PersonalData {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                closed: BTreeSet::from([SEED_CLOSED.to_owned()]),
                cycle_period: None,
                batches: Vec::new(),
            }),
        }
    }
}

impl PersonalData {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks an account closed (every site: accounts are global).
    pub fn close(&self, account_id: &str) {
        self.lock().closed.insert(account_id.to_owned());
    }

    /// The batches answered so far, oldest first.
    pub fn batches(&self) -> Vec<Batch> {
        self.lock().batches.clone()
    }
}

#[derive(Debug, Deserialize)]
struct ReportBody {
    accounts: Vec<ReportedAccount>,
}

#[derive(Debug, Deserialize)]
struct ReportedAccount {
    #[serde(rename = "accountId")]
    account_id: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
}

/// `POST …/rest/atlassian-connect/latest/report-accounts`.
pub async fn report(
    State(sim): State<AppState>,
    Path(slug): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let site = match find_site(&sim, &slug) {
        Ok(site) => site,
        Err(e) => return e.into_response(),
    };
    let caller = match auth::authenticate(&sim, site, Surface::Site, &method, &uri, &headers) {
        Ok(caller) => caller,
        Err(refusal) => return refusal.into_response(),
    };
    if caller.principal != Principal::App {
        return atlassian_error(
            StatusCode::FORBIDDEN,
            "Connect apps report personal data with their app JWT",
        );
    }
    let Ok(body) = serde_json::from_slice::<ReportBody>(&body) else {
        return atlassian_error(
            StatusCode::BAD_REQUEST,
            "the body must be {\"accounts\": [{\"accountId\", \"updatedAt\"}]}",
        );
    };
    if body.accounts.is_empty() || body.accounts.len() > MAX_ACCOUNTS {
        return atlassian_error(
            StatusCode::BAD_REQUEST,
            format!("report between 1 and {MAX_ACCOUNTS} accounts per request"),
        );
    }
    for account in &body.accounts {
        let id_ok = !account.account_id.is_empty()
            && account.account_id.len() <= MAX_ACCOUNT_ID
            && (account.account_id.chars())
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':');
        // RFC 3339 UTC, as the API asks: 2026-12-06T17:00:00Z (fractions allowed).
        let at = account.updated_at.as_bytes();
        let at_ok = at.len() >= 20
            && at.get(4) == Some(&b'-')
            && at.get(10) == Some(&b'T')
            && at.last() == Some(&b'Z');
        if !id_ok || !at_ok {
            return atlassian_error(
                StatusCode::BAD_REQUEST,
                "each account needs an accountId and an RFC 3339 updatedAt",
            );
        }
    }
    let (closed, cycle_period) = {
        let mut inner = sim.product.personal_data.lock();
        let closed: Vec<String> = (body.accounts.iter())
            .filter(|a| inner.closed.contains(&a.account_id))
            .map(|a| a.account_id.clone())
            .collect();
        if inner.batches.len() >= MAX_BATCHES {
            inner.batches.remove(0);
        }
        inner.batches.push(Batch {
            at: now_ms(),
            site: site.slug.to_string(),
            accounts: body.accounts.iter().map(|a| a.account_id.clone()).collect(),
            closed: closed.clone(),
        });
        (closed, inner.cycle_period.clone())
    };
    let mut response = if closed.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        let accounts: Vec<Value> = (closed.iter())
            .map(|id| json!({"accountId": id, "status": "closed"}))
            .collect();
        Json(json!({ "accounts": accounts })).into_response()
    };
    if let Some(value) = cycle_period.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert("cycle-period", value);
    }
    response
}

/// `POST /api/personal-data/closed` `{"account_id"}`: answer `closed` for it from now on.
pub async fn mark_closed(State(sim): State<AppState>, Json(body): Json<Value>) -> Response {
    let Some(id) = body.get("account_id").and_then(Value::as_str) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "bad_request", "message": "account_id is required"})),
        )
            .into_response();
    };
    sim.product.personal_data.close(id);
    Json(json!({"closed": id})).into_response()
}

/// `POST /api/personal-data/cycle-period` `{"value": "P1D" | "86400" | null}`: the
/// `Cycle-Period` header of answers from now on (`null`: none).
pub async fn set_cycle_period(State(sim): State<AppState>, Json(body): Json<Value>) -> Response {
    let value = body.get("value").and_then(Value::as_str).map(str::to_owned);
    if value
        .as_deref()
        .is_some_and(|v| HeaderValue::from_str(v).is_err())
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "bad_request", "message": "not a header value"})),
        )
            .into_response();
    }
    sim.product.personal_data.lock().cycle_period = value.clone();
    Json(json!({ "cycle_period": value })).into_response()
}

/// `GET /api/personal-data/batches`: every answered batch, oldest first.
pub async fn list_batches(State(sim): State<AppState>) -> Response {
    Json(sim.product.personal_data.batches()).into_response()
}

/// `DELETE /api/personal-data/batches`.
pub async fn clear_batches(State(sim): State<AppState>) -> Response {
    let mut inner = sim.product.personal_data.lock();
    let cleared = inner.batches.len();
    inner.batches.clear();
    Json(json!({ "cleared": cleared })).into_response()
}
