//! Redaction: secrets are replaced by stable placeholders before anything reaches the disk, and the same rules run
//! on live requests before matching so a redacted recording still matches. Pure functions over values.
//!
//! A placeholder is `<redacted:KIND:HASH8>`, HASH8 being the first 8 hex digits of the SHA-256 of the secret:
//! the same secret gives the same placeholder, and matching compares placeholders by kind only.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::matching::percent_decode;
use crate::model::{Body, GrpcStatus, Headers, Interaction, Message};

/// Header names whose values are always secret.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-yacloud-subjecttoken",
    "x-amz-security-token",
    "x-api-key",
];

/// Field names (compared lower-case without `_` and `-`) whose string values are always secret.
const SECRET_FIELDS: &[&str] = &[
    "iam_token",
    "yandex_passport_oauth_token",
    "oauth_token",
    "jwt",
    "private_key",
    "secret",
    "secret_key",
    "secret_access_key",
    "client_secret",
    "password",
    "passphrase",
    "access_token",
    "refresh_token",
    "id_token",
    "session_token",
    "security_token",
    "subject_token",
    "token",
];

/// User additions to the built-in rules; loadable from a JSON or TOML config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedactionRules {
    /// Header names whose values are secret.
    pub headers: Vec<String>,
    /// Field names (`api_secret`, any depth) or dotted paths from the body root (`spec.credentials.value`)
    /// whose values are secret; snake_case and camelCase spellings are the same.
    pub fields: Vec<String>,
    /// Regular expressions; the match (or its first capture group, if it has one) is secret.
    pub patterns: Vec<String>,
}

/// The redaction rules in force: the built-ins plus user additions. `Default` is the built-ins alone.
#[derive(Debug, Clone)]
pub struct Redactor {
    headers: HashSet<String>,
    fields: HashSet<String>,
    paths: Vec<Vec<String>>,
    patterns: Vec<Regex>,
}

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor {
            headers: SECRET_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
            fields: SECRET_FIELDS.iter().map(|f| normalise_key(f)).collect(),
            paths: Vec::new(),
            patterns: Vec::new(),
        }
    }
}

/// A secret found in a string: where, and what kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
}

impl Redactor {
    /// The built-in rules plus `extra`.
    pub fn new(extra: &RedactionRules) -> Result<Redactor, Error> {
        let mut redactor = Redactor::default();
        redactor
            .headers
            .extend(extra.headers.iter().map(|h| h.trim().to_ascii_lowercase()));
        for field in &extra.fields {
            let field = field.trim().trim_start_matches("$.");
            if field.contains('.') {
                redactor
                    .paths
                    .push(field.split('.').map(normalise_key).collect());
            } else {
                redactor.fields.insert(normalise_key(field));
            }
        }
        for pattern in &extra.patterns {
            let regex = Regex::new(pattern).map_err(|source| Error::Regex {
                pattern: pattern.clone(),
                source,
            })?;
            redactor.patterns.push(regex);
        }
        Ok(redactor)
    }

    /// Redacts every place of an interaction: headers, trailers, messages (JSON and raw bytes), status details,
    /// path, query and bodies.
    pub fn redact_interaction(&self, interaction: &mut Interaction) {
        match interaction {
            Interaction::Grpc(g) => {
                self.redact_headers(&mut g.request.metadata);
                g.request
                    .messages
                    .iter_mut()
                    .for_each(|m| self.redact_message(m));
                self.redact_headers(&mut g.response.headers);
                g.response
                    .messages
                    .iter_mut()
                    .for_each(|m| self.redact_message(m));
                self.redact_headers(&mut g.response.trailers);
                self.redact_status(&mut g.response.status);
            }
            Interaction::Rest(r) => {
                if let Some(path) = self.redact_str(&r.request.path) {
                    r.request.path = path;
                }
                r.request.query = self.redact_query(&r.request.query);
                self.redact_headers(&mut r.request.headers);
                self.redact_body(&mut r.request.body);
                self.redact_headers(&mut r.response.headers);
                self.redact_body(&mut r.response.body);
            }
        }
    }

