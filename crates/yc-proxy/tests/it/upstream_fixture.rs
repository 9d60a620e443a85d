//! A stand-in for Yandex Cloud on 127.0.0.1: the compute and container registry image services, the operation
//! service and endpoint discovery over gRPC (tonic), the same API over REST (hyper), and raw HTTP/2 behaviours no
//! tonic service can produce (a multi-frame stream held until the test releases it, trailers with secrets, resets).
//!
//! Every answer is fixed data, so a call made directly and a call made through the proxy can be compared byte for
//! byte. Requests can carry `x-fixture` to pick a behaviour: `reset` (the stream or connection is cut mid-body),
//! `stream:N` (on [`STREAM_PATH`]: N frames, the first at once, the rest after [`Fixture::release`]), `echo` (on
//! [`STREAM_PATH`]: each request frame sent back as it arrives, then `grpc-status: 0` when the request ends).

#![allow(dead_code)] // each test module uses a different part

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use prost::Message as _;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tonic::Status;
use tonic::codegen::Service as _;
use yc_proto::compute::v1 as compute;
use yc_proto::containerregistry::v1 as cr;
use yc_proto::operation::Operation;
use yc_proxy::upstream::UpstreamUrl;

use services::{Compute, Endpoints, Operations, Registry, rest};
pub use services::{image, not_found_details};

mod services;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type FixtureBody = UnsyncBoxBody<Bytes, BoxError>;

/// A gRPC method only the fixture has: a server stream of raw frames.
pub const STREAM_PATH: &str = "/yc.test.StreamService/Watch";

/// Secret shapes the fixture and the tests put on the wire. None of them may reach a cassette file.
pub mod secrets {
    pub const IAM_TOKEN: &str = "t1.9euelZqKj5yOnJ6Wx5KRk8_Pz4yTnu3rnpWamMeSkJ2NmsIAMSECRET1.wSpJ7R4z_zCGBE3X5eoKgAIOQ0dAlgs6bqqIlnkWKERgA6WTqOz1GRpjW7qEGyM8uOgHRXXrKr4k4LSRy3JnCw";
    pub const IAM_TOKEN_2: &str = "t1.9euelZrNzc3NzcnNzM3NzYyTnu3rnpWamMeSkJ2NmsRESPONSESECRET2.Xk2pQ9vL0mN8rT5yW1zA3bC7dE6fG4hJ2kL9nM0oP5qR8sT1uV6wX3yZ";
    pub const TRAILER_TOKEN: &str =
        "t1.9euelZqTRAILERSECRETzcnNzM3NzYyTnu3rnpWamMeS.aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7";
    pub const OAUTH_TOKEN: &str = "y0_AgAAAAAAbCdEfGhIjKlMnOpQrStUvWxYzOAUTHSECRET0123";
    pub const API_KEY: &str = "AQVNzYxWvUtSrQpOnMlKjIhGfEdCbAPIKEYSECRET9876";
    pub const STATIC_KEY_ID: &str = "YCAJEstaticKEYIDsecret42x";
    pub const STATIC_SECRET_KEY: &str = "YCMstaticSECRETkey0123456789abcdefghijkl";
    pub const SIGNATURE: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
    pub const SESSION_COOKIE: &str = "yc_session=SESSIONCOOKIESECRET4242";
    pub const SET_COOKIE: &str = "Session_id=SETCOOKIESECRET987654; Path=/; HttpOnly";
    pub const JSON_SECRET: &str = "MY-JSON-SECRET-VALUE-4711";
    pub const PASSWORD: &str = "hunter2-PASSWORD-SECRET";
    pub const SUBJECT_TOKEN: &str = "SUBJECTTOKENSECRET-31337";

    /// A pre-signed Object Storage URL, as `CreateImageRequest.uri` carries it.
    pub fn signed_url() -> String {
        format!(
            "https://storage.yandexcloud.net/bucket/image.qcow2?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential={STATIC_KEY_ID}%2F20260101%2Fru-central1%2Fs3%2Faws4_request\
             &X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={SIGNATURE}"
        )
    }

    /// A distinctive part of every secret above: none may appear in a cassette file.
    pub const MARKERS: &[&str] = &[
        "IAMSECRET1",
        "RESPONSESECRET2",
        "TRAILERSECRET",
        "OAUTHSECRET",
        "APIKEYSECRET",
        "staticKEYIDsecret",
        "staticSECRETkey",
        SIGNATURE,
        "SESSIONCOOKIESECRET",
        "SETCOOKIESECRET",
        "MY-JSON-SECRET",
        "PASSWORD-SECRET",
        "SUBJECTTOKENSECRET",
    ];
}

