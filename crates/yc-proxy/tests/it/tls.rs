//! TLS beside cleartext on one port: tonic, hyper over tokio-rustls (with and without ALPN), clients that do not
//! trust the CA, SNI names, and bytes that are neither TLS nor HTTP.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use yc_cassette::Body;
use yc_proto::compute::v1 as compute;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proto::endpoint::api_endpoint_service_client::ApiEndpointServiceClient;
use yc_proto::endpoint::{ApiEndpoint, ListApiEndpointsRequest, ListApiEndpointsResponse};
use yc_proxy::record::RecordConfig;
use yc_proxy::upstream::Upstreams;
use yc_proxy::{Ca, ReplayConfig, ReplayServer, ServerConfig, TlsConfig};

use crate::record::Recording;
use crate::upstream_fixture::Fixture;
use crate::{cassette, channel, grpc, replay_with, rest};

const GET: &str = "/yandex.cloud.compute.v1.ImageService/Get";
const REST_PATH: &str = "/compute/v1/images/fd8tls";

fn image() -> compute::Image {
    compute::Image {
        id: "fd8tls".into(),
        name: "over-tls".into(),
        ..Default::default()
    }
}

/// A CA in a temporary folder, and a TLS configuration signed by it.
struct Tls {
    dir: tempfile::TempDir,
    config: TlsConfig,
    ca_pem: String,
}

impl Tls {
    fn new() -> Tls {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::open_or_create(&dir.path().join("ca")).unwrap();
        let ca_pem = ca.cert_pem();
        let config = TlsConfig::new(ca, &[]).unwrap();
        Tls {
            dir,
            config,
            ca_pem,
        }
    }

    fn ca_path(&self) -> &Path {
        self.config.ca_path()
    }

    fn server_config(&self) -> ServerConfig {
        ServerConfig {
            tls: Some(self.config.clone()),
            ..ServerConfig::default()
        }
    }

    /// A rustls client trusting the CA, offering `alpn`.
    fn client(&self, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).unwrap())
            .unwrap();
        connector(roots, alpn)
    }
}

