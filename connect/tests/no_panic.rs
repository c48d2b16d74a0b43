//! Property tests: the parsers never panic on hostile input, and minted tokens always
//! parse and verify.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use connect::{Claims, UnverifiedToken, canonical_request, mint, query_string_hash, verify_hs256};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 384,
        ..ProptestConfig::default()
    }
}

/// Characters that appear in (and around) compact JWS text.
const B64ISH: &str = "[A-Za-z0-9_=+/.-]{0,64}";

fn json_ish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[{}\\[\\]\":,0-9a-z .eE+-]{0,48}",
        Just(r#"{"alg":"HS256"}"#.to_owned()),
        "\\{\"(alg|iss|exp|iat|crit|kid)\":(\"[a-zA-Z0-9]{0,6}\"|-?[0-9]{1,22}(\\.[0-9]{1,3})?|null|true|\\[\\]|\\{\\}),\"(alg|iss|exp|iat)\":(\"HS256\"|[0-9]{1,12}|1e400)\\}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = UnverifiedToken::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_base64ish_three_part_strings(
        h in B64ISH, p in B64ISH, s in B64ISH,
    ) {
        let _ = UnverifiedToken::parse(&format!("{h}.{p}.{s}"));
    }

    #[test]
    fn parse_never_panics_on_encoded_json_ish_segments(
        header in json_ish(), payload in json_ish(), sig in proptest::collection::vec(any::<u8>(), 0..70),
    ) {
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(sig),
        );
        if let Ok(t) = UnverifiedToken::parse(&token) {
            let _ = verify_hs256(&t, b"k");
            let _ = t.claims().check_times(1_700_000_000, 30);
            let _ = t.replay_key();
        }
    }

    #[test]
    fn canonical_request_never_panics(
        method in any::<String>(), path in any::<String>(), query in any::<String>(), base in any::<String>(),
    ) {
        let canonical = canonical_request(&method, &path, &query, &base);
        prop_assert_eq!(query_string_hash(&method, &path, &query, &base).len(), 64);
        // The upper-cased method is followed by '&' and a rooted path.
        let rest = canonical.strip_prefix(&method.to_uppercase()).unwrap_or_default();
        prop_assert!(rest.starts_with("&/"));
    }

    #[test]
    fn canonical_request_never_panics_on_url_ish_input(
        path in "[/a-z%&.0-9]{0,24}", query in "[a-zA-Z0-9%=&+;,~*!'()\\[\\] ]{0,48}", base in "[/a-z]{0,8}",
    ) {
        let _ = canonical_request("get", &path, &query, &base);
    }

    #[test]
    fn minted_hs256_tokens_parse_and_verify(
        iss in "\\PC{1,40}", sub in proptest::option::of("\\PC{1,40}"),
        iat in 0i64..4_000_000_000, life in 0i64..3600,
        secret in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let claims = Claims {
            iss,
            sub,
            qsh: Some(connect::CONTEXT_QSH.to_owned()),
            iat,
            exp: iat + life,
            nbf: None,
            aud: Vec::new(),
            kind: Some(connect::SESSION_KIND.to_owned()),
            context: None,
        };
        let token = mint::hs256(&claims, &secret).unwrap();
        let parsed = UnverifiedToken::parse(&token).unwrap();
        prop_assert_eq!(verify_hs256(&parsed, &secret), Ok(()));
        prop_assert_eq!(parsed.claims(), &claims);
        prop_assert_eq!(parsed.claims().check_times(iat, 0), Ok(()));
    }
}
