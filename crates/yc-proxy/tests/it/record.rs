//! Recording through the proxy against the local fixture: what the client sees equals what the upstream sent,
//! the cassette holds each completed call, and replaying it gives the client the same bytes again.

use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use prost::Message as _;
use tempfile::TempDir;
use tonic::transport::Channel;
use yc_cassette::{Cassette, Interaction};
use yc_proto::compute::v1 as compute;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proto::containerregistry::v1 as cr;
use yc_proto::endpoint::{
    ApiEndpoint, GetApiEndpointRequest, ListApiEndpointsRequest, ListApiEndpointsResponse,
};
use yc_proto::operation::{CancelOperationRequest, GetOperationRequest};
use yc_proxy::ReplayServer;
use yc_proxy::record::{Mode, RecordConfig, RecordServer, Summary};
use yc_proxy::upstream::Upstreams;

use crate::upstream_fixture::{self, Fixture};
use crate::{RawSeen, channel, frame, raw_grpc, rest_call};

/// A record server writing into a temporary directory.
pub struct Recording {
    pub server: RecordServer,
    pub path: PathBuf,
    pub dir: TempDir,
}

impl Recording {
    pub async fn start(upstreams: Upstreams) -> Recording {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recorded.json");
        Recording::start_with(RecordConfig::new(&path, upstreams), dir).await
    }

