//! The app descriptor (`atlassian-connect.json`) as the host reads it: key, name, baseUrl,
//! scopes, lifecycle paths and general pages. Parsing and URL building only; fetching is in
//! `lifecycle`. `baseUrl` is kept exactly as written: it is the `aud` of install tokens.

use reqwest::Url;
use serde::Deserialize;

/// The parts of a descriptor the simulator uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// App key (`key`).
    pub key: String,
    /// App name (`name`, falling back to the key).
    pub name: String,
    /// `baseUrl` exactly as in the descriptor.
    pub base_url: String,
    /// `scopes`, upper-cased (`READ`, `ACT_AS_USER`, …): what the product API lets the app do.
    pub scopes: Vec<String>,
    /// Lifecycle callback paths, relative to `baseUrl`.
    pub lifecycle: Lifecycle,
    /// `modules.generalPages`, in order; never empty.
    pub pages: Vec<GeneralPage>,
    base: Url,
}

/// `lifecycle`: paths such as `/installed`. `installed` is required (it delivers the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// `lifecycle.installed`.
    pub installed: String,
    /// `lifecycle.uninstalled`.
    pub uninstalled: Option<String>,
    /// `lifecycle.enabled`.
    pub enabled: Option<String>,
    /// `lifecycle.disabled`.
    pub disabled: Option<String>,
}

/// One `generalPages` module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneralPage {
    /// Module key (part of the host page URL and of `xdm_c`).
    pub key: String,
    /// Page URL relative to `baseUrl`, e.g. `/preferences`.
    pub url: String,
    /// `name.value`, falling back to the key.
    pub name: String,
}

/// Why a descriptor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    /// Not JSON of the expected shape.
    #[error("descriptor is not valid JSON of the expected shape: {0}")]
    Json(String),
    /// A required field is absent or empty.
    #[error("descriptor lacks {0}")]
    Missing(&'static str),
    /// A field has an unusable value.
    #[error("descriptor field {field} is invalid: {reason}")]
    Invalid {
        /// The JSON path of the field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    key: Option<String>,
    name: Option<String>,
    base_url: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    lifecycle: RawLifecycle,
    #[serde(default)]
    modules: RawModules,
}

#[derive(Deserialize, Default)]
struct RawLifecycle {
    installed: Option<String>,
    uninstalled: Option<String>,
    enabled: Option<String>,
    disabled: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawModules {
    #[serde(default)]
    general_pages: Vec<RawPage>,
}

#[derive(Deserialize)]
struct RawPage {
    key: Option<String>,
    url: Option<String>,
    name: Option<RawName>,
}

#[derive(Deserialize)]
struct RawName {
    value: Option<String>,
}

impl Descriptor {
    /// Parses and checks a descriptor body.
    pub fn parse(body: &[u8]) -> Result<Self, DescriptorError> {
        let raw: Raw =
            serde_json::from_slice(body).map_err(|e| DescriptorError::Json(e.to_string()))?;
        let key = required(raw.key, "key")?;
        check_key("key", &key)?;
        let base_url = required(raw.base_url, "baseUrl")?;
        let base = parse_base_url(&base_url)?;
        let lifecycle = Lifecycle {
            installed: relative_path(
                "lifecycle.installed",
                required(raw.lifecycle.installed, "lifecycle.installed")?,
            )?,
            uninstalled: optional_path("lifecycle.uninstalled", raw.lifecycle.uninstalled)?,
            enabled: optional_path("lifecycle.enabled", raw.lifecycle.enabled)?,
            disabled: optional_path("lifecycle.disabled", raw.lifecycle.disabled)?,
        };
        let pages = raw
            .modules
            .general_pages
            .into_iter()
            .map(GeneralPage::from_raw)
            .collect::<Result<Vec<_>, _>>()?;
        if pages.is_empty() {
            return Err(DescriptorError::Missing("modules.generalPages"));
        }
        Ok(Self {
            name: raw
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| key.clone()),
            key,
            base_url,
            scopes: raw.scopes.iter().map(|s| s.to_ascii_uppercase()).collect(),
            lifecycle,
            pages,
            base,
        })
    }

    /// The path of `baseUrl` without a trailing `/` (`""` for a root baseUrl): what the qsh
    /// canonicaliser strips from request paths.
    pub fn base_path(&self) -> &str {
        self.base.path().trim_end_matches('/')
    }

    /// The app's origin (`scheme://host:port`), i.e. the iframe's origin.
    pub fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }

    /// `baseUrl` + `path` (a descriptor-relative path such as `/installed`), parsed the way a
    /// browser or HTTP client would.
    pub fn url_for(&self, path: &str) -> Result<Url, DescriptorError> {
        let joined = format!("{}{path}", self.base_url.trim_end_matches('/'));
        Url::parse(&joined).map_err(|e| DescriptorError::Invalid {
            field: "url",
            reason: format!("{joined:?} is not a URL ({e})"),
        })
    }

    /// Whether the descriptor declares `scope` (upper-case, e.g. `READ`).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The general page with this module key.
    pub fn page(&self, key: &str) -> Option<&GeneralPage> {
        self.pages.iter().find(|p| p.key == key)
    }

    /// The first general page (the one the simulator opens by default).
    pub fn primary_page(&self) -> Option<&GeneralPage> {
        self.pages.first()
    }
}

