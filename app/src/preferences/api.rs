//! The preferences server functions: `GET /api/preferences` reads, `POST /api/preferences`
//! saves with a compare-and-swap on the revision. Declared with `#[api]`, so the browser always
//! sends the JWT; the server reaches them only through its verifying handler.

use leptos::server_fn::codec::{Json, Post};
use macros::api;

use super::{Preferences, PreferencesView};
use crate::AppError;
use crate::client::codec::{JsJson, Query, ToQuery};

/// The signed-in user's preferences (defaults if never saved).
#[api(endpoint = "preferences", input = Query, output = Post<JsJson>)]
pub async fn get_preferences() -> Result<PreferencesView, AppError> {
    let caller = crate::auth::require_caller()?;
    let page_data = leptos::prelude::use_context::<PageData>();
    if let Some(read) = page_data.and_then(|data| data.read_for(&caller)) {
        return read;
    }
    ssr::load(&ssr::store()?, &caller).await
}

crate::query_args!(GetPreferences);

impl ToQuery for GetPreferences {
    fn to_query(&self) -> String {
        String::new()
    }
}

/// During a page render: what the page handler already read for its viewer (`load`). The page
/// shows exactly that copy (the server's page cache is keyed on it) instead of reading again.
/// It carries the caller it was read for and is handed to no one else, whatever context it is
/// found in.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct PageData {
    caller: crate::auth::AuthCtx,
    read: Result<PreferencesView, AppError>,
}

#[cfg(feature = "ssr")]
impl PageData {
    /// `read`, made by `load` for `caller`.
    pub fn new(caller: crate::auth::AuthCtx, read: Result<PreferencesView, AppError>) -> Self {
        Self { caller, read }
    }

    /// The read, if it was made for exactly this caller (tenant, user, site and locale).
    pub fn read_for(
        self,
        caller: &crate::auth::AuthCtx,
    ) -> Option<Result<PreferencesView, AppError>> {
        (self.caller == *caller).then_some(self.read)
    }
}

#[cfg(feature = "ssr")]
pub use ssr::load;

/// Saves `preferences` if the stored revision is still `base_revision`; otherwise answers
/// `version_conflict` with the stored copy and writes nothing.
#[api(endpoint = "preferences", input = Json, output = Post<JsJson>)]
pub async fn save_preferences(
    base_revision: i64,
    preferences: Preferences,
) -> Result<PreferencesView, AppError> {
    let caller = crate::auth::require_caller()?;
    ssr::save(&caller, base_revision, preferences).await
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::super::store::{PreferencesService, SaveOutcome, StoreError, StoredPreferences};
    use super::super::{FieldError, FieldErrorCode};
    use super::*;
    use crate::auth::AuthCtx;
    use leptos::prelude::use_context;

    pub(super) fn store() -> Result<PreferencesService, AppError> {
        use_context::<PreferencesService>().ok_or_else(AppError::internal)
    }

    fn store_error(e: StoreError) -> AppError {
        match e {
            StoreError::Unavailable => AppError::store_unavailable(),
            StoreError::OutcomeUnknown => AppError::outcome_unknown(),
            StoreError::Failed => AppError::internal(),
        }
    }

    fn view(caller: &AuthCtx, stored: Option<StoredPreferences>) -> PreferencesView {
        match stored {
            Some(s) => PreferencesView {
                preferences: s.preferences,
                revision: s.revision,
                updated_at: Some(s.updated_at),
                can_edit: caller.account_id.is_some(),
                site_url: caller.site_url.clone(),
            },
            None => PreferencesView {
                preferences: Preferences {
                    locale: caller.host_locale.unwrap_or_default(),
                    ..Preferences::default()
                },
                revision: 0,
                updated_at: None,
                can_edit: caller.account_id.is_some(),
                site_url: caller.site_url.clone(),
            },
        }
    }

    /// What `get_preferences` answers `caller`.
    pub async fn load(
        store: &PreferencesService,
        caller: &AuthCtx,
    ) -> Result<PreferencesView, AppError> {
        let Some(account_id) = &caller.account_id else {
            return Ok(view(caller, None));
        };
        let stored = store
            .0
            .load(&caller.site_id, account_id)
            .await
            .map_err(store_error)?;
        Ok(view(caller, stored))
    }

    /// The space key checked with Confluence, as the user: a key that is still the stored one
    /// keeps its stored name; a new key must exist and be visible to the user (422
    /// `not_found` otherwise) and takes Confluence's name for it. When Confluence cannot be
    /// asked (down, rate-limiting, or not reachable for this install) the key is kept
    /// unchecked, without a name, so the rest of the save is not lost.
    async fn with_checked_space(
        caller: &AuthCtx,
        account_id: &str,
        mut preferences: Preferences,
    ) -> Result<Preferences, AppError> {
        preferences.default_space_name = None;
        let Some(key) = preferences.default_space_key.clone() else {
            return Ok(preferences);
        };
        let stored = store()?
            .0
            .load(&caller.site_id, account_id)
            .await
            .map_err(store_error)?
            .map(|s| s.preferences)
            .filter(|p| p.default_space_key.as_deref() == Some(key.as_str()));
        if let Some(stored) = stored {
            preferences.default_space_name = stored.default_space_name;
            return Ok(preferences);
        }
        match crate::spaces::ssr::directory()?.0.find(&key).await {
            Ok(Some(space)) => preferences.default_space_name = Some(space.name),
            Ok(None) => {
                return Err(AppError::validation(vec![FieldError::new(
                    "default_space_key",
                    FieldErrorCode::NotFound,
                )]));
            }
            // Logged where it happened; the key is kept as typed.
            Err(_) => {}
        }
        Ok(preferences)
    }

    pub async fn save(
        caller: &AuthCtx,
        base_revision: i64,
        preferences: Preferences,
    ) -> Result<PreferencesView, AppError> {
        let Some(account_id) = &caller.account_id else {
            return Err(AppError::forbidden(
                "Anonymous visitors cannot save preferences. Log in to Confluence first.",
            ));
        };
        let preferences = preferences.normalised();
        preferences.validate().map_err(AppError::validation)?;
        if base_revision < 0 {
            return Err(AppError::BadRequest {
                message: "base_revision must not be negative.".into(),
            });
        }
        let preferences = with_checked_space(caller, account_id, preferences).await?;
        match store()?
            .0
            .save(&caller.site_id, account_id, base_revision, &preferences)
            .await
            .map_err(store_error)?
        {
            SaveOutcome::Saved(stored) => Ok(view(caller, Some(stored))),
            SaveOutcome::Conflict(current) => Err(AppError::conflict(view(caller, current))),
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::auth::AuthCtx;

    fn caller(site_id: &str, account_id: &str) -> AuthCtx {
        AuthCtx {
            site_id: site_id.into(),
            account_id: Some(account_id.into()),
            site_url: format!("https://{site_id}.atlassian.net/wiki"),
            host_locale: None,
        }
    }

    #[test]
    fn page_data_is_handed_only_to_the_caller_it_was_read_for() {
        let data = PageData::new(caller("a", "u"), Err(AppError::store_unavailable()));
        assert!(data.clone().read_for(&caller("a", "u")).is_some());
        assert!(
            data.clone().read_for(&caller("b", "u")).is_none(),
            "another site"
        );
        assert!(
            data.clone().read_for(&caller("a", "v")).is_none(),
            "another user"
        );
        let mut anonymous = caller("a", "u");
        anonymous.account_id = None;
        assert!(data.read_for(&anonymous).is_none(), "an anonymous viewer");
    }
}
