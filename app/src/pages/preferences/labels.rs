//! The favourite-labels editor: a box to add a label (checked as it is added), the labels as
//! removable chips, a page at a time of the user's own items-per-page size.

use leptos::prelude::*;

use super::messages::field_error_text;
use crate::preferences::{
    DEFAULT_ITEMS_PER_PAGE, FieldError, FieldErrorCode, ITEMS_PER_PAGE_RANGE, MAX_LABELS,
    lowercase, validate_label,
};

/// The labels and which page of them is shown.
#[derive(Clone, Copy)]
struct LabelPages {
    labels: RwSignal<Vec<String>>,
    /// The form's items-per-page box, as typed.
    items_per_page: RwSignal<String>,
    /// The page shown, from 0 (may be past the end until the next `visible`).
    page: RwSignal<usize>,
}

impl LabelPages {
    /// The page size: what the box says if it is valid, the default otherwise.
    fn per_page(self) -> usize {
        let n = (self.items_per_page.get().trim().parse::<u16>().ok())
            .filter(|n| ITEMS_PER_PAGE_RANGE.contains(n))
            .unwrap_or(DEFAULT_ITEMS_PER_PAGE);
        usize::from(n)
    }

    /// How many pages the labels fill (at least one).
    fn pages(self) -> usize {
        self.labels
            .with(|l| l.len().div_ceil(self.per_page()).max(1))
    }

    /// The labels on the page shown.
    fn visible(self) -> Vec<String> {
        let n = self.per_page();
        let start = self.page.get().min(self.pages() - 1) * n;
        self.labels
            .with(|l| l.iter().skip(start).take(n).cloned().collect())
    }
}

#[component]
pub(super) fn LabelEditor(
    labels: RwSignal<Vec<String>>,
    items_per_page: RwSignal<String>,
    server_errors: RwSignal<Vec<FieldError>>,
) -> impl IntoView {
    let pages = LabelPages {
        labels,
        items_per_page,
        page: RwSignal::new(0),
    };
    let remove = move |label: String| {
        labels.update(|l| l.retain(|x| *x != label));
        server_errors.update(|e| e.retain(|f| !f.field.starts_with("favourite_labels")));
        pages.page.update(|p| *p = (*p).min(pages.pages() - 1));
    };
    view! {
        <AddLabel pages />
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
            <For each=move || pages.visible() key=|l| l.clone() let:label>
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
        <LabelPager pages />
    }
}

/// The box and button that add a label, and why a label was not added.
#[component]
fn AddLabel(pages: LabelPages) -> impl IntoView {
    let labels = pages.labels;
    let new_label = RwSignal::new(String::new());
    let add_error = RwSignal::new(None::<String>);
    let add = move || {
        let label = lowercase(new_label.get().trim());
        let problem = validate_label(&label).err().or_else(|| {
            labels.with(|l| {
                if l.contains(&label) {
                    Some(FieldErrorCode::Duplicate)
                } else if l.len() >= MAX_LABELS {
                    Some(FieldErrorCode::TooMany)
                } else {
                    None
                }
            })
        });
        match problem {
            Some(code) => add_error.set(Some(field_error_text(&code))),
            None => {
                labels.update(|l| l.push(label));
                new_label.set(String::new());
                add_error.set(None);
                pages.page.set(pages.pages() - 1);
            }
        }
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
    }
}

/// Previous and next buttons, when the labels fill more than one page.
#[component]
fn LabelPager(pages: LabelPages) -> impl IntoView {
    let page = pages.page;
    move || {
        (pages.pages() > 1).then(|| {
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
                    <span>
                        {move || {
                            format!("Page {} of {}", page.get().min(pages.pages() - 1) + 1, pages.pages())
                        }}
                    </span>
                    <button
                        type="button"
                        class="button"
                        disabled=move || { page.get() + 1 >= pages.pages() }
                        on:click=move |_| page.update(|p| *p += 1)
                    >
                        "Next"
                    </button>
                </nav>
            }
        })
    }
}
