//! Injected failures for the product routes and the token endpoint: an error status (429/503
//! with `Retry-After`, any 4xx/5xx), a slow answer, a redirect. Rules match a path prefix (and
//! optionally a Host), apply in the order added, each for `times` requests or until cleared,
//! and run before any auth, so they work with any credentials.

use super::atlassian_error;
use crate::api::{ApiError, optional_json};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Longest delay a rule may ask for.
pub const MAX_DELAY_MILLIS: u64 = 120_000;

/// What a rule does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answers this status (4xx/5xx), with `Retry-After` when given.
    Status {
        /// The status.
        status: StatusCode,
        /// `Retry-After`: seconds or an HTTP date, sent as given.
        retry_after: Option<String>,
    },
    /// Waits, then lets the request through (or on to the next rule).
    Delay(Duration),
    /// Answers a redirect to `location`, sent as given.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        status: StatusCode,
        /// Absolute URL or path.
        location: String,
    },
}

/// One rule.
#[derive(Debug, Clone)]
struct Rule {
    id: u64,
    path_prefix: String,
    host: Option<String>,
    action: Action,
    times: Option<u64>,
    remaining: Option<u64>,
    hits: u64,
}

impl Rule {
    fn matches(&self, path: &str, host: Option<&str>) -> bool {
        self.remaining != Some(0)
            && path.starts_with(&self.path_prefix)
            && self
                .host
                .as_deref()
                .is_none_or(|want| host.is_some_and(|h| h.eq_ignore_ascii_case(want)))
    }

    fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "path_prefix": self.path_prefix,
            "host": self.host,
            "times": self.times,
            "remaining": self.remaining,
            "hits": self.hits,
        });
        match &self.action {
            Action::Status {
                status,
                retry_after,
            } => {
                v["kind"] = json!("status");
                v["status"] = json!(status.as_u16());
                v["retry_after"] = json!(retry_after);
            }
            Action::Delay(delay) => {
                v["kind"] = json!("delay");
                v["millis"] = json!(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
            }
            Action::Redirect { status, location } => {
                v["kind"] = json!("redirect");
                v["status"] = json!(status.as_u16());
                v["location"] = json!(location);
            }
        }
        v
    }
}

/// What the rules decided for one request.
#[derive(Debug, Default)]
pub struct Decision {
    /// Total delay of the delay rules that matched (before the answering rule, if any).
    pub delay: Duration,
    /// The answer of a status or redirect rule; `None` lets the request through.
    pub answer: Option<Answer>,
    /// The id of the rule that answered.
    pub answered_by: Option<u64>,
}

/// An injected answer.
#[derive(Debug)]
pub struct Answer {
    rule: u64,
    action: Action,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self.action {
            Action::Status {
                status,
                retry_after,
            } => {
                let mut response = atlassian_error(
                    status,
                    format!("injected by the simulator (fault {})", self.rule),
                );
                if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            Action::Redirect { status, location } => {
                let mut response = status.into_response();
                if let Ok(value) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(header::LOCATION, value);
                }
                response
            }
            Action::Delay(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

/// The rules, in the order added.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    /// Ids keep counting after a clear, so an old id never names a new rule.
    last_id: AtomicU64,
}

impl Faults {
    fn rules(&self) -> MutexGuard<'_, Vec<Rule>> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a rule at the end; answers its id.
    pub fn add(&self, spec: FaultSpec) -> u64 {
        let id = self.last_id.fetch_add(1, Ordering::Relaxed) + 1;
        self.rules().push(Rule {
            id,
            path_prefix: spec.path_prefix,
            host: spec.host,
            action: spec.action,
            times: spec.times,
            remaining: spec.times,
            hits: 0,
        });
        id
    }

    /// Goes through the rules in order: each matching delay rule adds its delay, the first
    /// matching status or redirect rule answers and ends the walk. Every rule used counts one.
    pub fn apply(&self, path: &str, host: Option<&str>) -> Decision {
        let mut decision = Decision::default();
        for rule in self.rules().iter_mut() {
            if !rule.matches(path, host) {
                continue;
            }
            rule.remaining = rule.remaining.map(|n| n - 1);
            rule.hits += 1;
            match &rule.action {
                Action::Delay(delay) => decision.delay += *delay,
                action => {
                    decision.answer = Some(Answer {
                        rule: rule.id,
                        action: action.clone(),
                    });
                    decision.answered_by = Some(rule.id);
                    break;
                }
            }
        }
        decision
    }

    /// Every rule as JSON, with its remaining count and hits.
    pub fn list(&self) -> Vec<Value> {
        self.rules().iter().map(Rule::json).collect()
    }

    /// Removes every rule; answers how many there were.
    pub fn clear(&self) -> usize {
        let mut rules = self.rules();
        let n = rules.len();
        rules.clear();
        n
    }
}

/// A checked rule, ready to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpec {
    /// Requests whose path starts with this.
    pub path_prefix: String,
    /// Only requests naming this Host (`host:port`, any case), if set.
    pub host: Option<String>,
    /// What to do.
    pub action: Action,
    /// How many requests it affects; `None` = until cleared.
    pub times: Option<u64>,
}

/// The JSON a test posts; every field but `path_prefix` and `kind` depends on the kind.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    path_prefix: Option<String>,
    kind: Option<String>,
    host: Option<String>,
    times: Option<u64>,
    status: Option<u16>,
    retry_after: Option<Value>,
    millis: Option<u64>,
    location: Option<String>,
}

