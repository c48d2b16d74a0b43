//! The app's page: the preferences form. One page, so no router (a smaller wasm bundle).

mod preferences;
mod space_picker;

pub use preferences::App;
