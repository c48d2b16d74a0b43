//! Saving: the form's state beyond its values (revision, status, the server's field errors,
//! saves in flight) and what a save and its answer do to it. Only the latest save's answer counts.

use leptos::prelude::*;

use super::draft::Draft;
use super::status::Status;
use crate::AppError;
use crate::preferences::{FieldError, Preferences, PreferencesView, save_preferences};

/// Everything a save reads or changes. Signals only, so it is `Copy` into every handler.
#[derive(Clone, Copy)]
pub(super) struct FormState {
    pub(super) draft: Draft,
    /// The stored revision this edit started from.
    pub(super) revision: RwSignal<i64>,
    pub(super) updated_at: RwSignal<Option<i64>>,
    pub(super) status: RwSignal<Status>,
    /// What the server refused in the last save.
    pub(super) server_errors: RwSignal<Vec<FieldError>>,
    /// Saves in flight, and the number of the latest one: as with an `Action`, only the answer
    /// to the latest save is applied. (A plain task instead of an `Action`: the form needs none
    /// of an `Action`'s other machinery, which weighs on the wasm; see docs/BENCHMARKS.md, "What
    /// the weight guard protects".)
    in_flight: RwSignal<u32>,
    latest: StoredValue<u32>,
}

impl FormState {
    pub(super) fn new(initial: &PreferencesView) -> Self {
        Self {
            draft: Draft::new(&initial.preferences),
            revision: RwSignal::new(initial.revision),
            updated_at: RwSignal::new(initial.updated_at),
            status: RwSignal::new(Status::Idle),
            server_errors: RwSignal::new(Vec::new()),
            in_flight: RwSignal::new(0),
            latest: StoredValue::new(0),
        }
    }

    /// Whether a save is on its way.
    pub(super) fn saving(self) -> bool {
        self.in_flight.get() > 0
    }

    /// Sends the draft as an edit of revision `base`, or says why it cannot be sent.
    pub(super) fn submit(self, base: i64) {
        let prefs = match self.draft.parse() {
            Ok(prefs) => prefs,
            Err(_) => return self.status.set(Status::Invalid),
        };
        self.status.set(Status::Saving);
        let n = self.latest.get_value().wrapping_add(1);
        self.latest.set_value(n);
        self.in_flight.update(|c| *c += 1);
        leptos::task::spawn_local(async move {
            let sent = prefs.clone();
            let result = save_preferences(base, prefs).await;
            if self.latest.get_value() == n {
                match result {
                    Err(AppError::OutcomeUnknown { .. }) => self.recheck(sent).await,
                    result => self.apply(result),
                }
            }
            self.in_flight.update(|c| *c -= 1);
        });
    }

    /// What an answer to a save does to the form.
    fn apply(self, result: Result<PreferencesView, AppError>) {
        self.server_errors.set(Vec::new());
        let status = match result {
            Ok(view) => {
                self.revision.set(view.revision);
                self.updated_at.set(view.updated_at);
                self.draft.load(&view.preferences);
                Status::Saved
            }
            Err(AppError::VersionConflict { current, .. }) => Status::Conflict(current),
            Err(AppError::ValidationFailed { fields, .. }) => {
                self.server_errors.set(fields);
                Status::Invalid
            }
            Err(e) if e.is_auth_failure() => Status::Expired,
            Err(AppError::Forbidden { .. }) => Status::Forbidden,
            Err(AppError::StoreUnavailable { .. } | AppError::Transport { .. }) => {
                Status::Unavailable
            }
            Err(AppError::OutcomeUnknown { .. }) => Status::UnconfirmedStale,
            Err(_) => Status::Failed,
        };
        self.status.set(status);
    }

    /// Shows the stored copy `current` (someone else's save) and says `outcome`.
    pub(super) fn reload_theirs(self, current: &PreferencesView, outcome: Status) {
        self.draft.load(&current.preferences);
        self.revision.set(current.revision);
        self.updated_at.set(current.updated_at);
        self.server_errors.set(Vec::new());
        self.status.set(outcome);
    }

    /// A save whose outcome is unknown may or may not have been written (and may still be): the
    /// stored copy decides. If it holds what was sent, the save landed; otherwise the form shows
    /// it, and its revision makes a save that lands late turn the next edit into a conflict.
    async fn recheck(self, sent: Preferences) {
        match crate::preferences::get_preferences().await {
            // (The space's name is the server's to set: only what the user chose counts.)
            Ok(current)
                if Preferences {
                    default_space_name: None,
                    ..current.preferences.clone()
                } == sent =>
            {
                self.apply(Ok(current))
            }
            Ok(current) => self.reload_theirs(&current, Status::Unconfirmed),
            Err(_) => self.status.set(Status::UnconfirmedStale),
        }
    }
}
