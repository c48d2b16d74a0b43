//! The simulator playing Forge for the app's Forge Remote side (docs/AUTH-RULES.md §F): its own
//! FIT signing keys and JWKS (`keys`), Forge invocation tokens (`fit`), Forge installs with the
//! install/uninstall triggers delivered to the app (`install`), their routes (`api`), and the Custom UI
//! host with its bridge (`ui`).
//! Separate from the Connect install key and secrets; never logs a token.

pub mod api;
pub mod fit;
pub mod install;
pub mod keys;
pub mod ui;

use crate::config::ForgeConfig;
use crate::keys::KeyError;
use crate::state::Simulator;
use keys::ForgeKeys;

/// Forge, when `SIM_FORGE` is on: who the app is and the keys that sign its FITs.
#[derive(Debug)]
pub struct Forge {
    /// App id and development environment.
    pub config: ForgeConfig,
    /// The FIT signing keys.
    pub keys: ForgeKeys,
}

impl Forge {
    /// Generates the first FIT signing key (takes a moment).
    pub fn new(config: ForgeConfig) -> Result<Self, KeyError> {
        Ok(Self {
            config,
            keys: ForgeKeys::generate()?,
        })
    }
}

/// Why a Forge action could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// `SIM_FORGE` is off.
    #[error("Forge is off in this simulator (SIM_FORGE=false)")]
    Disabled,
    /// The site has no Forge installation of the app.
    #[error("the app is not Forge-installed on site {0}")]
    NotInstalled(&'static str),
    /// A FIT could not be signed.
    #[error("cannot sign the Forge invocation token: {0}")]
    Mint(#[from] connect::MintError),
    /// No randomness for an id.
    #[error("random source unavailable: {0}")]
    Random(getrandom::Error),
    /// A new signing key could not be made.
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl Simulator {
    /// Forge, or [`ForgeError::Disabled`].
    pub fn forge(&self) -> Result<&Forge, ForgeError> {
        self.forge.as_ref().ok_or(ForgeError::Disabled)
    }
}