    /// Secret headers lose their value (an auth scheme word such as `Bearer` stays); other values lose any
    /// secret-shaped part; `-bin` values are decoded and cleaned inside.
    pub fn redact_headers(&self, headers: &mut Headers) {
        for (name, value) in &mut headers.0 {
            if let Some(new) = self.redact_header(name, value) {
                *value = new;
            }
        }
    }

    /// Redacts a JSON value in place: secret field names, secret-shaped strings anywhere (keys included),
    /// base64 strings that decode to secrets.
    pub fn redact_json(&self, value: &mut Value) {
        self.redact_json_collect(value, &mut Vec::new());
    }

    /// The text with every secret-shaped part replaced.
    pub fn redact_text(&self, text: &str) -> String {
        self.redact_str(text).unwrap_or_else(|| text.to_owned())
    }

    /// Redacts one message: its JSON, then its raw bytes. Raw bytes are cleaned field by field through the
    /// protobuf wire format (length prefixes fixed up); if that is impossible and a secret remains, they are
    /// dropped and `note` says so.
    pub fn redact_message(&self, message: &mut Message) {
        let mut secrets = Vec::new();
        if let Some(json) = &mut message.json {
            self.redact_json_collect(json, &mut secrets);
        }
        let Some(raw) = &message.raw else {
            return;
        };
        let cleaned = self.redact_wire(raw, &secrets, 0);
        let candidate = cleaned.as_deref().unwrap_or(raw);
        if self.bytes_have_secret(candidate, &secrets) {
            message.raw = None;
            message.note = Some(
                "raw bytes dropped: they carried a secret that could not be removed in place"
                    .to_owned(),
            );
        } else if let Some(cleaned) = cleaned {
            message.raw = Some(cleaned);
        }
    }

    /// Redacts a gRPC status: its message, its decoded details, and the original details text if kept.
    pub fn redact_status(&self, status: &mut GrpcStatus) {
        if let Some(m) = self.redact_str(&status.message) {
            status.message = m;
        }
        let mut secrets = Vec::new();
        for detail in &mut status.details {
            self.redact_json_collect(detail, &mut secrets);
        }
        if let Some(text) = &status.details_bin {
            match self.redact_bin_text(text, &secrets) {
                BinRedaction::Clean => {}
                BinRedaction::Cleaned(new) => status.details_bin = Some(new),
                BinRedaction::Unrepairable => status.details_bin = None,
            }
        }
    }

    /// Redacts a raw query string: values of secret parameter names, signed-URL parameters, secret-shaped values.
    pub fn redact_query(&self, query: &str) -> String {
        if query.is_empty() {
            return String::new();
        }
        let mut changed = false;
        let parts: Vec<Cow<'_, str>> = query
            .split('&')
            .map(|pair| {
                let Some((name, value)) = pair.split_once('=') else {
                    return Cow::Borrowed(pair);
                };
                let decoded = percent_decode(name);
                if self.fields.contains(&normalise_key(&decoded))
                    && !is_placeholder(value)
                    && !value.is_empty()
                {
                    changed = true;
                    let secret = percent_decode(value);
                    let kind = whole_kind(&secret).unwrap_or("field");
                    return Cow::Owned(format!("{name}={}", placeholder(kind, &secret)));
                }
                Cow::Borrowed(pair)
            })
            .collect();
        let joined = if changed {
            Cow::Owned(parts.join("&"))
        } else {
            Cow::Borrowed(query)
        };
        match self.redact_str(&joined) {
            Some(new) => new,
            None => joined.into_owned(),
        }
    }

    /// Redacts a body: JSON as JSON (text that parses as JSON too), text as text, binary through its text view.
    pub fn redact_body(&self, body: &mut Body) {
        match body {
            Body::Empty => {}
            Body::Json(value) => self.redact_json(value),
            Body::Text(text) => {
                if let Ok(mut value) = serde_json::from_str::<Value>(text) {
                    let before = value.clone();
                    self.redact_json(&mut value);
                    if value != before {
                        *body = Body::Json(value);
                    }
                    return;
                }
                if let Some(new) = self.redact_str(text) {
                    *text = new;
                }
            }
            Body::Base64(bytes) => {
                if let Some(new) = self.redact_payload(bytes, &[]) {
                    *bytes = new;
                }
            }
        }
    }

    // ---- internals ----

