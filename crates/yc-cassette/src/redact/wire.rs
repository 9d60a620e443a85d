//! Secrets in bytes: protobuf messages without a schema (raw message bytes, `-bin` metadata, `bytes` fields) are
//! walked field by field and cleaned in place with their length prefixes fixed up; other bytes are cleaned where
//! they are UTF-8 text.

use std::borrow::Cow;

use super::text::replace_spans;
use super::{Redactor, Secret};

/// How deep nested messages are walked; deeper ones are cleaned as text.
pub(crate) const MAX_NESTING: usize = 32;

impl Redactor {
    /// Cleans protobuf bytes without a schema: walks the wire format, recurses into length-delimited fields
    /// that parse as messages, and replaces secrets in the others (the ones in `secrets` first), fixing the length
    /// prefixes. `None` when the bytes are not a well-formed message or nothing changed.
    pub(crate) fn redact_wire(
        &self,
        bytes: &[u8],
        secrets: &mut Vec<Secret>,
        depth: usize,
    ) -> Option<Vec<u8>> {
        self.redact_wire_nested(bytes, secrets, depth, 0)
    }

    fn redact_wire_nested(
        &self,
        bytes: &[u8],
        secrets: &mut Vec<Secret>,
        depth: usize,
        nesting: usize,
    ) -> Option<Vec<u8>> {
        let fields = parse_wire(bytes)?;
        let mut out = Vec::with_capacity(bytes.len());
        let mut changed = false;
        for field in fields {
            match field {
                WireField::Other(raw) => out.extend_from_slice(raw),
                WireField::Len { key, payload } => {
                    out.extend_from_slice(key);
                    let nested = if nesting < MAX_NESTING
                        && parse_wire(payload).is_some_and(|f| !f.is_empty())
                    {
                        self.redact_wire_nested(payload, secrets, depth, nesting + 1)
                    } else {
                        None
                    };
                    let new = nested.or_else(|| self.redact_payload(payload, secrets, depth));
                    let payload = new.as_deref().unwrap_or(payload);
                    changed |= new.is_some();
                    put_varint(&mut out, payload.len() as u64);
                    out.extend_from_slice(payload);
                }
            }
        }
        changed.then_some(out)
    }

    /// Bytes with secrets replaced (those already known first, then every layer of [`Redactor::spans`]); the bytes
    /// that are not valid UTF-8 are kept as they were.
    pub(crate) fn redact_payload(
        &self,
        payload: &[u8],
        secrets: &mut Vec<Secret>,
        depth: usize,
    ) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(payload.len());
        let mut changed = false;
        for chunk in payload.utf8_chunks() {
            let mut text: Cow<'_, str> = Cow::Borrowed(chunk.valid());
            for known in secrets.iter() {
                if !known.value.is_empty() && text.contains(known.value.as_str()) {
                    text = Cow::Owned(text.replace(known.value.as_str(), &known.placeholder));
                }
            }
            let spans = self.spans(&text, depth);
            if !spans.is_empty() {
                text = Cow::Owned(replace_spans(&text, spans, secrets));
            }
            changed |= matches!(text, Cow::Owned(_));
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(chunk.invalid());
        }
        (changed && out != payload).then_some(out)
    }

    /// Whether bytes seen as text still hold a secret: one of `secrets`, or any the layers find.
    pub(crate) fn bytes_have_secret(&self, bytes: &[u8], secrets: &[Secret]) -> bool {
        let text = String::from_utf8_lossy(bytes);
        secrets
            .iter()
            .any(|s| !s.value.is_empty() && text.contains(s.value.as_str()))
            || self.bytes_kind(bytes, 0).is_some()
    }
}

pub(crate) enum WireField<'a> {
    /// Any field but a length-delimited one, key and value bytes as they were.
    Other(&'a [u8]),
    Len {
        key: &'a [u8],
        payload: &'a [u8],
    },
}

/// Splits protobuf bytes into fields; `None` unless the whole input is well-formed (groups are refused).
pub(crate) fn parse_wire(bytes: &[u8]) -> Option<Vec<WireField<'_>>> {
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
