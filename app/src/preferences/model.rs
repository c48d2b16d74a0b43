//! The preferences a user keeps in this app, their validation, and the stored-schema version.
//! One type for server and browser: the browser validates before sending, the server validates
//! again before storing, with the same code. Nothing here does I/O.

use serde::{Deserialize, Serialize};

/// Version of the stored JSON shape. Bump it when a field changes meaning and add a step to
/// `upgrade` (server side) so older rows keep loading.
pub const SCHEMA_VERSION: i64 = 1;

pub const MAX_LABELS: usize = 50;
pub const MAX_LABEL_CHARS: usize = 64;
pub const MAX_SPACE_KEY_CHARS: usize = 255;
pub const ITEMS_PER_PAGE_RANGE: std::ops::RangeInclusive<u16> = 5..=100;
pub const DEFAULT_ITEMS_PER_PAGE: u16 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// 2026-11-28
    #[default]
    Iso,
    /// 28/11/2026 (or 28.11.2026 in German)
    DayMonthYear,
    /// 11/28/2026
    MonthDayYear,
    /// 28 November 2026, with month names in the chosen language
    Long,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EmailDigest {
    Off,
    Daily,
    #[default]
    Weekly,
}

/// The languages the page can show dates in. Serialised as BCP 47 tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Locale {
    #[default]
    #[serde(rename = "en-US")]
    EnUs,
    #[serde(rename = "en-GB")]
    EnGb,
    #[serde(rename = "de-DE")]
    DeDe,
    #[serde(rename = "fr-FR")]
    FrFr,
    #[serde(rename = "es-ES")]
    EsEs,
    #[serde(rename = "ja-JP")]
    JaJp,
}

/// The names `Serialize` writes for each enum, in the order of its `ALL` (a test checks that they
/// agree): the browser reads the enums from these (`client::codec`).
impl Theme {
    pub const NAMES: &'static [&'static str] = &["system", "light", "dark"];
}
impl DateFormat {
    pub const NAMES: &'static [&'static str] = &["iso", "day_month_year", "month_day_year", "long"];
}
impl EmailDigest {
    pub const NAMES: &'static [&'static str] = &["off", "daily", "weekly"];
}
impl Locale {
    pub const NAMES: &'static [&'static str] =
        &["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP"];
}

/// An enum value from its name (the browser's reading of a JSON answer).
#[cfg(target_arch = "wasm32")]
fn by_name<T: Copy>(value: &wasm_bindgen::JsValue, names: &[&str], all: &[T]) -> Option<T> {
    let name = value.as_string()?;
    Some(all[names.iter().position(|n| *n == name)?])
}

#[cfg(target_arch = "wasm32")]
impl crate::client::codec::FromJs for Preferences {
    fn from_js(value: &wasm_bindgen::JsValue) -> Option<Self> {
        use crate::client::codec::{field, int, list, optional_field};
        Some(Self {
            theme: by_name(&field(value, "theme"), Theme::NAMES, &Theme::ALL)?,
            locale: by_name(&field(value, "locale"), Locale::NAMES, &Locale::ALL)?,
            date_format: by_name(
                &field(value, "date_format"),
                DateFormat::NAMES,
                &DateFormat::ALL,
            )?,
            email_digest: by_name(
                &field(value, "email_digest"),
                EmailDigest::NAMES,
                &EmailDigest::ALL,
            )?,
            default_space_key: optional_field(value, "default_space_key", |v| v.as_string())?,
            default_space_name: optional_field(value, "default_space_name", |v| v.as_string())?,
            favourite_labels: list(&field(value, "favourite_labels"), |v| v.as_string())?,
            items_per_page: u16::try_from(int(&field(value, "items_per_page"))?).ok()?,
        })
    }
}

#[cfg(target_arch = "wasm32")]
impl crate::client::codec::FromJs for FieldError {
    fn from_js(value: &wasm_bindgen::JsValue) -> Option<Self> {
        use crate::client::codec::string_field;
        Some(Self {
            field: string_field(value, "field")?,
            code: FieldErrorCode::from_wire(string_field(value, "code")?),
        })
    }
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];
}

