//! The docs/AUTH-RULES.md §F1 matrix with real RSA keys: every FIT rule, each shown to refuse.

use super::*;
use crate::error::VerifyError;
use crate::test_keys::{self, OTHER, PRIMARY};
use crate::token::B64;
use crate::{CONTEXT_QSH, mint};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::Sha256;

const NOW: i64 = 1_700_000_000;
const APP: &str = "ari:cloud:ecosystem::app/d9e4002b-120b-426b-834b-402a4a5adce7";
const ENV: &str = "ari:cloud:ecosystem::environment/d9e4002b-120b-426b-834b-402a4a5adce7/1e468bcd-89ab-49f0-a648-14620b9cde00";
const OTHER_ENV: &str = "ari:cloud:ecosystem::environment/d9e4002b-120b-426b-834b-402a4a5adce7/2f579cde-89ab-49f0-a648-14620b9cde00";
const INSTALLATION: &str = "ari:cloud:ecosystem::installation/11ac20df-be56-457d-af77-b776285cb0f0";
const CLOUD: &str = "866c3a03-ec62-4717-91c4-1ad078bfcc60";
const KID: &str = "forge/invocation-token/wf-0e50fccb-239d-4991-a5db-dc850ba3f236";
const LEEWAY: u64 = 30;

/// A FIT as Forge sends it for a UI module call.
fn claims() -> Value {
    json!({
        "iss": "forge/invocation-token",
        "aud": APP,
        "iat": NOW - 5,
        "nbf": NOW - 5,
        "exp": NOW + 20,
        "jti": "a4c1c8a1-5a7e-4b4e-9a8e-1f0e5d2c3b4a",
        "principal": "557058:f6b1c1e2-0000-4000-8000-000000000001",
        "app": {
            "id": APP,
            "version": "5",
            "installationId": INSTALLATION,
            "apiBaseUrl": format!("https://api.atlassian.com/ex/confluence/{CLOUD}"),
            "environment": {"type": "DEVELOPMENT", "id": ENV},
            "module": {"type": "confluence:globalPage", "key": "preferences"},
            "installation": {
                "id": INSTALLATION,
                "contexts": [{"name": "confluence", "cloudId": CLOUD,
                              "apiBaseUrl": format!("https://api.atlassian.com/ex/confluence/{CLOUD}")}]
            }
        },
        "context": {"cloudId": CLOUD, "moduleKey": "preferences"}
    })
}

fn policy() -> FitPolicy {
    FitPolicy::new(
        AppId::parse(APP).unwrap(),
        EnvironmentPolicy::Only(vec![EnvironmentId::parse(ENV).unwrap()]),
        LEEWAY,
    )
}

fn jwk(which: usize) -> Value {
    let n = test_keys::private_key(which)
        .to_public_key()
        .n()
        .to_be_bytes();
    let first = n.iter().position(|&b| b != 0).unwrap_or(0);
    json!({"kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256", "e": "AQAB", "n": B64.encode(&n[first..])})
}

fn key(which: usize) -> ForgeKey {
    let jwks = json!({"keys": [jwk(which)]}).to_string();
    let mut parsed = parse_jwks(jwks.as_bytes()).unwrap();
    assert!(parsed.skipped.is_empty());
    parsed.keys.remove(0).1
}

fn mint(claims: &Value) -> String {
    mint::rs256(claims, KID, test_keys::private_pkcs8(PRIMARY)).unwrap()
}

/// Any header, RS256-signed with the primary key.
fn mint_with_header(header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let sig = test_keys::private_key(PRIMARY)
        .pkcs1v15_sign::<Sha256>(input.as_bytes())
        .unwrap();
    format!("{input}.{}", B64.encode(sig))
}

fn verify_at(token: &str, now: i64) -> Result<VerifiedFit, FitError> {
    let fit = UnverifiedFit::parse(token)?;
    assert_eq!(fit.kid().as_str(), KID);
    fit.verify(&key(PRIMARY), &policy(), now)
}

fn verify(claims: &Value) -> Result<VerifiedFit, FitError> {
    verify_at(&mint(claims), NOW)
}

/// `claims()` with the member at `path` (dot-separated) set to `value`, or removed if `None`.
fn edit(path: &str, value: Option<Value>) -> Value {
    let mut c = claims();
    let (parents, last) = path
        .rsplit_once('.')
        .map_or((None, path), |(p, l)| (Some(p), l));
    let mut target = &mut c;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        target = target.get_mut(part).unwrap();
    }
    let obj = target.as_object_mut().unwrap();
    match value {
        Some(v) => obj.insert(last.to_owned(), v),
        None => obj.remove(last),
    };
    c
}