    fn redact_header(&self, name: &str, value: &str) -> Option<String> {
        if self.headers.contains(name) || self.headers.contains(&name.to_ascii_lowercase()) {
            return redact_secret_header(value);
        }
        if name.ends_with("-bin") {
            return match self.redact_bin_text(value, &[]) {
                BinRedaction::Clean => None,
                BinRedaction::Cleaned(new) => Some(new),
                BinRedaction::Unrepairable => Some(placeholder("binary", value)),
            };
        }
        self.redact_str(value)
    }

    /// Cleans a base64 value holding (usually) protobuf bytes.
    fn redact_bin_text(&self, text: &str, secrets: &[(String, String)]) -> BinRedaction {
        let Some(bytes) = decode_base64(text) else {
            return match self.redact_str(text) {
                Some(new) => BinRedaction::Cleaned(new),
                None => BinRedaction::Clean,
            };
        };
        if !self.bytes_have_secret(&bytes, secrets) {
            return BinRedaction::Clean;
        }
        match self.redact_wire(&bytes, secrets, 0) {
            Some(clean) if !self.bytes_have_secret(&clean, secrets) => {
                BinRedaction::Cleaned(STANDARD_NO_PAD.encode(clean))
            }
            _ => BinRedaction::Unrepairable,
        }
    }

    fn redact_json_collect(&self, value: &mut Value, secrets: &mut Vec<(String, String)>) {
        let mut path = Vec::new();
        self.walk_json(value, &mut path, false, secrets);
    }

    fn walk_json(
        &self,
        value: &mut Value,
        path: &mut Vec<String>,
        secret: bool,
        secrets: &mut Vec<(String, String)>,
    ) {
        match value {
            Value::String(s) => {
                if secret {
                    if !is_placeholder(s) && !s.is_empty() {
                        let p = placeholder(whole_kind(s).unwrap_or("field"), s);
                        secrets.push((std::mem::take(s), p.clone()));
                        *s = p;
                    }
                } else if let Some(new) = self.redact_string_value(s, secrets) {
                    *s = new;
                }
            }
            Value::Number(n) if secret => {
                let text = n.to_string();
                let p = placeholder("field", &text);
                secrets.push((text, p.clone()));
                *value = Value::String(p);
            }
            Value::Array(items) => {
                for item in items {
                    self.walk_json(item, path, secret, secrets);
                }
            }
            Value::Object(map) => {
                let mut renamed = false;
                let track = !self.paths.is_empty();
                for (key, child) in map.iter_mut() {
                    let mut child_secret = secret || self.is_secret_field(key);
                    if track {
                        path.push(normalise_key(key));
                        child_secret |= self.paths.iter().any(|p| p == path);
                    }
                    self.walk_json(child, path, child_secret, secrets);
                    if track {
                        path.pop();
                    }
                    renamed |= self.redact_str(key).is_some();
                }
                if renamed {
                    let old = std::mem::take(map);
                    for (key, child) in old {
                        let key = self.redact_str(&key).unwrap_or(key);
                        map.insert(key, child);
                    }
                }
            }
            _ => {}
        }
    }

    /// A string anywhere in JSON: secret shapes, and base64 that decodes to a secret (bytes fields).
    fn redact_string_value(&self, s: &str, secrets: &mut Vec<(String, String)>) -> Option<String> {
        let mut found = Vec::new();
        let out = self.redact_str_collect(s, &mut found);
        secrets.extend(found);
        if out.is_some() {
            return out;
        }
        if s.len() >= 32
            && let Some(bytes) = decode_base64(s)
            && let Some(clean) = self.redact_str(&String::from_utf8_lossy(&bytes))
        {
            return Some(STANDARD.encode(clean.as_bytes()));
        }
        None
    }

    /// The string with secrets replaced, or `None` when it holds none.
    pub(crate) fn redact_str(&self, text: &str) -> Option<String> {
        self.redact_str_collect(text, &mut Vec::new())
    }

