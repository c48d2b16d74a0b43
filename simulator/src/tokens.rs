//! Host-issued HS256 tokens: the iframe URL carrying its URL-bound `jwt` (computed qsh) and
//! context tokens (`qsh: "context-qsh"`). Pure functions of their inputs and `now`; callers
//! count and log them, never with the token text.

use crate::descriptor::{Descriptor, DescriptorError, GeneralPage};
use crate::ids::SharedSecret;
use crate::sites::User;
use connect::{CONTEXT_QSH, MintError, query_string_hash};
use serde::Serialize;
use serde_json::{Value, json};

/// Lifetime of iframe (page-load) tokens.
pub const IFRAME_TOKEN_LIFETIME_SECS: i64 = 180;
/// The Connect version the host announces (`cv`).
pub const CONNECT_VERSION: &str = "1001.0.0";

/// Why a token or iframe URL could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Signing failed.
    #[error("minting failed: {0}")]
    Mint(#[from] MintError),
    /// The descriptor's baseUrl and module URL do not form a URL.
    #[error(transparent)]
    Url(#[from] DescriptorError),
}

/// A context token and its expiry.
#[derive(Debug, Clone, Serialize)]
pub struct ContextToken {
    /// The JWT.
    pub token: String,
    /// Its `exp` (Unix seconds).
    pub exp: i64,
}

/// A signed iframe URL and the expiry of its `jwt`.
#[derive(Debug, Clone, Serialize)]
pub struct IframeUrl {
    /// `{baseUrl}{module url}?xdm_e=…&jwt=…`
    pub url: String,
    /// The origin the iframe runs on (the app's).
    pub origin: String,
    /// The `xdm_c` channel name.
    pub channel: String,
    /// The token's `exp`.
    pub exp: i64,
}

/// The `context` claim (and `getContext()` user part): the user's accountId, or nothing.
pub fn user_context(user: &User) -> Value {
    match user.account_id {
        Some(account_id) => json!({"user": {"accountId": account_id}}),
        None => json!({}),
    }
}

fn claims(client_key: &str, user: &User, qsh: &str, iat: i64, exp: i64) -> Value {
    let mut claims = json!({
        "iss": client_key,
        "qsh": qsh,
        "iat": iat,
        "exp": exp,
        "context": user_context(user),
    });
    if let Some(account_id) = user.account_id {
        claims["sub"] = json!(account_id);
    }
    claims
}

/// A context token, as `AP.context.getToken()` returns: HS256 with the current secret,
/// `qsh: "context-qsh"`, `exp = now + lifetime_secs`.
pub fn context_token(
    client_key: &str,
    secret: &SharedSecret,
    user: &User,
    now: i64,
    lifetime_secs: u64,
) -> Result<ContextToken, MintError> {
    let exp = now.saturating_add(i64::try_from(lifetime_secs).unwrap_or(i64::MAX));
    let token = connect::mint::hs256(
        &claims(client_key, user, CONTEXT_QSH, now, exp),
        secret.as_bytes(),
    )?;
    Ok(ContextToken { token, exp })
}

/// The iframe `src` for `page`, as Confluence builds it: the module URL plus the host
/// parameters, then `jwt`, an HS256 token whose qsh is computed over exactly this URL (minus
/// `jwt`), relative to the app's baseUrl path.
pub fn iframe_url(
    descriptor: &Descriptor,
    page: &GeneralPage,
    client_key: &str,
    secret: &SharedSecret,
    user: &User,
    host_origin: &str,
    now: i64,
) -> Result<IframeUrl, TokenError> {
    let channel = format!("channel-{}", page.key);
    let mut url = descriptor.url_for(&strip_context_params(&page.url))?;
    url.query_pairs_mut()
        .append_pair("xdm_e", host_origin)
        .append_pair("xdm_c", &channel)
        .append_pair("cp", "/wiki")
        .append_pair("xdm_deprecated_addon_key_do_not_use", &descriptor.key)
        .append_pair("lic", "none")
        .append_pair("cv", CONNECT_VERSION)
        .append_pair("loc", "en-GB");
    // The URL parser already normalised path and query the way the browser will send them.
    let qsh = query_string_hash(
        "GET",
        url.path(),
        url.query().unwrap_or(""),
        descriptor.base_path(),
    );
    let exp = now + IFRAME_TOKEN_LIFETIME_SECS;
    let token = connect::mint::hs256(&claims(client_key, user, &qsh, now, exp), secret.as_bytes())?;
    url.query_pairs_mut().append_pair("jwt", &token);
    Ok(IframeUrl {
        url: url.into(),
        origin: descriptor.origin(),
        channel,
        exp,
    })
}

/// Confluence fills `{context.param}` placeholders in module URLs; a general page outside
/// any space has no values, so each placeholder becomes empty.
fn strip_context_params(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::tests::{parse, sample};
    use crate::sites::user;
    use connect::{UnverifiedToken, verify_hs256};
    use reqwest::Url;

    const NOW: i64 = 1_700_000_000;
    const HOST: &str = "http://127.0.0.1:3100";
    const CLIENT_KEY: &str = "client-acme";

    fn secret() -> SharedSecret {
        SharedSecret::generate().unwrap()
    }

    /// The query of `url` with every `jwt` parameter removed, order kept.
    fn query_without_jwt(url: &Url) -> String {
        url.query()
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.starts_with("jwt="))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn jwt_of(url: &Url) -> UnverifiedToken {
        let jwt = url
            .query_pairs()
            .find(|(k, _)| k == "jwt")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        UnverifiedToken::parse(&jwt).unwrap()
    }

    #[test]
    fn iframe_url_qsh_matches_the_url_actually_produced() {
        let d = parse(&sample("http://127.0.0.1:3000")).unwrap();
        let s = secret();
        let alice = user("alice").unwrap();
        let minted = iframe_url(&d, &d.pages[0], CLIENT_KEY, &s, alice, HOST, NOW).unwrap();
        let url = Url::parse(&minted.url).unwrap();
        assert_eq!(
            minted.url.split('?').next().unwrap(),
            "http://127.0.0.1:3000/preferences"
        );
        let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "xdm_e",
                "xdm_c",
                "cp",
                "xdm_deprecated_addon_key_do_not_use",
                "lic",
                "cv",
                "loc",
                "jwt"
            ]
        );
        assert_eq!(params[0].1, HOST);
        assert_eq!(params[1].1, "channel-preferences");
        assert_eq!(params[3].1, "connect-prefs");
        assert_eq!(
            (minted.origin.as_str(), minted.channel.as_str()),
            ("http://127.0.0.1:3000", "channel-preferences")
        );

        let token = jwt_of(&url);
        assert_eq!(verify_hs256(&token, s.as_bytes()), Ok(()));
        let c = token.claims();
        let expected = query_string_hash("GET", url.path(), &query_without_jwt(&url), "");
        assert_eq!(c.qsh.as_deref(), Some(expected.as_str()));
        // The canonicaliser ignores jwt itself, so the full query gives the same hash.
        assert_eq!(
            expected,
            query_string_hash("GET", url.path(), url.query().unwrap(), "")
        );
        assert_eq!(c.check_qsh(&expected), Ok(()));
        assert_eq!(c.iss, CLIENT_KEY);
        assert_eq!(c.sub.as_deref(), Some("557058:aaaa-alice"));
        assert_eq!((c.iat, c.exp, minted.exp), (NOW, NOW + 180, NOW + 180));
        assert!(c.aud.is_empty());
        assert_eq!(
            c.context,
            Some(json!({"user": {"accountId": "557058:aaaa-alice"}}))
        );
    }

    #[test]
    fn iframe_qsh_is_relative_to_a_base_url_path() {
        let d = parse(&sample("http://127.0.0.1:3000/app")).unwrap();
        let s = secret();
        let bob = user("bob").unwrap();
        let minted = iframe_url(&d, &d.pages[0], CLIENT_KEY, &s, bob, HOST, NOW).unwrap();
        let url = Url::parse(&minted.url).unwrap();
        assert_eq!(url.path(), "/app/preferences");
        let token = jwt_of(&url);
        let q = query_without_jwt(&url);
        let qsh = token.claims().qsh.clone().unwrap();
        assert_eq!(
            qsh,
            query_string_hash("GET", "/app/preferences", &q, "/app")
        );
        assert_eq!(qsh, query_string_hash("GET", "/preferences", &q, ""));
        assert!(
            connect::canonical_request("GET", url.path(), &q, d.base_path())
                .starts_with("GET&/preferences&cp=%2Fwiki&cv=1001.0.0&lic=none&loc=en-GB&")
        );
    }

    #[test]
    fn anonymous_iframe_token_has_no_sub() {
        let d = parse(&sample("http://127.0.0.1:3000")).unwrap();
        let anon = user("anonymous").unwrap();
        let minted = iframe_url(&d, &d.pages[0], CLIENT_KEY, &secret(), anon, HOST, NOW).unwrap();
        let token = jwt_of(&Url::parse(&minted.url).unwrap());
        assert_eq!(token.claims().sub, None);
        assert_eq!(token.claims().context, Some(json!({})));
    }

    #[test]
    fn module_url_query_and_placeholders_are_covered_by_the_qsh() {
        let mut v = sample("http://127.0.0.1:3000");
        v["modules"]["generalPages"][0]["url"] = json!("/preferences?space={space.key}&tab=a b");
        let d = parse(&v).unwrap();
        let minted = iframe_url(
            &d,
            &d.pages[0],
            CLIENT_KEY,
            &secret(),
            user("alice").unwrap(),
            HOST,
            NOW,
        )
        .unwrap();
        let url = Url::parse(&minted.url).unwrap();
        assert!(
            url.query().unwrap().starts_with("space=&tab=a%20b&xdm_e="),
            "{url}"
        );
        let q = query_without_jwt(&url);
        assert_eq!(
            jwt_of(&url).claims().qsh.as_deref(),
            Some(query_string_hash("GET", url.path(), &q, "").as_str())
        );
        assert_eq!(strip_context_params("/a/{x}/b?c={y}&d"), "/a//b?c=&d");
        assert_eq!(strip_context_params("/a{unclosed"), "/a{unclosed");
    }

    #[test]
    fn context_token_claims() {
        let s = secret();
        let alice = user("alice").unwrap();
        let minted = context_token(CLIENT_KEY, &s, alice, NOW, 900).unwrap();
        let token = UnverifiedToken::parse(&minted.token).unwrap();
        assert_eq!(verify_hs256(&token, s.as_bytes()), Ok(()));
        let c = token.claims();
        assert_eq!(c.iss, CLIENT_KEY);
        assert_eq!(c.sub.as_deref(), Some("557058:aaaa-alice"));
        assert_eq!(c.qsh.as_deref(), Some("context-qsh"));
        assert_eq!((c.iat, c.exp, minted.exp), (NOW, NOW + 900, NOW + 900));
        assert_eq!(c.check_qsh(CONTEXT_QSH), Ok(()));
        assert!(c.aud.is_empty());

        let short = context_token(CLIENT_KEY, &s, user("anonymous").unwrap(), NOW, 2).unwrap();
        let c = UnverifiedToken::parse(&short.token)
            .unwrap()
            .claims()
            .clone();
        assert_eq!((c.sub.as_deref(), c.exp), (None, NOW + 2));
        assert_eq!(
            c.check_times(NOW + 3, 0),
            Err(connect::VerifyError::Expired)
        );
    }
}
