//! The form's reusable controls: a labelled `<select>` over any enum, and a labelled text (or
//! number) box with its hint and error.

use leptos::prelude::*;

use crate::preferences::ITEMS_PER_PAGE_RANGE;

/// The choices of one `<select>`, with the enum they choose from erased: one compiled copy of
/// `SelectField` then serves every enum (a generic component was compiled once per enum, build,
/// hydrate and rebuild code included).
pub(super) struct Choices {
    /// Each option's `value`, in order.
    keys: Vec<&'static str>,
    /// The index of the current value, if it is one of the options.
    selected: Signal<Option<usize>>,
    /// Sets the value to the option at this index.
    pick: Callback<usize>,
    /// The (reactive) label of the option at this index.
    text: Callback<usize, String>,
}

/// The choices of `all` for `value`, each with its `value` attribute (`key`) and label (`text`).
pub(super) fn choices<T>(
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
pub(super) fn SelectField(
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

/// A labelled text box (`numeric`: a number box bounded by `ITEMS_PER_PAGE_RANGE`), described
/// by its hint and its error.
#[component]
pub(super) fn TextField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    hint: String,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
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
