//! The replay server: answers gRPC and REST requests from an [`Index`] of recorded interactions.
//!
//! Every response is prepared once at startup (`prepared`); a hit clones it. Everything that is not a hit (a miss,
//! a malformed frame, an oversized message, a gRPC call over HTTP/1.1) becomes a response in one place,
//! `Failure::into_response`. This module does no matching of its own (the index does) and never panics on input.
//!
//! # Answers across transports
//!
//! When the index matched a request by its logical form to a recording made over the other transport
//! ([`yc_cassette::Hit::translated`]), the answer is built in the client's transport by [`translate`], the way the
//! gRPC-JSON transcoder in front of the API does it: a gRPC recording answers REST with the output message as
//! camelCase JSON (int64 as strings) or, for an error, the HTTP status of its code (`NOT_FOUND` 404,
//! `INVALID_ARGUMENT` 400, ...) and `{"code", "message", "details"}`; a REST recording answers gRPC with the body
//! parsed as the output message (unknown fields ignored) and framed, or with the status an error body describes
//! (its `code`, else one mapped back from the HTTP status) and `grpc-status-details-bin` built from its `details`.
//! Recorded headers other than framing, `content-type` and `grpc-*` are kept, and `x-yc-vcr-translated` says
//! `grpc->rest` or `rest->grpc`; a debug log line names the recording. The translated answer is prepared on first
//! use and kept, so hits in the recorded transport take exactly the path they took before. An answer that cannot
//! be translated (a 2xx body that is not the output type) is `INTERNAL` (REST: 500) naming the interaction.
//!
//! # What a miss looks like
//!
//! A request that matches no recorded interaction must not pass for an answer of the real service, so:
//! - gRPC: status `UNIMPLEMENTED` (12), which the Yandex Cloud services answer only for methods they do not have,
//!   never for a real request, with a `grpc-message` that starts with
//!   `yc-vcr replay: no recorded interaction matches` and names the method, the request as JSON and the closest
//!   recorded interaction with the fields that differ; `grpc-status-details-bin` holds a `google.rpc.ErrorInfo`
//!   with domain `yc-vcr` and reason `NO_RECORDED_INTERACTION`;
//! - REST: HTTP 501 Not Implemented with a JSON body `{"code": 12, "message": ..., "details": [ErrorInfo]}` in the
//!   shape of a Yandex Cloud REST error, carrying the same text;
//! - both carry the response header `x-yc-vcr-miss: 1`, and the server logs the same text at `warn`.

pub mod control;
mod prepared;
mod reflection;
pub mod translate;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Either};
use hyper::body::Incoming;
use hyper::service::Service;
use yc_cassette::{Cursors, Headers, Hit, Index, Miss};

use crate::Error;
use crate::discovery;
use crate::grpc::{
    self, Code, FrameError, FrameLimits, MessageReader, RequestBody, Status, StatusResponse,
};
use crate::server::{Body, Server, ServerConfig};
use control::Session;
use prepared::Prepared;
use reflection::Reflection;

/// The header that marks every answer to an unmatched request.
pub const MISS_HEADER: HeaderName = HeaderName::from_static("x-yc-vcr-miss");
/// How every miss message starts.
pub const MISS_PREFIX: &str = "yc-vcr replay: no recorded interaction matches";
/// The `google.rpc.ErrorInfo` domain and reason of a miss.
pub const MISS_DOMAIN: &str = "yc-vcr";
pub const MISS_REASON: &str = "NO_RECORDED_INTERACTION";

/// Replay settings.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// The largest request message (gRPC) or body (REST) accepted; larger ones get RESOURCE_EXHAUSTED or 413.
    pub max_message_size: usize,
    /// The address put into recorded endpoint discovery answers (`ApiEndpointService`), so that an SDK that discovers
    /// its endpoints keeps talking to this server (`--advertise`, e.g. behind port forwarding). `None`: the address
    /// each client reached (its `:authority` or `Host`).
    pub advertise: Option<String>,
    /// Listener and connection settings.
    pub server: ServerConfig,
}

impl Default for ReplayConfig {
    fn default() -> ReplayConfig {
        ReplayConfig {
            max_message_size: grpc::DEFAULT_MAX_MESSAGE_SIZE,
            advertise: None,
            server: ServerConfig::default(),
        }
    }
}

/// A replay server running on the tokio runtime.
#[derive(Debug)]
pub struct ReplayServer {
    server: Server,
    replayer: Replayer,
}

