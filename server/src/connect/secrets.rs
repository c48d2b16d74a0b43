//! Tenant shared secrets at rest: XChaCha20-Poly1305 under keys from `TENANT_SECRET_KEYS`
//! (`id:base64-32-byte-key`, comma-separated; the first encrypts, all decrypt, so keys rotate).
//! The ciphertext is bound to its tenant's clientKey. Never logs or prints a secret or a key.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::config::ConfigError;

/// A tenant's shared secret in memory. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(String);

impl SharedSecret {
    pub fn new(secret: String) -> Self {
        Self(secret)
    }
    /// The HMAC key: the secret's UTF-8 bytes as-is (what Atlassian's hosts use).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("stored secret is malformed")]
    Malformed,
    #[error("stored secret was encrypted with key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("stored secret does not decrypt (wrong key or tampered row)")]
    Undecryptable,
}

struct NamedKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The configured encryption keys. `Debug` shows only their ids.
pub struct SecretKeys {
    keys: Vec<NamedKey>,
}

impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| &k.id))
            .finish()
    }
}

const VAR: &str = "TENANT_SECRET_KEYS";
const FORMAT: &str = "v1";

impl SecretKeys {
    /// Parses `id:base64key[,id:base64key...]`.
    pub fn parse(spec: &str) -> Result<Self, ConfigError> {
        let bad = |problem: String| ConfigError { var: VAR, problem };
        let mut keys: Vec<NamedKey> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, b64) = entry
                .split_once(':')
                .ok_or_else(|| bad("each entry must be id:base64-key".into()))?;
            if id.is_empty()
                || id.len() > 32
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(bad(format!(
                    "key id {id:?} must be 1-32 letters, digits, '-' or '_'"
                )));
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(bad(format!("key id {id:?} appears twice")));
            }
            let raw = STANDARD
                .decode(b64.trim())
                .map_err(|_| bad(format!("key {id:?} is not valid base64")))?;
            let cipher = XChaCha20Poly1305::new_from_slice(&raw)
                .ok()
                .filter(|_| raw.len() == 32)
                .ok_or_else(|| bad(format!("key {id:?} must decode to exactly 32 bytes")))?;
            keys.push(NamedKey {
                id: id.to_string(),
                cipher,
            });
        }
        if keys.is_empty() {
            return Err(bad("no keys given".into()));
        }
        Ok(Self { keys })
    }

    /// A fresh random key spec (`id:base64`), for development and tests.
    pub fn generate_spec(id: &str) -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        format!("{id}:{}", STANDARD.encode(key))
    }

    /// Development only: the key kept in `path`, created (mode 0600) on first use.
    pub fn load_or_create_dev(path: &Path) -> Result<Self, ConfigError> {
        let bad = |problem: String| ConfigError { var: VAR, problem };
        let spec = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| bad(format!("cannot create {}: {e}", dir.display())))?;
                }
                let spec = Self::generate_spec("dev");
                write_private(path, &spec)
                    .map_err(|e| bad(format!("cannot write {}: {e}", path.display())))?;
                spec
            }
            Err(e) => return Err(bad(format!("cannot read {}: {e}", path.display()))),
        };
        Self::parse(&spec)
    }

    /// `v1:<key id>:<base64(nonce || ciphertext)>`, bound to `client_key`.
    pub fn encrypt(&self, client_key: &str, secret: &SharedSecret) -> Result<String, SecretError> {
        let key = self.keys.first().ok_or(SecretError::Malformed)?;
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ct = key
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: client_key.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Undecryptable)?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Ok(format!("{FORMAT}:{}:{}", key.id, STANDARD.encode(blob)))
    }

    pub fn decrypt(&self, client_key: &str, stored: &str) -> Result<SharedSecret, SecretError> {
        let mut parts = stored.splitn(3, ':');
        let (Some(FORMAT), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SecretError::Malformed);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| SecretError::UnknownKey(id.to_string()))?;
        let blob = STANDARD.decode(b64).map_err(|_| SecretError::Malformed)?;
        if blob.len() < 24 + 16 {
            return Err(SecretError::Malformed);
        }
        let (nonce, ct) = blob.split_at(24);
        let nonce = XNonce::try_from(nonce).map_err(|_| SecretError::Malformed)?;
        let plain = key
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ct,
                    aad: client_key.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Undecryptable)?;
        String::from_utf8(plain)
            .map(SharedSecret)
            .map_err(|_| SecretError::Malformed)
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_bound_to_tenant() {
        let keys = SecretKeys::parse(&SecretKeys::generate_spec("k1")).unwrap();
        let secret = SharedSecret::new("s3cr3t-value".into());
        let stored = keys.encrypt("tenant-a", &secret).unwrap();
        assert!(stored.starts_with("v1:k1:"));
        assert!(!stored.contains("s3cr3t"));
        assert_eq!(keys.decrypt("tenant-a", &stored).unwrap(), secret);
        // Moved to another tenant's row, it does not decrypt.
        assert_eq!(
            keys.decrypt("tenant-b", &stored),
            Err(SecretError::Undecryptable)
        );
    }

    #[test]
    fn rotation_first_encrypts_all_decrypt() {
        let old = SecretKeys::generate_spec("old");
        let new = SecretKeys::generate_spec("new");
        let before = SecretKeys::parse(&old).unwrap();
        let stored_old = before.encrypt("t", &SharedSecret::new("x".into())).unwrap();
        let after = SecretKeys::parse(&format!("{new},{old}")).unwrap();
        assert_eq!(
            after.decrypt("t", &stored_old).unwrap(),
            SharedSecret::new("x".into())
        );
        assert!(
            after
                .encrypt("t", &SharedSecret::new("x".into()))
                .unwrap()
                .starts_with("v1:new:")
        );
        let dropped = SecretKeys::parse(&new).unwrap();
        assert_eq!(
            dropped.decrypt("t", &stored_old),
            Err(SecretError::UnknownKey("old".into()))
        );
    }

    #[test]
    fn tampering_is_detected() {
        let keys = SecretKeys::parse(&SecretKeys::generate_spec("k")).unwrap();
        let stored = keys.encrypt("t", &SharedSecret::new("abc".into())).unwrap();
        let mut bytes = stored.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(keys.decrypt("t", &tampered).is_err());
        assert_eq!(keys.decrypt("t", "garbage"), Err(SecretError::Malformed));
    }

    #[test]
    fn bad_specs_name_the_variable_without_the_key() {
        for spec in [
            "",
            "nokey",
            "k:!!!",
            "k:AAAA",
            "a b:AAAA",
            &format!("k:{}", "A".repeat(44)),
        ] {
            let e = SecretKeys::parse(spec).unwrap_err();
            assert_eq!(e.var, VAR, "{spec}");
        }
        let dup = SecretKeys::generate_spec("k");
        assert!(SecretKeys::parse(&format!("{dup},{dup}")).is_err());
    }

    #[test]
    fn debug_hides_values() {
        assert_eq!(
            format!("{:?}", SharedSecret::new("x".into())),
            "SharedSecret(***)"
        );
        let keys = SecretKeys::parse(&SecretKeys::generate_spec("k1")).unwrap();
        assert_eq!(format!("{keys:?}"), r#"["k1"]"#);
    }
}
