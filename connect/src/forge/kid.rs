//! The `kid` of a Forge invocation token, checked before any key is looked up or fetched.
//! It looks like `forge/invocation-token/wf-<uuid>`: the `/` makes it unfit for a URL or a
//! path, so it is only ever a map key into the cached JWKS, never part of a request.

use crate::error::VerifyError;
use std::fmt;

/// Longest accepted `kid`, in bytes.
pub const MAX_FIT_KID_LEN: usize = 256;

/// A validated FIT key id: 1 to [`MAX_FIT_KID_LEN`] visible ASCII characters (no space, no
/// control character, nothing outside ASCII), so it can be logged and used as a map key safely.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FitKid(String);

impl FitKid {
    /// Validates `s` as a key id.
    pub fn parse(s: &str) -> Result<Self, VerifyError> {
        if !s.is_empty() && s.len() <= MAX_FIT_KID_LEN && s.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(VerifyError::InvalidKid)
        }
    }

    /// The validated id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FitKid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_forge_form_and_refuses_odd_ones() {
        let forge = "forge/invocation-token/wf-0e50fccb-239d-4991-a5db-dc850ba3f236";
        assert_eq!(FitKid::parse(forge).map(|k| k.0), Ok(forge.to_owned()));
        assert!(FitKid::parse(&"k".repeat(MAX_FIT_KID_LEN)).is_ok());
        let long = "k".repeat(MAX_FIT_KID_LEN + 1);
        for bad in [
            "",
            " ",
            "a b",
            "a\n",
            "a\u{0}",
            "é",
            "\u{7f}",
            long.as_str(),
        ] {
            assert_eq!(FitKid::parse(bad), Err(VerifyError::InvalidKid), "{bad:?}");
        }
    }
}
