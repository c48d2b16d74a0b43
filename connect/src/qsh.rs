//! The canonical request and its query string hash (`qsh`), exactly as Atlassian's Java
//! canonicaliser computes them (docs/AUTH-RULES.md §C3). Never percent-decodes the path and never
//! Unicode-normalises anything: every byte of the request must count.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The fixed `qsh` of context JWTs (`AP.context.getToken()`) and of app session tokens.
pub const CONTEXT_QSH: &str = "context-qsh";

/// The query parameter that carries the token itself; never part of the canonical query.
const JWT_PARAM: &str = "jwt";

/// RFC 3986 unreserved characters are kept; everything else becomes `%XX` (upper-case hex).
const RFC3986_RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `METHOD&URI&QUERY` per docs/AUTH-RULES.md §C3 (Java reference).
///
/// `raw_path` is the request path exactly as received (not percent-decoded); `raw_query` is the
/// raw query string without `?` (may be empty); `base_path` is the path of the app's baseUrl
/// (e.g. `""`, `"/"` or `"/connect"`), stripped from the front of `raw_path` when `raw_path`
/// starts with it at a segment boundary.
pub fn canonical_request(method: &str, raw_path: &str, raw_query: &str, base_path: &str) -> String {
    format!(
        "{}&{}&{}",
        method.to_uppercase(),
        canonical_uri(raw_path, base_path),
        canonical_query(raw_query)
    )
}

/// Lower-case hex SHA-256 of [`canonical_request`].
pub fn query_string_hash(method: &str, raw_path: &str, raw_query: &str, base_path: &str) -> String {
    let canonical = canonical_request(method, raw_path, raw_query, base_path);
    hex(&Sha256::digest(canonical.as_bytes()))
}

/// The path relative to the app's baseUrl: one trailing `/` removed, empty → `/`, `&` → `%26`.
fn canonical_uri(raw_path: &str, base_path: &str) -> String {
    let relative = strip_base_path(raw_path, base_path);
    // Java: removeEnd(path, "/"), then defaultIfBlank(…, "/").
    let path = relative.strip_suffix('/').unwrap_or(relative);
    let path = if path.is_empty() { "/" } else { path };
    // An unencoded '&' would let `/p&a=b?x=y` collide with `/p?a=b&x=y`.
    let path = path.replace('&', "%26");
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// Removes the baseUrl path when `raw_path` is that path or lies below it (segment boundary).
fn strip_base_path<'a>(raw_path: &'a str, base_path: &str) -> &'a str {
    let base = base_path.trim_end_matches('/');
    if base.is_empty() {
        return raw_path;
    }
    let base_with_slash;
    let base = if base.starts_with('/') {
        base
    } else {
        base_with_slash = format!("/{base}");
        &base_with_slash
    };
    match raw_path.strip_prefix(base) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => raw_path,
    }
}

/// Decoded parameters grouped by name, values in UTF-16 order, names in encoded order.
fn canonical_query(raw_query: &str) -> String {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, raw_value) in pairs(raw_query) {
        if name != JWT_PARAM {
            grouped
                .entry(name.into_owned())
                .or_default()
                .push(form_decode(raw_value).into_owned());
        }
    }
    let mut params: Vec<(String, Vec<String>)> = grouped
        .into_iter()
        .map(|(name, mut values)| {
            // Java sorts the decoded values with String.compareTo: UTF-16 code units, which is
            // not Rust's (code point) str order once a value leaves the BMP.
            values.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            (encode(&name), values)
        })
        .collect();
    // Java sorts by the encoded name (ASCII, so byte order is its UTF-16 order). Sorting the
    // decoded names instead (as atlassian-jwt JS does) puts `ids-count` before `ids[]`.
    params.sort_by(|a, b| a.0.cmp(&b.0));
    params
        .iter()
        .map(|(name, values)| {
            let values: Vec<String> = values.iter().map(|v| encode(v)).collect();
            format!("{name}={}", values.join(","))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The decoded values of the query parameters named `name`, in order. Parsed exactly as
/// `form_urlencoded::parse` does (`&`-separated, empty pairs skipped, split at the first `=`,
/// `+` is a space, lossy UTF-8, names compared after decoding), but only the matching values are
/// decoded: a page URL's ~300-byte `jwt` is not decoded to find `loc`.
pub fn query_values<'a>(raw_query: &'a str, name: &'a str) -> impl Iterator<Item = Cow<'a, str>> {
    pairs(raw_query).filter_map(move |(key, value)| (key == name).then(|| form_decode(value)))
}

/// The query's parameters as (decoded name, raw value), split as `form_urlencoded::parse` does.
fn pairs(raw_query: &str) -> impl Iterator<Item = (Cow<'_, str>, &str)> {
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(key), value)
        })
}

