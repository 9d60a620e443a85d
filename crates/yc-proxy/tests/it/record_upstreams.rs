//! Where record sends calls and what a client gets when the upstream fails: the REST override, a TLS upstream
//! trusted through an extra CA (and refused without it), an unreachable upstream and one that resets mid-call.
//! None of the failures is recorded.

use bytes::Bytes;
use http::StatusCode;
use prost::Message as _;
use yc_proto::compute::v1 as compute;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proxy::upstream::Upstreams;

use crate::record::Recording;
use crate::upstream_fixture::{self, Fixture};
use crate::{channel, frame, raw_grpc, rest_call};

#[tokio::test]
async fn rest_upstream_overrides_the_upstream_for_rest_only() {
    let grpc = Fixture::start("grpc-side").await;
    let rest = Fixture::start("rest-side").await;
    let recording = Recording::start(Upstreams {
        all: Some(grpc.url()),
        rest: Some(rest.url()),
        ..Upstreams::default()
    })
    .await;
    let seen = rest_get_image(recording.addr(), "fd8abc").await;
    assert_eq!(seen.headers["x-fixture-server"], "rest-side");
    let raw = raw_grpc(
        recording.addr(),
        "POST",
        "/yandex.cloud.compute.v1.ImageService/Get",
        &[],
        &frame(
            &compute::GetImageRequest {
                image_id: "fd8abc".into(),
            }
            .encode_to_vec(),
        ),
    )
    .await;
    assert_eq!(raw.headers["x-fixture-server"], "grpc-side");
    assert_eq!((grpc.requests(), rest.requests()), (1, 1));
    recording.finish().await;
}

/// `ImageService/Get` of `image_id` through `client`: the image, or the status.
async fn get_image(
    client: &mut ImageServiceClient<tonic::transport::Channel>,
    image_id: &str,
) -> Result<compute::Image, tonic::Status> {
    client
        .get(compute::GetImageRequest {
            image_id: image_id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// REST `GET /compute/v1/images/{image_id}` over HTTP/1.1 to `addr`.
async fn rest_get_image(addr: std::net::SocketAddr, image_id: &str) -> crate::Seen {
    rest_call(
        addr,
        "GET",
        &format!("/compute/v1/images/{image_id}"),
        "",
        false,
    )
    .await
}

/// A recording to the TLS `fixture`, trusting `ca`, and a gRPC client of it.
async fn trusting(
    fixture: &Fixture,
    ca: &upstream_fixture::TestCa,
) -> (Recording, ImageServiceClient<tonic::transport::Channel>) {
    let recording = Recording::start(Upstreams {
        all: Some(fixture.url()),
        extra_ca_pem: Some(ca.ca_pem.clone().into_bytes()),
        ..Upstreams::default()
    })
    .await;
    let client = ImageServiceClient::new(channel(recording.addr()).await);
    (recording, client)
}

#[tokio::test]
async fn a_tls_upstream_is_trusted_through_the_extra_ca() {
    let ca = upstream_fixture::TestCa::new();
    let fixture = Fixture::start_tls("tls", &ca).await;
    let (recording, mut client) = trusting(&fixture, &ca).await;
    let image = get_image(&mut client, "fd8tls").await.unwrap();
    assert_eq!(image, upstream_fixture::image("fd8tls"));
    let rest = rest_get_image(recording.addr(), "fd8tls").await;
    assert_eq!(rest.status, StatusCode::OK);
    assert_eq!(rest.headers["x-fixture-server"], "tls");
    let (summary, _, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 2);

    // Without the CA, the web PKI roots do not trust the test certificate: UNAVAILABLE, naming the cause.
    let untrusting = Recording::start(Upstreams::single(fixture.url())).await;
    let mut client = ImageServiceClient::new(channel(untrusting.addr()).await);
    let error = get_image(&mut client, "fd8tls").await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable);
    assert!(
        error.message().contains(&fixture.url().to_string()),
        "{}",
        error.message()
    );
    assert!(
        error.message().to_lowercase().contains("certificate"),
        "{}",
        error.message()
    );
    assert_nothing_recorded(untrusting).await;
}

#[tokio::test]
async fn an_unreachable_upstream_is_unavailable_and_not_recorded() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let recording = Recording::start(Upstreams::single(url.parse().unwrap())).await;
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    let error = get_image(&mut client, "fd8abc").await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable);
    assert_upstream_failed(error.message(), &url, "connection refused");

    let rest = rest_get_image(recording.addr(), "fd8abc").await;
    assert_eq!(rest.status, StatusCode::BAD_GATEWAY);
    assert_upstream_failed(&rest.body, &url, "connection refused");
    assert_nothing_recorded(recording).await;
}