impl DateFormat {
    pub const ALL: [DateFormat; 4] = [
        DateFormat::Iso,
        DateFormat::DayMonthYear,
        DateFormat::MonthDayYear,
        DateFormat::Long,
    ];
}

impl EmailDigest {
    pub const ALL: [EmailDigest; 3] = [EmailDigest::Off, EmailDigest::Daily, EmailDigest::Weekly];
}

impl Locale {
    pub const ALL: [Locale; 6] = [
        Locale::EnUs,
        Locale::EnGb,
        Locale::DeDe,
        Locale::FrFr,
        Locale::EsEs,
        Locale::JaJp,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            Locale::EnUs => "en-US",
            Locale::EnGb => "en-GB",
            Locale::DeDe => "de-DE",
            Locale::FrFr => "fr-FR",
            Locale::EsEs => "es-ES",
            Locale::JaJp => "ja-JP",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Locale::EnUs => "English (United States)",
            Locale::EnGb => "English (United Kingdom)",
            Locale::DeDe => "Deutsch",
            Locale::FrFr => "Français",
            Locale::EsEs => "Español",
            Locale::JaJp => "日本語",
        }
    }

    /// Best match for a locale Confluence reports (`en-GB`, `en_GB`, `de`, ...).
    pub fn from_host_tag(tag: &str) -> Option<Locale> {
        let tag = tag.trim().replace('_', "-").to_ascii_lowercase();
        if let Some(exact) = Self::ALL
            .into_iter()
            .find(|l| l.tag().to_ascii_lowercase() == tag)
        {
            return Some(exact);
        }
        let language = tag.split('-').next().unwrap_or_default();
        Self::ALL.into_iter().find(|l| {
            l.tag()
                .to_ascii_lowercase()
                .starts_with(&format!("{language}-"))
        })
    }
}

/// What a user chose. Field names are the wire format and the stored JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    pub theme: Theme,
    pub locale: Locale,
    pub date_format: DateFormat,
    pub email_digest: EmailDigest,
    /// The space the app opens by default; `None` means "ask each time".
    pub default_space_key: Option<String>,
    /// That space's name as Confluence gave it when the key was saved; `None` when it could not
    /// be checked. Set by the server on save (what a client sends here is not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_space_name: Option<String>,
    pub favourite_labels: Vec<String>,
    pub items_per_page: u16,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            locale: Locale::EnUs,
            date_format: DateFormat::Iso,
            email_digest: EmailDigest::Weekly,
            default_space_key: None,
            default_space_name: None,
            favourite_labels: Vec::new(),
            items_per_page: DEFAULT_ITEMS_PER_PAGE,
        }
    }
}

/// One invalid field: `field` names it (`favourite_labels[2]` for one list entry) and `code` says
/// what is wrong, in a form both the UI and API clients can rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub code: FieldErrorCode,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, code: FieldErrorCode) -> Self {
        Self {
            field: field.into(),
            code,
        }
    }
}

/// Declares `FieldErrorCode` from one list of variants and their wire names, so a new code gets
/// its name, its place in `KNOWN` (what the browser can read back) and, through the page's
/// exhaustive `match`, its message, all at once.
macro_rules! field_error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// What is wrong with a field. On the wire it is the snake_case name `as_str` gives
        /// (written and read by hand rather than by serde's derive, so the browser reads it
        /// with `from_wire` and no serde code).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum FieldErrorCode {
            $($(#[doc = $doc])* $variant,)*
            /// A code this build does not know, read from a newer server (the Forge UI bundle
            /// and the server are deployed separately). Nothing here produces it; it is written
            /// back unchanged.
            Unrecognised(String),
        }

        impl FieldErrorCode {
            /// Every code this build produces.
            pub const KNOWN: &[FieldErrorCode] = &[$(FieldErrorCode::$variant),*];

            /// The code's name on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(FieldErrorCode::$variant => $name,)*
                    FieldErrorCode::Unrecognised(name) => name,
                }
            }
        }
    };
}

