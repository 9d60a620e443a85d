//! What replay does with input no well-behaved client sends: oversized and malformed frames, wrong verbs, unsupported
//! compression; and graceful shutdown with a call in flight. The server must answer each and keep serving.

use std::fmt::Write as _;

use prost::Message as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tonic::Code;
use yc_cassette::Body;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proto::compute::v1::{GetImageRequest, Image};
use yc_proxy::ReplayConfig;

use crate::{cassette, channel, frame, grpc, raw_grpc, replay, replay_with, rest};

const GET_IMAGE: &str = "/yandex.cloud.compute.v1.ImageService/Get";

fn image_cassette() -> yc_cassette::Cassette {
    let image = Image {
        id: "fd8kb72eo1r5fs97a1ki".into(),
        ..Default::default()
    };
    cassette(vec![
        grpc(GET_IMAGE)
            .request(&GetImageRequest {
                image_id: "fd8kb72eo1r5fs97a1ki".into(),
            })
            .response(&image)
            .build(),
    ])
}

#[tokio::test]
async fn oversize_message_is_resource_exhausted() {
    let config = ReplayConfig {
        max_message_size: 1024,
        ..ReplayConfig::default()
    };
    let server = replay_with(vec![image_cassette()], config);
    let mut client = ImageServiceClient::new(channel(server.local_addr()).await);

    let big = GetImageRequest {
        image_id: "x".repeat(2000),
    };
    let status = client.get(big).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        "message of 2003 bytes exceeds the limit of 1024 bytes"
    );

    // Under the limit, the same connection goes on serving.
    let ok = GetImageRequest {
        image_id: "fd8kb72eo1r5fs97a1ki".into(),
    };
    assert_eq!(
        client.get(ok).await.unwrap().into_inner().id,
        "fd8kb72eo1r5fs97a1ki"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_rest_body_is_413() {
    let config = ReplayConfig {
        max_message_size: 1024,
        ..ReplayConfig::default()
    };
    let server = replay_with(vec![image_cassette()], config);
    let body = format!("{{\"name\": \"{}\"}}", "x".repeat(2000));
    let seen = crate::rest_call(
        server.local_addr(),
        "POST",
        "/compute/v1/images",
        &body,
        false,
    )
    .await;
    assert_eq!(seen.status, http::StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        seen.body
            .contains("request body exceeds the limit of 1024 bytes"),
        "{}",
        seen.body
    );
    assert!(seen.headers.get("x-yc-vcr-miss").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_clear_statuses() {
    let server = replay(vec![image_cassette()]);
    let addr = server.local_addr();
    let good = frame(
        &GetImageRequest {
            image_id: "fd8kb72eo1r5fs97a1ki".into(),
        }
        .encode_to_vec(),
    );
    let compressed = |payload: &[u8]| {
        let mut frame = vec![1];
        frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
        frame.extend_from_slice(payload);
        frame
    };
    // (case, verb, extra headers, body)
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>);
    let cases: Vec<Case> = vec![
        ("truncated prefix", "POST", vec![], vec![0, 0, 0]),
        (
            "truncated message",
            "POST",
            vec![],
            good[..good.len() - 3].to_vec(),
        ),
        (
            "compressed flag without grpc-encoding",
            "POST",
            vec![],
            [&[1u8][..], &good[1..]].concat(),
        ),
        (
            "invalid flag",
            "POST",
            vec![],
            [&[9u8][..], &good[1..]].concat(),
        ),
        (
            "gzip, frame not compressed",
            "POST",
            vec![("grpc-encoding", "gzip")],
            good.clone(),
        ),
        (
            "gzip, frame compressed",
            "POST",
            vec![("grpc-encoding", "gzip")],
            compressed(&yc_cassette::Encoding::Gzip.encode(&good[5..])),
        ),
        (
            "gzip, frame not gzip",
            "POST",
            vec![("grpc-encoding", "gzip")],
            compressed(&good[5..]),
        ),
        (
            "gzip bomb",
            "POST",
            vec![("grpc-encoding", "gzip")],
            compressed(&yc_cassette::Encoding::Gzip.encode(&vec![0; 5 << 20])),
        ),
        (
            "snappy",
            "POST",
            vec![("grpc-encoding", "snappy")],
            good.clone(),
        ),
        ("GET", "GET", vec![], Vec::new()),
        ("empty body", "POST", vec![], Vec::new()),
        (
            "trailing garbage",
            "POST",
            vec![],
            [&good[..], &[0, 0][..]].concat(),
        ),
    ];
    let mut table = String::new();
    for (name, method, extra, body) in cases {
        let seen = raw_grpc(addr, method, GET_IMAGE, &extra, &body).await;
        let status = seen.grpc_status();
        let accept = seen
            .headers
            .get("grpc-accept-encoding")
            .map(|v| v.to_str().unwrap().to_owned());
        writeln!(
            table,
            "{name}: http {} grpc-status {} {:?}{}",
            seen.status.as_u16(),
            status.code,
            status.message,
            accept
                .map(|a| format!(" grpc-accept-encoding: {a}"))
                .unwrap_or_default()
        )
        .unwrap();
    }
    insta::assert_snapshot!(table);

    // Still serving.
    let seen = raw_grpc(addr, "POST", GET_IMAGE, &[], &good).await;
    assert_eq!(seen.grpc_status().code, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn grpc_over_http1_is_refused_with_a_status() {
    let server = replay(vec![image_cassette()]);
    let mut stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    stream
        .write_all(b"POST /yandex.cloud.compute.v1.ImageService/Get HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.contains("grpc-status: 12\r\n"), "{response}");
    assert!(response.contains("gRPC needs HTTP/2"), "{response}");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_finishes_the_call_in_flight_and_stops_accepting() {
    let body = r#"{"name":"web"}"#;
    let server = replay(vec![cassette(vec![rest(
        "POST",
        "/compute/v1/images",
        "",
        Body::Json(serde_json::json!({ "name": "web" })),
        200,
        Body::Json(serde_json::json!({ "id": "fd8op", "done": false })),
    )])]);
    let addr = server.local_addr();

    // `expect: 100-continue` makes the server say when it has the request and is reading its body: the call is
    // then in flight, with no guessing about timing.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut stream = BufReader::new(stream);
    let head = format!(
        "POST /compute/v1/images HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.get_mut().write_all(head.as_bytes()).await.unwrap();
    let mut line = String::new();
    stream.read_line(&mut line).await.unwrap();
    assert_eq!(line, "HTTP/1.1 100 Continue\r\n");
    line.clear();
    stream.read_line(&mut line).await.unwrap();
    assert_eq!(line, "\r\n");

    let shutdown = tokio::spawn(server.shutdown());
    // Shutdown cannot complete while the call is in flight; wait until the listener is gone.
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        tokio::task::yield_now().await;
    }
    assert!(!shutdown.is_finished());

    stream.get_mut().write_all(body.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with(r#"{"id":"fd8op","done":false}"#),
        "{response}"
    );

    shutdown.await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
