//! The space directory of one API call, over Confluence's `GET /wiki/api/v2/spaces`, asked as
//! the caller. The v2 API has no text search, so a search reads pages of up to 250 spaces and
//! keeps those whose name or key contains the text (at most [`MAX_PAGES_PER_SEARCH`] pages per
//! call; the cursor continues from there).

use std::sync::Arc;

use serde::Deserialize;

use super::{Outbound, OutboundError, ProductAccess};
use app::AppError;
use app::spaces::directory::SpaceDirectory;
use app::spaces::{Space, SpacePage};

/// Spaces per answer when listing without a search.
const PAGE_SIZE: usize = 25;
/// Spaces per Confluence page while searching.
const SEARCH_PAGE_SIZE: usize = 250;
/// Confluence pages read by one search call.
pub const MAX_PAGES_PER_SEARCH: usize = 4;

pub struct ProductSpaces {
    outbound: Arc<Outbound>,
    access: ProductAccess,
    /// The site's address, for links when Confluence does not name its base.
    site_url: String,
}

impl ProductSpaces {
    pub fn new(outbound: Arc<Outbound>, access: ProductAccess, site_url: String) -> Self {
        Self {
            outbound,
            access,
            site_url,
        }
    }

    async fn page(&self, query: &str) -> Result<V2Page, OutboundError> {
        let reply = self
            .access
            .get_as_user(&self.outbound, &format!("/api/v2/spaces?{query}"))
            .await?;
        serde_json::from_slice(&reply.body).map_err(|_| OutboundError::BadResponse)
    }

    fn space(&self, page_base: Option<&str>, s: V2Space) -> Space {
        let base = page_base
            .filter(|b| b.starts_with("https://") || b.starts_with("http://"))
            .unwrap_or(&self.site_url)
            .trim_end_matches('/');
        let webui = s
            .links
            .and_then(|l| l.webui)
            .filter(|w| w.starts_with('/'))
            .unwrap_or_else(|| format!("/spaces/{}", s.key));
        Space {
            url: format!("{base}{webui}"),
            key: s.key,
            name: s.name,
        }
    }
}

/// Why a listing failed, logged once and answered to the browser.
fn failed(e: OutboundError) -> AppError {
    tracing::info!(reason = e.code(), "spaces not read from Confluence");
    e.to_app_error()
}

#[async_trait::async_trait]
impl SpaceDirectory for ProductSpaces {
    async fn list(&self, query: Option<&str>, cursor: Option<&str>) -> Result<SpacePage, AppError> {
        let needle = query.map(str::to_lowercase);
        let limit = if needle.is_some() {
            SEARCH_PAGE_SIZE
        } else {
            PAGE_SIZE
        };
        let mut cursor = cursor.map(str::to_owned);
        let mut spaces = Vec::new();
        for _ in 0..MAX_PAGES_PER_SEARCH {
            let mut q = format!("limit={limit}");
            if let Some(c) = &cursor {
                q.push_str("&cursor=");
                q.extend(url::form_urlencoded::byte_serialize(c.as_bytes()));
            }
            let page = self.page(&q).await.map_err(failed)?;
            let base = page.links.as_ref().and_then(|l| l.base.clone());
            cursor = page.links.and_then(|l| l.next).and_then(|n| cursor_of(&n));
            spaces.extend(
                page.results
                    .into_iter()
                    .filter(|s| {
                        needle.as_ref().is_none_or(|n| {
                            s.name.to_lowercase().contains(n) || s.key.to_lowercase().contains(n)
                        })
                    })
                    .map(|s| self.space(base.as_deref(), s)),
            );
            if needle.is_none() || spaces.len() >= PAGE_SIZE || cursor.is_none() {
                break;
            }
        }
        Ok(SpacePage {
            spaces,
            next_cursor: cursor,
        })
    }

    async fn find(&self, key: &str) -> Result<Option<Space>, AppError> {
        let keys: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
        let page = self
            .page(&format!("keys={keys}&limit=1"))
            .await
            .map_err(failed)?;
        let base = page.links.and_then(|l| l.base);
        Ok(page
            .results
            .into_iter()
            .find(|s| s.key == key)
            .map(|s| self.space(base.as_deref(), s)))
    }
}

/// The `cursor` parameter of a `_links.next` URL.
fn cursor_of(next: &str) -> Option<String> {
    let query = next.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

#[derive(Deserialize)]
struct V2Page {
    results: Vec<V2Space>,
    #[serde(rename = "_links")]
    links: Option<V2Links>,
}

#[derive(Deserialize)]
struct V2Links {
    next: Option<String>,
    base: Option<String>,
}

#[derive(Deserialize)]
struct V2Space {
    key: String,
    name: String,
    #[serde(rename = "_links")]
    links: Option<V2SpaceLinks>,
}

#[derive(Deserialize)]
struct V2SpaceLinks {
    webui: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::cursor_of;

    #[test]
    fn the_cursor_comes_from_the_next_link() {
        assert_eq!(
            cursor_of("/wiki/api/v2/spaces?limit=25&cursor=eyJh%3D%3D").as_deref(),
            Some("eyJh==")
        );
        assert_eq!(cursor_of("/wiki/api/v2/spaces?limit=25"), None);
        assert_eq!(cursor_of("/wiki/api/v2/spaces"), None);
    }
}
