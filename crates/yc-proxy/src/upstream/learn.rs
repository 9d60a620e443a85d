//! Learning where each service lives, as the SDKs do: `ApiEndpointService/List` on the discovery host, once, on
//! the first call that needs it (one empty request: the request's paging fields are deprecated, and one answer
//! lists every service). The answer maps service ids to `host:port` addresses; each becomes an
//! [`UpstreamUrl`] in the discovery host's scheme (TLS for the real one; a cleartext discovery server in a test
//! lists cleartext servers).
//!
//! A discovery that cannot be reached or answers nonsense is a reason (a `String`), never a panic: routing then falls
//! back to the built-in table, and an error for a service neither knows says why discovery did not help.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_TYPE, TE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use prost::Message as _;
use yc_proto::endpoint::{ListApiEndpointsRequest, ListApiEndpointsResponse};

use super::{Transport, Upstream, UpstreamBody, UpstreamUrl};
use crate::grpc::{self, FrameDecoder, FrameLimits, GRPC_CONTENT_TYPE, Status};

/// The method asked.
const LIST: &str = "/yandex.cloud.endpoint.ApiEndpointService/List";
/// Discovery must answer within this, or routing goes on without it.
const TIMEOUT: Duration = Duration::from_secs(20);
/// The largest answer read.
const MAX_ANSWER_SIZE: usize = 4 * 1024 * 1024;

/// What discovery taught: service id → upstream, or why there is nothing to learn from it.
pub(crate) type Learned = Result<HashMap<String, UpstreamUrl>, String>;

/// Asks `discovery` for every endpoint, through `upstream`'s gRPC client.
pub(crate) async fn learn(upstream: &Upstream, discovery: &UpstreamUrl) -> Learned {
    let listed = match tokio::time::timeout(TIMEOUT, list(upstream, discovery)).await {
        Ok(listed) => listed,
        Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
    };
    let endpoints = match listed {
        Ok(answer) => answer.endpoints,
        Err(reason) => {
            tracing::warn!(%discovery, %reason, "discovery failed: routing by the built-in table only");
            return Err(reason);
        }
    };
    let mut learned = HashMap::with_capacity(endpoints.len());
    for endpoint in endpoints {
        match endpoint_url(discovery.is_tls(), &endpoint.address) {
            Some(url) => {
                learned.insert(endpoint.id, url);
            }
            None => {
                tracing::warn!(id = %endpoint.id, address = %endpoint.address, "discovery: an endpoint address that is not HOST:PORT, ignored");
            }
        }
    }
    tracing::info!(%discovery, services = learned.len(), "discovery: learned the service endpoints");
    Ok(learned)
}

/// `host:port` from a discovery answer as an upstream in the discovery host's scheme; port 443 over TLS is left
/// out, so `:authority` is the bare host, as the SDKs send it.
pub(crate) fn endpoint_url(tls: bool, address: &str) -> Option<UpstreamUrl> {
    let authority: http::uri::Authority = address.parse().ok()?;
    let text = match (tls, authority.port_u16()?) {
        (true, 443) => format!("https://{}", authority.host()),
        (true, _) => format!("https://{authority}"),
        (false, _) => format!("http://{authority}"),
    };
    text.parse().ok()
}

async fn list(
    upstream: &Upstream,
    discovery: &UpstreamUrl,
) -> Result<ListApiEndpointsResponse, String> {
    let mut body = BytesMut::new();
    grpc::encode_frame(
        &ListApiEndpointsRequest::default().encode_to_vec(),
        &mut body,
    );
    let body: UpstreamBody = Full::new(body.freeze())
        .map_err(|never| match never {})
        .boxed();
    let mut request = Request::new(body);
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static(LIST);
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(GRPC_CONTENT_TYPE));
    headers.insert(TE, HeaderValue::from_static("trailers"));

    let response = upstream
        .send(Transport::Grpc, discovery, request)
        .await
        .map_err(|error| error.cause)?;
    let (parts, body) = response.into_parts();
    if parts.status != StatusCode::OK {
        return Err(format!("HTTP status {}, not a gRPC answer", parts.status));
    }
    // Trailers-only: the status is in the headers and there is no message.
    if let Some(status) = Status::from_headers(&parts.headers) {
        return Err(match status.code {
            0 => "an answer with no message".to_owned(),
            _ => status.to_string(),
        });
    }
    let collected = Limited::new(body, MAX_ANSWER_SIZE)
        .collect()
        .await
        .map_err(|error| format!("reading the answer: {}", super::error_chain(error.as_ref())))?;
    let status = collected.trailers().and_then(Status::from_headers);
    match status {
        Some(status) if status.code == 0 => {}
        Some(status) => return Err(status.to_string()),
        None => return Err("the answer has no grpc-status".to_owned()),
    }
    decode_answer(&collected.to_bytes())
}

fn decode_answer(body: &Bytes) -> Result<ListApiEndpointsResponse, String> {
    let mut decoder = FrameDecoder::new(FrameLimits {
        max_message_size: MAX_ANSWER_SIZE,
        max_body_size: MAX_ANSWER_SIZE,
    });
    let undecodable = |error: &dyn std::fmt::Display| format!("an undecodable answer: {error}");
    decoder.push(body).map_err(|e| undecodable(&e))?;
    let message = decoder
        .next_message()
        .map_err(|e| undecodable(&e))?
        .ok_or_else(|| "an answer with no message".to_owned())?;
    ListApiEndpointsResponse::decode(message).map_err(|e| undecodable(&e))
}
