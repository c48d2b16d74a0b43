//! Forge Remote: verifying Forge invocation tokens (FITs), the second transport beside Connect
//! JWTs. Pure like the rest of the crate: the caller fetches the JWKS and hands keys in.
//! Flow: [`UnverifiedFit::parse`] (header only) → key by [`UnverifiedFit::kid`] →
//! [`UnverifiedFit::verify`] (signature, then every claim) → [`VerifiedFit`].

mod claims;
mod error;
mod ids;
mod jwks;
mod kid;
mod verify;

#[cfg(test)]
mod tests;

pub use claims::FitModule;
pub use error::FitError;
pub use ids::{AccountId, AppId, CloudId, EnvironmentId, InstallationId};
pub use jwks::{ForgeKey, JwksKeys, MAX_JWKS_KEYS, NotAJwks, SkippedKey, parse_jwks};
pub use kid::{FitKid, MAX_FIT_KID_LEN};
pub use verify::{
    DEFAULT_API_BASE_URL_PREFIX, EnvironmentPolicy, FIT_ISSUER, FitPolicy, MAX_FIT_LIFETIME_SECS,
    UnverifiedFit, VerifiedFit,
};
