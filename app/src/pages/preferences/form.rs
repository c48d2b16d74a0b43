//! The form: its state, what runs once it is hydrated, and its layout (the field groups, the
//! summary, the save button and the status line).

use leptos::prelude::*;

use super::groups::{Appearance, FavouriteLabels, Navigation, theme_value};
use super::messages::FieldErrors;
use super::save::FormState;
use super::status::{Status, StatusLine};
use super::summary::Summary;
use crate::client::resize_iframe;
use crate::preferences::PreferencesView;

#[component]
pub(super) fn PreferencesForm(initial: PreferencesView) -> impl IntoView {
    let form = FormState::new(&initial);
    let draft = form.draft;
    let can_edit = initial.can_edit;
    let site_url = initial.site_url;
    let hydrated = RwSignal::new(false);
    // Once, in the browser after hydration: the controls become usable; and outside Confluence,
    // where nobody can renew the page's token, say so when it runs out rather than letting the
    // next save fail. (One effect for both: each `Effect` is its own compiled code.)
    Effect::new(move |_| {
        hydrated.set(true);
        let Some(exp) = crate::client::token::current_expiry() else {
            return;
        };
        #[expect(
            clippy::as_conversions,
            reason = "no TryFrom from floats; `as` saturates (NaN to 0), what a timer wants"
        )]
        let left_ms = (exp * 1000.0 - js_sys::Date::now()).max(0.0) as u64 + 1000;
        set_timeout(
            move || {
                if !crate::client::host_available() {
                    form.status.set(Status::Expired);
                }
            },
            std::time::Duration::from_millis(left_ms),
        );
    });
    let errors = FieldErrors::new(draft, form.server_errors);
    Effect::new(move |_| {
        form.status.track();
        draft.labels.track();
        resize_iframe();
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        form.submit(form.revision.get_untracked());
    };
    let theme_attr = move || theme_value(draft.theme.get());
    let saving = move || form.saving();
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
                <Appearance draft can_edit />
                <Navigation draft errors can_edit />
                <FavouriteLabels draft errors server_errors=form.server_errors can_edit />

                <Summary draft updated_at=form.updated_at site_url />

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

            <StatusLine form />
        </main>
    }
}
