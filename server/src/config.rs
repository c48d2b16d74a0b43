//! Typed configuration from environment variables (and an optional `.env`). Every problem is one
//! line naming the variable; nothing here panics. Secret values never appear in messages, and
//! the secret ones (`DATABASE_URL`, `TENANT_SECRET_KEYS`) are `SecretString`s: `{:?}` of a
//! `Config` prints `[REDACTED]` for them.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use connect::forge::{AppId, EnvironmentId, EnvironmentPolicy};

use crate::connect::install_keys::InstallKeyPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// A configuration problem: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

fn bad(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub env: AppEnv,
    /// The public address of the app, as Confluence reaches it (`baseUrl` in the descriptor).
    pub base_url: String,
    /// The path part of `base_url` without a trailing `/` ("" at the root).
    pub base_path: String,
    pub app_key: String,
    pub app_name: String,
    pub vendor_name: String,
    pub vendor_url: String,
    /// `DATABASE_URL`: `sqlite:...` (the default) or `postgres://...` (several instances). May
    /// hold a password.
    pub database_url: SecretString,
    /// `DATABASE_MAX_CONNECTIONS` (default 8): the pool size of this instance.
    pub db_max_connections: u32,
    /// `DATABASE_TIMEOUT_MS` (default 3000): the longest a request waits for a connection, and
    /// on PostgreSQL the statement and idle-in-transaction timeout; while the database is down,
    /// requests answer 503 `store_unavailable` after at most this long.
    pub db_acquire_timeout: Duration,
    /// `CACHE_MIB` (default 64, 0 = off): memory for the in-process tenant and preferences
    /// caches, which are used only on SQLite (one process owns the file; `crate::cache`).
    pub cache_bytes: u64,
    /// `PAGE_CACHE_MIB` (default 16, 0 = off): memory for rendered pages, reused while the
    /// viewer's preferences are unchanged (`crate::cache::pages`; every backend).
    pub page_cache_bytes: u64,
    /// `LOG_FLUSH_MS` (default 250, 0 = each line at once): in production, how long JSON log
    /// lines may wait in memory to be written together (WARN and ERROR lines never wait).
    pub log_flush: Duration,
    pub install_keys_url: String,
    /// `ATLASSIAN_OAUTH_URL`: the authorization server for Connect user impersonation (its
    /// token endpoint is `<url>/oauth2/token`; also the `aud` of assertions).
    pub oauth_url: String,
    /// How install keys are fetched and remembered; `key_ttl` is `CONNECT_INSTALL_KEY_TTL_SECS`
    /// (default 24 h), the rest are fixed (tests shorten them).
    pub install_key_policy: InstallKeyPolicy,
    pub all_js_url: String,
    /// `TENANT_SECRET_KEYS`; `None` in development means "use the generated dev key".
    pub tenant_secret_keys: Option<SecretString>,
    pub jwt_leeway_secs: u64,
    /// Lifetime of the app session token written into the page (at most 15 minutes).
    pub session_token_ttl_secs: i64,
    /// Extra origins allowed to frame the app, besides Atlassian's.
    pub frame_ancestors: Vec<String>,
    pub site_addr: SocketAddr,
    /// `METRICS_ADDR` (default unset: off): where `GET /metrics` is served, apart from the app
    /// (`crate::metrics::serve`). Set, requests are also counted per route.
    pub metrics_addr: Option<SocketAddr>,
    /// Forge Remote (FIT verification); `None` when `FORGE_APP_ID` is unset.
    pub forge: Option<ForgeConfig>,
    /// The personal-data job: reporting stored accounts, erasing closed ones, deleting the data
    /// of uninstalled tenants (`crate::personal_data`).
    pub personal_data: PersonalDataConfig,
}

