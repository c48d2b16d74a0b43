//! Rendered pages, per tenant and user. Apart from the session token in its `<head>`, the page
//! is a function of the preferences view it shows and of this process's constants (asset paths,
//! the all.js URL). So the HTML is kept cut around the token, with its CSP (which allows its
//! inline scripts by their hashes: the token is not in one), and reused while the view read for
//! the next page load equals the one it was rendered from: a hit costs a comparison and a copy
//! instead of a server-side render (most of a page load's CPU: docs/BENCHMARKS.md, "Measured
//! reasons behind code choices").
//!
//! Nothing needs invalidating: every page load still reads the view from the store, and a save
//! changes it (its revision at least), so the next load renders again. That also makes it
//! correct with several instances on one PostgreSQL database, unlike the read-through caches.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use app::preferences::PreferencesView;
use axum::http::HeaderValue;
use quick_cache::Equivalent;

use super::{MeteredCache, Weighed, weighed};
use crate::metrics::caches::CacheReading;

/// Where the page's token goes: the `<head>` comes before anything a user wrote, so the first
/// occurrence of this is the meta tag (rendered with an empty token).
const TOKEN_SLOT: &str = "<meta name=\"token\" content=\"";

/// A rendered page without its token.
pub struct Page {
    before: String,
    after: String,
    csp: HeaderValue,
}

impl Page {
    /// Cuts `html` (rendered with an empty session token) at the token's place; `None` if the
    /// shell has no token meta tag. `csp` is the page's Content-Security-Policy.
    pub fn cut(mut html: String, csp: HeaderValue) -> Option<Self> {
        let at = html.find(TOKEN_SLOT)? + TOKEN_SLOT.len();
        if !html[at..].starts_with('"') {
            return None;
        }
        let after = html[at..].to_owned();
        html.truncate(at);
        Some(Self {
            before: html,
            after,
            csp,
        })
    }

    /// The page's Content-Security-Policy header.
    pub fn csp(&self) -> &HeaderValue {
        &self.csp
    }

    /// The whole page with `token` in place (a token is base64url and dots: nothing to escape).
    pub fn with_token(&self, token: &str) -> String {
        let mut html = String::with_capacity(self.before.len() + token.len() + self.after.len());
        html.push_str(&self.before);
        html.push_str(token);
        html.push_str(&self.after);
        html
    }
}

/// (site id, accountId; `None` for anonymous viewers).
type PageKey = (String, Option<String>);

/// A borrowed [`PageKey`] for lookups (hashes like the tuple).
struct Viewer<'a>(&'a str, Option<&'a str>);

impl Hash for Viewer<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl Equivalent<PageKey> for Viewer<'_> {
    fn equivalent(&self, key: &PageKey) -> bool {
        self.0 == key.0 && self.1 == key.1.as_deref()
    }
}

#[derive(Clone)]
struct Entry {
    view: Arc<PreferencesView>,
    page: Arc<Page>,
}

impl Weighed for Entry {
    fn weight(&self) -> usize {
        let view = &self.view;
        let labels: usize = (view.preferences.favourite_labels.iter())
            .map(|l| l.len() + 24)
            .sum();
        let page = &self.page;
        let html = page.before.len() + page.after.len() + page.csp.len();
        html + 512 + labels + view.site_url.len()
    }
}

pub struct PageCache {
    entries: Arc<MeteredCache<PageKey, Entry>>,
}

impl PageCache {
    /// A cache holding about `capacity_bytes` of pages.
    pub fn new(capacity_bytes: u64) -> Self {
        Self {
            entries: weighed(capacity_bytes, 8192),
        }
    }

    /// For the metrics (a hit there is a page found; it is reused only if its view is equal).
    pub fn reading(&self) -> Arc<dyn CacheReading> {
        super::reading(&self.entries)
    }

    /// The page last rendered for this viewer, if it was rendered from an equal `view`.
    pub fn get(
        &self,
        site_id: &str,
        account_id: Option<&str>,
        view: &PreferencesView,
    ) -> Option<Arc<Page>> {
        let entry = self.entries.get(&Viewer(site_id, account_id))?;
        (*entry.view == *view).then_some(entry.page)
    }

    /// Keeps `page`, rendered from `view`, for this viewer's next load.
    pub fn insert(
        &self,
        site_id: &str,
        account_id: Option<&str>,
        view: PreferencesView,
        page: Arc<Page>,
    ) {
        let key = (site_id.to_owned(), account_id.map(str::to_owned));
        let view = Arc::new(view);
        self.entries.insert(key, Entry { view, page });
    }

    /// Drops the page kept for one user (their data was erased: the page shows it).
    pub fn forget_user(&self, site_id: &str, account_id: &str) {
        self.entries.remove(&Viewer(site_id, Some(account_id)));
    }

    /// Drops every page of a site (its data was deleted).
    pub fn forget_site(&self, site_id: &str) {
        self.entries.retain(|(site, _), _| site != site_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::preferences::Preferences;

    fn view(revision: i64) -> PreferencesView {
        PreferencesView {
            preferences: Preferences::default(),
            revision,
            updated_at: None,
            can_edit: true,
            site_url: "https://example.atlassian.net".into(),
        }
    }

    fn page(body: &str) -> Arc<Page> {
        let html = format!("<head><meta name=\"token\" content=\"\"></head><body>{body}</body>");
        Arc::new(Page::cut(html, HeaderValue::from_static("default-src 'none'")).unwrap())
    }

    #[test]
    fn the_token_goes_into_the_head_even_if_the_body_names_the_tag() {
        let p = page("<meta name=\"token\" content=\"\">");
        assert_eq!(
            p.with_token("t.k.n"),
            "<head><meta name=\"token\" content=\"t.k.n\"></head>\
             <body><meta name=\"token\" content=\"\"></body>"
        );
        let csp = || HeaderValue::from_static("default-src 'none'");
        assert!(Page::cut("<head></head>".into(), csp()).is_none());
        assert!(Page::cut("<meta name=\"token\" content=\"x\">".into(), csp()).is_none());
    }

    #[test]
    fn a_page_is_reused_only_for_the_same_viewer_and_an_equal_view() {
        let cache = PageCache::new(1 << 20);
        cache.insert("t1", Some("u1"), view(1), page("one"));
        cache.insert("t1", None, view(1), page("anonymous"));
        let hit = |t, u, v: &PreferencesView| cache.get(t, u, v).map(|p| p.with_token(""));
        assert!(hit("t1", Some("u1"), &view(1)).unwrap().contains("one"));
        assert!(hit("t1", None, &view(1)).unwrap().contains("anonymous"));
        assert_eq!(hit("t1", Some("u1"), &view(2)), None, "the view changed");
        let mut other_site = view(1);
        other_site.site_url = "https://other.atlassian.net".into();
        assert_eq!(hit("t1", Some("u1"), &other_site), None);
        assert_eq!(hit("t2", Some("u1"), &view(1)), None, "another tenant");
        assert_eq!(hit("t1", Some("u2"), &view(1)), None, "another user");

        cache.insert("t2", Some("u1"), view(1), page("two"));
        cache.forget_user("t1", "u1");
        assert_eq!(hit("t1", Some("u1"), &view(1)), None, "erased");
        assert!(hit("t1", None, &view(1)).is_some());
        assert!(
            hit("t2", Some("u1"), &view(1)).is_some(),
            "the same user elsewhere"
        );
        cache.forget_site("t1");
        assert_eq!(hit("t1", None, &view(1)), None);
        assert!(hit("t2", Some("u1"), &view(1)).is_some());
    }
}
