//! Server-function codecs that keep generic serde machinery out of the wasm; on the wire they
//! are exactly Leptos' `GetUrl` input and `Json` output.
//!
//! - [`Query`]: the arguments in the query string, as `GetUrl` sends them. The browser writes
//!   them with `encodeURIComponent` (each argument type says how, [`ToQuery`]) instead of
//!   compiling `serde_qs`; the server reads them with `serde_qs`, exactly as `GetUrl` does.
//! - [`JsJson`]: a JSON answer. The server writes it with serde_json; the browser reads it with
//!   `JSON.parse` and picks out the fields ([`FromJs`]), instead of compiling a serde_json
//!   deserializer for each answer type.

use leptos::server_fn::{
    Bytes, ContentType, Decodes, Encodes, Format, FormatType,
    codec::{Encoding, GetUrl},
};
use serde::Serialize;
#[cfg(not(target_arch = "wasm32"))]
use serde::de::DeserializeOwned;

/// `GET` with the arguments in the query string (see the module docs).
pub struct Query;

impl ContentType for Query {
    const CONTENT_TYPE: &'static str = GetUrl::CONTENT_TYPE;
}

impl Encoding for Query {
    const METHOD: http::Method = http::Method::GET;
}

/// Arguments that can write themselves as a query string.
pub trait ToQuery {
    /// `name=value` pairs joined with `&`, values percent-encoded; absent values left out (as
    /// `serde_qs` leaves out a `None`).
    fn to_query(&self) -> String;
}

/// Appends `name=value` to `query` if `value` is there.
pub fn push_arg(query: &mut String, name: &str, value: Option<&str>) {
    let Some(value) = value else { return };
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(name);
    query.push('=');
    query.push_str(&encode_component(value));
}

#[cfg(target_arch = "wasm32")]
fn encode_component(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

/// The same escaping as `encodeURIComponent` (the tests' build has no browser).
#[cfg(not(target_arch = "wasm32"))]
fn encode_component(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Lets each argument type named travel with [`Query`]: written with its [`ToQuery`], read with
/// `serde_qs` as `GetUrl` reads it. (A blanket impl over `ToQuery` is not allowed: these traits
/// are Leptos'.)
#[macro_export]
macro_rules! query_args {
    ($($args:ty),* $(,)?) => {$(
        impl<E, Request> ::leptos::server_fn::codec::IntoReq<$crate::client::codec::Query, Request, E>
            for $args
        where
            Request: ::leptos::server_fn::request::ClientReq<E>,
            E: ::leptos::server_fn::error::FromServerFnError,
        {
            fn into_req(self, path: &str, accepts: &str) -> Result<Request, E> {
                use ::leptos::server_fn::ContentType;
                Request::try_new_get(
                    path,
                    $crate::client::codec::Query::CONTENT_TYPE,
                    accepts,
                    &$crate::client::codec::ToQuery::to_query(&self),
                )
            }
        }

        impl<E, Request> ::leptos::server_fn::codec::FromReq<$crate::client::codec::Query, Request, E>
            for $args
        where
            Request: ::leptos::server_fn::request::Req<E> + Send + 'static,
            E: ::leptos::server_fn::error::FromServerFnError,
        {
            fn from_req(req: Request) -> impl Future<Output = Result<Self, E>> + Send {
                <Self as ::leptos::server_fn::codec::FromReq<
                    ::leptos::server_fn::codec::GetUrl,
                    Request,
                    E,
                >>::from_req(req)
            }
        }
    )*};
}

/// A JSON answer read in the browser with `JSON.parse` (see the module docs).
pub struct JsJson;

impl ContentType for JsJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsJson {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsJson {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, serde_json::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

/// A value read from the result of `JSON.parse`; `None` if it does not have the expected shape.
/// Only the browser reads answers this way.
#[cfg(target_arch = "wasm32")]
pub trait FromJs: Sized {
    fn from_js(value: &JsValue) -> Option<Self>;
}

/// What a malformed answer is reported as.
const MALFORMED: &str = "The server's answer could not be read.";

/// Reads JSON text with the browser's `JSON.parse`.
#[cfg(target_arch = "wasm32")]
pub fn from_json<T: FromJs>(text: &str) -> Result<T, &'static str> {
    let value = js_sys::JSON::parse(text).map_err(|_| MALFORMED)?;
    T::from_js(&value).ok_or(MALFORMED)
}

#[cfg(target_arch = "wasm32")]
impl<T: FromJs> Decodes<T> for JsJson {
    type Error = &'static str;

    fn decode(bytes: Bytes) -> Result<T, &'static str> {
        from_json(std::str::from_utf8(&bytes).map_err(|_| MALFORMED)?)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl<T: DeserializeOwned> Decodes<T> for JsJson {
    type Error = &'static str;

    fn decode(bytes: Bytes) -> Result<T, &'static str> {
        serde_json::from_slice(&bytes).map_err(|_| MALFORMED)
    }
}

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::JsValue;

/// Field `name` of a parsed JSON object (`undefined` if absent or not an object).
#[cfg(target_arch = "wasm32")]
pub fn field(value: &JsValue, name: &str) -> JsValue {
    if !value.is_object() {
        return JsValue::UNDEFINED;
    }
    js_sys::Reflect::get(value, &name.into()).unwrap_or_default()
}

/// A string field.
#[cfg(target_arch = "wasm32")]
pub fn string_field(value: &JsValue, name: &str) -> Option<String> {
    field(value, name).as_string()
}

/// An integer (JSON numbers are `f64` in the browser; the ones read here are far below 2^53).
#[cfg(target_arch = "wasm32")]
pub fn int(value: &JsValue) -> Option<i64> {
    let n = value.as_f64()?;
    #[expect(
        clippy::as_conversions,
        reason = "no TryFrom from floats: n is integral and below 2^53, so exact"
    )]
    (n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0).then_some(n as i64)
}

/// An optional field: `Some(None)` if missing or `null`, `None` if `read` refuses it.
#[cfg(target_arch = "wasm32")]
pub fn optional_field<T>(
    value: &JsValue,
    name: &str,
    read: impl FnOnce(&JsValue) -> Option<T>,
) -> Option<Option<T>> {
    let v = field(value, name);
    if v.is_null() || v.is_undefined() {
        Some(None)
    } else {
        read(&v).map(Some)
    }
}

/// An array, each entry read with `read`.
#[cfg(target_arch = "wasm32")]
pub fn list<T>(value: &JsValue, read: impl FnMut(JsValue) -> Option<T>) -> Option<Vec<T>> {
    if !js_sys::Array::is_array(value) {
        return None;
    }
    js_sys::Array::from(value).iter().map(read).collect()
}

/// serde's form of a `Result`: `{"Ok": ...}` or `{"Err": ...}`.
#[cfg(target_arch = "wasm32")]
impl<T: FromJs, E: FromJs> FromJs for Result<T, E> {
    fn from_js(value: &JsValue) -> Option<Self> {
        let ok = field(value, "Ok");
        if !ok.is_undefined() {
            return T::from_js(&ok).map(Ok);
        }
        E::from_js(&field(value, "Err")).map(Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_arguments_are_percent_encoded_and_absent_ones_left_out() {
        let mut query = String::new();
        push_arg(&mut query, "q", Some("team 0&x=ü"));
        push_arg(&mut query, "skipped", None);
        push_arg(&mut query, "cursor", Some("a-b_c.d~"));
        assert_eq!(query, "q=team%200%26x%3D%C3%BC&cursor=a-b_c.d~");
    }
}
