//! The preferences page. The server renders it with the user's values already in place (readable
//! without JavaScript); after hydration the form validates as the user types, saves through
//! `save_preferences`, and explains every outcome in an `aria-live` region.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::server::codee;

use crate::AppError;
use crate::client::resize_iframe;
use crate::pages::space_picker::{SpaceChoice, SpacePicker};
use crate::preferences::{
    DateFormat, EmailDigest, FieldError, ITEMS_PER_PAGE_RANGE, Locale, Preferences,
    PreferencesView, Theme, dates::format_date, get_preferences, save_preferences, validate_label,
};

/// Shown in the date preview before the first save (2026-11-28T11:20:00Z): a fixed value, so the
/// server-rendered and hydrated text match.
const SAMPLE_DATE: i64 = 1_795_864_800;

/// The resource codec: the same JSON as Leptos' default `JsonSerdeCodec`, read in the browser
/// with `JSON.parse` like the server-function answers (`client::codec`), so that no serde_json
/// reader is compiled into the wasm.
struct JsonCodec;

impl<T: serde::Serialize> codee::Encoder<T> for JsonCodec {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

#[cfg(target_arch = "wasm32")]
impl<T: crate::client::codec::FromJs> codee::Decoder<T> for JsonCodec {
    type Error = &'static str;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, &'static str> {
        crate::client::codec::from_json(val)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl<T: serde::de::DeserializeOwned> codee::Decoder<T> for JsonCodec {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(val.as_bytes())
    }
}

#[component]
pub fn App() -> impl IntoView {
    // Loaded once per page view and never refetched: a `OnceResource`, which (unlike `Resource`)
    // needs no reactive source tracking.
    let loaded: OnceResource<_, JsonCodec> =
        OnceResource::new_with_options(get_preferences(), false);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading your preferences…"</p> }>
            // A bare `Suspend` rather than `move || Suspend::new(..)`: the resource loads once,
            // so there is nothing for a wrapping closure to re-run on.
            {Suspend::new(async move {
                // `Either`, not `into_any()`: an `AnyView` also compiles an async-hydration path
                // for the whole form into the wasm, which this page never takes.
                match loaded.await {
                    Ok(initial) => Either::Left(view! { <PreferencesForm initial /> }),
                    Err(error) => Either::Right(view! { <LoadFailed error /> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LoadFailed(error: AppError) -> impl IntoView {
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
enum Status {
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

fn field_error_text(code: &str) -> &'static str {
    match code {
        "required" => "This can't be empty.",
        "too_long" => "This is too long.",
        "too_many" => "That's more than 50 labels.",
        "duplicate" => "This label is already in the list.",
        "invalid_characters" => {
            "Labels can't contain spaces or characters such as : ; , . ? & # @ !"
        }
        "invalid_format" => {
            "Use letters and digits only (or ~ and an account id for a personal space)."
        }
        "out_of_range" => "Choose a number from 5 to 100.",
        "not_found" => "You can't see a space with this key in Confluence.",
        "not_a_number" => "Enter a whole number.",
        _ => "This value is not valid.",
    }
}

fn theme_value(t: Theme) -> &'static str {
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

/// The saved space key and the name the server confirmed for it.
fn saved_space(p: &Preferences) -> Option<(String, Option<String>)> {
    (p.default_space_key.clone()).map(|key| (key, p.default_space_name.clone()))
}

/// The form's state: one signal per field, so every control updates only what it shows.
#[derive(Clone, Copy)]
struct Draft {
    theme: RwSignal<Theme>,
    locale: RwSignal<Locale>,
    date_format: RwSignal<DateFormat>,
    email_digest: RwSignal<EmailDigest>,
    space: SpaceChoice,
    labels: RwSignal<Vec<String>>,
    items_per_page: RwSignal<String>,
}

impl Draft {
    fn new(p: &Preferences) -> Self {
        Self {
            theme: RwSignal::new(p.theme),
            locale: RwSignal::new(p.locale),
            date_format: RwSignal::new(p.date_format),
            email_digest: RwSignal::new(p.email_digest),
            space: SpaceChoice {
                key: RwSignal::new(p.default_space_key.clone().unwrap_or_default()),
                saved: RwSignal::new(saved_space(p)),
            },
            labels: RwSignal::new(p.favourite_labels.clone()),
            items_per_page: RwSignal::new(p.items_per_page.to_string()),
        }
    }

    fn load(&self, p: &Preferences) {
        self.theme.set(p.theme);
        self.locale.set(p.locale);
        self.date_format.set(p.date_format);
        self.email_digest.set(p.email_digest);
        self.space
            .key
            .set(p.default_space_key.clone().unwrap_or_default());
        self.space.saved.set(saved_space(p));
        self.labels.set(p.favourite_labels.clone());
        self.items_per_page.set(p.items_per_page.to_string());
    }

    /// The values as they would be sent, or the field errors that stop them being sent.
    fn parse(&self) -> Result<Preferences, Vec<FieldError>> {
        let items = self.items_per_page.get().trim().parse::<u16>();
        let prefs = Preferences {
            theme: self.theme.get(),
            locale: self.locale.get(),
            date_format: self.date_format.get(),
            email_digest: self.email_digest.get(),
            default_space_key: Some(self.space.key.get()),
            default_space_name: None,
            favourite_labels: self.labels.get(),
            items_per_page: *items.as_ref().unwrap_or(&0),
        }
        .normalised();
        let mut errors = prefs.validate().err().unwrap_or_default();
        if items.is_err() {
            errors.retain(|e| e.field != "items_per_page");
            errors.push(FieldError {
                field: "items_per_page".into(),
                code: "not_a_number".into(),
            });
        }
        if errors.is_empty() {
            Ok(prefs)
        } else {
            Err(errors)
        }
    }
}

#[component]
fn PreferencesForm(initial: PreferencesView) -> impl IntoView {
    let draft = Draft::new(&initial.preferences);
    let revision = RwSignal::new(initial.revision);
    let updated_at = RwSignal::new(initial.updated_at);
    let can_edit = initial.can_edit;
    let site_url = initial.site_url.clone();
    let status = RwSignal::new(Status::Idle);
    let server_errors = RwSignal::new(Vec::<FieldError>::new());
    let hydrated = RwSignal::new(false);
    // Once, in the browser after hydration: the controls become usable; and outside Confluence,
    // where nobody can renew the page's token, say so when it runs out rather than letting the
    // next save fail. (One effect for both: each `Effect` is its own compiled code.)
    Effect::new(move |_| {
        hydrated.set(true);
        let Some(exp) = crate::client::token::current_expiry() else {
            return;
        };
        let left = std::time::Duration::try_from_secs_f64(exp - js_sys::Date::now() / 1000.0)
            .unwrap_or_default();
        set_timeout(
            move || {
                if !crate::client::host_available() {
                    status.set(Status::Expired);
                }
            },
            left + std::time::Duration::from_secs(1),
        );
    });

    let parsed = Memo::new(move |_| draft.parse());
    let field_error = move |field: &'static str| {
        Signal::derive(move || {
            let local = parsed.with(|p| p.as_ref().err().cloned().unwrap_or_default());
            local
                .iter()
                .chain(server_errors.get().iter())
                .find(|e| e.field == field)
                .map(|e| field_error_text(&e.code))
        })
    };

    // What an answer to a save does to the form.
    let apply = move |result: Result<PreferencesView, AppError>| {
        server_errors.set(Vec::new());
        match result {
            Ok(view) => {
                revision.set(view.revision);
                updated_at.set(view.updated_at);
                draft.load(&view.preferences);
                status.set(Status::Saved);
            }
            Err(AppError::VersionConflict { current, .. }) => status.set(Status::Conflict(current)),
            Err(AppError::ValidationFailed { fields, .. }) => {
                server_errors.set(fields);
                status.set(Status::Invalid);
            }
            Err(e) if e.is_auth_failure() => status.set(Status::Expired),
            Err(AppError::Forbidden { .. }) => status.set(Status::Forbidden),
            Err(AppError::StoreUnavailable { .. } | AppError::Transport { .. }) => {
                status.set(Status::Unavailable)
            }
            Err(AppError::OutcomeUnknown { .. }) => status.set(Status::UnconfirmedStale),
            Err(_) => status.set(Status::Failed),
        }
    };
    let reload_theirs = move |current: &PreferencesView, outcome: Status| {
        draft.load(&current.preferences);
        revision.set(current.revision);
        updated_at.set(current.updated_at);
        server_errors.set(Vec::new());
        status.set(outcome);
    };
    // A save whose outcome is unknown may or may not have been written (and may still be): the
    // stored copy decides. If it holds what was sent, the save landed; otherwise the form shows
    // it, and its revision makes a save that lands late turn the next edit into a conflict.
    let recheck = move |sent: Preferences| async move {
        match get_preferences().await {
            // (The space's name is the server's to set: only what the user chose counts.)
            Ok(current)
                if Preferences {
                    default_space_name: None,
                    ..current.preferences.clone()
                } == sent =>
            {
                apply(Ok(current))
            }
            Ok(current) => reload_theirs(&current, Status::Unconfirmed),
            Err(_) => status.set(Status::UnconfirmedStale),
        }
    };
    // Saves in flight, and the number of the latest one: as with an `Action`, only the answer to
    // the latest save is applied. (A plain task instead of an `Action`: the form needs none of an
    // `Action`'s other machinery, which cost about 1 KB of the wasm.)
    let in_flight = RwSignal::new(0u32);
    let latest = StoredValue::new(0u32);
    Effect::new(move |_| {
        status.track();
        draft.labels.track();
        resize_iframe();
    });

    let submit = move |base: i64| match draft.parse() {
        Ok(prefs) => {
            status.set(Status::Saving);
            let n = latest.get_value().wrapping_add(1);
            latest.set_value(n);
            in_flight.update(|c| *c += 1);
            leptos::task::spawn_local(async move {
                let sent = prefs.clone();
                let result = save_preferences(base, prefs).await;
                if latest.get_value() == n {
                    match result {
                        Err(AppError::OutcomeUnknown { .. }) => recheck(sent).await,
                        result => apply(result),
                    }
                }
                in_flight.update(|c| *c -= 1);
            });
        }
        Err(_) => status.set(Status::Invalid),
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit(revision.get_untracked());
    };
    let theme_attr = move || theme_value(draft.theme.get());
    let saving = move || in_flight.get() > 0;
    let editable = move || can_edit && hydrated.get();

    view! {
        <main class="app" data-theme=theme_attr>
            <header class="page-header">
                <h1>"Your preferences"</h1>
                <p class="subtle">
                    "How this app looks and behaves for you on this Confluence site. Only you see these settings."
                </p>
            </header>
            {(!can_edit)
                .then(|| {
                    view! {
                        <p class="banner banner-info">
                            "You're browsing anonymously, so you see the defaults. Log in to Confluence to keep your own preferences."
                        </p>
                    }
                })}
            <form class="prefs" on:submit=on_submit novalidate=true>
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
                    <SpacePicker
                        choice=draft.space
                        error=field_error("default_space_key")
                    />
                    <TextField
                        id="items-per-page"
                        name="items_per_page"
                        label="Items per page"
                        hint="From 5 to 100. Used for lists such as your labels below."
                        value=draft.items_per_page
                        error=field_error("items_per_page")
                        numeric=true
                    />
                </fieldset>

                <fieldset class="group" disabled=!can_edit>
                    <legend>"Favourite labels"</legend>
                    <LabelEditor labels=draft.labels items_per_page=draft.items_per_page server_errors />
                    {move || {
                        field_error("favourite_labels")
                            .get()
                            .map(|text| view! { <p class="field-error">{text}</p> })
                    }}
                </fieldset>

                <Summary draft updated_at site_url=site_url.clone() />

                <div class="actions">
                    <button
                        type="submit"
                        class="button primary"
                        disabled=move || !editable() || saving()
                    >
                        {move || if saving() { "Saving…" } else { "Save preferences" }}
                    </button>
                    <p class="hint" class:hidden=hydrated>
                        "Saving needs JavaScript."
                    </p>
                </div>
            </form>

            <div class="status" role="status" aria-live="polite">
                // One plain banner view for every one-line outcome, the conflict banner, or
                // nothing: three branches rather than ten type-erased views, each of which
                // compiled its own build, rebuild and hydration code into the wasm.
                {move || match status.get() {
                    // `().into_any()` as before: the server writes its placeholder comment
                    // (`<!--<() />-->`) into the page, and the page must not change.
                    Status::Idle => EitherOf3::A(().into_any()),
                    Status::Conflict(current) => {
                        let theirs = (*current).clone();
                        let when = current
                            .updated_at
                            .map(|t| format_date(t, draft.date_format.get_untracked(), draft.locale.get_untracked()))
                            .unwrap_or_default();
                        EitherOf3::C(view! {
                            <div class="banner banner-warning conflict">
                                <p>
                                    "These preferences were saved from another tab or device (" {when}
                                    ") after you opened this page."
                                </p>
                                <div class="actions">
                                    <button
                                        type="button"
                                        class="button"
                                        on:click=move |_| reload_theirs(&theirs, Status::Reloaded)
                                    >
                                        "Load the saved version"
                                    </button>
                                    <button
                                        type="button"
                                        class="button primary"
                                        on:click=move |_| submit(current.revision)
                                    >
                                        "Keep mine and overwrite"
                                    </button>
                                </div>
                            </div>
                        })
                    }
                    other => {
                        let (class, text) = banner(&other);
                        EitherOf3::B(view! { <p class=class>{text}</p> })
                    }
                }}
            </div>
        </main>
    }
}

/// The choices of one `<select>`, with the enum they choose from erased: one compiled copy of
/// `SelectField` then serves every enum (a generic component was compiled once per enum, build,
/// hydrate and rebuild code included).
struct Choices {
    /// Each option's `value`, in order.
    keys: Vec<&'static str>,
    /// The index of the current value, if it is one of the options.
    selected: Signal<Option<usize>>,
    /// Sets the value to the option at this index.
    pick: Callback<usize>,
    /// The (reactive) label of the option at this index.
    text: Callback<usize, String>,
}

fn choices<T>(
    value: RwSignal<T>,
    all: &'static [T],
    key: fn(T) -> &'static str,
    text: impl Fn(T) -> String + Send + Sync + 'static,
) -> Choices
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    Choices {
        keys: all.iter().map(|c| key(*c)).collect(),
        selected: Signal::derive(move || {
            let current = value.get();
            all.iter().position(|c| *c == current)
        }),
        pick: Callback::new(move |i: usize| {
            if let Some(c) = all.get(i) {
                value.set(*c);
            }
        }),
        text: Callback::new(move |i: usize| all.get(i).map(|c| text(*c)).unwrap_or_default()),
    }
}

/// A labelled `<select>` over `choices`.
#[component]
fn SelectField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    choices: Choices,
) -> impl IntoView {
    let Choices {
        keys,
        selected,
        pick,
        text,
    } = choices;
    let lookup = keys.clone();
    view! {
        <div class="field">
            <label class="label" for=id>
                {label}
            </label>
            <select
                id=id
                name=name
                on:change=move |ev| {
                    let picked = event_target_value(&ev);
                    if let Some(i) = lookup.iter().position(|k| *k == picked) {
                        pick.run(i);
                    }
                }
            >
                {keys
                    .into_iter()
                    .enumerate()
                    .map(|(i, key)| {
                        view! {
                            <option value=key selected=move || selected.get() == Some(i)>
                                {move || text.run(i)}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

#[component]
fn TextField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<&'static str>>,
    #[prop(optional)] numeric: bool,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described = format!("{hint_id} {error_id}");
    view! {
        <div class="field">
            <label class="label" for=id>
                {label}
            </label>
            <input
                id=id
                name=name
                type=if numeric { "number" } else { "text" }
                inputmode=if numeric { "numeric" } else { "text" }
                min=numeric.then_some(*ITEMS_PER_PAGE_RANGE.start())
                max=numeric.then_some(*ITEMS_PER_PAGE_RANGE.end())
                autocomplete="off"
                aria-describedby=described
                aria-invalid=move || error.get().is_some().to_string()
                value=value.get_untracked()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <p class="hint" id=hint_id>
                {hint}
            </p>
            <p class="field-error" id=error_id>
                {move || error.get()}
            </p>
        </div>
    }
}

#[component]
fn LabelEditor(
    labels: RwSignal<Vec<String>>,
    items_per_page: RwSignal<String>,
    server_errors: RwSignal<Vec<FieldError>>,
) -> impl IntoView {
    let new_label = RwSignal::new(String::new());
    let add_error = RwSignal::new(None::<&'static str>);
    let page = RwSignal::new(0usize);
    let per_page = move || {
        items_per_page
            .get()
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|n| ITEMS_PER_PAGE_RANGE.contains(n))
            .map_or(25, usize::from)
    };
    let pages = move || labels.with(|l| l.len().div_ceil(per_page()).max(1));
    let add = move || {
        let label = crate::preferences::lowercase(new_label.get().trim());
        let problem = validate_label(&label).err().or_else(|| {
            labels.with(|l| {
                if l.contains(&label) {
                    Some("duplicate")
                } else if l.len() >= crate::preferences::MAX_LABELS {
                    Some("too_many")
                } else {
                    None
                }
            })
        });
        match problem {
            Some(code) => add_error.set(Some(field_error_text(code))),
            None => {
                labels.update(|l| l.push(label));
                new_label.set(String::new());
                add_error.set(None);
                page.set(pages() - 1);
            }
        }
    };
    let remove = move |label: String| {
        labels.update(|l| l.retain(|x| *x != label));
        server_errors.update(|e| e.retain(|f| !f.field.starts_with("favourite_labels")));
        page.update(|p| *p = (*p).min(pages() - 1));
    };
    let visible = move || {
        let n = per_page();
        let start = page.get().min(pages() - 1) * n;
        labels.with(|l| l.iter().skip(start).take(n).cloned().collect::<Vec<_>>())
    };
    view! {
        <div class="field">
            <label class="label" for="new-label">
                "Add a label"
            </label>
            <div class="inline">
                <input
                    id="new-label"
                    type="text"
                    autocomplete="off"
                    aria-describedby="new-label-error"
                    aria-invalid=move || add_error.get().is_some().to_string()
                    prop:value=move || new_label.get()
                    on:input=move |ev| {
                        new_label.set(event_target_value(&ev));
                        add_error.set(None);
                    }
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" {
                            ev.prevent_default();
                            add();
                        }
                    }
                />
                <button type="button" class="button" on:click=move |_| add()>
                    "Add"
                </button>
            </div>
            <p class="field-error" id="new-label-error">
                {move || add_error.get()}
            </p>
        </div>
        <p class="subtle" id="labels-count">
            {move || {
                let n = labels.with(Vec::len);
                match n {
                    0 => "No favourite labels yet.".to_string(),
                    1 => "1 label.".to_string(),
                    n => format!("{n} labels."),
                }
            }}
        </p>
        <ul class="labels" aria-describedby="labels-count">
            <For each=visible key=|l| l.clone() let:label>
                {
                    let text = label.clone();
                    let aria = format!("Remove label {label}");
                    view! {
                        <li class="label-chip">
                            <span>{text}</span>
                            <button
                                type="button"
                                class="chip-remove"
                                aria-label=aria
                                on:click=move |_| remove(label.clone())
                            >
                                "×"
                            </button>
                        </li>
                    }
                }
            </For>
        </ul>
        {move || {
            (pages() > 1)
                .then(|| {
                    view! {
                        <nav class="pager" aria-label="Label pages">
                            <button
                                type="button"
                                class="button"
                                disabled=move || page.get() == 0
                                on:click=move |_| page.update(|p| *p = p.saturating_sub(1))
                            >
                                "Previous"
                            </button>
                            <span>{move || format!("Page {} of {}", page.get().min(pages() - 1) + 1, pages())}</span>
                            <button
                                type="button"
                                class="button"
                                disabled=move || { page.get() + 1 >= pages() }
                                on:click=move |_| page.update(|p| *p += 1)
                            >
                                "Next"
                            </button>
                        </nav>
                    }
                })
        }}
    }
}

/// What the chosen settings mean, in the chosen date format and language.
#[component]
fn Summary(draft: Draft, updated_at: RwSignal<Option<i64>>, site_url: String) -> impl IntoView {
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
        (!key.is_empty() && crate::preferences::validate_space_key(&key).is_ok()).then(|| {
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
