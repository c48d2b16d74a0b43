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

/// The suggestions shown: the first page of spaces matching the text last asked for (a
/// search narrows to any space; the server function also pages with a cursor).
#[derive(Clone, Default)]
struct Listing {
    spaces: Vec<Space>,
    failed: Option<String>,
}

/// Fills the suggestion list with `spaces` (value: the key, label: the name). Written straight
/// to the DOM: the list is never server-rendered, and a reactive list of views here cost about
/// 1.5 KB of wasm for nothing the browser's own `<datalist>` does not already do.
fn show_options(spaces: &[Space]) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(list) = doc.get_element_by_id("space-options") else {
        return;
    };
    list.set_text_content(None);
    for space in spaces {
        if let Ok(option) = doc.create_element("option") {
            let _ = option.set_attribute("value", &space.key);
            option.set_text_content(Some(&space.name));
            let _ = list.append_child(&option);
        }
    }
}

#[component]
pub fn SpacePicker(choice: SpaceChoice, error: Signal<Option<&'static str>>) -> impl IntoView {
    let listing = RwSignal::new(Listing::default());
    let asked = RwSignal::new(None::<String>);
    // Asks Confluence for `query` (from `cursor`, appending); an answer to a query the user has
    // already typed past is dropped.
    let search = move |query: String| {
        asked.set(Some(query.clone()));
        leptos::task::spawn_local(async move {
            let q = (!query.is_empty()).then(|| query.clone());
            let result = list_spaces(q, None).await;
            if asked.get_untracked().as_deref() != Some(query.as_str()) {
                return;
            }
            listing.update(|l| match result {
                Ok(page) => {
                    show_options(&page.spaces);
                    l.spaces = page.spaces;
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
            search(query);
        }
    };
    let on_focus = move |_| {
        if asked.get_untracked().is_none() {
            search(String::new());
        }
    };
    // One line under the box: what is chosen, and whether Confluence could be asked.
    let hint = move || {
        let key = choice.key.get().trim().to_string();
        let chosen = if key.is_empty() {
            "None: the app asks each time.".to_string()
        } else {
            let key = if key.starts_with('~') {
                key
            } else {
                key.to_ascii_uppercase()
            };
            match listing.with(|l| choice.name_of(&key, &l.spaces)) {
                Some(name) => format!("Chosen: {name} ({key})."),
                None => format!("Chosen: {key} (checked with Confluence when you save)."),
            }
        };
        match listing.with(|l| l.failed.clone()) {
            Some(why) => format!("{chosen} Couldn't list your spaces: {why}"),
            None => chosen,
        }
    };
    view! {
        <div class="field">
            <label class="label" for="default-space-key">
                "Default space"
            </label>
            <input
                id="default-space-key"
                name="default_space_key"
                list="space-options"
                autocomplete="off"
                aria-describedby="default-space-key-hint default-space-key-error"
                aria-invalid=move || error.get().is_some().to_string()
                value=choice.key.get_untracked()
                prop:value=move || choice.key.get()
                on:input=on_input
                on:focus=on_focus
            />
            <datalist id="space-options"></datalist>
            <p class="hint" id="default-space-key-hint" aria-live="polite">
                {hint}
            </p>
            <p class="field-error" id="default-space-key-error">
                {move || error.get()}
            </p>
        </div>
    }
}
