//! Integration tests of yc-cassette: the file format, matching and redaction, through the public API only.

mod credentials;
mod cross;
mod format;
mod matching;
mod redaction;

use prost::Message as _;
use yc_cassette::{
    Body, Cassette, GrpcInteraction, GrpcRequest, GrpcResponse, GrpcStatus, Headers, Interaction,
    Message, Meta, RestInteraction, RestRequest, RestResponse,
};
use yc_proto::compute::v1 as compute;

pub const GET: &str = "/yandex.cloud.compute.v1.ImageService/Get";
pub const GET_REQUEST: &str = "yandex.cloud.compute.v1.GetImageRequest";
pub const IMAGE: &str = "yandex.cloud.compute.v1.Image";

pub fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs.iter().copied().collect()
}

pub fn get_request_bytes(image_id: &str) -> Vec<u8> {
    compute::GetImageRequest {
        image_id: image_id.to_owned(),
    }
    .encode_to_vec()
}

pub fn image_bytes(id: &str, name: &str) -> Vec<u8> {
    compute::Image {
        id: id.to_owned(),
        folder_id: "b1g0123456789abcdefg".to_owned(),
        name: name.to_owned(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A recorded `ImageService/Get` of `image_id` answered with an image named `name`.
pub fn get_interaction(image_id: &str, name: &str) -> Interaction {
    Interaction::Grpc(GrpcInteraction {
        method: GET.to_owned(),
        request: GrpcRequest {
            metadata: headers(&[("authorization", "Bearer <redacted:iam-token:00000000>")]),
            messages: vec![Message::from_bytes(
                &yc_proto::Schema::embedded(),
                Some(GET_REQUEST),
                &get_request_bytes(image_id),
            )],
        },
        response: GrpcResponse {
            headers: headers(&[("content-type", "application/grpc")]),
            messages: vec![Message::from_bytes(
                &yc_proto::Schema::embedded(),
                Some(IMAGE),
                &image_bytes(image_id, name),
            )],
            trailers: Headers::new(),
            status: GrpcStatus::default(),
            trailers_only: false,
        },
    })
}

pub fn rest_interaction(
    method: &str,
    path: &str,
    query: &str,
    body: Body,
    answer: &str,
) -> Interaction {
    Interaction::Rest(RestInteraction {
        request: RestRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: headers(&[("content-type", "application/json")]),
            body,
            encoding: None,
        },
        response: RestResponse {
            status: 200,
            headers: headers(&[("content-type", "application/json")]),
            body: Body::from_bytes(Some("application/json"), answer.as_bytes()),
            encoding: None,
        },
    })
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

pub fn cassette(interactions: Vec<Interaction>) -> Cassette {
    let mut c = Cassette::new(Meta {
        description: "test".to_owned(),
        recorded_with: "yc-cassette tests".to_owned(),
    });
    c.interactions = interactions;
    c
}
