use bytes::BytesMut;
use prost::Message as _;
use yc_proto::endpoint::{ApiEndpoint, ListApiEndpointsResponse};

use http::{HeaderMap, HeaderName, HeaderValue};

use super::forward::clean_request_headers;
use super::tee;
use super::writer;
use crate::discovery;
use crate::grpc::FrameLimits;
use crate::grpc::encode_frame;
use crate::upstream::Transport;

fn framed(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for message in messages {
        encode_frame(message, &mut out);
    }
    out.to_vec()
}

#[test]
fn discovery_paths() {
    let get = http::Method::GET;
    assert!(discovery::is_rest(&get, "/endpoints"));
    assert!(discovery::is_rest(&get, "/endpoints/compute"));
    assert!(!discovery::is_rest(&get, "/endpoints/compute/x"));
    assert!(!discovery::is_rest(&get, "/endpointsx"));
    assert!(!discovery::is_rest(&http::Method::POST, "/endpoints"));
    assert!(discovery::is_grpc(
        "/yandex.cloud.endpoint.ApiEndpointService/List"
    ));
    assert!(discovery::is_grpc(
        "/yandex.cloud.endpoint.ApiEndpointService/Get"
    ));
    assert!(!discovery::is_grpc(
        "/yandex.cloud.compute.v1.ImageService/Get"
    ));
}

#[test]
fn discovery_grpc_answers_point_at_the_proxy() {
    let list = ListApiEndpointsResponse {
        endpoints: vec![
            ApiEndpoint {
                id: "compute".into(),
                address: "compute.api.cloud.yandex.net:443".into(),
            },
            ApiEndpoint {
                id: "operation".into(),
                address: "operation.api.cloud.yandex.net:443".into(),
            },
        ],
        next_page_token: String::new(),
    };
    let body = framed(&[list.encode_to_vec()]);
    let out = discovery::rewrite_grpc(
        "/yandex.cloud.endpoint.ApiEndpointService/List",
        &body,
        "127.0.0.1:9",
        FrameLimits::default(),
    )
    .unwrap();
    let again = ListApiEndpointsResponse::decode(&out[5..]).unwrap();
    assert_eq!(again.endpoints.len(), 2);
    assert!(again.endpoints.iter().all(|e| e.address == "127.0.0.1:9"));
    assert_eq!(again.endpoints[1].id, "operation");

    let one = ApiEndpoint {
        id: "compute".into(),
        address: "x:443".into(),
    };
    let out = discovery::rewrite_grpc(
        "/yandex.cloud.endpoint.ApiEndpointService/Get",
        &framed(&[one.encode_to_vec()]),
        "127.0.0.1:9",
        FrameLimits::default(),
    )
    .unwrap();
    assert_eq!(
        ApiEndpoint::decode(&out[5..]).unwrap().address,
        "127.0.0.1:9"
    );

    // Truncated frames are left alone.
    assert!(
        discovery::rewrite_grpc(
            "/yandex.cloud.endpoint.ApiEndpointService/Get",
            &[0, 0, 0, 0, 9, 1],
            "a:1",
            FrameLimits::default()
        )
        .is_none()
    );
}

#[test]
fn discovery_rest_answers_point_at_the_proxy() {
    let list = br#"{"endpoints":[{"id":"compute","address":"compute.api.cloud.yandex.net:443"}]}"#;
    let out = discovery::rewrite_rest(list, "127.0.0.1:9").unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"endpoints":[{"id":"compute","address":"127.0.0.1:9"}]}"#
    );
    let one = br#"{"id":"compute","address":"compute.api.cloud.yandex.net:443"}"#;
    let out = discovery::rewrite_rest(one, "127.0.0.1:9").unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"id":"compute","address":"127.0.0.1:9"}"#
    );
    assert!(discovery::rewrite_rest(br#"{"code":5,"message":"not found"}"#, "a:1").is_none());
    assert!(discovery::rewrite_rest(b"<html>", "a:1").is_none());
}

fn grpc_call(
    trailers: Option<HeaderMap>,
    headers: HeaderMap,
    response: &[Vec<u8>],
) -> writer::Completed {
    let mut request = tee::Capture::new(usize::MAX);
    let mut response_capture = tee::Capture::new(usize::MAX);
    let get = yc_proto::compute::v1::GetImageRequest {
        image_id: "fd8abc".into(),
    };
    let body = bytes::Bytes::from(framed(&[get.encode_to_vec()]));
    request.len = body.len();
    request.chunks.push(body);
    let body = bytes::Bytes::from(framed(response));
    response_capture.len = body.len();
    response_capture.chunks.push(body);
    writer::Completed::Grpc(writer::GrpcCall {
        method: "/yandex.cloud.compute.v1.ImageService/Get".into(),
        metadata: HeaderMap::new(),
        request,
        headers,
        response: response_capture,
        trailers,
    })
}

fn status_headers(code: &'static str, message: &'static str, details: Option<String>) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert("content-type", HeaderValue::from_static("application/grpc"));
    map.insert("grpc-status", HeaderValue::from_static(code));
    map.insert("grpc-message", HeaderValue::from_static(message));
    if let Some(details) = details {
        map.insert(
            "grpc-status-details-bin",
            HeaderValue::from_str(&details).unwrap(),
        );
    }
    map
}

