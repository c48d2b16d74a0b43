//! Settings read from the `SIM_*` environment variables, with defaults for a local run.
//! Every bad value becomes one [`ConfigError`] naming the variable; nothing here panics.

use connect::forge::{AppId, EnvironmentId};
use reqwest::Url;
use std::net::SocketAddr;

/// Where the simulator listens unless `SIM_ADDR` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3100";
/// Where the app runs unless `SIM_APP_URL` says otherwise.
pub const DEFAULT_APP_URL: &str = "http://127.0.0.1:3000";
/// Lifetime of context tokens (`AP.context.getToken()`), as Atlassian issues them.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 900;
/// Lifetime of OAuth access tokens from the JWT-bearer token endpoint (`expires_in`).
pub const DEFAULT_OAUTH_TOKEN_LIFETIME_SECS: u64 = 900;
/// Upper bound for the context-token and OAuth access-token lifetimes (env and admin API).
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;
/// The Forge app id the simulator signs for unless `SIM_FORGE_APP_ID` says otherwise. A fixed
/// made-up id, so `scripts/dev.sh` can give the app the same `FORGE_APP_ID` without asking.
pub const DEFAULT_FORGE_APP_ID: &str =
    "ari:cloud:ecosystem::app/8db517b3-b937-4884-aa7b-79acfdcaffda";
/// Where FITs say the site's product API is (`app.apiBaseUrl` = this + `/<cloudId>`) unless
/// `SIM_FORGE_API_BASE_URL` says otherwise. Atlassian's: the app's FIT verifier accepts only
/// URLs under its configured prefix.
pub const DEFAULT_FORGE_API_BASE_URL: &str = "https://api.atlassian.com/ex/confluence";
/// The environment part of the default development environment: unless
/// `SIM_FORGE_ENVIRONMENT_ID` says otherwise, FITs carry
/// `ari:cloud:ecosystem::environment/<app uuid>/<this>` with type `DEVELOPMENT`.
pub const DEFAULT_FORGE_ENVIRONMENT_UUID: &str = "c97c7994-1847-4fcc-89fc-95a62602ea67";

/// The simulator's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address; always loopback.
    pub addr: SocketAddr,
    /// The app's root URL without trailing `/`: the descriptor is `{app_url}/atlassian-connect.json`.
    pub app_url: String,
    /// Public origin of the simulator (site base URLs, `xdm_e`); `None` = `http://{bound address}`.
    pub public_url: Option<String>,
    /// Initial lifetime of context tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// Initial lifetime of OAuth access tokens (`POST /oauth2/token`), in seconds.
    pub oauth_token_lifetime_secs: u64,
    /// Install every site in the background once the app answers.
    pub auto_install: bool,
    /// Play Forge too (`SIM_FORGE`, default on): FIT signing keys, the JWKS, Forge installs.
    pub forge: Option<ForgeConfig>,
}

/// Who the simulated Forge app is: the `aud`/`app.id` and environment of every FIT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeConfig {
    /// `SIM_FORGE_APP_ID`: the app ARI (a bare UUID is made into one).
    pub app_id: AppId,
    /// `SIM_FORGE_ENVIRONMENT_ID`: an environment of that app, presented as `DEVELOPMENT`.
    pub environment_id: EnvironmentId,
    /// `SIM_FORGE_API_BASE_URL`, without a trailing `/`: FITs carry `{this}/{cloudId}`. Point
    /// it at `{public url}/ex/confluence` to have the app call the simulator.
    pub api_base_url: String,
}

impl ForgeConfig {
    /// The default app and its default development environment.
    pub fn development() -> Self {
        let app_id = default_app_id();
        Self {
            environment_id: default_environment(&app_id),
            app_id,
            api_base_url: DEFAULT_FORGE_API_BASE_URL.to_owned(),
        }
    }
}

// Panics only on a broken constant, which the `defaults` test would catch.
fn default_app_id() -> AppId {
    AppId::parse(DEFAULT_FORGE_APP_ID).expect("DEFAULT_FORGE_APP_ID is an app ARI")
}

