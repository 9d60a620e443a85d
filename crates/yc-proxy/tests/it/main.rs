//! Integration tests: real clients (tonic for gRPC, hyper for REST, raw hyper HTTP/2 and raw TCP for malformed input)
//! against servers bound to 127.0.0.1:0. Cassettes are built here from yc-proto types.

mod ca;
mod record;
mod record_corpus;
mod record_discovery;
mod record_durability;
mod record_kill;
mod record_live;
mod record_secrets;
mod record_upstreams;
mod record_versions;
mod replay_cross;
mod replay_discovery;
mod replay_grpc;
mod replay_limits;
mod replay_reflection;
mod replay_rest;
mod replay_sessions;
mod replay_streams;
mod tls;
mod upstream_fixture;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tonic::transport::{Channel, Endpoint};
use yc_cassette::{Body, Cassette, Interaction};
use yc_proxy::{ReplayConfig, ReplayServer};

pub use yc_cassette::fixture::{cassette, grpc, headers, message};

/// A REST recording as these tests make one: answered in JSON, with a request id.
pub fn rest(
    method: &str,
    path: &str,
    query: &str,
    body: Body,
    status: u16,
    response: Body,
) -> Interaction {
    yc_cassette::fixture::rest(method, path)
        .query(query)
        .body(body)
        .status(status)
        .response_headers(&[
            ("content-type", "application/json"),
            ("x-request-id", "7f2a"),
        ])
        .response(response)
        .build()
}

/// Starts a replay server on 127.0.0.1:0 over `cassettes`.
pub fn replay(cassettes: Vec<Cassette>) -> ReplayServer {
    replay_with(cassettes, ReplayConfig::default())
}

pub fn replay_with(cassettes: Vec<Cassette>, config: ReplayConfig) -> ReplayServer {
    let index = yc_cassette::fixture::index(cassettes);
    ReplayServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), index, config).unwrap()
}

pub async fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// What a client saw: status, headers, body text.
#[derive(Debug)]
pub struct Seen {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

/// One REST call with hyper's client, over HTTP/1.1 or (with `http2`) HTTP/2 prior knowledge.
pub async fn rest_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    http2: bool,
) -> Seen {
    let client = Client::builder(TokioExecutor::new())
        .http2_only(http2)
        .build_http::<Full<Bytes>>();
    let request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Seen {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// What a raw HTTP/2 client saw of one gRPC call.
#[derive(Debug)]
pub struct RawSeen {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub trailers: Option<HeaderMap>,
}

impl RawSeen {
    /// The gRPC status, from the trailers or, for a trailers-only response, the headers.
    pub fn grpc_status(&self) -> yc_proxy::grpc::Status {
        self.trailers
            .as_ref()
            .and_then(yc_proxy::grpc::Status::from_headers)
            .or_else(|| yc_proxy::grpc::Status::from_headers(&self.headers))
            .expect("a grpc-status")
    }
}

/// Sends `body` as-is on a fresh HTTP/2 connection: for frames no real client would send.
pub async fn raw_grpc(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> RawSeen {
    let mut sender = h2_connection(addr).await;
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    RawSeen {
        status: parts.status,
        headers: parts.headers,
        body: collected.to_bytes(),
        trailers,
    }
}

/// A fresh HTTP/2 connection (prior knowledge), its task running on the test's runtime.
pub async fn h2_connection<B>(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<B>
where
    B: http_body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

/// Frames `message` with the gRPC length prefix.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    yc_proxy::grpc::encode_frame(message, &mut out);
    out.to_vec()
}

/// A deterministic shuffle (xorshift), so a failing order can be reproduced.
pub fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = usize::try_from(seed % (i as u64 + 1)).unwrap();
        items.swap(i, j);
    }
}

/// Ports vary from run to run: `127.0.0.1:PORT` becomes `127.0.0.1:[port]`.
pub fn redact_ports(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("[port]");
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

#[test]
fn redact_ports_replaces_only_ports() {
    assert_eq!(
        redact_ports("at 127.0.0.1:4312/x and 127.0.0.1:"),
        "at 127.0.0.1:[port]/x and 127.0.0.1:"
    );
}