/// What the personal-data job does and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalDataConfig {
    /// `PERSONAL_DATA_INTERVAL_SECS` (default 300, 0 = no background job; `server personal-data
    /// --once` still works): how often each instance looks for due work. The first look is one
    /// interval after start.
    pub interval: Duration,
    /// `PERSONAL_DATA_CYCLE_SECS` (default 7 days): the reporting cycle until Atlassian states
    /// one (`Cycle-Period`).
    pub default_cycle: Duration,
    /// `PERSONAL_DATA_REPORT_PATH`: the Connect reporting resource, relative to the tenant's
    /// baseUrl (default [`DEFAULT_PERSONAL_DATA_REPORT_PATH`]).
    pub report_path: String,
    /// `PERSONAL_DATA_BATCH_PAUSE_MS` (default 1000): the pause between two batches of one
    /// tenant, which bounds the rate (90 accounts a second at most by default).
    pub batch_pause: Duration,
    /// `UNINSTALLED_RETENTION_DAYS` (default 30, 0 = at the next run): how long a tenant's data
    /// is kept after `uninstalled`; a re-install before then keeps it.
    pub uninstalled_retention: Duration,
}

/// Atlassian's Connect path of the personal data reporting API, relative to the product's base
/// URL (docs/DEPLOYMENT.md, "Personal data", names the sources).
pub const DEFAULT_PERSONAL_DATA_REPORT_PATH: &str =
    "/rest/atlassian-connect/latest/report-accounts";

/// What Forge invocation tokens are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeConfig {
    /// `FORGE_APP_ID`: the app ARI (a bare UUID is made into one); tokens' `aud` and `app.id`.
    pub app_id: AppId,
    /// `FORGE_JWKS_URL`: where Forge's signing keys are fetched (never from a token).
    pub jwks_url: String,
    /// `FORGE_ENVIRONMENT_IDS`: the environments whose installs may call; unset in development
    /// means any environment of this app.
    pub environments: EnvironmentPolicy,
    /// `FORGE_JWKS_COOLDOWN_SECS`: the least time between two JWKS fetches for unknown kids.
    pub jwks_cooldown: Duration,
    /// `FORGE_API_BASE_URL_PREFIX` (default `https://api.atlassian.com/ex/`): every FIT's
    /// `app.apiBaseUrl` must start with it; it is where calls to Atlassian for Forge go.
    pub api_base_url_prefix: String,
    /// `FORGE_UI_ORIGINS`: browser origins whose CORS preflights to `/api/*` are answered.
    pub ui_origins: crate::forge::ui_origins::UiOrigins,
}

pub const DEFAULT_INSTALL_KEYS_URL: &str = "https://connect-install-keys.atlassian.com";
pub const DEFAULT_ALL_JS_URL: &str = "https://connect-cdn.atl-paas.net/all.js";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/app.db";
pub const DEFAULT_FORGE_JWKS_URL: &str =
    "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json";

