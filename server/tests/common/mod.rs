//! Shared harness for the black-box HTTP tests: a real install-key server and the real app
//! server, each on 127.0.0.1:0, a throw-away database per test (SQLite, or PostgreSQL with
//! `TEST_DATABASE=postgres`: see `test_db.rs`), and token helpers that mint exactly what
//! Confluence (or an attacker) would send. Several app instances may share one database.
#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "test helpers: each test binary uses its own part; a panic is the failure report"
)]

pub mod test_db;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::Digest;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use secrecy::ExposeSecret;
use server::connect::secrets::SecretKeys;
use server::state::AppState;

pub use connect::{CONTEXT_QSH, query_string_hash};

pub const APP_KEY: &str = "com.example.test";
/// The kid Atlassian's key server publishes our legitimate install key under.
pub const LEGIT_KID: &str = "0e50fccb-239d-4991-a5db-dc850ba3f236";
pub const ATTACKER_SECRET: &str = "attacker-chosen-shared-secret-0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// Time, ids, encoding
// ---------------------------------------------------------------------------------------------

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        .try_into()
        .unwrap()
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

pub fn b64_json(value: &Value) -> String {
    b64(serde_json::to_vec(value).unwrap())
}

/// HMAC by hand (RFC 2104) so tests can sign with any header and any SHA-2 size.
fn hmac<D: Digest>(block: usize, key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > block {
        D::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(block, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let mut inner = D::new();
    inner.update(&ipad);
    inner.update(msg);
    let inner = inner.finalize();
    let mut outer = D::new();
    outer.update(&opad);
    outer.update(&inner);
    outer.finalize().to_vec()
}

pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    hmac::<sha2::Sha256>(64, key, msg)
}

pub fn hmac_sha512(key: &[u8], msg: &[u8]) -> Vec<u8> {
    hmac::<sha2::Sha512>(128, key, msg)
}

/// `b64(header).b64(claims)`.
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64_json(header), b64_json(claims))
}

/// A token with any header, HMAC-SHA256 over it with `secret`.
pub fn sign_hs256_with_header(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let sig = hmac_sha256(secret, input.as_bytes());
    format!("{input}.{}", b64(sig))
}

/// The standard HS256 token a Confluence host mints.
pub fn sign_hs256(claims: &Value, secret: &str) -> String {
    connect::mint::hs256(claims, secret.as_bytes()).unwrap()
}

/// A token with any header, RS256 (PKCS#1 v1.5, SHA-256) with `key`.
pub fn sign_rs256_with_header(header: &Value, claims: &Value, key: &KeyPair) -> String {
    let input = signing_input(header, claims);
    let sig = key
        .private
        .pkcs1v15_sign::<rsa::sha2::Sha256>(input.as_bytes())
        .unwrap();
    format!("{input}.{}", b64(sig))
}

/// The standard RS256 token Atlassian mints for lifecycle callbacks.
pub fn sign_rs256(claims: &Value, kid: &str, key: &KeyPair) -> String {
    connect::mint::rs256(claims, kid, &key.private_pkcs8).unwrap()
}

/// Re-encodes the signature's last base64url character with different unused trailing bits:
/// the same signature bytes under a different token string.
pub fn malleate_signature(token: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sig = token.rsplit('.').next().unwrap();
    let bits = sig.len() * 6;
    let unused = bits % 8;
    assert!(unused > 0, "signature has no unused trailing bits");
    let last = *token.as_bytes().last().unwrap();
    let index = ALPHABET.iter().position(|&c| c == last).unwrap();
    let flipped = ALPHABET[index ^ 1]; // the lowest bit is always unused here
    let mut out = token[..token.len() - 1].to_string();
    out.push(char::from(flipped));
    // Sanity: a lenient decoder sees the very same bytes.
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    assert_eq!(
        lenient.decode(sig).unwrap(),
        lenient.decode(out.rsplit('.').next().unwrap()).unwrap()
    );
    assert_ne!(out, token);
    out
}

// ---------------------------------------------------------------------------------------------
// RSA keys (generated once per test binary: slow)
// ---------------------------------------------------------------------------------------------

pub struct KeyPair {
    pub private: rsa::PrivateKey,
    pub private_pkcs8: String,
    /// PEM SubjectPublicKeyInfo, as Atlassian's key server serves it.
    pub public_pem: String,
}

