//! Forwarding: the record service proper. Each request goes to its upstream with connection headers and offers of
//! compressed answers removed; the answer streams back frame by frame through the tees ([`super::tee`]), and the
//! completed call goes to the recorder, which journals it before the client sees the last frame.
//! This module must not buffer a streaming body, block the response path on the disk, or record a call that did not
//! complete.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HeaderValue};
use http::{HeaderMap, HeaderName, Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::recorder::{Journaled, RecorderHandle};
use yc_cassette::wire::{Call, Capture, GrpcCall, RestCall, is_connection_header};

use super::tee::{self, RequestTee, ResponseTee, Sink};
use crate::Error;
use crate::discovery;
use crate::grpc::{self, Code, FrameLimits, GRPC_ACCEPT_ENCODING, Status, StatusResponse};
use crate::server;
use crate::upstream::{BoxError, Transport, Upstream, UpstreamError, UpstreamUrl, Upstreams};

/// The body the proxy answers with.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// Where and how a [`Forwarder`] forwards.
#[derive(Clone, Debug)]
pub struct ForwardConfig {
    pub upstreams: Upstreams,
    /// The largest gRPC message recorded; a call with a larger one passes through but is not recorded.
    pub max_message_size: usize,
    /// The address put into discovery answers (`--advertise`); default: the address the client reached (its
    /// `:authority` or `Host`), else the listening address (`127.0.0.1` for a wildcard).
    pub advertise: Option<String>,
}

/// The recording proxy as a service: forwards each request to its upstream, streams the answer back frame by frame
/// and feeds the completed call to a [`Recorder`](super::Recorder), holding the call's last frame until it is in the
/// journal. A `new_episodes` server calls [`Forwarder::forward`] for what it cannot replay.
#[derive(Clone)]
pub struct Forwarder(Arc<Inner>);

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder").finish_non_exhaustive()
    }
}

impl Forwarder {
    /// A forwarder recording into `recorder`; `listening` is the address discovery answers fall back to.
    pub fn new(
        config: &ForwardConfig,
        recorder: RecorderHandle,
        listening: SocketAddr,
    ) -> Result<Forwarder, Error> {
        let limits = FrameLimits {
            max_message_size: config.max_message_size,
            max_body_size: usize::MAX,
        };
        Ok(Forwarder(Arc::new(Inner {
            upstream: Upstream::new(&config.upstreams)?,
            recorder,
            advertise: config.advertise.clone(),
            listening: discovery::advertised(listening),
            limits,
            // Streams may carry many messages; a body is recorded whole or not at all.
            capture_limit: config.max_message_size.saturating_mul(16),
        })))
    }

    /// Forwards one request and records the call. Never fails: an unreachable upstream is `UNAVAILABLE` or `502`.
    pub async fn forward<B>(&self, request: Request<B>) -> Response<ProxyBody>
    where
        B: http_body::Body<Data = Bytes> + Send + Sync + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        let inner = Arc::clone(&self.0);
        if grpc::is_grpc(&request) {
            forward_grpc(inner, request).await
        } else {
            forward_rest(inner, request).await
        }
    }
}

struct Inner {
    upstream: Upstream,
    recorder: RecorderHandle,
    /// The configured address for discovery answers, if any.
    advertise: Option<String>,
    /// The listening address, for a discovery request that names no host.
    listening: String,
    limits: FrameLimits,
    capture_limit: usize,
}

impl Inner {
    /// Where the discovery answer to `request` points.
    fn advertise_for<B>(&self, request: &Request<B>) -> String {
        self.advertise
            .clone()
            .or_else(|| discovery::reached_address(request))
            .unwrap_or_else(|| self.listening.clone())
    }

    fn record(&self, call: Call) -> Journaled {
        self.recorder.record_call(call)
    }
}

impl hyper::service::Service<Request<Incoming>> for Forwarder {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.forward(request).await) })
    }
}

