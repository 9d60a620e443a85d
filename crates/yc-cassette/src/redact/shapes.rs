//! What a secret looks like: the built-in token shapes (IAM and OAuth tokens, API keys, static keys, JWTs, PEM keys,
//! signed-URL parameters), credentials after an auth scheme word, and the placeholders that replace them.
//! Pure functions over text; no rules of a user here (see [`super::Redactor`]).

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::decode::decode_base64;

/// A secret found in a string: where, and what kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
}

/// `<redacted:KIND:HASH8>` for this secret.
pub(crate) fn placeholder(kind: &str, secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(20 + kind.len());
    out.push_str("<redacted:");
    out.push_str(kind);
    out.push(':');
    for b in &digest[..4] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out.push('>');
    out
}

/// Whether the whole text is one placeholder, `<redacted:KIND:HASH8>` (the placeholder regex, matched whole).
/// Checked byte by byte, not by the regex: it runs for every secret header and field, in redaction and again in the
/// scan, and the regex's search was a quarter of redacting and scanning a call (`bench cassette`); a test holds the
/// two to the same answers.
pub(crate) fn is_placeholder(text: &str) -> bool {
    let Some(inner) = text
        .strip_prefix("<redacted:")
        .and_then(|rest| rest.strip_suffix('>'))
    else {
        return false;
    };
    // KIND cannot hold a `:`, so the hash is the last 8 bytes and the `:` before them.
    let Some((kind, hash)) = inner
        .len()
        .checked_sub(9)
        .map(|at| inner.as_bytes().split_at(at))
    else {
        return false;
    };
    !kind.is_empty()
        && kind
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        && hash[0] == b':'
        && hash[1..]
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

thread_regex! {
    pub(crate) fn placeholder_regex() -> Regex =
        Regex::new(r"<redacted:([a-z0-9-]+):[0-9a-f]{8}>").expect("valid regex");
}

thread_regex! {
    fn placeholder_bytes_regex() -> regex::bytes::Regex =
        regex::bytes::Regex::new(r"<redacted:([a-z0-9-]+):[0-9a-f]{8}>").expect("valid regex");
}

/// Placeholders reduced to their kind, for matching: `<redacted:iam-token:1a2b3c4d>` -> `<redacted:iam-token>`,
/// also inside base64 runs (a secret redacted inside a `bytes` field or a base64 blob), whose decoded bytes are
/// reduced the same way and encoded again.
pub(crate) fn normalise_placeholders(text: &str) -> Option<String> {
    let mut text = Cow::Borrowed(text);
    if base64_markers().iter().any(|m| text.contains(m.as_str())) {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for run in crate::decode::base64_runs(&text) {
            if let Some(bytes) = normalise_placeholder_bytes(&run.bytes) {
                out.push_str(&text[at..run.start]);
                out.push_str(&run.encode(&bytes));
                at = run.end;
            }
        }
        if at > 0 {
            out.push_str(&text[at..]);
            text = Cow::Owned(out);
        }
    }
    if text.contains("<redacted:")
        && let Cow::Owned(s) = placeholder_regex(|re| re.replace_all(&text, "<redacted:$1>"))
    {
        return Some(s);
    }
    match text {
        Cow::Owned(s) => Some(s),
        Cow::Borrowed(_) => None,
    }
}

/// Placeholders reduced to their kind in bytes (raw messages), `None` when there are none.
pub(crate) fn normalise_placeholder_bytes(bytes: &[u8]) -> Option<Vec<u8>> {
    match placeholder_bytes_regex(|re| re.replace_all(bytes, &b"<redacted:$1>"[..])) {
        Cow::Owned(b) => Some(b),
        Cow::Borrowed(_) => None,
    }
}

/// The characters `<redacted:` always gives in base64, at each of the three alignments and in both alphabets: a
/// cheap test for a placeholder inside a base64 run.
fn base64_markers() -> &'static [String] {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    static MARKERS: OnceLock<Vec<String>> = OnceLock::new();
    MARKERS.get_or_init(|| {
        let marker = b"<redacted:";
        let mut out = Vec::new();
        for offset in 0..3usize {
            let mut input = vec![0u8; offset];
            input.extend_from_slice(marker);
            input.extend_from_slice(&[0; 3]);
            // Character i carries bits 6i..6i+6; only those entirely within the marker are fixed by it.
            let first = (8 * offset).div_ceil(6);
            let last = (8 * (offset + marker.len())) / 6;
            for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                let encoded = engine.encode(&input);
                out.push(encoded[first..last].to_owned());
            }
        }
        out.sort();
        out.dedup();
        out
    })
}

