//! The app and an in-process simulator that installed it on `acme` and `globex`: the harness of
//! the tests where the app calls Atlassian (the product API, the token endpoint, the personal
//! data reporting API). Tenants, secrets and `oauthClientId`s are what a real install delivers,
//! and every token the app sends is checked by the simulator.

use crate::common::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpListener;

pub struct World {
    pub app: TestApp,
    /// The simulator's origin (`http://127.0.0.1:<port>`).
    pub sim: String,
    pub http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl World {
    /// Starts both with the app's configuration plus `extra`. With `forge` the app is also a
    /// Forge Remote of the simulator's Forge app, whose FITs send product calls to the
    /// simulator's API gateway; without it the simulator plays Connect only.
    pub async fn launch(extra: &[(&str, &str)], forge: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = format!("http://{}", listener.local_addr().unwrap());
        let forge_config = simulator::config::ForgeConfig {
            api_base_url: format!("{sim}/ex/confluence"),
            ..simulator::config::ForgeConfig::development()
        };
        let mut env = vec![
            ("CONNECT_INSTALL_KEYS_URL".to_owned(), format!("{sim}/keys")),
            ("ATLASSIAN_OAUTH_URL".to_owned(), sim.clone()),
        ];
        if forge {
            env.extend([
                (
                    "FORGE_APP_ID".to_owned(),
                    forge_config.app_id.as_str().to_owned(),
                ),
                (
                    "FORGE_JWKS_URL".to_owned(),
                    format!("{sim}/forge/jwks.json"),
                ),
                ("FORGE_API_BASE_URL_PREFIX".to_owned(), format!("{sim}/ex/")),
            ]);
        }
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let app = TestApp::start_with(&env).await;
        let mut config = simulator::Config::for_app(&app.base).unwrap();
        config.forge = forge.then_some(forge_config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(simulator::run_until(config, listener, async {
            let _ = stopped.await;
        }));
        let world = Self {
            app,
            sim,
            http: http_client(),
            _stop: stop,
        };
        for _ in 0..400 {
            let up = world.http.get(format!("{}/healthz", world.sim)).send();
            if up.await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        for site in ["acme", "globex"] {
            world.install(site).await;
        }
        world
    }

    /// Connect-installs (again) the app on `site`.
    pub async fn install(&self, site: &str) {
        let (status, body) = self
            .sim_call("POST", &format!("/api/sites/{site}/install"), None)
            .await;
        assert_eq!(status, 200, "install {site}: {body}");
    }

    /// A call to the simulator's admin API: the status and the JSON answer (`Null` if none).
    pub async fn sim_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.sim);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url),
        };
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The clientKey the simulator gave `site`'s install.
    pub async fn client_key(&self, site: &str) -> String {
        let (_, body) = self
            .sim_call("GET", &format!("/api/sites/{site}"), None)
            .await;
        body["client_key"].as_str().unwrap().to_owned()
    }

    /// A context token for `user` on `site`, as the host page would get it.
    pub async fn token(&self, site: &str, user: &str) -> String {
        let (status, body) = self
            .sim_call(
                "POST",
                &format!("/api/sites/{site}/context-token"),
                Some(json!({"user": user})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Adds a fault rule to the simulator's product routes.
    pub async fn fault(&self, rule: Value) {
        let (status, body) = self.sim_call("POST", "/api/faults", Some(rule)).await;
        assert_eq!(status, 200, "{body}");
    }
}
