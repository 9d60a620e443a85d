//! Endpoint discovery: `ApiEndpointService` answers (gRPC and REST `/endpoints`) get every `address` rewritten to
//! the proxy's own, so an SDK that discovers its endpoints keeps talking to the proxy: when recording (the cassette
//! stores the rewritten answer) and again when replaying (a replay server may listen elsewhere than the recorder did).
//!
//! Pure functions over bodies; an answer that cannot be decoded is left as it was (and passes through unchanged).

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use prost::Message as _;
use serde_json::Value;
use yc_proto::endpoint::{ApiEndpoint, ListApiEndpointsResponse};

use crate::grpc::{FrameDecoder, FrameLimits, encode_frame};

const LIST: &str = "/yandex.cloud.endpoint.ApiEndpointService/List";
const GET: &str = "/yandex.cloud.endpoint.ApiEndpointService/Get";

/// The address to put into discovery answers for a server listening on `addr`: loopback for a wildcard address.
pub(crate) fn advertised(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        let ip = if addr.is_ipv4() { "127.0.0.1" } else { "[::1]" };
        format!("{ip}:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// Whether a gRPC method's answer carries endpoint addresses.
pub(crate) fn is_grpc(method: &str) -> bool {
    method == LIST || method == GET
}

/// Whether a REST call's answer carries endpoint addresses (`GET /endpoints`, `GET /endpoints/{id}`).
pub(crate) fn is_rest(verb: &http::Method, path: &str) -> bool {
    verb == http::Method::GET
        && path.strip_prefix("/endpoints").is_some_and(|rest| {
            rest.is_empty() || (rest.starts_with('/') && !rest[1..].contains('/'))
        })
}

/// The frames of a gRPC answer with every address set to `address`; `None` if they cannot be decoded.
pub(crate) fn rewrite_grpc(
    method: &str,
    body: &[u8],
    address: &str,
    limits: FrameLimits,
) -> Option<Bytes> {
    let mut decoder = FrameDecoder::new(FrameLimits {
        max_body_size: usize::MAX,
        ..limits
    });
    decoder.push(body).ok()?;
    let mut out = BytesMut::with_capacity(body.len() + 64);
    while let Some(message) = decoder.next_message().ok()? {
        let encoded = if method == LIST {
            let mut list = ListApiEndpointsResponse::decode(message).ok()?;
            for endpoint in &mut list.endpoints {
                endpoint.address = address.to_owned();
            }
            list.encode_to_vec()
        } else {
            let mut endpoint = ApiEndpoint::decode(message).ok()?;
            endpoint.address = address.to_owned();
            endpoint.encode_to_vec()
        };
        encode_frame(&encoded, &mut out);
    }
    decoder.finish().ok()?;
    Some(out.freeze())
}

/// A JSON answer (`{"endpoints": [...]}` or one endpoint) with every `address` set to `address`;
/// `None` if it is not JSON of that shape (an error answer, say).
pub(crate) fn rewrite_rest(body: &[u8], address: &str) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object_mut()?;
    let mut changed = false;
    if let Some(Value::Array(endpoints)) = object.get_mut("endpoints") {
        for endpoint in endpoints {
            if let Some(slot) = endpoint.get_mut("address") {
                *slot = Value::String(address.to_owned());
                changed = true;
            }
        }
    } else if let Some(slot) = object.get_mut("address") {
        *slot = Value::String(address.to_owned());
        changed = true;
    }
    if !changed {
        return None;
    }
    serde_json::to_vec(&value).ok()
}
