//! Redaction: secrets are replaced by stable placeholders before anything reaches the disk, and the same rules run
//! on live requests before matching so a redacted recording still matches. Pure functions over values.
//!
//! A placeholder is `<redacted:KIND:HASH8>`, HASH8 being the first 8 hex digits of the SHA-256 of the secret:
//! the same secret gives the same placeholder, and matching compares placeholders by kind only.
//!
//! Rules go by name (secret headers and fields, in any spelling) and by meaning (token shapes, credentials after an
//! auth scheme word, secret `name=value` pairs), and every string is looked at through the layers of
//! [`crate::decode`] (URL escapes, base64 runs, compressed blobs), see `text`. Bytes go through `wire`; the shapes
//! themselves are in `shapes`.

pub(crate) mod memo;
mod shapes;
mod text;
mod wire;

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::decode::{Encoding, MAX_DECODED_SIZE, decode_base64, decode_content};
use crate::model::{Body, GrpcStatus, Headers, Interaction, Message};

#[cfg(test)]
pub(crate) use shapes::find_secrets;
pub(crate) use shapes::{
    is_placeholder, normalise_placeholder_bytes, normalise_placeholders, placeholder,
};

/// Header names whose values are always secret. Beyond these, any name containing `authorization`, any `x-` name
/// containing `auth`, and any name that is a secret field once a leading `x-` is dropped (`x-api-key`,
/// `x-iam-token`) are secret too.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-yacloud-subjecttoken",
    "x-amz-security-token",
    "x-api-key",
];

/// Field names (compared lower-case without `_` and `-`, so `apiKey`, `api_key` and `api-key` are one) whose
/// values are always secret, in JSON at any depth, in queries, form bodies and URLs.
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
    "actor_token",
    "auth_token",
    "token",
    "api_key",
    "api_secret",
    "credentials",
    "credential",
    "authorization",
    "signature",
    "x_amz_signature",
    "x_amz_credential",
    "x_amz_security_token",
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
    // foldhash, seeded: every key of every message is looked up here, and SipHash was a fifth of redaction. The
    // sets are fixed at construction, so traffic cannot grow them.
    headers: HashSet<String, foldhash::fast::RandomState>,
    /// Normalised ([`normalise_key`]), as bytes: the lookup's key is built in a stack buffer.
    fields: HashSet<Box<[u8]>, foldhash::fast::RandomState>,
    /// The lengths and first and last bytes of `fields`' keys: most keys of a message (`folder_id`, `created_at`,
    /// `status`) match no secret name in them and are refused without hashing.
    field_shapes: FieldShapes,
    paths: Vec<Vec<String>>,
    patterns: Vec<Regex>,
    /// Which rules these are, for what `memo` remembers across calls: 0 for the built-ins alone (every
    /// `Redactor::default()` detects alike), else unique to the [`Redactor::new`] that made it (clones share it:
    /// the rules never change after construction).
    rules: u64,
}

impl Default for Redactor {
    fn default() -> Redactor {
        let mut redactor = Redactor {
            headers: SECRET_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
            fields: HashSet::default(),
            field_shapes: FieldShapes::default(),
            paths: Vec::new(),
            patterns: Vec::new(),
            rules: 0,
        };
        for field in SECRET_FIELDS {
            redactor.add_field(field);
        }
        redactor
    }
}