impl ReplayServer {
    /// Binds `addr` (port 0 picks a free port), prepares every recorded response and starts serving.
    /// Must be called within a tokio runtime.
    pub fn start(
        addr: SocketAddr,
        index: Index,
        config: ReplayConfig,
    ) -> Result<ReplayServer, Error> {
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|listener| {
                listener.set_nonblocking(true)?;
                tokio::net::TcpListener::from_std(listener)
            })
            .map_err(|source| Error::Bind { addr, source })?;
        let replayer = Replayer::new(index, &config)?;
        let server = Server::serve(listener, replayer.clone(), &config.server)?;
        tracing::info!(addr = %server.local_addr(), "replay server listening");
        Ok(ReplayServer { server, replayer })
    }

    /// The service behind the server: its misses and unused interactions so far.
    pub fn replayer(&self) -> &Replayer {
        &self.replayer
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops accepting and waits for in-flight calls to finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    /// Serves until `signal` resolves, then shuts down gracefully.
    pub async fn shutdown_on(self, signal: impl Future<Output = ()>) {
        self.server.shutdown_on(signal).await;
    }
}

/// The replay service: a cheap handle ([`Clone`]) over the index and the prepared responses.
#[derive(Clone, Debug)]
pub struct Replayer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    index: Index,
    /// `responses[cassette][interaction]`, in the order of `index.cassettes()`: each answer in wire form, prepared
    /// when it is first asked for. Preparing all at startup cost a third of replay's memory at 100k interactions
    /// (1.4 KB each, most header maps) and 0.15 s; loading has already checked that each one can be sent.
    responses: Vec<Vec<Lazy>>,
    /// The same answers in the other transport, prepared on first use too.
    translated: Vec<Vec<Lazy>>,
    limits: FrameLimits,
    max_rest_body: usize,
    /// Whether discovery answers point at the address each client reached (no fixed address was configured).
    advertise_reached: bool,
    /// Whether any cassette matches on request headers; if none does, only `content-type` is passed to the index
    /// (REST bodies are parsed by it), which saves copying every header of every request.
    match_headers: bool,
    /// gRPC method path to the request message counts its recordings have, ascending: a call is decided as soon
    /// as that many messages have arrived, and a method with none is answered before its body is read.
    plans: HashMap<String, Vec<usize>>,
    /// The configured address discovery answers point at (`None`: the one each client reached).
    advertise: Option<String>,
    /// gRPC server reflection over the embedded descriptor set.
    reflection: Reflection,
    /// Sessions chosen by [`control::SESSION_HEADER`], by id.
    sessions: RwLock<HashMap<String, Arc<Session>>>,
    /// What sessions with cassettes of their own are served with.
    config: ReplayConfig,
    /// Summaries of the requests that matched nothing, for [`Replayer::misses`].
    misses: std::sync::Mutex<Vec<String>>,
}

/// One interaction's answer in wire form once asked for, or why it has none; boxed, as most cells stay empty.
type Lazy = OnceLock<Box<Result<Prepared, String>>>;

/// One empty cell per interaction of each cassette.
fn cells(index: &Index) -> Vec<Vec<Lazy>> {
    index
        .cassettes()
        .iter()
        .map(|(_, cassette)| {
            (0..cassette.interactions.len())
                .map(|_| OnceLock::new())
                .collect()
        })
        .collect()
}

/// How many misses [`Replayer::misses`] keeps.
pub const MISSES_KEPT: usize = 1000;

impl Replayer {
    /// The service over `index`; answers are prepared as they are first asked for.
    pub fn new(index: Index, config: &ReplayConfig) -> Result<Replayer, Error> {
        let responses = cells(&index);
        let translated = cells(&index);
        let match_headers = index
            .cassettes()
            .iter()
            .any(|(_, cassette)| !cassette.matching.headers.is_empty());
        let limits = FrameLimits {
            max_message_size: config.max_message_size,
            max_body_size: config.max_message_size.saturating_mul(4),
        };
        let plans = plans(&index);
        let reflection = Reflection::new(index.schema().descriptor_set())?;
        Ok(Replayer {
            inner: Arc::new(Inner {
                index,
                responses,
                translated,
                limits,
                max_rest_body: config.max_message_size,
                advertise_reached: config.advertise.is_none(),
                match_headers,
                plans,
                advertise: config.advertise.clone(),
                reflection,
                sessions: RwLock::new(HashMap::new()),
                config: config.clone(),
                misses: std::sync::Mutex::new(Vec::new()),
            }),
        })
    }

