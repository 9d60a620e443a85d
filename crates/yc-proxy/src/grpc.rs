//! gRPC over HTTP/2 on the wire, on the serving side: responses that carry a status, request bodies read message by
//! message, and the content type.
//!
//! The framing, the status and their limits are data, in [`yc_cassette::wire::grpc`] (re-exported here), which the
//! recorder's conversion shares. Decoding never panics: a malformed or oversized frame is a [`FrameError`], which
//! maps to the [`Status`] the client gets.

use std::fmt;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use yc_cassette::Encoding;
pub use yc_cassette::wire::grpc::{
    ACCEPTED_ENCODINGS, Code, DEFAULT_MAX_MESSAGE_SIZE, FrameDecoder, FrameError, FrameLimits,
    GRPC_ENCODING, GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS_BIN, PREFIX_LEN, Status,
    check_encoding, decode_bin, encode_frame, percent_decode, percent_encode,
};

use crate::server::Body;

/// The `content-type` of gRPC requests and responses (it may carry a `+proto` suffix).
pub const GRPC_CONTENT_TYPE: &str = "application/grpc";
pub const GRPC_ACCEPT_ENCODING: HeaderName = HeaderName::from_static("grpc-accept-encoding");

/// A status as a response of its own.
pub trait StatusResponse {
    /// A trailers-only response carrying this status: HTTP 200, `content-type: application/grpc`, no body.
    fn into_response(self) -> Response<Body>;
}

impl StatusResponse for Status {
    fn into_response(self) -> Response<Body> {
        trailers_only(self, HeaderMap::new())
    }
}

/// A trailers-only response: `extra` headers, then the status, all in the one HEADERS frame that ends the stream.
pub fn trailers_only(status: Status, extra: HeaderMap) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    *headers = extra;
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(GRPC_CONTENT_TYPE));
    status.write_to(headers);
    response
}

/// Whether a request speaks gRPC, judged by its `content-type`.
pub fn is_grpc<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .strip_prefix(GRPC_CONTENT_TYPE)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['+', ';']))
        })
}

/// A request body as the servers read it: `Bytes` chunks, and an error that can say what went wrong.
pub trait RequestBody: http_body::Body<Data = Bytes, Error: fmt::Display> + Unpin {}

impl<B> RequestBody for B
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: fmt::Display,
{
}

/// Reads a request body message by message, enforcing `limits`, so that a caller can answer as soon as it has
/// what it needs instead of waiting for the client to half-close (a streaming client may never do so first).
#[derive(Debug)]
pub struct MessageReader<B> {
    body: B,
    decoder: FrameDecoder,
    ended: bool,
}

impl<B: RequestBody> MessageReader<B> {
    /// A reader decompressing frames flagged compressed with `encoding` (from [`check_encoding`]).
    pub fn new(body: B, limits: FrameLimits, encoding: Option<Encoding>) -> MessageReader<B> {
        MessageReader {
            body,
            decoder: FrameDecoder::with_encoding(limits, encoding),
            ended: false,
        }
    }

    /// Whether more of the body has already arrived than the messages taken so far: the client is still sending.
    pub fn has_more(&self) -> bool {
        self.decoder.has_partial()
    }

    /// The next whole message; `None` once the body has ended on a frame boundary.
    pub async fn next(&mut self) -> Result<Option<Bytes>, FrameError> {
        loop {
            if let Some(message) = self.decoder.next_message()? {
                return Ok(Some(message));
            }
            if self.ended {
                return Ok(None);
            }
            match self.body.frame().await {
                Some(frame) => {
                    let frame = frame.map_err(|error| FrameError::Body(error.to_string()))?;
                    if let Ok(data) = frame.into_data() {
                        self.decoder.push(&data)?;
                    }
                }
                None => {
                    self.ended = true;
                    self.decoder.finish()?;
                }
            }
        }
    }
}

/// Reads a whole request body and splits it into messages (decompressed with `encoding` where flagged),
/// enforcing `limits`.
pub async fn read_messages<B: RequestBody>(
    body: B,
    limits: FrameLimits,
    encoding: Option<Encoding>,
) -> Result<Vec<Bytes>, FrameError> {
    let mut reader = MessageReader::new(body, limits, encoding);
    let mut messages = Vec::new();
    while let Some(message) = reader.next().await? {
        messages.push(message);
    }
    Ok(messages)
}

/// A successful unary answer: `content-type: application/grpc`, one framed message, then `grpc-status: 0`.
pub fn ok_response(message: &[u8]) -> Response<Body> {
    let mut frame = BytesMut::with_capacity(PREFIX_LEN + message.len());
    encode_frame(message, &mut frame);
    let status = Status::new(Code::Ok, "");
    let mut response = Response::new(Body::new(frame.freeze(), Some(status.to_trailers())));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(GRPC_CONTENT_TYPE));
    response
}

#[cfg(test)]
mod tests;
