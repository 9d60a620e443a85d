//! gRPC over HTTP/2 as data: length-prefixed message frames (compressed or not), the status that trailers carry, and
//! the limits a reader holds them to.
//!
//! Pure: bytes and header maps in, messages and statuses out. The proxy's servers read request bodies through
//! [`FrameDecoder`] and the recorder decodes captured bodies with it, so framing is decoded in one place.
//! Decoding never panics: a malformed or oversized frame is a [`FrameError`], which maps to the [`Status`] a client
//! gets.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
/// gRPC status codes: `google.rpc.Code`, as generated in yc-proto (`code as i32` is the number on the wire).
pub use yc_proto::google::rpc::Code;

use crate::{DecodeError, Encoding};

/// The default limit on one message, as gRPC implementations use.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// The length prefix: one compressed-flag byte, then a big-endian `u32` length.
pub const PREFIX_LEN: usize = 5;

pub const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
pub const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
pub const GRPC_STATUS_DETAILS_BIN: HeaderName = HeaderName::from_static("grpc-status-details-bin");
pub const GRPC_ENCODING: HeaderName = HeaderName::from_static("grpc-encoding");

/// A status as it travels in trailers: the code is an `i32` because a recorded status may carry any number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: i32,
    /// The message, not yet percent-encoded.
    pub message: String,
    /// An encoded `google.rpc.Status`, sent as `grpc-status-details-bin`.
    pub details: Option<Bytes>,
}

impl Status {
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status {
            code: code as i32,
            message: message.into(),
            details: None,
        }
    }

    /// Writes `grpc-status`, `grpc-message` (percent-encoded, omitted when empty) and `grpc-status-details-bin`
    /// (unpadded base64) into `headers`, replacing any already there.
    pub fn write_to(&self, headers: &mut HeaderMap) {
        headers.insert(GRPC_STATUS, HeaderValue::from(self.code));
        if self.message.is_empty() {
            headers.remove(GRPC_MESSAGE);
        } else if let Ok(value) = HeaderValue::from_str(&percent_encode(&self.message)) {
            headers.insert(GRPC_MESSAGE, value);
        }
        match &self.details {
            Some(details) => {
                if let Ok(value) = HeaderValue::from_str(&BIN.encode(details)) {
                    headers.insert(GRPC_STATUS_DETAILS_BIN, value);
                }
            }
            None => {
                headers.remove(GRPC_STATUS_DETAILS_BIN);
            }
        }
    }

    /// The status as a trailers map.
    pub fn to_trailers(&self) -> HeaderMap {
        let mut trailers = HeaderMap::with_capacity(3);
        self.write_to(&mut trailers);
        trailers
    }

    /// Reads a status from trailers (or from the headers of a trailers-only response); `None` without `grpc-status`.
    /// An unparsable code reads as UNKNOWN, as clients do; a message that is not valid percent-encoding is kept as is.
    pub fn from_headers(headers: &HeaderMap) -> Option<Status> {
        let code = headers.get(&GRPC_STATUS)?;
        let code = code
            .to_str()
            .ok()
            .and_then(|code| code.trim().parse().ok())
            .unwrap_or(Code::Unknown as i32);
        let message = headers
            .get(&GRPC_MESSAGE)
            .map(|value| percent_decode(value.as_bytes()))
            .unwrap_or_default();
        let details = headers
            .get(&GRPC_STATUS_DETAILS_BIN)
            .and_then(|value| decode_bin(value.as_bytes()))
            .map(Bytes::from);
        Some(Status {
            code,
            message,
            details,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "grpc-status {}: {}", self.code, self.message)
    }
}

/// Appends one uncompressed length-prefixed frame carrying `message`.
pub fn encode_frame(message: &[u8], out: &mut BytesMut) {
    out.reserve(PREFIX_LEN + message.len());
    out.put_u8(0);
    // Messages over 4 GiB cannot be framed; the limit on message size keeps them far away.
    out.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    out.put_slice(message);
}

/// Base64 of a `-bin` metadata value, padded or not, as gRPC allows.
pub fn decode_bin(value: &[u8]) -> Option<Vec<u8>> {
    BIN.decode(value).ok()
}

