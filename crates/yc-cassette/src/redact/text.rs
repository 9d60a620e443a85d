//! Secrets in one string, through every layer of [`crate::decode`]: shapes, user patterns, credentials after an auth
//! scheme word, values of secret `name=value` pairs (queries, form bodies, URLs in text), then the same again inside
//! URL escapes and base64 runs, a few levels deep. Each secret becomes a [`Span`] of the stored text, so it is
//! replaced where it stands and the rest of the text stays as it was.

use crate::decode::{
    self, Base64Run, Encoding, MAX_DEPTH, MAX_NESTED_SIZE, base64_runs, form_decode, percent_layer,
};

use super::shapes::{
    Found, auth_credentials, find_secrets, is_placeholder, placeholder, whole_kind,
};
use super::wire::{MAX_NESTING, WireField, parse_wire};
use super::{Redactor, Secret};

/// One part of a stored string to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
    /// What the secret is once decoded (the placeholder hashes this), or the stored run for encoded blobs.
    pub secret: String,
    pub replacement: String,
}

impl Span {
    fn placeholder(start: usize, end: usize, kind: &'static str, secret: &str) -> Span {
        Span {
            start,
            end,
            kind,
            secret: secret.to_owned(),
            replacement: placeholder(kind, secret),
        }
    }
}

/// `text` with each of `spans` (sorted, not overlapping) replaced by its placeholder, each secret added to `secrets`.
pub(crate) fn replace_spans(text: &str, spans: Vec<Span>, secrets: &mut Vec<Secret>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.start]);
        out.push_str(&span.replacement);
        at = span.end;
        secrets.push(Secret {
            value: span.secret,
            placeholder: span.replacement,
            kind: span.kind,
        });
    }
    out.push_str(&text[at..]);
    out
}

impl Redactor {
    /// The text with secrets replaced, or `None` when it holds none.
    pub(crate) fn redact_str(&self, text: &str) -> Option<String> {
        self.redact_str_collect(text, &mut Vec::new())
    }

    /// As [`Redactor::redact_str`], adding each secret replaced to `secrets`.
    pub(crate) fn redact_str_collect(
        &self,
        text: &str,
        secrets: &mut Vec<Secret>,
    ) -> Option<String> {
        let spans = self.spans(text, 0);
        if spans.is_empty() {
            return None;
        }
        let out = replace_spans(text, spans, secrets);
        (out != text).then_some(out)
    }

