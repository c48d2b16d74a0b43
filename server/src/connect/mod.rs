//! The server side of the Connect protocol: the descriptor, lifecycle callbacks, token
//! verification per token kind, the typed extractors, session tokens and tenant secrets.
//! The pure protocol rules live in the `connect` crate; this module adds I/O and axum.

pub mod descriptor;
pub mod extractors;
pub mod install_keys;
pub mod lifecycle;
pub mod secrets;
pub mod session;
pub mod verified_tokens;
pub mod verifier;
