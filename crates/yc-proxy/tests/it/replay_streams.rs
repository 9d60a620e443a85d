//! Replay decides a gRPC call as soon as it can, never waiting for a client to half-close: a streaming client (and
//! grpcurl's reflection stream) may wait for an answer before it ends its side, so waiting would hang both.
//!
//! Each client here keeps its request stream open for the whole call; a timeout turns a hang into a failure.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body::Frame;
use http_body_util::{BodyExt, channel::Channel};
use yc_cassette::{Interaction, Message};
use yc_proto::compute::v1::{GetImageRequest, Image};

use crate::{RawSeen, cassette, frame, grpc, h2_connection, message, replay};

const GET: &str = "/yandex.cloud.compute.v1.ImageService/Get";
/// A bidirectional method outside the schema: recordings of it keep raw bytes.
const CHAT: &str = "/test.Chat/Talk";
const HANG_GUARD: Duration = Duration::from_secs(10);

/// Sends `messages` on a fresh HTTP/2 stream and reads the whole answer while the request side stays open.
async fn call_holding_open(addr: SocketAddr, path: &str, messages: &[Vec<u8>]) -> RawSeen {
    let mut sender = h2_connection(addr).await;
    let (mut body, request_body) = Channel::<Bytes>::new(messages.len().max(1));
    for message in messages {
        body.send(Frame::data(Bytes::from(frame(message))))
            .await
            .unwrap();
    }
    let request = Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(request_body)
        .unwrap();
    let seen = tokio::time::timeout(HANG_GUARD, async {
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let collected = body.collect().await.unwrap();
        RawSeen {
            status: parts.status,
            headers: parts.headers,
            trailers: collected.trailers().cloned(),
            body: collected.to_bytes(),
        }
    })
    .await
    .expect("replay answered while the request stream was still open");
    // The request side was open until the answer had come.
    drop(body);
    seen
}

fn image() -> Image {
    Image {
        id: "fd8j4ab7nq2vd1sg3k9p".into(),
        name: "ubuntu-22-04".into(),
        ..Default::default()
    }
}

fn get(id: &str) -> Vec<u8> {
    use prost::Message as _;
    GetImageRequest {
        image_id: id.into(),
    }
    .encode_to_vec()
}

/// A bidirectional recording: two messages each way.
fn chat(requests: &[&[u8]]) -> Interaction {
    let raw = |bytes: &[u8]| Message::from_bytes(&yc_proto::Schema::embedded(), None, bytes);
    requests
        .iter()
        .fold(grpc(CHAT), |call, m| call.request(raw(m)))
        .response(raw(b"\x0a\x05hello"))
        .response(raw(b"\x0a\x03bye"))
        .build()
}

/// A replay server holding one recorded `Get` of `fd8j4ab7nq2vd1sg3k9p`.
fn replay_one_get() -> yc_proxy::replay::ReplayServer {
    replay(vec![cassette(vec![
        grpc(GET)
            .request(&GetImageRequest {
                image_id: "fd8j4ab7nq2vd1sg3k9p".into(),
            })
            .response(&image())
            .build(),
    ])])
}

#[tokio::test]
async fn a_recorded_unary_call_is_answered_on_its_message() {
    let server = replay_one_get();
    let seen = call_holding_open(server.local_addr(), GET, &[get("fd8j4ab7nq2vd1sg3k9p")]).await;
    assert_eq!(seen.grpc_status().code, 0, "{:?}", seen.grpc_status());
    assert_eq!(
        seen.body,
        frame(
            &message(&image())
                .to_bytes(&yc_proto::Schema::embedded())
                .unwrap()
        )
    );
}

#[tokio::test]
async fn a_miss_on_the_first_message_is_answered_at_once() {
    let server = replay_one_get();
    let seen = call_holding_open(server.local_addr(), GET, &[get("fd8zq4x6c8v0b2n4m6k8")]).await;
    let status = seen.grpc_status();
    assert_eq!(status.code, 12, "{status:?}");
    assert!(
        status.message.starts_with(yc_proxy::replay::MISS_PREFIX),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_method_nothing_recorded_is_answered_before_any_message() {
    let server = replay(vec![cassette(vec![chat(&[b"\x0a\x01a", b"\x0a\x01b"])])]);
    let seen = call_holding_open(server.local_addr(), "/test.Chat/Other", &[]).await;
    let status = seen.grpc_status();
    assert_eq!(status.code, 12, "{status:?}");
    assert!(status.message.contains("/test.Chat/Other"), "{status:?}");
}

#[tokio::test]
async fn a_bidirectional_recording_is_answered_once_its_messages_have_arrived() {
    let server = replay(vec![cassette(vec![chat(&[b"\x0a\x01a", b"\x0a\x01b"])])]);
    let seen = call_holding_open(
        server.local_addr(),
        CHAT,
        &[b"\x0a\x01a".to_vec(), b"\x0a\x01b".to_vec()],
    )
    .await;
    assert_eq!(seen.grpc_status().code, 0, "{:?}", seen.grpc_status());
    let mut expected = frame(b"\x0a\x05hello");
    expected.extend(frame(b"\x0a\x03bye"));
    assert_eq!(seen.body, expected);
}

#[tokio::test]
async fn a_stream_that_departs_from_every_recording_misses_without_waiting_for_its_end() {
    let server = replay(vec![cassette(vec![chat(&[b"\x0a\x01a", b"\x0a\x01b"])])]);
    let seen = call_holding_open(
        server.local_addr(),
        CHAT,
        &[b"\x0a\x01a".to_vec(), b"\x0a\x01z".to_vec()],
    )
    .await;
    assert_eq!(seen.grpc_status().code, 12, "{:?}", seen.grpc_status());
}