/// `-bin` values: the standard alphabet, written unpadded and read either way.
const BIN: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What a `grpc-message` escapes (the gRPC HTTP/2 spec): controls and `%`; `percent_encoding` escapes every byte
/// outside ASCII on its own.
const GRPC_MESSAGE_ESCAPED: &AsciiSet = &CONTROLS.add(b'%');

/// Percent-encodes a `grpc-message` as the gRPC HTTP/2 spec requires: bytes outside printable ASCII and `%` itself.
pub fn percent_encode(message: &str) -> String {
    utf8_percent_encode(message, GRPC_MESSAGE_ESCAPED).to_string()
}

/// Decodes a percent-encoded `grpc-message` (or a URL path segment); malformed escapes stay as they are, invalid
/// UTF-8 becomes U+FFFD.
pub fn percent_decode(value: &[u8]) -> String {
    percent_encoding::percent_decode(value)
        .decode_utf8_lossy()
        .into_owned()
}

/// What can be wrong with the frames of a request body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("request body of more than {limit} bytes in all")]
    BodyTooLarge { limit: usize },
    #[error("truncated frame: the body ends {missing} bytes short of a complete message")]
    Truncated { missing: usize },
    #[error("compressed message (flag 1) but the request has no `grpc-encoding`")]
    CompressedWithoutEncoding,
    #[error(
        "compressed messages (`grpc-encoding: {0}`) are not supported; send identity, gzip, deflate or zstd"
    )]
    UnsupportedEncoding(String),
    #[error("a compressed message does not decompress: {0}")]
    Decompress(String),
    #[error("a compressed message decompresses to more than the limit of {limit} bytes")]
    DecompressedTooLarge { limit: usize },
    #[error("invalid compressed flag `{0}` in a frame prefix (must be 0 or 1)")]
    InvalidFlag(u8),
    #[error("reading the request body failed: {0}")]
    Body(String),
}

impl FrameError {
    /// The status a client gets for this error: RESOURCE_EXHAUSTED for size limits, UNIMPLEMENTED for an unsupported
    /// encoding, CANCELLED for a broken body, INTERNAL for malformed frames (as gRPC libraries answer).
    pub fn to_status(&self) -> Status {
        let code = match self {
            FrameError::TooLarge { .. }
            | FrameError::BodyTooLarge { .. }
            | FrameError::DecompressedTooLarge { .. } => Code::ResourceExhausted,
            FrameError::UnsupportedEncoding(_) => Code::Unimplemented,
            FrameError::Body(_) => Code::Cancelled,
            FrameError::Truncated { .. }
            | FrameError::CompressedWithoutEncoding
            | FrameError::InvalidFlag(_)
            | FrameError::Decompress(_) => Code::Internal,
        };
        Status::new(code, self.to_string())
    }
}

/// Limits applied while reading request frames.
#[derive(Clone, Copy, Debug)]
pub struct FrameLimits {
    /// The largest single message.
    pub max_message_size: usize,
    /// The largest request body, all frames together.
    pub max_body_size: usize,
}

