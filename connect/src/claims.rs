//! The claim set of a Connect JWT: strict typed parsing of the payload object and the
//! time, `qsh`, `aud` and `iss` rules of docs/AUTH-RULES.md §C2. Never coerces types (a string
//! `exp` is rejected, not read) and never trusts `context` for authority.

use crate::error::VerifyError;
use crate::qsh::CONTEXT_QSH;
use serde::Serialize;
use serde_json::{Map, Value};

/// Largest leeway honoured by [`Claims::check_times`]; larger values are clamped (the
/// contract is leeway ≤ 60 s).
pub const MAX_LEEWAY_SECS: u64 = 60;

/// The leeway the reference frameworks (ACSB, atlassian-jwt Scala) use.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;

/// The claims of a Connect JWT, as parsed from its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// The tenant `clientKey`: the only input that selects a shared secret. Non-empty.
    pub iss: String,
    /// The acting user's accountId; absent for anonymous users. Non-empty when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Query string hash; optional here, required by route policy ([`Claims::check_qsh`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qsh: Option<String>,
    /// Issued-at (NumericDate, seconds, fractions floored).
    pub iat: i64,
    /// Expiry (NumericDate, seconds, fractions floored).
    pub exp: i64,
    /// Not-before (NumericDate), if present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Audience: a string or an array of strings in the token; absent = empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aud: Vec<String>,
    /// Private claim: `"app-session"` marks tokens the app minted itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Host context (license, project, …): informational only, never authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

impl Claims {
    /// Reads the claims from a payload object. Unknown claims are ignored.
    pub(crate) fn from_object(obj: &Map<String, Value>) -> Result<Self, VerifyError> {
        let iss = match obj.get("iss") {
            None => return Err(VerifyError::MissingClaim("iss")),
            Some(v) => non_empty_string(v).ok_or(VerifyError::InvalidClaim("iss"))?,
        };
        let sub = match obj.get("sub") {
            None => None,
            Some(v) => Some(non_empty_string(v).ok_or(VerifyError::InvalidClaim("sub"))?),
        };
        let qsh = optional_string(obj, "qsh")?;
        let kind = optional_string(obj, "kind")?;
        let iat = required_date(obj, "iat")?;
        let exp = required_date(obj, "exp")?;
        let nbf = match obj.get("nbf") {
            None => None,
            Some(v) => Some(numeric_date(v).ok_or(VerifyError::InvalidClaim("nbf"))?),
        };
        let aud = match obj.get("aud") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(VerifyError::InvalidClaim("aud"))?,
            Some(_) => return Err(VerifyError::InvalidClaim("aud")),
        };
        Ok(Self {
            iss,
            sub,
            qsh,
            iat,
            exp,
            nbf,
            aud,
            kind,
            context: obj.get("context").cloned(),
        })
    }

    /// The time rules, with `leeway_secs` clamped to [`MAX_LEEWAY_SECS`]:
    /// `exp < iat` or `exp <= nbf` → [`VerifyError::BadTimes`];
    /// `now > exp + leeway` → [`VerifyError::Expired`];
    /// `iat > now + leeway` → [`VerifyError::IssuedInFuture`];
    /// `nbf > now + leeway` → [`VerifyError::NotYetValid`].
    pub fn check_times(&self, now: i64, leeway_secs: u64) -> Result<(), VerifyError> {
        check_times(self.iat, self.exp, self.nbf, now, leeway_secs)
    }

    /// `qsh` must be present and equal `expected` (a computed hash, or [`CONTEXT_QSH`] on
    /// routes called with context tokens). A computed hash is hex, so `context-qsh` can never
    /// pass on a route that expects one; the explicit check keeps that true for any caller.
    pub fn check_qsh(&self, expected: &str) -> Result<(), VerifyError> {
        let qsh = self
            .qsh
            .as_deref()
            .ok_or(VerifyError::MissingClaim("qsh"))?;
        if qsh == CONTEXT_QSH && expected != CONTEXT_QSH {
            return Err(VerifyError::QshMismatch);
        }
        if qsh == expected {
            Ok(())
        } else {
            Err(VerifyError::QshMismatch)
        }
    }

    /// Lifecycle tokens: `aud` must be exactly one value equal to the app's baseUrl (one
    /// trailing `/` ignored on either side, as ACE does).
    pub fn check_audience(&self, base_url: &str) -> Result<(), VerifyError> {
        let trim = |s: &str| s.strip_suffix('/').unwrap_or(s).to_owned();
        match self.aud.as_slice() {
            [] => Err(VerifyError::MissingClaim("aud")),
            [aud] if trim(aud) == trim(base_url) => Ok(()),
            _ => Err(VerifyError::AudienceMismatch),
        }
    }

    /// Lifecycle tokens: `iss` must equal the `clientKey` in the callback body.
    pub fn check_issuer(&self, client_key: &str) -> Result<(), VerifyError> {
        if self.iss == client_key {
            Ok(())
        } else {
            Err(VerifyError::IssuerMismatch)
        }
    }
}

