//! The form's values as the user edits them, one signal per field, and what they would save as.

use leptos::prelude::*;

use super::space_picker::SpaceChoice;
use crate::preferences::{
    DateFormat, EmailDigest, FieldError, FieldErrorCode, Locale, Preferences, Theme,
};

/// The form's state: one signal per field, so every control updates only what it shows.
#[derive(Clone, Copy)]
pub(super) struct Draft {
    pub(super) theme: RwSignal<Theme>,
    pub(super) locale: RwSignal<Locale>,
    pub(super) date_format: RwSignal<DateFormat>,
    pub(super) email_digest: RwSignal<EmailDigest>,
    pub(super) space: SpaceChoice,
    pub(super) labels: RwSignal<Vec<String>>,
    /// As typed: the box may hold text that is not a number.
    pub(super) items_per_page: RwSignal<String>,
}

/// The saved space key and the name the server confirmed for it.
fn saved_space(p: &Preferences) -> Option<(String, Option<String>)> {
    (p.default_space_key.clone()).map(|key| (key, p.default_space_name.clone()))
}

impl Draft {
    pub(super) fn new(p: &Preferences) -> Self {
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

    /// Shows `p` in every field.
    pub(super) fn load(&self, p: &Preferences) {
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
    pub(super) fn parse(&self) -> Result<Preferences, Vec<FieldError>> {
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
            errors.push(FieldError::new(
                "items_per_page",
                FieldErrorCode::NotANumber,
            ));
        }
        if errors.is_empty() {
            Ok(prefs)
        } else {
            Err(errors)
        }
    }
}
