//! The Content-Security-Policy. A page may run only what the server put into it: its own `/pkg`
//! scripts, all.js from the configured origin, the wasm, and its inline scripts, allowed by the
//! SHA-256 of texts the server itself wrote (never found by scanning a rendered page, where an
//! injected script would be found too). Every other answer may load nothing but the message
//! page's own style.

use axum::http::HeaderValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use leptos::prelude::*;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::Config;
use crate::http::errors::MESSAGE_PAGE_STYLE;

/// A CSP hash source for an inline `<script>` or `<style>` whose text is `text`.
pub fn hash_source(text: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// Who may frame the app: Confluence (Atlassian's hosts) and the configured extra origins.
fn frame_ancestors(config: &Config) -> String {
    let mut ancestors = vec![
        "'self'",
        "https://*.atlassian.net",
        "https://*.jira.com",
        "https://*.atlassian.com",
    ];
    ancestors.extend(config.frame_ancestors.iter().map(String::as_str));
    format!("frame-ancestors {}", ancestors.join(" "))
}

/// Blocks everything: what a page gets if its policy could not be written as a header.
fn deny_all() -> HeaderValue {
    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")
}

/// The policy of every answer that is not a page (JSON, assets, the message page).
pub fn default_policy(config: &Config) -> HeaderValue {
    let policy = format!(
        "default-src 'none'; style-src {}; img-src data:; {}; base-uri 'none'; form-action 'none'",
        hash_source(MESSAGE_PAGE_STYLE),
        frame_ancestors(config)
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| deny_all())
}

/// The policy of the page, but for the hashes of the scripts each render appends.
pub struct PagePolicy {
    /// Up to and including the hashes every page shares (the hydration bootstrap).
    head: String,
    /// The directives after `script-src`.
    tail: String,
}

impl PagePolicy {
    /// `shell_scripts`: the texts of the inline scripts every page's shell carries.
    pub fn new(config: &Config, shell_scripts: &[String]) -> Self {
        // all.js is loaded by its URL; allowing its origin lets it be moved or versioned there.
        let all_js = Url::parse(&config.all_js_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let mut head = format!("default-src 'self'; script-src 'self' {all_js} 'wasm-unsafe-eval'");
        for script in shell_scripts {
            head.push(' ');
            head.push_str(&hash_source(script));
        }
        let tail = format!(
            "; connect-src 'self'; img-src 'self' data:; style-src 'self'; {}; base-uri 'none'; \
             object-src 'none'; form-action 'self'",
            frame_ancestors(config)
        );
        Self { head, tail }
    }

    /// The header for a page that also carries inline scripts with these hash sources
    /// ([`hash_source`]).
    pub fn header(&self, script_hashes: &[String]) -> HeaderValue {
        let extra: usize = script_hashes.iter().map(|h| h.len() + 1).sum();
        let mut policy = String::with_capacity(self.head.len() + extra + self.tail.len());
        policy.push_str(&self.head);
        for hash in script_hashes {
            policy.push(' ');
            policy.push_str(hash);
        }
        policy.push_str(&self.tail);
        HeaderValue::from_str(&policy).unwrap_or_else(|_| deny_all())
    }
}

/// The texts of the inline scripts in the shell's hydration bootstrap, rendered alone (a
/// function of the Leptos options only: the same in every page).
pub fn shell_scripts(options: LeptosOptions) -> Vec<String> {
    let owner = Owner::new();
    let html = owner.with(|| app::hydration_scripts(options).to_html());
    owner.unset();
    inline_scripts(&html)
}

/// The text of each `<script>` without a `src` in `html`: only for markup the server wrote
/// itself, never for a page with user content in it.
fn inline_scripts(html: &str) -> Vec<String> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(open_end) = rest[start..].find('>').map(|i| start + i) else {
            break;
        };
        let Some(close) = rest[open_end..].find("</script>").map(|i| open_end + i) else {
            break;
        };
        if !rest[start..open_end].contains(" src=") {
            scripts.push(rest[open_end + 1..close].to_owned());
        }
        rest = &rest[close..];
    }
    scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_sources_are_base64_sha256() {
        // echo -n "alert(1)" | openssl dgst -sha256 -binary | base64
        assert_eq!(
            hash_source("alert(1)"),
            "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
        );
    }

    #[test]
    fn inline_scripts_skip_external_ones() {
        let html = r#"<link rel="x"><script src="/a.js"></script><script type="module">go()</script><script>x=1</script>"#;
        assert_eq!(inline_scripts(html), ["go()", "x=1"]);
    }
}
