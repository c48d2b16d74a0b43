//! Confluence spaces: each site's fixed seed (global spaces everyone sees, private ones only
//! their owner sees), and `GET /wiki/api/v2/spaces` (key order, opaque cursor paging, `keys`
//! filter) and `GET /wiki/api/v2/spaces/{id}` answered as Confluence Cloud's v2 API does, for
//! the caller `auth` established, under the site's baseUrl or on the API gateway.

use super::atlassian_error;
use super::auth::{self, Caller, Principal, Refusal, Surface};
use crate::api::{ApiError, find_site};
use crate::sites::Site;
use crate::state::{AppState, Simulator};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use connect::query_values;
use reqwest::Url;
use serde_json::{Value, json};
use std::collections::HashMap;

/// `limit` when the query has none.
pub const DEFAULT_LIMIT: usize = 25;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 250;
/// What a cursor says before the last key of the previous page.
const CURSOR_PREFIX: &str = "after:";

/// Who may see a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every user, and the app.
    Everyone,
    /// Only the user with this slug (not the app either).
    Only(&'static str),
}

/// One space of the seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    /// Numeric id, as a string (stable).
    pub id: String,
    /// Space key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// `global` or `personal`.
    pub kind: &'static str,
    /// Who sees it.
    pub visibility: Visibility,
}

impl Space {
    /// The v2 JSON of the space.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "type": self.kind,
            "status": "current",
            "_links": {"webui": format!("/spaces/{}", self.key)},
        })
    }

    fn visible_to(&self, caller: &Caller) -> bool {
        match (self.visibility, caller.principal) {
            (Visibility::Everyone, _) => true,
            (Visibility::Only(owner), Principal::User(user)) => user.slug == owner,
            (Visibility::Only(_), Principal::App) => false,
        }
    }
}

/// The spaces of site `slug`, sorted by key; ids are stable (the same on every run).
pub fn seed(slug: &str) -> Vec<Space> {
    let (first_id, spaces): (u64, Vec<(String, String, &'static str, Visibility)>) = match slug {
        "acme" => {
            let mut spaces = vec![global("ENG", "Engineering"), global("MKT", "Marketing")];
            spaces.extend((1..=30).map(|n| global(&format!("T{n:02}"), &format!("Team {n:02}"))));
            spaces.push(private("APRIV", "Alice Private", "alice"));
            spaces.push(private("BPRIV", "Bob Private", "bob"));
            // On every site, for tests that use one key everywhere.
            spaces.push(global("DOCS", "Documentation"));
            (1_000_001, spaces)
        }
        "globex" => (
            2_000_001,
            vec![
                global("OPS", "Operations"),
                global("GLX", "Globex Home"),
                private("GPRIV", "Globex Alice Private", "alice"),
                global("DOCS", "Documentation"),
            ],
        ),
        _ => (0, Vec::new()),
    };
    let mut spaces: Vec<Space> = spaces
        .into_iter()
        .zip(first_id..)
        .map(|((key, name, kind, visibility), id)| Space {
            id: id.to_string(),
            key,
            name,
            kind,
            visibility,
        })
        .collect();
    spaces.sort_by(|a, b| a.key.cmp(&b.key));
    spaces
}

fn global(key: &str, name: &str) -> (String, String, &'static str, Visibility) {
    (key.into(), name.into(), "global", Visibility::Everyone)
}

fn private(
    key: &str,
    name: &str,
    owner: &'static str,
) -> (String, String, &'static str, Visibility) {
    (key.into(), name.into(), "personal", Visibility::Only(owner))
}

/// The listing query: `limit`, `cursor`, `keys` (repeated and/or comma-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Page size.
    pub limit: usize,
    /// Only spaces with a key after this (from the cursor).
    pub after: Option<String>,
    /// Only these keys (empty = all).
    pub keys: Vec<String>,
}

impl ListQuery {
    /// Parses a raw query string; the error is the 400 detail.
    pub fn parse(raw_query: &str) -> Result<Self, String> {
        let limit = match query_values(raw_query, "limit").next() {
            None => DEFAULT_LIMIT,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| format!("limit must be a whole number in 1..={MAX_LIMIT}"))?,
        };
        let after = match query_values(raw_query, "cursor").next() {
            None => None,
            Some(cursor) => Some(decode_cursor(&cursor).ok_or("invalid cursor")?),
        };
        let mut keys: Vec<String> = Vec::new();
        for value in query_values(raw_query, "keys") {
            for key in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                if !keys.iter().any(|k| k == key) {
                    keys.push(key.to_owned());
                }
            }
        }
        Ok(Self { limit, after, keys })
    }
}

/// The opaque cursor that continues after `key`.
pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{key}"))
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix(CURSOR_PREFIX)
        .map(str::to_owned)
}

/// One page of a listing: the spaces, and the last key when more follow.
#[derive(Debug, PartialEq, Eq)]
pub struct Page<'a> {
    /// At most `limit` spaces, by key.
    pub results: Vec<&'a Space>,
    /// The key to continue after, when there are more.
    pub more_after: Option<String>,
}

