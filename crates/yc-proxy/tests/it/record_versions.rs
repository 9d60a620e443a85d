//! The HTTP version of the upstream leg: gRPC is HTTP/2; REST is the version the client spoke, and HTTP/1.1 where
//! the upstream has no HTTP/2 (TLS agreed on none, or a cleartext server that speaks only HTTP/1.1).

use http::{StatusCode, Version};
use yc_proto::compute::v1 as compute;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proxy::upstream::Upstreams;

use crate::record::Recording;
use crate::upstream_fixture::{self, Fixture};
use crate::{channel, rest_call};

/// Sends `GET /compute/v1/images/fd8ver` through the recording, in HTTP/2 or HTTP/1.1, and checks it succeeded.
async fn rest_get(recording: &Recording, http2: bool) {
    let seen = rest_call(
        recording.addr(),
        "GET",
        "/compute/v1/images/fd8ver",
        "",
        http2,
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert!(seen.body.contains("fd8ver"), "{}", seen.body);
}

/// `ImageService/Get` of `fd8ver` over gRPC.
async fn grpc_get(
    client: &mut ImageServiceClient<tonic::transport::Channel>,
) -> Result<compute::Image, tonic::Status> {
    let request = compute::GetImageRequest {
        image_id: "fd8ver".into(),
    };
    client.get(request).await.map(tonic::Response::into_inner)
}

const H1: Version = Version::HTTP_11;
const H2: Version = Version::HTTP_2;

#[tokio::test]
async fn rest_goes_upstream_in_the_http_version_the_client_spoke() {
    let fixture = Fixture::start("versions").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    for http2 in [false, true, true, false] {
        rest_get(&recording, http2).await;
    }
    assert_eq!(fixture.rest_versions(), [H1, H2, H2, H1]);
    let (summary, cassette, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 4);
    // The version is not part of what is recorded: both give the same answer in the cassette (header order is the
    // server's, which writes `date` in a different place per version).
    let responses: Vec<_> = cassette
        .interactions
        .iter()
        .map(|interaction| match interaction {
            yc_cassette::Interaction::Rest(rest) => {
                let mut names: Vec<_> = rest
                    .response
                    .headers
                    .0
                    .iter()
                    .map(|(name, _)| name)
                    .collect();
                names.sort();
                let body = serde_json::to_string(&rest.response.body).unwrap();
                format!("{} {names:?} {body}", rest.response.status)
            }
            other => panic!("not REST: {other:?}"),
        })
        .collect();
    assert!(
        responses.windows(2).all(|pair| pair[0] == pair[1]),
        "{responses:#?}"
    );
}

#[tokio::test]
async fn rest_over_http2_to_a_tls_upstream_uses_h2_where_alpn_agrees_and_http1_where_it_does_not() {
    let ca = upstream_fixture::TestCa::new();
    for (fixture, expected) in [
        (Fixture::start_tls("h2", &ca).await, H2),
        (Fixture::start_tls_http1_only("h1-only", &ca).await, H1),
    ] {
        let recording = Recording::start(Upstreams {
            all: Some(fixture.url()),
            extra_ca_pem: Some(ca.ca_pem.clone().into_bytes()),
            ..Upstreams::default()
        })
        .await;
        // The second call finds the refusal remembered and goes over HTTP/1.1 at once.
        rest_get(&recording, true).await;
        rest_get(&recording, true).await;
        assert_eq!(fixture.rest_versions(), [expected, expected]);
        let (summary, _, _, _dir) = recording.finish().await;
        assert_eq!(summary.recorded, 2);
    }
}

#[tokio::test]
async fn rest_from_an_http2_client_goes_over_http1_to_a_cleartext_upstream_without_http2() {
    let fixture = Fixture::start_http1_only("h1-only").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    for http2 in [true, true, false] {
        rest_get(&recording, http2).await;
    }
    assert_eq!(fixture.rest_versions(), [H1, H1, H1]);
    // gRPC cannot fall back: it fails, naming the handshake.
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    let error = grpc_get(&mut client).await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unavailable);
    assert!(
        error.message().contains("HTTP/2 handshake failed"),
        "{}",
        error.message()
    );
    let (summary, _, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 3);
}

#[tokio::test]
async fn rest_from_http2_clients_shares_the_upstream_connection_with_grpc() {
    let fixture = Fixture::start("shared").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    for _ in 0..2 {
        grpc_get(&mut client).await.unwrap();
        rest_get(&recording, true).await;
        rest_get(&recording, true).await;
    }
    assert_eq!(fixture.rest_versions(), [H2; 4]);
    assert_eq!(
        fixture.connections(),
        1,
        "gRPC and REST over one connection"
    );
    // An HTTP/1.1 client's REST call takes a connection of its own.
    rest_get(&recording, false).await;
    assert_eq!(fixture.connections(), 2);
    let (summary, _, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 7);
}