fn token_err(e: VerifyError) -> Result<VerifiedFit, FitError> {
    Err(FitError::Token(e))
}

#[test]
fn a_valid_token_verifies_into_typed_claims() {
    let v = verify(&claims()).unwrap();
    assert_eq!(v.app_id.as_str(), APP);
    assert_eq!(v.installation_id.as_str(), INSTALLATION);
    assert_eq!(v.environment_id.as_str(), ENV);
    assert_eq!(v.environment_type.as_deref(), Some("DEVELOPMENT"));
    assert_eq!(v.cloud_id.as_ref().map(CloudId::as_str), Some(CLOUD));
    assert_eq!(
        v.principal.as_ref().map(AccountId::as_str),
        Some("557058:f6b1c1e2-0000-4000-8000-000000000001")
    );
    assert_eq!(
        v.api_base_url,
        format!("https://api.atlassian.com/ex/confluence/{CLOUD}")
    );
    assert_eq!(
        v.module,
        Some(FitModule {
            kind: "confluence:globalPage".into(),
            key: "preferences".into()
        })
    );
    assert_eq!(v.jti, "a4c1c8a1-5a7e-4b4e-9a8e-1f0e5d2c3b4a");
    assert_eq!((v.iat, v.exp), (NOW - 5, NOW + 20));
}

#[test]
fn a_trigger_has_no_principal_and_may_name_the_site_once() {
    let c = edit("principal", None);
    assert_eq!(verify(&c).unwrap().principal, None);
    assert_eq!(
        verify(&edit("principal", Some(Value::Null)))
            .unwrap()
            .principal,
        None
    );
    for bad in [json!(""), json!(7), json!(["a"]), json!("a b")] {
        assert_eq!(
            verify(&edit("principal", Some(bad))),
            token_err(VerifyError::InvalidClaim("principal"))
        );
    }
    // Only `context.cloudId`, only the contexts, or neither.
    let only_context = edit("app.installation", None);
    assert_eq!(
        verify(&only_context).unwrap().cloud_id.unwrap().as_str(),
        CLOUD
    );
    let only_contexts = edit("context", None);
    assert_eq!(
        verify(&only_contexts).unwrap().cloud_id.unwrap().as_str(),
        CLOUD
    );
    let mut neither = edit("context", None);
    neither["app"]
        .as_object_mut()
        .unwrap()
        .remove("installation");
    assert_eq!(verify(&neither).unwrap().cloud_id, None);
}

#[test]
fn expiry_is_told_apart_and_honours_the_leeway() {
    let token = mint(&claims());
    let exp = NOW + 20;
    assert!(verify_at(&token, exp + i64::try_from(LEEWAY).unwrap()).is_ok());
    let e = verify_at(&token, exp + i64::try_from(LEEWAY).unwrap() + 1).unwrap_err();
    assert_eq!(e, FitError::Token(VerifyError::Expired));
    assert_eq!(e.code(), "token_expired");
    assert_eq!(
        verify_at(&token, exp + 3600).unwrap_err().code(),
        "token_expired"
    );
}

#[test]
fn not_before_and_issued_at_in_the_future_are_refused() {
    let mut c = edit("nbf", Some(json!(NOW + i64::try_from(LEEWAY).unwrap() + 1)));
    c["exp"] = json!(NOW + 60);
    assert_eq!(verify(&c), token_err(VerifyError::NotYetValid));
    c["nbf"] = json!(NOW + i64::try_from(LEEWAY).unwrap());
    assert!(verify(&c).is_ok());
    let mut c = claims();
    c["iat"] = json!(NOW + 100);
    c["nbf"] = json!(NOW + 100);
    c["exp"] = json!(NOW + 120);
    assert_eq!(verify(&c), token_err(VerifyError::IssuedInFuture));
}

#[test]
fn every_required_claim_is_required() {
    for (path, name) in [
        ("iss", "iss"),
        ("aud", "aud"),
        ("iat", "iat"),
        ("nbf", "nbf"),
        ("exp", "exp"),
        ("jti", "jti"),
        ("app", "app"),
        ("app.id", "app.id"),
        ("app.installationId", "app.installationId"),
        ("app.apiBaseUrl", "app.apiBaseUrl"),
        ("app.environment", "app.environment"),
        ("app.environment.id", "app.environment.id"),
    ] {
        assert_eq!(
            verify(&edit(path, None)),
            token_err(VerifyError::MissingClaim(name)),
            "{path}"
        );
    }
}

