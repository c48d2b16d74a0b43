//! The preferences page. The server renders it with the user's values already in place (readable
//! without JavaScript); after hydration the form validates as the user types, saves through
//! `save_preferences`, and explains every outcome in an `aria-live` region.

mod codec;
mod draft;
mod fields;
mod form;
mod groups;
mod labels;
mod messages;
mod save;
mod space_picker;
mod status;
mod summary;

use leptos::either::Either;
use leptos::prelude::*;

use crate::preferences::get_preferences;

/// The page: the user's preferences, loaded once, in the form, or why they could not be loaded.
#[component]
pub fn App() -> impl IntoView {
    // Loaded once per page view and never refetched: a `OnceResource`, which (unlike `Resource`)
    // needs no reactive source tracking.
    let loaded: OnceResource<_, codec::JsonCodec> =
        OnceResource::new_with_options(get_preferences(), false);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading your preferences…"</p> }>
            // A bare `Suspend` rather than `move || Suspend::new(..)`: the resource loads once,
            // so there is nothing for a wrapping closure to re-run on.
            {Suspend::new(async move {
                // `Either`, not `into_any()`: an `AnyView` also compiles an async-hydration path
                // for the whole form into the wasm, which this page never takes.
                match loaded.await {
                    Ok(initial) => Either::Left(view! { <form::PreferencesForm initial /> }),
                    Err(error) => Either::Right(view! { <status::LoadFailed error /> }),
                }
            })}
        </Suspense>
    }
}
