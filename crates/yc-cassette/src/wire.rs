//! Calls as they came off the wire, turned into interactions: what a recorder captures (method, header maps, body
//! bytes, trailers) in, an [`Interaction`] out, ready to be redacted and stored.
//!
//! The proxy's recorder feeds its tees' copies through [`interaction`] on the task that completed the call; an
//! in-process recorder (a tower layer around a tonic client, say) can hand over the same [`Call`] and get the same
//! interaction.
//! Nothing here redacts or scans: the caller runs its [`crate::Redactor`] and [`crate::scan`] on the result.
//!
//! - gRPC: the captured bodies are split into messages by [`grpc::decode_frames`] (compressed messages decompressed
//!   per `grpc-encoding` and stored decompressed; the header stays), typed by the schema's method; the status is read
//!   from the trailers, or from the headers of a trailers-only response, and kept apart from the other fields;
//! - REST: a body in a `content-encoding` is stored decoded, its coding noted ([`Body::from_wire`]);
//! - header fields keep their order, less those that describe one connection ([`is_connection_header`]) and `host`.
//!
//! A call that cannot be stored faithfully (a body over its capture limit, frames cut short, no `grpc-status`, a body
//! that does not decode) is an error that says why, naming the call.

pub mod grpc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName};
use yc_proto::Schema;

use crate::{
    Body, DecodeError, Encoding, GrpcInteraction, GrpcRequest, GrpcResponse, GrpcStatus, Headers,
    Interaction, Message, RestInteraction, RestRequest, RestResponse,
};
use grpc::{FrameError, FrameLimits, GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS_BIN, Status};

/// The data of one side of a call, as the chunks that carried it (shared, not copied), up to a limit: past it the
/// chunks are dropped and the capture only remembers that it overflowed (the call is then not recorded).
#[derive(Clone, Debug)]
pub struct Capture {
    chunks: Vec<Bytes>,
    len: usize,
    overflow: bool,
    limit: usize,
}

impl Capture {
    /// An empty capture that keeps up to `limit` bytes.
    pub fn new(limit: usize) -> Capture {
        Capture {
            chunks: Vec::new(),
            len: 0,
            overflow: false,
            limit,
        }
    }

    /// Adds a chunk, unless the capture already overflowed; one that takes it over the limit overflows it.
    pub fn push(&mut self, data: &Bytes) {
        if self.overflow {
            return;
        }
        self.len = self.len.saturating_add(data.len());
        if self.len > self.limit {
            self.overflow = true;
            self.chunks = Vec::new();
        } else if !data.is_empty() {
            self.chunks.push(data.clone());
        }
    }

    /// Whether the data went over the limit (the chunks are gone).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// The bytes seen, kept or not.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All the data in one piece.
    pub fn concat(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for chunk in &self.chunks {
            out.extend_from_slice(chunk);
        }
        out
    }
}

/// Empty, without a limit.
impl Default for Capture {
    fn default() -> Capture {
        Capture::new(usize::MAX)
    }
}

/// A whole body, without a limit.
impl From<Bytes> for Capture {
    fn from(data: Bytes) -> Capture {
        let mut capture = Capture::default();
        capture.push(&data);
        capture
    }
}

/// A call that finished, as raw as it came off the wire.
#[derive(Debug)]
pub enum Call {
    Grpc(GrpcCall),
    Rest(RestCall),
}

impl From<GrpcCall> for Call {
    fn from(call: GrpcCall) -> Call {
        Call::Grpc(call)
    }
}

impl From<RestCall> for Call {
    fn from(call: RestCall) -> Call {
        Call::Rest(call)
    }
}

/// A gRPC call: the path, the request's metadata and framed body, the response's headers, framed body and
/// trailers.
#[derive(Debug)]
pub struct GrpcCall {
    /// The request path, `/package.Service/Method`.
    pub method: String,
    pub metadata: HeaderMap,
    pub request: Capture,
    pub headers: HeaderMap,
    pub response: Capture,
    /// `None` for a trailers-only response: the status is in `headers`.
    pub trailers: Option<HeaderMap>,
}

/// A REST call: the request line, headers and body, the response's status, headers and body.
#[derive(Debug)]
pub struct RestCall {
    /// The verb, `GET`.
    pub method: String,
    pub path: String,
    /// The query string without its `?` (empty for none), as sent.
    pub query: String,
    pub headers: HeaderMap,
    pub request: Capture,
    pub status: u16,
    pub response_headers: HeaderMap,
    pub response: Capture,
}

/// Turns a raw call into an interaction; the error says why it cannot be recorded. `limits.max_message_size`
/// bounds each gRPC message (decompressed too); the body is bounded by its capture.
pub fn interaction(
    call: Call,
    limits: FrameLimits,
    schema: &Schema,
) -> Result<Interaction, String> {
    match call {
        Call::Grpc(call) => grpc_interaction(call, limits, schema).map(Interaction::Grpc),
        Call::Rest(call) => rest_interaction(call).map(Interaction::Rest),
    }
}

