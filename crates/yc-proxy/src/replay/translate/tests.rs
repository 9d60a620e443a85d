//! Unit tests of `translate`: the code mappings and the shapes of translated answers.

use http::StatusCode;
use serde_json::json;
use yc_cassette::{Body, GrpcStatus, Headers, RestRequest, RestResponse};

use super::*;

#[test]
fn grpc_codes_map_to_http_statuses_and_back() {
    let table = [
        (0, 200),
        (1, 499),
        (2, 500),
        (3, 400),
        (4, 504),
        (5, 404),
        (6, 409),
        (7, 403),
        (8, 429),
        (9, 400),
        (10, 409),
        (11, 400),
        (12, 501),
        (13, 500),
        (14, 503),
        (15, 500),
        (16, 401),
        (99, 500),
    ];
    for (code, http) in table {
        assert_eq!(http_status(code).as_u16(), http, "code {code}");
    }
    for code in [1, 3, 4, 5, 7, 8, 12, 14, 16] {
        assert_eq!((grpc_code(http_status(code)) as i32), code, "code {code}");
    }
    assert_eq!(grpc_code(StatusCode::IM_A_TEAPOT), Code::Unknown);
}

fn rest(status: u16, body: Body) -> Interaction {
    Interaction::Rest(RestInteraction {
        request: RestRequest {
            method: "GET".into(),
            path: "/compute/v1/images/fd8".into(),
            query: String::new(),
            headers: Headers::new(),
            body: Body::Empty,
            encoding: None,
        },
        response: RestResponse {
            status,
            headers: [("content-type", "application/json"), ("x-request-id", "r1")]
                .into_iter()
                .collect(),
            body,
            encoding: None,
        },
    })
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
