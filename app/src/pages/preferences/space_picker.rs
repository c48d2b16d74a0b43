//! The default-space picker: a native text box with a suggestion list (`<input list>`, a
//! combobox to assistive technology, keyboard-driven by the browser) filled with the spaces
//! the user can see, searched in Confluence as they type. Empty means "none". When Confluence
//! cannot be read the box still takes a key, and says so.

use leptos::prelude::*;

use crate::spaces::{Space, list_spaces};

/// The state the picker shares with the form.
#[derive(Clone, Copy)]
pub(super) struct SpaceChoice {
    /// The key as typed or picked.
    pub(super) key: RwSignal<String>,
    /// The saved key and its name, as the server last confirmed them.
    pub(super) saved: RwSignal<Option<(String, Option<String>)>>,
}

impl SpaceChoice {
    /// The name to show for `key`: a listed space's, or the saved name if it is the saved key.
    fn name_of(&self, key: &str) -> Option<String> {
        listed_name(key).or_else(|| {
            self.saved.with(|saved| match saved {
                Some((k, name)) if k == key => name.clone(),
                _ => None,
            })
        })
    }
}

/// The suggestion list: the first page of spaces matching the text last asked for (a search
/// narrows to any space; the server function also pages with a cursor).
fn options() -> Option<web_sys::Element> {
    web_sys::window()?
        .document()?
        .get_element_by_id("space-options")
}

/// Fills the suggestion list with `spaces` (value: the key, label: the name). Written straight
/// to the DOM, which is also where the names are looked up again: the list is never
/// server-rendered, and a reactive list of views or a second copy of it in a signal costs wasm
/// for nothing the browser's own `<datalist>` does not already do.
fn show_options(spaces: &[Space]) {
    let Some(list) = options() else {
        return;
    };
    list.set_text_content(None);
    for space in spaces {
        if let Some(option) = list
            .owner_document()
            .and_then(|doc| doc.create_element("option").ok())
        {
            let _ = option.set_attribute("value", &space.key);
            option.set_text_content(Some(&space.name));
            let _ = list.append_child(&option);
        }
    }
}

/// The name of the listed space whose key is `key`.
fn listed_name(key: &str) -> Option<String> {
    // Only the browser has a DOM; the server renders the list empty.
    if cfg!(not(target_arch = "wasm32")) {
        return None;
    }
    let mut option = options()?.first_element_child();
    while let Some(o) = option {
        if o.get_attribute("value").as_deref() == Some(key) {
            return o.text_content();
        }
        option = o.next_element_sibling();
    }
    None
}

#[component]
pub(super) fn SpacePicker(choice: SpaceChoice, error: Signal<Option<String>>) -> impl IntoView {
    // The text last asked for (`None`: not yet); an answer to text the user has already typed
    // past is dropped.
    let asked = RwSignal::new(None::<String>);
    // Why the spaces could not be listed. Set (to `None` too) on every answer, after the list
    // is rewritten, so the hint below reads the names again.
    let failed = RwSignal::new(None::<String>);
    let search = move |query: String| {
        asked.set(Some(query.clone()));
        leptos::task::spawn_local(async move {
            let q = (!query.is_empty()).then(|| query.clone());
            let result = list_spaces(q, None).await;
            if asked.with_untracked(|a| a.as_deref() != Some(query.as_str())) {
                return;
            }
            failed.set(match result {
                Ok(page) => {
                    show_options(&page.spaces);
                    None
                }
                Err(e) => Some(e.to_string()),
            });
        });
    };
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        let query = text.trim().to_string();
        choice.key.set(text);
        // Picking a suggestion puts its exact key in the box: no need to search for it.
        if listed_name(&query).is_none() {
            search(query);
        }
    };
    let on_focus = move |_| {
        if asked.with_untracked(Option::is_none) {
            search(String::new());
        }
    };
    // One line under the box: what is chosen, and whether Confluence could be asked.
    let hint = move || {
        let typed = choice.key.get();
        let key = typed.trim();
        let mut hint = if key.is_empty() {
            "None: the app asks each time.".to_string()
        } else {
            let key = if key.starts_with('~') {
                key.to_string()
            } else {
                key.to_ascii_uppercase()
            };
            match choice.name_of(&key) {
                Some(name) => format!("Chosen: {name} ({key})."),
                None => format!("Chosen: {key} (checked with Confluence when you save)."),
            }
        };
        failed.with(|failed| {
            if let Some(why) = failed {
                hint.push_str(" Couldn't list your spaces: ");
                hint.push_str(why);
            }
        });
        hint
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