field_error_codes! {
    /// Empty.
    Required = "required",
    /// Longer than its limit (`MAX_LABEL_CHARS`, `MAX_SPACE_KEY_CHARS`).
    TooLong = "too_long",
    /// More than `MAX_LABELS` labels.
    TooMany = "too_many",
    /// A label already in the list.
    Duplicate = "duplicate",
    /// A label with white space or a character Confluence forbids.
    InvalidCharacters = "invalid_characters",
    /// Not the shape of a space key.
    InvalidFormat = "invalid_format",
    /// A number outside `ITEMS_PER_PAGE_RANGE`.
    OutOfRange = "out_of_range",
    /// A space key the user cannot see in Confluence (only the server can tell).
    NotFound = "not_found",
    /// Not a whole number (only the browser's form can tell: the wire carries a number).
    NotANumber = "not_a_number",
}

impl FieldErrorCode {
    /// The code named `name` on the wire; `Unrecognised` if this build does not know it.
    pub fn from_wire(name: String) -> Self {
        Self::KNOWN
            .iter()
            .find(|code| code.as_str() == name)
            .cloned()
            .unwrap_or(FieldErrorCode::Unrecognised(name))
    }
}

impl Serialize for FieldErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FieldErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from_wire)
    }
}

/// Characters Confluence does not allow in a label.
const LABEL_FORBIDDEN: &[char] = &[
    ':', ';', ',', '.', '?', '&', '[', ']', '(', ')', '#', '^', '*', '@', '!', '<', '>', '"', '\'',
    '/', '\\', '|', '{', '}', '=', '+', '%', '$',
];

impl Preferences {
    /// The canonical form of what a user typed: labels trimmed and lower-cased (Confluence's own
    /// label form), the space key trimmed and upper-cased, an empty space key meaning none.
    /// Never changes anything's meaning, so normalising twice changes nothing.
    pub fn normalised(mut self) -> Self {
        self.favourite_labels = self
            .favourite_labels
            .iter()
            .map(|l| lowercase(l.trim()))
            .collect();
        self.default_space_key = self
            .default_space_key
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .map(|k| {
                if k.starts_with('~') {
                    k
                } else {
                    k.to_ascii_uppercase()
                }
            });
        if self.default_space_key.is_none() {
            self.default_space_name = None;
        }
        self
    }