    fn redact_str_collect(
        &self,
        text: &str,
        secrets: &mut Vec<(String, String)>,
    ) -> Option<String> {
        let mut found = find_secrets(text);
        for regex in &self.patterns {
            for caps in regex.captures_iter(text) {
                let m = caps.get(1).or_else(|| caps.get(0));
                if let Some(m) = m.filter(|m| !m.is_empty()) {
                    found.push(Found {
                        start: m.start(),
                        end: m.end(),
                        kind: "pattern",
                    });
                }
            }
        }
        if found.is_empty() {
            return None;
        }
        found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            if f.start < at {
                continue; // overlaps a larger secret already replaced
            }
            let secret = &text[f.start..f.end];
            if is_placeholder(secret) {
                continue;
            }
            out.push_str(&text[at..f.start]);
            let p = placeholder(f.kind, secret);
            secrets.push((secret.to_owned(), p.clone()));
            out.push_str(&p);
            at = f.end;
        }
        if at == 0 && out.is_empty() {
            return None;
        }
        out.push_str(&text[at..]);
        (out != text).then_some(out)
    }

    fn bytes_have_secret(&self, bytes: &[u8], secrets: &[(String, String)]) -> bool {
        let text = String::from_utf8_lossy(bytes);
        secrets
            .iter()
            .any(|(s, _)| !s.is_empty() && text.contains(s.as_str()))
            || self.redact_str(&text).is_some()
    }

    /// Cleans protobuf bytes without a schema: walks the wire format, recurses into length-delimited fields
    /// that parse as messages, and replaces secrets in the others, fixing the length prefixes.
    /// `None` when the bytes are not a well-formed message or nothing changed.
    fn redact_wire(
        &self,
        bytes: &[u8],
        secrets: &[(String, String)],
        depth: usize,
    ) -> Option<Vec<u8>> {
        let fields = parse_wire(bytes)?;
        let mut out = Vec::with_capacity(bytes.len());
        let mut changed = false;
        for field in fields {
            match field {
                WireField::Other(raw) => out.extend_from_slice(raw),
                WireField::Len { key, payload } => {
                    out.extend_from_slice(key);
                    let nested = if depth < 32 && parse_wire(payload).is_some_and(|f| !f.is_empty())
                    {
                        self.redact_wire(payload, secrets, depth + 1)
                    } else {
                        None
                    };
                    let new = nested.or_else(|| self.redact_payload(payload, secrets));
                    match new {
                        Some(new) => {
                            changed = true;
                            put_varint(&mut out, new.len() as u64);
                            out.extend_from_slice(&new);
                        }
                        None => {
                            put_varint(&mut out, payload.len() as u64);
                            out.extend_from_slice(payload);
                        }
                    }
                }
            }
        }
        changed.then_some(out)
    }

    /// Bytes with secrets replaced (known secrets from the JSON first, then shapes); the bytes that are not
    /// valid UTF-8 are kept as they were.
    fn redact_payload(&self, payload: &[u8], secrets: &[(String, String)]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(payload.len());
        let mut changed = false;
        for chunk in payload.utf8_chunks() {
            let mut text: Cow<'_, str> = Cow::Borrowed(chunk.valid());
            for (secret, p) in secrets {
                if !secret.is_empty() && text.contains(secret.as_str()) {
                    text = Cow::Owned(text.replace(secret.as_str(), p));
                }
            }
            if let Some(new) = self.redact_str(&text) {
                text = Cow::Owned(new);
            }
            changed |= matches!(text, Cow::Owned(_));
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(chunk.invalid());
        }
        (changed && out != payload).then_some(out)
    }
}

enum BinRedaction {
    Clean,
    Cleaned(String),
    Unrepairable,
}

/// `Bearer t1.xyz` -> `Bearer <redacted:iam-token:...>`; anything else -> one placeholder.
fn redact_secret_header(value: &str) -> Option<String> {
    if value.is_empty() || is_placeholder(value) {
        return None;
    }
    if let Some((scheme, rest)) = value.split_once(' ') {
        let is_scheme =
            !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
        if is_scheme {
            let rest = rest.trim_start();
            if rest.is_empty() || is_placeholder(rest) {
                return None;
            }
            let kind = whole_kind(rest).unwrap_or("header");
            return Some(format!("{scheme} {}", placeholder(kind, rest)));
        }
    }
    Some(placeholder(whole_kind(value).unwrap_or("header"), value))
}

/// The kind of secret `text` is, if it is exactly one secret shape.
fn whole_kind(text: &str) -> Option<&'static str> {
    match find_secrets(text).as_slice() {
        [f] if f.start == 0 && f.end == text.len() => Some(f.kind),
        _ => None,
    }
}