#[test]
fn grpc_calls_become_interactions_with_status_apart_from_trailers() {
    use base64::Engine as _;
    use yc_proto::google::protobuf::Any;
    use yc_proto::google::rpc;
    let info = rpc::ErrorInfo {
        reason: "NOPE".into(),
        domain: "compute".into(),
        ..Default::default()
    };
    let details = rpc::Status {
        code: 5,
        message: "image not found".into(),
        details: vec![Any {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
            value: info.encode_to_vec(),
        }],
    }
    .encode_to_vec();
    let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&details);

    // Trailers-only: the status is read from the headers and left out of them.
    let call = grpc_call(
        None,
        status_headers("5", "image%20not found", Some(unpadded)),
        &[],
    );
    let yc_cassette::Interaction::Grpc(g) =
        writer::interaction(call, FrameLimits::default(), &yc_proto::Schema::embedded()).unwrap()
    else {
        panic!("a gRPC interaction")
    };
    assert!(g.response.trailers_only);
    assert_eq!(g.response.status.code, 5);
    assert_eq!(
        g.response.status.message, "image not found",
        "percent-decoded"
    );
    assert_eq!(g.response.status.details[0]["reason"], "NOPE");
    assert_eq!(
        g.response.status.details_bin, None,
        "the details give the same text back"
    );
    assert_eq!(
        g.response
            .headers
            .iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        ["content-type"]
    );
    assert_eq!(
        g.request.messages[0].json.as_ref().unwrap()["image_id"],
        "fd8abc"
    );

    // Padded base64 is kept as sent, so replay gives the client the same text.
    let padded = base64::engine::general_purpose::STANDARD.encode(&details);
    assert!(padded.ends_with('='), "this case needs padding");
    let mut trailers = status_headers("5", "image not found", Some(padded.clone()));
    trailers.insert("x-checksum", HeaderValue::from_static("abc"));
    trailers.remove("content-type");
    let image = yc_proto::compute::v1::Image {
        id: "fd8abc".into(),
        ..Default::default()
    };
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/grpc"));
    let call = grpc_call(Some(trailers), headers, &[image.encode_to_vec()]);
    let yc_cassette::Interaction::Grpc(g) =
        writer::interaction(call, FrameLimits::default(), &yc_proto::Schema::embedded()).unwrap()
    else {
        panic!("a gRPC interaction")
    };
    assert!(!g.response.trailers_only);
    assert_eq!(
        g.response.status.details_bin.as_deref(),
        Some(padded.as_str())
    );
    assert_eq!(
        g.response.trailers.iter().collect::<Vec<_>>(),
        [("x-checksum", "abc")]
    );
    assert_eq!(
        g.response.messages[0].json.as_ref().unwrap()["id"],
        "fd8abc"
    );

    // No grpc-status anywhere: not a gRPC answer, not recorded.
    let call = grpc_call(None, HeaderMap::new(), &[]);
    assert_eq!(
        writer::interaction(call, FrameLimits::default(), &yc_proto::Schema::embedded())
            .unwrap_err(),
        "`/yandex.cloud.compute.v1.ImageService/Get`: the response has no `grpc-status`"
    );
    // Frames cut short: not recorded either.
    let mut call = grpc_call(None, status_headers("0", "", None), &[]);
    if let writer::Completed::Grpc(g) = &mut call {
        g.response
            .chunks
            .push(bytes::Bytes::from_static(&[0, 0, 0, 0, 9, 1]));
        g.response.len = 6;
    }
    assert_eq!(
        writer::interaction(call, FrameLimits::default(), &yc_proto::Schema::embedded())
            .unwrap_err(),
        "`/yandex.cloud.compute.v1.ImageService/Get`: response: truncated frame: the body ends 8 bytes short of a complete message"
    );
}

