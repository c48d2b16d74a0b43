//! "At a glance": what the chosen settings mean, in the chosen date format and language.

use leptos::either::Either;
use leptos::prelude::*;

use super::draft::Draft;
use crate::preferences::{EmailDigest, dates::format_date, validate_space_key};

/// Shown in the date preview before the first save (2026-11-28T11:20:00Z): a fixed value, so the
/// server-rendered and hydrated text match.
pub(super) const SAMPLE_DATE: i64 = 1_795_864_800;

/// What the chosen settings mean, in the chosen date format and language.
#[component]
pub(super) fn Summary(
    draft: Draft,
    updated_at: RwSignal<Option<i64>>,
    site_url: String,
) -> impl IntoView {
    let last_saved = move || match updated_at.get() {
        Some(t) => format!(
            "Last saved {}.",
            format_date(t, draft.date_format.get(), draft.locale.get())
        ),
        None => format!(
            "Not saved yet. Dates will look like this: {}.",
            format_date(SAMPLE_DATE, draft.date_format.get(), draft.locale.get())
        ),
    };
    let digest = move || match draft.email_digest.get() {
        EmailDigest::Off => "You won't get email digests.",
        EmailDigest::Daily => "You'll get a digest every morning.",
        EmailDigest::Weekly => "You'll get a digest every Monday.",
    };
    let space = move || {
        let key = draft.space.key.get().trim().to_ascii_uppercase();
        (!key.is_empty() && validate_space_key(&key).is_ok()).then(|| {
            // The name the server confirmed when this key was saved, if it is the saved key.
            let name = (draft.space.saved.get())
                .filter(|(saved, _)| *saved == key)
                .and_then(|(_, name)| name);
            let text = match name {
                Some(name) => format!("{name} ({key})"),
                None => key.clone(),
            };
            // A Forge-only install does not tell the site's address: the name, without a link.
            let link = if site_url.is_empty() {
                Either::Left(view! { <strong>{text}</strong> })
            } else {
                let href = format!("{}/spaces/{}", site_url.trim_end_matches('/'), key);
                Either::Right(view! {
                    <a href=href target="_blank" rel="noopener noreferrer">
                        {text}
                    </a>
                })
            };
            view! { <li id="summary-space">"Opens in space " {link} "."</li> }
        })
    };
    view! {
        <section class="summary" aria-labelledby="summary-title">
            <h2 id="summary-title">"At a glance"</h2>
            <ul>
                <li id="last-saved">{last_saved}</li>
                <li>{digest}</li>
                {space}
            </ul>
        </section>
    }
}
