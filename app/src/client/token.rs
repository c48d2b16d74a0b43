//! The browser's token cache. Seeded from `<meta name="token">`, refreshed through
//! `AP.context.getToken()` when less than `REFRESH_MARGIN_SECS` of life remain, and after a
//! rejection. Concurrent callers share one refresh. Never panics, never puts a token in a URL.

use std::cell::RefCell;

use futures::future::{FutureExt, LocalBoxFuture, Shared};

/// Refresh when a token has less than this left (Atlassian's tokens live 15 minutes).
pub const REFRESH_MARGIN_SECS: f64 = 60.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub jwt: String,
    /// `exp` claim (Unix seconds), read without verification: the server verifies.
    pub exp: f64,
}

impl Cached {
    pub fn new(jwt: String) -> Option<Self> {
        let exp = exp_claim(&jwt)?;
        Some(Self { jwt, exp })
    }

    /// Still usable without asking the host for a new one.
    pub fn is_fresh(&self, now_secs: f64) -> bool {
        self.exp - now_secs > REFRESH_MARGIN_SECS
    }
}

/// The one claim the server build reads (in tests). A struct rather than `serde_json::Value`.
#[cfg(not(target_arch = "wasm32"))]
#[derive(serde::Deserialize)]
struct Claims {
    exp: Option<f64>,
}

/// The `exp` claim of a JWT, read without verifying it.
#[cfg(not(target_arch = "wasm32"))]
pub fn exp_claim(jwt: &str) -> Option<f64> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Claims>(&bytes).ok()?.exp
}

/// The `exp` claim of a JWT, read without verifying it, with the browser's own base64 (`atob`)
/// and JSON: a Rust base64 decoder and a second JSON reader for `Claims` would weigh on the wasm
/// for one number (docs/BENCHMARKS.md, "What the weight guard protects"). Anything unreadable is
/// `None`, as in the Rust version the tests run; the value only decides when to ask the host for
/// a new token, and the server verifies every token it receives.
#[cfg(target_arch = "wasm32")]
pub fn exp_claim(jwt: &str) -> Option<f64> {
    let payload: String = jwt
        .split('.')
        .nth(1)?
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let json = web_sys::window()?.atob(&payload).ok()?;
    let claims = js_sys::JSON::parse(&json).ok()?;
    if !claims.is_object() {
        return None;
    }
    js_sys::Reflect::get(&claims, &"exp".into()).ok()?.as_f64()
}

type Refresh = Shared<LocalBoxFuture<'static, Option<Cached>>>;

#[derive(Default)]
struct State {
    seeded: bool,
    current: Option<Cached>,
    refreshing: Option<Refresh>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn now_secs() -> f64 {
    js_sys::Date::now() / 1000.0
}

fn read_meta_token() -> Option<Cached> {
    let doc = web_sys::window()?.document()?;
    let jwt = doc
        .query_selector("meta[name=token]")
        .ok()??
        .get_attribute("content")?;
    Cached::new(jwt)
}

fn cached() -> Option<Cached> {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        if !s.seeded {
            s.seeded = true;
            s.current = read_meta_token();
        }
        s.current.clone()
    })
}

/// Runs (or joins) the one refresh in flight. On success the new token becomes current.
async fn refresh() -> Option<Cached> {
    let shared = STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.refreshing
            .get_or_insert_with(|| {
                async {
                    let fresh = super::ap::get_token().await.and_then(Cached::new);
                    STATE.with(|s| {
                        let mut s = s.borrow_mut();
                        s.refreshing = None;
                        if let Some(c) = &fresh {
                            s.current = Some(c.clone());
                        }
                    });
                    fresh
                }
                .boxed_local()
                .shared()
            })
            .clone()
    });
    shared.await
}

/// What to do before sending a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Send this token.
    Use(String),
    /// Ask the host for a new one first.
    Refresh,
}

/// Before a call: the cached token if it has more than the margin left, else refresh.
pub fn next_for_call(cached: Option<&Cached>, now_secs: f64) -> Next {
    match cached {
        Some(c) if c.is_fresh(now_secs) => Next::Use(c.jwt.clone()),
        _ => Next::Refresh,
    }
}