/// The page `query` asks for, among the (key-sorted) spaces `caller` sees.
pub fn page<'a>(spaces: &'a [Space], caller: &Caller, query: &ListQuery) -> Page<'a> {
    let mut matching = spaces.iter().filter(|s| {
        s.visible_to(caller)
            && (query.keys.is_empty() || query.keys.contains(&s.key))
            && query.after.as_ref().is_none_or(|after| s.key > *after)
    });
    let results: Vec<&Space> = matching.by_ref().take(query.limit).collect();
    let more_after = match (matching.next(), results.last()) {
        (Some(_), Some(last)) => Some(last.key.clone()),
        _ => None,
    };
    Page {
        results,
        more_after,
    }
}

/// `_links.next`: the listing path of `site` with the cursor, the limit and the `keys` filter.
pub fn next_link(site: &Site, query: &ListQuery, after: &str) -> String {
    let path = format!("/sites/{}/wiki/api/v2/spaces", site.slug);
    // A throwaway origin: only the path and the encoded query are kept.
    let Ok(mut url) = Url::parse(&format!("http://simulator.invalid{path}")) else {
        return path;
    };
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("cursor", &encode_cursor(after));
        pairs.append_pair("limit", &query.limit.to_string());
        for key in &query.keys {
            pairs.append_pair("keys", key);
        }
    }
    match url.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    }
}

/// Why a request got no data: unknown site (404), no valid credentials (401), or a caller
/// without the `READ` scope (403).
#[derive(Debug)]
enum Denied {
    Site(ApiError),
    Auth(Refusal),
    NoReadScope,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Self::Site(e) => e.into_response(),
            Self::Auth(refusal) => refusal.into_response(),
            Self::NoReadScope => atlassian_error(
                StatusCode::FORBIDDEN,
                "the READ scope is needed (app descriptor or granted token scopes)",
            ),
        }
    }
}

/// How a request named the site, from its route's parameters.
#[derive(Debug, Clone, Copy)]
enum Addressed<'a> {
    /// By slug, under the site's baseUrl (`/sites/{site}/wiki/…`).
    Site(&'a str),
    /// By cloudId on the API gateway (`/ex/confluence/{cloud_id}/wiki/…`, Forge's
    /// `apiBaseUrl`).
    Gateway(&'a str),
}

/// The route parameters of a spaces request: `site` or `cloud_id`, and `id` for one space.
type Params = HashMap<String, String>;

impl<'a> Addressed<'a> {
    fn of(params: &'a Params) -> Self {
        match params.get("site") {
            Some(slug) => Self::Site(slug),
            None => Self::Gateway(params.get("cloud_id").map_or("", String::as_str)),
        }
    }
}

/// The site, then the caller with the `READ` scope.
fn caller_for<'a>(
    sim: &'a Simulator,
    addressed: Addressed<'_>,
    request: &Parts,
) -> Result<(&'a Site, Caller), Denied> {
    let (site, surface) = match addressed {
        Addressed::Site(slug) => (find_site(sim, slug).map_err(Denied::Site)?, Surface::Site),
        Addressed::Gateway(cloud_id) => {
            let site = sim
                .sites
                .iter()
                .find(|s| s.cloud_id == cloud_id)
                .ok_or_else(|| {
                    Denied::Site(ApiError::new(
                        StatusCode::NOT_FOUND,
                        "unknown_site",
                        format!("no site with cloudId {cloud_id:?}"),
                    ))
                })?;
            (site, Surface::Gateway)
        }
    };
    let caller = auth::authenticate(
        sim,
        site,
        surface,
        &request.method,
        &request.uri,
        &request.headers,
    )
    .map_err(Denied::Auth)?;
    if !caller.has_scope("READ") {
        return Err(Denied::NoReadScope);
    }
    Ok((site, caller))
}

/// `GET …/wiki/api/v2/spaces`, under a site's baseUrl (and its alias path) or on the gateway
/// (bearer tokens only there): the listing for an authenticated caller.
pub async fn list(
    State(sim): State<AppState>,
    Path(params): Path<Params>,
    request: Parts,
) -> Response {
    let (site, caller) = match caller_for(&sim, Addressed::of(&params), &request) {
        Ok(found) => found,
        Err(denied) => return denied.into_response(),
    };
    let query = match ListQuery::parse(request.uri.query().unwrap_or("")) {
        Ok(query) => query,
        Err(detail) => return atlassian_error(StatusCode::BAD_REQUEST, detail),
    };
    let spaces = seed(site.slug);
    let page = page(&spaces, &caller, &query);
    // On the gateway too, the links are the site's (as Confluence's are): clients take the
    // cursor from `next`.
    let mut links = json!({"base": site.base_url});
    if let Some(after) = &page.more_after {
        links["next"] = json!(next_link(site, &query, after));
    }
    Json(json!({
        "results": page.results.iter().map(|s| s.json()).collect::<Vec<_>>(),
        "_links": links,
    }))
    .into_response()
}