// A UUID constant under a parsed app id: checked by the tests.
fn default_environment(app_id: &AppId) -> EnvironmentId {
    EnvironmentId::parse(&format!(
        "ari:cloud:ecosystem::environment/{}/{DEFAULT_FORGE_ENVIRONMENT_UUID}",
        app_id.uuid()
    ))
    .expect("DEFAULT_FORGE_ENVIRONMENT_UUID is a lower-case UUID")
}

/// `SIM_FORGE`, `SIM_FORGE_APP_ID`, `SIM_FORGE_ENVIRONMENT_ID`, `SIM_FORGE_API_BASE_URL`. The
/// ids are checked even with
/// Forge off, so a typo shows at once rather than on the day Forge is turned on.
fn parse_forge(get: &impl Fn(&str) -> Option<String>) -> Result<Option<ForgeConfig>, ConfigError> {
    let enabled = match get("SIM_FORGE") {
        None => true,
        Some(v) => parse_bool(&v).ok_or_else(|| ConfigError {
            var: "SIM_FORGE",
            message: format!("{v:?} is not a boolean (use true or false)"),
        })?,
    };
    let app_id = match get("SIM_FORGE_APP_ID") {
        None => default_app_id(),
        Some(v) => AppId::parse(v.trim()).ok_or_else(|| ConfigError {
            var: "SIM_FORGE_APP_ID",
            message: format!(
                "{v:?} is not ari:cloud:ecosystem::app/<uuid> or a bare lower-case UUID"
            ),
        })?,
    };
    let environment_id = match get("SIM_FORGE_ENVIRONMENT_ID") {
        None => default_environment(&app_id),
        Some(v) => EnvironmentId::parse(v.trim())
            .filter(|env| env.is_of(&app_id))
            .ok_or_else(|| ConfigError {
                var: "SIM_FORGE_ENVIRONMENT_ID",
                message: format!(
                    "{v:?} is not an environment of {app_id} \
                     (ari:cloud:ecosystem::environment/{}/<environment uuid>)",
                    app_id.uuid()
                ),
            })?,
    };
    let api_base_url = match get("SIM_FORGE_API_BASE_URL") {
        None => DEFAULT_FORGE_API_BASE_URL.to_owned(),
        Some(v) => parse_http_url("SIM_FORGE_API_BASE_URL", &v)?
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
    };
    Ok(enabled.then_some(ForgeConfig {
        app_id,
        environment_id,
        api_base_url,
    }))
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {var}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `get` (empty values count as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let addr = parse_addr(&get("SIM_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned()))?;
        let app_url = parse_app_url(&get("SIM_APP_URL").unwrap_or_else(|| DEFAULT_APP_URL.into()))?;
        let public_url = get("SIM_PUBLIC_URL")
            .map(|v| parse_public_url(&v))
            .transpose()?;
        let token_lifetime_secs = match get("SIM_TOKEN_LIFETIME_SECS") {
            None => DEFAULT_TOKEN_LIFETIME_SECS,
            Some(v) => parse_lifetime(&v).map_err(|message| ConfigError {
                var: "SIM_TOKEN_LIFETIME_SECS",
                message,
            })?,
        };
        let oauth_token_lifetime_secs = match get("SIM_OAUTH_TOKEN_LIFETIME_SECS") {
            None => DEFAULT_OAUTH_TOKEN_LIFETIME_SECS,
            Some(v) => parse_lifetime(&v).map_err(|message| ConfigError {
                var: "SIM_OAUTH_TOKEN_LIFETIME_SECS",
                message,
            })?,
        };
        let auto_install = match get("SIM_AUTO_INSTALL") {
            None => true,
            Some(v) => parse_bool(&v).ok_or_else(|| ConfigError {
                var: "SIM_AUTO_INSTALL",
                message: format!("{v:?} is not a boolean (use true or false)"),
            })?,
        };
        let forge = parse_forge(&get)?;
        Ok(Self {
            addr,
            app_url,
            public_url,
            token_lifetime_secs,
            oauth_token_lifetime_secs,
            auto_install,
            forge,
        })
    }

    /// A configuration for tests: the given app, loopback on a port chosen by the caller's
    /// listener, no auto-install.
    pub fn for_app(app_url: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            app_url: parse_app_url(app_url)?,
            public_url: None,
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            oauth_token_lifetime_secs: DEFAULT_OAUTH_TOKEN_LIFETIME_SECS,
            auto_install: false,
            forge: Some(ForgeConfig::development()),
        })
    }

    /// `GET` here returns the app descriptor.
    pub fn descriptor_url(&self) -> String {
        format!("{}/atlassian-connect.json", self.app_url)
    }

    /// The app's health endpoint, polled before auto-install.
    pub fn healthz_url(&self) -> String {
        format!("{}/healthz", self.app_url)
    }
}

