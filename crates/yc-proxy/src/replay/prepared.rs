//! Responses prepared once at startup from recorded interactions, so that serving a hit clones [`Bytes`] and
//! header maps and encodes nothing.
//!
//! This module turns cassette data into wire form; it does no matching and no IO.

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use yc_cassette::{GrpcInteraction, GrpcStatus, Headers, Interaction, RestInteraction};

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
}

impl Prepared {
    /// Prepares `interaction`, with endpoint discovery answers pointing at `advertise` when given;
    /// the error says what in it cannot be sent.
    pub(crate) fn new(
        interaction: &Interaction,
        advertise: Option<&str>,
    ) -> Result<Prepared, String> {
        let mut prepared = match interaction {
            Interaction::Grpc(grpc) => prepare_grpc(grpc)?,
            Interaction::Rest(rest) => prepare_rest(rest)?,
        };
        if let Some(address) = advertise {
            prepared.advertise(interaction, address);
        }
        Ok(prepared)
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
            headers,
            body,
            trailers,
        }
    }

    /// The response to send: cheap clones of what was prepared.
    pub(crate) fn response(&self) -> Response<Body> {
        let mut response = Response::new(Body::new(self.body.clone(), self.trailers.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

fn prepare_grpc(interaction: &GrpcInteraction) -> Result<Prepared, String> {
    let recorded = &interaction.response;
    let mut headers = header_map(&recorded.headers, "response header")?;
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
        return Ok(Prepared {
            status: StatusCode::OK,
            headers,
            body: Bytes::new(),
            trailers: None,
        });
    }
    let mut body = BytesMut::new();
    for (i, message) in recorded.messages.iter().enumerate() {
        let bytes = message
            .to_bytes()
            .map_err(|error| format!("response message {i}: {error}"))?;
        grpc::encode_frame(&bytes, &mut body);
    }
    write_status(&recorded.status, &mut trailers)?;
    Ok(Prepared {
        status: StatusCode::OK,
        headers,
        body: body.freeze(),
        trailers: Some(trailers),
    })
}

fn prepare_rest(interaction: &RestInteraction) -> Result<Prepared, String> {
    let recorded = &interaction.response;
    let status = StatusCode::from_u16(recorded.status)
        .map_err(|_| format!("`{}` is not an HTTP status code", recorded.status))?;
    let headers = header_map(&recorded.headers, "response header")?;
    Ok(Prepared {
        status,
        headers,
        body: Bytes::from(recorded.body.to_bytes()),
        trailers: None,
    })
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

fn is_connection_specific(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "te" | "upgrade"
    )
}

#[cfg(test)]
mod tests;