/// A running fixture: one port serving gRPC (h2c or TLS h2) and REST (HTTP/1.1, or TLS with ALPN).
pub struct Fixture {
    pub addr: SocketAddr,
    pub tls: bool,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

struct State {
    /// Named in the `x-fixture-server` header of every answer, so a test can tell two fixtures apart.
    name: &'static str,
    release: Notify,
    requests: AtomicUsize,
    connections: AtomicUsize,
    /// The address each accepted connection came from, in order.
    peers: std::sync::Mutex<Vec<SocketAddr>>,
    /// The HTTP version of each REST request, in order.
    rest_versions: std::sync::Mutex<Vec<http::Version>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fixture {
    /// A cleartext fixture on 127.0.0.1:0.
    pub async fn start(name: &'static str) -> Fixture {
        Fixture::serve(name, None, false).await
    }

    /// A cleartext fixture that speaks HTTP/1.1 only (no gRPC, then).
    pub async fn start_http1_only(name: &'static str) -> Fixture {
        Fixture::serve(name, None, true).await
    }

    /// A TLS fixture on 127.0.0.1:0 with a certificate for `localhost` and `127.0.0.1` signed by `ca`.
    pub async fn start_tls(name: &'static str, ca: &TestCa) -> Fixture {
        Fixture::tls(name, ca, &[b"h2", b"http/1.1"]).await
    }

    /// A TLS fixture that offers only HTTP/1.1 in ALPN.
    pub async fn start_tls_http1_only(name: &'static str, ca: &TestCa) -> Fixture {
        Fixture::tls(name, ca, &[b"http/1.1"]).await
    }

    async fn tls(name: &'static str, ca: &TestCa, alpn: &[&[u8]]) -> Fixture {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ca.server_cert.clone()], ca.server_key.clone_key())
        .unwrap();
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Fixture::serve(
            name,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
            false,
        )
        .await
    }

    async fn serve(
        name: &'static str,
        tls: Option<tokio_rustls::TlsAcceptor>,
        http1_only: bool,
    ) -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            name,
            release: Notify::new(),
            requests: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            peers: std::sync::Mutex::new(Vec::new()),
            rest_versions: std::sync::Mutex::new(Vec::new()),
        });
        let is_tls = tls.is_some();
        let services = Services::new();
        let serving = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                serving.peers.lock().unwrap().push(peer);
                serving.connections.fetch_add(1, Ordering::SeqCst);
                let state = Arc::clone(&serving);
                let services = services.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        handle(Arc::clone(&state), services.clone(), request)
                    });
                    let mut builder = auto::Builder::new(TokioExecutor::new());
                    builder.http2().max_concurrent_streams(4096);
                    if http1_only {
                        builder = builder.http1_only();
                    }
                    let _ = match tls {
                        None => {
                            builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await
                        }
                        Some(tls) => {
                            let Ok(stream) = tls.accept(stream).await else {
                                return;
                            };
                            builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await
                        }
                    };
                });
            }
        });
        Fixture {
            addr,
            tls: is_tls,
            state,
            task,
        }
    }

    /// The fixture as an upstream URL (`https://localhost:PORT` for TLS, so the name matches the certificate).
    pub fn url(&self) -> UpstreamUrl {
        let url = if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        };
        url.parse().unwrap()
    }

    /// Lets one held stream send the rest of its frames.
    pub fn release(&self) {
        self.state.release.notify_one();
    }

    /// Requests seen so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Where each connection accepted so far came from, in order.
    pub fn peers(&self) -> Vec<SocketAddr> {
        self.state.peers.lock().unwrap().clone()
    }

    /// The HTTP version of each REST request seen so far, in order.
    pub fn rest_versions(&self) -> Vec<http::Version> {
        self.state.rest_versions.lock().unwrap().clone()
    }
}

/// A CA made for one test run, and a server certificate it signed.
pub struct TestCa {
    pub ca_pem: String,
    pub server_cert: rustls::pki_types::CertificateDer<'static>,
    pub server_key: rustls::pki_types::PrivateKeyDer<'static>,
}

impl TestCa {
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "yc-vcr test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        server
            .subject_alt_names
            .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
        let server_key = KeyPair::generate().unwrap();
        let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();
        TestCa {
            ca_pem: ca_cert.pem(),
            server_cert: server_cert.der().clone(),
            server_key: rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        }
    }
}

#[derive(Clone)]
struct Services {
    compute: compute::image_service_server::ImageServiceServer<Compute>,
    registry: cr::image_service_server::ImageServiceServer<Registry>,
    operations: yc_proto::operation::operation_service_server::OperationServiceServer<Operations>,
    endpoints: yc_proto::endpoint::api_endpoint_service_server::ApiEndpointServiceServer<Endpoints>,
}

impl Services {
    fn new() -> Services {
        Services {
            compute: compute::image_service_server::ImageServiceServer::new(Compute),
            registry: cr::image_service_server::ImageServiceServer::new(Registry),
            operations: yc_proto::operation::operation_service_server::OperationServiceServer::new(
                Operations,
            ),
            endpoints:
                yc_proto::endpoint::api_endpoint_service_server::ApiEndpointServiceServer::new(
                    Endpoints,
                ),
        }
    }
}

