//! The app's page: the preferences form. One page, so no router (a smaller wasm bundle).

mod preferences;

pub use preferences::App;