async fn forward_grpc<B>(inner: Arc<Inner>, request: Request<B>) -> Response<ProxyBody>
where
    B: http_body::Body<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let method = request.uri().path().to_owned();
    let upstream = match inner.upstream.route(Transport::Grpc, &method).await {
        Ok(upstream) => upstream,
        Err(error) => return grpc_unavailable(&method, &error),
    };
    let advertise = discovery::is_grpc(&method).then(|| inner.advertise_for(&request));
    let (mut parts, body) = request.into_parts();
    let metadata = parts.headers.clone();
    let request_capture = Arc::new(Mutex::new(Capture::new(inner.capture_limit)));
    let body = RequestTee::new(body, Arc::clone(&request_capture)).boxed();
    clean_request_headers(&mut parts.headers, Transport::Grpc);
    let response = match inner
        .upstream
        .send(Transport::Grpc, &upstream, Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response,
        Err(error) => return grpc_unavailable(&method, &error),
    };
    let (mut parts, body) = response.into_parts();
    strip_connection_headers(&mut parts.headers, false);
    let sink = GrpcSink {
        inner: Arc::clone(&inner),
        method,
        metadata,
        request: request_capture,
        headers: parts.headers.clone(),
    };
    if let Some(advertise) = advertise.filter(|_| parts.status == StatusCode::OK) {
        return discovery_grpc(sink, parts, body, &upstream, &advertise).await;
    }
    if parts.status != StatusCode::OK {
        tracing::warn!(method = %sink.method, status = %parts.status, "not a gRPC answer: passed through, not recorded");
        return Response::from_parts(parts, body.map_err(Into::into).boxed());
    }
    if body.is_end_stream() {
        // Trailers-only: the status is in the headers, and the stream ended with them.
        let method = sink.method.clone();
        if let Err(error) = Box::new(sink).complete(Capture::new(0), None).await {
            return not_recorded_grpc(&method, &error);
        }
        return Response::from_parts(parts, empty());
    }
    let limit = inner.capture_limit;
    let body = ResponseTee::new(body, limit, Box::new(sink), Some(upstream));
    Response::from_parts(parts, body.boxed())
}

async fn discovery_grpc(
    sink: GrpcSink,
    parts: http::response::Parts,
    body: Incoming,
    upstream: &UpstreamUrl,
    advertise: &str,
) -> Response<ProxyBody> {
    let collected = match Limited::new(body, sink.inner.capture_limit).collect().await {
        Ok(collected) => collected,
        Err(error) => {
            return grpc_unavailable(&sink.method, &UpstreamError::new(upstream, error.as_ref()));
        }
    };
    let trailers = collected.trailers().cloned();
    let data = collected.to_bytes();
    let data =
        discovery::rewrite_grpc(&sink.method, &data, advertise, sink.inner.limits).unwrap_or(data);
    let capture = Capture::from(data.clone());
    let trailers_only = data.is_empty() && trailers.is_none();
    let method = sink.method.clone();
    if let Err(error) = Box::new(sink).complete(capture, trailers.clone()).await {
        return not_recorded_grpc(&method, &error);
    }
    let body = if trailers_only {
        empty()
    } else {
        server::Body::new(data, trailers)
            .map_err(|never| match never {})
            .boxed()
    };
    Response::from_parts(parts, body)
}

struct GrpcSink {
    inner: Arc<Inner>,
    method: String,
    metadata: HeaderMap,
    request: Arc<Mutex<Capture>>,
    headers: HeaderMap,
}

impl Sink for GrpcSink {
    fn complete(self: Box<Self>, response: Capture, trailers: Option<HeaderMap>) -> Journaled {
        let request = std::mem::take(&mut *tee::lock(&self.request));
        self.inner.record(Call::Grpc(GrpcCall {
            method: self.method,
            metadata: self.metadata,
            request,
            headers: self.headers,
            response,
            trailers,
        }))
    }

    fn fail(self: Box<Self>, error: &BoxError) {
        tracing::warn!(method = %self.method, error = %crate::upstream::error_chain(error.as_ref()), "upstream failed mid-call: not recorded");
    }
}

async fn forward_rest<B>(inner: Arc<Inner>, request: Request<B>) -> Response<ProxyBody>
where
    B: http_body::Body<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let upstream = match inner.upstream.route(Transport::Rest, &path).await {
        Ok(upstream) => upstream,
        Err(error) => return bad_gateway(&path, &error),
    };
    let advertise =
        discovery::is_rest(request.method(), &path).then(|| inner.advertise_for(&request));
    let (mut parts, body) = request.into_parts();
    let verb = parts.method.clone();
    let request_headers = parts.headers.clone();
    let request_capture = Arc::new(Mutex::new(Capture::new(inner.capture_limit)));
    let body = RequestTee::new(body, Arc::clone(&request_capture)).boxed();
    clean_request_headers(&mut parts.headers, Transport::Rest);
    let response = match inner
        .upstream
        .send(Transport::Rest, &upstream, Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response,
        Err(error) => return bad_gateway(&path, &error),
    };
    let (mut parts, body) = response.into_parts();
    strip_connection_headers(&mut parts.headers, true);
    let sink = RestSink {
        inner: Arc::clone(&inner),
        method: verb.to_string(),
        path,
        query,
        headers: request_headers,
        request: request_capture,
        status: parts.status.as_u16(),
        response_headers: parts.headers.clone(),
    };
    if let Some(advertise) = advertise.filter(|_| parts.status == StatusCode::OK) {
        return discovery_rest(sink, parts, body, &upstream, &advertise).await;
    }
    if body.is_end_stream() {
        let path = sink.path.clone();
        if let Err(error) = Box::new(sink).complete(Capture::new(0), None).await {
            return not_recorded_rest(&path, &error);
        }
        return Response::from_parts(parts, empty());
    }
    let body = ResponseTee::new(body, inner.capture_limit, Box::new(sink), None);
    Response::from_parts(parts, body.boxed())
}