fn connector(roots: rustls::RootCertStore, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn replay_tls(tls: &Tls) -> ReplayServer {
    let config = ReplayConfig {
        server: tls.server_config(),
        ..ReplayConfig::default()
    };
    replay_with(
        vec![cassette(vec![
            grpc(GET)
                .request(&compute::GetImageRequest {
                    image_id: "fd8tls".into(),
                })
                .response(&image())
                .build(),
            grpc("/yandex.cloud.endpoint.ApiEndpointService/List")
                .request(&ListApiEndpointsRequest::default())
                .response(&ListApiEndpointsResponse {
                    endpoints: vec![ApiEndpoint {
                        id: "compute".into(),
                        address: "127.0.0.1:8080".into(),
                    }],
                    next_page_token: String::new(),
                })
                .build(),
            rest(
                "GET",
                REST_PATH,
                "",
                Body::Empty,
                200,
                Body::from_bytes(Some("application/json"), br#"{"id":"fd8tls"}"#),
            ),
        ])],
        config,
    )
}

/// A tonic channel over TLS trusting the CA; `domain` is the name checked (and sent as SNI), else the IP.
async fn tls_channel(
    addr: SocketAddr,
    ca_pem: &str,
    domain: Option<&str>,
) -> tonic::transport::Channel {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
    if let Some(domain) = domain {
        tls = tls.domain_name(domain);
    }
    Endpoint::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Log lines of this thread's tasks at `warn` and above, as they are written.
struct Logs {
    lines: mpsc::UnboundedReceiver<String>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct LineWriter(mpsc::UnboundedSender<String>);

impl std::io::Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures the logs of the current thread (a `#[tokio::test]` runs the servers' tasks on it).
    fn capture() -> Logs {
        let (sender, lines) = mpsc::unbounded_channel();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || LineWriter(sender.clone()))
            .finish();
        Logs {
            lines,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// The first line containing `needle`, waiting for it as long as the server may take to log it.
    async fn wait_for(&mut self, needle: &str) -> String {
        let mut seen = Vec::new();
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(line) = self.lines.recv().await {
                if line.contains(needle) {
                    return Some(line);
                }
                seen.push(line);
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!("no log line with {needle:?}; seen: {seen:#?}"),
        }
    }
}

#[tokio::test]
async fn tonic_over_tls_and_cleartext_share_the_port() {
    let tls = Tls::new();
    let server = replay_tls(&tls);
    let request = compute::GetImageRequest {
        image_id: "fd8tls".into(),
    };

    let mut over_tls =
        ImageServiceClient::new(tls_channel(server.local_addr(), &tls.ca_pem, None).await);
    let got = over_tls.get(request.clone()).await.unwrap().into_inner();
    assert_eq!(got, image());

    let mut cleartext = ImageServiceClient::new(channel(server.local_addr()).await);
    assert_eq!(cleartext.get(request).await.unwrap().into_inner(), image());

    // Discovery over TLS points at the address the client reached (its `:authority`).
    let mut discovery =
        ApiEndpointServiceClient::new(tls_channel(server.local_addr(), &tls.ca_pem, None).await);
    let list = discovery
        .list(ListApiEndpointsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.endpoints[0].address, server.local_addr().to_string());
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_resolves_a_yandex_name_to_the_proxy_gets_a_certificate_for_it() {
    let tls = Tls::new();
    let server = replay_tls(&tls);
    let name = "compute.api.cloud.yandex.net";
    let mut client =
        ImageServiceClient::new(tls_channel(server.local_addr(), &tls.ca_pem, Some(name)).await);
    let request = compute::GetImageRequest {
        image_id: "fd8tls".into(),
    };
    assert_eq!(client.get(request).await.unwrap().into_inner(), image());

    // The certificate names it (rustls checked), and the local names too.
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let stream = tls
        .client(&[b"h2"])
        .connect(ServerName::try_from(name).unwrap(), stream)
        .await
        .unwrap();
    let (_, session) = stream.get_ref();
    let leaf = &session.peer_certificates().unwrap()[0];
    let text = String::from_utf8_lossy(leaf.as_ref()).into_owned();
    for expected in [name, "localhost"] {
        assert!(text.contains(expected), "the certificate names {expected}");
    }
    server.shutdown().await;
}

/// One REST GET over TLS with `alpn` offered; returns the HTTP version the server answered in and the body.
async fn rest_over_tls(
    tls: &Tls,
    addr: SocketAddr,
    alpn: &[&[u8]],
    http2: bool,
) -> (http::Version, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let stream = tls
        .client(alpn)
        .connect(ServerName::try_from("127.0.0.1").unwrap(), stream)
        .await
        .unwrap();
    let request = Request::get(format!("https://127.0.0.1:{}{REST_PATH}", addr.port()))
        .header("host", format!("127.0.0.1:{}", addr.port()))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = if http2 {
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let mut request = request;
        request.headers_mut().remove("host");
        sender.send_request(request).await.unwrap()
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::get(REST_PATH)
            .header("host", format!("127.0.0.1:{}", addr.port()))
            .body(Empty::<Bytes>::new())
            .unwrap();
        sender.send_request(request).await.unwrap()
    };
    assert_eq!(response.status(), 200);
    let version = response.version();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (version, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn http1_and_http2_over_tls_with_and_without_alpn() {
    let tls = Tls::new();
    let server = replay_tls(&tls);
    let addr = server.local_addr();
    let cases: [(&str, &[&[u8]], bool, http::Version); 4] = [
        (
            "ALPN http/1.1 (curl)",
            &[b"http/1.1"],
            false,
            http::Version::HTTP_11,
        ),
        (
            "ALPN h2",
            &[b"h2", b"http/1.1"],
            true,
            http::Version::HTTP_2,
        ),
        ("no ALPN, HTTP/1.1", &[], false, http::Version::HTTP_11),
        (
            "no ALPN, HTTP/2 prior knowledge",
            &[],
            true,
            http::Version::HTTP_2,
        ),
    ];
    for (what, alpn, http2, version) in cases {
        let (seen, body) = rest_over_tls(&tls, addr, alpn, http2).await;
        assert_eq!(seen, version, "{what}");
        assert_eq!(body, r#"{"id":"fd8tls"}"#, "{what}");
    }
    server.shutdown().await;
}

/// `GET /endpoints` over HTTP/1.1 with `host`, over TLS with `sni` or in cleartext; the addresses answered.
async fn rest_discovery(addr: SocketAddr, host: &str, tls: Option<(&Tls, &str)>) -> Vec<String> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let request = Request::get("/endpoints")
        .header("host", host)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = match tls {
        Some((tls, sni)) => {
            let stream = tls
                .client(&[b"http/1.1"])
                .connect(ServerName::try_from(sni.to_owned()).unwrap(), stream)
                .await
                .unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            sender.send_request(request).await.unwrap()
        }
        None => {
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            sender.send_request(request).await.unwrap()
        }
    };
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn discovery_names_the_host_the_client_used_with_its_scheme_port() {
    let tls = Tls::new();
    let server = replay_tls(&tls);
    let addr = server.local_addr();
    let yandex = "compute.api.cloud.yandex.net";
    // A client that resolved the Yandex name to the proxy on port 443 sends no port: over TLS, that is 443.
    assert_eq!(
        rest_discovery(addr, yandex, Some((&tls, yandex))).await,
        [format!("{yandex}:443")]
    );
    assert_eq!(
        rest_discovery(addr, "proxy.example", None).await,
        ["proxy.example:80"]
    );
    assert_eq!(
        rest_discovery(
            addr,
            &format!("localhost:{}", addr.port()),
            Some((&tls, "localhost"))
        )
        .await,
        [format!("localhost:{}", addr.port())]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_is_told_what_to_pass() {
    let mut logs = Logs::capture();
    let tls = Tls::new();
    let server = replay_tls(&tls);
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let other = Tls::new();
    let refused = other
        .client(&[b"h2"])
        .connect(ServerName::try_from("localhost").unwrap(), stream)
        .await;
    assert!(refused.is_err(), "a certificate from another CA is refused");
    let line = logs.wait_for("client does not trust the yc-vcr CA").await;
    let ca = tls.ca_path().display().to_string();
    assert!(
        line.contains(&format!("pass `{ca}` as root certificates")),
        "{line}"
    );
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("peer=127.0.0.1:"), "{line}");
    drop(other);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_closes_after_the_certificate_is_also_told_what_to_pass() {
    // BoringSSL (grpcio, the Python SDK) sends no alert when it rejects a certificate: it just closes.
    let mut logs = Logs::capture();
    let tls = Tls::new();
    let server = replay_tls(&tls);
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let mut client =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let mut hello = Vec::new();
    client.write_tls(&mut hello).unwrap();
    stream.write_all(&hello).await.unwrap();
    let mut flight = [0u8; 512];
    assert!(
        stream.read(&mut flight).await.unwrap() > 0,
        "the server answers the hello"
    );
    drop(stream);
    let line = logs
        .wait_for("client closed the connection during the handshake")
        .await;
    let ca = tls.ca_path().display().to_string();
    assert!(
        line.contains(&format!("pass `{ca}` as root certificates")),
        "{line}"
    );
    server.shutdown().await;
}

/// Writes `bytes`, then reads until the server closes; panics if it does not within the test's patience.
async fn closed_after(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .ok();
    answer
}

#[tokio::test]
async fn bytes_that_are_neither_tls_nor_http_are_logged_and_closed() {
    let mut logs = Logs::capture();
    let tls = Tls::new();
    let mut config = tls.server_config();
    config.tls.as_mut().unwrap().handshake_timeout = Duration::from_millis(200);
    let server = replay_with(
        vec![cassette(Vec::new())],
        ReplayConfig {
            server: config,
            ..ReplayConfig::default()
        },
    );
    let addr = server.local_addr();

    assert!(
        closed_after(addr, b"\x01\x02 not a protocol")
            .await
            .is_empty()
    );
    logs.wait_for("neither TLS nor HTTP (first byte 0x01)")
        .await;

    // A handshake record header followed by garbage: rustls says what is wrong.
    closed_after(addr, b"\x16\x03\x01\x00\x05garbage and more garbage").await;
    logs.wait_for("tls: handshake failed").await;

    // The start of a handshake and then silence: the handshake timeout closes it.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"\x16\x03\x01").await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("closed after the handshake timeout")
        .ok();
    logs.wait_for("no complete handshake within").await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_tls_client_of_a_cleartext_server_is_told_in_the_log() {
    let mut logs = Logs::capture();
    let server = replay_with(vec![cassette(Vec::new())], ReplayConfig::default());
    let tls = Tls::new();
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let refused = tls
        .client(&[b"h2"])
        .connect(ServerName::try_from("localhost").unwrap(), stream)
        .await;
    assert!(refused.is_err());
    logs.wait_for("a client speaks TLS, but this server serves cleartext only")
        .await;
    server.shutdown().await;
}

#[tokio::test]
async fn record_over_tls_forwards_and_records() {
    let fixture = Fixture::start("grpc").await;
    let tls = Tls::new();
    let dir = tempfile::tempdir().unwrap();
    let mut config = RecordConfig::new(
        dir.path().join("tls.json"),
        Upstreams::single(fixture.url()),
    );
    config.server = tls.server_config();
    let recording = Recording::start_with(config, dir).await;
    let proxy = recording.addr();

    let mut client = ImageServiceClient::new(tls_channel(proxy, &tls.ca_pem, None).await);
    let image = client
        .get(compute::GetImageRequest {
            image_id: "fd8abc".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(image.id, "fd8abc");
    let mut discovery = ApiEndpointServiceClient::new(tls_channel(proxy, &tls.ca_pem, None).await);
    let list = discovery
        .list(ListApiEndpointsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(
        list.endpoints
            .iter()
            .all(|e| e.address == proxy.to_string()),
        "{list:?}"
    );

    let (summary, cassette, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 2);
    let methods: Vec<_> = cassette
        .interactions
        .iter()
        .map(|i| match i {
            yc_cassette::Interaction::Grpc(grpc) => grpc.method.clone(),
            yc_cassette::Interaction::Rest(rest) => rest.request.path.clone(),
        })
        .collect();
    assert_eq!(
        methods,
        [GET, "/yandex.cloud.endpoint.ApiEndpointService/List"]
    );
    drop(tls.dir);
}
