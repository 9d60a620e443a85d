use yc_cassette::{GrpcRequest, GrpcResponse, Message, RestRequest, RestResponse};

use super::*;

fn grpc(response: GrpcResponse) -> Interaction {
    Interaction::Grpc(GrpcInteraction {
        method: "/yandex.cloud.compute.v1.ImageService/Get".into(),
        request: GrpcRequest::default(),
        response,
    })
}

fn error(interaction: &Interaction) -> String {
    Prepared::new(interaction, None, &yc_proto::Schema::embedded()).unwrap_err()
}

#[test]
fn bad_recordings_are_refused_with_what_is_wrong() {
    let trailers_only_with_message = grpc(GrpcResponse {
        messages: vec![Message::from_bytes(
            &yc_proto::Schema::embedded(),
            None,
            b"x",
        )],
        trailers_only: true,
        ..GrpcResponse::default()
    });
    assert_eq!(
        error(&trailers_only_with_message),
        "a trailers-only response cannot carry messages"
    );

    let untyped = grpc(GrpcResponse {
        messages: vec![Message {
            json: Some(serde_json::json!({"id": "fd8"})),
            ..Message::default()
        }],
        ..GrpcResponse::default()
    });
    assert!(
        error(&untyped).starts_with("response message 0: "),
        "{}",
        error(&untyped)
    );

    let bad_header = grpc(GrpcResponse {
        headers: [("bad header", "x")].into_iter().collect(),
        ..GrpcResponse::default()
    });
    assert_eq!(
        error(&bad_header),
        "response header name `bad header` is not valid"
    );

    let bad_status = Interaction::Rest(RestInteraction {
        request: RestRequest {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            headers: Headers::new(),
            body: yc_cassette::Body::Empty,
            encoding: None,
        },
        response: RestResponse {
            status: 1000,
            headers: Headers::new(),
            body: yc_cassette::Body::Empty,
            encoding: None,
        },
    });
    assert_eq!(error(&bad_status), "`1000` is not an HTTP status code");
}

#[test]
fn trailers_only_puts_the_status_in_the_headers() {
    let interaction = grpc(GrpcResponse {
        status: GrpcStatus {
            code: 7,
            message: "denied: 100%".into(),
            ..GrpcStatus::default()
        },
        trailers_only: true,
        ..GrpcResponse::default()
    });
    let response = Prepared::new(&interaction, None, &yc_proto::Schema::embedded())
        .unwrap()
        .response();
    assert_eq!(response.headers()["content-type"], "application/grpc");
    assert_eq!(response.headers()["grpc-status"], "7");
    assert_eq!(response.headers()["grpc-message"], "denied: 100%25");
    assert!(http_body::Body::is_end_stream(response.body()));
}

#[test]
fn framing_headers_are_left_to_hyper() {
    let interaction = grpc(GrpcResponse {
        headers: [
            ("content-type", "application/grpc"),
            ("content-length", "99"),
            ("connection", "close"),
        ]
        .into_iter()
        .collect(),
        messages: vec![Message::from_bytes(
            &yc_proto::Schema::embedded(),
            None,
            b"abc",
        )],
        ..GrpcResponse::default()
    });
    let response = Prepared::new(&interaction, None, &yc_proto::Schema::embedded())
        .unwrap()
        .response();
    assert_eq!(response.headers().len(), 1);
    assert_eq!(http_body::Body::size_hint(response.body()).exact(), Some(8));
}

#[tokio::test]
async fn a_body_recorded_compressed_is_sent_in_the_coding_the_client_accepts() {
    use http_body_util::BodyExt as _;
    let interaction = Interaction::Rest(yc_cassette::RestInteraction {
        request: RestRequest::default(),
        response: RestResponse {
            status: 200,
            headers: [
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ]
            .into_iter()
            .collect(),
            body: yc_cassette::Body::Json(serde_json::json!({"id": "fd8abc"})),
            encoding: Some("gzip".into()),
        },
    });
    let prepared = Prepared::new(&interaction, None, &yc_proto::Schema::embedded()).unwrap();
    for accept in [None, Some("br"), Some("gzip;q=0"), Some("identity")] {
        let value = accept.map(HeaderValue::from_static);
        let response = prepared.response_for(value.as_ref());
        assert_eq!(response.headers().get(CONTENT_ENCODING), None, "{accept:?}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, &br#"{"id":"fd8abc"}"#[..], "{accept:?}");
    }
    for accept in ["gzip", "br, gzip;q=0.5", "*"] {
        let response = prepared.response_for(Some(&HeaderValue::from_static(accept)));
        assert_eq!(response.headers()[CONTENT_ENCODING], "gzip", "{accept}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let plain = yc_cassette::Encoding::Gzip.decode(&body, 1024).unwrap();
        assert_eq!(plain, br#"{"id":"fd8abc"}"#, "{accept}");
    }
}
