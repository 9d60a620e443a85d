//! A stand-in for Yandex Cloud on 127.0.0.1: the compute and container registry image services, the operation
//! service and endpoint discovery over gRPC (tonic), the same API over REST (hyper), and raw HTTP/2 behaviours no
//! tonic service can produce (a multi-frame stream held until the test releases it, trailers with secrets, resets).
//!
//! Every answer is fixed data, so a call made directly and a call made through the proxy can be compared byte for
//! byte. Requests can carry `x-fixture` to pick a behaviour: `reset` (the stream or connection is cut mid-body),
//! `stream:N` (on [`STREAM_PATH`]: N frames, the first at once, the rest after [`Fixture::release`]).

#![allow(dead_code)] // each test module uses a different part

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use prost::{Message as _, Name};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tonic::codegen::Service as _;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};
use yc_proto::compute::v1 as compute;
use yc_proto::containerregistry::v1 as cr;
use yc_proto::endpoint::{
    ApiEndpoint, GetApiEndpointRequest, ListApiEndpointsRequest, ListApiEndpointsResponse,
};
use yc_proto::google::protobuf::{Any, Timestamp};
use yc_proto::google::rpc;
use yc_proto::operation::{CancelOperationRequest, GetOperationRequest, Operation, operation};
use yc_proxy::upstream::UpstreamUrl;

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
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fixture {
    /// A cleartext fixture on 127.0.0.1:0.
    pub async fn start(name: &'static str) -> Fixture {
        Fixture::serve(name, None).await
    }

    /// A TLS fixture on 127.0.0.1:0 with a certificate for `localhost` and `127.0.0.1` signed by `ca`.
    pub async fn start_tls(name: &'static str, ca: &TestCa) -> Fixture {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ca.server_cert.clone()], ca.server_key.clone_key())
        .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Fixture::serve(
            name,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await
    }

    async fn serve(name: &'static str, tls: Option<tokio_rustls::TlsAcceptor>) -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            name,
            release: Notify::new(),
            requests: AtomicUsize::new(0),
        });
        let is_tls = tls.is_some();
        let services = Services::new();
        let serving = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&serving);
                let services = services.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        handle(Arc::clone(&state), services.clone(), request)
                    });
                    let mut builder = auto::Builder::new(TokioExecutor::new());
                    builder.http2().max_concurrent_streams(4096);
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
        if path == STREAM_PATH {
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

pub fn timestamp() -> Timestamp {
    Timestamp {
        seconds: 1_700_000_000,
        nanos: 0,
    }
}

pub fn image(id: &str) -> compute::Image {
    compute::Image {
        id: id.to_owned(),
        folder_id: "b1gfolder".to_owned(),
        created_at: Some(timestamp()),
        name: format!("image-{id}"),
        description: "Ubuntu 22.04 LTS".to_owned(),
        labels: BTreeMap::from([("env".to_owned(), "test".to_owned())]),
        family: "ubuntu-2204-lts".to_owned(),
        size: 3_221_225_472,
        storage_size: 1_073_741_824,
        min_disk_size: 5_368_709_120,
        product_ids: vec!["f2e-product".to_owned()],
        status: 2,
        ..compute::Image::default()
    }
}

pub fn any<M: prost::Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

pub fn not_found_details(id: &str) -> Bytes {
    let info = rpc::ErrorInfo {
        reason: "IMAGE_NOT_FOUND".to_owned(),
        domain: "compute.api.cloud.yandex.net".to_owned(),
        metadata: BTreeMap::from([("image_id".to_owned(), id.to_owned())]),
    };
    rpc::Status {
        code: Code::NotFound as i32,
        message: format!("image `{id}` not found"),
        details: vec![any(&info)],
    }
    .encode_to_vec()
    .into()
}

fn with_metadata<T>(message: T) -> tonic::Response<T> {
    let mut response = tonic::Response::new(message);
    response
        .metadata_mut()
        .insert("x-request-id", MetadataValue::from_static("req-fixture-1"));
    response.metadata_mut().insert(
        "set-cookie",
        MetadataValue::from_static(secrets::SET_COOKIE),
    );
    response
}

#[derive(Clone)]
struct Compute;

#[tonic::async_trait]
impl compute::image_service_server::ImageService for Compute {
    async fn get(
        &self,
        request: tonic::Request<compute::GetImageRequest>,
    ) -> Result<tonic::Response<compute::Image>, Status> {
        let id = request.into_inner().image_id;
        match id.as_str() {
            "fd8missing" => Err(Status::with_details(
                Code::NotFound,
                format!("image `{id}` not found"),
                not_found_details(&id),
            )),
            "fd8leak" => {
                let info = rpc::ErrorInfo {
                    reason: "TOKEN_EXPIRED".to_owned(),
                    domain: "iam".to_owned(),
                    metadata: BTreeMap::from([(
                        "token".to_owned(),
                        secrets::OAUTH_TOKEN.to_owned(),
                    )]),
                };
                let details = rpc::Status {
                    code: Code::PermissionDenied as i32,
                    message: "token expired".to_owned(),
                    details: vec![any(&info)],
                };
                Err(Status::with_details(
                    Code::PermissionDenied,
                    format!("token {} has expired", secrets::IAM_TOKEN_2),
                    details.encode_to_vec().into(),
                ))
            }
            _ => Ok(with_metadata(image(&id))),
        }
    }

    async fn get_latest_by_family(
        &self,
        _: tonic::Request<compute::GetImageLatestByFamilyRequest>,
    ) -> Result<tonic::Response<compute::Image>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn list(
        &self,
        request: tonic::Request<compute::ListImagesRequest>,
    ) -> Result<tonic::Response<compute::ListImagesResponse>, Status> {
        let folder = request.into_inner().folder_id;
        let images = (0..3)
            .map(|i| compute::Image {
                folder_id: folder.clone(),
                ..image(&format!("fd8img{i}"))
            })
            .collect();
        Ok(with_metadata(compute::ListImagesResponse {
            images,
            next_page_token: "page-2".to_owned(),
        }))
    }

    async fn create(
        &self,
        request: tonic::Request<compute::CreateImageRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        let request = request.into_inner();
        let source = match request.source {
            Some(compute::create_image_request::Source::Uri(uri)) => uri,
            _ => String::new(),
        };
        Ok(tonic::Response::new(Operation {
            id: "fd8op-create".to_owned(),
            description: format!("create image from {source}"),
            created_at: Some(timestamp()),
            created_by: "ajeuser".to_owned(),
            done: false,
            metadata: Some(any(&compute::CreateImageMetadata {
                image_id: "fd8new".to_owned(),
            })),
            ..Operation::default()
        }))
    }

    async fn update(
        &self,
        _: tonic::Request<compute::UpdateImageRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn delete(
        &self,
        _: tonic::Request<compute::DeleteImageRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn list_operations(
        &self,
        _: tonic::Request<compute::ListImageOperationsRequest>,
    ) -> Result<tonic::Response<compute::ListImageOperationsResponse>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn list_access_bindings(
        &self,
        _: tonic::Request<yc_proto::access::ListAccessBindingsRequest>,
    ) -> Result<tonic::Response<yc_proto::access::ListAccessBindingsResponse>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn set_access_bindings(
        &self,
        _: tonic::Request<yc_proto::access::SetAccessBindingsRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn update_access_bindings(
        &self,
        _: tonic::Request<yc_proto::access::UpdateAccessBindingsRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }
}

pub fn registry_image(id: &str) -> cr::Image {
    cr::Image {
        id: id.to_owned(),
        name: "crp/app".to_owned(),
        digest: "sha256:0f1e2d3c".to_owned(),
        compressed_size: 12_345,
        tags: vec!["latest".to_owned()],
        created_at: Some(timestamp()),
        ..cr::Image::default()
    }
}

#[derive(Clone)]
struct Registry;

#[tonic::async_trait]
impl cr::image_service_server::ImageService for Registry {
    async fn list(
        &self,
        _: tonic::Request<cr::ListImagesRequest>,
    ) -> Result<tonic::Response<cr::ListImagesResponse>, Status> {
        Ok(tonic::Response::new(cr::ListImagesResponse {
            images: vec![registry_image("crpimg1"), registry_image("crpimg2")],
            next_page_token: String::new(),
        }))
    }

    async fn get(
        &self,
        request: tonic::Request<cr::GetImageRequest>,
    ) -> Result<tonic::Response<cr::Image>, Status> {
        Ok(tonic::Response::new(registry_image(
            &request.into_inner().image_id,
        )))
    }

    async fn delete(
        &self,
        _: tonic::Request<cr::DeleteImageRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }
}

pub fn done_operation(id: &str) -> Operation {
    Operation {
        id: id.to_owned(),
        description: "create image".to_owned(),
        created_at: Some(timestamp()),
        created_by: "ajeuser".to_owned(),
        modified_at: Some(timestamp()),
        done: true,
        metadata: Some(any(&compute::CreateImageMetadata {
            image_id: "fd8new".to_owned(),
        })),
        result: Some(operation::Result::Response(any(&image("fd8new")))),
    }
}

#[derive(Clone)]
struct Operations;

#[tonic::async_trait]
impl yc_proto::operation::operation_service_server::OperationService for Operations {
    async fn get(
        &self,
        request: tonic::Request<GetOperationRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        let id = request.into_inner().operation_id;
        let mut op = done_operation(&id);
        if id == "op-token" {
            op.description = format!("issued {}", secrets::IAM_TOKEN_2);
        }
        Ok(tonic::Response::new(op))
    }

    async fn cancel(
        &self,
        _: tonic::Request<CancelOperationRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::failed_precondition("operation cannot be cancelled"))
    }
}

pub fn endpoints() -> Vec<ApiEndpoint> {
    [
        ("compute", "compute.api.cloud.yandex.net:443"),
        (
            "container-registry",
            "container-registry.api.cloud.yandex.net:443",
        ),
        ("operation", "operation.api.cloud.yandex.net:443"),
        ("iam", "iam.api.cloud.yandex.net:443"),
    ]
    .into_iter()
    .map(|(id, address)| ApiEndpoint {
        id: id.to_owned(),
        address: address.to_owned(),
    })
    .collect()
}

#[derive(Clone)]
struct Endpoints;

#[tonic::async_trait]
impl yc_proto::endpoint::api_endpoint_service_server::ApiEndpointService for Endpoints {
    async fn get(
        &self,
        request: tonic::Request<GetApiEndpointRequest>,
    ) -> Result<tonic::Response<ApiEndpoint>, Status> {
        let id = request.into_inner().api_endpoint_id;
        endpoints()
            .into_iter()
            .find(|e| e.id == id)
            .map(tonic::Response::new)
            .ok_or_else(|| Status::not_found(format!("endpoint `{id}` not found")))
    }

    async fn list(
        &self,
        _: tonic::Request<ListApiEndpointsRequest>,
    ) -> Result<tonic::Response<ListApiEndpointsResponse>, Status> {
        Ok(tonic::Response::new(ListApiEndpointsResponse {
            endpoints: endpoints(),
            next_page_token: String::new(),
        }))
    }
}

fn json_response(status: StatusCode, value: &Value) -> Response<FixtureBody> {
    let body = serde_json::to_vec(value).unwrap();
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-request-id", HeaderValue::from_static("req-fixture-rest"));
    headers.insert("set-cookie", HeaderValue::from_static(secrets::SET_COOKIE));
    response
}

pub fn image_json(id: &str) -> Value {
    json!({
        "id": id,
        "folderId": "b1gfolder",
        "createdAt": "2023-11-14T22:13:20Z",
        "name": format!("image-{id}"),
        "family": "ubuntu-2204-lts",
        "size": "3221225472",
        "status": "READY",
    })
}

/// The REST side: a small part of the API, enough for the recorder's tests.
async fn rest(request: Request<Incoming>) -> Response<FixtureBody> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = parts.uri.path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = parts.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["compute", "v1", "images"]) => json_response(
            StatusCode::OK,
            &json!({ "images": [image_json("fd8img0"), image_json("fd8img1")], "nextPageToken": "page-2" }),
        ),
        ("GET", ["compute", "v1", "images", "fd8missing"]) => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "code": 5, "message": "image `fd8missing` not found", "details": [] }),
        ),
        ("GET", ["compute", "v1", "images", id]) => json_response(StatusCode::OK, &image_json(id)),
        ("POST", ["compute", "v1", "images"]) => {
            let uri = body.get("uri").and_then(Value::as_str).unwrap_or_default();
            json_response(
                StatusCode::OK,
                &json!({ "id": "fd8op-create", "description": format!("create image from {uri}"), "done": false }),
            )
        }
        ("POST", ["iam", "v1", "tokens"]) => json_response(
            StatusCode::OK,
            &json!({ "iamToken": secrets::IAM_TOKEN_2, "expiresAt": "2026-01-01T00:00:00Z" }),
        ),
        ("POST", ["iam", "v1", "echo"]) => {
            json_response(StatusCode::OK, &json!({ "received": body }))
        }
        ("GET", ["endpoints"]) => {
            let list: Vec<Value> = endpoints()
                .iter()
                .map(|e| json!({ "id": e.id, "address": e.address }))
                .collect();
            json_response(StatusCode::OK, &json!({ "endpoints": list }))
        }
        ("GET", ["endpoints", id]) => match endpoints().into_iter().find(|e| e.id == *id) {
            Some(e) => json_response(StatusCode::OK, &json!({ "id": e.id, "address": e.address })),
            None => json_response(
                StatusCode::NOT_FOUND,
                &json!({ "code": 5, "message": "not found" }),
            ),
        },
        ("GET", ["operations", id]) => json_response(
            StatusCode::OK,
            &json!({ "id": id, "done": true, "description": "create image" }),
        ),
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "code": 5, "message": format!("no route for `{method} {path}`") }),
        ),
    }
}
