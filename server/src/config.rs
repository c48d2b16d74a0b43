//! Typed configuration from environment variables (and an optional `.env`). Every problem is one
//! line naming the variable; nothing here panics. Secret values never appear in messages.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

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
    /// `DATABASE_URL`: `sqlite:...` (the default) or `postgres://...` (several instances).
    pub database_url: String,
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
    pub all_js_url: String,
    /// `TENANT_SECRET_KEYS`; `None` in development means "use the generated dev key".
    pub tenant_secret_keys: Option<String>,
    pub jwt_leeway_secs: u64,
    /// Lifetime of the app session token written into the page (at most 15 minutes).
    pub session_token_ttl_secs: i64,
    /// Extra origins allowed to frame the app, besides Atlassian's.
    pub frame_ancestors: Vec<String>,
    pub site_addr: SocketAddr,
}

pub const DEFAULT_INSTALL_KEYS_URL: &str = "https://connect-install-keys.atlassian.com";
pub const DEFAULT_ALL_JS_URL: &str = "https://connect-cdn.atl-paas.net/all.js";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/app.db";

fn is_loopback(url: &Url) -> bool {
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

        let tenant_secret_keys = var("TENANT_SECRET_KEYS");
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
        let session_token_ttl_secs = number("SESSION_TOKEN_TTL_SECS", 1..=900, 900)? as i64;
        let db_max_connections = number("DATABASE_MAX_CONNECTIONS", 1..=256, 8)? as u32;
        let db_acquire_timeout =
            Duration::from_millis(number("DATABASE_TIMEOUT_MS", 50..=60_000, 3000)?);
        let cache_bytes = number("CACHE_MIB", 0..=4096, 64)? << 20;
        let page_cache_bytes = number("PAGE_CACHE_MIB", 0..=4096, 16)? << 20;
        let log_flush = Duration::from_millis(number("LOG_FLUSH_MS", 0..=10_000, 250)?);

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

        Ok(Self {
            env,
            base_url,
            base_path,
            app_name: var("APP_NAME").unwrap_or_else(|| "Preferences for Confluence".into()),
            vendor_name: var("APP_VENDOR_NAME").unwrap_or_else(|| "Example Vendor".into()),
            vendor_url: var("APP_VENDOR_URL").unwrap_or_else(|| "https://example.com".into()),
            app_key,
            database_url,
            db_max_connections,
            db_acquire_timeout,
            cache_bytes,
            page_cache_bytes,
            log_flush,
            install_keys_url,
            all_js_url,
            tenant_secret_keys,
            jwt_leeway_secs,
            session_token_ttl_secs,
            frame_ancestors,
            site_addr,
        })
    }

    pub fn is_production(&self) -> bool {
        self.env == AppEnv::Production
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
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
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.install_keys_url, DEFAULT_INSTALL_KEYS_URL);
        assert_eq!(c.jwt_leeway_secs, 30);
        assert_eq!(c.page_cache_bytes, 16 << 20);
        assert_eq!(c.log_flush, Duration::from_millis(250));
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
