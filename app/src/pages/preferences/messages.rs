//! What the page says about an invalid field: one message per error code (an exhaustive `match`,
//! so a new code needs its own words), with the limits taken from the model's constants.

use leptos::prelude::*;

use super::draft::Draft;
use crate::preferences::{
    FieldError, FieldErrorCode, ITEMS_PER_PAGE_RANGE, MAX_LABELS, Preferences,
};

/// The allowed number of items per page, as a phrase: "5 to 100".
pub(super) fn items_per_page_range() -> String {
    format!(
        "{} to {}",
        ITEMS_PER_PAGE_RANGE.start(),
        ITEMS_PER_PAGE_RANGE.end()
    )
}

/// The message for a field error.
pub(super) fn field_error_text(code: &FieldErrorCode) -> String {
    match code {
        FieldErrorCode::Required => "This can't be empty.".into(),
        FieldErrorCode::TooLong => "This is too long.".into(),
        FieldErrorCode::TooMany => format!("That's more than {MAX_LABELS} labels."),
        FieldErrorCode::Duplicate => "This label is already in the list.".into(),
        FieldErrorCode::InvalidCharacters => {
            "Labels can't contain spaces or characters such as : ; , . ? & # @ !".into()
        }
        FieldErrorCode::InvalidFormat => {
            "Use letters and digits only (or ~ and an account id for a personal space).".into()
        }
        FieldErrorCode::OutOfRange => format!("Choose a number from {}.", items_per_page_range()),
        FieldErrorCode::NotFound => "You can't see a space with this key in Confluence.".into(),
        FieldErrorCode::NotANumber => "Enter a whole number.".into(),
        // Only a server newer than this page sends one.
        FieldErrorCode::Unrecognised(_) => "This value is not valid.".into(),
    }
}

/// Where a field's error comes from: the form's own check of the draft, and the server's answer
/// to the last save.
#[derive(Clone, Copy)]
pub(super) struct FieldErrors {
    parsed: Memo<Result<Preferences, Vec<FieldError>>>,
    server: RwSignal<Vec<FieldError>>,
}

impl FieldErrors {
    pub(super) fn new(draft: Draft, server: RwSignal<Vec<FieldError>>) -> Self {
        Self {
            parsed: Memo::new(move |_| draft.parse()),
            server,
        }
    }

    /// The message for `field`'s first error, if it has one.
    pub(super) fn of(self, field: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || {
            let local = self
                .parsed
                .with(|p| p.as_ref().err().cloned().unwrap_or_default());
            local
                .iter()
                .chain(self.server.get().iter())
                .find(|e| e.field == field)
                .map(|e| field_error_text(&e.code))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_in_messages_are_the_models() {
        assert_eq!(
            field_error_text(&FieldErrorCode::TooMany),
            format!("That's more than {MAX_LABELS} labels.")
        );
        let range = field_error_text(&FieldErrorCode::OutOfRange);
        assert!(
            range.contains(&ITEMS_PER_PAGE_RANGE.start().to_string()),
            "{range}"
        );
        assert!(
            range.contains(&ITEMS_PER_PAGE_RANGE.end().to_string()),
            "{range}"
        );
    }

    #[test]
    fn every_known_code_has_its_own_message() {
        let generic = field_error_text(&FieldErrorCode::Unrecognised("newer".into()));
        let mut seen = Vec::new();
        for code in FieldErrorCode::KNOWN {
            let text = field_error_text(code);
            assert_ne!(text, generic, "{code:?} falls into the generic message");
            assert!(
                !seen.contains(&text),
                "{code:?} repeats another code's message"
            );
            seen.push(text);
        }
    }
}
