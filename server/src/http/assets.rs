//! Static assets under `/pkg` (the wasm, its JS glue and the CSS), public. A release build made
//! with `cargo leptos build --release --precompress` has brotli (quality 11) and gzip copies
//! next to each file, served as they are: no compression work per request, and smaller than
//! on-the-fly compression. Without them (development builds) the router's compression layer
//! compresses. Cached by browsers but revalidated (`no-cache` + Last-Modified), so a deploy is
//! picked up at once.

use axum::http::{HeaderValue, header};
use leptos::prelude::LeptosOptions;
use tower::Layer;
use tower_http::services::ServeDir;
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

pub fn service(options: &LeptosOptions) -> SetResponseHeader<ServeDir, HeaderValue> {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    )
    .layer(ServeDir::new(dir).precompressed_br().precompressed_gzip())
}
