//! The fixture's API: fixed data, the tonic services (compute and container registry images, operations,
//! discovery) and the REST side, answering every call the same way each time.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use prost::{Message as _, Name};
use serde_json::{Value, json};
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};
use yc_proto::compute::v1 as compute;
use yc_proto::containerregistry::v1 as cr;
use yc_proto::endpoint::{
    ApiEndpoint, GetApiEndpointRequest, ListApiEndpointsRequest, ListApiEndpointsResponse,
};
use yc_proto::google::protobuf::{Any, Timestamp};
use yc_proto::google::rpc;
use yc_proto::operation::{CancelOperationRequest, GetOperationRequest, Operation, operation};

use super::{FixtureBody, secrets};

pub fn timestamp() -> Timestamp {
    Timestamp {
        seconds: 1_700_000_000,
        nanos: 0,
    }
}

pub fn image(id: &str) -> compute::Image {
    compute::Image {
        id: id.to_owned(),
        folder_id: "b1gfolder".to_owned(),
        created_at: Some(timestamp()),
        name: format!("image-{id}"),
        description: "Ubuntu 22.04 LTS".to_owned(),
        labels: BTreeMap::from([("env".to_owned(), "test".to_owned())]),
        family: "ubuntu-2204-lts".to_owned(),
        size: 3_221_225_472,
        storage_size: 1_073_741_824,
        min_disk_size: 5_368_709_120,
        product_ids: vec!["f2e-product".to_owned()],
        status: 2,
        ..compute::Image::default()
    }
}

pub fn any<M: prost::Message + Name>(message: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: message.encode_to_vec(),
    }
}

pub fn not_found_details(id: &str) -> Bytes {
    let info = rpc::ErrorInfo {
        reason: "IMAGE_NOT_FOUND".to_owned(),
        domain: "compute.api.cloud.yandex.net".to_owned(),
        metadata: BTreeMap::from([("image_id".to_owned(), id.to_owned())]),
    };
    rpc::Status {
        code: Code::NotFound as i32,
        message: format!("image `{id}` not found"),
        details: vec![any(&info)],
    }
    .encode_to_vec()
    .into()
}

fn with_metadata<T>(message: T) -> tonic::Response<T> {
    let mut response = tonic::Response::new(message);
    response
        .metadata_mut()
        .insert("x-request-id", MetadataValue::from_static("req-fixture-1"));
    response.metadata_mut().insert(
        "set-cookie",
        MetadataValue::from_static(secrets::SET_COOKIE),
    );
    response
}

#[derive(Clone)]
pub(super) struct Compute;

#[tonic::async_trait]
impl compute::image_service_server::ImageService for Compute {
    async fn get(
        &self,
        request: tonic::Request<compute::GetImageRequest>,
    ) -> Result<tonic::Response<compute::Image>, Status> {
        let id = request.into_inner().image_id;
        match id.as_str() {
            "fd8missing" => Err(Status::with_details(
                Code::NotFound,
                format!("image `{id}` not found"),
                not_found_details(&id),
            )),
            "fd8leak" => {
                let info = rpc::ErrorInfo {
                    reason: "TOKEN_EXPIRED".to_owned(),
                    domain: "iam".to_owned(),
                    metadata: BTreeMap::from([(
                        "token".to_owned(),
                        secrets::OAUTH_TOKEN.to_owned(),
                    )]),
                };
                let details = rpc::Status {
                    code: Code::PermissionDenied as i32,
                    message: "token expired".to_owned(),
                    details: vec![any(&info)],
                };
                Err(Status::with_details(
                    Code::PermissionDenied,
                    format!("token {} has expired", secrets::IAM_TOKEN_2),
                    details.encode_to_vec().into(),
                ))
            }
            _ => Ok(with_metadata(image(&id))),
        }
    }

    async fn get_latest_by_family(
        &self,
        _: tonic::Request<compute::GetImageLatestByFamilyRequest>,
    ) -> Result<tonic::Response<compute::Image>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn list(
        &self,
        request: tonic::Request<compute::ListImagesRequest>,
    ) -> Result<tonic::Response<compute::ListImagesResponse>, Status> {
        let folder = request.into_inner().folder_id;
        let images = (0..3)
            .map(|i| compute::Image {
                folder_id: folder.clone(),
                ..image(&format!("fd8img{i}"))
            })
            .collect();
        Ok(with_metadata(compute::ListImagesResponse {
            images,
            next_page_token: "page-2".to_owned(),
        }))
    }