    /// Answers one request. Never fails: every problem is a response.
    pub async fn handle<B: RequestBody>(&self, request: Request<B>) -> Response<Body> {
        self.handle_in(request, None).await
    }

    /// [`Replayer::handle`] with the sequence positions of a session (`None`: the default ones).
    async fn handle_in<B: RequestBody>(
        &self,
        request: Request<B>,
        cursors: Option<&Cursors>,
    ) -> Response<Body> {
        let reached = if self.inner.advertise_reached {
            discovery::reached(&request)
        } else {
            None
        };
        let (transport, answer) = if grpc::is_grpc(&request) {
            (Transport::Grpc, self.grpc(request, cursors).await)
        } else {
            (Transport::Rest, self.rest(request, cursors).await)
        };
        let mut response = answer.unwrap_or_else(|failure| {
            if let Failure::Miss(miss) = &failure {
                self.note_miss(miss);
            }
            failure.into_response(transport)
        });
        if let Some(reached) = reached {
            discovery::point_at(&mut response, &reached);
        }
        response
    }

    async fn grpc<B: RequestBody>(
        &self,
        request: Request<B>,
        cursors: Option<&Cursors>,
    ) -> Result<Response<Body>, Failure> {
        if request.method() != Method::POST {
            return Err(Failure::GrpcMethod(request.method().clone()));
        }
        if request.version() != Version::HTTP_2 {
            return Err(Failure::GrpcVersion(request.version()));
        }
        let encoding = grpc::check_encoding(request.headers())?;
        let discovery_address = self.discovery_address(&request);
        let (parts, body) = request.into_parts();
        let method = parts.uri.path();
        let metadata = if self.inner.match_headers {
            headers(&parts.headers)
        } else {
            Headers::new()
        };
        let mut messages: Vec<Vec<u8>> = Vec::new();
        // Decide as soon as the messages received can be: a method nothing recorded at once, a recorded one when
        // as many messages have arrived as a recording of it holds. A streaming client may wait for an answer
        // before it half-closes, so waiting for the end of its stream could wait forever.
        if let Some(counts) = self.inner.plans.get(method) {
            let mut reader = MessageReader::new(body, self.inner.limits, encoding);
            let most = counts.last().copied().unwrap_or(0);
            while let Some(message) = reader.next().await? {
                messages.push(message.to_vec());
                // Bytes of another message already here: the client is still sending, so this is not the end.
                if counts.binary_search(&messages.len()).is_err() || reader.has_more() {
                    continue;
                }
                let lookup = yc_cassette::Request::Grpc {
                    method,
                    metadata: &metadata,
                    messages: &messages,
                };
                // More messages may come: a miss here is not the answer, so it is not explained.
                if messages.len() < most {
                    let index = &self.inner.index;
                    let hit = match cursors {
                        Some(cursors) => index.probe_in(&lookup, cursors),
                        None => index.probe(&lookup),
                    };
                    if let Some(hit) = hit {
                        return self.answer(&hit, None);
                    }
                    continue;
                }
                let decided = self.lookup(&lookup, cursors, None);
                return or_discovery(decided, method, &messages, discovery_address);
            }
        }
        let lookup = yc_cassette::Request::Grpc {
            method,
            metadata: &metadata,
            messages: &messages,
        };
        let decided = self.lookup(&lookup, cursors, None);
        or_discovery(decided, method, &messages, discovery_address)
    }

    /// Where a discovery answer that no cassette recorded points: the configured address, else the one the client
    /// reached. `None` for any request that is not discovery.
    fn discovery_address<B>(&self, request: &Request<B>) -> Option<String> {
        let path = request.uri().path();
        if !discovery::is_grpc(path) && !discovery::is_rest(request.method(), path) {
            return None;
        }
        self.inner
            .advertise
            .clone()
            .or_else(|| discovery::reached_address(request))
    }

