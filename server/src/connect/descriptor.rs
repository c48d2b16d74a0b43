//! The app descriptor: the committed `atlassian-connect.json` template, filled in from
//! configuration, parsed into a typed structure and checked at start-up (a broken template stops
//! the server), then served as fixed bytes with `Cache-Control: no-store`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::state::AppState;

const TEMPLATE: &str = include_str!("../../../atlassian-connect.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub key: String,
    pub name: String,
    pub description: String,
    pub vendor: Vendor,
    pub base_url: String,
    pub authentication: Authentication,
    pub lifecycle: Lifecycle,
    pub api_version: u32,
    pub api_migrations: ApiMigrations,
    pub scopes: Vec<String>,
    pub modules: Modules,
    /// Anything else in the template (links, licensing, ...) passes through unchanged.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vendor {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Authentication {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lifecycle {
    pub installed: String,
    pub uninstalled: String,
    pub enabled: String,
    pub disabled: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiMigrations {
    #[serde(rename = "context-qsh")]
    pub context_qsh: bool,
    #[serde(rename = "signed-install")]
    pub signed_install: bool,
    pub gdpr: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Modules {
    pub general_pages: Vec<GeneralPage>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneralPage {
    pub key: String,
    pub name: Name,
    pub url: String,
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Name {
    pub value: String,
}

/// The descriptor as served: the typed value and its JSON bytes, computed once.
#[derive(Debug, Clone)]
pub struct ServedDescriptor {
    pub descriptor: Descriptor,
    pub json: bytes::Bytes,
}

fn fill(value: &mut Value, vars: &[(&str, &str)]) {
    match value {
        Value::String(s) => {
            for (name, v) in vars {
                *s = s.replace(&format!("{{{{{name}}}}}"), v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| fill(i, vars)),
        Value::Object(map) => map.values_mut().for_each(|i| fill(i, vars)),
        _ => {}
    }
}

/// Fills `template` from `config` and checks the result. Errors are one readable line.
pub fn build(template: &str, config: &Config) -> Result<ServedDescriptor, String> {
    let mut value: Value = serde_json::from_str(template)
        .map_err(|e| format!("atlassian-connect.json is not valid JSON: {e}"))?;
    fill(
        &mut value,
        &[
            ("baseUrl", &config.base_url),
            ("appKey", &config.app_key),
            ("appName", &config.app_name),
            ("vendorName", &config.vendor_name),
            ("vendorUrl", &config.vendor_url),
        ],
    );
    let text = value.to_string();
    if let Some(start) = text.find("{{") {
        let name: String = text[start..].chars().take(40).collect();
        return Err(format!(
            "atlassian-connect.json has an unknown placeholder near {name}"
        ));
    }
    let descriptor: Descriptor = serde_json::from_value(value)
        .map_err(|e| format!("atlassian-connect.json does not have the expected shape: {e}"))?;
    check(&descriptor)?;
    let json = serde_json::to_vec_pretty(&descriptor)
        .map_err(|e| format!("cannot serialise the descriptor: {e}"))?;
    Ok(ServedDescriptor {
        descriptor,
        json: json.into(),
    })
}

/// The rules this server relies on; a template that breaks them would fail at install time.
fn check(d: &Descriptor) -> Result<(), String> {
    let fail = |m: &str| Err(format!("atlassian-connect.json: {m}"));
    if d.authentication.kind != "jwt" {
        return fail("authentication.type must be \"jwt\"");
    }
    let l = &d.lifecycle;
    if (
        l.installed.as_str(),
        l.uninstalled.as_str(),
        l.enabled.as_str(),
        l.disabled.as_str(),
    ) != ("/installed", "/uninstalled", "/enabled", "/disabled")
    {
        return fail("lifecycle must be /installed, /uninstalled, /enabled and /disabled");
    }
    let m = &d.api_migrations;
    if !(m.context_qsh && m.signed_install && m.gdpr) {
        return fail("apiMigrations context-qsh, signed-install and gdpr must all be true");
    }
    if !d
        .modules
        .general_pages
        .iter()
        .any(|p| p.url == "/preferences")
    {
        return fail("a generalPages module with url /preferences is required");
    }
    if d.scopes.is_empty() {
        return fail("scopes must not be empty");
    }
    Ok(())
}

pub fn load(config: &Config) -> Result<ServedDescriptor, String> {
    build(TEMPLATE, config)
}

/// `GET /atlassian-connect.json` (public).
pub async fn serve(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.descriptor.json.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_lookup(|k| {
            (k == "APP_BASE_URL").then(|| "https://apps.example.com/prefs".to_string())
        })
        .unwrap()
    }

    #[test]
    fn committed_template_fills_and_passes_checks() {
        let served = load(&config()).unwrap();
        let d = &served.descriptor;
        assert_eq!(d.base_url, "https://apps.example.com/prefs");
        assert_eq!(d.key, "com.example.confluence-preferences");
        let v: Value = serde_json::from_slice(&served.json).unwrap();
        assert_eq!(v["apiMigrations"]["context-qsh"], true);
        assert_eq!(v["modules"]["generalPages"][0]["url"], "/preferences");
        assert_eq!(
            v["links"]["self"],
            "https://apps.example.com/prefs/atlassian-connect.json"
        );
    }

    #[test]
    fn broken_templates_are_refused_with_a_reason() {
        let c = config();
        assert!(build("{", &c).unwrap_err().contains("not valid JSON"));
        let unknown = TEMPLATE.replace("{{appName}}", "{{nope}}");
        assert!(
            build(&unknown, &c)
                .unwrap_err()
                .contains("unknown placeholder")
        );
        let no_signed = TEMPLATE.replace("\"signed-install\": true", "\"signed-install\": false");
        assert!(build(&no_signed, &c).unwrap_err().contains("apiMigrations"));
        let wrong_auth = TEMPLATE.replace("\"type\": \"jwt\"", "\"type\": \"none\"");
        assert!(
            build(&wrong_auth, &c)
                .unwrap_err()
                .contains("authentication.type")
        );
    }
}