impl FaultRequest {
    /// Checks the request; the error says what is wrong.
    pub fn check(self) -> Result<FaultSpec, String> {
        let path_prefix = self
            .path_prefix
            .filter(|p| p.starts_with('/'))
            .ok_or("path_prefix is required and must start with '/'")?;
        if self.times == Some(0) {
            return Err("times must be at least 1 (leave it out for \"until cleared\")".into());
        }
        let only = |allowed: &[&str]| -> Result<(), String> {
            let given = [
                ("status", self.status.is_some()),
                ("retry_after", self.retry_after.is_some()),
                ("millis", self.millis.is_some()),
                ("location", self.location.is_some()),
            ];
            match given
                .iter()
                .find(|(name, set)| *set && !allowed.contains(name))
            {
                Some((name, _)) => Err(format!("{name} does not belong to this kind")),
                None => Ok(()),
            }
        };
        let action = match self.kind.as_deref() {
            Some("status") => {
                only(&["status", "retry_after"])?;
                let status = self
                    .status
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .filter(|s| s.is_client_error() || s.is_server_error())
                    .ok_or("status must be a 4xx or 5xx code")?;
                let retry_after = match self.retry_after {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
                    Some(Value::String(s))
                        if !s.trim().is_empty() && HeaderValue::from_str(&s).is_ok() =>
                    {
                        Some(s)
                    }
                    Some(_) => {
                        return Err(
                            "retry_after must be seconds (\"2\" or 2), an HTTP date or null".into(),
                        );
                    }
                };
                Action::Status {
                    status,
                    retry_after,
                }
            }
            Some("delay") => {
                only(&["millis"])?;
                let millis = self
                    .millis
                    .filter(|m| *m <= MAX_DELAY_MILLIS)
                    .ok_or(format!("millis is required, at most {MAX_DELAY_MILLIS}"))?;
                Action::Delay(Duration::from_millis(millis))
            }
            Some("redirect") => {
                only(&["status", "location"])?;
                let status = self
                    .status
                    .filter(|s| matches!(s, 301 | 302 | 303 | 307 | 308))
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .ok_or("status must be 301, 302, 303, 307 or 308")?;
                let location = self
                    .location
                    .filter(|l| !l.trim().is_empty() && HeaderValue::from_str(l).is_ok())
                    .ok_or("location is required: an absolute URL or a path")?;
                Action::Redirect { status, location }
            }
            _ => return Err("kind must be \"status\", \"delay\" or \"redirect\"".into()),
        };
        Ok(FaultSpec {
            path_prefix,
            host: self.host.filter(|h| !h.is_empty()),
            action,
            times: self.times,
        })
    }
}

const EXAMPLE: &str = r#"{"path_prefix": "/sites/acme/wiki/api/v2/spaces", "kind": "status", "status": 429, "retry_after": "2", "times": 1}"#;