impl KeyPair {
    fn generate() -> Self {
        let private = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
        let private_pkcs8 = private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        Self {
            private,
            private_pkcs8,
            public_pem,
        }
    }

    /// The public key as a JWK (for `jwk` header injection).
    pub fn jwk(&self) -> Value {
        let public = self.private.to_public_key();
        let n = public.n().to_be_bytes();
        let n: &[u8] = &n;
        let first = n.iter().position(|&b| b != 0).unwrap_or(0);
        json!({"kty": "RSA", "e": "AQAB", "n": b64(&n[first..])})
    }
}

/// The key Atlassian really signs install callbacks with (served under `LEGIT_KID`).
pub fn legit_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(KeyPair::generate)
}

/// A key only the attacker holds.
pub fn attacker_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(KeyPair::generate)
}

// ---------------------------------------------------------------------------------------------
// Log capture (one global subscriber per test binary)
// ---------------------------------------------------------------------------------------------

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(Default::default)
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (all levels from the app; less from the HTTP plumbing).
pub fn init_log_capture() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let buffer = log_buffer().clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "trace,hyper=info,hyper_util=info,h2=info,rustls=info,tower=info,mio=info,\
                 reqwest=info,sqlx=debug,tokio=info,runtime=info",
            ))
            .with_ansi(false)
            .with_writer(move || Capture(buffer.clone()))
            .try_init();
    });
}

/// Everything logged so far by every test in this binary.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Install-key server
// ---------------------------------------------------------------------------------------------

/// Serves `router` on 127.0.0.1:0 until the returned sender is dropped; its origin.
async fn serve_on_loopback(router: Router) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    (origin, tx)
}

#[derive(Clone, Debug)]
pub enum KeyReply {
    Pem(String),
    NotFound,
    ServerError,
    Garbage,
    /// 302 to this path on the key server.
    Redirect(String),
    /// The reply, sent only after `KeyServer::release` (a fetch held in flight).
    Held(Box<KeyReply>),
}

struct KeyServerState {
    /// Full request path → reply. Anything else is a 404.
    replies: Mutex<HashMap<String, KeyReply>>,
    /// Every request path received, in order.
    requests: Mutex<Vec<String>>,
    /// Opened by `KeyServer::release`: held replies go out.
    released: tokio::sync::watch::Sender<bool>,
}

pub struct KeyServer {
    pub origin: String,
    state: Arc<KeyServerState>,
    _shutdown: oneshot::Sender<()>,
}

async fn key_handler(State(state): State<Arc<KeyServerState>>, uri: Uri) -> Response {
    let path = uri.path().to_string();
    state.requests.lock().unwrap().push(path.clone());
    let mut reply = state.replies.lock().unwrap().get(&path).cloned();
    if let Some(KeyReply::Held(then)) = reply {
        let _ = state.released.subscribe().wait_for(|open| *open).await;
        reply = Some(*then);
    }
    match reply {
        None | Some(KeyReply::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Some(KeyReply::Pem(pem)) => {
            ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response()
        }
        Some(KeyReply::ServerError) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "key service failure").into_response()
        }
        Some(KeyReply::Garbage) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PUBLIC KEY-----\n",
        )
            .into_response(),
        Some(KeyReply::Redirect(to)) => {
            (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
        }
        Some(KeyReply::Held(_)) => StatusCode::LOOP_DETECTED.into_response(),
    }
}

impl KeyServer {
    pub async fn start() -> Self {
        let state = Arc::new(KeyServerState {
            replies: Mutex::default(),
            requests: Mutex::default(),
            released: tokio::sync::watch::Sender::new(false),
        });
        state.replies.lock().unwrap().insert(
            format!("/keys/{LEGIT_KID}"),
            KeyReply::Pem(legit_key().public_pem.clone()),
        );
        let (origin, tx) = serve_on_loopback(
            Router::new()
                .fallback(key_handler)
                .with_state(state.clone()),
        )
        .await;
        Self {
            origin,
            state,
            _shutdown: tx,
        }
    }

    /// The base `CONNECT_INSTALL_KEYS_URL` (with a path).
    pub fn keys_url(&self) -> String {
        format!("{}/keys", self.origin)
    }

    /// Sets what `/keys/{kid}` answers.
    pub fn set_kid(&self, kid: &str, reply: KeyReply) {
        self.set_path(&format!("/keys/{kid}"), reply);
    }

