//! The Leptos application, compiled twice: into the server (feature `ssr`: renders the page and
//! runs the server functions) and into the browser (feature `hydrate`). Types shared by both
//! halves live here and nowhere else.

#![recursion_limit = "256"]

pub mod auth;
pub mod client;
mod error;
pub mod pages;
pub mod preferences;
mod shell;
pub mod spaces;

pub use error::AppError;
pub use pages::App;
pub use shell::{hydration_scripts, shell};
