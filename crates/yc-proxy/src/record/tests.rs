use bytes::BytesMut;
use prost::Message as _;
use yc_proto::endpoint::{ApiEndpoint, ListApiEndpointsResponse};

use super::*;
use crate::grpc::encode_frame;

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

#[test]
fn status_details_decode_to_json() {
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
    let status = Status {
        code: 5,
        message: "image not found".into(),
        details: Some(details.clone().into()),
    };
    let out = writer::grpc_status(&status, Some("ignored".into()));
    assert_eq!(out.code, 5);
    assert_eq!(out.details.len(), 1);
    assert_eq!(
        out.details[0]["@type"],
        "type.googleapis.com/google.rpc.ErrorInfo"
    );
    assert_eq!(out.details[0]["reason"], "NOPE");
    assert_eq!(out.details_bin, None, "re-encoding reproduces the bytes");

    // When the header's message differs from the one inside, the original text is kept.
    let status = Status {
        code: 5,
        message: "other".into(),
        details: Some(details.into()),
    };
    let out = writer::grpc_status(&status, Some("original".into()));
    assert_eq!(out.details_bin.as_deref(), Some("original"));
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
    assert_eq!(advertised("0.0.0.0:5".parse().unwrap()), "127.0.0.1:5");
    assert_eq!(advertised("[::]:5".parse().unwrap()), "[::1]:5");
    assert_eq!(advertised("127.0.0.2:5".parse().unwrap()), "127.0.0.2:5");
}
