//! The secret scan: the fail-closed last check before a cassette is written, and the check `yc-vcr check` runs
//! over committed files. It reports; it never changes anything.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use crate::model::{Body, Cassette, Headers, Interaction, Message};
use crate::redact::{
    Redactor, decode_base64, find_secrets, is_placeholder, secret_field, secret_header,
};

/// A secret that survived: where it is and what it looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A path into the cassette (`interactions[2].grpc.request.metadata.authorization`) or `line L`.
    pub location: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// `iam-token`, `oauth-token`, `api-key`, `access-key-id`, `secret-key`, `jwt`, `private-key`, `signature`,
    /// `secret-header`, `secret-field`, `pattern`.
    pub kind: &'static str,
}

/// Every secret left in a cassette under the built-in rules, including inside raw and base64 bytes.
pub fn scan(cassette: &Cassette) -> Vec<Finding> {
    Redactor::default().scan(cassette)
}

/// Every secret-shaped value in cassette file text, with its line and column (1-based), for `yc-vcr check`.
/// Base64 strings are decoded and looked into too.
pub fn scan_text(text: &str) -> Vec<Finding> {
    let redactor = Redactor::default();
    let mut out = Vec::new();
    // The key of the array being read, for header values written one per line: `"cookie": [` ... `]`.
    let mut array_key: Option<String> = None;
    for (l, line) in text.lines().enumerate() {
        let at = |byte: usize, kind: &'static str| Finding {
            location: format!("line {}", l + 1),
            line: Some(l + 1),
            column: Some(line[..byte].chars().count() + 1),
            kind,
        };
        for f in find_secrets(line) {
            if !is_placeholder(&line[f.start..f.end]) {
                out.push(at(f.start, f.kind));
            }
        }
        for caps in pair_regex().captures_iter(line) {
            let (Some(key), Some(value)) = (caps.get(1), caps.get(2)) else {
                continue;
            };
            let kind = if secret_header(&redactor, key.as_str()) {
                "secret-header"
            } else if secret_field(&redactor, key.as_str()) {
                "secret-field"
            } else {
                continue;
            };
            if !value.as_str().is_empty() && !is_redacted_value(value.as_str()) {
                out.push(at(value.start(), kind));
            }
        }
        let trimmed = line.trim();
        if let Some(key) = &array_key {
            if trimmed.starts_with(']') {
                array_key = None;
            } else if let Some(value) = trimmed
                .trim_end_matches(',')
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                && !value.is_empty()
                && !is_redacted_value(value)
                && (secret_header(&redactor, key) || secret_field(&redactor, key))
            {
                let column = line.find('"').map_or(0, |i| i + 1);
                out.push(at(column, "secret-header"));
            }
        } else if let Some(key) = trimmed
            .strip_suffix('[')
            .map(str::trim_end)
            .and_then(|t| t.strip_suffix(':'))
            .and_then(|t| t.trim_end().strip_prefix('"'))
            .and_then(|t| t.strip_suffix('"'))
        {
            array_key = Some(key.to_owned());
        }
        for caps in base64_regex().captures_iter(line) {
            let Some(m) = caps.get(1) else { continue };
            if let Some(kind) = decode_base64(m.as_str()).and_then(|b| bytes_secret(&redactor, &b))
            {
                out.push(at(m.start(), kind));
            }
        }
    }
    out.sort_by_key(|f| (f.line, f.column));
    out.dedup();
    out
}

impl Redactor {
    /// Every secret left in a cassette under these rules, including inside raw and base64 bytes.
    pub fn scan(&self, cassette: &Cassette) -> Vec<Finding> {
        let mut scanner = Scanner {
            redactor: self,
            out: Vec::new(),
        };
        for (i, interaction) in cassette.interactions.iter().enumerate() {
            let at = format!("interactions[{i}]");
            match interaction {
                Interaction::Grpc(g) => {
                    let at = format!("{at}.grpc");
                    scanner.string(&g.method, &format!("{at}.method"));
                    scanner.headers(&g.request.metadata, &format!("{at}.request.metadata"));
                    scanner.messages(&g.request.messages, &format!("{at}.request.messages"));
                    scanner.headers(&g.response.headers, &format!("{at}.response.headers"));
                    scanner.messages(&g.response.messages, &format!("{at}.response.messages"));
                    scanner.headers(&g.response.trailers, &format!("{at}.response.trailers"));
                    let status = &g.response.status;
                    scanner.string(&status.message, &format!("{at}.response.status.message"));
                    for (d, detail) in status.details.iter().enumerate() {
                        scanner.json(detail, &format!("{at}.response.status.details[{d}]"));
                    }
                    if let Some(bin) = &status.details_bin {
                        scanner.bin(bin, &format!("{at}.response.status.details_bin"));
                    }
                }
                Interaction::Rest(r) => {
                    let at = format!("{at}.rest");
                    scanner.string(&r.request.path, &format!("{at}.request.path"));
                    scanner.query(&r.request.query, &format!("{at}.request.query"));
                    scanner.headers(&r.request.headers, &format!("{at}.request.headers"));
                    scanner.body(&r.request.body, &format!("{at}.request.body"));
                    scanner.headers(&r.response.headers, &format!("{at}.response.headers"));
                    scanner.body(&r.response.body, &format!("{at}.response.body"));
                }
            }
        }
        scanner.out
    }

