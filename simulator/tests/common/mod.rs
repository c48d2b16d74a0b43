//! What the black-box tests share: the simulator started on a random loopback port, a JSON
//! client for its API that keeps every answer (to check no secret ever leaves), and the clock.
#![allow(dead_code, reason = "each test binary uses its own part")]
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

/// A running simulator.
pub struct Sim {
    pub url: String,
    pub http: reqwest::Client,
    /// Every body the API returned, to check that no secret ever leaks.
    pub seen: Mutex<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<Result<(), simulator::RunError>>,
}

impl Sim {
    /// Starts the simulator and waits until it answers (keys are generated first).
    pub async fn start(config: simulator::Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(simulator::run_until(config, listener, async {
            let _ = stopped.await;
        }));
        let sim = Self {
            url,
            http: simulator::http::client().unwrap(),
            seen: Mutex::new(String::new()),
            stop: Some(stop),
            server,
        };
        for _ in 0..400 {
            if sim.get("/healthz").await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sim
    }

    /// A plain `GET` of `path`.
    pub async fn get(&self, path: &str) -> reqwest::Result<reqwest::Response> {
        self.http.get(format!("{}{path}", self.url)).send().await
    }

    /// `GET` or `POST` with an optional JSON body; the status and the JSON answer (`Null` if
    /// it is not JSON).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let request = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        };
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(body.to_string()),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        self.seen.lock().unwrap().push_str(&text);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Stops the simulator and checks it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).unwrap();
        }
        self.server.await.unwrap().unwrap();
    }
}

/// Unix time in seconds.
pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}