/// A loopback host (`127.0.0.0/8`, `::1`, `localhost`): where plain http is allowed in production.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// An absolute http(s) URL; in production https unless the host is loopback.
fn parse_url(var: &'static str, raw: &str, env: AppEnv) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| bad(var, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(var, "must be an http or https URL"));
    }
    if url.host().is_none() {
        return Err(bad(var, "must name a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(var, "must not carry a query or fragment"));
    }
    if env == AppEnv::Production && url.scheme() == "http" && !is_loopback(&url) {
        return Err(bad(
            var,
            "must use https in production (plain http is allowed only for loopback hosts)",
        ));
    }
    Ok(url)
}

impl Config {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let env = match var("APP_ENV").as_deref() {
            None | Some("development") => AppEnv::Development,
            Some("production") => AppEnv::Production,
            Some(other) => {
                return Err(bad(
                    "APP_ENV",
                    format!("must be development or production, not {other:?}"),
                ));
            }
        };

        let site_addr: SocketAddr = var("LEPTOS_SITE_ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .map_err(|_| {
                bad(
                    "LEPTOS_SITE_ADDR",
                    "must be an address such as 127.0.0.1:3000",
                )
            })?;

        let metrics_addr = match var("METRICS_ADDR") {
            None => None,
            Some(raw) => {
                let addr: SocketAddr = raw.parse().map_err(|_| {
                    bad(
                        "METRICS_ADDR",
                        "must be an address such as 127.0.0.1:9464 (unset: no metrics)",
                    )
                })?;
                if addr.port() != 0 && addr == site_addr {
                    return Err(bad(
                        "METRICS_ADDR",
                        "must differ from LEPTOS_SITE_ADDR: metrics are never served on the app's address",
                    ));
                }
                Some(addr)
            }
        };

        let base_raw = var("APP_BASE_URL").unwrap_or_else(|| format!("http://{site_addr}"));
        let base = parse_url("APP_BASE_URL", &base_raw, env)?;
        let base_path = base.path().trim_end_matches('/').to_string();
        let base_url = base_raw.trim_end_matches('/').to_string();

        let app_key = var("APP_KEY").unwrap_or_else(|| "com.example.confluence-preferences".into());
        if app_key.len() > 64
            || !app_key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(bad(
                "APP_KEY",
                "must be at most 64 characters of letters, digits, '.', '-' and '_'",
            ));
        }

        let install_keys_url = parse_url(
            "CONNECT_INSTALL_KEYS_URL",
            &var("CONNECT_INSTALL_KEYS_URL").unwrap_or_else(|| DEFAULT_INSTALL_KEYS_URL.into()),
            env,
        )?
        .to_string()
        .trim_end_matches('/')
        .to_string();
        let oauth_url = parse_url(
            "ATLASSIAN_OAUTH_URL",
            &var("ATLASSIAN_OAUTH_URL")
                .unwrap_or_else(|| connect::outbound::ATLASSIAN_OAUTH_URL.into()),
            env,
        )?
        .to_string()
        .trim_end_matches('/')
        .to_string();
        let all_js_url = parse_url(
            "CONNECT_ALL_JS_URL",
            &var("CONNECT_ALL_JS_URL").unwrap_or_else(|| DEFAULT_ALL_JS_URL.into()),
            env,
        )?
        .to_string();

        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(bad(
                "DATABASE_URL",
                "must start with sqlite: or postgres:// (the value is not shown: it may hold a password)",
            ));
        }

        let tenant_secret_keys = var("TENANT_SECRET_KEYS").map(SecretString::from);
        if env == AppEnv::Production && tenant_secret_keys.is_none() {
            return Err(bad(
                "TENANT_SECRET_KEYS",
                "is required in production (comma-separated id:base64-32-byte-key entries)",
            ));
        }

        // A whole number within `range`, or the default when unset.
        let number = |name: &'static str, range: std::ops::RangeInclusive<u64>, default: u64| {
            match var(name) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        bad(
                            name,
                            format!(
                                "must be a whole number from {} to {}",
                                range.start(),
                                range.end()
                            ),
                        )
                    }),
            }
        };
        let jwt_leeway_secs = number(
            "JWT_LEEWAY_SECS",
            0..=connect::MAX_LEEWAY_SECS,
            connect::DEFAULT_LEEWAY_SECS,
        )?;
        // Both in range by the checks of `number`: the conversions cannot fail.
        let session_token_ttl_secs =
            i64::try_from(number("SESSION_TOKEN_TTL_SECS", 1..=900, 900)?).unwrap_or(900);
        let db_max_connections =
            u32::try_from(number("DATABASE_MAX_CONNECTIONS", 1..=256, 8)?).unwrap_or(8);
        let db_acquire_timeout =
            Duration::from_millis(number("DATABASE_TIMEOUT_MS", 50..=60_000, 3000)?);
        let cache_bytes = number("CACHE_MIB", 0..=4096, 64)? << 20;
        let page_cache_bytes = number("PAGE_CACHE_MIB", 0..=4096, 16)? << 20;
        let log_flush = Duration::from_millis(number("LOG_FLUSH_MS", 0..=10_000, 250)?);
        let install_key_policy = InstallKeyPolicy {
            key_ttl: Duration::from_secs(number(
                "CONNECT_INSTALL_KEY_TTL_SECS",
                60..=7 * 24 * 60 * 60,
                24 * 60 * 60,
            )?),
            ..InstallKeyPolicy::default()
        };

        let mut frame_ancestors = Vec::new();
        for origin in var("FRAME_ANCESTORS").unwrap_or_default().split(',') {
            let origin = origin.trim();
            if origin.is_empty() {
                continue;
            }
            // http only in development, or for loopback hosts (tests run production mode locally).
            let loopback_http =
                Url::parse(origin).is_ok_and(|u| u.scheme() == "http" && is_loopback(&u));
            let ok = origin.starts_with("https://")
                || origin.starts_with("http://") && (env == AppEnv::Development || loopback_http);
            if !ok || origin.contains(|c: char| c.is_whitespace() || c == ';' || c == '\'') {
                return Err(bad(
                    "FRAME_ANCESTORS",
                    format!(
                        "{origin:?} is not an allowed origin (https://host[:port]; http:// only in development or for loopback hosts)"
                    ),
                ));
            }
            frame_ancestors.push(origin.to_string());
        }

        let forge = forge_config(&var, env, &number)?;
        let personal_data = personal_data_config(&var, &number)?;

        Ok(Self {
            env,
            base_url,
            base_path,
            app_name: var("APP_NAME").unwrap_or_else(|| "Preferences for Confluence".into()),
            vendor_name: var("APP_VENDOR_NAME").unwrap_or_else(|| "Example Vendor".into()),
            vendor_url: var("APP_VENDOR_URL").unwrap_or_else(|| "https://example.com".into()),
            app_key,
            database_url: database_url.into(),
            db_max_connections,
            db_acquire_timeout,
            cache_bytes,
            page_cache_bytes,
            log_flush,
            install_keys_url,
            oauth_url,
            install_key_policy,
            all_js_url,
            tenant_secret_keys,
            jwt_leeway_secs,
            session_token_ttl_secs,
            frame_ancestors,
            site_addr,
            metrics_addr,
            forge,
            personal_data,
        })
    }

    pub fn is_production(&self) -> bool {
        self.env == AppEnv::Production
    }
}

