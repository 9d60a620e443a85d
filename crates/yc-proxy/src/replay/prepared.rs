//! Responses prepared once at startup from recorded interactions, so that serving a hit clones [`Bytes`] and
//! header maps and encodes nothing.
//!
//! This module turns cassette data into wire form; it does no matching and no IO.

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use yc_cassette::{GrpcInteraction, GrpcStatus, Headers, Interaction, RestInteraction};
use yc_proto::Schema;

use crate::discovery;
use crate::grpc::{self, FrameLimits, GRPC_STATUS_DETAILS_BIN, Status};
use crate::server::Body;

/// A recorded response in wire form.
#[derive(Debug)]
pub(crate) struct Prepared {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// `None` for REST and for trailers-only gRPC responses (their status is in `headers`).
    trailers: Option<HeaderMap>,
    /// A REST body recorded compressed (stored decoded): the same answer in its recorded coding, for a client that
    /// accepts it; `headers` and `body` above are the identity form every other client gets. Boxed: rare, and
    /// a replay of 100k interactions keeps 100k of these.
    encoded: Option<Box<Encoded>>,
}

#[derive(Debug)]
struct Encoded {
    coding: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Prepared {
    /// Prepares `interaction`, with endpoint discovery answers pointing at `advertise` when given;
    /// the error says what in it cannot be sent.
    pub(crate) fn new(
        interaction: &Interaction,
        advertise: Option<&str>,
        schema: &Schema,
    ) -> Result<Prepared, String> {
        let mut prepared = match interaction {
            Interaction::Grpc(grpc) => prepare_grpc(grpc, schema)?,
            Interaction::Rest(rest) => prepare_rest(rest)?,
        };
        if let Some(address) = advertise {
            prepared.advertise(interaction, address);
        }
        if let Interaction::Rest(rest) = interaction
            && let Some(coding) = &rest.response.encoding
        {
            prepared.encode(coding)?;
        }
        Ok(prepared)
    }

    /// Adds the form in `coding` of a body recorded compressed; the identity form loses `content-encoding`.
    fn encode(&mut self, coding: &str) -> Result<(), String> {
        let body = yc_cassette::encode_content(coding, &self.body)
            .map_err(|error| format!("response body: {error}"))?;
        let mut headers = self.headers.clone();
        let value = HeaderValue::from_str(coding)
            .map_err(|_| format!("response encoding `{coding}` is not valid header text"))?;
        headers.insert(CONTENT_ENCODING, value);
        self.headers.remove(CONTENT_ENCODING);
        self.encoded = Some(Box::new(Encoded {
            coding: coding.to_owned(),
            headers,
            body: Bytes::from(body),
        }));
        Ok(())
    }

    /// Rewrites the addresses of a successful discovery answer; anything else, or an answer that does not decode as
    /// one, stays as recorded.
    fn advertise(&mut self, interaction: &Interaction, address: &str) {
        let rewritten = match interaction {
            Interaction::Grpc(grpc)
                if discovery::is_grpc(&grpc.method) && grpc.response.status.code == 0 =>
            {
                let limits = FrameLimits {
                    max_message_size: usize::MAX,
                    max_body_size: usize::MAX,
                };
                discovery::rewrite_grpc(&grpc.method, &self.body, address, limits)
            }
            Interaction::Rest(rest)
                if self.status == StatusCode::OK
                    && http::Method::from_bytes(rest.request.method.as_bytes())
                        .is_ok_and(|verb| discovery::is_rest(&verb, &rest.request.path)) =>
            {
                discovery::rewrite_rest(&self.body, address).map(Bytes::from)
            }
            _ => None,
        };
        if let Some(body) = rewritten {
            self.body = body;
        }
    }

    /// A response already in wire form (a translated one).
    pub(crate) fn from_parts(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        trailers: Option<HeaderMap>,
    ) -> Prepared {
        Prepared {
            status,
            headers: exact(headers),
            body,
            trailers: trailers.map(exact),
            encoded: None,
        }
    }

    /// The response to send: cheap clones of what was prepared.
    pub(crate) fn response(&self) -> Response<Body> {
        let mut response = Response::new(Body::new(self.body.clone(), self.trailers.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }

    /// The response for a client whose `accept-encoding` is `accept`: in the recorded coding if it accepts that,
    /// else identity.
    pub(crate) fn response_for(&self, accept: Option<&HeaderValue>) -> Response<Body> {
        match &self.encoded {
            Some(encoded) if accepts(accept, &encoded.coding) => {
                let mut response = Response::new(Body::new(encoded.body.clone(), None));
                *response.status_mut() = self.status;
                *response.headers_mut() = encoded.headers.clone();
                response
            }
            _ => self.response(),
        }
    }
}

fn prepare_grpc(interaction: &GrpcInteraction, schema: &Schema) -> Result<Prepared, String> {
    let recorded = &interaction.response;
    let mut headers = header_map(&recorded.headers, "response header")?;
    // Messages are stored decompressed and sent uncompressed: announcing a coding the client may not have would
    // make it refuse the answer.
    headers.remove(grpc::GRPC_ENCODING);
    if !headers.contains_key(CONTENT_TYPE) {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(grpc::GRPC_CONTENT_TYPE),
        );
    }
    let mut trailers = header_map(&recorded.trailers, "trailer")?;
    if recorded.trailers_only {
        if !recorded.messages.is_empty() {
            return Err("a trailers-only response cannot carry messages".into());
        }
        write_status(&recorded.status, &mut headers)?;
        headers.extend(trailers);
        return Ok(Prepared::from_parts(
            StatusCode::OK,
            headers,
            Bytes::new(),
            None,
        ));
    }
    let mut body = BytesMut::with_capacity(
        recorded
            .messages
            .iter()
            .map(|m| m.raw.as_ref().map_or(0, Vec::len) + 5)
            .sum(),
    );
    for (i, message) in recorded.messages.iter().enumerate() {
        let bytes = message
            .to_bytes(schema)
            .map_err(|error| format!("response message {i}: {error}"))?;
        grpc::encode_frame(&bytes, &mut body);
    }
    write_status(&recorded.status, &mut trailers)?;
    Ok(Prepared::from_parts(
        StatusCode::OK,
        headers,
        body.freeze(),
        Some(trailers),
    ))
}

fn prepare_rest(interaction: &RestInteraction) -> Result<Prepared, String> {
    let recorded = &interaction.response;
    let status = StatusCode::from_u16(recorded.status)
        .map_err(|_| format!("`{}` is not an HTTP status code", recorded.status))?;
    let headers = header_map(&recorded.headers, "response header")?;
    Ok(Prepared::from_parts(
        status,
        headers,
        Bytes::from(recorded.body.to_bytes()),
        None,
    ))
}

/// Writes the recorded status: code, percent-encoded message, and the details text exactly as the cassette crate
/// reproduces what was on the wire.
fn write_status(recorded: &GrpcStatus, headers: &mut HeaderMap) -> Result<(), String> {
    let status = Status {
        code: recorded.code,
        message: recorded.message.clone(),
        details: None,
    };
    status.write_to(headers);
    let details = recorded
        .details_bin_text()
        .map_err(|error| format!("status details: {error}"))?;
    if let Some(text) = details {
        let value = HeaderValue::from_str(&text)
            .map_err(|_| "status details are not valid header text".to_owned())?;
        headers.insert(GRPC_STATUS_DETAILS_BIN, value);
    }
    Ok(())
}

/// The same map in an allocation of its size: a map grown by inserts holds room for several more fields, which
/// for trailers of one field (`grpc-status`) was most of a prepared answer's memory.
fn exact(map: HeaderMap) -> HeaderMap {
    if map.capacity() <= map.len() + 1 {
        return map;
    }
    let mut exact = HeaderMap::with_capacity(map.len());
    exact.extend(map);
    exact
}

/// Recorded fields as a header map, without the ones hyper computes per connection (framing, hop-by-hop).
pub(super) fn header_map(recorded: &Headers, what: &str) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::with_capacity(recorded.len());
    for (name, value) in recorded.iter() {
        if name.starts_with(':') || is_connection_specific(name) {
            continue;
        }
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{what} name `{name}` is not valid"))?;
        if header == CONTENT_LENGTH {
            continue;
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("{what} `{name}` has an invalid value"))?;
        map.append(header, value);
    }
    Ok(map)
}

/// Whether an `accept-encoding` value accepts every coding of `coding` (`gzip`, `gzip, br`): named or `*`, with a
/// weight above zero.
fn accepts(accept: Option<&HeaderValue>, coding: &str) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let weight = |wanted: &str| {
        accept.split(',').find_map(|item| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (name.eq_ignore_ascii_case(wanted)).then_some(q)
        })
    };
    coding
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .all(|c| weight(c).or_else(|| weight("*")).is_some_and(|q| q > 0.0))
}

fn is_connection_specific(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "te" | "upgrade"
    )
}

#[cfg(test)]
mod tests;
