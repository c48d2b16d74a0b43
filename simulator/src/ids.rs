//! Identifiers and secrets the host hands out: random UUID-shaped ids, ids derived stably
//! from a label (so a site keeps its clientKey across restarts), and shared secrets.
//! A [`SharedSecret`] never appears in `Debug` output and has no `Display`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::fmt;

/// A fresh random UUID (version 4 layout).
pub fn random_uuid() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(format_uuid(bytes, 4))
}

/// A UUID-shaped id derived from `label` (SHA-256, RFC 9562 version 8 "custom" layout).
pub fn derived_uuid(label: &str) -> String {
    let digest = Sha256::digest(label.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format_uuid(bytes, 8)
}

/// Lower-case hex of the SHA-256 of `label`, cut to `len` characters (at most 64).
pub fn derived_hex(label: &str, len: usize) -> String {
    let digest = Sha256::digest(label.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars().take(len).collect()
}

fn format_uuid(mut bytes: [u8; 16], version: u8) -> String {
    bytes[6] = (bytes[6] & 0x0f) | (version << 4);
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex[..4].concat(),
        hex[4..6].concat(),
        hex[6..8].concat(),
        hex[8..10].concat(),
        hex[10..].concat()
    )
}

/// A tenant's shared secret: 32 random bytes as unpadded base64url (43 characters). The app
/// keys HMAC with the UTF-8 bytes of this text.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(String);

impl SharedSecret {
    /// A new random secret (every install gets one).
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The HMAC key: the secret text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The secret text, for the lifecycle body only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_uuid_shaped(s: &str) -> bool {
        let groups: Vec<&str> = s.split('-').collect();
        groups.iter().map(|g| g.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
            && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    }

    #[test]
    fn uuids_are_uuid_shaped_and_kid_safe() {
        let random = random_uuid().unwrap();
        assert!(is_uuid_shaped(&random), "{random}");
        assert_eq!(&random[14..15], "4");
        assert!(connect::Kid::parse(&random).is_ok());
        assert_ne!(random, random_uuid().unwrap());
        let derived = derived_uuid("client-key/acme");
        assert!(is_uuid_shaped(&derived), "{derived}");
        assert_eq!(derived, derived_uuid("client-key/acme"));
        assert_ne!(derived, derived_uuid("client-key/globex"));
        assert_eq!(derived_hex("x", 10).len(), 10);
    }

    #[test]
    fn secrets_are_fresh_long_and_hidden_from_debug() {
        let a = SharedSecret::generate().unwrap();
        let b = SharedSecret::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(format!("{a:?}"), "SharedSecret(***)");
    }
}