async fn handle(
    state: Arc<State>,
    services: Services,
    request: Request<Incoming>,
) -> Result<Response<FixtureBody>, Infallible> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let behaviour = request
        .headers()
        .get("x-fixture")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let grpc = request
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let mut response = if behaviour == "reset" {
        reset(grpc)
    } else if grpc {
        let path = request.uri().path().to_owned();
        if path == STREAM_PATH && behaviour == "echo" {
            echo(request)
        } else if path == STREAM_PATH {
            stream(&state, &behaviour, request).await
        } else if path.starts_with("/yandex.cloud.compute.v1.ImageService/") {
            boxed(services.compute.clone().call(request).await)
        } else if path.starts_with("/yandex.cloud.containerregistry.v1.ImageService/") {
            boxed(services.registry.clone().call(request).await)
        } else if path.starts_with("/yandex.cloud.operation.OperationService/") {
            boxed(services.operations.clone().call(request).await)
        } else if path.starts_with("/yandex.cloud.endpoint.ApiEndpointService/") {
            boxed(services.endpoints.clone().call(request).await)
        } else {
            boxed(Ok(Status::unimplemented(format!(
                "no service for `{path}`"
            ))
            .into_http()))
        }
    } else {
        state.rest_versions.lock().unwrap().push(request.version());
        rest(request).await
    };
    response
        .headers_mut()
        .insert("x-fixture-server", HeaderValue::from_static(state.name));
    Ok(response)
}

fn boxed(response: Result<Response<tonic::body::Body>, Infallible>) -> Response<FixtureBody> {
    match response {
        Ok(response) => response.map(|body| {
            body.map_err(|status| Box::new(status) as BoxError)
                .boxed_unsync()
        }),
        Err(never) => match never {},
    }
}

/// A body fed from a channel, so a handler can send frames over time.
struct ChannelBody(mpsc::Receiver<Result<Frame<Bytes>, BoxError>>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.0.poll_recv(cx)
    }
}

fn channel_response(
    headers: &[(&'static str, &'static str)],
) -> (
    Response<FixtureBody>,
    mpsc::Sender<Result<Frame<Bytes>, BoxError>>,
) {
    let (tx, rx) = mpsc::channel(16);
    let mut response = Response::new(ChannelBody(rx).boxed_unsync());
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(*name, HeaderValue::from_static(value));
    }
    (response, tx)
}

pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    yc_proxy::grpc::encode_frame(message, &mut out);
    out.freeze()
}

/// Headers, part of a body, then the stream (HTTP/2) or connection (HTTP/1.1) is cut.
fn reset(grpc: bool) -> Response<FixtureBody> {
    let (response, tx) = if grpc {
        channel_response(&[("content-type", "application/grpc")])
    } else {
        channel_response(&[
            ("content-type", "application/json"),
            ("content-length", "1000"),
        ])
    };
    tokio::spawn(async move {
        let _ = tx
            .send(Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\x10partial"))))
            .await;
        let _ = tx.send(Err("fixture reset".into())).await;
    });
    response
}

/// `echo`: the answer's head at once, then each data frame of the request as it arrives, then the status: a
/// bidirectional stream, which only works through a proxy that passes both directions on while they are open.
fn echo(request: Request<Incoming>) -> Response<FixtureBody> {
    let (response, tx) = channel_response(&[("content-type", "application/grpc")]);
    let mut body = request.into_body();
    tokio::spawn(async move {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data()
                && tx.send(Ok(Frame::data(data))).await.is_err()
            {
                return;
            }
        }
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let _ = tx.send(Ok(Frame::trailers(trailers))).await;
    });
    response
}

/// `stream:N`: N frames of `Operation`s, the first at once and the rest after a release; trailers carry a secret.
async fn stream(
    state: &Arc<State>,
    behaviour: &str,
    request: Request<Incoming>,
) -> Response<FixtureBody> {
    let count: u32 = behaviour
        .strip_prefix("stream:")
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let _ = request.into_body().collect().await;
    let (response, tx) =
        channel_response(&[("content-type", "application/grpc"), ("x-stream", "watch")]);
    let state = Arc::clone(state);
    tokio::spawn(async move {
        for i in 0..count {
            if i == 1 {
                state.release.notified().await;
            }
            let op = Operation {
                id: format!("op-{i}"),
                description: format!("step {i}"),
                done: i + 1 == count,
                ..Operation::default()
            };
            if tx
                .send(Ok(Frame::data(frame(&op.encode_to_vec()))))
                .await
                .is_err()
            {
                return;
            }
        }
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert(
            "x-trailer-token",
            HeaderValue::from_static(secrets::TRAILER_TOKEN),
        );
        trailers.insert("x-checksum", HeaderValue::from_static("abc123"));
        let _ = tx.send(Ok(Frame::trailers(trailers))).await;
    });
    response
}
