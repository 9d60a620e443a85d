//! REST replay seen through hyper's client, over HTTP/1.1 and HTTP/2, on the same port as gRPC.

use http::StatusCode;
use serde_json::json;
use yc_cassette::Body;

use crate::{cassette, redact_ports, replay, rest, rest_call};

fn image_json() -> serde_json::Value {
    json!({ "id": "fd8kb72eo1r5fs97a1ki", "folderId": "b1g8dn6s3v2eiid9dbci", "storageSize": "3221225472" })
}

fn cassette_with_rest() -> yc_cassette::Cassette {
    cassette(vec![
        rest(
            "GET",
            "/compute/v1/images/fd8kb72eo1r5fs97a1ki",
            "",
            Body::Empty,
            200,
            Body::Json(image_json()),
        ),
        rest(
            "POST",
            "/compute/v1/images",
            "",
            Body::Json(
                json!({ "folderId": "b1g8dn6s3v2eiid9dbci", "name": "web", "labels": { "a": "1", "b": "2" } }),
            ),
            200,
            Body::Json(json!({ "id": "fd8op3b2rkqf8hkd5k7e", "done": false })),
        ),
        rest(
            "GET",
            "/compute/v1/images",
            "folderId=b1g8dn6s3v2eiid9dbci&pageSize=2",
            Body::Empty,
            403,
            Body::Text("{\"code\": 7, \"message\": \"Permission denied\"}".into()),
        ),
    ])
}

#[tokio::test]
async fn rest_hits_over_http1_and_http2() {
    let server = replay(vec![cassette_with_rest()]);
    for http2 in [false, true] {
        let seen = rest_call(
            server.local_addr(),
            "GET",
            "/compute/v1/images/fd8kb72eo1r5fs97a1ki",
            "",
            http2,
        )
        .await;
        assert_eq!(seen.status, StatusCode::OK);
        assert_eq!(seen.headers["content-type"], "application/json");
        assert_eq!(seen.headers["x-request-id"], "7f2a");
        assert!(seen.headers.get("x-yc-vcr-miss").is_none());
        assert_eq!(seen.body, serde_json::to_string(&image_json()).unwrap());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn rest_body_and_query_match_as_data_and_errors_replay_byte_for_byte() {
    let server = replay(vec![cassette_with_rest()]);
    let addr = server.local_addr();
    // Same JSON, other key order and spacing.
    let body =
        r#"{ "labels": {"b": "2", "a": "1"}, "name": "web", "folderId": "b1g8dn6s3v2eiid9dbci" }"#;
    let seen = rest_call(addr, "POST", "/compute/v1/images", body, false).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body, r#"{"id":"fd8op3b2rkqf8hkd5k7e","done":false}"#);

    // Same query pairs, other order.
    let seen = rest_call(
        addr,
        "GET",
        "/compute/v1/images?pageSize=2&folderId=b1g8dn6s3v2eiid9dbci",
        "",
        false,
    )
    .await;
    assert_eq!(seen.status, StatusCode::FORBIDDEN);
    assert_eq!(
        seen.body,
        "{\"code\": 7, \"message\": \"Permission denied\"}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn rest_miss_is_a_501_with_diagnostics() {
    let server = replay(vec![cassette_with_rest()]);
    let body =
        r#"{"folderId": "b1g8dn6s3v2eiid9dbci", "name": "db", "labels": {"a": "1", "b": "2"}}"#;
    let seen = rest_call(
        server.local_addr(),
        "POST",
        "/compute/v1/images",
        body,
        true,
    )
    .await;
    assert_eq!(seen.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(seen.headers["x-yc-vcr-miss"], "1");
    assert_eq!(seen.headers["content-type"], "application/json");
    let parsed: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert!(
        parsed["message"]
            .as_str()
            .unwrap()
            .starts_with(yc_proxy::replay::MISS_PREFIX)
    );
    insta::assert_snapshot!(redact_ports(&seen.body));
    server.shutdown().await;
}
