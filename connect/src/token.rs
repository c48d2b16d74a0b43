//! Strict parsing of a compact JWS into header, claims and decoded signature.
//! Checks structure only, never the signature: an [`UnverifiedToken`] must go through
//! [`crate::verify`] before any of its claims are trusted.

use crate::claims::Claims;
use crate::error::VerifyError;
use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;

/// Longest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Canonical base64url: no padding accepted, and non-zero unused trailing bits rejected, so a
/// signature has exactly one textual form (no malleated re-encodings).
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// The JOSE header fields we read. `jku`, `jwk`, `x5u` and `x5c` are never consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The algorithm the token claims; verification pins it per route, never obeys it.
    pub alg: String,
    /// Key id (signed install tokens).
    pub kid: Option<String>,
    /// Media type, informational.
    pub typ: Option<String>,
}

/// A structurally valid token whose signature has not been checked yet.
#[derive(Clone)]
pub struct UnverifiedToken {
    header: Header,
    claims: Claims,
    signing_input: String,
    signature: Vec<u8>,
}

impl UnverifiedToken {
    /// Strict parse: non-empty, at most [`MAX_TOKEN_BYTES`], exactly three non-empty
    /// `.`-separated segments of canonical unpadded base64url, header and payload JSON objects
    /// without duplicate keys, a string `alg`, string `kid`/`typ` when present, and no `crit`.
    pub fn parse(token: &str) -> Result<Self, VerifyError> {
        let jws = Jws::parse(token)?;
        Ok(Self {
            claims: Claims::from_object(&jws.payload)?,
            header: jws.header,
            signing_input: jws.signing_input,
            signature: jws.signature,
        })
    }

    /// The decoded JOSE header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The decoded claims (unverified until a `verify_*` call succeeded).
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The claims, taking them out of the token.
    pub fn into_claims(self) -> Claims {
        self.claims
    }

    /// `b64header.b64payload`, the bytes the signature covers.
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The decoded signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// SHA-256 over signing input + `.` + decoded signature: the replay-cache key. Built from
    /// decoded bytes, never the raw string, so a re-encoded signature maps to the same key.
    pub fn replay_key(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.signing_input.as_bytes());
        h.update(b".");
        h.update(&self.signature);
        h.finalize().into()
    }
}

impl fmt::Debug for UnverifiedToken {
    // The token text and signature stay out of logs; header and claims are not secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnverifiedToken")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// A compact JWS split and decoded under the same strict rules as [`UnverifiedToken::parse`],
/// with the payload left as a JSON object: for token kinds whose claims are not Connect's
/// (Forge invocation tokens read theirs only after the signature verified).
pub(crate) struct Jws {
    pub(crate) header: Header,
    pub(crate) payload: Map<String, Value>,
    pub(crate) signing_input: String,
    pub(crate) signature: Vec<u8>,
}

impl Jws {
    pub(crate) fn parse(token: &str) -> Result<Self, VerifyError> {
        if token.is_empty() {
            return Err(VerifyError::Malformed("empty"));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(h64), Some(p64), Some(s64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed("segment_count"));
        };
        let header = parse_header(&json_object(&decode_segment(h64)?, "header_json")?)?;
        let payload = json_object(&decode_segment(p64)?, "payload_json")?;
        let signature = decode_segment(s64)?;
        Ok(Self {
            header,
            payload,
            signing_input: token[..h64.len() + 1 + p64.len()].to_owned(),
            signature,
        })
    }
}

fn decode_segment(segment: &str) -> Result<Vec<u8>, VerifyError> {
    if segment.is_empty() {
        return Err(VerifyError::Malformed("empty_segment"));
    }
    // `B64` accepts only the canonical text of the bytes (no padding, no stray trailing bits),
    // so decoding alone proves canonical encoding; the tests pin this down.
    B64.decode(segment)
        .map_err(|_| VerifyError::Malformed("base64"))
}

/// A JSON object with no duplicate keys at any depth, in one parse.
fn json_object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, VerifyError> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(map))) => Ok(map),
        _ => Err(VerifyError::Malformed(what)),
    }
}

fn parse_header(obj: &Map<String, Value>) -> Result<Header, VerifyError> {
    if obj.contains_key("crit") {
        return Err(VerifyError::CriticalHeader);
    }
    let optional = |name: &'static str| match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(VerifyError::Malformed(name)),
    };
    Ok(Header {
        alg: optional("alg")?.ok_or(VerifyError::Malformed("alg"))?,
        kid: optional("kid")?,
        typ: optional("typ")?,
    })
}