/// `said` (a gRPC status message, a REST body) names `url` as the upstream that failed, and `cause` (lower case).
fn assert_upstream_failed(said: &str, url: &str, cause: &str) {
    assert!(
        said.starts_with(&format!("upstream `{url}` failed: ")),
        "{said}"
    );
    assert!(said.to_lowercase().contains(cause), "{said}");
}

async fn assert_nothing_recorded(recording: Recording) {
    let (summary, cassette, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 0);
    assert!(cassette.interactions.is_empty());
}

#[tokio::test]
async fn an_upstream_reset_mid_call_is_unavailable_and_not_recorded() {
    let fixture = Fixture::start("reset").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    let mut request = tonic::Request::new(compute::GetImageRequest {
        image_id: "fd8abc".into(),
    });
    request
        .metadata_mut()
        .insert("x-fixture", "reset".parse().unwrap());
    let error = client.get(request).await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable, "{error:?}");
    assert!(
        error.message().contains(&fixture.url().to_string()),
        "{}",
        error.message()
    );

    // REST: the status line is already out, so the client sees the body cut short.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<Bytes>>();
    let request = http::Request::builder()
        .uri(format!(
            "http://{}/compute/v1/images/fd8abc",
            recording.addr()
        ))
        .header("x-fixture", "reset")
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    // Depending on timing the cut comes before or after the status line reached the client; never a whole body.
    if let Ok(response) = client.request(request).await {
        use http_body_util::BodyExt;
        assert!(
            response.into_body().collect().await.is_err(),
            "the body must not look complete"
        );
    }

    // A good call after both still works and is the only one recorded.
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    get_image(&mut client, "fd8ok").await.unwrap();
    let (summary, _, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 1);
}

/// An HTTP/2 upstream (h2, no tonic) that answers one gRPC call per connection with an `Image`, then closes the
/// connection gracefully (GOAWAY), as a server restarting or balancing its connections does. Returns its address and
/// a count of connections it accepted.
async fn one_call_per_connection() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counting = std::sync::Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(tcp).await else {
                    return;
                };
                let Some(Ok((request, mut respond))) = connection.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut body = request.into_body();
                    while let Some(Ok(data)) = body.data().await {
                        let _ = body.flow_control().release_capacity(data.len());
                    }
                    let head = http::Response::builder()
                        .header("content-type", "application/grpc")
                        .body(())
                        .unwrap();
                    let mut send = respond.send_response(head, false).unwrap();
                    let image = upstream_fixture::image("fd8again");
                    send.send_data(Bytes::from(frame(&image.encode_to_vec())), false)
                        .unwrap();
                    let mut trailers = http::HeaderMap::new();
                    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                    send.send_trailers(trailers).unwrap();
                });
                connection.graceful_shutdown();
                while let Some(Ok(_)) = connection.accept().await {}
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn calls_go_on_when_the_upstream_closes_each_connection() {
    let (addr, accepted) = one_call_per_connection().await;
    let recording =
        Recording::start(Upstreams::single(format!("http://{addr}").parse().unwrap())).await;
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    for _ in 0..3 {
        let image = get_image(&mut client, "fd8again").await.unwrap();
        assert_eq!(image.id, "fd8again");
    }
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "each call after a GOAWAY opens a new connection"
    );
    let (summary, _, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 3);
}

#[tokio::test]
async fn a_tls_upstream_without_http2_is_refused_for_grpc_naming_alpn() {
    let ca = upstream_fixture::TestCa::new();
    let fixture = Fixture::start_tls_http1_only("h1-only", &ca).await;
    let (recording, mut client) = trusting(&fixture, &ca).await;
    let error = get_image(&mut client, "fd8abc").await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable);
    assert!(
        error
            .message()
            .contains("did not agree to HTTP/2 (ALPN `h2`)"),
        "{}",
        error.message()
    );
    // REST still goes over HTTP/1.1 to the same upstream.
    let rest = rest_get_image(recording.addr(), "fd8abc").await;
    assert_eq!(rest.status, StatusCode::OK, "{}", rest.body);
    recording.finish().await;
}

/// A local upstream that accepts connections, holds them and never says a word; its port, and one message per
/// connection accepted.
async fn silent_upstream() -> (
    u16,
    tokio::sync::mpsc::UnboundedReceiver<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, accepted_rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = accepted.send(());
        }
    });
    (port, accepted_rx, task)
}

