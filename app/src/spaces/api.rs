//! `GET /api/spaces?q=&cursor=`: the spaces the signed-in user can see in Confluence, asked as
//! that user. Declared with `#[api]`, so the browser always sends its token.

use leptos::server_fn::codec::Post;
use macros::api;

use super::SpacePage;
use crate::AppError;
use crate::client::codec::{JsJson, Query, ToQuery, push_arg};

/// Spaces whose name or key contains `q`, from `cursor` (both optional).
#[api(endpoint = "spaces", input = Query, output = Post<JsJson>)]
pub async fn list_spaces(q: Option<String>, cursor: Option<String>) -> Result<SpacePage, AppError> {
    use super::{MAX_CURSOR_CHARS, MAX_QUERY_CHARS};
    let caller = crate::auth::require_caller()?;
    if caller.account_id.is_none() {
        return Err(AppError::forbidden(
            "Log in to Confluence to choose a space.",
        ));
    }
    let q = q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if q.as_ref()
        .is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS)
    {
        return Err(AppError::BadRequest {
            message: format!("The search text is longer than {MAX_QUERY_CHARS} characters."),
        });
    }
    let cursor = cursor.filter(|c| !c.is_empty());
    if cursor.as_ref().is_some_and(|c| {
        c.len() > MAX_CURSOR_CHARS
            || !c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=+/.%~".contains(&b))
    }) {
        return Err(AppError::BadRequest {
            message: "The cursor is not one this endpoint gave out.".into(),
        });
    }
    ssr::directory()?
        .0
        .list(q.as_deref(), cursor.as_deref())
        .await
}

crate::query_args!(ListSpaces);

impl ToQuery for ListSpaces {
    fn to_query(&self) -> String {
        let mut query = String::new();
        push_arg(&mut query, "q", self.q.as_deref());
        push_arg(&mut query, "cursor", self.cursor.as_deref());
        query
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::super::directory::SpaceService;
    use crate::AppError;

    pub(crate) fn directory() -> Result<SpaceService, AppError> {
        leptos::prelude::use_context::<SpaceService>().ok_or_else(AppError::internal)
    }
}