/// application/x-www-form-urlencoded decoding of one name or value.
fn form_decode(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| b == b'+' || b == b'%') {
        return Cow::Borrowed(raw);
    }
    let spaced = raw.replace('+', " ");
    Cow::Owned(
        percent_decode(spaced.as_bytes())
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986_RESERVED).to_string()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(method: &str, path: &str, query: &str) -> String {
        canonical_request(method, path, query, "")
    }

    #[test]
    fn worked_example_from_the_spec() {
        let expected =
            "GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param";
        let plus = "zee_last=param&repeated=parameter+1&first=param&repeated=parameter+2";
        let pct = "zee_last=param&repeated=parameter%201&first=param&repeated=parameter%202";
        assert_eq!(canon("GET", "/path/to/service", plus), expected);
        assert_eq!(canon("GET", "/path/to/service", pct), expected);
    }

    #[test]
    fn base_path_is_stripped_at_a_segment_boundary() {
        let c = |path, base| canonical_request("GET", path, "", base);
        assert_eq!(c("/connect/preferences", "/connect"), "GET&/preferences&");
        assert_eq!(c("/connect/preferences", "/connect/"), "GET&/preferences&");
        assert_eq!(c("/connect/preferences", "connect"), "GET&/preferences&");
        assert_eq!(c("/connect", "/connect"), "GET&/&");
        assert_eq!(c("/connect/", "/connect"), "GET&/&");
        // Not below the base path: left alone.
        assert_eq!(c("/connectfoo/x", "/connect"), "GET&/connectfoo/x&");
        assert_eq!(c("/other/connect/x", "/connect"), "GET&/other/connect/x&");
        // Root base paths strip nothing.
        assert_eq!(c("/preferences", "/"), "GET&/preferences&");
        assert_eq!(c("/preferences", ""), "GET&/preferences&");
        assert_eq!(c("/", "/"), "GET&/&");
    }

    #[test]
    fn one_trailing_slash_is_removed_root_stays() {
        assert_eq!(canon("GET", "/a/b/", ""), "GET&/a/b&");
        assert_eq!(canon("GET", "/a//", ""), "GET&/a/&");
        assert_eq!(canon("GET", "/", ""), "GET&/&");
        assert_eq!(canon("GET", "", ""), "GET&/&");
        assert_eq!(canon("GET", "//", ""), "GET&/&");
    }

    #[test]
    fn path_is_not_decoded() {
        assert_eq!(canon("GET", "/a%2Fb/c%20d", ""), "GET&/a%2Fb/c%20d&");
        assert_ne!(canon("GET", "/a%2Fb", ""), canon("GET", "/a/b", ""));
    }

    #[test]
    fn ampersand_in_path_is_encoded() {
        assert_eq!(
            canon("GET", "/project&a=b", "x=y"),
            "GET&/project%26a=b&x=y"
        );
        assert_ne!(
            query_string_hash("GET", "/project&a=b", "x=y", ""),
            query_string_hash("GET", "/project", "a=b&x=y", "")
        );
    }

    #[test]
    fn plus_is_space_but_encoded_plus_is_plus() {
        assert_eq!(canon("GET", "/p", "q=a+b"), "GET&/p&q=a%20b");
        assert_eq!(canon("GET", "/p", "q=a%20b"), "GET&/p&q=a%20b");
        assert_eq!(canon("GET", "/p", "q=a%2Bb"), "GET&/p&q=a%2Bb");
        assert_ne!(
            query_string_hash("GET", "/p", "q=a+b", ""),
            query_string_hash("GET", "/p", "q=a%2Bb", "")
        );
    }

    #[test]
    fn duplicate_parameters_keep_every_value_sorted() {
        assert_eq!(canon("GET", "/p", "a=2&b=x&a=1"), "GET&/p&a=1,2&b=x");
        // Injecting a second value changes the hash; so does reordering nothing.
        assert_ne!(
            query_string_hash("GET", "/p", "a=1", ""),
            query_string_hash("GET", "/p", "a=1&a=evil", "")
        );
        assert_eq!(
            query_string_hash("GET", "/p", "a=2&a=1", ""),
            query_string_hash("GET", "/p", "a=1&a=2", "")
        );
    }

    #[test]
    fn comma_in_a_value_is_encoded_and_does_not_collide() {
        assert_eq!(canon("GET", "/p", "a=1,2"), "GET&/p&a=1%2C2");
        assert_eq!(canon("GET", "/p", "a=1&a=2"), "GET&/p&a=1,2");
    }

    #[test]
    fn rfc3986_encoding_of_special_characters() {
        assert_eq!(canon("GET", "/p", "a=*"), "GET&/p&a=%2A");
        assert_eq!(canon("GET", "/p", "a=~"), "GET&/p&a=~");
        assert_eq!(canon("GET", "/p", "a=%7E"), "GET&/p&a=~");
        assert_eq!(canon("GET", "/p", "a=!'()"), "GET&/p&a=%21%27%28%29");
        assert_eq!(canon("GET", "/p", "a=-._"), "GET&/p&a=-._");
        assert_eq!(canon("GET", "/p", "a=%2f%3a"), "GET&/p&a=%2F%3A");
        assert_eq!(
            canon("GET", "/p", "tz=Europe%2FMoscow"),
            "GET&/p&tz=Europe%2FMoscow"
        );
    }

    #[test]
    fn jwt_is_dropped_but_other_cases_are_kept() {
        assert_eq!(canon("GET", "/p", "jwt=abc.def.ghi&x=1"), "GET&/p&x=1");
        assert_eq!(canon("GET", "/p", "%6Awt=abc&x=1"), "GET&/p&x=1");
        assert_eq!(canon("GET", "/p", "JWT=abc&x=1"), "GET&/p&JWT=abc&x=1");
        assert_eq!(canon("GET", "/p", "Jwt=abc"), "GET&/p&Jwt=abc");
        assert_eq!(canon("GET", "/p", "jwt=a"), "GET&/p&");
    }

    #[test]
    fn parameter_without_equals_is_an_empty_value() {
        assert_eq!(canon("GET", "/p", "flag&x=1"), "GET&/p&flag=&x=1");
        assert_eq!(canon("GET", "/p", "flag=&x=1"), "GET&/p&flag=&x=1");
    }

    #[test]
    fn empty_query_and_empty_pairs() {
        assert_eq!(canon("GET", "/path", ""), "GET&/path&");
        assert_eq!(canon("GET", "/path", "&&a=1&"), "GET&/path&a=1");
    }

    #[test]
    fn names_sort_by_encoded_form_like_java() {
        let expected = "GET&/p&ids%5B%5D=1&ids-count=2";
        assert_eq!(canon("GET", "/p", "ids-count=2&ids%5B%5D=1"), expected);
        assert_eq!(canon("GET", "/p", "ids-count=2&ids[]=1"), expected);
        // Upper case before lower case (code unit order), prefixes first.
        assert_eq!(
            canon("GET", "/p", "b=3&a=1&B=4&A=2&ab=5"),
            "GET&/p&A=2&B=4&a=1&ab=5&b=3"
        );
    }

    #[test]
    fn non_ascii_names_are_encoded_then_sorted() {
        // JS sorts the decoded names ("~" < "é"); Java sorts "%C3%A9" < "~".
        assert_eq!(canon("GET", "/p", "~=2&%C3%A9=1"), "GET&/p&%C3%A9=1&~=2");
    }

    #[test]
    fn values_sort_in_utf16_code_unit_order() {
        // U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FF5E (unlike code point order).
        let q = "v=%EF%BD%9E&v=%F0%9F%98%80";
        assert_eq!(canon("GET", "/p", q), "GET&/p&v=%F0%9F%98%80,%EF%BD%9E");
        let q = "v=%F0%9F%98%80&v=%EF%BD%9E";
        assert_eq!(canon("GET", "/p", q), "GET&/p&v=%F0%9F%98%80,%EF%BD%9E");
    }

    #[test]
    fn values_sort_by_decoded_form_not_encoded_form() {
        // Decoded: "aa" < "a{"; encoded it would be "a%7B" < "aa".
        assert_eq!(canon("GET", "/p", "v=a%7B&v=aa"), "GET&/p&v=aa,a%7B");
    }

    #[test]
    fn no_unicode_normalisation() {
        let nfc = canon("GET", "/p", "name=caf%C3%A9");
        let nfd = canon("GET", "/p", "name=cafe%CC%81");
        assert_eq!(nfc, "GET&/p&name=caf%C3%A9");
        assert_eq!(nfd, "GET&/p&name=cafe%CC%81");
        assert_ne!(
            query_string_hash("GET", "/p", "name=caf%C3%A9", ""),
            query_string_hash("GET", "/p", "name=cafe%CC%81", "")
        );
    }

    #[test]
    fn method_is_upper_cased() {
        assert_eq!(canon("get", "/p", ""), "GET&/p&");
        assert_eq!(canon("pOsT", "/installed", ""), "POST&/installed&");
    }

    #[test]
    fn hashes_match_independently_computed_sha256() {
        // Computed with python3 hashlib over an independent Python port of the Java canonicaliser.
        assert_eq!(
            query_string_hash(
                "GET",
                "/path/to/service",
                "zee_last=param&repeated=parameter+1&first=param&repeated=parameter+2",
                ""
            ),
            "e52bb281606c3bd9ca16cfe96fe2df78f5d9ffa126f06befd750dfa10fa1a897"
        );
        assert_eq!(
            query_string_hash("POST", "/installed", "", ""),
            "4a2e1de8ca74e6cafe8862d332fa3ac7a8e51e692bc6d798ea4dfedc14948bf4"
        );
        assert_eq!(
            query_string_hash("POST", "/uninstalled", "", ""),
            "8a8d06f040b246544d605b08aeb419e30b5cf0e200f512888486585ecce6a52e"
        );
        assert_eq!(
            query_string_hash(
                "GET",
                "/connect/page",
                "jwt=x&ids-count=2&ids[]=1",
                "/connect"
            ),
            "76081833c2157e642e924053e7527881b571e463b42ee10ac8a025e765d19e54"
        );
        assert_eq!(
            query_string_hash("GET", "/p", "v=%EF%BD%9E&v=%F0%9F%98%80", ""),
            "20386383fb04fa2f21642c57e63775f658c12d6a85eb72c1b303fc58187afce6"
        );
    }

    #[test]
    fn query_values_parse_like_form_urlencoded() {
        let queries = [
            "",
            "a=1&b=2&a=3",
            "&&a=1&&",
            "jwt=x.y.z&loc=en-GB",
            "%6Awt=encoded-name&j%77t=again",
            "loc=de+DE&loc=fr%2BFR&loc",
            "x=%E2%9C%93&x=%FF%FE&x=%zz&x==eq=",
            "na%20me=v+a+l&na+me=w",
        ];
        for q in queries {
            let mut names: Vec<String> = form_urlencoded::parse(q.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect();
            names.extend(["absent".to_string(), "na me".to_string()]);
            for name in &names {
                let ours: Vec<String> = query_values(q, name).map(Cow::into_owned).collect();
                let reference: Vec<String> = form_urlencoded::parse(q.as_bytes())
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .collect();
                assert_eq!(ours, reference, "{q:?} {name:?}");
            }
        }
        assert_eq!(query_values("%6Awt=a&jwt=b", "jwt").count(), 2);
    }
}
