//! Integration tests of yc-cassette: the file format, matching and redaction, through the public API only.

mod credentials;
mod cross;
mod format;
mod matching;
mod redaction;

use prost::Message as _;
pub use yc_cassette::fixture::{
    GET_IMAGE as GET, GET_IMAGE_REQUEST as GET_REQUEST, cassette, get_image, headers, index,
};
use yc_cassette::{Body, Interaction, fixture};
use yc_proto::compute::v1 as compute;

pub fn get_request_bytes(image_id: &str) -> Vec<u8> {
    fixture::get_image_request(image_id).encode_to_vec()
}

/// A REST call as these tests record one: a JSON request (`body`) answered 200 with the JSON `answer`.
pub fn rest_interaction(
    method: &str,
    path: &str,
    query: &str,
    body: Body,
    answer: &str,
) -> Interaction {
    fixture::rest(method, path)
        .query(query)
        .headers(&[("content-type", "application/json")])
        .body(body)
        .json(answer)
        .build()
}

/// `grpc-status-details-bin` of a NOT_FOUND with an `ErrorInfo` carrying `metadata`, base64 without padding.
pub fn not_found_details(metadata: &[(&str, &str)]) -> String {
    use base64::Engine as _;
    use yc_proto::google::{protobuf::Any, rpc};
    let info = rpc::ErrorInfo {
        reason: "NOT_FOUND".to_owned(),
        domain: "compute.api.cloud.yandex.net".to_owned(),
        metadata: metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let status = rpc::Status {
        code: 5,
        message: "image not found".to_owned(),
        details: vec![Any {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".to_owned(),
            value: info.encode_to_vec(),
        }],
    };
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(status.encode_to_vec())
}