#[test]
fn claims_are_typed_not_coerced() {
    for (path, value, name) in [
        ("exp", json!(format!("{}", NOW + 20)), "exp"),
        ("nbf", json!(null), "nbf"),
        ("iss", json!(["forge/invocation-token"]), "iss"),
        ("aud", json!([APP]), "aud"),
        ("jti", json!(""), "jti"),
        ("jti", json!("j".repeat(257)), "jti"),
        ("app", json!(APP), "app"),
        (
            "app.installationId",
            json!("11ac20df-be56-457d-af77-b776285cb0f0"),
            "app.installationId",
        ),
        ("app.installationId", json!(APP), "app.installationId"),
        (
            "app.environment.id",
            json!("DEVELOPMENT"),
            "app.environment.id",
        ),
        ("app.environment.type", json!(1), "app.environment.type"),
        (
            "app.apiBaseUrl",
            json!("https://api.atlassian.com/ex/ x"),
            "app.apiBaseUrl",
        ),
        ("app.module", json!("preferences"), "app.module"),
        (
            "app.installation.contexts",
            json!({}),
            "app.installation.contexts",
        ),
        ("context.cloudId", json!("site-1"), "context.cloudId"),
    ] {
        assert_eq!(
            verify(&edit(path, Some(value))),
            token_err(VerifyError::InvalidClaim(name)),
            "{path}"
        );
    }
}

#[test]
fn issuer_audience_and_app_id_must_name_forge_and_this_app() {
    let other_app = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000000";
    assert_eq!(
        verify(&edit("iss", Some(json!("forge/invocation-token/")))),
        Err(FitError::WrongIssuer)
    );
    assert_eq!(
        verify(&edit("iss", Some(json!("client-1")))),
        Err(FitError::WrongIssuer)
    );
    let mut c = edit("aud", Some(json!(other_app)));
    c["app"]["id"] = json!(other_app);
    assert_eq!(verify(&c), Err(FitError::WrongAudience));
    assert_eq!(
        verify(&edit("app.id", Some(json!(other_app)))),
        Err(FitError::AppIdMismatch)
    );
}

#[test]
fn only_allowed_environments_of_this_app_may_call() {
    assert_eq!(
        verify(&edit("app.environment.id", Some(json!(OTHER_ENV)))),
        Err(FitError::EnvironmentNotAllowed)
    );
    // Development policy: any environment of this app, never another app's.
    let mut any = policy();
    any.environments = EnvironmentPolicy::AnyOfApp;
    let fit =
        UnverifiedFit::parse(&mint(&edit("app.environment.id", Some(json!(OTHER_ENV))))).unwrap();
    assert!(fit.verify(&key(PRIMARY), &any, NOW).is_ok());
    let foreign = "ari:cloud:ecosystem::environment/00000000-0000-4000-8000-000000000000/1e468bcd-89ab-49f0-a648-14620b9cde00";
    let fit =
        UnverifiedFit::parse(&mint(&edit("app.environment.id", Some(json!(foreign))))).unwrap();
    assert_eq!(
        fit.verify(&key(PRIMARY), &any, NOW),
        Err(FitError::EnvironmentNotAllowed)
    );
}

#[test]
fn isolated_cloud_tokens_are_refused() {
    assert_eq!(
        verify(&edit("icLabel", Some(json!("ic-1")))),
        Err(FitError::IsolatedCloud)
    );
    assert_eq!(
        verify(&edit("app.icLabel", Some(json!("ic-1")))),
        Err(FitError::IsolatedCloud)
    );
    assert_eq!(
        verify(&edit("icLabel", Some(Value::Null))),
        Err(FitError::IsolatedCloud)
    );
}

#[test]
fn lifetime_is_capped_with_checked_arithmetic() {
    let mut c = claims();
    c["exp"] = json!(NOW - 5 + 300);
    assert!(verify(&c).is_ok());
    c["exp"] = json!(NOW - 5 + 301);
    assert_eq!(verify(&c), Err(FitError::LifetimeTooLong));
    // A looser policy value never lifts the cap.
    let mut loose = policy();
    loose.max_lifetime_secs = i64::MAX;
    let fit = UnverifiedFit::parse(&mint(&c)).unwrap();
    assert_eq!(
        fit.verify(&key(PRIMARY), &loose, NOW),
        Err(FitError::LifetimeTooLong)
    );
    // exp - iat overflows i64: refused, not wrapped into a short life.
    let mut c = claims();
    c["iat"] = json!(i64::MIN);
    c["nbf"] = json!(i64::MIN);
    c["exp"] = json!(i64::MAX);
    assert_eq!(verify(&c), token_err(VerifyError::BadTimes));
}

