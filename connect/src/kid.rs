//! The install-key id (`kid`) of signed lifecycle tokens and the key URL built from it.
//! A `kid` is attacker-controlled: it is validated before use and the URL is built by plain
//! concatenation, never by URL joining or normalisation (docs/AUTH-RULES.md §C4.6).

use crate::error::VerifyError;
use std::fmt;

/// Longest accepted `kid`, in bytes (the pattern allows 1 + 255 characters, all ASCII).
const MAX_KID_LEN: usize = 256;

/// A validated key id: `^[A-Za-z0-9_-][A-Za-z0-9._/-]{0,255}$` with no empty, `.` or `..`
/// segment when split on `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kid(String);

impl Kid {
    /// Validates `s` as a key id.
    pub fn parse(s: &str) -> Result<Self, VerifyError> {
        let bytes = s.as_bytes();
        let Some((&first, rest)) = bytes.split_first() else {
            return Err(VerifyError::InvalidKid);
        };
        let first_ok = first.is_ascii_alphanumeric() || first == b'_' || first == b'-';
        let rest_ok = rest
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'));
        // '.' and '..' segments are removed by URL normalisation (path traversal); empty
        // segments ('a//b', trailing '/') change which resource a server or CDN resolves.
        let segments_ok = s.split('/').all(|seg| !matches!(seg, "" | "." | ".."));
        if bytes.len() <= MAX_KID_LEN && first_ok && rest_ok && segments_ok {
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

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `base` without trailing `/` + `/` + `kid`, by string concatenation (never `Url::join`).
/// `base` may carry a path, e.g. `http://127.0.0.1:9400/keys`.
pub fn install_key_url(base: &str, kid: &Kid) -> String {
    format!("{}/{}", base.trim_end_matches('/'), kid.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_uuid_and_path_like_ids() {
        for ok in [
            "0e50fccb-239d-4991-a5db-dc850ba3f236",
            "a/b",
            "a",
            "_x",
            "-x",
            "key.v1",
            "a/b.c/d_e-f",
            "a/...",
        ] {
            assert_eq!(
                Kid::parse(ok).map(|k| k.as_str().to_owned()),
                Ok(ok.to_owned())
            );
        }
    }

    #[test]
    fn rejects_traversal_injection_and_odd_forms() {
        let long = "a".repeat(257);
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/../b",
            "a/./b",
            "a/..",
            "a/",
            "a//b",
            "/abs",
            "//host/x",
            "http://x",
            "%2e%2e",
            "..%2F..%2Fx",
            "a?b",
            "a#b",
            "a b",
            " a",
            "a\n",
            "a\\b",
            "é",
            ".hidden",
            long.as_str(),
        ] {
            assert_eq!(Kid::parse(bad), Err(VerifyError::InvalidKid), "{bad:?}");
        }
    }

    #[test]
    fn max_length_is_256() {
        let ok = "a".repeat(256);
        assert!(Kid::parse(&ok).is_ok());
    }

    #[test]
    fn url_is_concatenated_under_the_base_path() -> Result<(), VerifyError> {
        let kid = Kid::parse("0e50fccb-239d-4991-a5db-dc850ba3f236")?;
        assert_eq!(
            install_key_url("https://connect-install-keys.atlassian.com", &kid),
            "https://connect-install-keys.atlassian.com/0e50fccb-239d-4991-a5db-dc850ba3f236"
        );
        let kid = Kid::parse("a/b")?;
        assert_eq!(
            install_key_url("http://127.0.0.1:9400/keys/", &kid),
            "http://127.0.0.1:9400/keys/a/b"
        );
        assert_eq!(
            install_key_url("http://127.0.0.1:9400/keys", &kid),
            "http://127.0.0.1:9400/keys/a/b"
        );
        Ok(())
    }
}
