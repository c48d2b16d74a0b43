//! Per-user preferences: the model and its validation (shared), the server functions that read
//! and save them, and (server only) the storage interface the server implements.

mod api;
pub mod dates;
mod model;
#[cfg(feature = "ssr")]
pub mod store;

pub use api::*;
pub use model::*;

use serde::{Deserialize, Serialize};

/// What the page and `GET /api/preferences` show: the values plus what an edit needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferencesView {
    pub preferences: Preferences,
    /// Incremented by every save; 0 means never saved (the values are defaults). A save names
    /// the revision it edited, so a stale edit is refused instead of overwriting.
    pub revision: i64,
    /// When the last save landed (Unix seconds), if ever.
    pub updated_at: Option<i64>,
    /// False for anonymous viewers: they see defaults and cannot save.
    pub can_edit: bool,
    /// The Confluence site's address, for links.
    pub site_url: String,
}

#[cfg(target_arch = "wasm32")]
impl crate::client::codec::FromJs for PreferencesView {
    fn from_js(value: &wasm_bindgen::JsValue) -> Option<Self> {
        use crate::client::codec::{field, int, optional_field, string_field};
        Some(Self {
            preferences: Preferences::from_js(&field(value, "preferences"))?,
            revision: int(&field(value, "revision"))?,
            updated_at: optional_field(value, "updated_at", int)?,
            can_edit: field(value, "can_edit").as_bool()?,
            site_url: string_field(value, "site_url")?,
        })
    }
}