/// `<redacted:KIND:HASH8>` for this secret.
pub(crate) fn placeholder(kind: &str, secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hash = String::with_capacity(8);
    for b in &digest[..4] {
        hash.push_str(&format!("{b:02x}"));
    }
    format!("<redacted:{kind}:{hash}>")
}

/// Whether the whole text is one placeholder.
pub(crate) fn is_placeholder(text: &str) -> bool {
    placeholder_regex().is_match(text) && {
        let m = placeholder_regex().find(text);
        m.is_some_and(|m| m.start() == 0 && m.end() == text.len())
    }
}

pub(crate) fn placeholder_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"<redacted:([a-z0-9-]+):[0-9a-f]{8}>").expect("valid regex"))
}

/// Placeholders reduced to their kind, for matching: `<redacted:iam-token:1a2b3c4d>` -> `<redacted:iam-token>`.
pub(crate) fn normalise_placeholders(text: &str) -> Option<String> {
    if !text.contains("<redacted:") {
        return None;
    }
    match placeholder_regex().replace_all(text, "<redacted:$1>") {
        Cow::Owned(s) => Some(s),
        Cow::Borrowed(_) => None,
    }
}

/// `iamToken`, `iam_token`, `IAM-TOKEN` -> `iamtoken`.
pub(crate) fn normalise_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub(crate) fn secret_field(redactor: &Redactor, key: &str) -> bool {
    redactor.is_secret_field(key)
}

impl Redactor {
    /// Whether `key`, in any spelling, names a secret field; no allocation for ordinary keys.
    fn is_secret_field(&self, key: &str) -> bool {
        let mut buf = [0u8; 64];
        let mut n = 0;
        for b in key.bytes() {
            if b == b'_' || b == b'-' {
                continue;
            }
            if n == buf.len() {
                return self.fields.contains(&normalise_key(key));
            }
            buf[n] = b.to_ascii_lowercase();
            n += 1;
        }
        std::str::from_utf8(&buf[..n]).is_ok_and(|k| self.fields.contains(k))
    }
}

pub(crate) fn secret_header(redactor: &Redactor, name: &str) -> bool {
    redactor.headers.contains(&name.to_ascii_lowercase())
}

fn tokens_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
            r"|(?:t1\.|y[0-3]_|AQVN|AQAAAA|YC|eyJ)[A-Za-z0-9_.=\-]+",
            r"|(?i:x-amz-(?:signature|credential|security-token))(?:=|%3[dD])",
        ))
        .expect("valid regex")
    })
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Every built-in secret shape in `text`, in order.
pub(crate) fn find_secrets(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    for m in tokens_regex().find_iter(text) {
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

pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    STANDARD
        .decode(t)
        .or_else(|_| STANDARD_NO_PAD.decode(t))
        .or_else(|_| URL_SAFE.decode(t))
        .or_else(|_| URL_SAFE_NO_PAD.decode(t))
        .ok()
}

enum WireField<'a> {
    /// Any field but a length-delimited one, key and value bytes as they were.
    Other(&'a [u8]),
    Len {
        key: &'a [u8],
        payload: &'a [u8],
    },
}

/// Splits protobuf bytes into fields; `None` unless the whole input is well-formed (groups are refused).
fn parse_wire(bytes: &[u8]) -> Option<Vec<WireField<'_>>> {
    let mut fields = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let key = get_varint(bytes, &mut at)?;
        if key >> 3 == 0 || key >> 3 > 536_870_911 {
            return None;
        }
        match key & 7 {
            0 => {
                get_varint(bytes, &mut at)?;
                fields.push(WireField::Other(&bytes[start..at]));
            }
            1 | 5 => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                at = at.checked_add(n).filter(|&e| e <= bytes.len())?;
                fields.push(WireField::Other(&bytes[start..at]));
            }
            2 => {
                let key_end = at;
                let len = usize::try_from(get_varint(bytes, &mut at)?).ok()?;
                let end = at.checked_add(len).filter(|&e| e <= bytes.len())?;
                fields.push(WireField::Len {
                    key: &bytes[start..key_end],
                    payload: &bytes[at..end],
                });
                at = end;
            }
            _ => return None,
        }
    }
    Some(fields)
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(value);
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests;
