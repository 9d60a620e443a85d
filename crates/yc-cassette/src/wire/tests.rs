use bytes::BytesMut;
use http::HeaderValue;
use prost::Message as _;

use super::grpc::encode_frame;
use super::*;

fn framed(messages: &[Vec<u8>]) -> Bytes {
    let mut out = BytesMut::new();
    for message in messages {
        encode_frame(message, &mut out);
    }
    out.freeze()
}

fn convert(call: Call) -> Result<Interaction, String> {
    interaction(call, FrameLimits::default(), &Schema::embedded())
}

fn grpc_call(trailers: Option<HeaderMap>, headers: HeaderMap, response: &[Vec<u8>]) -> Call {
    let get = yc_proto::compute::v1::GetImageRequest {
        image_id: "fd8abc".into(),
    };
    Call::Grpc(GrpcCall {
        method: "/yandex.cloud.compute.v1.ImageService/Get".into(),
        metadata: HeaderMap::new(),
        request: Capture::from(framed(&[get.encode_to_vec()])),
        headers,
        response: Capture::from(framed(response)),
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
    let Interaction::Grpc(g) = convert(call).unwrap() else {
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
    let Interaction::Grpc(g) = convert(call).unwrap() else {
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
        convert(call).unwrap_err(),
        "`/yandex.cloud.compute.v1.ImageService/Get`: the response has no `grpc-status`"
    );
    // Frames cut short: not recorded either.
    let mut call = grpc_call(None, status_headers("0", "", None), &[]);
    if let Call::Grpc(g) = &mut call {
        g.response.push(&Bytes::from_static(&[0, 0, 0, 0, 9, 1]));
    }
    assert_eq!(
        convert(call).unwrap_err(),
        "`/yandex.cloud.compute.v1.ImageService/Get`: response: truncated frame: the body ends 8 bytes short of a complete message"
    );
}

#[test]
fn connection_fields_and_host_are_not_stored() {
    let mut map = HeaderMap::new();
    for (name, value) in [
        ("connection", "keep-alive"),
        ("te", "trailers"),
        ("host", "proxy:1"),
        ("x-request-id", "1"),
        ("grpc-status", "0"),
    ] {
        map.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    let stored = headers(&map, &[GRPC_STATUS]);
    assert_eq!(stored.iter().collect::<Vec<_>>(), [("x-request-id", "1")]);
}

#[test]
fn a_capture_over_its_limit_drops_its_chunks_and_the_call() {
    let mut capture = Capture::new(4);
    capture.push(&Bytes::from_static(b"abc"));
    assert_eq!(capture.concat(), b"abc");
    capture.push(&Bytes::from_static(b"de"));
    assert!(capture.overflowed());
    assert_eq!(capture.len(), 5);
    assert!(capture.concat().is_empty());
    let call = Call::Rest(RestCall {
        request: capture,
        ..rest_get(HeaderMap::new(), Vec::new())
    });
    assert_eq!(
        convert(call).unwrap_err(),
        "`GET /compute/v1/images/fd8abc`: a body exceeded the size limit for recording"
    );
}

fn rest_get(response_headers: HeaderMap, response: Vec<u8>) -> RestCall {
    RestCall {
        method: "GET".into(),
        path: "/compute/v1/images/fd8abc".into(),
        query: String::new(),
        headers: HeaderMap::new(),
        request: Capture::default(),
        status: 200,
        response_headers,
        response: Capture::from(Bytes::from(response)),
    }
}

fn rest_call(response_headers: HeaderMap, response: Vec<u8>) -> Call {
    Call::Rest(rest_get(response_headers, response))
}

#[test]
fn compressed_bodies_are_stored_decoded_and_bombs_are_not_recorded() {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("content-encoding", HeaderValue::from_static("br"));
    let body = br#"{"id":"fd8abc"}"#;
    let packed = Encoding::Brotli.encode(body);
    let Ok(Interaction::Rest(rest)) = convert(rest_call(headers.clone(), packed)) else {
        panic!("recorded");
    };
    assert_eq!(
        rest.response.body,
        Body::Json(serde_json::json!({"id": "fd8abc"}))
    );
    assert_eq!(rest.response.encoding.as_deref(), Some("br"));

    let bomb = Encoding::Brotli.encode(&vec![b' '; 80 << 20]);
    let error = convert(rest_call(headers.clone(), bomb)).unwrap_err();
    assert_eq!(
        error,
        "`GET /compute/v1/images/fd8abc`: response body: `br` data decodes to more than 67108864 bytes"
    );
    headers.insert("content-encoding", HeaderValue::from_static("compress"));
    let error = convert(rest_call(headers, b"x".to_vec())).unwrap_err();
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
    let packed = Encoding::Gzip.encode(&get);
    let mut frame = vec![1];
    frame.extend_from_slice(&u32::try_from(packed.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&packed);
    let mut metadata = HeaderMap::new();
    metadata.insert("grpc-encoding", HeaderValue::from_static("gzip"));
    let call = Call::Grpc(GrpcCall {
        method: "/yandex.cloud.compute.v1.ImageService/Get".into(),
        metadata,
        request: Capture::from(Bytes::from(frame)),
        headers: status_headers("0", "", None),
        response: Capture::default(),
        trailers: None,
    });
    let Ok(Interaction::Grpc(grpc)) = convert(call) else {
        panic!("recorded");
    };
    assert_eq!(
        grpc.request.messages[0].json,
        Some(serde_json::json!({"image_id": "fd8zip"}))
    );
}
