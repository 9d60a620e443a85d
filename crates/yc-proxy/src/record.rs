//! The record service: a transparent proxy in front of Yandex Cloud (or any upstream) that writes every completed
//! gRPC and REST call into a cassette, with secrets redacted.
//!
//! Bodies stream through frame by frame in both directions (see [`tee`]); a copy of each goes to one writer thread
//! (see [`writer`]) that redacts, scans, appends in completion order and saves the file atomically, so a killed
//! recorder loses at most the calls in flight. The client always gets exactly what the upstream sent, except that
//! discovery answers point at the proxy (see [`discovery`]) and a failing upstream becomes `UNAVAILABLE` or `502`.
//! This module must not buffer a streaming body, block the response path on the disk, or record a call that did not
//! complete.

mod tee;
mod writer;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HeaderValue};
use http::{HeaderMap, HeaderName, Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use yc_cassette::{Cassette, CassetteFile, Meta, Redactor};

use crate::Error;
use crate::discovery;
use crate::grpc::{
    self, Code, DEFAULT_MAX_MESSAGE_SIZE, FrameLimits, GRPC_ACCEPT_ENCODING, Status,
};
use crate::server::{self, Server, ServerConfig};
use crate::upstream::{BoxError, Transport, Upstream, UpstreamError, UpstreamUrl, Upstreams};
use tee::{Capture, RequestTee, ResponseTee, Sink};
use writer::{Command, Completed, GrpcCall, RestCall, Writer};

/// What to do with a cassette file that already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Refuse to start if the file exists.
    New,
    /// Replace it.
    Overwrite,
    /// Keep its interactions and add the new ones after them.
    Append,
}

/// Everything the record server needs.
#[derive(Clone, Debug)]
pub struct RecordConfig {
    pub cassette_path: PathBuf,
    pub mode: Mode,
    pub upstreams: Upstreams,
    /// Applied to every interaction before it is stored.
    pub redactor: Redactor,
    /// The largest gRPC message recorded; a call with a larger one passes through but is not recorded.
    pub max_message_size: usize,
    /// The address put into discovery answers (`--advertise`); default: the address the client reached (its
    /// `:authority` or `Host`), else the listening address (`127.0.0.1` for a wildcard).
    pub advertise: Option<String>,
    /// `meta.description` of a new cassette.
    pub description: String,
    pub server: ServerConfig,
}

impl RecordConfig {
    /// Defaults: a new cassette, built-in redaction, 4 MiB messages.
    pub fn new(cassette_path: impl Into<PathBuf>, upstreams: Upstreams) -> RecordConfig {
        RecordConfig {
            cassette_path: cassette_path.into(),
            mode: Mode::New,
            upstreams,
            redactor: Redactor::default(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            advertise: None,
            description: String::new(),
            server: ServerConfig::default(),
        }
    }
}

/// How a recording ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Interactions in the cassette, old ones included when appending.
    pub interactions: usize,
    /// Interactions recorded in this run.
    pub recorded: usize,
}

/// A running record server.
#[derive(Debug)]
pub struct RecordServer {
    server: Server,
    path: PathBuf,
    commands: mpsc::Sender<Command>,
    report: oneshot::Receiver<writer::Report>,
    written: Arc<AtomicUsize>,
}

