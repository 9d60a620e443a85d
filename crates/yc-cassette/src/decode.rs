//! The decoding pipeline: the forms in which a reader of a cassette (or an attacker) would see a stored value.
//! Redaction, the secret scan and `yc-vcr check` all look through these same layers, so a secret hidden by an
//! encoding is found, and replaced, wherever it is:
//!
//! - URL escapes (`t1%2E...`, `%74%31...`, `%252E`): [`percent_layer`] decodes one level and keeps, for every decoded
//!   byte, where it came from, so a secret found in the decoded text is replaced in the stored text in place; callers
//!   peel levels one at a time up to [`MAX_DEPTH`];
//! - form bodies and query strings: [`query_pairs`] (`form_urlencoded`, `+` as space);
//! - base64 runs, alone or inside longer strings: [`base64_runs`];
//! - compressed bodies and messages (`content-encoding`, `grpc-encoding`): [`Encoding`], with the output capped at a
//!   limit so a zip bomb is an error, not a hang or an allocation failure.
//!
//! JSON escapes need no layer of their own: every value is examined after `serde_json` parsed it, keys included.
//! Pure functions over values: no IO, no global state beyond compiled regular expressions.

use std::fmt;
use std::io::Read;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use regex::Regex;

/// How many encodings deep a value is looked into (percent inside base64 inside percent ...).
pub(crate) const MAX_DEPTH: usize = 4;

/// The largest body or message a decompression may produce: more is refused as a likely zip bomb.
pub const MAX_DECODED_SIZE: usize = 64 * 1024 * 1024;

/// Compressed content nested in a value (base64 of gzip inside a string) is looked into up to this size.
pub(crate) const MAX_NESTED_SIZE: usize = 1024 * 1024;

/// The shortest run of base64 characters that is decoded and looked into. Shorter runs cannot carry a whole
/// secret shape (the shortest, an access key id, is 25 characters, 36 in base64); credentials without a shape are
/// found by name or by their auth scheme word instead.
pub(crate) const MIN_BASE64_RUN: usize = 24;

/// A content coding (`content-encoding`, `grpc-encoding`) that bodies and messages are decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Gzip,
    /// `deflate`: zlib-wrapped (RFC 9110); a raw deflate stream, as some servers send, is read too.
    Deflate,
    Brotli,
    Zstd,
}

/// Why a body or message could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unsupported encoding `{0}`")]
    Unsupported(String),
    #[error("`{encoding}` data decodes to more than {limit} bytes")]
    TooLarge {
        encoding: &'static str,
        limit: usize,
    },
    #[error("invalid `{encoding}` data: {message}")]
    Corrupt {
        encoding: &'static str,
        message: String,
    },
    #[error("more than {MAX_DEPTH} encodings applied one over the other")]
    TooDeep,
}

impl Encoding {
    /// The coding a header value names; `None` for `identity` (nothing to decode).
    /// An unknown name is an error: the data cannot be looked into, so it cannot be stored.
    pub fn parse(name: &str) -> Result<Option<Encoding>, DecodeError> {
        let name = name.trim();
        let found = match name.to_ascii_lowercase().as_str() {
            "" | "identity" => return Ok(None),
            "gzip" | "x-gzip" => Encoding::Gzip,
            "deflate" => Encoding::Deflate,
            "br" => Encoding::Brotli,
            "zstd" => Encoding::Zstd,
            _ => return Err(DecodeError::Unsupported(name.to_owned())),
        };
        Ok(Some(found))
    }

    /// Every coding of a `content-encoding` value, in the order they were applied (`gzip, br`: gzip first).
    pub fn parse_list(value: &str) -> Result<Vec<Encoding>, DecodeError> {
        let mut out = Vec::new();
        for name in value.split(',') {
            if let Some(encoding) = Encoding::parse(name)? {
                out.push(encoding);
            }
        }
        if out.len() > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        Ok(out)
    }