/// A JSON value that fails on any object with a repeated key, at any depth (serde_json would
/// keep the last one silently, letting two parsers disagree about `iss` or `exp`).
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictValueVisitor).map(StrictValue)
    }
}

struct StrictValueVisitor;

impl<'de> Visitor<'de> for StrictValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // Non-finite numbers cannot come from JSON text; `Null` is what serde_json would make.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom("duplicate key"));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn b64(bytes: &[u8]) -> String {
        B64.encode(bytes)
    }

    fn claims() -> Value {
        json!({"iss": "client-1", "sub": "acc-1", "qsh": "context-qsh", "iat": NOW, "exp": NOW + 180})
    }

    fn raw(header: &str, payload: &str, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64(header.as_bytes()),
            b64(payload.as_bytes()),
            b64(sig)
        )
    }

    fn good() -> String {
        raw(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &claims().to_string(),
            &[7u8; 32],
        )
    }

    #[test]
    fn parses_a_well_formed_token() {
        let t = UnverifiedToken::parse(&good()).unwrap();
        assert_eq!(t.header().alg, "HS256");
        assert_eq!(t.header().typ.as_deref(), Some("JWT"));
        assert_eq!(t.header().kid, None);
        assert_eq!(t.claims().iss, "client-1");
        assert_eq!(t.signature(), &[7u8; 32]);
        let token = good();
        let (input, _) = token.rsplit_once('.').unwrap();
        assert_eq!(t.signing_input(), input);
    }

    #[test]
    fn rejects_empty_and_oversized() {
        assert_eq!(
            UnverifiedToken::parse("").unwrap_err(),
            VerifyError::Malformed("empty")
        );
        let big = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            UnverifiedToken::parse(&big).unwrap_err(),
            VerifyError::TooLarge
        );
        let padded = json!({"iss": "c", "iat": NOW, "exp": NOW + 1, "pad": "x".repeat(7000)});
        let t = raw(r#"{"alg":"HS256"}"#, &padded.to_string(), &[1; 32]);
        assert!(t.len() > MAX_TOKEN_BYTES);
        assert_eq!(
            UnverifiedToken::parse(&t).unwrap_err(),
            VerifyError::TooLarge
        );
    }

    #[test]
    fn rejects_wrong_segment_counts_and_empty_segments() {
        let g = good();
        let parts: Vec<&str> = g.split('.').collect();
        let (h, p, s) = (parts[0], parts[1], parts[2]);
        let seg = VerifyError::Malformed("segment_count");
        let empty = VerifyError::Malformed("empty_segment");
        assert_eq!(
            UnverifiedToken::parse(&format!("{h}.{p}")).unwrap_err(),
            seg
        );
        assert_eq!(
            UnverifiedToken::parse(&format!("{h}.{p}.{s}.{s}")).unwrap_err(),
            seg
        );
        assert_eq!(
            UnverifiedToken::parse(&format!("{h}.{p}.{s}.")).unwrap_err(),
            seg
        );
        assert_eq!(UnverifiedToken::parse(h).unwrap_err(), seg);
        assert_eq!(UnverifiedToken::parse("..").unwrap_err(), empty);
        assert_eq!(
            UnverifiedToken::parse(&format!("{h}.{p}.")).unwrap_err(),
            empty
        );
        assert_eq!(
            UnverifiedToken::parse(&format!("{h}..{s}")).unwrap_err(),
            empty
        );
        assert_eq!(
            UnverifiedToken::parse(&format!(".{p}.{s}")).unwrap_err(),
            empty
        );
    }

    #[test]
    fn rejects_padding_and_non_base64url() {
        let g = good();
        let (input, sig) = g.rsplit_once('.').unwrap();
        // 32-byte signature: 43 chars, canonical form has no '='.
        assert_eq!(sig.len(), 43);
        let b64err = VerifyError::Malformed("base64");
        assert_eq!(
            UnverifiedToken::parse(&format!("{input}.{sig}=")).unwrap_err(),
            b64err
        );
        let std_alphabet = format!("{input}.{}", sig.replace('-', "+").replace('_', "/"));
        if std_alphabet != g {
            assert_eq!(UnverifiedToken::parse(&std_alphabet).unwrap_err(), b64err);
        }
        assert_eq!(
            UnverifiedToken::parse(&format!("{input}.a+b/")).unwrap_err(),
            b64err
        );
        assert_eq!(
            UnverifiedToken::parse(&format!("{input}. {sig}")).unwrap_err(),
            b64err
        );
        assert_eq!(
            UnverifiedToken::parse(&format!("{input}.{sig}\n")).unwrap_err(),
            b64err
        );
        // 45 characters: a length no base64 text can have.
        assert_eq!(
            UnverifiedToken::parse(&format!("{input}.{sig}AA")).unwrap_err(),
            b64err
        );
        let padded_header = format!("{}=", b64(br#"{"alg":"HS256"}"#));
        let t = format!(
            "{padded_header}.{}.{sig}",
            b64(claims().to_string().as_bytes())
        );
        assert_eq!(UnverifiedToken::parse(&t).unwrap_err(), b64err);
    }

    /// Same decoded bytes, different text: flip the unused low bits of the last character.
    fn malleate(segment: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = segment.as_bytes()[segment.len() - 1];
        let idx = ALPHABET.iter().position(|&c| c == last).unwrap();
        // 32 bytes → 43 chars: the last char holds 4 data bits and 2 unused (zero) bits.
        assert_eq!(idx & 0b11, 0);
        let mut out = segment[..segment.len() - 1].to_owned();
        out.push(char::from(ALPHABET[idx | 0b01]));
        out
    }

    #[test]
    fn rejects_non_canonical_signature_encoding() {
        let g = good();
        let (input, sig) = g.rsplit_once('.').unwrap();
        let malleated = malleate(sig);
        assert_ne!(malleated, sig);
        // A lenient decoder sees the very same signature bytes...
        let lenient = GeneralPurpose::new(
            &URL_SAFE,
            GeneralPurposeConfig::new()
                .with_decode_padding_mode(DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        assert_eq!(
            lenient.decode(&malleated).unwrap(),
            lenient.decode(sig).unwrap()
        );
        // ...but the strict parser refuses the re-encoding.
        assert_eq!(
            UnverifiedToken::parse(&format!("{input}.{malleated}")).unwrap_err(),
            VerifyError::Malformed("base64")
        );
    }

    #[test]
    fn header_and_payload_must_be_json_objects() {
        let c = claims().to_string();
        let hdr = VerifyError::Malformed("header_json");
        let pay = VerifyError::Malformed("payload_json");
        for bad in [
            "[]",
            r#""HS256""#,
            "null",
            "1",
            "{",
            r#"{"alg":"HS256"} x"#,
            "\u{0}",
        ] {
            assert_eq!(
                UnverifiedToken::parse(&raw(bad, &c, &[1; 32])).unwrap_err(),
                hdr
            );
            let hs = r#"{"alg":"HS256"}"#;
            assert_eq!(
                UnverifiedToken::parse(&raw(hs, bad, &[1; 32])).unwrap_err(),
                pay
            );
        }
        let not_utf8 = format!(
            "{}.{}.{}",
            b64(&[0xff, 0xfe]),
            b64(c.as_bytes()),
            b64(&[1; 32])
        );
        assert_eq!(UnverifiedToken::parse(&not_utf8).unwrap_err(), hdr);
    }

    #[test]
    fn header_fields_are_typed() {
        let c = claims().to_string();
        let parse = |h: &str| UnverifiedToken::parse(&raw(h, &c, &[1; 32]));
        assert_eq!(parse("{}").unwrap_err(), VerifyError::Malformed("alg"));
        assert_eq!(
            parse(r#"{"alg":null}"#).unwrap_err(),
            VerifyError::Malformed("alg")
        );
        assert_eq!(
            parse(r#"{"alg":["HS256"]}"#).unwrap_err(),
            VerifyError::Malformed("alg")
        );
        assert_eq!(
            parse(r#"{"alg":"RS256","kid":7}"#).unwrap_err(),
            VerifyError::Malformed("kid")
        );
        assert_eq!(
            parse(r#"{"alg":"HS256","typ":false}"#).unwrap_err(),
            VerifyError::Malformed("typ")
        );
        let t = parse(r#"{"alg":"RS256","kid":"k1"}"#).unwrap();
        assert_eq!(t.header().kid.as_deref(), Some("k1"));
    }

    #[test]
    fn crit_header_is_rejected_whatever_its_value() {
        let c = claims().to_string();
        for h in [
            r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
            r#"{"alg":"HS256","crit":[]}"#,
            r#"{"alg":"HS256","crit":null}"#,
        ] {
            let t = raw(h, &c, &[1; 32]);
            assert_eq!(
                UnverifiedToken::parse(&t).unwrap_err(),
                VerifyError::CriticalHeader
            );
        }
    }

    #[test]
    fn key_reference_headers_are_ignored() {
        let c = claims().to_string();
        let h = r#"{"alg":"RS256","kid":"k","jku":"https://evil/jwks","jwk":{"kty":"RSA"},"x5u":"https://evil","x5c":["AAAA"]}"#;
        let t = UnverifiedToken::parse(&raw(h, &c, &[1; 32])).unwrap();
        assert_eq!(t.header().alg, "RS256");
    }

    #[test]
    fn duplicate_keys_are_rejected_at_any_depth() {
        let hs = r#"{"alg":"HS256"}"#;
        let dup_exp = format!(
            r#"{{"iss":"c","iat":{NOW},"exp":{NOW},"exp":{}}}"#,
            NOW + 99999
        );
        let pay = VerifyError::Malformed("payload_json");
        assert_eq!(
            UnverifiedToken::parse(&raw(hs, &dup_exp, &[1; 32])).unwrap_err(),
            pay
        );
        let escaped = format!(r#"{{"iss":"c","iat":{NOW},"exp":{NOW},"e\u0078p":1}}"#);
        assert_eq!(
            UnverifiedToken::parse(&raw(hs, &escaped, &[1; 32])).unwrap_err(),
            pay
        );
        let nested = format!(r#"{{"iss":"c","iat":{NOW},"exp":{NOW},"context":{{"a":1,"a":2}}}}"#);
        assert_eq!(
            UnverifiedToken::parse(&raw(hs, &nested, &[1; 32])).unwrap_err(),
            pay
        );
        let c = claims().to_string();
        let dup_alg = r#"{"alg":"none","alg":"HS256"}"#;
        assert_eq!(
            UnverifiedToken::parse(&raw(dup_alg, &c, &[1; 32])).unwrap_err(),
            VerifyError::Malformed("header_json")
        );
    }

    #[test]
    fn deeply_nested_json_fails_cleanly() {
        let deep = format!(
            r#"{{"iss":"c","iat":{NOW},"exp":{NOW},"context":{}1{}}}"#,
            "[".repeat(2000),
            "]".repeat(2000)
        );
        let t = raw(r#"{"alg":"HS256"}"#, &deep, &[1; 32]);
        assert_eq!(
            UnverifiedToken::parse(&t).unwrap_err(),
            VerifyError::Malformed("payload_json")
        );
    }

    #[test]
    fn claim_errors_surface_from_parse() {
        let no_exp = json!({"iss": "c", "iat": NOW}).to_string();
        let t = raw(r#"{"alg":"HS256"}"#, &no_exp, &[1; 32]);
        assert_eq!(
            UnverifiedToken::parse(&t).unwrap_err(),
            VerifyError::MissingClaim("exp")
        );
        let str_exp = json!({"iss": "c", "iat": NOW, "exp": "9999999999"}).to_string();
        let t = raw(r#"{"alg":"HS256"}"#, &str_exp, &[1; 32]);
        assert_eq!(
            UnverifiedToken::parse(&t).unwrap_err(),
            VerifyError::InvalidClaim("exp")
        );
    }

    #[test]
    fn replay_key_covers_input_and_decoded_signature() {
        let a = UnverifiedToken::parse(&good()).unwrap();
        let b = UnverifiedToken::parse(&good()).unwrap();
        assert_eq!(a.replay_key(), b.replay_key());
        let other_sig = raw(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &claims().to_string(),
            &[8u8; 32],
        );
        let c = UnverifiedToken::parse(&other_sig).unwrap();
        assert_ne!(a.replay_key(), c.replay_key());
        let mut h = Sha256::new();
        h.update(a.signing_input().as_bytes());
        h.update(b".");
        h.update([7u8; 32]);
        let expected: [u8; 32] = h.finalize().into();
        assert_eq!(a.replay_key(), expected);
    }

    #[test]
    fn debug_output_hides_token_text() {
        let g = good();
        let t = UnverifiedToken::parse(&g).unwrap();
        let dbg = format!("{t:?}");
        let (_, sig) = g.rsplit_once('.').unwrap();
        assert!(!dbg.contains(sig));
        assert!(!dbg.contains(g.split('.').next().unwrap()));
    }
}
