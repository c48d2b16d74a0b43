//! The log of what the product routes and the token endpoint received, so tests can check
//! where credentials went (e.g. none crossed to another host on a redirect). Keeps the method,
//! Host, path, the auth scheme and the status, never a token, a query value or a body; bounded
//! to the last [`CAPACITY`] requests.

use crate::state::{AppState, now_ms};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// How many requests the log keeps (the oldest fall off).
pub const CAPACITY: usize = 1000;

/// One received request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Unix time in milliseconds when it arrived.
    pub at: i64,
    /// `GET`, `POST`, …
    pub method: String,
    /// The `Host` header (or the URI authority); `None` without either.
    pub host: Option<String>,
    /// The raw path, without the query.
    pub path: String,
    /// Whether there was a query string.
    pub has_query: bool,
    /// Whether the query carried a `jwt` parameter (a token in the URL).
    pub jwt_in_query: bool,
    /// The `Authorization` scheme: `JWT` or `Bearer` (any case on the wire), another scheme
    /// as sent, `None` without the header.
    pub auth_scheme: Option<String>,
    /// The status answered.
    pub status: u16,
    /// The id of the fault rule that answered, if one did.
    pub fault: Option<u64>,
}

/// A request seen, before its status is known.
#[derive(Debug, Clone)]
pub struct Seen {
    at: i64,
    method: String,
    /// The Host the request named.
    pub host: Option<String>,
    /// The raw path.
    pub path: String,
    has_query: bool,
    jwt_in_query: bool,
    auth_scheme: Option<String>,
}

impl Seen {
    /// What the log keeps of `request`.
    pub fn of(request: &Request) -> Self {
        let uri = request.uri();
        let headers = request.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| uri.authority().map(|a| a.as_str().to_owned()));
        let query = uri.query();
        let auth_scheme = headers
            .get(header::AUTHORIZATION)
            .map(|v| scheme_of(&String::from_utf8_lossy(v.as_bytes())));
        Self {
            at: now_ms(),
            method: request.method().as_str().to_owned(),
            host,
            path: uri.path().to_owned(),
            has_query: query.is_some(),
            jwt_in_query: query.is_some_and(|q| connect::query_values(q, "jwt").next().is_some()),
            auth_scheme,
        }
    }

    /// The log entry, once the answer is known.
    pub fn finish(self, status: StatusCode, fault: Option<u64>) -> Entry {
        Entry {
            at: self.at,
            method: self.method,
            host: self.host,
            path: self.path,
            has_query: self.has_query,
            jwt_in_query: self.jwt_in_query,
            auth_scheme: self.auth_scheme,
            status: status.as_u16(),
            fault,
        }
    }
}

/// The scheme word of an `Authorization` value, `JWT`/`Bearer` spelled canonically.
fn scheme_of(value: &str) -> String {
    let word = value.split_whitespace().next().unwrap_or("");
    if word.eq_ignore_ascii_case("jwt") {
        "JWT".to_owned()
    } else if word.eq_ignore_ascii_case("bearer") {
        "Bearer".to_owned()
    } else {
        // Only the scheme: whatever follows it may be a credential.
        word.chars().take(32).collect()
    }
}

/// The last [`CAPACITY`] requests, oldest first.
#[derive(Debug, Default)]
pub struct ReceivedLog {
    entries: Mutex<VecDeque<Entry>>,
}

impl ReceivedLog {
    fn entries(&self) -> MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one request, dropping the oldest beyond [`CAPACITY`].
    pub fn record(&self, entry: Entry) {
        let mut entries = self.entries();
        if entries.len() == CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Everything kept, oldest first.
    pub fn snapshot(&self) -> Vec<Entry> {
        self.entries().iter().cloned().collect()
    }

    /// Empties the log; answers how many entries were dropped.
    pub fn clear(&self) -> usize {
        let mut entries = self.entries();
        let n = entries.len();
        entries.clear();
        n
    }
}

/// `GET /api/received`: the log, oldest first.
pub async fn list(State(sim): State<AppState>) -> Json<Vec<Entry>> {
    Json(sim.product.received.snapshot())
}

/// `DELETE /api/received`: empties it.
pub async fn clear(State(sim): State<AppState>) -> Json<Value> {
    Json(json!({"cleared": sim.product.received.clear()}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(uri: &str, auth: Option<&str>) -> Request {
        let mut builder = axum::http::Request::builder()
            .uri(uri)
            .header(header::HOST, "localhost:3100");
        if let Some(auth) = auth {
            builder = builder.header(header::AUTHORIZATION, auth);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn keeps_the_scheme_never_the_token() {
        let seen = Seen::of(&request(
            "/sites/acme/wiki/api/v2/spaces?limit=5",
            Some("bearer abc"),
        ));
        let entry = seen.finish(StatusCode::OK, None);
        assert_eq!(entry.auth_scheme.as_deref(), Some("Bearer"));
        assert_eq!(entry.host.as_deref(), Some("localhost:3100"));
        assert_eq!(entry.path, "/sites/acme/wiki/api/v2/spaces");
        assert!(entry.has_query && !entry.jwt_in_query);
        assert!(!serde_json::to_string(&entry).unwrap().contains("abc"));

        let entry = Seen::of(&request("/x?a=1&jwt=e.y.z", Some("JWT e.y.z")))
            .finish(StatusCode::UNAUTHORIZED, Some(3));
        assert_eq!(entry.auth_scheme.as_deref(), Some("JWT"));
        assert!(entry.jwt_in_query);
        assert_eq!((entry.status, entry.fault), (401, Some(3)));
        assert!(!serde_json::to_string(&entry).unwrap().contains("e.y.z"));

        assert_eq!(scheme_of("Basic dXNlcjpwdw=="), "Basic");
        assert_eq!(Seen::of(&request("/x", None)).auth_scheme, None);
    }

    #[test]
    fn bounded() {
        let log = ReceivedLog::default();
        for i in 0..CAPACITY + 5 {
            let mut entry = Seen::of(&request("/x", None)).finish(StatusCode::OK, None);
            entry.at = i64::try_from(i).unwrap();
            log.record(entry);
        }
        let all = log.snapshot();
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].at, 5);
        assert_eq!(log.clear(), CAPACITY);
        assert!(log.snapshot().is_empty());
    }
}