    /// The kind of the first secret in `text` under these rules, ignoring placeholders.
    fn detect(&self, text: &str) -> Option<&'static str> {
        if let Some(f) = find_secrets(text)
            .into_iter()
            .find(|f| !is_placeholder(&text[f.start..f.end]))
        {
            return Some(f.kind);
        }
        if self.redact_str(text).is_some() {
            return Some("pattern");
        }
        None
    }
}

struct Scanner<'a> {
    redactor: &'a Redactor,
    out: Vec<Finding>,
}

impl Scanner<'_> {
    fn push(&mut self, location: &str, kind: &'static str) {
        self.out.push(Finding {
            location: location.to_owned(),
            line: None,
            column: None,
            kind,
        });
    }

    fn string(&mut self, text: &str, at: &str) {
        if let Some(kind) = self.redactor.detect(text) {
            self.push(at, kind);
        } else if text.len() >= 32
            && let Some(kind) = decode_base64(text).and_then(|b| bytes_secret(self.redactor, &b))
        {
            self.push(&format!("{at} (base64)"), kind);
        }
    }

    fn bytes(&mut self, bytes: &[u8], at: &str) {
        if let Some(kind) = bytes_secret(self.redactor, bytes) {
            self.push(at, kind);
        }
    }

    fn bin(&mut self, text: &str, at: &str) {
        match decode_base64(text) {
            Some(bytes) => self.bytes(&bytes, at),
            None => self.string(text, at),
        }
    }

    fn headers(&mut self, headers: &Headers, at: &str) {
        for (name, value) in headers.iter() {
            let here = format!("{at}.{name}");
            if secret_header(self.redactor, name) {
                if !is_redacted_value(value) && !value.is_empty() {
                    self.push(&here, "secret-header");
                }
            } else if name.ends_with("-bin") {
                self.bin(value, &here);
            } else {
                self.string(value, &here);
            }
        }
    }

    fn messages(&mut self, messages: &[Message], at: &str) {
        for (m, message) in messages.iter().enumerate() {
            if let Some(json) = &message.json {
                self.json(json, &format!("{at}[{m}].json"));
            }
            if let Some(raw) = &message.raw {
                self.bytes(raw, &format!("{at}[{m}].raw"));
            }
        }
    }

    fn json(&mut self, value: &Value, at: &str) {
        match value {
            Value::String(s) => self.string(s, at),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.json(item, &format!("{at}[{i}]"));
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let here = format!("{at}.{k}");
                    self.string(k, &format!("{here} (key)"));
                    let secret = secret_field(self.redactor, k);
                    match v {
                        Value::String(s) if secret && !s.is_empty() && !is_placeholder(s) => {
                            self.push(&here, "secret-field");
                        }
                        Value::Number(_) if secret => self.push(&here, "secret-field"),
                        _ => self.json(v, &here),
                    }
                }
            }
            _ => {}
        }
    }

    fn query(&mut self, query: &str, at: &str) {
        for pair in query.split('&') {
            if let Some((name, value)) = pair.split_once('=')
                && secret_field(self.redactor, name)
                && !value.is_empty()
                && !is_placeholder(value)
            {
                self.push(&format!("{at}.{name}"), "secret-field");
            }
        }
        self.string(query, at);
    }

    fn body(&mut self, body: &Body, at: &str) {
        match body {
            Body::Empty => {}
            Body::Json(v) => self.json(v, &format!("{at}.json")),
            Body::Text(t) => match serde_json::from_str::<Value>(t) {
                Ok(v) => self.json(&v, &format!("{at}.text")),
                Err(_) => self.string(t, &format!("{at}.text")),
            },
            Body::Base64(b) => self.bytes(b, &format!("{at}.base64")),
        }
    }
}

/// A secret in bytes seen as text: shapes anywhere, and base64 inside (one level).
fn bytes_secret(redactor: &Redactor, bytes: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(bytes);
    redactor.detect(&text)
}

/// A value that is a placeholder, possibly after an auth scheme word (`Bearer <redacted:...>`).
fn is_redacted_value(value: &str) -> bool {
    is_placeholder(value)
        || value
            .split_once(' ')
            .is_some_and(|(_, rest)| is_placeholder(rest.trim()))
}

fn pair_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#""([A-Za-z0-9_-]+)"\s*:\s*"((?:[^"\\]|\\.)*)""#).expect("valid regex")
    })
}

fn base64_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#""([A-Za-z0-9+/_-]{32,}={0,2})""#).expect("valid regex"))
}
