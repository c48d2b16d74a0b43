//! The storage interface server functions use. The server crate implements it with sqlx; the app
//! crate never sees a database type. Every method is keyed by the verified tenant and user.

use super::Preferences;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPreferences {
    pub preferences: Preferences,
    pub revision: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved(StoredPreferences),
    /// The stored revision is not the one the edit started from; nothing was written.
    Conflict(Option<StoredPreferences>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database did not answer in time or refused connections.
    #[error("store unavailable")]
    Unavailable,
    /// A write reached the store but its result is not known yet (it may still commit). The
    /// store settles its own caches once the result is known.
    #[error("write outcome unknown")]
    OutcomeUnknown,
    /// Anything else; the details are logged where they happen, never sent to a client.
    #[error("store failure")]
    Failed,
}

#[async_trait::async_trait]
pub trait PreferencesStore: Send + Sync + 'static {
    async fn load(
        &self,
        site_id: &str,
        account_id: &str,
    ) -> Result<Option<StoredPreferences>, StoreError>;

    /// Compare-and-swap: stores `preferences` as revision `base_revision + 1` only if the stored
    /// revision is still `base_revision` (0 = no row yet).
    async fn save(
        &self,
        site_id: &str,
        account_id: &str,
        base_revision: i64,
        preferences: &Preferences,
    ) -> Result<SaveOutcome, StoreError>;
}

/// What server functions find in context: provided by the server for both page renders and
/// server-function calls.
#[derive(Clone)]
pub struct PreferencesService(pub std::sync::Arc<dyn PreferencesStore>);