    pub async fn start_with(config: RecordConfig, dir: TempDir) -> Recording {
        let path = config.cassette_path.clone();
        let server = RecordServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
            .await
            .unwrap();
        Recording { server, path, dir }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Shuts down and returns the summary, the cassette as loaded from disk, and the file text. A recording that
    /// captured nothing leaves no file: its cassette is empty and its text too.
    pub async fn finish(self) -> (Summary, Cassette, String, TempDir) {
        let summary = self.server.shutdown().await.unwrap();
        assert!(
            !yc_cassette::journal_path(&self.path).exists(),
            "a clean stop leaves no journal"
        );
        assert!(!yc_cassette::lock_path(&self.path).exists(), "nor a lock");
        assert_eq!(summary.wrote_file, self.path.exists());
        if !summary.wrote_file {
            assert_eq!(summary.recorded, 0, "no file, nothing recorded");
            return (
                summary,
                Cassette::new(Default::default()),
                String::new(),
                self.dir,
            );
        }
        let text = std::fs::read_to_string(&self.path).unwrap();
        let cassette = Cassette::load(&self.path, &yc_proto::Schema::embedded()).unwrap();
        (summary, cassette, text, self.dir)
    }
}

/// A replay server over a recorded cassette.
pub fn replay(cassette: Cassette) -> ReplayServer {
    crate::replay(vec![cassette])
}

/// `ImageService/Get` for every id at once over `channel`, each answer checked against the fixture's image.
pub async fn get_images_at_once(channel: &Channel, ids: impl Iterator<Item = String>) {
    let mut calls = tokio::task::JoinSet::new();
    for id in ids {
        let mut client = ImageServiceClient::new(channel.clone());
        calls.spawn(async move {
            let image = client
                .get(compute::GetImageRequest {
                    image_id: id.clone(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(image, upstream_fixture::image(&id));
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
}

/// The headers a client compares: everything but `date`, which each server stamps anew.
fn comparable(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn assert_same(what: &str, expected: &RawSeen, actual: &RawSeen) {
    assert_eq!(actual.status, expected.status, "{what}: HTTP status");
    assert_eq!(
        comparable(&actual.headers),
        comparable(&expected.headers),
        "{what}: headers"
    );
    assert_eq!(actual.body, expected.body, "{what}: body bytes");
    assert_eq!(
        actual.trailers.as_ref().map(comparable),
        expected.trailers.as_ref().map(comparable),
        "{what}: trailers"
    );
}

/// Unary gRPC calls the fixture answers: OK, OK with a list, errors with details, trailers-only errors.
fn grpc_calls() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        (
            "compute Get",
            "/yandex.cloud.compute.v1.ImageService/Get",
            compute::GetImageRequest {
                image_id: "fd8abc".into(),
            }
            .encode_to_vec(),
        ),
        (
            "compute List",
            "/yandex.cloud.compute.v1.ImageService/List",
            compute::ListImagesRequest {
                folder_id: "b1gfolder".into(),
                page_size: 3,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "compute Get not found (details)",
            "/yandex.cloud.compute.v1.ImageService/Get",
            compute::GetImageRequest {
                image_id: "fd8missing".into(),
            }
            .encode_to_vec(),
        ),
        (
            "registry Get",
            "/yandex.cloud.containerregistry.v1.ImageService/Get",
            cr::GetImageRequest {
                image_id: "crpimg1".into(),
            }
            .encode_to_vec(),
        ),
        (
            "registry List",
            "/yandex.cloud.containerregistry.v1.ImageService/List",
            cr::ListImagesRequest {
                registry_id: "crpreg".into(),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "operation Get",
            "/yandex.cloud.operation.OperationService/Get",
            GetOperationRequest {
                operation_id: "fd8op1".into(),
            }
            .encode_to_vec(),
        ),
        (
            "operation Cancel (trailers-only error)",
            "/yandex.cloud.operation.OperationService/Cancel",
            CancelOperationRequest {
                operation_id: "fd8op1".into(),
            }
            .encode_to_vec(),
        ),
        (
            "unimplemented",
            "/yandex.cloud.compute.v1.ImageService/Delete",
            compute::DeleteImageRequest {
                image_id: "fd8abc".into(),
            }
            .encode_to_vec(),
        ),
    ]
}

#[tokio::test]
async fn grpc_calls_pass_through_unchanged_and_replay_byte_for_byte() {
    let fixture = Fixture::start("grpc").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let mut seen = Vec::new();
    for (what, path, request) in grpc_calls() {
        let direct = raw_grpc(fixture.addr, "POST", path, &[], &frame(&request)).await;
        let proxied = raw_grpc(recording.addr(), "POST", path, &[], &frame(&request)).await;
        assert_same(what, &direct, &proxied);
        seen.push(proxied);
    }
    // The not-found answer carries its details through.
    let details = seen[2]
        .grpc_status()
        .details
        .expect("grpc-status-details-bin");
    assert_eq!(details, upstream_fixture::not_found_details("fd8missing"));

    let (summary, cassette, _, _dir) = recording.finish().await;
    assert_eq!(
        summary,
        Summary {
            interactions: 8,
            recorded: 8,
            wrote_file: true,
        }
    );
    let methods: Vec<&str> = cassette
        .interactions
        .iter()
        .map(|i| match i {
            Interaction::Grpc(g) => g.method.as_str(),
            Interaction::Rest(_) => "rest",
        })
        .collect();
    let expected: Vec<&str> = grpc_calls().iter().map(|(_, path, _)| *path).collect();
    assert_eq!(methods, expected, "completion order is call order here");

    let replay = replay(cassette);
    for ((what, path, request), recorded) in grpc_calls().into_iter().zip(&seen) {
        let replayed = raw_grpc(replay.local_addr(), "POST", path, &[], &frame(&request)).await;
        assert_eq!(
            replayed.status, recorded.status,
            "{what}: replayed HTTP status"
        );
        assert_eq!(replayed.body, recorded.body, "{what}: replayed body bytes");
        assert_eq!(
            replayed.grpc_status(),
            recorded.grpc_status(),
            "{what}: replayed status"
        );
        for name in ["content-type", "x-request-id", "grpc-accept-encoding"] {
            assert_eq!(
                replayed.headers.get(name),
                recorded.headers.get(name),
                "{what}: replayed `{name}`"
            );
        }
    }
    replay.shutdown().await;
}

#[tokio::test]
async fn tonic_clients_record_through_the_proxy() {
    let fixture = Fixture::start("grpc").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    let mut request = tonic::Request::new(compute::GetImageRequest {
        image_id: "fd8abc".into(),
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", upstream_fixture::secrets::IAM_TOKEN)
            .parse()
            .unwrap(),
    );
    let response = client.get(request).await.unwrap();
    assert_eq!(
        response.metadata().get("x-request-id").unwrap(),
        "req-fixture-1"
    );
    assert_eq!(response.into_inner(), upstream_fixture::image("fd8abc"));

    let error = client
        .get(compute::GetImageRequest {
            image_id: "fd8missing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound);
    assert_eq!(error.message(), "image `fd8missing` not found");
    assert_eq!(
        error.details(),
        upstream_fixture::not_found_details("fd8missing").as_ref()
    );

    let (summary, cassette, text, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 2);
    let Interaction::Grpc(get) = &cassette.interactions[0] else {
        panic!("a gRPC interaction")
    };
    assert_eq!(
        get.request.messages[0].json.as_ref().unwrap()["image_id"],
        "fd8abc"
    );
    assert_eq!(
        get.response.messages[0].json.as_ref().unwrap()["name"],
        "image-fd8abc"
    );
    assert!(
        get.request
            .metadata
            .get("authorization")
            .unwrap()
            .starts_with("Bearer <redacted:")
    );
    let Interaction::Grpc(missing) = &cassette.interactions[1] else {
        panic!("a gRPC interaction")
    };
    assert_eq!(missing.response.status.code, 5);
    assert_eq!(
        missing.response.status.details[0]["reason"],
        "IMAGE_NOT_FOUND"
    );
    assert!(!text.contains("IAMSECRET1"));
}

#[tokio::test]
async fn discovery_answers_point_at_the_proxy_and_replay_that_way() {
    let fixture = Fixture::start("grpc").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let proxy = recording.addr().to_string();
    let mut client = yc_proto::endpoint::api_endpoint_service_client::ApiEndpointServiceClient::new(
        channel(recording.addr()).await,
    );
    let list = client
        .list(ListApiEndpointsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.endpoints.len(), 4);
    assert!(
        list.endpoints.iter().all(|e| e.address == proxy),
        "{list:?}"
    );
    let one = client
        .get(GetApiEndpointRequest {
            api_endpoint_id: "compute".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        one,
        ApiEndpoint {
            id: "compute".into(),
            address: proxy.clone()
        }
    );

    let rest = rest_call(recording.addr(), "GET", "/endpoints", "", false).await;
    assert_eq!(rest.status, StatusCode::OK);
    let value: serde_json::Value = serde_json::from_str(&rest.body).unwrap();
    assert!(
        value["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["address"] == proxy.as_str())
    );
    assert_eq!(
        rest.headers["content-length"],
        rest.body.len().to_string().as_str()
    );
    let rest_one = rest_call(recording.addr(), "GET", "/endpoints/iam", "", false).await;
    assert_eq!(
        rest_one.body,
        format!(r#"{{"id":"iam","address":"{proxy}"}}"#)
    );

    let (summary, cassette, text, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 4);
    assert!(
        !text.contains("compute.api.cloud.yandex.net"),
        "the cassette stores the rewritten answers"
    );

    let replay = replay(cassette);
    let mut client = yc_proto::endpoint::api_endpoint_service_client::ApiEndpointServiceClient::new(
        channel(replay.local_addr()).await,
    );
    let replayed: ListApiEndpointsResponse = client
        .list(ListApiEndpointsRequest::default())
        .await
        .unwrap()
        .into_inner();
    // Replay points discovery at itself, wherever it listens; all else is as recorded.
    let own = replay.local_addr().to_string();
    assert_eq!(
        replayed,
        ListApiEndpointsResponse {
            endpoints: list
                .endpoints
                .iter()
                .map(|e| ApiEndpoint {
                    address: own.clone(),
                    ..e.clone()
                })
                .collect(),
            ..list.clone()
        }
    );
    let replayed_rest = rest_call(replay.local_addr(), "GET", "/endpoints", "", false).await;
    assert_eq!(replayed_rest.body, rest.body.replace(proxy.as_str(), &own));
    replay.shutdown().await;
}

fn rest_calls() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("GET", "/compute/v1/images/fd8abc", ""),
        (
            "GET",
            "/compute/v1/images?folderId=b1gfolder&pageSize=2",
            "",
        ),
        ("GET", "/compute/v1/images/fd8missing", ""),
        (
            "POST",
            "/compute/v1/images",
            r#"{"folderId":"b1gfolder","name":"new","imageId":"fd8abc"}"#,
        ),
        ("GET", "/operations/fd8op1", ""),
        ("GET", "/container-registry/v1/nothing", ""),
    ]
}

#[tokio::test]
async fn rest_calls_pass_through_unchanged_and_replay_byte_for_byte() {
    let fixture = Fixture::start("rest").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let mut seen = Vec::new();
    for (i, (method, path, body)) in rest_calls().into_iter().enumerate() {
        let what = format!("{method} {path}");
        let direct = rest_call(fixture.addr, method, path, body, false).await;
        // HTTP/1.1 and HTTP/2 clients both work; the upstream leg is in the version the client spoke.
        let proxied = rest_call(recording.addr(), method, path, body, i % 2 == 1).await;
        assert_eq!(proxied.status, direct.status, "{what}");
        assert_eq!(proxied.body, direct.body, "{what}");
        for name in [
            "content-type",
            "x-request-id",
            "x-fixture-server",
            "content-length",
        ] {
            assert_eq!(
                proxied.headers.get(name),
                direct.headers.get(name),
                "{what}: `{name}`"
            );
        }
        seen.push(proxied);
    }
    let (summary, cassette, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, rest_calls().len());
    let Interaction::Rest(list) = &cassette.interactions[1] else {
        panic!("a REST interaction")
    };
    assert_eq!(list.request.query, "folderId=b1gfolder&pageSize=2");
    assert!(
        matches!(list.response.body, yc_cassette::Body::Json(_)),
        "{:?}",
        list.response.body
    );
    let Interaction::Rest(create) = &cassette.interactions[3] else {
        panic!("a REST interaction")
    };
    assert_eq!(create.request.method, "POST");
    assert!(matches!(create.request.body, yc_cassette::Body::Json(_)));

    let replay = replay(cassette);
    for ((method, path, body), recorded) in rest_calls().into_iter().zip(&seen) {
        let replayed = rest_call(replay.local_addr(), method, path, body, false).await;
        let what = format!("replayed {method} {path}");
        assert_eq!(replayed.status, recorded.status, "{what}");
        assert_eq!(replayed.body, recorded.body, "{what}");
        for name in ["content-type", "x-request-id", "x-fixture-server"] {
            assert_eq!(
                replayed.headers.get(name),
                recorded.headers.get(name),
                "{what}: `{name}`"
            );
        }
    }
    replay.shutdown().await;
}

#[tokio::test]
async fn a_held_stream_reaches_the_client_frame_by_frame() {
    let fixture = Fixture::start("stream").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let mut sender = crate::h2_connection(recording.addr()).await;
    let request = http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://{}{}",
            recording.addr(),
            upstream_fixture::STREAM_PATH
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("x-fixture", "stream:4")
        // Several request frames too, as a client stream sends them.
        .body(http_body_util::Full::new(Bytes::from(
            [frame(b"\x0a\x02hi"), frame(b"\x0a\x03two")].concat(),
        )))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.headers()["x-stream"], "watch");
    let mut body = response.into_body();
    use http_body_util::BodyExt;
    // The upstream holds every frame after the first until released: the first must arrive on its own.
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let op = yc_proto::operation::Operation::decode(&first[5..]).unwrap();
    assert_eq!(op.id, "op-0");
    fixture.release();
    let rest = body.collect().await.unwrap();
    let trailers = rest.trailers().cloned().unwrap();
    assert_eq!(trailers["grpc-status"], "0");
    assert_eq!(
        trailers["x-trailer-token"],
        upstream_fixture::secrets::TRAILER_TOKEN,
        "the client sees it all"
    );
    let data = rest.to_bytes();
    let mut ids = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let len = u32::from_be_bytes(data[at + 1..at + 5].try_into().unwrap()) as usize;
        ids.push(
            yc_proto::operation::Operation::decode(&data[at + 5..at + 5 + len])
                .unwrap()
                .id,
        );
        at += 5 + len;
    }
    assert_eq!(ids, ["op-1", "op-2", "op-3"]);

    let (_, cassette, text, _dir) = recording.finish().await;
    let Interaction::Grpc(call) = &cassette.interactions[0] else {
        panic!("a gRPC interaction")
    };
    assert_eq!(call.method, upstream_fixture::STREAM_PATH);
    let sent: Vec<&[u8]> = call
        .request
        .messages
        .iter()
        .map(|m| m.raw.as_deref().unwrap())
        .collect();
    assert_eq!(
        sent,
        [&b"\x0a\x02hi"[..], &b"\x0a\x03two"[..]],
        "an unknown method keeps raw bytes"
    );
    assert_eq!(call.response.messages.len(), 4);
    assert_eq!(call.response.trailers.get("x-checksum"), Some("abc123"));
    let token = call.response.trailers.get("x-trailer-token").unwrap();
    assert!(token.starts_with("<redacted:"), "{token}");
    assert!(!text.contains("TRAILERSECRET"));
}

/// The next data frame of an echo, or a failure after 10 s.
async fn next_echo(answers: &mut hyper::body::Incoming) -> Bytes {
    use http_body_util::BodyExt;
    tokio::time::timeout(std::time::Duration::from_secs(10), answers.frame())
        .await
        .expect("no echo within 10 s: the request frame was held back")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap()
}

/// A request to the echo fixture's stream through the proxy at `addr`, and the sender of its body's frames.
fn echo_request(
    addr: std::net::SocketAddr,
) -> (
    http_body_util::channel::Sender<Bytes>,
    http::Request<http_body_util::channel::Channel<Bytes>>,
) {
    let (requests, body) = http_body_util::channel::Channel::<Bytes>::new(4);
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{}", upstream_fixture::STREAM_PATH))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("x-fixture", "echo")
        .body(body)
        .unwrap();
    (requests, request)
}

#[tokio::test]
async fn a_bidirectional_stream_flows_both_ways_while_open_and_is_recorded_whole() {
    use http_body_util::BodyExt;
    let fixture = Fixture::start("echo").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let mut sender = crate::h2_connection(recording.addr()).await;
    let (mut requests, request) = echo_request(recording.addr());
    requests
        .send_data(Bytes::from(frame(b"\x0a\x03one")))
        .await
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let mut answers = response.into_body();
    // Each echo comes back before the next request frame is sent: the request is still open each time.
    // A proxy that held the request until its end would never answer: `next_echo` fails instead of hanging.
    let first = next_echo(&mut answers).await;
    assert_eq!(first, frame(b"\x0a\x03one"));
    requests
        .send_data(Bytes::from(frame(b"\x0a\x03two")))
        .await
        .unwrap();
    let second = next_echo(&mut answers).await;
    assert_eq!(second, frame(b"\x0a\x03two"));
    drop(requests);
    let rest = answers.collect().await.unwrap();
    assert_eq!(rest.trailers().unwrap()["grpc-status"], "0");

    let (_, cassette, _, _dir) = recording.finish().await;
    let Interaction::Grpc(call) = &cassette.interactions[0] else {
        panic!("a gRPC interaction")
    };
    let raw = |messages: &[yc_cassette::Message]| -> Vec<Vec<u8>> {
        messages.iter().map(|m| m.raw.clone().unwrap()).collect()
    };
    assert_eq!(
        raw(&call.request.messages),
        [b"\x0a\x03one".to_vec(), b"\x0a\x03two".to_vec()]
    );
    assert_eq!(raw(&call.response.messages), raw(&call.request.messages));
}

/// The upstream pump hands over a request's first frame without waiting for flow-control room (so a unary request
/// leaves in one write, which strace shows and no test can see): frames larger than HTTP/2's default window, the
/// first one included, must still arrive whole, in order, and be recorded.
#[tokio::test]
async fn request_frames_larger_than_the_flow_control_window_arrive_whole() {
    use http_body_util::BodyExt;
    let fixture = Fixture::start("echo").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let mut sender = crate::h2_connection(recording.addr()).await;
    let (mut requests, request) = echo_request(recording.addr());
    let messages: Vec<Vec<u8>> = (0..3u8)
        .map(|i| {
            let payload = vec![b'a' + i; 200 * 1024];
            [&[0x0a, 0x80, 0xc0, 0x0c][..], &payload].concat()
        })
        .collect();
    let sent: Vec<u8> = messages.iter().flat_map(|m| frame(m)).collect();
    requests
        .send_data(Bytes::from(frame(&messages[0])))
        .await
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let mut answers = response.into_body();
    for message in &messages[1..] {
        requests
            .send_data(Bytes::from(frame(message)))
            .await
            .unwrap();
    }
    drop(requests);
    let mut echoed = Vec::new();
    while echoed.len() < sent.len() {
        echoed.extend_from_slice(&next_echo(&mut answers).await);
    }
    assert!(echoed == sent, "the echo differs from what was sent");
    let rest = answers.collect().await.unwrap();
    assert_eq!(rest.trailers().unwrap()["grpc-status"], "0");

    let (_, cassette, _, _dir) = recording.finish().await;
    let Interaction::Grpc(call) = &cassette.interactions[0] else {
        panic!("a gRPC interaction")
    };
    let recorded: Vec<&[u8]> = call
        .request
        .messages
        .iter()
        .map(|m| m.raw.as_deref().unwrap())
        .collect();
    assert!(recorded == messages.iter().map(Vec::as_slice).collect::<Vec<_>>());
}

#[tokio::test]
async fn two_hundred_concurrent_grpc_calls_and_fifty_rest_calls_are_all_recorded() {
    let fixture = Fixture::start("many").await;
    let recording = Recording::start(Upstreams::single(fixture.url())).await;
    let channel = channel(recording.addr()).await;
    get_images_at_once(&channel, (0..200).map(|i| format!("fd8n{i:03}"))).await;
    // And REST calls at once, over HTTP/1.1 connections from a pool.
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..50 {
        let addr = recording.addr();
        calls.spawn(async move {
            let path = format!("/compute/v1/images/fd8r{i:02}");
            let seen = rest_call(addr, "GET", &path, "", false).await;
            assert_eq!(seen.status, StatusCode::OK);
            assert!(seen.body.contains(&format!("fd8r{i:02}")));
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
    // The writer catches up on its own, before any shutdown.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while recording.server.recorded() < 250 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never caught up"
        );
        tokio::task::yield_now().await;
    }
    // Every call is in the journal (the file itself is rewritten as it doubles); a reader sees all of them.
    let opened = Cassette::open(
        &recording.path,
        yc_cassette::DEFAULT_MAX_CASSETTE_SIZE,
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    assert_eq!(opened.cassette.interactions.len(), 250);
    let (summary, cassette, _, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, 250);
    let mut ids: Vec<String> = cassette
        .interactions
        .iter()
        .map(|i| match i {
            Interaction::Grpc(g) => {
                let request = g.request.messages[0].json.as_ref().unwrap()["image_id"]
                    .as_str()
                    .unwrap();
                let response = g.response.messages[0].json.as_ref().unwrap()["id"]
                    .as_str()
                    .unwrap();
                assert_eq!(
                    request, response,
                    "each response is kept with its own request"
                );
                request.to_owned()
            }
            Interaction::Rest(r) => {
                let body = r.response.body.to_bytes();
                let body = String::from_utf8_lossy(&body);
                let id = r.request.path.rsplit('/').next().unwrap().to_owned();
                assert!(
                    body.contains(&format!(r#""id":"{id}""#)),
                    "each response is kept with its own request"
                );
                id
            }
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250);
}

#[tokio::test]
async fn an_existing_cassette_is_kept_unless_overwrite_or_append() {
    let fixture = Fixture::start("modes").await;
    let first = Recording::start(Upstreams::single(fixture.url())).await;
    let mut client = ImageServiceClient::new(channel(first.addr()).await);
    client
        .get(compute::GetImageRequest {
            image_id: "fd8first".into(),
        })
        .await
        .unwrap();
    let (_, _, original, dir) = first.finish().await;
    let path = dir.path().join("recorded.json");

    let refused = RecordServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        RecordConfig::new(&path, Upstreams::single(fixture.url())),
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!(
            "cassette `{}` already exists: pass --overwrite to replace it or --append to add to it",
            path.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        original,
        "a refused start leaves the file alone"
    );

    let record_one = |mode: Mode, id: &'static str| {
        let path = path.clone();
        let url = fixture.url();
        async move {
            let mut config = RecordConfig::new(&path, Upstreams::single(url));
            config.mode = mode;
            let server = RecordServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
                .await
                .unwrap();
            let mut client = ImageServiceClient::new(channel(server.local_addr()).await);
            client
                .get(compute::GetImageRequest {
                    image_id: id.into(),
                })
                .await
                .unwrap();
            server.shutdown().await.unwrap()
        }
    };
    let image_ids = || -> Vec<String> {
        Cassette::load(&path, &yc_proto::Schema::embedded())
            .unwrap()
            .interactions
            .iter()
            .map(|i| match i {
                Interaction::Grpc(g) => g.request.messages[0].json.as_ref().unwrap()["image_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                Interaction::Rest(_) => panic!("a gRPC interaction"),
            })
            .collect()
    };
    assert_eq!(
        record_one(Mode::Append, "fd8second").await,
        Summary {
            interactions: 2,
            recorded: 1,
            wrote_file: true,
        }
    );
    assert_eq!(image_ids(), ["fd8first", "fd8second"]);
    assert_eq!(
        record_one(Mode::Replace, "fd8third").await,
        Summary {
            interactions: 1,
            recorded: 1,
            wrote_file: true,
        }
    );
    assert_eq!(image_ids(), ["fd8third"]);
}
