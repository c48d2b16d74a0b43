//! `HostResponse`: a server function's answer in the Custom UI build, whichever transport
//! carried it (`fetch` for Connect, the Forge bridge's rebuilt `Response`, or a response made
//! here when there is no host). server_fn's own `BrowserResponse` cannot wrap a `Response` it
//! did not fetch itself, so this implements the same reading.

use std::future::Future;

use futures::Stream;
use leptos::server_fn::{
    Bytes,
    error::{FromServerFnError, ServerFnErrorErr},
    redirect::REDIRECT_HEADER,
    response::ClientRes,
};
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub struct HostResponse(pub SendWrapper<web_sys::Response>);

impl HostResponse {
    pub fn new(res: web_sys::Response) -> Self {
        Self(SendWrapper::new(res))
    }

    /// A response made in the page: `body` (JSON) with `status`.
    pub fn local(status: u16, body: &str) -> Option<Self> {
        let init = web_sys::ResponseInit::new();
        init.set_status(status);
        let headers = web_sys::Headers::new().ok()?;
        headers.set("content-type", "application/json").ok()?;
        init.set_headers(&headers);
        web_sys::Response::new_with_opt_str_and_init(Some(body), &init)
            .ok()
            .map(Self::new)
    }
}

fn read_error<E: FromServerFnError>(e: wasm_bindgen::JsValue) -> E {
    E::from_server_fn_error(ServerFnErrorErr::Deserialization(format!("{e:?}")))
}

impl<E: FromServerFnError> ClientRes<E> for HostResponse {
    fn try_into_string(self) -> impl Future<Output = Result<String, E>> + Send {
        SendWrapper::new(async move {
            let promise = self.0.text().map_err(read_error::<E>)?;
            let text = JsFuture::from(promise).await.map_err(read_error::<E>)?;
            Ok(text.as_string().unwrap_or_default())
        })
    }

    fn try_into_bytes(self) -> impl Future<Output = Result<Bytes, E>> + Send {
        SendWrapper::new(async move {
            let promise = self.0.array_buffer().map_err(read_error::<E>)?;
            let buffer = JsFuture::from(promise).await.map_err(read_error::<E>)?;
            let bytes = js_sys::Uint8Array::new(&buffer.unchecked_into());
            Ok(Bytes::from(bytes.to_vec()))
        })
    }

    fn try_into_stream(
        self,
    ) -> Result<impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static, E> {
        // No server function of this app streams.
        Err::<futures::stream::Empty<Result<Bytes, Bytes>>, E>(E::from_server_fn_error(
            ServerFnErrorErr::Response("streaming answers are not supported".into()),
        ))
    }

    fn status(&self) -> u16 {
        self.0.status()
    }

    fn status_text(&self) -> String {
        self.0.status_text()
    }

    fn location(&self) -> String {
        self.0
            .headers()
            .get("Location")
            .ok()
            .flatten()
            .unwrap_or_else(|| self.0.url())
    }

    fn has_redirect(&self) -> bool {
        self.0
            .headers()
            .get(REDIRECT_HEADER)
            .ok()
            .flatten()
            .is_some()
    }
}