impl GeneralPage {
    fn from_raw(raw: RawPage) -> Result<Self, DescriptorError> {
        let key = required(raw.key, "modules.generalPages[].key")?;
        check_key("modules.generalPages[].key", &key)?;
        let url = relative_path(
            "modules.generalPages[].url",
            required(raw.url, "modules.generalPages[].url")?,
        )?;
        let name = raw
            .name
            .and_then(|n| n.value)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| key.clone());
        Ok(Self { key, url, name })
    }
}

fn required(value: Option<String>, field: &'static str) -> Result<String, DescriptorError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or(DescriptorError::Missing(field))
}

/// App and module keys end up in host URLs: keep them to Connect's key alphabet.
fn check_key(field: &'static str, key: &str) -> Result<(), DescriptorError> {
    let ok = key.len() <= 100
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(DescriptorError::Invalid {
            field,
            reason: format!("{key:?} may only use letters, digits, '-', '_' and '.'"),
        })
    }
}

fn parse_base_url(base_url: &str) -> Result<Url, DescriptorError> {
    let invalid = |reason: String| DescriptorError::Invalid {
        field: "baseUrl",
        reason,
    };
    let url = Url::parse(base_url).map_err(|e| invalid(format!("{base_url:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(format!("{base_url:?} is not an http(s) URL")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(format!("{base_url:?} has a query or fragment")));
    }
    Ok(url)
}

fn relative_path(field: &'static str, path: String) -> Result<String, DescriptorError> {
    if path.starts_with('/') && !path.starts_with("//") {
        Ok(path)
    } else {
        Err(DescriptorError::Invalid {
            field,
            reason: format!("{path:?} must start with a single '/'"),
        })
    }
}

fn optional_path(
    field: &'static str,
    path: Option<String>,
) -> Result<Option<String>, DescriptorError> {
    path.filter(|p| !p.trim().is_empty())
        .map(|p| relative_path(field, p))
        .transpose()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// The app's descriptor shape, with `baseUrl` set to `base_url`.
    pub(crate) fn sample(base_url: &str) -> Value {
        json!({
            "key": "connect-prefs",
            "name": "Connect Prefs",
            "baseUrl": base_url,
            "authentication": {"type": "jwt"},
            "lifecycle": {
                "installed": "/installed",
                "uninstalled": "/uninstalled",
                "enabled": "/enabled",
                "disabled": "/disabled"
            },
            "apiMigrations": {"context-qsh": true, "signed-install": true},
            "modules": {"generalPages": [
                {"key": "preferences", "name": {"value": "My preferences"}, "url": "/preferences"},
                {"key": "about", "url": "/about"}
            ]}
        })
    }

    pub(crate) fn parse(v: &Value) -> Result<Descriptor, DescriptorError> {
        Descriptor::parse(v.to_string().as_bytes())
    }

    #[test]
    fn scopes_are_upper_cased() {
        let mut v = sample("http://127.0.0.1:3000");
        v["scopes"] = json!(["read", "ACT_AS_USER"]);
        let d = parse(&v).unwrap();
        assert_eq!(d.scopes, ["READ", "ACT_AS_USER"]);
        assert!(d.has_scope("READ") && d.has_scope("ACT_AS_USER") && !d.has_scope("WRITE"));
    }

    #[test]
    fn parses_the_app_descriptor() {
        let d = parse(&sample("http://127.0.0.1:3000")).unwrap();
        assert_eq!(d.key, "connect-prefs");
        assert_eq!(d.name, "Connect Prefs");
        assert_eq!(d.base_url, "http://127.0.0.1:3000");
        assert_eq!(d.base_path(), "");
        assert!(d.scopes.is_empty());
        assert_eq!(d.origin(), "http://127.0.0.1:3000");
        assert_eq!(d.lifecycle.installed, "/installed");
        assert_eq!(d.lifecycle.disabled.as_deref(), Some("/disabled"));
        let page = d.primary_page().unwrap();
        assert_eq!(
            (page.key.as_str(), page.url.as_str()),
            ("preferences", "/preferences")
        );
        assert_eq!(page.name, "My preferences");
        assert_eq!(d.page("about").unwrap().name, "about");
        assert_eq!(
            d.url_for("/installed").unwrap().as_str(),
            "http://127.0.0.1:3000/installed"
        );
    }

    #[test]
    fn base_url_with_a_path() {
        for base in ["http://127.0.0.1:3000/app", "http://127.0.0.1:3000/app/"] {
            let d = parse(&sample(base)).unwrap();
            assert_eq!(d.base_url, base, "kept exactly");
            assert_eq!(d.base_path(), "/app");
            assert_eq!(d.origin(), "http://127.0.0.1:3000");
            assert_eq!(
                d.url_for("/installed").unwrap().as_str(),
                "http://127.0.0.1:3000/app/installed"
            );
        }
    }

    #[test]
    fn optional_fields() {
        let mut v = sample("https://app.example.com");
        v.as_object_mut().unwrap().remove("name");
        v["lifecycle"] = json!({"installed": "/installed"});
        let d = parse(&v).unwrap();
        assert_eq!(d.name, "connect-prefs");
        assert_eq!(d.lifecycle.enabled, None);
        assert_eq!(d.lifecycle.uninstalled, None);
    }

    #[test]
    fn refuses_unusable_descriptors() {
        assert!(matches!(
            Descriptor::parse(b"<html>"),
            Err(DescriptorError::Json(_))
        ));
        let cases: [(&str, Value, DescriptorError); 4] = [
            ("key", Value::Null, DescriptorError::Missing("key")),
            ("baseUrl", json!(""), DescriptorError::Missing("baseUrl")),
            (
                "lifecycle",
                json!({"enabled": "/enabled"}),
                DescriptorError::Missing("lifecycle.installed"),
            ),
            (
                "modules",
                json!({"generalPages": []}),
                DescriptorError::Missing("modules.generalPages"),
            ),
        ];
        for (field, value, expected) in cases {
            let mut v = sample("http://127.0.0.1:3000");
            v[field] = value;
            assert_eq!(parse(&v), Err(expected), "{field}");
        }
        for (field, value) in [
            ("baseUrl", json!("ftp://x")),
            ("baseUrl", json!("not a url")),
            ("key", json!("bad key/..")),
            ("lifecycle", json!({"installed": "installed"})),
            (
                "lifecycle",
                json!({"installed": "//evil.example/installed"}),
            ),
        ] {
            let mut v = sample("http://127.0.0.1:3000");
            v[field] = value;
            assert!(
                matches!(parse(&v), Err(DescriptorError::Invalid { .. })),
                "{field}"
            );
        }
    }
}
