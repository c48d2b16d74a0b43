//! The default-space picker: a native text box with a suggestion list (`<input list>`, a
//! combobox to assistive technology, keyboard-driven by the browser) filled with the spaces
//! the user can see, searched in Confluence as they type. Empty means "none". When Confluence
//! cannot be read the box still takes a key, and says so.

use leptos::prelude::*;

use crate::spaces::{Space, list_spaces};

/// The state the picker shares with the form.
#[derive(Clone, Copy)]
pub struct SpaceChoice {
    /// The key as typed or picked.
    pub key: RwSignal<String>,
    /// The saved key and its name, as the server last confirmed them.
    pub saved: RwSignal<Option<(String, Option<String>)>>,
}

impl SpaceChoice {
    /// The name to show for `key`: a space in `found`, or the saved name if it is the saved key.
    fn name_of(&self, key: &str, found: &[Space]) -> Option<String> {
        found
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.name.clone())
            .or_else(|| {
                self.saved
                    .get()
                    .filter(|(k, _)| k == key)
                    .and_then(|(_, name)| name)
            })
    }
}

/// The listing the suggestions show, with the text it was asked for.
#[derive(Clone, Default)]
struct Listing {
    query: String,
    spaces: Vec<Space>,
    next_cursor: Option<String>,
    failed: Option<String>,
}

#[component]
pub fn SpacePicker(
    choice: SpaceChoice,
    error: Signal<Option<&'static str>>,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    let listing = RwSignal::new(Listing::default());
    let asked = RwSignal::new(None::<String>);
    // Asks Confluence for `query` (from `cursor`, appending); an answer to a query the user has
    // already typed past is dropped.
    let search = move |query: String, cursor: Option<String>| {
        let more = cursor.is_some();
        asked.set(Some(query.clone()));
        leptos::task::spawn_local(async move {
            let q = (!query.is_empty()).then(|| query.clone());
            let result = list_spaces(q, cursor).await;
            if asked.get_untracked().as_deref() != Some(query.as_str()) {
                return;
            }
            listing.update(|l| match result {
                Ok(page) => {
                    if !more || l.query != query {
                        l.spaces.clear();
                    }
                    l.query = query;
                    l.spaces.extend(page.spaces);
                    l.next_cursor = page.next_cursor;
                    l.failed = None;
                }
                Err(e) => l.failed = Some(e.to_string()),
            });
        });
    };
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        choice.key.set(text.clone());
        let query = text.trim().to_string();
        // Picking a suggestion puts its exact key in the box: no need to search for it.
        let picked = listing.with_untracked(|l| l.spaces.iter().any(|s| s.key == query));
        if !picked {
            search(query, None);
        }
    };
    let on_focus = move |_| {
        if asked.get_untracked().is_none() {
            search(String::new(), None);
        }
    };
    let more = move |_| {
        let (query, cursor) = listing.with_untracked(|l| (l.query.clone(), l.next_cursor.clone()));
        if cursor.is_some() {
            search(query, cursor);
        }
    };
    let current = move || {
        let key = choice.key.get().trim().to_string();
        if key.is_empty() {
            return "No default space: the app asks each time.".to_string();
        }
        let key = if key.starts_with('~') {
            key
        } else {
            key.to_ascii_uppercase()
        };
        match listing.with(|l| choice.name_of(&key, &l.spaces)) {
            Some(name) => format!("Chosen: {name} ({key})"),
            None => format!("Chosen: {key} (checked with Confluence when you save)"),
        }
    };
    let hint = move || match listing.with(|l| l.failed.clone()) {
        Some(why) => format!("Couldn't list your spaces: {why} You can still type a space key."),
        None => "Optional. Type to search the spaces you can see; leave empty for none.".into(),
    };
    view! {
        <div class="field">
            <label class="label" for="default-space-key">
                "Default space"
            </label>
            <input
                id="default-space-key"
                name="default_space_key"
                type="text"
                list="space-options"
                autocomplete="off"
                spellcheck="false"
                aria-describedby="default-space-key-choice default-space-key-hint default-space-key-error"
                aria-invalid=move || error.get().is_some().to_string()
                disabled=disabled
                value=choice.key.get_untracked()
                prop:value=move || choice.key.get()
                on:input=on_input
                on:focus=on_focus
            />
            <datalist id="space-options">
                <For
                    each=move || listing.get().spaces
                    key=|s| s.key.clone()
                    children=|s| view! { <option value=s.key.clone()>{s.name}</option> }
                />
            </datalist>
            <p class="hint" id="default-space-key-choice" aria-live="polite">
                {current}
            </p>
            <p class="hint" id="default-space-key-hint">
                {hint}
            </p>
            <Show when=move || listing.with(|l| l.next_cursor.is_some())>
                <button type="button" class="link" on:click=more>
                    "Load more spaces"
                </button>
            </Show>
            <p class="field-error" id="default-space-key-error">
                {move || error.get()}
            </p>
        </div>
    }
}