#[test]
fn api_base_url_must_be_atlassians() {
    for bad in [
        "https://api.atlassian.com.evil.example/ex/confluence/x",
        "http://api.atlassian.com/ex/confluence/x",
        "https://evil.example/ex/",
        "https://api.atlassian.com/",
    ] {
        assert_eq!(
            verify(&edit("app.apiBaseUrl", Some(json!(bad)))),
            Err(FitError::ApiBaseUrlNotAllowed),
            "{bad}"
        );
    }
    // The prefix is a policy field (staging or a future host).
    let mut staging = policy();
    staging.api_base_url_prefix = "https://api.stg.atlassian.com/ex/".into();
    let c = edit(
        "app.apiBaseUrl",
        Some(json!("https://api.stg.atlassian.com/ex/confluence/x")),
    );
    assert!(
        UnverifiedFit::parse(&mint(&c))
            .unwrap()
            .verify(&key(PRIMARY), &staging, NOW)
            .is_ok()
    );
}

#[test]
fn ids_naming_the_site_must_agree() {
    let other = "ari:cloud:ecosystem::installation/22222222-2222-4222-8222-222222222222";
    assert_eq!(
        verify(&edit("app.installation.id", Some(json!(other)))),
        Err(FitError::InconsistentInstallation)
    );
    assert_eq!(
        verify(&edit(
            "context.cloudId",
            Some(json!("11111111-1111-4111-8111-111111111111"))
        )),
        Err(FitError::InconsistentInstallation)
    );
}

