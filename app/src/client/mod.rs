//! Browser-side plumbing: the server-function client that authenticates every call, the token
//! cache it uses, and the bridges to the hosts (Confluence's all.js `AP`; on Forge, the bridge
//! shim). It compiles into the server build too (Leptos needs the type), but only ever runs in
//! the browser. Two clients, one per build: the hydrated Connect page always has its token
//! (`auth_client`); the Custom UI build (`csr`) picks Forge, Connect or neither at start-up
//! (`host_client`). Nothing outside this module knows which transport carries a call.

/// The parts of server_fn's `Client` that both clients take from `BrowserClient` unchanged
/// (websockets, spawning); used inside each `impl Client`.
macro_rules! browser_client_rest {
    () => {
        fn open_websocket(
            path: &str,
        ) -> impl Future<
            Output = Result<
                (
                    impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                    impl Sink<Bytes> + Send + 'static,
                ),
                E,
            >,
        > + Send {
            <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
        }

        fn spawn(future: impl Future<Output = ()> + Send + 'static) {
            <BrowserClient as Client<E, IS, OS>>::spawn(future)
        }
    };
}

mod ap;
#[cfg(not(feature = "csr"))]
mod auth_client;
pub mod codec;
#[cfg(feature = "csr")]
mod forge;
#[cfg(feature = "csr")]
mod host_client;
#[cfg(feature = "csr")]
mod host_response;
pub mod token;

pub use ap::{host_available, resize_iframe};
#[cfg(not(feature = "csr"))]
pub use auth_client::AuthClient;
#[cfg(feature = "csr")]
pub use host_client::AuthClient;

/// The key of the app's remote in the Forge manifest (`remotes[].key`): where `requestRemote`
/// sends the server functions. The manifest generator uses the same constant.
pub const FORGE_REMOTE_KEY: &str = "backend";

/// The path and query of an absolute URL (`https://host/api/x?y` -> `/api/x?y`): what
/// `requestRemote` takes, since Forge resolves it against the remote's `baseUrl`. A URL without
/// a path stays as it is.
#[cfg_attr(
    not(any(feature = "csr", test)),
    expect(dead_code, reason = "only the Forge (csr) transport calls it")
)]
fn path_and_query(url: &str) -> &str {
    url.find("://")
        .and_then(|scheme| url[scheme + 3..].find('/').map(|p| scheme + 3 + p))
        .map_or(url, |start| &url[start..])
}

/// Marks the document as hydrated (`<html data-hydrated="true">`): a signal for tests and for
/// CSS that hides no-JS hints.
pub fn mark_hydrated() {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute("data-hydrated", "true");
    }
}

#[cfg(test)]
mod tests {
    use super::path_and_query;

    #[test]
    fn only_the_path_and_query_go_to_the_remote() {
        assert_eq!(
            path_and_query("https://cdn.example.net/api/preferences?"),
            "/api/preferences?"
        );
        assert_eq!(
            path_and_query("http://localhost:3110/api/x?a=b://c"),
            "/api/x?a=b://c"
        );
        assert_eq!(path_and_query("/api/preferences"), "/api/preferences");
        assert_eq!(path_and_query("https://host"), "https://host");
    }
}
