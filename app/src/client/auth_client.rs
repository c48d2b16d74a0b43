//! `AuthClient`: the server-function client every `#[api]` function uses. It adds
//! `Authorization: JWT <token>` (never a URL parameter), and after a 401 asks the host for a new
//! token and retries exactly once.

use std::future::Future;

use futures::{Sink, Stream};
use leptos::server_fn::{
    Bytes,
    client::{Client, browser::BrowserClient},
    error::FromServerFnError,
    request::{
        ClientReq,
        browser::{BrowserRequest, Request as CarrierRequest},
    },
    response::{ClientRes, browser::BrowserResponse},
};

use super::token;

pub struct AuthClient;

fn authorize(headers: &web_sys::Headers, jwt: &str) {
    let _ = headers.set("Authorization", &format!("JWT {jwt}"));
}

impl<E, IS, OS> Client<E, IS, OS> for AuthClient
where
    E: FromServerFnError,
    IS: FromServerFnError,
    OS: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    fn send(mut req: BrowserRequest) -> impl Future<Output = Result<BrowserResponse, E>> + Send {
        // The browser is single-threaded; BrowserClient itself wraps its future the same way.
        send_wrapper::SendWrapper::new(async move {
            let used = token::current().await;
            if let Some(jwt) = &used {
                req.headers().set("Authorization", &format!("JWT {jwt}"));
            }
            // Keep a JS-side copy (body included) so a rejected call can be sent once more.
            let placeholder = CarrierRequest::get("/").build().map_err(|e| {
                E::from_server_fn_error(leptos::server_fn::error::ServerFnErrorErr::Request(
                    e.to_string(),
                ))
            })?;
            let raw: web_sys::Request = std::mem::replace(&mut *req, placeholder).into();
            let spare = web_sys::Request::clone(&raw).ok();
            *req = raw.into();

            let res = <BrowserClient as Client<E, IS, OS>>::send(req).await?;
            if <BrowserResponse as ClientRes<E>>::status(&res) != 401 {
                return Ok(res);
            }
            let (Some(spare), Some(used)) = (spare, used) else {
                return Ok(res);
            };
            let Some(fresh) = token::replacement_for(&used).await else {
                return Ok(res); // the caller decodes the 401 into AppError
            };
            // Read the 401 body first so the original request's abort signal is released.
            let _ = <BrowserResponse as ClientRes<E>>::try_into_bytes(res).await;
            authorize(&spare.headers(), &fresh);
            let mut retry = <BrowserRequest as ClientReq<E>>::try_new_req_query(
                "/",
                "",
                "",
                "",
                http::Method::GET,
            )?;
            *retry = spare.into();
            <BrowserClient as Client<E, IS, OS>>::send(retry).await
        })
    }

    browser_client_rest!();
}