    pub fn set_path(&self, path: &str, reply: KeyReply) {
        self.state
            .replies
            .lock()
            .unwrap()
            .insert(path.to_string(), reply);
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn total_requests(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// Requests for `/keys/{kid}`.
    pub fn requests_for_kid(&self, kid: &str) -> usize {
        self.requests_for_path(&format!("/keys/{kid}"))
    }

    /// Lets every held reply go, now and from now on.
    pub fn release(&self) {
        self.state.released.send_replace(true);
    }

    /// Waits (up to 5 s) until `/keys/{kid}` was requested for `n` of `kids` in all; the count.
    pub async fn wait_for_requests(&self, kids: &[String], n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let seen: usize = kids.iter().map(|kid| self.requests_for_kid(kid)).sum();
            if seen >= n || Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn requests_for_path(&self, path: &str) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

// ---------------------------------------------------------------------------------------------
// The app under test
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Tenant {
    pub client_key: String,
    pub secret: String,
    /// The Confluence site's address (the install body's baseUrl).
    pub site: String,
}

impl Tenant {
    pub fn with_secret(&self, secret: &str) -> Tenant {
        Tenant {
            secret: secret.to_string(),
            ..self.clone()
        }
    }
}

pub struct TestApp {
    /// `http://127.0.0.1:PORT`, where this instance listens.
    pub base: String,
    /// The app's configured baseUrl (`APP_BASE_URL`, the `aud` of lifecycle tokens): `base`,
    /// or the first instance's address for instances that share its database (as behind a
    /// load balancer, where every instance has the same public address).
    pub public_base: String,
    pub client: reqwest::Client,
    pub keys: KeyServer,
    pub state: AppState,
    /// The app's router, for tests that drive requests in-process (and poll them by hand).
    pub router: Router,
    /// The database (shared with other instances of this test); `None` when the test passed
    /// its own `DATABASE_URL`.
    pub db: Option<Arc<test_db::TestDatabase>>,
    /// `TENANT_SECRET_KEYS` (every instance of one deployment has the same).
    pub secret_keys: String,
    /// `http://127.0.0.1:PORT` of the metrics listener (`METRICS_ADDR`, on by default here);
    /// `None` when a test turned it off.
    pub metrics_base: Option<String>,
    _shutdown: oneshot::Sender<()>,
}

pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// One request's outcome, read completely.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// The JSON `error` code.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub async fn read(res: reqwest::Response) -> Reply {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.unwrap_or_default();
    Reply {
        status,
        headers,
        body,
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a key server and the app on a fresh database, with extra configuration variables
    /// (a `DATABASE_URL` among them replaces the fresh database).
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        Self::start_tuned(extra, |_| {}).await
    }

    /// `start_with`, then `tune` changes the configuration (for what no variable sets, such as
    /// the install-key fetching policy's short-lived memories).
    pub async fn start_tuned(
        extra: &[(&str, &str)],
        tune: impl FnOnce(&mut server::config::Config),
    ) -> Self {
        let db = if extra.iter().any(|(k, _)| *k == "DATABASE_URL") {
            None
        } else {
            Some(Arc::new(test_db::TestDatabase::create().await))
        };
        Self::launch(db, None, SecretKeys::generate_spec("t1"), extra, tune).await
    }

    /// Another instance of the same deployment: same database, same encryption keys, same
    /// public baseUrl; its own port, key server, pool and memory.
    pub async fn start_sharing(first: &TestApp, extra: &[(&str, &str)]) -> Self {
        let url = first.state.config.database_url.expose_secret().to_owned();
        let mut vars: Vec<(&str, &str)> = Vec::new();
        if first.db.is_none() {
            vars.push(("DATABASE_URL", &url));
        }
        vars.extend_from_slice(extra);
        Self::launch(
            first.db.clone(),
            Some(first.public_base.clone()),
            first.secret_keys.clone(),
            &vars,
            |_| {},
        )
        .await
    }

    async fn launch(
        db: Option<Arc<test_db::TestDatabase>>,
        public_base: Option<String>,
        secret_keys: String,
        extra: &[(&str, &str)],
        tune: impl FnOnce(&mut server::config::Config),
    ) -> Self {
        init_log_capture();
        // Generate keys before anything runs on this runtime (it blocks).
        legit_key();
        let keys = KeyServer::start().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let public_base = public_base.unwrap_or_else(|| base.clone());
        let mut vars: HashMap<String, String> = HashMap::from([
            ("APP_BASE_URL".into(), public_base.clone()),
            ("TENANT_SECRET_KEYS".into(), secret_keys.clone()),
            ("CONNECT_INSTALL_KEYS_URL".into(), keys.keys_url()),
            ("APP_KEY".into(), APP_KEY.into()),
            // Every test server serves its own metrics (its own registry: exact deltas).
            ("METRICS_ADDR".into(), "127.0.0.1:0".into()),
        ]);
        if let Some(db) = &db {
            vars.insert("DATABASE_URL".into(), db.url.clone());
        }
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let mut config = server::config::Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        tune(&mut config);
        let leptos_options = leptos::prelude::LeptosOptions::builder()
            .output_name("connect-prefs")
            .site_root("target/site")
            .build();
        let (router, state) = server::startup::build(config, leptos_options)
            .await
            .unwrap();
        let metrics_base = match state.config.metrics_addr {
            Some(addr) => {
                let listener = TcpListener::bind(addr).await.unwrap();
                let base = format!("http://{}", listener.local_addr().unwrap());
                let state = state.clone();
                tokio::spawn(async move {
                    let forever = std::future::pending::<()>();
                    server::startup::serve_metrics(listener, &state, forever).await
                });
                Some(base)
            }
            None => None,
        };
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(server::startup::serve(
            listener,
            router.clone(),
            state.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        Self {
            base,
            public_base,
            client: http_client(),
            keys,
            state,
            router,
            db,
            secret_keys,
            metrics_base,
            _shutdown: tx,
        }
    }

    /// The metrics text, scraped from the metrics listener.
    pub async fn metrics(&self) -> String {
        let base = self.metrics_base.as_deref().expect("metrics are on");
        let res = self.client.get(format!("{base}/metrics")).send().await;
        let reply = read(res.unwrap()).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    pub async fn get(&self, path_and_query: &str) -> Reply {
        read(
            self.client
                .get(self.url(path_and_query))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    // ----- lifecycle -----------------------------------------------------------------------

    /// Claims of a genuine Atlassian lifecycle token for `path` (`/installed`, `/uninstalled`).
    /// A random `jti` keeps two tokens minted in the same second distinct (real re-installs
    /// differ in `iat`); the server ignores it.
    pub fn lifecycle_claims(&self, client_key: &str, path: &str) -> Value {
        let now = now();
        json!({
            "iss": client_key,
            "aud": self.public_base,
            "qsh": query_string_hash("POST", path, "", ""),
            "iat": now,
            "exp": now + 180,
            "jti": unique("jti"),
        })
    }

    /// The JSON body Confluence sends to a lifecycle callback.
    pub fn lifecycle_body(client_key: &str, secret: Option<&str>, event: &str) -> Value {
        let mut body = json!({
            "key": APP_KEY,
            "clientKey": client_key,
            "baseUrl": format!("https://{}.atlassian.net/wiki", client_key.replace(':', "-")),
            "displayUrl": format!("https://{}.atlassian.net/wiki", client_key.replace(':', "-")),
            "productType": "confluence",
            "description": "Atlassian Confluence at https://example.atlassian.net/wiki",
            "serviceEntitlementNumber": "SEN-1",
            "eventType": event,
        });
        if let Some(secret) = secret {
            body["sharedSecret"] = json!(secret);
        }
        body
    }

    /// POSTs `body` to a lifecycle path with `Authorization: JWT <token>` (if any).
    pub async fn post_lifecycle_raw(&self, path: &str, token: Option<&str>, body: &str) -> Reply {
        let mut req = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            req = req.header("authorization", format!("JWT {token}"));
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn post_lifecycle(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.post_lifecycle_raw(path, Some(token), &body.to_string())
            .await
    }

    /// The genuine signed install token and body for a tenant.
    pub fn install_request(&self, client_key: &str, secret: &str) -> (String, Value) {
        let claims = self.lifecycle_claims(client_key, "/installed");
        (
            sign_rs256(&claims, LEGIT_KID, legit_key()),
            Self::lifecycle_body(client_key, Some(secret), "installed"),
        )
    }

    /// A real signed install of a new tenant; asserts 204.
    pub async fn install(&self, site: &str) -> Tenant {
        let tenant = Tenant {
            client_key: unique(site),
            secret: unique("shared-secret"),
            site: format!("https://{site}.atlassian.net/wiki"),
        };
        self.install_tenant(&tenant).await;
        tenant
    }

    /// (Re-)installs `tenant` with its `secret`; asserts 204.
    pub async fn install_tenant(&self, tenant: &Tenant) {
        let (token, body) = self.install_request(&tenant.client_key, &tenant.secret);
        let r = self.post_lifecycle("/installed", &token, &body).await;
        assert_eq!(r.status, 204, "install failed: {}", r.body);
    }

    pub fn uninstall_request(&self, tenant: &Tenant) -> (String, Value) {
        let claims = self.lifecycle_claims(&tenant.client_key, "/uninstalled");
        (
            sign_rs256(&claims, LEGIT_KID, legit_key()),
            Self::lifecycle_body(&tenant.client_key, None, "uninstalled"),
        )
    }

    pub async fn uninstall(&self, tenant: &Tenant) -> Reply {
        let (token, body) = self.uninstall_request(tenant);
        self.post_lifecycle("/uninstalled", &token, &body).await
    }

    /// An `enabled`/`disabled` callback (HS256, current secret, computed qsh) issued at `iat`.
    pub async fn host_callback(&self, tenant: &Tenant, event: &str, iat: i64) -> Reply {
        let path = format!("/{event}");
        let claims = json!({
            "iss": tenant.client_key,
            "qsh": query_string_hash("POST", &path, "", ""),
            "iat": iat,
            "exp": now() + 180,
        });
        let token = sign_hs256(&claims, &tenant.secret);
        let body = Self::lifecycle_body(&tenant.client_key, None, event);
        self.post_lifecycle(&path, &token, &body).await
    }

    // ----- user tokens ----------------------------------------------------------------------

    /// Claims of a host context token (`AP.context.getToken()`).
    pub fn context_claims(tenant: &Tenant, sub: Option<&str>) -> Value {
        let now = now();
        let mut claims = json!({
            "iss": tenant.client_key,
            "qsh": CONTEXT_QSH,
            "iat": now,
            "exp": now + 180,
            "context": {"license": "none"},
        });
        if let Some(sub) = sub {
            claims["sub"] = json!(sub);
        }
        claims
    }

    pub fn context_token(tenant: &Tenant, sub: Option<&str>) -> String {
        sign_hs256(&Self::context_claims(tenant, sub), &tenant.secret)
    }

    /// Claims of an iframe (page-load) token for `GET path?query`.
    pub fn iframe_claims(tenant: &Tenant, sub: Option<&str>, path: &str, query: &str) -> Value {
        let now = now();
        let mut claims = json!({
            "iss": tenant.client_key,
            "qsh": query_string_hash("GET", path, query, ""),
            "iat": now,
            "exp": now + 180,
        });
        if let Some(sub) = sub {
            claims["sub"] = json!(sub);
        }
        claims
    }

    /// The page URL Confluence would put in the iframe (path + query + `&jwt=`).
    pub fn iframe_url(tenant: &Tenant, sub: Option<&str>, path: &str, query: &str) -> String {
        let token = sign_hs256(
            &Self::iframe_claims(tenant, sub, path, query),
            &tenant.secret,
        );
        with_jwt(path, query, &token)
    }

    // ----- API ------------------------------------------------------------------------------

    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.header("authorization", format!("JWT {token}"));
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get_prefs(&self, token: &str) -> Reply {
        self.api("GET", "/api/preferences", Some(token), None).await
    }

    pub async fn save_prefs(&self, token: &str, base_revision: i64, prefs: &Value) -> Reply {
        let body = json!({"base_revision": base_revision, "preferences": prefs});
        self.api(
            "POST",
            "/api/preferences",
            Some(token),
            Some(&body.to_string()),
        )
        .await
    }

    /// Status of `GET /api/preferences` with a fresh context token of `tenant`.
    pub async fn api_status_for(&self, tenant: &Tenant) -> u16 {
        self.get_prefs(&Self::context_token(tenant, Some("probe-user")))
            .await
            .status
    }

    /// After an attack on `tenant`: its stored secret is still the original one (a token signed
    /// with it works on the API) and `attacker_secret` signs nothing.
    pub async fn assert_secret_unchanged(&self, tenant: &Tenant, attacker_secret: &str) {
        assert_eq!(
            self.api_status_for(tenant).await,
            200,
            "the original secret of {} no longer works",
            tenant.client_key
        );
        let forged = self
            .api_status_for(&tenant.with_secret(attacker_secret))
            .await;
        assert_eq!(forged, 401, "the attacker's secret was stored");
    }
}

/// `path?query&jwt=token` (or `path?jwt=token`).
pub fn with_jwt(path: &str, query: &str, token: &str) -> String {
    if query.is_empty() {
        format!("{path}?jwt={token}")
    } else {
        format!("{path}?{query}&jwt={token}")
    }
}

/// Preferences with every field set (valid).
pub fn sample_prefs() -> Value {
    json!({
        "theme": "dark",
        "locale": "de-DE",
        "date_format": "long",
        "email_digest": "daily",
        "default_space_key": "DEV",
        "favourite_labels": ["release-notes", "howto"],
        "items_per_page": 50
    })
}

pub fn default_prefs() -> Value {
    json!({
        "theme": "system", "locale": "en-US", "date_format": "iso",
        "email_digest": "weekly", "default_space_key": null,
        "favourite_labels": [], "items_per_page": 25
    })
}

/// Sends `request` (a complete HTTP/1.1 request, ideally with `Connection: close`) over a raw
/// TCP connection, for what a well-behaved client cannot send. Write errors are ignored (the
/// server may answer and close before reading everything).
pub async fn raw_http(app: &TestApp, request: &str) -> Reply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request.as_bytes()).await;
    let _ = stream.flush().await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':')
            && let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
                reqwest::header::HeaderValue::from_str(v.trim()),
            )
        {
            headers.append(k, v);
        }
    }
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
                break;
            };
            if n == 0 || after.len() < n {
                break;
            }
            out.push_str(&after[..n]);
            rest = after[n..].trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

// ---------------------------------------------------------------------------------------------
// Forge JWKS server
// ---------------------------------------------------------------------------------------------

/// What `GET /jwks.json` answers.
#[derive(Clone, Debug)]
pub enum JwksReply {
    Json(Value),
    Raw(String),
    Status(StatusCode),
    /// 302 to this path on the same server.
    Redirect(String),
}

struct JwksState {
    reply: Mutex<JwksReply>,
    /// Every request path received, in order.
    requests: Mutex<Vec<String>>,
}

/// A JWKS endpoint on loopback whose document can be rotated or broken, counting requests.
pub struct JwksServer {
    pub origin: String,
    state: Arc<JwksState>,
    _shutdown: oneshot::Sender<()>,
}

async fn jwks_handler(State(state): State<Arc<JwksState>>, uri: Uri) -> Response {
    state.requests.lock().unwrap().push(uri.path().to_string());
    if uri.path() != "/jwks.json" {
        // Only a redirect leads here; its target serves a valid document, to prove it unused.
        return axum::Json(json!({"keys": [legit_key().jwk_with_kid("redirected")]}))
            .into_response();
    }
    match state.reply.lock().unwrap().clone() {
        JwksReply::Json(v) => axum::Json(v).into_response(),
        JwksReply::Raw(s) => ([(header::CONTENT_TYPE, "application/json")], s).into_response(),
        JwksReply::Status(code) => (code, "jwks failure").into_response(),
        JwksReply::Redirect(to) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
    }
}

impl JwksServer {
    pub async fn start(reply: JwksReply) -> Self {
        let state = Arc::new(JwksState {
            reply: Mutex::new(reply),
            requests: Mutex::default(),
        });
        let (origin, tx) = serve_on_loopback(
            Router::new()
                .fallback(jwks_handler)
                .with_state(state.clone()),
        )
        .await;
        Self {
            origin,
            state,
            _shutdown: tx,
        }
    }

    pub fn url(&self) -> String {
        format!("{}/jwks.json", self.origin)
    }

    pub fn set(&self, reply: JwksReply) {
        *self.state.reply.lock().unwrap() = reply;
    }

    /// Requests for any path.
    pub fn hits(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl KeyPair {
    /// The public key as a JWKS entry Forge would publish under `kid`.
    pub fn jwk_with_kid(&self, kid: &str) -> Value {
        let mut jwk = self.jwk();
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!("RS256");
        jwk
    }
}