/// The time rules of [`Claims::check_times`], for any token kind (Forge invocation tokens too).
pub(crate) fn check_times(
    iat: i64,
    exp: i64,
    nbf: Option<i64>,
    now: i64,
    leeway_secs: u64,
) -> Result<(), VerifyError> {
    let leeway = i64::try_from(leeway_secs.min(MAX_LEEWAY_SECS)).unwrap_or(0);
    if exp < iat || nbf.is_some_and(|nbf| exp <= nbf) {
        return Err(VerifyError::BadTimes);
    }
    if now > exp.saturating_add(leeway) {
        return Err(VerifyError::Expired);
    }
    let latest_start = now.saturating_add(leeway);
    if iat > latest_start {
        return Err(VerifyError::IssuedInFuture);
    }
    if nbf.is_some_and(|nbf| nbf > latest_start) {
        return Err(VerifyError::NotYetValid);
    }
    Ok(())
}

fn non_empty_string(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn optional_string(
    obj: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, VerifyError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(VerifyError::InvalidClaim(name)),
    }
}

fn required_date(obj: &Map<String, Value>, name: &'static str) -> Result<i64, VerifyError> {
    let v = obj.get(name).ok_or(VerifyError::MissingClaim(name))?;
    numeric_date(v).ok_or(VerifyError::InvalidClaim(name))
}

