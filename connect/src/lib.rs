//! Atlassian Connect protocol primitives: canonical request and `qsh`, strict JWT parsing,
//! claim-time checks, signature verification, token minting and `kid` validation; and
//! [`forge`]: Forge invocation token verification.
//! Pure functions only: no I/O, no web framework, no async, no logging.

pub mod claims;
pub mod error;
pub mod forge;
pub mod kid;
pub mod mint;
pub mod outbound;
pub mod qsh;
pub mod token;
pub mod verify;

pub use claims::{Claims, DEFAULT_LEEWAY_SECS, MAX_LEEWAY_SECS};
pub use error::{MintError, VerifyError};
pub use kid::{Kid, install_key_url};
pub use mint::SESSION_KIND;
pub use qsh::{CONTEXT_QSH, canonical_request, query_string_hash, query_values};
pub use token::{Header, MAX_TOKEN_BYTES, UnverifiedToken};
pub use verify::{InstallPublicKey, verify_hs256, verify_rs256};

/// RSA test keys, generated once per test binary (key generation is slow).
#[cfg(test)]
pub(crate) mod test_keys {
    use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    use std::sync::OnceLock;

    pub const PRIMARY: usize = 0;
    pub const OTHER: usize = 1;

    pub struct Pair {
        private: rsa::PrivateKey,
        private_pkcs8: String,
        public_spki: String,
    }

    static PAIRS: [OnceLock<Pair>; 2] = [const { OnceLock::new() }; 2];
    static WEAK: OnceLock<String> = OnceLock::new();

    fn generate(bits: usize) -> rsa::PrivateKey {
        rsa::PrivateKey::new(&mut getrandom::SysRng, bits).unwrap()
    }

    fn pair(which: usize) -> &'static Pair {
        PAIRS[which].get_or_init(|| {
            let private = generate(2048);
            let private_pkcs8 = private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
            let public_spki = private
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap();
            Pair {
                private,
                private_pkcs8,
                public_spki,
            }
        })
    }

    pub fn private_key(which: usize) -> &'static rsa::PrivateKey {
        &pair(which).private
    }

    pub fn private_pkcs8(which: usize) -> &'static str {
        &pair(which).private_pkcs8
    }

    pub fn private_pkcs1(which: usize) -> String {
        pair(which)
            .private
            .to_pkcs1_pem(LineEnding::LF)
            .unwrap()
            .to_string()
    }

    pub fn public_pem(which: usize) -> &'static str {
        &pair(which).public_spki
    }

    /// The same public key in the PKCS#1 `RSA PUBLIC KEY` form (not accepted for install keys).
    pub fn public_pkcs1_pem(which: usize) -> String {
        pair(which)
            .private
            .to_public_key()
            .to_pkcs1_pem(LineEnding::LF)
            .unwrap()
    }

    /// A 1024-bit SubjectPublicKeyInfo PEM.
    pub fn weak_public_pem() -> &'static str {
        WEAK.get_or_init(|| {
            generate(1024)
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap()
        })
    }
}