/// The kind of secret `text` is, if it is exactly one secret shape.
pub(crate) fn whole_kind(text: &str) -> Option<&'static str> {
    match find_secrets(text).as_slice() {
        [f] if f.start == 0 && f.end == text.len() => Some(f.kind),
        _ => None,
    }
}

thread_regex! {
    fn tokens_regex() -> Regex = Regex::new(concat!(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
            r"|(?:t1\.|y[0-3]_|AQVN|AQAAAA|YC|eyJ)[A-Za-z0-9_.=\-]+",
            r"|(?i:x-amz-(?:signature|credential|security-token))(?:=|%3[dD])",
        ))
        .expect("valid regex");
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Every built-in secret shape in `text`, in order.
pub(crate) fn find_secrets(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    for m in tokens_regex(|re| re.find_iter(text).collect::<Vec<_>>()) {
        let s = m.as_str();
        if s.starts_with("-----BEGIN") {
            let end = text[m.end()..]
                .find("PRIVATE KEY-----")
                .and_then(|i| {
                    let after = m.end() + i + "PRIVATE KEY-----".len();
                    text[m.end()..after].contains("-----END").then_some(after)
                })
                .unwrap_or(text.len());
            found.push(Found {
                start: m.start(),
                end,
                kind: "private-key",
            });
            continue;
        }
        if s.len() >= 8 && s[..6].eq_ignore_ascii_case("x-amz-") {
            if let Some(f) = amz_value(text, m.end(), s) {
                found.push(f);
            }
            continue;
        }
        // A token starts a base64url run: the character before must not continue it (a `%XX` escape may precede).
        if m.start() > 0 {
            let prev = bytes[m.start() - 1];
            let escaped = m.start() >= 3
                && bytes[m.start() - 3] == b'%'
                && bytes[m.start() - 2].is_ascii_hexdigit()
                && bytes[m.start() - 1].is_ascii_hexdigit();
            if (is_b64url(prev) || prev == b'.') && !escaped {
                continue;
            }
        }
        let start = m.start();
        if let Some((len, kind)) = classify(s) {
            found.push(Found {
                start,
                end: start + len,
                kind,
            });
        }
    }
    found
}

/// The value of a signed-URL parameter starting at `value_start`.
fn amz_value(text: &str, value_start: usize, matched: &str) -> Option<Found> {
    let encoded = matched.ends_with(['d', 'D']);
    let rest = &text[value_start..];
    let mut end = rest
        .find(|c: char| {
            matches!(
                c,
                '&' | '#' | '"' | '\'' | '<' | '>' | ' ' | '\t' | '\r' | '\n' | '\\'
            )
        })
        .unwrap_or(rest.len());
    if encoded && let Some(i) = rest[..end].to_ascii_lowercase().find("%26") {
        end = i;
    }
    let value = &rest[..end];
    if value.is_empty() || value.starts_with("<redacted:") {
        return None;
    }
    Some(Found {
        start: value_start,
        end: value_start + end,
        kind: "signature",
    })
}

/// Length and kind of the token at the start of a base64url run (`None`: not a secret, e.g. an ordinary id).
/// Shapes from the Yandex Cloud IAM docs: IAM token `t1.<b64url>[=]{0,2}.<86 b64url>[=]{0,2}`; static key id
/// 25 characters and secret 40 characters, both starting with `YC`; API keys start with `AQVN`; OAuth `y0_`..`y3_`
/// (older OAuth tokens `AQAAAA` and 33 more).
fn classify(run: &str) -> Option<(usize, &'static str)> {
    let segment = run.split(['.', '=']).next().unwrap_or(run);
    let mixed = |tail: &str| {
        tail.bytes().any(|b| b.is_ascii_uppercase()) && tail.bytes().any(|b| b.is_ascii_lowercase())
    };
    if let Some(rest) = run.strip_prefix("t1.") {
        let token = rest.trim_end_matches('.');
        return (token.len() >= 20 && token.contains('.'))
            .then_some((3 + token.len(), "iam-token"));
    }
    if run.starts_with("eyJ") {
        let parts: Vec<&str> = run.split('.').take(3).collect();
        let ok = parts.len() == 3 && parts[1].starts_with("eyJ") && parts[0].len() >= 8;
        let len = parts
            .iter()
            .map(|p| p.trim_end_matches('=').len())
            .sum::<usize>()
            + 2;
        return ok.then_some((len, "jwt"));
    }
    let s = segment.as_bytes();
    if s.len() >= 3 && s[0] == b'y' && (b'0'..=b'3').contains(&s[1]) && s[2] == b'_' {
        return (segment.len() >= 43 && mixed(&segment[3..]))
            .then_some((segment.len(), "oauth-token"));
    }
    if segment.starts_with("AQAAAA") {
        // The older OAuth token form: `AQAAAA` and about 33 more characters.
        return (37..=60)
            .contains(&segment.len())
            .then_some((segment.len(), "oauth-token"));
    }
    if segment.starts_with("AQVN") {
        return (segment.len() >= 34).then_some((segment.len(), "api-key"));
    }
    if !segment.starts_with("YC") {
        return None;
    }
    // A fixed-length key followed by `-` or `_` (`<secret>-backup`) is still that key: fail closed.
    let glued = |n: usize| {
        segment.len() > n && matches!(segment.as_bytes()[n], b'-' | b'_') && mixed(&segment[2..n])
    };
    if glued(40) {
        return Some((40, "secret-key"));
    }
    if glued(25) {
        return Some((25, "access-key-id"));
    }
    let tail = &segment[2..];
    match segment.len() {
        40 if mixed(tail) => Some((40, "secret-key")),
        25 if mixed(tail) || segment.starts_with("YCAJ") => Some((25, "access-key-id")),
        19..=34 if segment.starts_with("YCAJ") => Some((segment.len(), "access-key-id")),
        _ => None,
    }
}

thread_regex! {
    /// The auth scheme words (RFC 9110 section 11, and `Api-Key` and `OAuth` as Yandex Cloud uses them) whose
    /// credentials are secret wherever they appear.
    fn scheme_regex() -> Regex =
        Regex::new(r"(?i)\b(bearer|basic|api-key|oauth|digest)[ \t]+").expect("valid regex");
}

fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// Credentials after an auth scheme word: byte ranges of what follows `Bearer `, `Basic `, `Api-Key `, `OAuth `,
/// `Digest `. Where the scheme word starts a value (the start of the text, or after `=`, `:` or a quote), any
/// credential counts; inside free text (`... with Bearer abc ...`) only one that looks like one: at least 16
/// characters with a digit, or for `Basic` base64 of `user:password`. A `Digest` credential is the rest of the line.
pub(crate) fn auth_credentials(text: &str) -> Vec<(usize, usize)> {
    if !text.bytes().any(|b| b == b' ' || b == b'\t') {
        return Vec::new();
    }
    let mut out = Vec::new();
    for caps in scheme_regex(|re| re.captures_iter(text).collect::<Vec<_>>()) {
        let (Some(all), Some(word)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        if all.start() > 0 && matches!(text.as_bytes()[all.start() - 1], b'-' | b'_') {
            continue;
        }
        let before = text[..all.start()].trim_end_matches([' ', '\t']);
        let at_value_start = before.is_empty() || before.ends_with(['=', ':', '"', '\'', '\n']);
        let rest = &text[all.end()..];
        let scheme = word.as_str().to_ascii_lowercase();
        if scheme == "digest" {
            let line = rest.find(['\r', '\n']).unwrap_or(rest.len());
            let line = rest[..line].trim_end_matches(['"', '\'', ' ']);
            if line.contains('=') {
                out.push((all.end(), all.end() + line.len()));
            }
            continue;
        }
        let mut len = rest.bytes().take_while(|&b| is_token68(b)).count();
        len += rest[len..].bytes().take_while(|&b| b == b'=').count();
        if len == 0 {
            continue;
        }
        let credential = &rest[..len];
        let after = rest[len..].trim_start_matches([' ', '\t']);
        let ends_value =
            after.is_empty() || after.starts_with(['"', '\'', ',', ';', '&', '\r', '\n', ')']);
        let looks_like_one =
            credential.len() >= 16 && credential.bytes().any(|b| b.is_ascii_digit());
        let counts = match scheme.as_str() {
            "basic" => {
                decode_base64(credential).is_some_and(|b| b.contains(&b':'))
                    || (at_value_start && ends_value)
            }
            _ => (at_value_start && ends_value) || looks_like_one,
        };
        if counts {
            out.push((all.end(), all.end() + len));
        }
    }
    out
}