/// A gRPC call as an interaction, messages typed by `schema`'s method; see [`interaction`].
pub fn grpc_interaction(
    call: GrpcCall,
    limits: FrameLimits,
    schema: &Schema,
) -> Result<GrpcInteraction, String> {
    let method = call.method;
    let fail = |what: &str| format!("`{method}`: {what}");
    if call.request.overflowed() || call.response.overflowed() {
        return Err(fail("a body exceeded the size limit for recording"));
    }
    // Compressed messages are stored decompressed (the `grpc-encoding` header stays), so they can be redacted
    // and scanned like any other.
    let request_encoding =
        grpc::check_encoding(&call.metadata).map_err(|e| fail(&format!("request: {e}")))?;
    let response_encoding =
        grpc::check_encoding(&call.headers).map_err(|e| fail(&format!("response: {e}")))?;
    let requests = frames(&call.request.concat(), limits, request_encoding)
        .map_err(|e| fail(&format!("request: {e}")))?;
    let responses = frames(&call.response.concat(), limits, response_encoding)
        .map_err(|e| fail(&format!("response: {e}")))?;
    let (trailers_only, status_headers) = match &call.trailers {
        Some(trailers) => (false, trailers),
        None => (true, &call.headers),
    };
    let Some(status) = Status::from_headers(status_headers) else {
        return Err(fail("the response has no `grpc-status`"));
    };
    let status_fields = [GRPC_STATUS, GRPC_MESSAGE, GRPC_STATUS_DETAILS_BIN];
    let response_headers = if trailers_only {
        headers(&call.headers, &status_fields)
    } else {
        headers(&call.headers, &[])
    };
    let details_text = status_headers
        .get(&GRPC_STATUS_DETAILS_BIN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    Ok(GrpcInteraction {
        request: GrpcRequest {
            metadata: headers(&call.metadata, &[]),
            messages: requests
                .iter()
                .map(|m| Message::from_request_bytes(schema, &method, m))
                .collect(),
        },
        response: GrpcResponse {
            headers: response_headers,
            messages: responses
                .iter()
                .map(|m| Message::from_response_bytes(schema, &method, m))
                .collect(),
            trailers: call
                .trailers
                .as_ref()
                .map(|t| headers(t, &status_fields))
                .unwrap_or_default(),
            status: GrpcStatus::from_wire(status.code, &status.message, details_text.as_deref()),
            trailers_only,
        },
        method,
    })
}

/// The messages of a captured body: each one held to the message limit, the body as a whole to none (its
/// capture bounded it).
fn frames(
    data: &[u8],
    limits: FrameLimits,
    encoding: Option<Encoding>,
) -> Result<Vec<Bytes>, FrameError> {
    let limits = FrameLimits {
        max_body_size: usize::MAX,
        ..limits
    };
    grpc::decode_frames(data, limits, encoding)
}

/// A REST call as an interaction; see [`interaction`].
pub fn rest_interaction(call: RestCall) -> Result<RestInteraction, String> {
    // Formatted only for an error: this runs for every recorded call.
    let fail = |what: &dyn std::fmt::Display| format!("`{} {}`: {what}", call.method, call.path);
    if call.request.overflowed() || call.response.overflowed() {
        return Err(fail(&"a body exceeded the size limit for recording"));
    }
    // A compressed body is stored decoded, its coding noted, so it can be redacted and scanned; one that does not
    // decode cannot be looked into, so the call is not recorded.
    let (request_body, request_encoding) = wire_body(&call.headers, &call.request.concat())
        .map_err(|e| fail(&format_args!("request body: {e}")))?;
    let (response_body, response_encoding) =
        wire_body(&call.response_headers, &call.response.concat())
            .map_err(|e| fail(&format_args!("response body: {e}")))?;
    Ok(RestInteraction {
        request: RestRequest {
            body: request_body,
            headers: headers(&call.headers, &[]),
            method: call.method,
            path: call.path,
            query: call.query,
            encoding: request_encoding,
        },
        response: RestResponse {
            status: call.status,
            body: response_body,
            headers: headers(&call.response_headers, &[]),
            encoding: response_encoding,
        },
    })
}

fn wire_body(headers: &HeaderMap, bytes: &[u8]) -> Result<(Body, Option<String>), DecodeError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    Body::from_wire(
        text(http::header::CONTENT_TYPE),
        text(http::header::CONTENT_ENCODING),
        bytes,
    )
}

/// Header fields in order, less `skip` and those that describe one connection rather than the call.
pub fn headers(map: &HeaderMap, skip: &[HeaderName]) -> Headers {
    let mut out = Headers::new();
    for (name, value) in map {
        if skip.contains(name) || is_connection_header(name) || name == http::header::HOST {
            continue;
        }
        out.push(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
    }
    out
}

/// Header fields that describe one connection (RFC 9110 section 7.6.1), not the call; never forwarded or recorded.
pub fn is_connection_header(name: &HeaderName) -> bool {
    const NAMES: [&str; 6] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
    ];
    NAMES.contains(&name.as_str())
}

#[cfg(test)]
mod tests;
