use bytes::BytesMut;
use prost::Message as _;
use yc_proto::endpoint::{ApiEndpoint, ListApiEndpointsResponse};

use http::{HeaderMap, HeaderName, HeaderValue};

use super::forward::clean_request_headers;
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

/// The rewrite policy the README states: fourfold growth, busy or idle; when idle, a small cassette always.
#[test]
fn the_cassette_is_rewritten_on_fourfold_growth_and_a_small_one_whenever_idle() {
    assert!(writer::rewrite_due(4, 1));
    assert!(!writer::rewrite_due(3, 1));
    assert!(writer::rewrite_due(40_000, 10_000));
    assert!(!writer::rewrite_due(39_999, 10_000));
    assert!(writer::idle_rewrite_due(4096, 4095));
    assert!(!writer::idle_rewrite_due(4097, 4096));
    assert!(!writer::idle_rewrite_due(39_999, 10_000));
    assert!(writer::idle_rewrite_due(40_000, 10_000));
}