/// A JSON number (integer or fraction, floored) that fits an `i64`; nothing else.
pub(crate) fn numeric_date(v: &Value) -> Option<i64> {
    let Value::Number(n) = v else { return None };
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    if n.is_u64() {
        return None; // > i64::MAX
    }
    // 2^63 as f64; every finite f64 in [-2^63, 2^63) floors to a representable i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let f = n.as_f64()?.floor();
    if f.is_finite() && (-LIMIT..LIMIT).contains(&f) {
        #[expect(
            clippy::as_conversions,
            reason = "no TryFrom from floats: f is floored, finite and inside i64's range"
        )]
        Some(f as i64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn parse(v: Value) -> Result<Claims, VerifyError> {
        Claims::from_object(v.as_object().unwrap())
    }

    fn base() -> Value {
        json!({"iss": "client-1", "sub": "acc-1", "qsh": "context-qsh", "iat": NOW, "exp": NOW + 180})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut v = base();
        v.as_object_mut().unwrap().insert(key.into(), value);
        v
    }

    fn without(key: &str) -> Value {
        let mut v = base();
        v.as_object_mut().unwrap().remove(key);
        v
    }

    #[test]
    fn parses_a_normal_claim_set() {
        let c = parse(base()).unwrap();
        assert_eq!(c.iss, "client-1");
        assert_eq!(c.sub.as_deref(), Some("acc-1"));
        assert_eq!(c.qsh.as_deref(), Some("context-qsh"));
        assert_eq!((c.iat, c.exp, c.nbf), (NOW, NOW + 180, None));
        assert!(c.aud.is_empty());
        assert_eq!(c.kind, None);
    }

    #[test]
    fn iss_is_required_non_empty_string() {
        assert_eq!(parse(without("iss")), Err(VerifyError::MissingClaim("iss")));
        assert_eq!(
            parse(with("iss", json!(""))),
            Err(VerifyError::InvalidClaim("iss"))
        );
        assert_eq!(
            parse(with("iss", json!(7))),
            Err(VerifyError::InvalidClaim("iss"))
        );
        assert_eq!(
            parse(with("iss", json!(null))),
            Err(VerifyError::InvalidClaim("iss"))
        );
    }

    #[test]
    fn sub_is_optional_but_typed() {
        assert_eq!(parse(without("sub")).unwrap().sub, None);
        assert_eq!(
            parse(with("sub", json!(""))),
            Err(VerifyError::InvalidClaim("sub"))
        );
        assert_eq!(
            parse(with("sub", json!(null))),
            Err(VerifyError::InvalidClaim("sub"))
        );
        assert_eq!(
            parse(with("sub", json!(["a"]))),
            Err(VerifyError::InvalidClaim("sub"))
        );
    }

    #[test]
    fn exp_and_iat_are_required_numbers() {
        assert_eq!(parse(without("exp")), Err(VerifyError::MissingClaim("exp")));
        assert_eq!(parse(without("iat")), Err(VerifyError::MissingClaim("iat")));
        for bad in [
            json!("1700000180"),
            json!(null),
            json!(true),
            json!([1]),
            json!({}),
        ] {
            assert_eq!(
                parse(with("exp", bad.clone())),
                Err(VerifyError::InvalidClaim("exp"))
            );
            assert_eq!(
                parse(with("iat", bad)),
                Err(VerifyError::InvalidClaim("iat"))
            );
        }
        assert_eq!(
            parse(with("nbf", json!("1"))),
            Err(VerifyError::InvalidClaim("nbf"))
        );
        assert_eq!(
            parse(with("nbf", json!(null))),
            Err(VerifyError::InvalidClaim("nbf"))
        );
    }

    #[test]
    fn numeric_dates_floor_fractions_and_reject_out_of_range() {
        assert_eq!(
            parse(with("exp", json!(1_700_000_180.9))).unwrap().exp,
            1_700_000_180
        );
        assert_eq!(parse(with("iat", json!(-1.5))).unwrap().iat, -2);
        assert_eq!(parse(with("exp", json!(i64::MAX))).unwrap().exp, i64::MAX);
        assert_eq!(
            parse(with("exp", json!(u64::MAX))),
            Err(VerifyError::InvalidClaim("exp"))
        );
        assert_eq!(
            parse(with("exp", json!(1e19))),
            Err(VerifyError::InvalidClaim("exp"))
        );
        assert_eq!(
            parse(with("exp", json!(-1e19))),
            Err(VerifyError::InvalidClaim("exp"))
        );
        assert_eq!(
            parse(with("exp", json!(9.3e18))),
            Err(VerifyError::InvalidClaim("exp"))
        );
    }

    #[test]
    fn aud_is_string_or_array_of_strings() {
        assert_eq!(
            parse(with("aud", json!("https://app"))).unwrap().aud,
            ["https://app"]
        );
        assert_eq!(
            parse(with("aud", json!(["a", "b"]))).unwrap().aud,
            ["a", "b"]
        );
        assert_eq!(
            parse(with("aud", json!([1]))),
            Err(VerifyError::InvalidClaim("aud"))
        );
        assert_eq!(
            parse(with("aud", json!(null))),
            Err(VerifyError::InvalidClaim("aud"))
        );
        assert_eq!(
            parse(with("aud", json!({}))),
            Err(VerifyError::InvalidClaim("aud"))
        );
    }

    #[test]
    fn qsh_and_kind_must_be_strings_when_present() {
        assert_eq!(parse(without("qsh")).unwrap().qsh, None);
        assert_eq!(
            parse(with("qsh", json!(1))),
            Err(VerifyError::InvalidClaim("qsh"))
        );
        assert_eq!(
            parse(with("kind", json!(1))),
            Err(VerifyError::InvalidClaim("kind"))
        );
        let c = parse(with("kind", json!("app-session"))).unwrap();
        assert_eq!(c.kind.as_deref(), Some("app-session"));
    }

    #[test]
    fn context_is_kept_as_is() {
        let c = parse(with("context", json!({"license": "active"}))).unwrap();
        assert_eq!(c.context, Some(json!({"license": "active"})));
    }

    fn times(iat: i64, exp: i64, nbf: Option<i64>) -> Claims {
        let mut c = parse(base()).unwrap();
        (c.iat, c.exp, c.nbf) = (iat, exp, nbf);
        c
    }

    #[test]
    fn expiry_with_leeway() {
        let c = times(NOW - 900, NOW, None);
        assert_eq!(c.check_times(NOW, 30), Ok(()));
        assert_eq!(c.check_times(NOW + 30, 30), Ok(()));
        assert_eq!(c.check_times(NOW + 31, 30), Err(VerifyError::Expired));
        assert_eq!(c.check_times(NOW + 1, 0), Err(VerifyError::Expired));
        assert_eq!(c.check_times(NOW + 3600, 30), Err(VerifyError::Expired));
    }

    #[test]
    fn small_clock_skew_is_accepted_large_is_not() {
        // page-valid-small-clock-skew: iat 20 s ahead of our clock.
        let c = times(NOW + 20, NOW + 200, None);
        assert_eq!(c.check_times(NOW, 30), Ok(()));
        let far = times(NOW + 900, NOW + 1800, None);
        assert_eq!(far.check_times(NOW, 30), Err(VerifyError::IssuedInFuture));
        let just_past = times(NOW + 31, NOW + 200, None);
        assert_eq!(
            just_past.check_times(NOW, 30),
            Err(VerifyError::IssuedInFuture)
        );
    }

    #[test]
    fn nbf_is_honoured() {
        let c = times(NOW, NOW + 900, Some(NOW + 600));
        assert_eq!(c.check_times(NOW, 30), Err(VerifyError::NotYetValid));
        assert_eq!(c.check_times(NOW + 570, 30), Ok(()));
        let ok = times(NOW, NOW + 900, Some(NOW));
        assert_eq!(ok.check_times(NOW, 30), Ok(()));
    }

    #[test]
    fn contradictory_times_are_rejected() {
        assert_eq!(
            times(NOW, NOW - 1, None).check_times(NOW, 30),
            Err(VerifyError::BadTimes)
        );
        let nbf_at_exp = times(NOW, NOW + 10, Some(NOW + 10));
        assert_eq!(nbf_at_exp.check_times(NOW, 30), Err(VerifyError::BadTimes));
        assert_eq!(times(NOW, NOW, None).check_times(NOW, 30), Ok(()));
    }

    #[test]
    fn leeway_is_clamped_to_sixty_seconds() {
        let c = times(NOW - 900, NOW, None);
        assert_eq!(c.check_times(NOW + 60, u64::MAX), Ok(()));
        assert_eq!(c.check_times(NOW + 61, u64::MAX), Err(VerifyError::Expired));
    }

    #[test]
    fn extreme_times_do_not_overflow() {
        let c = times(i64::MIN, i64::MAX, Some(i64::MIN));
        assert_eq!(c.check_times(i64::MAX, 60), Ok(()));
        assert_eq!(c.check_times(i64::MIN, 60), Ok(()));
        let c = times(i64::MAX, i64::MAX, None);
        assert_eq!(c.check_times(i64::MAX, 60), Ok(()));
        assert_eq!(c.check_times(0, 60), Err(VerifyError::IssuedInFuture));
    }

    #[test]
    fn qsh_policy() {
        let c = parse(with("qsh", json!("abc123"))).unwrap();
        assert_eq!(c.check_qsh("abc123"), Ok(()));
        assert_eq!(c.check_qsh("abc124"), Err(VerifyError::QshMismatch));
        assert_eq!(c.check_qsh(CONTEXT_QSH), Err(VerifyError::QshMismatch));
        let ctx = parse(base()).unwrap();
        assert_eq!(ctx.check_qsh(CONTEXT_QSH), Ok(()));
        assert_eq!(ctx.check_qsh("abc123"), Err(VerifyError::QshMismatch));
        let none = parse(without("qsh")).unwrap();
        assert_eq!(
            none.check_qsh(CONTEXT_QSH),
            Err(VerifyError::MissingClaim("qsh"))
        );
    }

    #[test]
    fn audience_policy() {
        let base_url = "https://app.example.com";
        let ok = parse(with("aud", json!(base_url))).unwrap();
        assert_eq!(ok.check_audience(base_url), Ok(()));
        assert_eq!(ok.check_audience("https://app.example.com/"), Ok(()));
        let arr = parse(with("aud", json!(["https://app.example.com/"]))).unwrap();
        assert_eq!(arr.check_audience(base_url), Ok(()));
        let wrong = parse(with("aud", json!("https://other.example.com"))).unwrap();
        assert_eq!(
            wrong.check_audience(base_url),
            Err(VerifyError::AudienceMismatch)
        );
        let two = parse(with("aud", json!([base_url, "https://x"]))).unwrap();
        assert_eq!(
            two.check_audience(base_url),
            Err(VerifyError::AudienceMismatch)
        );
        let none = parse(base()).unwrap();
        assert_eq!(
            none.check_audience(base_url),
            Err(VerifyError::MissingClaim("aud"))
        );
    }

    #[test]
    fn issuer_policy() {
        let c = parse(base()).unwrap();
        assert_eq!(c.check_issuer("client-1"), Ok(()));
        assert_eq!(c.check_issuer("client-2"), Err(VerifyError::IssuerMismatch));
    }
}