async fn discovery_rest(
    mut sink: RestSink,
    mut parts: http::response::Parts,
    body: Incoming,
    upstream: &UpstreamUrl,
    advertise: &str,
) -> Response<ProxyBody> {
    let data = match Limited::new(body, sink.inner.capture_limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return bad_gateway(&sink.path, &UpstreamError::new(upstream, error.as_ref()));
        }
    };
    let encoded = parts.headers.contains_key(http::header::CONTENT_ENCODING);
    let data = match (!encoded)
        .then(|| discovery::rewrite_rest(&data, advertise))
        .flatten()
    {
        Some(rewritten) => {
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(rewritten.len()));
            parts.headers.remove(http::header::TRANSFER_ENCODING);
            Bytes::from(rewritten)
        }
        None => data,
    };
    sink.response_headers = parts.headers.clone();
    let capture = Capture::from(data.clone());
    let path = sink.path.clone();
    if let Err(error) = Box::new(sink).complete(capture, None).await {
        return not_recorded_rest(&path, &error);
    }
    Response::from_parts(
        parts,
        server::Body::from(data)
            .map_err(|never| match never {})
            .boxed(),
    )
}

struct RestSink {
    inner: Arc<Inner>,
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    request: Arc<Mutex<Capture>>,
    status: u16,
    response_headers: HeaderMap,
}

impl Sink for RestSink {
    fn complete(self: Box<Self>, response: Capture, _trailers: Option<HeaderMap>) -> Journaled {
        let request = std::mem::take(&mut *tee::lock(&self.request));
        self.inner.record(Call::Rest(RestCall {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self.headers,
            request,
            status: self.status,
            response_headers: self.response_headers,
            response,
        }))
    }

    fn fail(self: Box<Self>, error: &BoxError) {
        tracing::warn!(method = %self.method, path = %self.path, error = %crate::upstream::error_chain(error.as_ref()), "upstream failed mid-body: not recorded");
    }
}

fn empty() -> ProxyBody {
    server::Body::empty()
        .map_err(|never| match never {})
        .boxed()
}

fn grpc_unavailable(method: &str, error: &UpstreamError) -> Response<ProxyBody> {
    tracing::warn!(%method, %error, "upstream unavailable: not recorded");
    Status::new(Code::Unavailable, error.to_string())
        .into_response()
        .map(|body| body.map_err(|never| match never {}).boxed())
}

/// The upstream answered, but the call could not be journaled: the client must not see it complete.
fn not_recorded_grpc(method: &str, error: &Error) -> Response<ProxyBody> {
    tracing::error!(%method, %error, "call not recorded");
    Status::new(
        Code::Internal,
        format!("yc-vcr record: the call completed upstream but was not recorded: {error}"),
    )
    .into_response()
    .map(|body| body.map_err(|never| match never {}).boxed())
}

fn not_recorded_rest(path: &str, error: &Error) -> Response<ProxyBody> {
    tracing::error!(%path, %error, "call not recorded");
    let mut response = Response::new(
        server::Body::from(format!(
            "yc-vcr record: the call completed upstream but was not recorded: {error}\n"
        ))
        .map_err(|never| match never {})
        .boxed(),
    );
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

fn bad_gateway(path: &str, error: &UpstreamError) -> Response<ProxyBody> {
    tracing::warn!(%path, %error, "upstream unavailable: not recorded");
    let mut response = Response::new(
        server::Body::from(format!("{error}\n"))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn strip_connection_headers(headers: &mut HeaderMap, strip_te: bool) {
    let keep_te = !strip_te
        && headers
            .get(http::header::TE)
            .is_some_and(|te| te.as_bytes().eq_ignore_ascii_case(b"trailers"));
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_connection_header(name))
        .cloned()
        .collect();
    for name in names {
        headers.remove(&name);
    }
    if keep_te {
        headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
    }
}

/// Readies a client's headers for the upstream: connection headers go (gRPC keeps `te: trailers`), and so do the
/// offers of compressed answers, so that recorded bodies stay readable.
pub(crate) fn clean_request_headers(headers: &mut HeaderMap, transport: Transport) {
    strip_connection_headers(headers, transport == Transport::Rest);
    headers.remove(http::header::HOST);
    headers.remove(http::header::ACCEPT_ENCODING);
    headers.remove(GRPC_ACCEPT_ENCODING);
}