    async fn create(
        &self,
        request: tonic::Request<compute::CreateImageRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        let request = request.into_inner();
        let source = match request.source {
            Some(compute::create_image_request::Source::Uri(uri)) => uri,
            _ => String::new(),
        };
        Ok(tonic::Response::new(Operation {
            id: "fd8op-create".to_owned(),
            description: format!("create image from {source}"),
            created_at: Some(timestamp()),
            created_by: "ajeuser".to_owned(),
            done: false,
            metadata: Some(any(&compute::CreateImageMetadata {
                image_id: "fd8new".to_owned(),
            })),
            ..Operation::default()
        }))
    }

    async fn update(
        &self,
        _: tonic::Request<compute::UpdateImageRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn delete(
        &self,
        _: tonic::Request<compute::DeleteImageRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn list_operations(
        &self,
        _: tonic::Request<compute::ListImageOperationsRequest>,
    ) -> Result<tonic::Response<compute::ListImageOperationsResponse>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn list_access_bindings(
        &self,
        _: tonic::Request<yc_proto::access::ListAccessBindingsRequest>,
    ) -> Result<tonic::Response<yc_proto::access::ListAccessBindingsResponse>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn set_access_bindings(
        &self,
        _: tonic::Request<yc_proto::access::SetAccessBindingsRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }

    async fn update_access_bindings(
        &self,
        _: tonic::Request<yc_proto::access::UpdateAccessBindingsRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }
}

pub fn registry_image(id: &str) -> cr::Image {
    cr::Image {
        id: id.to_owned(),
        name: "crp/app".to_owned(),
        digest: "sha256:0f1e2d3c".to_owned(),
        compressed_size: 12_345,
        tags: vec!["latest".to_owned()],
        created_at: Some(timestamp()),
        ..cr::Image::default()
    }
}

#[derive(Clone)]
pub(super) struct Registry;

#[tonic::async_trait]
impl cr::image_service_server::ImageService for Registry {
    async fn list(
        &self,
        _: tonic::Request<cr::ListImagesRequest>,
    ) -> Result<tonic::Response<cr::ListImagesResponse>, Status> {
        Ok(tonic::Response::new(cr::ListImagesResponse {
            images: vec![registry_image("crpimg1"), registry_image("crpimg2")],
            next_page_token: String::new(),
        }))
    }

    async fn get(
        &self,
        request: tonic::Request<cr::GetImageRequest>,
    ) -> Result<tonic::Response<cr::Image>, Status> {
        Ok(tonic::Response::new(registry_image(
            &request.into_inner().image_id,
        )))
    }

    async fn delete(
        &self,
        _: tonic::Request<cr::DeleteImageRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::unimplemented("fixture"))
    }
}

pub fn done_operation(id: &str) -> Operation {
    Operation {
        id: id.to_owned(),
        description: "create image".to_owned(),
        created_at: Some(timestamp()),
        created_by: "ajeuser".to_owned(),
        modified_at: Some(timestamp()),
        done: true,
        metadata: Some(any(&compute::CreateImageMetadata {
            image_id: "fd8new".to_owned(),
        })),
        result: Some(operation::Result::Response(any(&image("fd8new")))),
    }
}

#[derive(Clone)]
pub(super) struct Operations;

#[tonic::async_trait]
impl yc_proto::operation::operation_service_server::OperationService for Operations {
    async fn get(
        &self,
        request: tonic::Request<GetOperationRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        let id = request.into_inner().operation_id;
        let mut op = done_operation(&id);
        if id == "op-token" {
            op.description = format!("issued {}", secrets::IAM_TOKEN_2);
        }
        Ok(tonic::Response::new(op))
    }