#[test]
fn the_header_is_checked_before_any_key_is_needed() {
    let c = claims();
    for alg in ["none", "HS256", "ES256", "RS512", "PS256", "rs256", ""] {
        let t = mint_with_header(&json!({"alg": alg, "kid": KID}), &c);
        assert_eq!(
            UnverifiedFit::parse(&t).unwrap_err(),
            FitError::Token(VerifyError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
    let t = mint_with_header(&json!({"alg": "RS256"}), &c);
    assert_eq!(
        UnverifiedFit::parse(&t).unwrap_err(),
        FitError::Token(VerifyError::MissingKid)
    );
    for kid in ["", "a b", "k\u{1}", &"k".repeat(MAX_FIT_KID_LEN + 1)] {
        let t = mint_with_header(&json!({"alg": "RS256", "kid": kid}), &c);
        assert_eq!(
            UnverifiedFit::parse(&t).unwrap_err(),
            FitError::Token(VerifyError::InvalidKid),
            "{kid:?}"
        );
    }
    let t = mint_with_header(&json!({"alg": "RS256", "kid": KID, "crit": ["x"]}), &c);
    assert_eq!(
        UnverifiedFit::parse(&t).unwrap_err(),
        FitError::Token(VerifyError::CriticalHeader)
    );
    // `alg: none` with no signature does not even parse.
    let t = mint_with_header(&json!({"alg": "none", "kid": KID}), &c);
    let unsigned = format!("{}.", t.rsplit_once('.').unwrap().0);
    assert!(UnverifiedFit::parse(&unsigned).is_err());
}

#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    let input = format!(
        "{}.{}",
        B64.encode(json!({"alg": "HS256", "kid": KID}).to_string()),
        B64.encode(claims().to_string())
    );
    for secret in [
        test_keys::public_pem(PRIMARY).as_bytes(),
        jwk(PRIMARY).to_string().as_bytes(),
    ] {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        let t = format!("{input}.{}", B64.encode(mac.finalize().into_bytes()));
        assert_eq!(
            UnverifiedFit::parse(&t).unwrap_err(),
            FitError::Token(VerifyError::UnsupportedAlgorithm)
        );
    }
}

#[test]
fn the_signature_is_checked_before_any_claim() {
    let t = mint(&claims());
    let (header, rest) = t.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let mut evil = claims();
    evil["principal"] = json!("557058:victim");
    let tampered = format!("{header}.{}.{sig}", B64.encode(evil.to_string()));
    assert_eq!(
        verify_at(&tampered, NOW),
        token_err(VerifyError::BadSignature)
    );
    // An expired token with a bad signature says "bad signature", not "expired".
    assert_eq!(
        verify_at(&tampered, NOW + 10_000),
        token_err(VerifyError::BadSignature)
    );
    // Signed by a key that is not the one published under the kid.
    let fit = UnverifiedFit::parse(&t).unwrap();
    assert_eq!(
        fit.verify(&key(OTHER), &policy(), NOW),
        token_err(VerifyError::BadSignature)
    );
}

#[test]
fn connect_tokens_are_not_fits() {
    let connect = json!({"iss": "client-1", "sub": "acc-1", "qsh": CONTEXT_QSH, "iat": NOW, "exp": NOW + 180});
    let hs = mint::hs256(&connect, b"shared-secret").unwrap();
    assert_eq!(
        UnverifiedFit::parse(&hs).unwrap_err(),
        FitError::Token(VerifyError::UnsupportedAlgorithm)
    );
    // An install token (RS256) signed with a key Forge also uses still lacks FIT claims.
    let lifecycle = json!({"iss": "client-1", "aud": "https://app.example.com", "qsh": "abc",
                           "iat": NOW, "exp": NOW + 180});
    let rs = mint::rs256(&lifecycle, KID, test_keys::private_pkcs8(PRIMARY)).unwrap();
    assert!(verify_at(&rs, NOW).is_err());
}

#[test]
fn duplicate_claims_and_oversized_tokens_are_refused() {
    let dup = format!(
        r#"{{"iss":"forge/invocation-token","aud":"{APP}","aud":"{APP}","iat":{NOW},"nbf":{NOW},"exp":{}}}"#,
        NOW + 20
    );
    let input = format!(
        "{}.{}",
        B64.encode(json!({"alg": "RS256", "kid": KID}).to_string()),
        B64.encode(dup)
    );
    let t = format!("{input}.{}", B64.encode([1u8; 256]));
    assert_eq!(
        UnverifiedFit::parse(&t).unwrap_err(),
        FitError::Token(VerifyError::Malformed("payload_json"))
    );
    let big = edit("pad", Some(json!("x".repeat(9000))));
    let t = mint_with_header(&json!({"alg": "RS256", "kid": KID}), &big);
    assert_eq!(
        UnverifiedFit::parse(&t).unwrap_err(),
        FitError::Token(VerifyError::TooLarge)
    );
    assert_eq!(
        UnverifiedFit::parse(&"a".repeat(1 << 20)).unwrap_err(),
        FitError::Token(VerifyError::TooLarge)
    );
}

#[test]
fn debug_output_hides_the_token() {
    let t = mint(&claims());
    let fit = UnverifiedFit::parse(&t).unwrap();
    let dbg = format!("{fit:?}");
    assert!(dbg.contains(KID));
    assert!(!dbg.contains(t.rsplit('.').next().unwrap()));
    assert!(!dbg.contains(t.split('.').nth(1).unwrap()));
    assert_eq!(format!("{:?}", key(PRIMARY)), "ForgeKey { bits: 2048 }");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn on_arbitrary_text(s in "\\PC{0,600}") {
            let _ = UnverifiedFit::parse(&s);
        }

        #[test]
        fn on_arbitrary_segments(h in "[A-Za-z0-9_-]{0,80}", p in "[A-Za-z0-9_-]{0,400}", s in "[A-Za-z0-9_-]{0,400}") {
            if let Ok(fit) = UnverifiedFit::parse(&format!("{h}.{p}.{s}")) {
                let _ = fit.verify(&key(PRIMARY), &policy(), NOW);
            }
        }

        #[test]
        fn on_any_valid_token_with_one_byte_changed(at in 0usize..4096, byte in any::<u8>()) {
            let mut t = mint(&claims()).into_bytes();
            let at = at % t.len();
            prop_assume!(t[at] != byte);
            t[at] = byte;
            if let Ok(text) = String::from_utf8(t) {
                let verified = UnverifiedFit::parse(&text)
                    .and_then(|fit| fit.verify(&key(PRIMARY), &policy(), NOW));
                prop_assert!(verified.is_err());
            }
        }

        #[test]
        fn on_arbitrary_claims_json(payload in "\\PC{0,300}") {
            let input = format!("{}.{}", B64.encode(json!({"alg": "RS256", "kid": KID}).to_string()), B64.encode(&payload));
            let sig = test_keys::private_key(PRIMARY).pkcs1v15_sign::<Sha256>(input.as_bytes()).unwrap();
            if let Ok(fit) = UnverifiedFit::parse(&format!("{input}.{}", B64.encode(sig))) {
                prop_assert!(fit.verify(&key(PRIMARY), &policy(), NOW).is_err());
            }
        }
    }
}
