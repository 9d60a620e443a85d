//! Forwarding: the record service proper. Each request goes to its upstream with connection headers and offers of
//! compressed answers removed; the answer streams back frame by frame through the tees ([`super::tee`]), and the
//! completed call is recorded (on the task that completed it) before the client sees the last frame.
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

use yc_cassette::wire::{Call, Capture, GrpcCall, RestCall, is_connection_header};

use super::recorder::{Recorded, RecorderHandle};
use super::tee::{self, Recording, RequestTee, ResponseTee, Sink};
use crate::Error;
use crate::discovery;
use crate::grpc::{self, Code, FrameLimits, GRPC_ACCEPT_ENCODING, Status, StatusResponse};
use crate::server;
use crate::upstream::{
    BoxError, ResponseBody, Transport, Upstream, UpstreamError, UpstreamUrl, Upstreams,
};

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

    async fn record(&self, call: Call) -> Result<Recorded, Error> {
        self.recorder.record_call(call).await
    }

    /// Routes `request`, tees its body, readies its headers ([`clean_request_headers`]) and sends it; the answer
    /// comes back without its connection headers.
    async fn send<B>(
        &self,
        transport: Transport,
        request: Request<B>,
    ) -> Result<Sent, UpstreamError>
    where
        B: http_body::Body<Data = Bytes> + Send + Sync + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        let upstream = self.upstream.route(transport, request.uri().path()).await?;
        let (mut parts, body) = request.into_parts();
        let headers = parts.headers.clone();
        let capture = Arc::new(Mutex::new(Capture::new(self.capture_limit)));
        let body = RequestTee::new(body, Arc::clone(&capture)).boxed();
        clean_request_headers(&mut parts.headers, transport);
        let request = Request::from_parts(parts, body);
        let mut response = self.upstream.send(transport, &upstream, request).await?;
        strip_connection_headers(response.headers_mut(), transport == Transport::Rest);
        Ok(Sent {
            upstream,
            headers,
            capture,
            response,
        })
    }
}

/// A request on its way and its answer, from [`Inner::send`].
struct Sent {
    upstream: UpstreamUrl,
    /// The request's headers as the client sent them, for the cassette.
    headers: HeaderMap,
    /// The request body, as it goes.
    capture: Arc<Mutex<Capture>>,
    response: Response<ResponseBody>,
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
    let advertise = discovery::is_grpc(&method).then(|| inner.advertise_for(&request));
    let sent = match inner.send(Transport::Grpc, request).await {
        Ok(sent) => sent,
        Err(error) => return grpc_unavailable(&method, &error),
    };
    let (parts, body) = sent.response.into_parts();
    let upstream = sent.upstream;
    let sink = CallSink {
        inner: Arc::clone(&inner),
        request: sent.capture,
        call: GrpcCall {
            method,
            metadata: sent.headers,
            request: Capture::default(),
            headers: parts.headers.clone(),
            response: Capture::default(),
            trailers: None,
        },
    };
    if let Some(advertise) = advertise.filter(|_| parts.status == StatusCode::OK) {
        return discovery_grpc(sink, parts, body, &upstream, &advertise).await;
    }
    if parts.status != StatusCode::OK {
        tracing::warn!(method = %sink.call.method, status = %parts.status, "not a gRPC answer: passed through, not recorded");
        return Response::from_parts(parts, body.map_err(Into::into).boxed());
    }
    if body.is_end_stream() {
        // Trailers-only: the status is in the headers, and the stream ended with them.
        let method = sink.call.method.clone();
        if let Err(error) = Box::new(sink).complete(Capture::new(0), None).await {
            return not_recorded_grpc(&method, &error);
        }
        return Response::from_parts(parts, empty());
    }
    let limit = inner.capture_limit;
    let mut body = ResponseTee::new(body, limit, Box::new(sink), Some(upstream));
    body.read_ahead().await;
    Response::from_parts(parts, body.boxed())
}