    async fn cancel(
        &self,
        _: tonic::Request<CancelOperationRequest>,
    ) -> Result<tonic::Response<Operation>, Status> {
        Err(Status::failed_precondition("operation cannot be cancelled"))
    }
}

pub fn endpoints() -> Vec<ApiEndpoint> {
    [
        ("compute", "compute.api.cloud.yandex.net:443"),
        (
            "container-registry",
            "container-registry.api.cloud.yandex.net:443",
        ),
        ("operation", "operation.api.cloud.yandex.net:443"),
        ("iam", "iam.api.cloud.yandex.net:443"),
    ]
    .into_iter()
    .map(|(id, address)| ApiEndpoint {
        id: id.to_owned(),
        address: address.to_owned(),
    })
    .collect()
}

#[derive(Clone)]
pub(super) struct Endpoints;

#[tonic::async_trait]
impl yc_proto::endpoint::api_endpoint_service_server::ApiEndpointService for Endpoints {
    async fn get(
        &self,
        request: tonic::Request<GetApiEndpointRequest>,
    ) -> Result<tonic::Response<ApiEndpoint>, Status> {
        let id = request.into_inner().api_endpoint_id;
        endpoints()
            .into_iter()
            .find(|e| e.id == id)
            .map(tonic::Response::new)
            .ok_or_else(|| Status::not_found(format!("endpoint `{id}` not found")))
    }

    async fn list(
        &self,
        _: tonic::Request<ListApiEndpointsRequest>,
    ) -> Result<tonic::Response<ListApiEndpointsResponse>, Status> {
        Ok(tonic::Response::new(ListApiEndpointsResponse {
            endpoints: endpoints(),
            next_page_token: String::new(),
        }))
    }
}

fn json_response(status: StatusCode, value: &Value) -> Response<FixtureBody> {
    let body = serde_json::to_vec(value).unwrap();
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-request-id", HeaderValue::from_static("req-fixture-rest"));
    headers.insert("set-cookie", HeaderValue::from_static(secrets::SET_COOKIE));
    response
}

pub fn image_json(id: &str) -> Value {
    json!({
        "id": id,
        "folderId": "b1gfolder",
        "createdAt": "2023-11-14T22:13:20Z",
        "name": format!("image-{id}"),
        "family": "ubuntu-2204-lts",
        "size": "3221225472",
        "status": "READY",
    })
}

/// The REST side: a small part of the API, enough for the recorder's tests.
pub(super) async fn rest(request: Request<Incoming>) -> Response<FixtureBody> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = parts.uri.path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = parts.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["compute", "v1", "images"]) => json_response(
            StatusCode::OK,
            &json!({ "images": [image_json("fd8img0"), image_json("fd8img1")], "nextPageToken": "page-2" }),
        ),
        ("GET", ["compute", "v1", "images", "fd8missing"]) => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "code": 5, "message": "image `fd8missing` not found", "details": [] }),
        ),
        ("GET", ["compute", "v1", "images", id]) => json_response(StatusCode::OK, &image_json(id)),
        ("POST", ["compute", "v1", "images"]) => {
            let uri = body.get("uri").and_then(Value::as_str).unwrap_or_default();
            json_response(
                StatusCode::OK,
                &json!({ "id": "fd8op-create", "description": format!("create image from {uri}"), "done": false }),
            )
        }
        ("POST", ["iam", "v1", "tokens"]) => json_response(
            StatusCode::OK,
            &json!({ "iamToken": secrets::IAM_TOKEN_2, "expiresAt": "2026-01-01T00:00:00Z" }),
        ),
        ("POST", ["iam", "v1", "echo"]) => {
            json_response(StatusCode::OK, &json!({ "received": body }))
        }
        ("GET", ["endpoints"]) => {
            let list: Vec<Value> = endpoints()
                .iter()
                .map(|e| json!({ "id": e.id, "address": e.address }))
                .collect();
            json_response(StatusCode::OK, &json!({ "endpoints": list }))
        }
        ("GET", ["endpoints", id]) => match endpoints().into_iter().find(|e| e.id == *id) {
            Some(e) => json_response(StatusCode::OK, &json!({ "id": e.id, "address": e.address })),
            None => json_response(
                StatusCode::NOT_FOUND,
                &json!({ "code": 5, "message": "not found" }),
            ),
        },
        ("GET", ["operations", id]) => json_response(
            StatusCode::OK,
            &json!({ "id": id, "done": true, "description": "create image" }),
        ),
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "code": 5, "message": format!("no route for `{method} {path}`") }),
        ),
    }
}