/// A recording to `url` that gives up opening a connection after 300 ms.
async fn impatient(url: &str) -> Recording {
    Recording::start(Upstreams {
        all: Some(url.parse().unwrap()),
        connect_timeout: Some(std::time::Duration::from_millis(300)),
        ..Upstreams::default()
    })
    .await
}

/// An upstream that accepts connections and never says a word: a TLS handshake it does not answer ends at the
/// connect timeout, for gRPC and for REST, each naming the upstream and the timeout, and nothing is recorded. Before,
/// REST's only limit was TCP's, so such an upstream held the call forever.
#[tokio::test]
async fn an_upstream_that_never_answers_the_tls_handshake_fails_the_call_at_the_connect_timeout() {
    let (port, mut accepted_rx, silent) = silent_upstream().await;
    let url = format!("https://127.0.0.1:{port}");
    let recording = impatient(&url).await;
    let said = "the connection was not open after 300ms";
    let bounded = std::time::Duration::from_secs(20);

    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    let call = get_image(&mut client, "fd8abc");
    let error = tokio::time::timeout(bounded, call)
        .await
        .expect("the gRPC call ended")
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable);
    assert_upstream_failed(error.message(), &url, said);
    assert_upstream_failed(error.message(), &url, "http/2 preface");

    let rest = rest_get_image(recording.addr(), "fd8abc");
    let rest = tokio::time::timeout(bounded, rest)
        .await
        .expect("the REST call ended");
    assert_eq!(rest.status, StatusCode::BAD_GATEWAY, "{}", rest.body);
    assert_upstream_failed(&rest.body, &url, said);

    // Both reached the upstream: the timeout is the handshake's, not a refused connection's.
    accepted_rx.recv().await.unwrap();
    accepted_rx.recv().await.unwrap();
    silent.abort();
    assert_nothing_recorded(recording).await;
}

/// A cleartext upstream that never answers the HTTP/2 preface fails a gRPC call at the connect timeout too. The
/// `h2` handshake ends once our own preface is written, so without the ping the client sends to see the server's,
/// the call waited for its own deadline.
#[tokio::test]
async fn a_cleartext_upstream_that_never_answers_the_http2_preface_fails_grpc_at_the_connect_timeout()
 {
    let (port, mut accepted_rx, silent) = silent_upstream().await;
    let url = format!("http://127.0.0.1:{port}");
    let recording = impatient(&url).await;
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    let call = get_image(&mut client, "fd8abc");
    let error = tokio::time::timeout(std::time::Duration::from_secs(20), call)
        .await
        .expect("the gRPC call ended")
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable);
    assert_upstream_failed(
        error.message(),
        &url,
        "the connection was not open after 300ms (tcp, tls and the http/2 preface",
    );
    accepted_rx.recv().await.unwrap();
    silent.abort();
    assert_nothing_recorded(recording).await;
}

/// The gRPC upstream connection finds a dead peer by TCP keepalive (first probe after 30 s idle), not by HTTP/2
/// pings, which gRPC servers police. Read from outside, as the kernel keeps it: in `/proc/net/tcp` the proxy's side
/// of the connection has its keepalive timer armed (`tr` 2) and due within 30 s; a socket without keepalive has
/// no timer while idle.
#[tokio::test]
async fn the_grpc_upstream_connection_has_tcp_keepalive_armed() {
    let fixture = Fixture::start("keepalive").await;
    let port = fixture.addr.port();
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    get_image(&mut client, "fd8abc").await.unwrap();
    let peers = fixture.peers();
    assert_eq!(peers.len(), 1, "one connection to the upstream: {peers:?}");
    let proxy_port = peers[0].port();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    // The established (`01`) socket from the proxy's port to the fixture's. The table is the whole machine's: a
    // socket of another test can have the fixture's port at its far end (a port is bound again once its listener
    // is gone), so the near end is matched too.
    let timers: Vec<(u32, u64)> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port_of = |field: &str| u16::from_str_radix(field.rsplit(':').next()?, 16).ok();
            let (local, remote) = (port_of(fields.get(1)?)?, port_of(fields.get(2)?)?);
            (local == proxy_port && remote == port && *fields.get(3)? == "01").then_some(())?;
            let (timer, when) = fields.get(5)?.split_once(':')?;
            Some((timer.parse().ok()?, u64::from_str_radix(when, 16).ok()?))
        })
        .collect();
    assert_eq!(timers.len(), 1, "the proxy's socket: {timers:?}");
    let (timer, when) = timers[0];
    // `tm->when` is in USER_HZ (1/100 s).
    assert!(
        timer == 2 && when > 0 && when <= 3000,
        "keepalive timer {timer}, due in {when}/100 s"
    );
    recording.finish().await;
}