    /// The name as a header carries it.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
        }
    }

    /// Decompresses `data`; more than `limit` bytes of output is [`DecodeError::TooLarge`]. Work is bounded by the
    /// input and the limit whatever the input holds.
    pub fn decode(self, data: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
        let corrupt = |e: std::io::Error| DecodeError::Corrupt {
            encoding: self.name(),
            message: e.to_string(),
        };
        match self {
            Encoding::Gzip => read_limited(flate2::read::MultiGzDecoder::new(data), self, limit),
            Encoding::Deflate => read_limited(flate2::read::ZlibDecoder::new(data), self, limit)
                .or_else(|error| match error {
                    DecodeError::Corrupt { .. } => {
                        read_limited(flate2::read::DeflateDecoder::new(data), self, limit)
                    }
                    other => Err(other),
                }),
            Encoding::Brotli => read_limited(brotli::Decompressor::new(data, 4096), self, limit),
            Encoding::Zstd => {
                let mut decoder =
                    zstd::stream::read::Decoder::with_buffer(data).map_err(corrupt)?;
                // The window is the decoder's memory: 8 MiB is what zstd itself allows by default for streams,
                // and a frame asking for more is refused instead of allocated.
                decoder.window_log_max(23).map_err(corrupt)?;
                read_limited(decoder, self, limit)
            }
        }
    }

    /// Compresses `data` (for a client that accepts this coding); deterministic for the same input.
    pub fn encode(self, data: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        // Writing into a `Vec` cannot fail; an error would leave the output empty, never panic.
        match self {
            Encoding::Gzip => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                let _ = e.write_all(data);
                e.finish().unwrap_or_default()
            }
            Encoding::Deflate => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                let _ = e.write_all(data);
                e.finish().unwrap_or_default()
            }
            Encoding::Brotli => {
                let mut out = Vec::new();
                {
                    let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                    let _ = w.write_all(data);
                }
                out
            }
            Encoding::Zstd => zstd::stream::encode_all(data, 3).unwrap_or_default(),
        }
    }

    /// The coding whose magic number `data` starts with, if any (brotli has none).
    pub(crate) fn sniff(data: &[u8]) -> Option<Encoding> {
        match data {
            [0x1f, 0x8b, ..] => Some(Encoding::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(Encoding::Zstd),
            [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => Some(Encoding::Deflate),
            _ => None,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Undoes every coding of a `content-encoding` value (the last applied first), each output capped at `limit`.
pub fn decode_content(value: &str, data: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = data.to_vec();
    for encoding in Encoding::parse_list(value)?.into_iter().rev() {
        out = encoding.decode(&out, limit)?;
    }
    Ok(out)
}

/// Applies every coding of a `content-encoding` value in order.
pub fn encode_content(value: &str, data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = data.to_vec();
    for encoding in Encoding::parse_list(value)? {
        out = encoding.encode(&out);
    }
    Ok(out)
}

fn read_limited(
    reader: impl Read,
    encoding: Encoding,
    limit: usize,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Corrupt {
            encoding: encoding.name(),
            message: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge {
            encoding: encoding.name(),
            limit,
        });
    }
    Ok(out)
}

/// One level of URL escapes undone, with the way back: `origin[i]` is where decoded byte `i` starts in the
/// original text, and `origin[text.len()]` is the original length.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PercentLayer {
    /// The decoded text; bytes that are not UTF-8 became `?`, one for one, so offsets still line up.
    pub text: String,
    origin: Vec<usize>,
}

impl PercentLayer {
    /// The original byte range of the decoded range `start..end`.
    pub fn original(&self, start: usize, end: usize) -> (usize, usize) {
        (self.origin[start], self.origin[end])
    }
}

/// Undoes one level of `%XX` escapes (`+` stays: it is a space only in form data, see [`query_pairs`]);
/// `None` when the text has no valid escape.
///
/// Hand-written, not `percent_encoding`: redaction needs, for every decoded byte, the offset of the stored bytes it
/// came from (to replace a secret where it stands), which the crate's decoder does not give.
pub(crate) fn percent_layer(text: &str) -> Option<PercentLayer> {
    let bytes = text.as_bytes();
    let is_escape = |i: usize| {
        bytes[i] == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    };
    let first = (0..bytes.len()).find(|&i| is_escape(i))?;
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut origin = Vec::with_capacity(bytes.len() + 1);
    decoded.extend_from_slice(&bytes[..first]);
    origin.extend(0..first);
    let mut i = first;
    while i < bytes.len() {
        origin.push(i);
        if is_escape(i) {
            decoded.push(hex(bytes[i + 1]) << 4 | hex(bytes[i + 2]));
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    origin.push(bytes.len());
    Some(PercentLayer {
        text: utf8_or_marks(&decoded),
        origin,
    })
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// The bytes as text, each byte of an invalid UTF-8 sequence replaced by `?`, so byte offsets are kept.
pub(crate) fn utf8_or_marks(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                out.extend(std::iter::repeat_n('?', chunk.invalid().len()));
            }
            out
        }
    }
}

/// A percent-decoded component of a URL or form (`+` as space), invalid UTF-8 replaced.
pub(crate) fn form_decode(text: &str) -> String {
    if !text.contains(['%', '+']) {
        return text.to_owned();
    }
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// The `name=value` pairs of a query string or form body, decoded, in order (empty pieces skipped).
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A base64 run found in a string: where, what it decodes to, and how to write cleaned bytes back the same way.
#[derive(Debug)]
pub(crate) struct Base64Run {
    pub start: usize,
    pub end: usize,
    pub bytes: Vec<u8>,
    url_safe: bool,
    padded: bool,
}

impl Base64Run {
    /// `bytes` encoded in the alphabet and padding of the run.
    pub fn encode(&self, bytes: &[u8]) -> String {
        match (self.url_safe, self.padded) {
            (false, true) => base64::engine::general_purpose::STANDARD.encode(bytes),
            (false, false) => base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes),
            (true, true) => base64::engine::general_purpose::URL_SAFE.encode(bytes),
            (true, false) => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }
}

/// Every run of at least [`MIN_BASE64_RUN`] base64 characters in `text` that decodes (standard or URL-safe
/// alphabet, padded or not).
pub(crate) fn base64_runs(text: &str) -> Vec<Base64Run> {
    if text.len() < MIN_BASE64_RUN {
        return Vec::new();
    }
    let mut out = Vec::new();
    for m in base64_run_regex(|re| re.find_iter(text).collect::<Vec<_>>()) {
        let run = m.as_str();
        let body = run.trim_end_matches('=');
        let url_safe = body.contains(['-', '_']);
        if url_safe && body.contains(['+', '/']) {
            continue;
        }
        let engine = if url_safe {
            &URL_SAFE_ANY
        } else {
            &STANDARD_ANY
        };
        let Ok(bytes) = engine.decode(run) else {
            continue;
        };
        out.push(Base64Run {
            start: m.start(),
            end: m.end(),
            bytes,
            url_safe,
            // Standard base64 of a length that needs no padding does not say whether its writer pads: padding is
            // what a strict reader accepts.
            padded: run.len() != body.len() || (!url_safe && run.len() % 4 == 0),
        });
    }
    out
}

/// Decodes a whole string as base64 (either alphabet, padded or not), as `bytes` fields and `-bin` values are.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    // The alphabet shows in the text (`-` or `_` only in URL-safe base64, `+` or `/` only in standard); text with
    // neither reads the same in both. Padding is optional in both engines, so one decode says it all.
    let engine = if t.contains(['-', '_']) {
        &URL_SAFE_ANY
    } else {
        &STANDARD_ANY
    };
    engine.decode(t).ok()
}

/// The engines every reader here uses: padding optional (`DecodePaddingMode::Indifferent`), and trailing bits
/// accepted, because stored and live values come from writers that differ on both.
const ANY_PADDING: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
pub(crate) const STANDARD_ANY: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, ANY_PADDING);
pub(crate) const URL_SAFE_ANY: GeneralPurpose =
    GeneralPurpose::new(&alphabet::URL_SAFE, ANY_PADDING);

thread_regex! {
    fn base64_run_regex() -> Regex =
        Regex::new(&format!("[A-Za-z0-9+/_-]{{{MIN_BASE64_RUN},}}={{0,2}}")).expect("valid regex");
}

#[cfg(test)]
mod tests;