    async fn rest<B: RequestBody>(
        &self,
        request: Request<B>,
        cursors: Option<&Cursors>,
    ) -> Result<Response<Body>, Failure> {
        let discovery_address = self.discovery_address(&request);
        let (parts, body) = request.into_parts();
        let body = read_body(body, self.inner.max_rest_body).await?;
        let headers = if self.inner.match_headers {
            headers(&parts.headers)
        } else {
            content_type(&parts.headers)
        };
        let lookup = yc_cassette::Request::Rest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body: &body,
        };
        match (
            self.lookup(
                &lookup,
                cursors,
                parts.headers.get(http::header::ACCEPT_ENCODING),
            ),
            discovery_address,
        ) {
            (Err(Failure::Miss(miss)), Some(address)) => {
                match discovery::answer_rest(&parts.method, parts.uri.path(), &address) {
                    Some(body) => {
                        tracing::debug!(
                            path = parts.uri.path(),
                            "replay: answered discovery that no cassette recorded"
                        );
                        Ok(json_bytes_response(StatusCode::OK, body))
                    }
                    None => Err(Failure::Miss(miss)),
                }
            }
            (decided, _) => decided,
        }
    }

    /// The answer to a request, with a session's sequence positions (`None`: the default ones); `accept` is a REST
    /// client's `accept-encoding`, for a body recorded compressed.
    fn lookup(
        &self,
        request: &yc_cassette::Request<'_>,
        cursors: Option<&Cursors>,
        accept: Option<&HeaderValue>,
    ) -> Result<Response<Body>, Failure> {
        let found = match cursors {
            Some(cursors) => self.inner.index.lookup_in(request, cursors),
            None => self.inner.index.lookup(request),
        };
        match found {
            Ok(hit) => self.answer(&hit, accept),
            Err(miss) => Err(Failure::Miss(Box::new(miss))),
        }
    }
}

impl Replayer {
    /// The answer to a hit, prepared the first time it is asked for and then cloned: the recorded one, or for a
    /// recording over the other transport its translation; in the recorded coding if the client accepts it.
    fn answer(
        &self,
        hit: &Hit<'_>,
        accept: Option<&HeaderValue>,
    ) -> Result<Response<Body>, Failure> {
        let cells = if hit.translated {
            &self.inner.translated
        } else {
            &self.inner.responses
        };
        let cell = cells
            .get(hit.cassette)
            .and_then(|cells| cells.get(hit.index))
            .ok_or(Failure::Internal(
                "the index returned an interaction that was not prepared",
            ))?;
        let schema = self.inner.index.schema();
        let prepared = cell.get_or_init(|| {
            Box::new(if hit.translated {
                translate::prepare(hit.interaction, schema)
            } else {
                Prepared::new(hit.interaction, self.inner.advertise.as_deref(), schema)
            })
        });
        match (&**prepared, hit.translated) {
            (Ok(prepared), false) => Ok(prepared.response_for(accept)),
            (Ok(prepared), true) => {
                tracing::debug!(
                    origin = hit.origin,
                    interaction = hit.index,
                    direction = translate::direction(hit.interaction),
                    "replay: answered from a recording over the other transport"
                );
                Ok(prepared.response())
            }
            (Err(message), false) => Err(Failure::Unsendable(format!(
                "cannot replay interaction {} of `{}`: {message}",
                hit.index, hit.origin
            ))),
            (Err(message), true) => Err(Failure::Unsendable(format!(
                "cannot translate interaction {} of `{}` ({}): {message}",
                hit.index,
                hit.origin,
                translate::direction(hit.interaction)
            ))),
        }
    }
}

/// A gRPC miss on endpoint discovery is answered with every service at `address`, so an SDK needs no recorded
/// discovery to find its services; every other outcome passes through.
fn or_discovery(
    decided: Result<Response<Body>, Failure>,
    method: &str,
    messages: &[Vec<u8>],
    address: Option<String>,
) -> Result<Response<Body>, Failure> {
    match (decided, address) {
        (Err(Failure::Miss(miss)), Some(address)) => {
            match discovery::answer_grpc(method, messages, &address) {
                Some(message) => {
                    tracing::debug!(
                        method,
                        "replay: answered discovery that no cassette recorded"
                    );
                    Ok(grpc::ok_response(&message))
                }
                None => Err(Failure::Miss(miss)),
            }
        }
        (decided, _) => decided,
    }
}

/// A replay answer: prepared bytes, or a reflection stream.
pub type ReplayBody = Either<Body, tonic::body::Body>;