async fn discovery_grpc(
    sink: CallSink<GrpcCall>,
    parts: http::response::Parts,
    body: ResponseBody,
    upstream: &UpstreamUrl,
    advertise: &str,
) -> Response<ProxyBody> {
    let collected = match Limited::new(body, sink.inner.capture_limit).collect().await {
        Ok(collected) => collected,
        Err(error) => {
            return grpc_unavailable(
                &sink.call.method,
                &UpstreamError::new(upstream, error.as_ref()),
            );
        }
    };
    let trailers = collected.trailers().cloned();
    let data = collected.to_bytes();
    let data = discovery::rewrite_grpc(&sink.call.method, &data, advertise, sink.inner.limits)
        .unwrap_or(data);
    let capture = Capture::from(data.clone());
    let trailers_only = data.is_empty() && trailers.is_none();
    let method = sink.call.method.clone();
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

async fn forward_rest<B>(inner: Arc<Inner>, request: Request<B>) -> Response<ProxyBody>
where
    B: http_body::Body<Data = Bytes> + Send + Sync + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let verb = request.method().to_string();
    let advertise =
        discovery::is_rest(request.method(), &path).then(|| inner.advertise_for(&request));
    let sent = match inner.send(Transport::Rest, request).await {
        Ok(sent) => sent,
        Err(error) => return bad_gateway(&path, &error),
    };
    let (parts, body) = sent.response.into_parts();
    let sink = CallSink {
        inner: Arc::clone(&inner),
        request: sent.capture,
        call: RestCall {
            method: verb,
            path,
            query,
            headers: sent.headers,
            request: Capture::default(),
            status: parts.status.as_u16(),
            response_headers: parts.headers.clone(),
            response: Capture::default(),
        },
    };
    if let Some(advertise) = advertise.filter(|_| parts.status == StatusCode::OK) {
        return discovery_rest(sink, parts, body, &sent.upstream, &advertise).await;
    }
    if body.is_end_stream() {
        let path = sink.call.path.clone();
        if let Err(error) = Box::new(sink).complete(Capture::new(0), None).await {
            return not_recorded_rest(&path, &error);
        }
        return Response::from_parts(parts, empty());
    }
    let mut body = ResponseTee::new(body, inner.capture_limit, Box::new(sink), None);
    body.read_ahead().await;
    Response::from_parts(parts, body.boxed())
}

async fn discovery_rest(
    mut sink: CallSink<RestCall>,
    mut parts: http::response::Parts,
    body: ResponseBody,
    upstream: &UpstreamUrl,
    advertise: &str,
) -> Response<ProxyBody> {
    let data = match Limited::new(body, sink.inner.capture_limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return bad_gateway(
                &sink.call.path,
                &UpstreamError::new(upstream, error.as_ref()),
            );
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
    sink.call.response_headers = parts.headers.clone();
    let capture = Capture::from(data.clone());
    let path = sink.call.path.clone();
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

/// A call whose response is on its way: the call as it will be recorded, and its request body as it went.
struct CallSink<C> {
    inner: Arc<Inner>,
    request: Arc<Mutex<Capture>>,
    call: C,
}

/// A call of either transport waiting for its response, and what is logged when it cannot be recorded.
trait Pending: Into<Call> + Send + Sync + 'static {
    fn failed(&self, error: &BoxError);
}

impl Pending for GrpcCall {
    fn failed(&self, error: &BoxError) {
        tracing::warn!(method = %self.method, error = %crate::upstream::error_chain(error.as_ref()), "upstream failed mid-call: not recorded");
    }
}

impl Pending for RestCall {
    fn failed(&self, error: &BoxError) {
        tracing::warn!(method = %self.method, path = %self.path, error = %crate::upstream::error_chain(error.as_ref()), "upstream failed mid-body: not recorded");
    }
}

impl<C: Pending> Sink for CallSink<C> {
    fn complete(self: Box<Self>, response: Capture, trailers: Option<HeaderMap>) -> Recording {
        let request = std::mem::take(&mut *tee::lock(&self.request));
        let call = match self.call.into() {
            Call::Grpc(call) => Call::Grpc(GrpcCall {
                request,
                response,
                trailers,
                ..call
            }),
            Call::Rest(call) => Call::Rest(RestCall {
                request,
                response,
                ..call
            }),
        };
        let inner = self.inner;
        Box::pin(async move { inner.record(call).await })
    }

    fn fail(self: Box<Self>, error: &BoxError) {
        self.call.failed(error);
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