/// `GET …/wiki/api/v2/spaces/{id}`, under a site's baseUrl or on the gateway: one space;
/// 404 when it does not exist or the caller may not see it (Confluence does not tell the two
/// apart).
pub async fn get_one(
    State(sim): State<AppState>,
    Path(params): Path<Params>,
    request: Parts,
) -> Response {
    let (site, caller) = match caller_for(&sim, Addressed::of(&params), &request) {
        Ok(found) => found,
        Err(denied) => return denied.into_response(),
    };
    let id = params.get("id").map_or("", String::as_str);
    match seed(site.slug)
        .into_iter()
        .find(|s| s.id == id && s.visible_to(&caller))
    {
        Some(space) => Json(space.json()).into_response(),
        None => atlassian_error(StatusCode::NOT_FOUND, format!("no space with id {id}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sites::{Sites, user};

    fn as_user(slug: &str) -> Caller {
        Caller {
            principal: Principal::User(user(slug).unwrap()),
            scopes: vec!["READ".into()],
        }
    }

    fn app() -> Caller {
        Caller {
            principal: Principal::App,
            scopes: vec!["READ".into()],
        }
    }

    fn keys(page: &Page<'_>) -> Vec<String> {
        page.results.iter().map(|s| s.key.clone()).collect()
    }

    #[test]
    fn seed_is_stable_sorted_and_distinct() {
        let acme = seed("acme");
        assert_eq!(acme.len(), 35);
        assert_eq!(acme, seed("acme"));
        assert!(acme.windows(2).all(|w| w[0].key < w[1].key));
        let eng = acme.iter().find(|s| s.key == "ENG").unwrap();
        assert_eq!(
            (eng.id.as_str(), eng.name.as_str()),
            ("1000001", "Engineering")
        );
        let t07 = acme.iter().find(|s| s.key == "T07").unwrap();
        assert_eq!(t07.name, "Team 07");
        let globex = seed("globex");
        assert_eq!(
            globex.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
            ["DOCS", "GLX", "GPRIV", "OPS"]
        );
        assert!(globex.iter().all(|g| acme.iter().all(|a| a.id != g.id)));
        assert!(seed("initech").is_empty());
    }

    #[test]
    fn visibility_per_caller() {
        let acme = seed("acme");
        let all = ListQuery::parse("limit=250").unwrap();
        let alice = keys(&page(&acme, &as_user("alice"), &all));
        let bob = keys(&page(&acme, &as_user("bob"), &all));
        let app = keys(&page(&acme, &app(), &all));
        assert!(alice.contains(&"APRIV".into()) && !alice.contains(&"BPRIV".into()));
        assert!(bob.contains(&"BPRIV".into()) && !bob.contains(&"APRIV".into()));
        assert_eq!(app.len(), 33);
        assert!(!app.iter().any(|k| k.ends_with("PRIV")));
    }

    #[test]
    fn pages_follow_the_cursor() {
        let acme = seed("acme");
        let caller = as_user("alice");
        let mut query = ListQuery::parse("limit=10").unwrap();
        let mut seen = Vec::new();
        loop {
            let p = page(&acme, &caller, &query);
            seen.extend(keys(&p));
            match p.more_after {
                Some(after) => query.after = Some(after),
                None => break,
            }
        }
        assert_eq!(seen.len(), 34);
        assert_eq!(&seen[..4], ["APRIV", "DOCS", "ENG", "MKT"]);
        // Exactly `limit` left: no next page.
        let q = ListQuery::parse("limit=34").unwrap();
        assert_eq!(page(&acme, &caller, &q).more_after, None);
    }

    #[test]
    fn query_parsing() {
        let q = ListQuery::parse("keys=ENG&keys=T01,T02&keys=ENG&keys=").unwrap();
        assert_eq!(
            (q.limit, q.keys.clone()),
            (25, vec!["ENG".into(), "T01".into(), "T02".into()])
        );
        let q = ListQuery::parse("keys=ENG%2CMKT&cursor=".to_owned().as_str());
        assert!(q.is_err(), "an empty cursor is not a cursor");
        let c = encode_cursor("T05");
        assert_eq!(
            ListQuery::parse(&format!("cursor={c}"))
                .unwrap()
                .after
                .as_deref(),
            Some("T05")
        );
        for bad in [
            "limit=0",
            "limit=251",
            "limit=x",
            "limit=",
            "cursor=abc",
            "cursor=%%%",
        ] {
            assert!(ListQuery::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ListQuery::parse("limit=250").unwrap().limit, 250);
    }

    #[test]
    fn next_link_keeps_the_filter() {
        let sites = Sites::new("http://127.0.0.1:3100");
        let site = sites.get("acme").unwrap();
        let q = ListQuery::parse("keys=T01,T02&limit=1").unwrap();
        let link = next_link(site, &q, "T01");
        assert_eq!(
            link,
            format!(
                "/sites/acme/wiki/api/v2/spaces?cursor={}&limit=1&keys=T01&keys=T02",
                encode_cursor("T01")
            )
        );
        let again = ListQuery::parse(link.split_once('?').unwrap().1).unwrap();
        assert_eq!(again.keys, q.keys);
        assert_eq!(again.after.as_deref(), Some("T01"));
    }
}