/// A secret replaced: its value as found, its placeholder and kind. Raw bytes beside a message's JSON are cleaned
/// of the secrets the JSON held, even where no rule would see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Secret {
    pub value: String,
    pub placeholder: String,
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
                redactor.add_field(field);
            }
        }
        for pattern in &extra.patterns {
            let regex = Regex::new(pattern).map_err(|source| Error::Regex {
                pattern: pattern.clone(),
                source,
            })?;
            redactor.patterns.push(regex);
        }
        if *extra != RedactionRules::default() {
            static NEXT_RULES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            redactor.rules = NEXT_RULES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(redactor)
    }

    /// Redacts every place of an interaction: headers, trailers, messages (JSON and raw bytes), status details,
    /// path, query and bodies. A REST body still compressed (a cassette written before bodies were stored
    /// decoded) is decoded first, per its `content-encoding`, and stored decoded.
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
                let request = &mut r.request;
                self.redact_headers_and_body(
                    &mut request.headers,
                    &mut request.encoding,
                    &mut request.body,
                );
                let response = &mut r.response;
                self.redact_headers_and_body(
                    &mut response.headers,
                    &mut response.encoding,
                    &mut response.body,
                );
            }
        }
    }

    /// A REST request's or response's headers and body; a body stored encoded is decoded first
    /// ([`decode_stored_body`]), so its secrets can be seen.
    fn redact_headers_and_body(
        &self,
        headers: &mut Headers,
        encoding: &mut Option<String>,
        body: &mut Body,
    ) {
        decode_stored_body(headers, encoding, body);
        self.redact_headers(headers);
        self.redact_body(body);
    }

    /// Secret headers lose their value (an auth scheme word such as `Bearer` stays); other values lose any
    /// secret part; `-bin` values are decoded and cleaned inside.
    pub fn redact_headers(&self, headers: &mut Headers) {
        for (name, value) in &mut headers.0 {
            if let Some(new) = self.redact_header(name, value) {
                *value = new;
            }
        }
    }

    /// Redacts a JSON value in place: secret field names, secrets anywhere in strings (keys included).
    pub fn redact_json(&self, value: &mut Value) {
        self.redact_json_collect(value, &mut Vec::new());
    }

    /// The text with every secret replaced.
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
        let cleaned = self.redact_wire(raw, &mut secrets, 0);
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
            match self.redact_bin_text(text, &mut secrets) {
                BinRedaction::Clean => {}
                BinRedaction::Cleaned(new) => status.details_bin = Some(new),
                BinRedaction::Unrepairable => status.details_bin = None,
            }
        }
    }

    /// Redacts a raw query string: values of secret parameter names (decoded names, any spelling), signed-URL
    /// parameters, and secrets in values, escaped or not.
    pub fn redact_query(&self, query: &str) -> String {
        self.redact_text(query)
    }

    /// Redacts a body: JSON as JSON (text that parses as JSON too), text as text (form bodies by field name),
    /// binary through its text view.
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
                if let Some(new) = self.clean_bytes(bytes, &mut Vec::new(), 0) {
                    *bytes = new;
                }
            }
        }
    }

    // ---- internals ----

    fn redact_header(&self, name: &str, value: &str) -> Option<String> {
        if self.is_secret_header(name) {
            return redact_secret_header(value);
        }
        if name.ends_with("-bin") {
            return match self.redact_bin_text(value, &mut Vec::new()) {
                BinRedaction::Clean => None,
                BinRedaction::Cleaned(new) => Some(new),
                BinRedaction::Unrepairable => Some(placeholder("binary", value)),
            };
        }
        self.redact_str(value)
    }

    /// Cleans a base64 value holding (usually) protobuf bytes.
    fn redact_bin_text(&self, text: &str, secrets: &mut Vec<Secret>) -> BinRedaction {
        let Some(bytes) = decode_base64(text) else {
            return match self.redact_str(text) {
                Some(new) => BinRedaction::Cleaned(new),
                None => BinRedaction::Clean,
            };
        };
        match self.clean_bytes(&bytes, secrets, 0) {
            Some(clean) if !self.bytes_have_secret(&clean, secrets) => {
                BinRedaction::Cleaned(STANDARD_NO_PAD.encode(clean))
            }
            None if !self.bytes_have_secret(&bytes, secrets) => BinRedaction::Clean,
            _ => BinRedaction::Unrepairable,
        }
    }

    fn redact_json_collect(&self, value: &mut Value, secrets: &mut Vec<Secret>) {
        let mut path = Vec::new();
        self.walk_json(value, &mut path, false, secrets);
    }

    fn walk_json(
        &self,
        value: &mut Value,
        path: &mut Vec<String>,
        secret: bool,
        secrets: &mut Vec<Secret>,
    ) {
        match value {
            Value::String(s) => {
                if secret {
                    if !is_placeholder(s) && !s.is_empty() {
                        let p = placeholder(shapes::whole_kind(s).unwrap_or("field"), s);
                        secrets.push(Secret {
                            value: std::mem::take(s),
                            placeholder: p.clone(),
                            kind: "secret-field",
                        });
                        *s = p;
                    }
                } else if let Some(new) = self.redact_str_collect(s, secrets) {
                    *s = new;
                }
            }
            Value::Number(n) if secret => {
                let text = n.to_string();
                let p = placeholder("field", &text);
                secrets.push(Secret {
                    value: text,
                    placeholder: p.clone(),
                    kind: "secret-field",
                });
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

    fn add_field(&mut self, field: &str) {
        let key = field_key(field);
        self.field_shapes.add(&key);
        self.fields.insert(key);
    }

    /// Whether `key`, in any spelling, names a secret field; no allocation for ordinary keys.
    pub(crate) fn is_secret_field(&self, key: &str) -> bool {
        let mut buf = [0u8; FIELD_BUFFER];
        let mut n = 0;
        for b in key.bytes() {
            if b == b'_' || b == b'-' {
                continue;
            }
            if n == buf.len() {
                return self.fields.contains(field_key(key).as_ref());
            }
            buf[n] = b.to_ascii_lowercase();
            n += 1;
        }
        self.field_shapes.may_hold(&buf[..n]) && self.fields.contains(&buf[..n])
    }

    /// Whether a header's whole value is secret: a listed name, any name with `authorization`, an `x-` name with
    /// `auth` in it, or a secret field name after a leading `x-`.
    pub(crate) fn is_secret_header(&self, name: &str) -> bool {
        memo::secret_header(self, name, || self.decide_secret_header(name))
    }

    fn decide_secret_header(&self, name: &str) -> bool {
        // Stored names are lower-case already; only others pay for a copy.
        let lower = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(name.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(name)
        };
        if self.headers.contains(lower.as_ref()) || lower.contains("authorization") {
            return true;
        }
        match lower.strip_prefix("x-") {
            Some(rest) => rest.contains("auth") || self.is_secret_field(rest),
            None => self.is_secret_field(&lower),
        }
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
            let kind = shapes::whole_kind(rest).unwrap_or("header");
            return Some(format!("{scheme} {}", placeholder(kind, rest)));
        }
    }
    Some(placeholder(
        shapes::whole_kind(value).unwrap_or("header"),
        value,
    ))
}

/// A REST body kept compressed (base64) although its `content-encoding` says how to decode it: decoded in place,
/// with the coding noted, when that works within the limits. Left alone otherwise: the scan then refuses it.
fn decode_stored_body(headers: &Headers, encoding: &mut Option<String>, body: &mut Body) {
    if encoding.is_some() {
        return;
    }
    let (Some(coding), Body::Base64(bytes)) = (headers.get("content-encoding"), &*body) else {
        return;
    };
    if Encoding::parse_list(coding).is_ok_and(|list| list.is_empty()) {
        return;
    }
    if let Ok(decoded) = decode_content(coding, bytes, MAX_DECODED_SIZE) {
        *body = Body::from_bytes(headers.get("content-type"), &decoded);
        *encoding = Some(coding.trim().to_owned());
    }
}

/// The stack buffer a key is normalised into; normalised keys this long skip [`FieldShapes`], longer ones the
/// buffer too.
const FIELD_BUFFER: usize = 64;

/// A filter before the set of secret field names, exact for the names it was given: per length, a bit for each
/// first byte and one for each last byte (modulo 64) the names of that length have. A key that misses either is in
/// no set; one that has both is looked up. Every key of every message and header passes here twice (redaction,
/// then the scan), and hashing and comparing them was a quarter of redaction's cost on an `Image` Get; over the
/// bundled cassettes 13 keys in 441 get past it.
#[derive(Debug, Clone)]
struct FieldShapes {
    first: [u64; FIELD_BUFFER],
    last: [u64; FIELD_BUFFER],
}

impl Default for FieldShapes {
    fn default() -> FieldShapes {
        FieldShapes {
            first: [0; FIELD_BUFFER],
            last: [0; FIELD_BUFFER],
        }
    }
}

impl FieldShapes {
    fn add(&mut self, key: &[u8]) {
        let (first, last) = FieldShapes::bits(key);
        if let (Some(f), Some(l)) = (self.first.get_mut(key.len()), self.last.get_mut(key.len())) {
            *f |= first;
            *l |= last;
        }
    }

    /// False only if no key added has this shape; keys past the buffer always may.
    fn may_hold(&self, key: &[u8]) -> bool {
        let (first, last) = FieldShapes::bits(key);
        match (self.first.get(key.len()), self.last.get(key.len())) {
            (Some(f), Some(l)) => f & first != 0 && l & last != 0,
            _ => true,
        }
    }

    fn bits(key: &[u8]) -> (u64, u64) {
        let bit = |byte: Option<&u8>| 1u64 << (byte.copied().unwrap_or(0) & 63);
        (bit(key.first()), bit(key.last()))
    }
}

/// A field name as the set of secret fields holds it.
fn field_key(key: &str) -> Box<[u8]> {
    normalise_key(key).into_bytes().into_boxed_slice()
}

/// `iamToken`, `iam_token`, `IAM-TOKEN` -> `iamtoken`.
pub(crate) fn normalise_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests;
