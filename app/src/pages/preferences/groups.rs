//! The form's three field groups (`<fieldset>`s): appearance; notifications and navigation;
//! favourite labels. Each control shows one `Draft` field and its error.

use leptos::prelude::*;

use super::draft::Draft;
use super::fields::{SelectField, TextField, choices};
use super::labels::LabelEditor;
use super::messages::{FieldErrors, items_per_page_range};
use super::space_picker::SpacePicker;
use super::summary::SAMPLE_DATE;
use crate::preferences::{DateFormat, EmailDigest, FieldError, Locale, Theme, dates::format_date};

/// A theme's form value (also the page's `data-theme`).
pub(super) fn theme_value(t: Theme) -> &'static str {
    match t {
        Theme::System => "system",
        Theme::Light => "light",
        Theme::Dark => "dark",
    }
}

fn date_format_value(f: DateFormat) -> &'static str {
    match f {
        DateFormat::Iso => "iso",
        DateFormat::DayMonthYear => "day_month_year",
        DateFormat::MonthDayYear => "month_day_year",
        DateFormat::Long => "long",
    }
}

fn digest_text(d: EmailDigest) -> &'static str {
    match d {
        EmailDigest::Off => "Off",
        EmailDigest::Daily => "Daily",
        EmailDigest::Weekly => "Weekly",
    }
}

fn digest_value(d: EmailDigest) -> &'static str {
    match d {
        EmailDigest::Off => "off",
        EmailDigest::Daily => "daily",
        EmailDigest::Weekly => "weekly",
    }
}

/// Theme, language and date format.
#[component]
pub(super) fn Appearance(draft: Draft, can_edit: bool) -> impl IntoView {
    view! {
        <fieldset class="group" disabled=!can_edit>
            <legend>"Appearance"</legend>
            <div class="field" role="radiogroup" aria-labelledby="theme-label">
                <span id="theme-label" class="label">
                    "Theme"
                </span>
                <div class="choices">
                    {[(Theme::System, "Match my system"), (Theme::Light, "Light"), (Theme::Dark, "Dark")]
                        .into_iter()
                        .map(|(t, text)| {
                            let id = format!("theme-{}", theme_value(t));
                            let for_id = id.clone();
                            view! {
                                <label class="choice" for=for_id>
                                    <input
                                        type="radio"
                                        id=id
                                        name="theme"
                                        value=theme_value(t)
                                        checked=move || draft.theme.get() == t
                                        prop:checked=move || draft.theme.get() == t
                                        on:change=move |_| draft.theme.set(t)
                                    />
                                    {text}
                                </label>
                            }
                        })
                        .collect_view()}
                </div>
            </div>
            <SelectField
                id="locale"
                name="locale"
                label="Language for dates"
                choices=choices(draft.locale, &Locale::ALL, Locale::tag, |l| l.name().to_string())
            />
            <SelectField
                id="date-format"
                name="date_format"
                label="Date format"
                choices=choices(
                    draft.date_format,
                    &DateFormat::ALL,
                    date_format_value,
                    move |f| format_date(SAMPLE_DATE, f, draft.locale.get()),
                )
            />
        </fieldset>
    }
}

/// Email digest, default space and items per page.
#[component]
pub(super) fn Navigation(draft: Draft, errors: FieldErrors, can_edit: bool) -> impl IntoView {
    view! {
        <fieldset class="group" disabled=!can_edit>
            <legend>"Notifications and navigation"</legend>
            <SelectField
                id="email-digest"
                name="email_digest"
                label="Email digest"
                choices=choices(draft.email_digest, &EmailDigest::ALL, digest_value, |d| {
                    digest_text(d).to_string()
                })
            />
            <SpacePicker choice=draft.space error=errors.of("default_space_key") />
            <TextField
                id="items-per-page"
                name="items_per_page"
                label="Items per page"
                hint=format!(
                    "From {}. Used for lists such as your labels below.",
                    items_per_page_range(),
                )
                value=draft.items_per_page
                error=errors.of("items_per_page")
                numeric=true
            />
        </fieldset>
    }
}

/// The favourite labels and the error for the list as a whole.
#[component]
pub(super) fn FavouriteLabels(
    draft: Draft,
    errors: FieldErrors,
    server_errors: RwSignal<Vec<FieldError>>,
    can_edit: bool,
) -> impl IntoView {
    view! {
        <fieldset class="group" disabled=!can_edit>
            <legend>"Favourite labels"</legend>
            <LabelEditor labels=draft.labels items_per_page=draft.items_per_page server_errors />
            {move || {
                errors
                    .of("favourite_labels")
                    .get()
                    .map(|text| view! { <p class="field-error">{text}</p> })
            }}
        </fieldset>
    }
}
