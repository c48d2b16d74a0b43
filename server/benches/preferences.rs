//! Criterion microbenchmarks of the save path's pure work: parsing the preferences a save sends
//! and `Preferences::normalised().validate()`, for a typical edit and for the largest valid one
//! (50 labels of 64 characters: the duplicate check is quadratic in the label count).
//!
//! `CARGO_TARGET_DIR=target/bench-criterion cargo bench -p server --bench preferences`
//! (results: docs/BENCHMARKS.md)

use std::hint::black_box;

use app::preferences::{
    DateFormat, EmailDigest, Locale, MAX_LABEL_CHARS, MAX_LABELS, Preferences, Theme,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn typical() -> Preferences {
    Preferences {
        theme: Theme::Dark,
        locale: Locale::EnGb,
        date_format: DateFormat::Long,
        email_digest: EmailDigest::Weekly,
        default_space_key: Some(" dev ".into()),
        default_space_name: None,
        favourite_labels: vec!["HowTo".into(), " release-notes ".into(), "team-a".into()],
        items_per_page: 25,
    }
}

fn largest() -> Preferences {
    Preferences {
        favourite_labels: (0..MAX_LABELS)
            .map(|i| format!("{i:02}{}", "x".repeat(MAX_LABEL_CHARS - 2)))
            .collect(),
        ..typical()
    }
}

fn validate(c: &mut Criterion) {
    for (name, input) in [
        ("preferences/validate_typical", typical()),
        ("preferences/validate_largest", largest()),
    ] {
        assert!(
            input.clone().normalised().validate().is_ok(),
            "{name}: the benchmark input must be valid"
        );
        c.bench_function(name, |b| {
            b.iter_batched(
                || input.clone(),
                |p| black_box(p.normalised()).validate().is_ok(),
                BatchSize::SmallInput,
            )
        });
    }
    let body = serde_json::to_string(&typical()).expect("serialise");
    c.bench_function("preferences/parse_typical_json", |b| {
        b.iter(|| serde_json::from_str::<Preferences>(black_box(&body)).is_ok())
    });
}

criterion_group!(benches, validate);
criterion_main!(benches);