#[test]
fn connection_headers_are_not_forwarded() {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("connection", "keep-alive"),
        ("keep-alive", "5"),
        ("transfer-encoding", "chunked"),
        ("te", "trailers"),
        ("host", "proxy:1"),
        ("accept-encoding", "gzip"),
        ("grpc-accept-encoding", "gzip"),
        ("authorization", "Bearer x"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    let mut grpc = headers.clone();
    clean_request_headers(&mut grpc, Transport::Grpc);
    let names: Vec<&str> = grpc.keys().map(HeaderName::as_str).collect();
    assert_eq!(names, ["authorization", "te"]);
    let mut rest = headers;
    clean_request_headers(&mut rest, Transport::Rest);
    let names: Vec<&str> = rest.keys().map(HeaderName::as_str).collect();
    assert_eq!(names, ["authorization"]);
}

#[test]
fn wildcard_listen_addresses_advertise_loopback() {
    assert_eq!(
        crate::discovery::advertised("0.0.0.0:5".parse().unwrap()),
        "127.0.0.1:5"
    );
    assert_eq!(
        crate::discovery::advertised("[::]:5".parse().unwrap()),
        "[::1]:5"
    );
    assert_eq!(
        crate::discovery::advertised("127.0.0.2:5".parse().unwrap()),
        "127.0.0.2:5"
    );
}

fn capture(data: Vec<u8>) -> tee::Capture {
    let mut capture = tee::Capture::new(usize::MAX);
    capture.len = data.len();
    capture.chunks.push(bytes::Bytes::from(data));
    capture
}

fn rest_call(response_headers: HeaderMap, response: Vec<u8>) -> writer::Completed {
    writer::Completed::Rest(writer::RestCall {
        method: "GET".into(),
        path: "/compute/v1/images/fd8abc".into(),
        query: String::new(),
        headers: HeaderMap::new(),
        request: tee::Capture::new(usize::MAX),
        status: 200,
        response_headers,
        response: capture(response),
    })
}

#[test]
fn compressed_bodies_are_stored_decoded_and_bombs_are_not_recorded() {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("content-encoding", HeaderValue::from_static("br"));
    let body = br#"{"id":"fd8abc"}"#;
    let packed = yc_cassette::Encoding::Brotli.encode(body);
    let call = rest_call(headers.clone(), packed);
    let Ok(yc_cassette::Interaction::Rest(rest)) =
        writer::interaction(call, FrameLimits::default(), &yc_proto::Schema::embedded())
    else {
        panic!("recorded");
    };
    assert_eq!(
        rest.response.body,
        yc_cassette::Body::Json(serde_json::json!({"id": "fd8abc"}))
    );
    assert_eq!(rest.response.encoding.as_deref(), Some("br"));

    let bomb = yc_cassette::Encoding::Brotli.encode(&vec![b' '; 80 << 20]);
    let error = writer::interaction(
        rest_call(headers.clone(), bomb),
        FrameLimits::default(),
        &yc_proto::Schema::embedded(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        "`GET /compute/v1/images/fd8abc`: response body: `br` data decodes to more than 67108864 bytes"
    );
    headers.insert("content-encoding", HeaderValue::from_static("compress"));
    let error = writer::interaction(
        rest_call(headers, b"x".to_vec()),
        FrameLimits::default(),
        &yc_proto::Schema::embedded(),
    )
    .unwrap_err();
    assert!(
        error.ends_with("unsupported encoding `compress`"),
        "{error}"
    );
}

#[test]
fn compressed_grpc_messages_are_stored_decompressed() {
    let get = yc_proto::compute::v1::GetImageRequest {
        image_id: "fd8zip".into(),
    }
    .encode_to_vec();
    let packed = yc_cassette::Encoding::Gzip.encode(&get);
    let mut frame = vec![1];
    frame.extend_from_slice(&u32::try_from(packed.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&packed);
    let mut metadata = HeaderMap::new();
    metadata.insert("grpc-encoding", HeaderValue::from_static("gzip"));
    let call = writer::Completed::Grpc(writer::GrpcCall {
        method: "/yandex.cloud.compute.v1.ImageService/Get".into(),
        metadata,
        request: capture(frame),
        headers: status_headers("0", "", None),
        response: tee::Capture::new(usize::MAX),
        trailers: None,
    });
    let Ok(yc_cassette::Interaction::Grpc(grpc)) =
        writer::interaction(call, FrameLimits::default(), &yc_proto::Schema::embedded())
    else {
        panic!("recorded");
    };
    assert_eq!(
        grpc.request.messages[0].json,
        Some(serde_json::json!({"image_id": "fd8zip"}))
    );
}

/// The rewrite policy the README states: fourfold growth while busy; when idle, a small cassette always, a long one
/// once it has grown by a quarter since its last rewrite.
#[test]
fn the_cassette_is_rewritten_on_growth_and_a_long_one_only_after_a_quarter_more() {
    assert!(writer::rewrite_due(4, 1));
    assert!(!writer::rewrite_due(3, 1));
    assert!(writer::rewrite_due(40_000, 10_000));
    assert!(!writer::rewrite_due(39_999, 10_000));
    assert!(writer::idle_rewrite_due(4096, 4095));
    assert!(!writer::idle_rewrite_due(10_000, 9_000));
    assert!(writer::idle_rewrite_due(12_500, 10_000));
    assert!(!writer::idle_rewrite_due(12_499, 10_000));
}