    /// The kind of the first secret in `text`, if any: what the scan reports.
    pub(crate) fn detect(&self, text: &str) -> Option<&'static str> {
        self.spans(text, 0).first().map(|s| s.kind)
    }

    /// Every secret in `text`, sorted, without overlaps (an outer secret wins over one inside it).
    pub(crate) fn spans(&self, text: &str, depth: usize) -> Vec<Span> {
        if depth > 0 {
            return self.find_spans(text, depth);
        }
        let Some(key) = super::memo::lookup(self, text) else {
            return Vec::new();
        };
        let spans = self.find_spans(text, 0);
        if spans.is_empty() {
            super::memo::learn(self, key);
        }
        spans
    }

    fn find_spans(&self, text: &str, depth: usize) -> Vec<Span> {
        let mut spans = Vec::new();
        // One pass decides which of the layers below can apply: most strings have none of these bytes.
        let (mut space, mut equals, mut percent) = (false, false, false);
        for &b in text.as_bytes() {
            match b {
                b' ' | b'\t' => space = true,
                b'=' => equals = true,
                b'%' => percent = true,
                _ => {}
            }
        }
        for f in find_secrets(text) {
            self.push_found(text, f, &mut spans);
        }
        if !self.patterns.is_empty() {
            let patterns = super::memo::patterns(self);
            for regex in patterns.iter() {
                for caps in regex.captures_iter(text) {
                    if let Some(m) = caps
                        .get(1)
                        .or_else(|| caps.get(0))
                        .filter(|m| !m.is_empty())
                    {
                        let found = Found {
                            start: m.start(),
                            end: m.end(),
                            kind: "pattern",
                        };
                        self.push_found(text, found, &mut spans);
                    }
                }
            }
        }
        if space {
            for (start, end) in auth_credentials(text) {
                let credential = &text[start..end];
                if !is_placeholder(credential) {
                    let kind = whole_kind(credential).unwrap_or("credential");
                    spans.push(Span::placeholder(start, end, kind, credential));
                }
            }
        }
        if equals {
            self.pair_spans(text, &mut spans);
        }
        if depth < MAX_DEPTH {
            if percent && let Some(layer) = percent_layer(text) {
                for inner in self.spans(&layer.text, depth + 1) {
                    let (start, end) = layer.original(inner.start, inner.end);
                    spans.push(Span {
                        start,
                        end,
                        ..inner
                    });
                }
            }
            for run in base64_runs(text) {
                let covered = spans.iter().any(|s| s.start < run.end && run.start < s.end);
                if !covered && let Some(span) = self.base64_span(text, &run, depth + 1) {
                    spans.push(span);
                }
            }
        }
        if spans.len() < 2 {
            return spans;
        }
        spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        let mut kept: Vec<Span> = Vec::with_capacity(spans.len());
        for span in spans {
            if kept.last().is_none_or(|last| span.start >= last.end) {
                kept.push(span);
            }
        }
        kept
    }

    fn push_found(&self, text: &str, f: Found, spans: &mut Vec<Span>) {
        let secret = &text[f.start..f.end];
        if !is_placeholder(secret) {
            spans.push(Span::placeholder(f.start, f.end, f.kind, secret));
        }
    }

    /// Values of `name=value` pairs whose (decoded) name is a secret field: `access_token=...` in a query, a form
    /// body or a URL inside any text.
    fn pair_spans(&self, text: &str, spans: &mut Vec<Span>) {
        let bytes = text.as_bytes();
        let mut at = 0;
        while let Some(eq) = text[at..].find('=').map(|i| at + i) {
            at = eq + 1;
            let name_start = text[..eq].rfind(|c: char| !is_name_char(c)).map_or(0, |i| {
                i + text[i..].chars().next().map_or(1, char::len_utf8)
            });
            if name_start == eq {
                continue;
            }
            // A pair starts the text or follows a separator; `a.b=c` inside a word is not a pair.
            if name_start > 0
                && !matches!(
                    bytes[name_start - 1],
                    b'?' | b'&' | b';' | b'#' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b','
                )
            {
                continue;
            }
            let value_end = text[at..]
                .find([
                    '&', '#', ' ', '\t', '\r', '\n', '"', '\'', '<', '>', ';', ',',
                ])
                .map_or(text.len(), |i| at + i);
            let value = &text[at..value_end];
            if value.is_empty() || !self.is_secret_field(&form_decode(&text[name_start..eq])) {
                continue;
            }
            let secret = form_decode(value);
            let kind = whole_kind(&secret).unwrap_or("field");
            spans.push(Span {
                start: at,
                end: value_end,
                kind,
                replacement: placeholder(kind, &secret),
                secret,
            });
            at = value_end;
        }
    }

    /// A base64 run whose decoded bytes hold a secret: written back cleaned in the same alphabet, or, when the bytes
    /// are compressed, replaced whole (an encoded blob with a secret inside is not worth rebuilding).
    fn base64_span(&self, text: &str, run: &Base64Run, depth: usize) -> Option<Span> {
        let stored = &text[run.start..run.end];
        if let Some(encoding) = Encoding::sniff(&run.bytes) {
            let inner = encoding.decode(&run.bytes, MAX_NESTED_SIZE).ok()?;
            let kind = self.bytes_kind(&inner, depth + 1)?;
            return Some(Span::placeholder(run.start, run.end, kind, stored));
        }
        let mut found = Vec::new();
        let cleaned = self.clean_bytes(&run.bytes, &mut found, depth)?;
        let kind = found.first().map_or("encoded", |s| s.kind);
        Some(Span {
            start: run.start,
            end: run.end,
            kind,
            secret: stored.to_owned(),
            replacement: run.encode(&cleaned),
        })
    }

    /// Bytes with their secrets replaced: through the protobuf wire format when they are a message (lengths fixed
    /// up), else as text where they are UTF-8. `None` when nothing changed.
    pub(crate) fn clean_bytes(
        &self,
        bytes: &[u8],
        found: &mut Vec<Secret>,
        depth: usize,
    ) -> Option<Vec<u8>> {
        if parse_wire(bytes).is_some_and(|f| !f.is_empty())
            && let Some(clean) = self.redact_wire(bytes, found, depth)
        {
            return Some(clean);
        }
        self.redact_payload(bytes, found, depth)
    }

    /// The kind of the first secret in bytes: in each field when they are a protobuf message (a length prefix
    /// glued to a token would hide its start in the text view), decompressed when they carry a magic number, and
    /// as text.
    pub(crate) fn bytes_kind(&self, bytes: &[u8], depth: usize) -> Option<&'static str> {
        self.bytes_kind_nested(bytes, depth, 0)
    }

    fn bytes_kind_nested(
        &self,
        bytes: &[u8],
        depth: usize,
        nesting: usize,
    ) -> Option<&'static str> {
        if depth > MAX_DEPTH {
            return None;
        }
        if nesting < MAX_NESTING
            && let Some(fields) = parse_wire(bytes)
        {
            for field in fields {
                if let WireField::Len { payload, .. } = field
                    && let Some(kind) = self.bytes_kind_nested(payload, depth, nesting + 1)
                {
                    return Some(kind);
                }
            }
        }
        if let Some(encoding) = Encoding::sniff(bytes)
            && let Ok(inner) = encoding.decode(bytes, MAX_NESTED_SIZE)
            && let Some(kind) = self.bytes_kind_nested(&inner, depth + 1, 0)
        {
            return Some(kind);
        }
        let text = decode::utf8_or_marks(bytes);
        self.spans(&text, depth).first().map(|s| s.kind)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '~' | '%' | '[' | ']')
}
