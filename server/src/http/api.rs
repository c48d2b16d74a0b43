//! `/api/*`: the only way into a server function. The caller's token is verified once here
//! (`ApiCaller`: a Connect context token or a Forge invocation token); the site and user go to
//! the function as context, never from input. This
//! handler also answers unknown endpoints (404) and methods (405) in JSON, caps bodies (413),
//! and gives server-function errors their real status (server_fn 0.8 sends 500 for all).
//!
//! It runs the registered server function itself, in a reactive owner holding only this app's
//! contexts: leptos_axum's generic dispatcher also copies the request parts (every header) and
//! a response-options cell into each call, which no function here reads.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use leptos::prelude::provide_context;
use leptos::server_fn::axum::{get_server_fn_service, server_fn_paths};

use crate::http::caller::ApiCaller;
use crate::http::errors::json_error;
use crate::http::owner;
use crate::outbound::spaces::ProductSpaces;
use crate::state::AppState;
use app::AppError;
use app::spaces::directory::SpaceService;
use std::sync::Arc;

/// The largest request body a server function accepts.
pub const MAX_API_BODY: usize = 16 * 1024;
/// Error bodies are small; this bounds how much of one is read to find its status.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn server_fn(
    State(state): State<AppState>,
    ApiCaller {
        auth,
        transport,
        access,
    }: ApiCaller,
    req: Request<Body>,
) -> Response {
    let (parts, body) = req.into_parts();
    let Some(mut service) = get_server_fn_service(parts.uri.path(), parts.method.clone()) else {
        return not_found_or_not_allowed(parts.uri.path());
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| usize::try_from(n).map_or(true, |n| n > MAX_API_BODY)) {
        return json_error(&AppError::payload_too_large(MAX_API_BODY));
    }
    let Ok(bytes) = to_bytes(body, MAX_API_BODY).await else {
        return json_error(&AppError::payload_too_large(MAX_API_BODY));
    };
    let req = Request::from_parts(parts, Body::from(bytes));

    tracing::debug!(token_kind = transport, "api call");
    let preferences = state.preferences.clone();
    let spaces = SpaceService(Arc::new(ProductSpaces::new(
        Arc::clone(&state.outbound),
        access,
        auth.site_url.clone(),
    )));
    // A root of this call's own: never a child of whatever owner the thread holds (a page
    // render suspended on this thread, say), so it sees only the contexts provided here.
    let owner = owner::request_root(None);
    let run = owner.with(|| {
        provide_context(auth);
        provide_context(preferences);
        provide_context(spaces);
        service.run(req)
    });
    let res = owner::scoped(&owner, run).await;
    with_error_status(res).await
}

/// 404 for a path no server function has, 405 (with `Allow`) for one it has with another method.
fn not_found_or_not_allowed(path: &str) -> Response {
    let methods: Vec<_> = server_fn_paths()
        .filter(|(p, _)| *p == path)
        .map(|(_, m)| m)
        .collect();
    if methods.is_empty() {
        return json_error(&AppError::NotFound {
            message: "There is no API endpoint at this path.".into(),
        });
    }
    let mut res = json_error(&AppError::MethodNotAllowed {
        message: "This endpoint does not accept this method.".into(),
    });
    let allow = methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = HeaderValue::from_str(&allow) {
        res.headers_mut().insert(header::ALLOW, v);
    }
    res
}

/// server_fn 0.8 answers every `Err` with 500; the body says which `AppError` it was, and that
/// decides the status. A body that is not an `AppError` stays a 500 with a generic message.
async fn with_error_status(res: Response) -> Response {
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
    match serde_json::from_slice::<AppError>(&bytes) {
        Ok(error) => {
            let mut res = Response::from_parts(parts, Body::from(bytes));
            *res.status_mut() = error.status();
            res
        }
        Err(_) => {
            tracing::error!("server function failed without an AppError body");
            json_error(&AppError::internal())
        }
    }
}