impl Default for FrameLimits {
    fn default() -> FrameLimits {
        FrameLimits {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_body_size: 4 * DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// The `grpc-accept-encoding` of a reader of these frames: the message codings [`FrameDecoder`] can read.
pub const ACCEPTED_ENCODINGS: &str = "identity,gzip,deflate,zstd";

/// The coding of the compressed messages of a request or response, from its `grpc-encoding`: `None` when absent
/// or `identity`; one [`FrameDecoder`] cannot read is an error.
pub fn check_encoding(headers: &HeaderMap) -> Result<Option<Encoding>, FrameError> {
    let Some(value) = headers.get(&GRPC_ENCODING) else {
        return Ok(None);
    };
    let unsupported =
        || FrameError::UnsupportedEncoding(String::from_utf8_lossy(value.as_bytes()).into_owned());
    let name = value.to_str().map_err(|_| unsupported())?;
    match Encoding::parse(name) {
        // Brotli is an HTTP content coding, not a gRPC message one.
        Ok(Some(Encoding::Brotli)) | Err(_) => Err(unsupported()),
        Ok(encoding) => Ok(encoding),
    }
}

/// An incremental decoder of length-prefixed frames: feed body chunks, take whole messages.
///
/// A message's size is checked against the limit as soon as its prefix arrives, before its bytes are buffered.
#[derive(Debug)]
pub struct FrameDecoder {
    limits: FrameLimits,
    buffer: BytesMut,
    received: usize,
    encoding: Option<Encoding>,
}

impl FrameDecoder {
    /// A decoder of uncompressed frames (a compressed one is an error).
    pub fn new(limits: FrameLimits) -> FrameDecoder {
        FrameDecoder::with_encoding(limits, None)
    }

    /// A decoder that decompresses frames flagged compressed with `encoding` (from [`check_encoding`]); the
    /// decompressed message is held to the same size limit, so a small bomb cannot become a large message.
    pub fn with_encoding(limits: FrameLimits, encoding: Option<Encoding>) -> FrameDecoder {
        FrameDecoder {
            limits,
            buffer: BytesMut::new(),
            received: 0,
            encoding,
        }
    }

    /// Adds a chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), FrameError> {
        self.received = self.received.saturating_add(chunk.len());
        if self.received > self.limits.max_body_size {
            return Err(FrameError::BodyTooLarge {
                limit: self.limits.max_body_size,
            });
        }
        self.buffer.extend_from_slice(chunk);
        Ok(())
    }

    /// The length the buffered frame's prefix declares; the buffer holds at least a prefix.
    fn declared_size(&self) -> usize {
        u32::from_be_bytes([
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ]) as usize
    }

    /// The next whole message, if buffered, decompressed when its frame says so.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.buffer.len() < PREFIX_LEN {
            return Ok(None);
        }
        let flag = self.buffer[0];
        let size = self.declared_size();
        let encoding = match (flag, self.encoding) {
            (0, _) => None,
            (1, Some(encoding)) => Some(encoding),
            (1, None) => return Err(FrameError::CompressedWithoutEncoding),
            (other, _) => return Err(FrameError::InvalidFlag(other)),
        };
        if size > self.limits.max_message_size {
            return Err(FrameError::TooLarge {
                size,
                limit: self.limits.max_message_size,
            });
        }
        if self.buffer.len() < PREFIX_LEN + size {
            return Ok(None);
        }
        self.buffer.advance(PREFIX_LEN);
        let message = self.buffer.split_to(size).freeze();
        let Some(encoding) = encoding else {
            return Ok(Some(message));
        };
        let limit = self.limits.max_message_size;
        match encoding.decode(&message, limit) {
            Ok(plain) => Ok(Some(Bytes::from(plain))),
            Err(DecodeError::TooLarge { .. }) => Err(FrameError::DecompressedTooLarge { limit }),
            Err(error) => Err(FrameError::Decompress(error.to_string())),
        }
    }

    /// Whether bytes of a message not yet whole are buffered.
    pub fn has_partial(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Checks that the body ended on a frame boundary.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let missing = if self.buffer.len() < PREFIX_LEN {
            PREFIX_LEN - self.buffer.len()
        } else {
            (PREFIX_LEN + self.declared_size()).saturating_sub(self.buffer.len())
        };
        Err(FrameError::Truncated { missing })
    }
}

/// Splits a whole body into its messages (decompressed with `encoding` where flagged), each held to
/// `limits.max_message_size`, the body to `limits.max_body_size`; the body must end on a frame boundary.
pub fn decode_frames(
    body: &[u8],
    limits: FrameLimits,
    encoding: Option<Encoding>,
) -> Result<Vec<Bytes>, FrameError> {
    let mut decoder = FrameDecoder::with_encoding(limits, encoding);
    decoder.push(body)?;
    let mut messages = Vec::new();
    while let Some(message) = decoder.next_message()? {
        messages.push(message);
    }
    decoder.finish()?;
    Ok(messages)
}

#[cfg(test)]
mod tests;
