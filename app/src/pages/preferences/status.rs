//! What the page says about its state: the banner when the preferences could not be loaded, and
//! the status line announcing each save's outcome (a conflict's banner offers two ways on).

use leptos::either::EitherOf3;
use leptos::prelude::*;

use super::save::FormState;
use crate::AppError;
use crate::preferences::{PreferencesView, dates::format_date};

/// Shown instead of the form when the preferences could not be loaded.
#[component]
pub(super) fn LoadFailed(error: AppError) -> impl IntoView {
    let text = match &error {
        e if e.is_auth_failure() => {
            "Your session has ended: it expired, or the app was removed from this site. Reopen this page from Confluence to continue."
        }
        AppError::StoreUnavailable { .. } | AppError::Transport { .. } => {
            "The server is not answering right now. Try again in a moment."
        }
        // Only a token without a user is refused a read (Forge: no `principal`).
        AppError::Forbidden { .. } => {
            "Anonymous visitors have no preferences here. Log in to Confluence to see yours."
        }
        AppError::NoHost { .. } => {
            "This page only works inside Confluence. Open it from Confluence to see your preferences."
        }
        _ => "Your preferences could not be loaded.",
    };
    view! {
        <main class="app" data-theme="system">
            <p class="banner banner-error" role="alert">
                {text}
            </p>
        </main>
    }
}

/// What the status line says; drives the `aria-live` announcement.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Status {
    Idle,
    Saving,
    Saved,
    Invalid,
    Conflict(Box<PreferencesView>),
    Expired,
    Unavailable,
    Forbidden,
    Failed,
    Reloaded,
    /// A save's outcome is unknown; the form shows the copy stored a moment later.
    Unconfirmed,
    /// A save's outcome is unknown and the stored copy could not be read either.
    UnconfirmedStale,
}

/// The class and text of a one-line status banner. (`Idle` shows nothing and a conflict has its
/// own banner with buttons.)
fn banner(status: &Status) -> (&'static str, &'static str) {
    match status {
        Status::Saving => ("banner", "Saving…"),
        Status::Saved => ("banner banner-success", "Saved."),
        Status::Reloaded => ("banner", "Loaded the version saved elsewhere."),
        Status::Invalid => (
            "banner banner-error",
            "Some values need fixing before they can be saved.",
        ),
        Status::Expired => (
            "banner banner-error",
            "Your session has ended, so nothing was saved: it expired, or the app was removed from this site. Reopen this page from Confluence to continue.",
        ),
        Status::Forbidden => (
            "banner banner-error",
            "Anonymous visitors can't save preferences.",
        ),
        Status::Unavailable => (
            "banner banner-error",
            "The server is not answering, so nothing was saved. Try again in a moment.",
        ),
        Status::Failed => ("banner banner-error", "Saving failed. Try again."),
        Status::Unconfirmed => (
            "banner banner-warning",
            "The server could not confirm whether your change was saved. The form now shows the stored copy: check it before editing again.",
        ),
        Status::UnconfirmedStale => (
            "banner banner-error",
            "The server could not confirm whether your change was saved. Reload the page before editing again.",
        ),
        Status::Idle | Status::Conflict(_) => ("banner", ""),
    }
}

/// The `aria-live` status line under the form.
#[component]
pub(super) fn StatusLine(form: FormState) -> impl IntoView {
    view! {
        <div class="status" role="status" aria-live="polite">
            // One plain banner view for every one-line outcome, the conflict banner, or
            // nothing: three branches rather than ten type-erased views, each of which
            // compiled its own build, rebuild and hydration code into the wasm.
            {move || match form.status.get() {
                // `().into_any()` as before: the server writes its placeholder comment
                // (`<!--<() />-->`) into the page, and the page must not change.
                Status::Idle => EitherOf3::A(().into_any()),
                Status::Conflict(current) => EitherOf3::C(view! { <ConflictBanner form current /> }),
                other => {
                    let (class, text) = banner(&other);
                    EitherOf3::B(view! { <p class=class>{text}</p> })
                }
            }}
        </div>
    }
}

/// Someone saved since this edit began: load their copy, or overwrite it with this one.
#[component]
fn ConflictBanner(form: FormState, current: Box<PreferencesView>) -> impl IntoView {
    let draft = form.draft;
    let theirs = (*current).clone();
    let when = current
        .updated_at
        .map(|t| {
            format_date(
                t,
                draft.date_format.get_untracked(),
                draft.locale.get_untracked(),
            )
        })
        .unwrap_or_default();
    view! {
        <div class="banner banner-warning conflict">
            <p>
                "These preferences were saved from another tab or device (" {when}
                ") after you opened this page."
            </p>
            <div class="actions">
                <button
                    type="button"
                    class="button"
                    on:click=move |_| form.reload_theirs(&theirs, Status::Reloaded)
                >
                    "Load the saved version"
                </button>
                <button
                    type="button"
                    class="button primary"
                    on:click=move |_| form.submit(current.revision)
                >
                    "Keep mine and overwrite"
                </button>
            </div>
        </div>
    }
}