/// Checks a context-token lifetime (env or admin API): 1 ..= [`MAX_TOKEN_LIFETIME_SECS`].
pub fn parse_lifetime(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(secs) => check_lifetime(secs),
        Err(_) => Err(format!("{value:?} is not a whole number of seconds")),
    }
}

/// The range rule of [`parse_lifetime`] for an already numeric value.
pub fn check_lifetime(secs: u64) -> Result<u64, String> {
    if (1..=MAX_TOKEN_LIFETIME_SECS).contains(&secs) {
        Ok(secs)
    } else {
        Err(format!(
            "{secs} is outside 1..={MAX_TOKEN_LIFETIME_SECS} seconds"
        ))
    }
}

fn parse_addr(value: &str) -> Result<SocketAddr, ConfigError> {
    let err = |message: String| ConfigError {
        var: "SIM_ADDR",
        message,
    };
    let addr: SocketAddr = value.trim().parse().map_err(|_| {
        err(format!(
            "{value:?} is not an IP:port address like {DEFAULT_ADDR}"
        ))
    })?;
    if !addr.ip().is_loopback() {
        return Err(err(format!(
            "{addr} is not a loopback address; the simulator only listens on loopback"
        )));
    }
    Ok(addr)
}

fn parse_http_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
    let err = |message: String| ConfigError { var, message };
    let url = Url::parse(value.trim()).map_err(|e| err(format!("{value:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(err(format!("{value:?} must be an http:// or https:// URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(format!("{value:?} must not have a query or fragment")));
    }
    Ok(url)
}

fn parse_app_url(value: &str) -> Result<String, ConfigError> {
    let url = parse_http_url("SIM_APP_URL", value)?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn parse_public_url(value: &str) -> Result<String, ConfigError> {
    let url = parse_http_url("SIM_PUBLIC_URL", value)?;
    if url.path() != "/" {
        return Err(ConfigError {
            var: "SIM_PUBLIC_URL",
            message: format!("{value:?} must be an origin without a path"),
        });
    }
    Ok(url.origin().ascii_serialization())
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(c.app_url, "http://127.0.0.1:3000");
        assert_eq!(
            c.descriptor_url(),
            "http://127.0.0.1:3000/atlassian-connect.json"
        );
        assert_eq!(c.public_url, None);
        assert_eq!(c.token_lifetime_secs, 900);
        assert_eq!(c.oauth_token_lifetime_secs, 900);
        assert!(c.auto_install);
        let forge = c.forge.unwrap();
        assert_eq!(forge, ForgeConfig::development());
        assert_eq!(forge.app_id.as_str(), DEFAULT_FORGE_APP_ID);
        assert_eq!(
            forge.environment_id.as_str(),
            format!(
                "ari:cloud:ecosystem::environment/8db517b3-b937-4884-aa7b-79acfdcaffda/{DEFAULT_FORGE_ENVIRONMENT_UUID}"
            )
        );
        assert!(forge.environment_id.is_of(&forge.app_id));
        assert_eq!(forge.api_base_url, DEFAULT_FORGE_API_BASE_URL);
    }

    #[test]
    fn dev_script_gives_the_app_the_default_forge_app_id() {
        let script = include_str!("../../scripts/dev.sh");
        assert!(script.contains(&format!("FORGE_APP_ID:-{DEFAULT_FORGE_APP_ID}}}")));
    }

    #[test]
    fn forge_ids_and_switch() {
        let app = "0b9c4f3e-1111-4222-8333-944455556666";
        let env =
            format!("ari:cloud:ecosystem::environment/{app}/1e468bcd-89ab-49f0-a648-14620b9cde00");
        let c = config(&[("SIM_FORGE_APP_ID", app)]).unwrap();
        let forge = c.forge.unwrap();
        assert_eq!(
            forge.app_id.as_str(),
            format!("ari:cloud:ecosystem::app/{app}")
        );
        assert!(
            forge.environment_id.is_of(&forge.app_id),
            "the default environment follows the app"
        );
        let c = config(&[
            ("SIM_FORGE_APP_ID", app),
            ("SIM_FORGE_ENVIRONMENT_ID", &env),
        ])
        .unwrap();
        assert_eq!(c.forge.unwrap().environment_id.as_str(), env);
        assert_eq!(config(&[("SIM_FORGE", "off")]).unwrap().forge, None);
        let c = config(&[(
            "SIM_FORGE_API_BASE_URL",
            "http://127.0.0.1:3100/ex/confluence/",
        )]);
        assert_eq!(
            c.unwrap().forge.unwrap().api_base_url,
            "http://127.0.0.1:3100/ex/confluence"
        );
    }

    #[test]
    fn explicit_values() {
        let c = config(&[
            ("SIM_ADDR", "127.0.0.1:4100"),
            ("SIM_APP_URL", "http://127.0.0.1:3000/app/"),
            ("SIM_PUBLIC_URL", "http://localhost:4100/"),
            ("SIM_TOKEN_LIFETIME_SECS", "5"),
            ("SIM_OAUTH_TOKEN_LIFETIME_SECS", "7"),
            ("SIM_AUTO_INSTALL", "false"),
        ])
        .unwrap();
        assert_eq!(c.addr.port(), 4100);
        assert_eq!(c.healthz_url(), "http://127.0.0.1:3000/app/healthz");
        assert_eq!(c.public_url.as_deref(), Some("http://localhost:4100"));
        assert_eq!(c.token_lifetime_secs, 5);
        assert_eq!(c.oauth_token_lifetime_secs, 7);
        assert!(!c.auto_install);
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            ("SIM_ADDR", "0.0.0.0:3100"),
            ("SIM_ADDR", "localhost"),
            ("SIM_APP_URL", "ftp://x"),
            ("SIM_APP_URL", "http://x/?a=1"),
            ("SIM_PUBLIC_URL", "http://x/prefix"),
            ("SIM_TOKEN_LIFETIME_SECS", "0"),
            ("SIM_TOKEN_LIFETIME_SECS", "-1"),
            ("SIM_TOKEN_LIFETIME_SECS", "999999"),
            ("SIM_OAUTH_TOKEN_LIFETIME_SECS", "0"),
            ("SIM_AUTO_INSTALL", "maybe"),
            ("SIM_FORGE", "sometimes"),
            ("SIM_FORGE_APP_ID", "ari:cloud:ecosystem::app/NOT-A-UUID"),
            (
                "SIM_FORGE_APP_ID",
                "ari:cloud:ecosystem::installation/8db517b3-b937-4884-aa7b-79acfdcaffda",
            ),
            // An environment of another app.
            (
                "SIM_FORGE_ENVIRONMENT_ID",
                "ari:cloud:ecosystem::environment/0b9c4f3e-1111-4222-8333-944455556666/1e468bcd-89ab-49f0-a648-14620b9cde00",
            ),
            ("SIM_FORGE_ENVIRONMENT_ID", "DEVELOPMENT"),
            ("SIM_FORGE_API_BASE_URL", "api.atlassian.com/ex/confluence"),
            ("SIM_FORGE_API_BASE_URL", "http://127.0.0.1:3100/ex?x=1"),
        ];
        for (var, value) in cases {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{value}");
            assert!(err.to_string().starts_with(&format!("invalid {var}: ")));
        }
    }
}