impl Service<Request<Incoming>> for Replayer {
    type Response = Response<ReplayBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ReplayBody>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let path = request.uri().path();
        if reflection::is_reflection(path) {
            let reflection = self.inner.reflection.clone();
            return Box::pin(async move { Ok(reflection.call(request).await.map(Either::Right)) });
        }
        let replayer = self.clone();
        if control::is_control(path) {
            return Box::pin(async move { Ok(replayer.control(request).await.map(Either::Left)) });
        }
        let Some(id) = request.headers().get(&control::SESSION_HEADER) else {
            return Box::pin(async move { Ok(replayer.handle(request).await.map(Either::Left)) });
        };
        let session = String::from_utf8_lossy(id.as_bytes()).into_owned();
        Box::pin(async move {
            let response = match &*replayer.session(&session) {
                Session::Shared(cursors) => replayer.handle_in(request, Some(cursors)).await,
                Session::Own(own) => own.handle(request).await,
            };
            Ok(response.map(Either::Left))
        })
    }
}

/// Builds the `(method path -> ascending request message counts)` table: one message for every method of the schema
/// whose client sends one (recorded or not, so a miss still shows the request), and the counts of every gRPC method
/// some cassette recorded, over gRPC or, for methods with an HTTP rule, over REST (one message).
/// A method in neither (a client stream nothing recorded) is answered before its body is read.
fn plans(index: &Index) -> HashMap<String, Vec<usize>> {
    let schema = index.schema();
    let mut plans: HashMap<String, Vec<usize>> = schema
        .methods()
        .iter()
        .filter(|method| !method.client_streaming)
        .map(|method| (method.grpc_path.clone(), vec![1]))
        .collect();
    for (_, cassette) in index.cassettes() {
        for interaction in &cassette.interactions {
            let (method, count) = match interaction {
                yc_cassette::Interaction::Grpc(grpc) => {
                    (grpc.method.as_str(), grpc.request.messages.len())
                }
                yc_cassette::Interaction::Rest(rest) => {
                    match schema.route(&rest.request.method, &rest.request.path) {
                        Some(found) => (found.method.grpc_path.as_str(), 1),
                        None => continue,
                    }
                }
            };
            let counts = plans.entry(method.to_owned()).or_default();
            if let Err(at) = counts.binary_search(&count) {
                counts.insert(at, count);
            }
        }
    }
    plans
}

/// Which protocol a failed request spoke, which decides the shape of the error response.
#[derive(Clone, Copy, Debug)]
enum Transport {
    Grpc,
    Rest,
}

/// Everything that is not a hit.
#[derive(Debug)]
enum Failure {
    /// No recorded interaction matches; the index says why.
    Miss(Box<Miss>),
    Frame(FrameError),
    GrpcMethod(Method),
    GrpcVersion(Version),
    RestBodyTooLarge {
        limit: usize,
    },
    RestBody(String),
    Internal(&'static str),
    /// A hit whose answer cannot be sent (one built in memory that loading never checked) or translated.
    Unsendable(String),
}

impl From<FrameError> for Failure {
    fn from(error: FrameError) -> Failure {
        Failure::Frame(error)
    }
}

impl Failure {
    /// The one place where failures become responses.
    fn into_response(self, transport: Transport) -> Response<Body> {
        match (self, transport) {
            (Failure::Miss(miss), transport) => miss_response(&miss, transport),
            (Failure::Frame(error), _) => {
                tracing::warn!(%error, "replay: bad gRPC request");
                let mut extra = HeaderMap::new();
                if matches!(error, FrameError::UnsupportedEncoding(_)) {
                    extra.insert(
                        grpc::GRPC_ACCEPT_ENCODING,
                        HeaderValue::from_static(grpc::ACCEPTED_ENCODINGS),
                    );
                }
                grpc::trailers_only(error.to_status(), extra)
            }
            (Failure::GrpcMethod(method), _) => {
                let message = format!("yc-vcr replay: gRPC requests must use POST, not `{method}`");
                tracing::warn!("{message}");
                let mut response = Status::new(Code::Unimplemented, message).into_response();
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                response
            }
            (Failure::GrpcVersion(version), _) => {
                let message = format!(
                    "yc-vcr replay: gRPC needs HTTP/2 (prior knowledge over cleartext), not {version:?}"
                );
                tracing::warn!("{message}");
                Status::new(Code::Unimplemented, message).into_response()
            }
            (Failure::RestBodyTooLarge { limit }, _) => {
                let message =
                    format!("yc-vcr replay: request body exceeds the limit of {limit} bytes");
                tracing::warn!("{message}");
                json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Code::ResourceExhausted,
                    &message,
                )
            }
            (Failure::RestBody(error), _) => {
                let message = format!("yc-vcr replay: reading the request body failed: {error}");
                tracing::debug!("{message}");
                json_error(StatusCode::BAD_REQUEST, Code::Cancelled, &message)
            }
            (Failure::Unsendable(what), transport) => internal_error(&what, transport),
            (Failure::Internal(what), transport) => internal_error(what, transport),
        }
    }
}