/// The `PERSONAL_DATA_*` variables and `UNINSTALLED_RETENTION_DAYS`.
fn personal_data_config(
    var: &impl Fn(&str) -> Option<String>,
    number: &impl Fn(&'static str, std::ops::RangeInclusive<u64>, u64) -> Result<u64, ConfigError>,
) -> Result<PersonalDataConfig, ConfigError> {
    const DAY: u64 = 24 * 60 * 60;
    let report_path = var("PERSONAL_DATA_REPORT_PATH")
        .unwrap_or_else(|| DEFAULT_PERSONAL_DATA_REPORT_PATH.to_owned());
    if !report_path.starts_with('/')
        || report_path.starts_with("//")
        || report_path.len() > 512
        || report_path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '\\'))
    {
        return Err(bad(
            "PERSONAL_DATA_REPORT_PATH",
            "must be a path starting with '/' (relative to the tenant's baseUrl), without query",
        ));
    }
    Ok(PersonalDataConfig {
        interval: Duration::from_secs(number("PERSONAL_DATA_INTERVAL_SECS", 0..=DAY, 300)?),
        default_cycle: Duration::from_secs(number(
            "PERSONAL_DATA_CYCLE_SECS",
            60..=365 * DAY,
            7 * DAY,
        )?),
        report_path,
        batch_pause: Duration::from_millis(number(
            "PERSONAL_DATA_BATCH_PAUSE_MS",
            0..=60_000,
            1000,
        )?),
        uninstalled_retention: Duration::from_secs(
            number("UNINSTALLED_RETENTION_DAYS", 0..=3650, 30)? * DAY,
        ),
    })
}

