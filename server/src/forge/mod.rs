//! The server side of Forge Remote: the shared JWKS cache and the FIT verifier built on the
//! pure rules of `connect::forge`, and the manifest that points Forge at this server. Not wired
//! into routes yet (issue 14, next step).

pub mod jwks;
pub mod manifest;
pub mod verifier;
