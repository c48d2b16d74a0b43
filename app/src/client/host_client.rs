//! `AuthClient` of the Custom UI build (feature `csr`): the page has no server render, so the
//! client picks its host once, at the first call, and every `#[api]` function goes through it:
//! - Forge (the bridge shim found Forge's `__bridge`): `requestRemote` to the app's remote; the
//!   bridge adds `Authorization: Bearer <FIT>`.
//! - Connect (`AP`, or a `<meta name="token">`): `Authorization: JWT <token>`, as the hydrated page.
//! - Neither: no request is made; the call answers `no_host` ("open this page from Confluence").
//!
//! After a 401 it retries exactly once (Forge: the bridge hands a new FIT; Connect: a new token).

use std::cell::Cell;
use std::future::Future;

use futures::{Sink, Stream};
use leptos::server_fn::{
    Bytes,
    client::{Client, browser::BrowserClient},
    error::{FromServerFnError, ServerFnErrorErr},
    request::browser::BrowserRequest,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::forge::{self, RemoteCall};
use super::host_response::HostResponse;
use super::token;

pub struct AuthClient;

/// Who carries the server functions of this page view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Forge,
    Connect,
    None,
}

thread_local! {
    static TRANSPORT: Cell<Option<Transport>> = const { Cell::new(None) };
}

/// The transport, decided on the first call and kept for the page's life.
fn transport() -> Transport {
    TRANSPORT.with(|t| {
        *t.get().get_or_insert_with(|| {
            if forge::available() {
                Transport::Forge
            } else if super::ap::host_available() || token::current_expiry().is_some() {
                Transport::Connect
            } else {
                Transport::None
            }
        })
    })
}

/// What the page says when nobody can vouch for the user.
const NO_HOST_BODY: &str = r#"{"error":"no_host","message":"This page only works inside Confluence: open it from Confluence."}"#;

fn request_error<E: FromServerFnError>(message: String) -> E {
    E::from_server_fn_error(ServerFnErrorErr::Request(message))
}

/// Reads what server_fn built into a plain description (the built request itself is dropped:
/// its abort signal fires on drop, so it is never what gets sent).
async fn describe(req: &BrowserRequest) -> RemoteCall {
    // The URL is absolute (resolved against the page); the remote only needs path and query.
    let path = super::path_and_query(&req.url()).to_owned();
    let method = req.method().to_string();
    let headers = req.headers();
    let body = if method == "GET" || method == "HEAD" {
        None
    } else {
        req.text().await.ok()
    };
    RemoteCall {
        path,
        method,
        content_type: headers.get("content-type"),
        accept: headers.get("accept"),
        body,
    }
}

/// One Connect call with `jwt` (if any), by `fetch` from the page.
async fn fetch_connect(call: &RemoteCall, jwt: Option<&str>) -> Result<web_sys::Response, String> {
    let text = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let window = web_sys::window().ok_or("no window")?;
    let headers = web_sys::Headers::new().map_err(text)?;
    for (name, value) in [
        ("content-type", &call.content_type),
        ("accept", &call.accept),
    ] {
        if let Some(value) = value {
            headers.set(name, value).map_err(text)?;
        }
    }
    if let Some(jwt) = jwt {
        headers
            .set("Authorization", &format!("JWT {jwt}"))
            .map_err(text)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(&call.method);
    init.set_headers(&headers);
    if let Some(body) = &call.body {
        init.set_body(&body.into());
    }
    let res = JsFuture::from(window.fetch_with_str_and_init(&call.path, &init))
        .await
        .map_err(text)?;
    res.dyn_into().map_err(text)
}

async fn send_connect(call: &RemoteCall) -> Result<web_sys::Response, String> {
    let used = token::current().await;
    let res = fetch_connect(call, used.as_deref()).await?;
    if res.status() != 401 {
        return Ok(res);
    }
    let Some(used) = used else { return Ok(res) };
    match token::replacement_for(&used).await {
        Some(fresh) => fetch_connect(call, Some(&fresh)).await,
        None => Ok(res),
    }
}

async fn send_forge(call: &RemoteCall) -> Result<web_sys::Response, String> {
    let res = forge::request(call).await?;
    if res.status() != 401 {
        return Ok(res);
    }
    // The FIT was refused (expired in flight, or the key rotated): the bridge mints a new one.
    forge::request(call).await
}

impl<E, IS, OS> Client<E, IS, OS> for AuthClient
where
    E: FromServerFnError,
    IS: FromServerFnError,
    OS: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = HostResponse;

    fn send(req: BrowserRequest) -> impl Future<Output = Result<HostResponse, E>> + Send {
        send_wrapper::SendWrapper::new(async move {
            let call = describe(&req).await;
            drop(req);
            let res = match transport() {
                Transport::Forge => send_forge(&call).await,
                Transport::Connect => send_connect(&call).await,
                Transport::None => {
                    return HostResponse::local(400, NO_HOST_BODY)
                        .ok_or_else(|| request_error("no host".into()));
                }
            };
            res.map(HostResponse::new).map_err(request_error)
        })
    }

    browser_client_rest!();
}