/// `POST /api/faults`: adds a rule; answers `{id}`.
pub async fn add(State(sim): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let request: FaultRequest = optional_json(&body, EXAMPLE)?;
    let spec = request
        .check()
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m))?;
    tracing::info!(?spec, "fault rule added");
    Ok(Json(json!({"id": sim.product.faults.add(spec)})))
}

/// `GET /api/faults`: the rules in order, with `remaining` and `hits`.
pub async fn list(State(sim): State<AppState>) -> Json<Vec<Value>> {
    Json(sim.product.faults.list())
}

/// `DELETE /api/faults`: removes every rule.
pub async fn clear(State(sim): State<AppState>) -> Json<Value> {
    let cleared = sim.product.faults.clear();
    tracing::info!(cleared, "fault rules cleared");
    Json(json!({"cleared": cleared}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> Result<FaultSpec, String> {
        serde_json::from_value::<FaultRequest>(v).unwrap().check()
    }

    #[test]
    fn checks_each_kind() {
        let s = spec(
            json!({"path_prefix": "/oauth2/token", "kind": "status", "status": 429,
                            "retry_after": 2, "times": 2}),
        )
        .unwrap();
        assert_eq!(
            s.action,
            Action::Status {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after: Some("2".into())
            }
        );
        let s = spec(json!({"path_prefix": "/", "kind": "status", "status": 503,
                            "retry_after": "Wed, 21 Oct 2026 07:28:00 GMT"}))
        .unwrap();
        assert_eq!(s.times, None);
        assert!(spec(json!({"path_prefix": "/", "kind": "delay", "millis": 10})).is_ok());
        assert!(
            spec(
                json!({"path_prefix": "/", "kind": "redirect", "status": 307,
                        "location": "http://localhost:1/x"})
            )
            .is_ok()
        );
        for bad in [
            json!({"kind": "status", "status": 429}),
            json!({"path_prefix": "x", "kind": "status", "status": 429}),
            json!({"path_prefix": "/", "kind": "status", "status": 200}),
            json!({"path_prefix": "/", "kind": "status", "status": 429, "retry_after": -1}),
            json!({"path_prefix": "/", "kind": "status", "status": 429, "millis": 5}),
            json!({"path_prefix": "/", "kind": "delay"}),
            json!({"path_prefix": "/", "kind": "delay", "millis": 1_000_000}),
            json!({"path_prefix": "/", "kind": "redirect", "status": 302}),
            json!({"path_prefix": "/", "kind": "redirect", "status": 404, "location": "/x"}),
            json!({"path_prefix": "/", "kind": "teapot"}),
            json!({"path_prefix": "/", "kind": "delay", "millis": 1, "times": 0}),
        ] {
            assert!(spec(bad.clone()).is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<FaultRequest>(json!({"pathPrefix": "/"})).is_err());
    }

    #[test]
    fn rules_apply_in_order_and_count_down() {
        let faults = Faults::default();
        let delay =
            faults.add(spec(json!({"path_prefix": "/a", "kind": "delay", "millis": 5})).unwrap());
        let once = faults.add(
            spec(json!({"path_prefix": "/a/b", "kind": "status", "status": 503, "times": 1}))
                .unwrap(),
        );
        let other_host = faults.add(
            spec(json!({"path_prefix": "/", "kind": "status", "status": 500,
                        "host": "localhost:1"}))
            .unwrap(),
        );
        let d = faults.apply("/a/b/c", Some("127.0.0.1:1"));
        assert_eq!(d.delay, Duration::from_millis(5));
        assert_eq!(d.answered_by, Some(once));
        let d = faults.apply("/a/b/c", Some("127.0.0.1:1"));
        assert_eq!((d.delay, d.answered_by), (Duration::from_millis(5), None));
        let d = faults.apply("/z", Some("LOCALHOST:1"));
        assert_eq!((d.delay, d.answered_by), (Duration::ZERO, Some(other_host)));
        let listed = faults.list();
        assert_eq!(listed[0]["id"], delay);
        assert_eq!(listed[0]["hits"], 2);
        assert_eq!(listed[1]["remaining"], 0);
        assert_eq!(listed[2]["remaining"], Value::Null);
        assert_eq!(faults.clear(), 3);
        assert!(faults.apply("/a", None).answer.is_none());
    }
}