impl RecordServer {
    /// Opens the cassette as `config.mode` says (writing it at once, so a bad path fails here), binds `addr` and
    /// starts serving.
    pub async fn start(addr: SocketAddr, config: RecordConfig) -> Result<RecordServer, Error> {
        let path = config.cassette_path.clone();
        let cassette = open_cassette(&config)?;
        let upstream = Upstream::new(&config.upstreams)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local_addr = listener.local_addr().map_err(Error::LocalAddr)?;
        let file = CassetteFile::create(&path, &cassette)?;
        drop(cassette);

        let limits = FrameLimits {
            max_message_size: config.max_message_size,
            max_body_size: usize::MAX,
        };
        let written = Arc::new(AtomicUsize::new(0));
        let (commands, receiver) = mpsc::channel();
        let writer = Writer {
            file,
            redactor: config.redactor,
            limits,
            written: Arc::clone(&written),
        };
        let (report_sender, report) = oneshot::channel();
        std::thread::Builder::new()
            .name("yc-vcr-cassette-writer".to_owned())
            .spawn(move || {
                let _ = report_sender.send(writer.run(receiver));
            })
            .map_err(|error| Error::CassetteWrite {
                path: path.clone(),
                message: format!("cannot start the writer thread: {error}"),
            })?;
        let service = RecordService(Arc::new(Inner {
            upstream,
            commands: commands.clone(),
            advertise: config.advertise,
            listening: discovery::advertised(local_addr),
            limits,
            // Streams may carry many messages; a body is recorded whole or not at all.
            capture_limit: config.max_message_size.saturating_mul(16),
        }));
        let server = Server::serve(listener, service, &config.server)?;
        Ok(RecordServer {
            server,
            path,
            commands,
            report,
            written,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Interactions of this run written to disk so far.
    pub fn recorded(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }

    /// Stops accepting, lets calls in flight finish, writes the cassette and reports.
    ///
    /// Fails if the cassette could not be written, or if a secret survived redaction in some interaction (that
    /// interaction was left out of the file; the error says where the secret was).
    pub async fn shutdown(self) -> Result<Summary, Error> {
        self.server.shutdown().await;
        let _ = self.commands.send(Command::Close);
        let report = self.report.await.map_err(|_| Error::CassetteWrite {
            path: self.path.clone(),
            message: "the writer thread stopped before the end".to_owned(),
        })?;
        if !report.secrets.is_empty() {
            return Err(Error::SecretsSurvived {
                path: self.path,
                findings: report.secrets.join("; "),
            });
        }
        if let Some(message) = report.save_error {
            return Err(Error::CassetteWrite {
                path: self.path,
                message,
            });
        }
        Ok(Summary {
            interactions: report.interactions,
            recorded: report.recorded,
        })
    }
}

fn open_cassette(config: &RecordConfig) -> Result<Cassette, Error> {
    let path = &config.cassette_path;
    let meta = Meta {
        description: config.description.clone(),
        recorded_with: format!("yc-vcr {}", env!("CARGO_PKG_VERSION")),
    };
    match config.mode {
        Mode::New if path.exists() => Err(Error::CassetteExists { path: path.clone() }),
        Mode::New | Mode::Overwrite => Ok(Cassette::new(meta)),
        Mode::Append if path.exists() => Ok(Cassette::load(path)?),
        Mode::Append => Ok(Cassette::new(meta)),
    }
}

/// The body the proxy answers with.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

#[derive(Clone)]
struct RecordService(Arc<Inner>);

struct Inner {
    upstream: Upstream,
    commands: mpsc::Sender<Command>,
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

    fn record(&self, call: Completed) {
        // The receiver is gone only after shutdown; a call finishing that late is not recorded.
        let _ = self.commands.send(Command::Record(Box::new(call)));
    }
}

impl hyper::service::Service<Request<Incoming>> for RecordService {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let inner = Arc::clone(&self.0);
        Box::pin(async move {
            Ok(if grpc::is_grpc(&request) {
                forward_grpc(inner, request).await
            } else {
                forward_rest(inner, request).await
            })
        })
    }
}

async fn forward_grpc(inner: Arc<Inner>, request: Request<Incoming>) -> Response<ProxyBody> {
    let method = request.uri().path().to_owned();
    let upstream = match inner.upstream.route(Transport::Grpc, &method) {
        Ok(upstream) => upstream.clone(),
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
        Box::new(sink).complete(Capture::new(0), None);
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
    let mut capture = Capture::new(usize::MAX);
    capture.chunks.push(data.clone());
    capture.len = data.len();
    let trailers_only = data.is_empty() && trailers.is_none();
    Box::new(sink).complete(capture, trailers.clone());
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
    fn complete(self: Box<Self>, response: Capture, trailers: Option<HeaderMap>) {
        let request = std::mem::take(&mut *tee::lock(&self.request));
        self.inner.record(Completed::Grpc(GrpcCall {
            method: self.method,
            metadata: self.metadata,
            request,
            headers: self.headers,
            response,
            trailers,
        }));
    }

    fn fail(self: Box<Self>, error: &BoxError) {
        tracing::warn!(method = %self.method, error = %crate::upstream::error_chain(error.as_ref()), "upstream failed mid-call: not recorded");
    }
}

async fn forward_rest(inner: Arc<Inner>, request: Request<Incoming>) -> Response<ProxyBody> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let upstream = match inner.upstream.route(Transport::Rest, &path) {
        Ok(upstream) => upstream.clone(),
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
        Box::new(sink).complete(Capture::new(0), None);
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
    let mut capture = Capture::new(usize::MAX);
    capture.chunks.push(data.clone());
    capture.len = data.len();
    Box::new(sink).complete(capture, None);
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
    fn complete(self: Box<Self>, response: Capture, _trailers: Option<HeaderMap>) {
        let request = std::mem::take(&mut *tee::lock(&self.request));
        self.inner.record(Completed::Rest(RestCall {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self.headers,
            request,
            status: self.status,
            response_headers: self.response_headers,
            response,
        }));
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

/// Header fields that describe one connection (RFC 9110 section 7.6.1), not the call; never forwarded or recorded.
pub(crate) fn is_connection_header(name: &HeaderName) -> bool {
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
fn clean_request_headers(headers: &mut HeaderMap, transport: Transport) {
    strip_connection_headers(headers, transport == Transport::Rest);
    headers.remove(http::header::HOST);
    headers.remove(http::header::ACCEPT_ENCODING);
    headers.remove(GRPC_ACCEPT_ENCODING);
}

#[cfg(test)]
mod tests;
