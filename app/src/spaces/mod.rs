//! Confluence spaces as the signed-in user sees them: the listing behind the space picker, and
//! the check a save makes of the chosen space. The server implements [`directory::SpaceDirectory`]
//! with its outbound client, bound to the verified caller; this crate never sees a credential.

mod api;
#[cfg(feature = "ssr")]
pub mod directory;

#[cfg(feature = "ssr")]
pub(crate) use api::ssr;
pub use api::*;

use serde::{Deserialize, Serialize};

/// One space: its key, its name, and its address on the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    pub key: String,
    pub name: String,
    pub url: String,
}

/// One page of spaces; `next_cursor` continues the listing (`None`: that was all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpacePage {
    pub spaces: Vec<Space>,
    pub next_cursor: Option<String>,
}

#[cfg(target_arch = "wasm32")]
impl crate::client::codec::FromJs for SpacePage {
    fn from_js(value: &wasm_bindgen::JsValue) -> Option<Self> {
        use crate::client::codec::{field, list, optional_field, string_field};
        Some(Self {
            spaces: list(&field(value, "spaces"), |s| {
                Some(Space {
                    key: string_field(&s, "key")?,
                    name: string_field(&s, "name")?,
                    url: string_field(&s, "url")?,
                })
            })?,
            next_cursor: optional_field(value, "next_cursor", |c| c.as_string())?,
        })
    }
}

/// The longest search text accepted.
pub const MAX_QUERY_CHARS: usize = 100;
/// The longest cursor accepted (Confluence's are opaque base64-like strings).
pub const MAX_CURSOR_CHARS: usize = 1024;