/// After the server refused `rejected`: a fresh token a concurrent call already obtained, else
/// refresh (never the refused token again).
pub fn next_after_rejection(cached: Option<&Cached>, now_secs: f64, rejected: &str) -> Next {
    match cached {
        Some(c) if c.jwt != rejected && c.is_fresh(now_secs) => Next::Use(c.jwt.clone()),
        _ => Next::Refresh,
    }
}

/// The token to send now. Refreshes first when the cached one is about to expire; without a
/// host to ask, keeps using the cached token (the server then says when it has expired).
pub async fn current() -> Option<String> {
    let cached = cached();
    if let Next::Use(jwt) = next_for_call(cached.as_ref(), now_secs()) {
        return Some(jwt);
    }
    match refresh().await {
        Some(fresh) => Some(fresh.jwt),
        None => cached.map(|c| c.jwt),
    }
}

/// When the current token expires (Unix seconds), if there is one.
pub fn current_expiry() -> Option<f64> {
    cached().map(|c| c.exp)
}

/// A replacement for `rejected`, which the server just refused, or `None` if the host cannot
/// give one (then the caller reports the refusal). If a concurrent call already replaced it,
/// that token is used without asking the host again.
pub async fn replacement_for(rejected: &str) -> Option<String> {
    if let Next::Use(jwt) = next_after_rejection(cached().as_ref(), now_secs(), rejected) {
        return Some(jwt);
    }
    refresh().await.map(|c| c.jwt).filter(|jwt| jwt != rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt_with(payload: &str) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"HS256"}"#),
            b64.encode(payload)
        )
    }

    #[test]
    fn reads_exp_without_verifying() {
        assert_eq!(exp_claim(&jwt_with(r#"{"exp":1700000000}"#)), Some(1.7e9));
        assert_eq!(exp_claim(&jwt_with(r#"{"iat":1}"#)), None);
        assert_eq!(exp_claim(&jwt_with(r#"{"exp":null}"#)), None);
        assert_eq!(exp_claim(&jwt_with(r#"{"exp":"1700000000"}"#)), None);
        assert_eq!(
            exp_claim(&jwt_with(r#"{"exp":1.7e9,"ctx":{"a":[1]}}"#)),
            Some(1.7e9)
        );
        assert_eq!(exp_claim("not a token"), None);
        assert_eq!(exp_claim("a.%%%.c"), None);
    }

    fn cached(exp: u64) -> Cached {
        Cached::new(jwt_with(&format!(r#"{{"exp":{exp},"n":{exp}}}"#))).unwrap()
    }

    #[test]
    fn calls_use_a_fresh_token_and_refresh_a_stale_one() {
        let c = cached(1000);
        assert_eq!(next_for_call(Some(&c), 900.0), Next::Use(c.jwt.clone()));
        assert_eq!(
            next_for_call(Some(&c), 950.0),
            Next::Refresh,
            "under a minute left"
        );
        assert_eq!(next_for_call(Some(&c), 1200.0), Next::Refresh, "expired");
        assert_eq!(next_for_call(None, 0.0), Next::Refresh, "no meta token");
    }

    #[test]
    fn a_rejected_token_is_never_sent_again() {
        let old = cached(1000);
        assert_eq!(
            next_after_rejection(Some(&old), 100.0, &old.jwt),
            Next::Refresh
        );
        // A concurrent call already replaced it: use that, no second refresh.
        let new = cached(2000);
        assert_eq!(
            next_after_rejection(Some(&new), 100.0, &old.jwt),
            Next::Use(new.jwt.clone())
        );
        // The replacement is itself about to expire: refresh.
        assert_eq!(
            next_after_rejection(Some(&new), 1990.0, &old.jwt),
            Next::Refresh
        );
    }

    #[test]
    fn freshness_uses_the_margin() {
        let c = Cached::new(jwt_with(r#"{"exp":1000}"#)).unwrap();
        assert!(c.is_fresh(900.0));
        assert!(!c.is_fresh(940.0));
        assert!(!c.is_fresh(2000.0));
    }
}