/// The `FORGE_*` variables: all or nothing, keyed on `FORGE_APP_ID`.
fn forge_config(
    var: &impl Fn(&str) -> Option<String>,
    env: AppEnv,
    number: &impl Fn(&'static str, std::ops::RangeInclusive<u64>, u64) -> Result<u64, ConfigError>,
) -> Result<Option<ForgeConfig>, ConfigError> {
    let Some(raw_app_id) = var("FORGE_APP_ID") else {
        for other in [
            "FORGE_JWKS_URL",
            "FORGE_ENVIRONMENT_IDS",
            "FORGE_JWKS_COOLDOWN_SECS",
            "FORGE_API_BASE_URL_PREFIX",
            "FORGE_UI_ORIGINS",
        ] {
            if var(other).is_some() {
                return Err(bad(
                    "FORGE_APP_ID",
                    format!("is required when {other} is set (Forge is off without it)"),
                ));
            }
        }
        return Ok(None);
    };
    let app_id = AppId::parse(&raw_app_id).ok_or_else(|| {
        bad(
            "FORGE_APP_ID",
            "must be ari:cloud:ecosystem::app/<uuid> or the bare lower-case UUID",
        )
    })?;
    let jwks_url = parse_url(
        "FORGE_JWKS_URL",
        &var("FORGE_JWKS_URL").unwrap_or_else(|| DEFAULT_FORGE_JWKS_URL.into()),
        env,
    )?
    .to_string();
    let environments = match var("FORGE_ENVIRONMENT_IDS") {
        None if env == AppEnv::Production => {
            return Err(bad(
                "FORGE_ENVIRONMENT_IDS",
                "is required in production when FORGE_APP_ID is set (comma-separated environment ARIs)",
            ));
        }
        None => EnvironmentPolicy::AnyOfApp,
        Some(list) => {
            let mut ids = Vec::new();
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let id = EnvironmentId::parse(item)
                    .filter(|id| id.is_of(&app_id))
                    .ok_or_else(|| {
                        bad(
                            "FORGE_ENVIRONMENT_IDS",
                            format!(
                                "{item:?} is not an environment of FORGE_APP_ID (ari:cloud:ecosystem::environment/<app uuid>/<environment uuid>)"
                            ),
                        )
                    })?;
                ids.push(id);
            }
            EnvironmentPolicy::Only(ids)
        }
    };
    // Where FITs may send the app's calls to Atlassian (`app.apiBaseUrl`); another value only for
    // Atlassian's staging or the simulator's gateway.
    let api_base_url_prefix = match var("FORGE_API_BASE_URL_PREFIX") {
        None => connect::forge::DEFAULT_API_BASE_URL_PREFIX.to_owned(),
        Some(raw) => {
            let url = parse_url("FORGE_API_BASE_URL_PREFIX", &raw, env)?;
            if !url.path().ends_with('/') {
                return Err(bad("FORGE_API_BASE_URL_PREFIX", "must end with '/'"));
            }
            url.to_string()
        }
    };
    // Production keeps the floor of docs/AUTH-RULES.md §F1.2; development may go lower
    // (simulator).
    let min_cooldown = if env == AppEnv::Production { 30 } else { 1 };
    let jwks_cooldown =
        Duration::from_secs(number("FORGE_JWKS_COOLDOWN_SECS", min_cooldown..=3600, 30)?);
    let ui_origins = crate::forge::ui_origins::UiOrigins::parse(
        &var("FORGE_UI_ORIGINS")
            .unwrap_or_else(|| crate::forge::ui_origins::DEFAULT_UI_ORIGINS.into()),
    )
    .map_err(|problem| bad("FORGE_UI_ORIGINS", problem))?;
    Ok(Some(ForgeConfig {
        app_id,
        jwks_url,
        environments,
        jwks_cooldown,
        api_base_url_prefix,
        ui_origins,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_a_working_development_setup() {
        let c = config(&[]).unwrap();
        assert_eq!(c.env, AppEnv::Development);
        assert_eq!(c.base_url, "http://127.0.0.1:3000");
        assert_eq!(c.base_path, "");
        assert_eq!(c.database_url.expose_secret(), DEFAULT_DATABASE_URL);
        assert_eq!(c.install_keys_url, DEFAULT_INSTALL_KEYS_URL);
        assert_eq!(c.jwt_leeway_secs, 30);
        assert_eq!(c.page_cache_bytes, 16 << 20);
        assert_eq!(c.log_flush, Duration::from_millis(250));
        assert_eq!(c.install_key_policy, InstallKeyPolicy::default());
        assert_eq!(c.install_key_policy.key_ttl, Duration::from_secs(86_400));
        assert_eq!(c.metrics_addr, None);
    }

    #[test]
    fn metrics_addr_is_a_socket_address_apart_from_the_app() {
        let c = config(&[("METRICS_ADDR", "127.0.0.1:9464")]).unwrap();
        assert_eq!(c.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        let c = config(&[("METRICS_ADDR", "[::1]:9464")]).unwrap();
        assert_eq!(c.metrics_addr, Some("[::1]:9464".parse().unwrap()));
        let err = config(&[("METRICS_ADDR", "127.0.0.1:3000")]).unwrap_err();
        assert!(err.problem.contains("LEPTOS_SITE_ADDR"), "{err}");
    }

    #[test]
    fn install_key_ttl_bounds() {
        let ttl = |v: &str| {
            config(&[("CONNECT_INSTALL_KEY_TTL_SECS", v)]).map(|c| c.install_key_policy.key_ttl)
        };
        assert_eq!(ttl("60"), Ok(Duration::from_secs(60)));
        assert_eq!(ttl("604800"), Ok(Duration::from_secs(604_800)));
        for bad in ["59", "604801", "0", "1d"] {
            let e = ttl(bad).unwrap_err();
            assert_eq!(e.var, "CONNECT_INSTALL_KEY_TTL_SECS", "{bad}");
            assert_eq!(
                e.to_string(),
                "configuration error: CONNECT_INSTALL_KEY_TTL_SECS: must be a whole number from 60 to 604800"
            );
        }
    }

    #[test]
    fn production_rules() {
        let keys = ("TENANT_SECRET_KEYS", "k1:AAAA");
        let e = config(&[
            ("APP_ENV", "production"),
            ("APP_BASE_URL", "http://example.com"),
            keys,
        ])
        .unwrap_err();
        assert_eq!(e.var, "APP_BASE_URL");
        assert!(
            e.to_string()
                .starts_with("configuration error: APP_BASE_URL: must use https")
        );
        // Loopback http stays allowed so production mode runs locally.
        let c = config(&[
            ("APP_ENV", "production"),
            ("APP_BASE_URL", "http://127.0.0.1:4000"),
            keys,
        ])
        .unwrap();
        assert!(c.is_production());
        let frame = |origin: &'static str| {
            config(&[("APP_ENV", "production"), ("FRAME_ANCESTORS", origin), keys])
        };
        assert!(frame("http://127.0.0.1:3110").is_ok());
        assert_eq!(
            frame("http://example.com").unwrap_err().var,
            "FRAME_ANCESTORS"
        );
        let e = config(&[
            ("APP_ENV", "production"),
            ("APP_BASE_URL", "https://x.example"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "TENANT_SECRET_KEYS");
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (k, v) in [
            ("APP_ENV", "staging"),
            ("APP_BASE_URL", "not a url"),
            ("APP_BASE_URL", "ftp://x"),
            ("APP_BASE_URL", "https://x/?a=b"),
            ("APP_KEY", "has space"),
            ("DATABASE_URL", "mysql://x"),
            ("JWT_LEEWAY_SECS", "61"),
            ("LEPTOS_SITE_ADDR", "nowhere"),
            ("CONNECT_INSTALL_KEYS_URL", "keys"),
            ("FRAME_ANCESTORS", "https://a; script-src *"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("DATABASE_TIMEOUT_MS", "10"),
            ("DATABASE_URL", "postgres:/x"),
            ("SESSION_TOKEN_TTL_SECS", "901"),
            ("CACHE_MIB", "-1"),
            ("PAGE_CACHE_MIB", "4097"),
            ("LOG_FLUSH_MS", "10001"),
            ("LOG_FLUSH_MS", "soon"),
            ("METRICS_ADDR", "9464"),
            ("METRICS_ADDR", "localhost:9464"),
            ("METRICS_ADDR", "127.0.0.1:3000"),
        ] {
            assert_eq!(config(&[(k, v)]).unwrap_err().var, k, "{k}={v}");
        }
    }

    const FORGE_UUID: &str = "d9e4002b-120b-426b-834b-402a4a5adce7";
    const FORGE_ENV: &str = "ari:cloud:ecosystem::environment/d9e4002b-120b-426b-834b-402a4a5adce7/1e468bcd-89ab-49f0-a648-14620b9cde00";

    #[test]
    fn forge_is_off_unless_an_app_id_is_set() {
        assert_eq!(config(&[]).unwrap().forge, None);
        for other in [
            "FORGE_JWKS_URL",
            "FORGE_ENVIRONMENT_IDS",
            "FORGE_JWKS_COOLDOWN_SECS",
            "FORGE_UI_ORIGINS",
        ] {
            let e = config(&[(other, "30")]).unwrap_err();
            assert_eq!(e.var, "FORGE_APP_ID", "{other}");
        }
    }

    #[test]
    fn forge_defaults_and_app_id_normalisation() {
        let f = config(&[("FORGE_APP_ID", FORGE_UUID)])
            .unwrap()
            .forge
            .unwrap();
        assert_eq!(
            f.app_id.as_str(),
            format!("ari:cloud:ecosystem::app/{FORGE_UUID}")
        );
        assert_eq!(f.jwks_url, DEFAULT_FORGE_JWKS_URL);
        assert_eq!(f.environments, EnvironmentPolicy::AnyOfApp);
        assert_eq!(f.jwks_cooldown, Duration::from_secs(30));
        assert!(f.ui_origins.allows("https://acme.atlassian.net"));
        assert!(!f.ui_origins.allows("http://127.0.0.1:3100"));
        let ari = format!("ari:cloud:ecosystem::app/{FORGE_UUID}");
        let f = config(&[
            ("FORGE_APP_ID", ari.as_str()),
            ("FORGE_ENVIRONMENT_IDS", &format!(" {FORGE_ENV} ,")),
        ])
        .unwrap()
        .forge
        .unwrap();
        assert_eq!(f.app_id.as_str(), ari);
        assert_eq!(
            f.environments,
            EnvironmentPolicy::Only(vec![EnvironmentId::parse(FORGE_ENV).unwrap()])
        );
    }

    #[test]
    fn forge_bad_values_name_their_variable() {
        let app = ("FORGE_APP_ID", FORGE_UUID);
        let other_app_env = "ari:cloud:ecosystem::environment/00000000-0000-4000-8000-000000000000/1e468bcd-89ab-49f0-a648-14620b9cde00";
        for (k, v) in [
            ("FORGE_APP_ID", "my-app"),
            (
                "FORGE_APP_ID",
                "ari:cloud:ecosystem::app/D9E4002B-120B-426B-834B-402A4A5ADCE7",
            ),
            ("FORGE_JWKS_URL", "forge.cdn.prod.atlassian-dev.net"),
            ("FORGE_ENVIRONMENT_IDS", "DEVELOPMENT"),
            ("FORGE_ENVIRONMENT_IDS", other_app_env),
            ("FORGE_JWKS_COOLDOWN_SECS", "0"),
            ("FORGE_JWKS_COOLDOWN_SECS", "3601"),
            ("FORGE_UI_ORIGINS", "*"),
            ("FORGE_UI_ORIGINS", "http://ui.example.com"),
        ] {
            let vars: Vec<(&str, &str)> = if k == "FORGE_APP_ID" {
                vec![(k, v)]
            } else {
                vec![app, (k, v)]
            };
            assert_eq!(config(&vars).unwrap_err().var, k, "{k}={v}");
        }
        let e = config(&[app, ("FORGE_JWKS_COOLDOWN_SECS", "0")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration error: FORGE_JWKS_COOLDOWN_SECS: must be a whole number from 1 to 3600"
        );
    }

    #[test]
    fn forge_production_rules() {
        let prod = [
            ("APP_ENV", "production"),
            ("APP_BASE_URL", "https://x.example"),
            ("TENANT_SECRET_KEYS", "k1:AAAA"),
            ("FORGE_APP_ID", FORGE_UUID),
        ];
        assert_eq!(config(&prod).unwrap_err().var, "FORGE_ENVIRONMENT_IDS");
        let with_envs = [prod.as_slice(), &[("FORGE_ENVIRONMENT_IDS", FORGE_ENV)]].concat();
        assert!(config(&with_envs).unwrap().forge.is_some());
        let cooldown = |v: &'static str| {
            config(&[with_envs.as_slice(), &[("FORGE_JWKS_COOLDOWN_SECS", v)]].concat())
        };
        assert_eq!(cooldown("29").unwrap_err().var, "FORGE_JWKS_COOLDOWN_SECS");
        assert_eq!(
            cooldown("30").unwrap().forge.unwrap().jwks_cooldown,
            Duration::from_secs(30)
        );
        let http = |url: &'static str| {
            config(&[with_envs.as_slice(), &[("FORGE_JWKS_URL", url)]].concat())
        };
        assert_eq!(
            http("http://forge.example/jwks.json").unwrap_err().var,
            "FORGE_JWKS_URL"
        );
        assert!(http("http://127.0.0.1:9500/jwks.json").is_ok());
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let keys = "k1:c2VjcmV0LWtleS1ieXRlcy0wMDAwMDAwMDAwMDA=";
        let c = config(&[
            (
                "DATABASE_URL",
                "postgres://app:hunter2-pw@db.internal/prefs",
            ),
            ("TENANT_SECRET_KEYS", keys),
        ])
        .unwrap();
        assert_eq!(
            c.database_url.expose_secret(),
            "postgres://app:hunter2-pw@db.internal/prefs"
        );
        let printed = format!("{c:?} {c:#?}");
        for secret in ["hunter2", "db.internal", "c2VjcmV0", keys] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("REDACTED"), "{printed}");
    }

    #[test]
    fn personal_data_defaults_and_bounds() {
        let p = config(&[]).unwrap().personal_data;
        assert_eq!(p.interval, Duration::from_secs(300));
        assert_eq!(p.default_cycle, Duration::from_secs(7 * 86_400));
        assert_eq!(p.report_path, DEFAULT_PERSONAL_DATA_REPORT_PATH);
        assert_eq!(p.batch_pause, Duration::from_secs(1));
        assert_eq!(p.uninstalled_retention, Duration::from_secs(30 * 86_400));
        let p = config(&[
            ("PERSONAL_DATA_INTERVAL_SECS", "0"),
            ("UNINSTALLED_RETENTION_DAYS", "0"),
            ("PERSONAL_DATA_REPORT_PATH", "/app/report-accounts/"),
            ("PERSONAL_DATA_BATCH_PAUSE_MS", "0"),
            ("PERSONAL_DATA_CYCLE_SECS", "86400"),
        ])
        .unwrap()
        .personal_data;
        assert_eq!(p.interval, Duration::ZERO, "0 turns the background job off");
        assert_eq!(
            p.uninstalled_retention,
            Duration::ZERO,
            "0 = at the next run"
        );
        assert_eq!(p.report_path, "/app/report-accounts/");
        assert_eq!(p.default_cycle, Duration::from_secs(86_400));
        for (k, v) in [
            ("PERSONAL_DATA_INTERVAL_SECS", "86401"),
            ("PERSONAL_DATA_CYCLE_SECS", "59"),
            ("PERSONAL_DATA_BATCH_PAUSE_MS", "60001"),
            ("UNINSTALLED_RETENTION_DAYS", "3651"),
            ("UNINSTALLED_RETENTION_DAYS", "-1"),
            ("PERSONAL_DATA_REPORT_PATH", "report-accounts"),
            ("PERSONAL_DATA_REPORT_PATH", "//evil.example/x"),
            ("PERSONAL_DATA_REPORT_PATH", "/x?y=1"),
        ] {
            assert_eq!(config(&[(k, v)]).unwrap_err().var, k, "{k}={v}");
        }
    }

    #[test]
    fn base_url_path_is_kept() {
        let c = config(&[("APP_BASE_URL", "https://apps.example.com/connect/")]).unwrap();
        assert_eq!(c.base_url, "https://apps.example.com/connect");
        assert_eq!(c.base_path, "/connect");
    }
}
