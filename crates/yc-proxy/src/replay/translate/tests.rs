//! Unit tests of `translate`: the shapes of translated answers (the code mappings are `yc_proto::http`'s, tested there).

use serde_json::json;
use yc_cassette::{Body, GrpcStatus, fixture};

use super::*;

fn rest(status: u16, body: Body) -> Interaction {
    fixture::rest("GET", "/compute/v1/images/fd8")
        .status(status)
        .response_headers(&[("content-type", "application/json"), ("x-request-id", "r1")])
        .response(body)
        .build()
}

#[test]
fn a_rest_error_without_a_code_takes_it_from_the_http_status() {
    let prepared = prepare_embedded(&rest(403, Body::Text("denied".into()))).unwrap();
    let response = prepared.response();
    let status = Status::from_headers(response.headers()).unwrap();
    assert_eq!((status.code, status.message.as_str()), (7, "Forbidden"));
    assert_eq!(response.headers()["x-request-id"], "r1");
    assert_eq!(response.headers()[TRANSLATED_HEADER], "rest->grpc");
    assert_eq!(response.headers()["content-type"], "application/grpc");
}

#[test]
fn a_rest_body_that_is_not_the_output_type_cannot_be_translated() {
    let error = prepare_embedded(&rest(200, Body::Json(json!({"id": 5})))).unwrap_err();
    assert!(error.starts_with("response body:"), "{error}");
    // Unknown fields are ignored, as a client would.
    assert!(prepare_embedded(&rest(200, Body::Json(json!({"id": "fd8", "shiny": true})))).is_ok());
}

#[test]
fn a_grpc_answer_without_its_message_cannot_be_translated() {
    let interaction = Interaction::Grpc(GrpcInteraction {
        method: "/yandex.cloud.compute.v1.ImageService/Get".into(),
        request: Default::default(),
        response: yc_cassette::GrpcResponse {
            status: GrpcStatus::default(),
            ..Default::default()
        },
    });
    assert_eq!(
        prepare_embedded(&interaction).unwrap_err(),
        "0 response messages, expected 1"
    );
}

fn prepare_embedded(interaction: &Interaction) -> Result<Prepared, String> {
    prepare(interaction, &yc_proto::Schema::embedded())
}