    /// All the problems with these values, or `Ok` if they may be stored. Expects `normalised()`
    /// input; un-normalised input is judged as it is.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !ITEMS_PER_PAGE_RANGE.contains(&self.items_per_page) {
            errors.push(FieldError::new(
                "items_per_page",
                FieldErrorCode::OutOfRange,
            ));
        }
        if let Some(key) = &self.default_space_key
            && let Err(code) = validate_space_key(key)
        {
            errors.push(FieldError::new("default_space_key", code));
        }
        if self.favourite_labels.len() > MAX_LABELS {
            errors.push(FieldError::new("favourite_labels", FieldErrorCode::TooMany));
        }
        for (i, label) in self.favourite_labels.iter().enumerate() {
            let field = format!("favourite_labels[{i}]");
            if let Err(code) = validate_label(label) {
                errors.push(FieldError::new(field, code));
            } else if self.favourite_labels[..i].contains(label) {
                errors.push(FieldError::new(field, FieldErrorCode::Duplicate));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Lower-cases a label with Unicode's default case mapping (final sigma included).
///
/// In the browser this is JavaScript's `String.prototype.toLowerCase`, which implements the same
/// mapping: Rust's own `to_lowercase` would bring its Unicode case tables into the wasm (their
/// weight: docs/BENCHMARKS.md, "What the weight guard protects") only to repeat what the browser
/// already knows. The two can differ only where the browser's Unicode version differs from Rust's
/// (characters newer than one of them). That cannot let anything wrong in: the browser's result
/// is only a preview of the canonical form; the server normalises every saved label again with
/// Rust's `to_lowercase` and validates the result before storing it, so what is stored never
/// depends on the browser.
pub fn lowercase(s: &str) -> String {
    #[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
    return js_sys::JsString::from(s).to_lower_case().into();
    #[cfg(not(all(target_arch = "wasm32", not(feature = "ssr"))))]
    s.to_lowercase()
}

/// A Confluence space key: letters and digits, or a personal space `~` + account id.
pub fn validate_space_key(key: &str) -> Result<(), FieldErrorCode> {
    if key.is_empty() {
        return Err(FieldErrorCode::Required);
    }
    if key.chars().count() > MAX_SPACE_KEY_CHARS {
        return Err(FieldErrorCode::TooLong);
    }
    let ok = match key.strip_prefix('~') {
        Some(personal) => {
            !personal.is_empty()
                && personal
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'))
        }
        None => key.chars().all(|c| c.is_ascii_alphanumeric()),
    };
    if ok {
        Ok(())
    } else {
        Err(FieldErrorCode::InvalidFormat)
    }
}

/// A Confluence label: non-empty, no white space, none of the characters Confluence forbids.
pub fn validate_label(label: &str) -> Result<(), FieldErrorCode> {
    if label.is_empty() {
        return Err(FieldErrorCode::Required);
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(FieldErrorCode::TooLong);
    }
    if label
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || LABEL_FORBIDDEN.contains(&c))
    {
        return Err(FieldErrorCode::InvalidCharacters);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(p: &Preferences) -> Vec<(String, String)> {
        p.validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.code.as_str().to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Preferences::default().validate(), Ok(()));
    }

    #[test]
    fn normalising_is_idempotent_and_canonical() {
        let p = Preferences {
            favourite_labels: vec!["  Release-Notes ".into(), "howto".into()],
            default_space_key: Some(" dev ".into()),
            ..Default::default()
        }
        .normalised();
        assert_eq!(p.favourite_labels, vec!["release-notes", "howto"]);
        assert_eq!(p.default_space_key.as_deref(), Some("DEV"));
        assert_eq!(p.clone().normalised(), p);
        let blank = Preferences {
            default_space_key: Some("   ".into()),
            ..Default::default()
        }
        .normalised();
        assert_eq!(blank.default_space_key, None);
    }

    #[test]
    fn every_rule_has_a_code() {
        let p = Preferences {
            items_per_page: 4,
            default_space_key: Some("DEV SPACE".into()),
            favourite_labels: vec![
                "ok".into(),
                "ok".into(),
                "bad label".into(),
                "".into(),
                "x".repeat(65),
            ],
            ..Default::default()
        };
        assert_eq!(
            codes(&p),
            vec![
                ("items_per_page".into(), "out_of_range".into()),
                ("default_space_key".into(), "invalid_format".into()),
                ("favourite_labels[1]".into(), "duplicate".into()),
                ("favourite_labels[2]".into(), "invalid_characters".into()),
                ("favourite_labels[3]".into(), "required".into()),
                ("favourite_labels[4]".into(), "too_long".into()),
            ]
        );
    }

    #[test]
    fn label_count_is_bounded() {
        let p = Preferences {
            favourite_labels: (0..=MAX_LABELS).map(|i| format!("l{i}")).collect(),
            ..Default::default()
        };
        assert_eq!(
            codes(&p),
            vec![("favourite_labels".into(), "too_many".into())]
        );
    }

    #[test]
    fn lowercasing_is_unicode_aware() {
        assert_eq!(lowercase("Release-NOTES"), "release-notes");
        assert_eq!(lowercase("ÄRGER"), "ärger");
        // Final sigma: the same rule JavaScript's toLowerCase applies in the browser.
        assert_eq!(
            lowercase("\u{39f}\u{394}\u{39f}\u{3a3}"),
            "\u{3bf}\u{3b4}\u{3bf}\u{3c2}"
        );
        assert_eq!(lowercase("İ"), "i\u{307}");
    }

    #[test]
    fn space_keys() {
        assert_eq!(validate_space_key("DEV42"), Ok(()));
        assert_eq!(validate_space_key("~557058:0b7c-11ee"), Ok(()));
        assert_eq!(validate_space_key("~"), Err(FieldErrorCode::InvalidFormat));
        assert_eq!(
            validate_space_key("DE-V"),
            Err(FieldErrorCode::InvalidFormat)
        );
        assert_eq!(
            validate_space_key(&"A".repeat(MAX_SPACE_KEY_CHARS + 1)),
            Err(FieldErrorCode::TooLong)
        );
    }

    #[test]
    fn items_per_page_bounds() {
        for (n, ok) in [(4, false), (5, true), (100, true), (101, false)] {
            let p = Preferences {
                items_per_page: n,
                ..Default::default()
            };
            assert_eq!(p.validate().is_ok(), ok, "{n}");
        }
    }

    #[test]
    fn wire_format_is_stable() {
        let json = serde_json::to_value(Preferences::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "theme": "system", "locale": "en-US", "date_format": "iso",
                "email_digest": "weekly", "default_space_key": null,
                "favourite_labels": [], "items_per_page": 25
            })
        );
        let unknown = r#"{"theme":"system","locale":"en-US","date_format":"iso","email_digest":"weekly","default_space_key":null,"favourite_labels":[],"items_per_page":25,"admin":true}"#;
        assert!(serde_json::from_str::<Preferences>(unknown).is_err());
    }

    #[test]
    fn enum_names_are_the_ones_serde_writes_and_reads() {
        fn check<T>(all: &[T], names: &[&str])
        where
            T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
        {
            assert_eq!(all.len(), names.len());
            for (value, name) in all.iter().zip(names) {
                assert_eq!(
                    serde_json::to_value(value).unwrap(),
                    serde_json::json!(name)
                );
                let back: T = serde_json::from_str(&format!("\"{name}\"")).unwrap();
                assert_eq!(&back, value);
            }
        }
        check(&Theme::ALL, Theme::NAMES);
        check(&DateFormat::ALL, DateFormat::NAMES);
        check(&EmailDigest::ALL, EmailDigest::NAMES);
        check(&Locale::ALL, Locale::NAMES);
    }

    #[test]
    fn field_error_codes_travel_as_their_names() {
        let names: Vec<&str> = FieldErrorCode::KNOWN.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "required",
                "too_long",
                "too_many",
                "duplicate",
                "invalid_characters",
                "invalid_format",
                "out_of_range",
                "not_found",
                "not_a_number"
            ]
        );
        for code in FieldErrorCode::KNOWN {
            let json = serde_json::to_value(FieldError::new("f", code.clone())).unwrap();
            assert_eq!(
                json,
                serde_json::json!({"field": "f", "code": code.as_str()})
            );
            let back: FieldError = serde_json::from_value(json).unwrap();
            assert_eq!(&back.code, code);
        }
        // A newer server's code is kept as it came, not refused or renamed.
        let newer: FieldError =
            serde_json::from_str(r#"{"field":"f","code":"too_short"}"#).unwrap();
        assert_eq!(newer.code, FieldErrorCode::Unrecognised("too_short".into()));
        assert_eq!(
            serde_json::to_string(&newer).unwrap(),
            r#"{"field":"f","code":"too_short"}"#
        );
    }

    #[test]
    fn host_locales_map_to_supported_ones() {
        assert_eq!(Locale::from_host_tag("en_GB"), Some(Locale::EnGb));
        assert_eq!(Locale::from_host_tag("de-AT"), Some(Locale::DeDe));
        assert_eq!(Locale::from_host_tag("fr"), Some(Locale::FrFr));
        assert_eq!(Locale::from_host_tag("pt-BR"), None);
    }
}