/// The miss text starts with [`MISS_PREFIX`] whatever the index's own wording.
/// A fault of replay's own (not of the request): logged as an error, `INTERNAL` (REST: 500) to the client.
fn internal_error(what: &str, transport: Transport) -> Response<Body> {
    tracing::error!("yc-vcr replay: {what}");
    let message = format!("yc-vcr replay: {what}");
    match transport {
        Transport::Grpc => Status::new(Code::Internal, message).into_response(),
        Transport::Rest => json_error(StatusCode::INTERNAL_SERVER_ERROR, Code::Internal, &message),
    }
}

fn miss_text(miss: &Miss) -> String {
    let text = miss.to_string();
    match text.strip_prefix(&MISS_PREFIX["yc-vcr replay: ".len()..]) {
        Some(rest) => format!("{MISS_PREFIX}{rest}"),
        None => format!("{MISS_PREFIX}: {text}"),
    }
}

fn miss_response(miss: &Miss, transport: Transport) -> Response<Body> {
    let text = miss_text(miss);
    tracing::warn!("{text}");
    let mut response = match transport {
        Transport::Grpc => {
            let mut status = Status::new(Code::Unimplemented, text.as_str());
            status.details = Some(Bytes::from(miss_details(&text)));
            status.into_response()
        }
        Transport::Rest => json_response(
            StatusCode::NOT_IMPLEMENTED,
            &serde_json::json!({
                "code": Code::Unimplemented as i32,
                "message": text,
                "details": [error_info_json()],
                // The structured diagnostics too, for tools that read the body.
                "miss": miss.to_json(),
            }),
        ),
    };
    response
        .headers_mut()
        .insert(MISS_HEADER, HeaderValue::from_static("1"));
    response
}

/// `google.rpc.Status` with one `ErrorInfo`, encoded.
fn miss_details(text: &str) -> Vec<u8> {
    use prost::Message as _;
    use yc_proto::google::{protobuf::Any, rpc};

    let info = rpc::ErrorInfo {
        reason: MISS_REASON.into(),
        domain: MISS_DOMAIN.into(),
        ..Default::default()
    };
    let status = rpc::Status {
        code: Code::Unimplemented as i32,
        message: text.into(),
        details: vec![Any {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
            value: info.encode_to_vec(),
        }],
    };
    status.encode_to_vec()
}

fn error_info_json() -> serde_json::Value {
    serde_json::json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": MISS_REASON,
        "domain": MISS_DOMAIN,
    })
}

/// A JSON error in the shape Yandex Cloud REST APIs use: `{"code", "message", "details"}`.
fn json_error(status: StatusCode, code: Code, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "code": code as i32, "message": message, "details": [] });
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut text = serde_json::to_string_pretty(body).unwrap_or_default();
    text.push('\n');
    json_bytes_response(status, text.into_bytes())
}

fn json_bytes_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::from(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Request headers as cassette headers: lower-case names, values as text (non-UTF-8 bytes replaced).
fn headers(map: &HeaderMap) -> Headers {
    let mut headers = Headers(Vec::with_capacity(map.len()));
    for (name, value) in map {
        let value = match value.to_str() {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
        };
        // `HeaderName`s are already lower-case.
        headers.0.push((name.as_str().to_owned(), value));
    }
    headers
}

/// The headers the index needs to read a REST body: its type and its coding.
fn content_type(map: &HeaderMap) -> Headers {
    let mut headers = Headers::new();
    for name in [CONTENT_TYPE, http::header::CONTENT_ENCODING] {
        if let Some(value) = map.get(&name) {
            headers.push(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
        }
    }
    headers
}

/// Reads a REST body up to `limit` bytes.
async fn read_body<B: RequestBody>(mut body: B, limit: usize) -> Result<Vec<u8>, Failure> {
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| Failure::RestBody(error.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if collected.len().saturating_add(data.len()) > limit {
                return Err(Failure::RestBodyTooLarge { limit });
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.to_vec())
}
