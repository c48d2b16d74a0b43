//! How the page's one read travels inside the server-rendered page: the same JSON as Leptos'
//! default `JsonSerdeCodec`, read in the browser with `JSON.parse` like the server-function
//! answers (`client::codec`), so that no serde_json reader is compiled into the wasm.

use leptos::server::codee;

/// The resource codec (see the module docs).
pub(super) struct JsonCodec;

impl<T: serde::Serialize> codee::Encoder<T> for JsonCodec {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

#[cfg(target_arch = "wasm32")]
impl<T: crate::client::codec::FromJs> codee::Decoder<T> for JsonCodec {
    type Error = &'static str;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, &'static str> {
        crate::client::codec::from_json(val)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl<T: serde::de::DeserializeOwned> codee::Decoder<T> for JsonCodec {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(val.as_bytes())
    }
}
