//! One logical API over two transports: the bundled cassettes recorded over gRPC served to a REST client and the
//! reverse, an operation polled across transports, query parameters, and misses that say what was tried.

use std::path::Path;

use http::StatusCode;
use serde_json::{Value, json};
use tonic::Code;
use yc_cassette::{Cassette, Index, Redactor};
use yc_proto::compute::v1::ListImagesRequest;
use yc_proto::containerregistry::v1::GetImageRequest;
use yc_proto::containerregistry::v1::image_service_client::ImageServiceClient;
use yc_proto::google::rpc;
use yc_proto::operation::operation_service_client::OperationServiceClient;
use yc_proto::operation::{GetOperationRequest, operation};
use yc_proxy::ReplayServer;
use yc_proxy::replay::translate::TRANSLATED_HEADER;

use crate::{Seen, cassette, channel, grpc, redact_ports, replay, rest_call};

/// Serves bundled cassettes by file name.
fn bundled(names: &[&str]) -> ReplayServer {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");
    let cassettes = names
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                Cassette::load(&dir.join(name), &yc_proto::Schema::embedded()).unwrap(),
            )
        })
        .collect();
    let index = Index::new(cassettes, Redactor::default(), yc_proto::Schema::embedded()).unwrap();
    ReplayServer::start(([127, 0, 0, 1], 0).into(), index, Default::default()).unwrap()
}

/// Status, the headers worth reading and the body, pretty when JSON.
fn render(seen: &Seen) -> String {
    let mut out = format!("HTTP {}\n", seen.status.as_u16());
    let mut names: Vec<&str> = seen
        .headers
        .keys()
        .map(|n| n.as_str())
        .filter(|n| *n != "date" && *n != "content-length")
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        for value in seen.headers.get_all(name) {
            out.push_str(&format!("{name}: {}\n", value.to_str().unwrap()));
        }
    }
    let body = match serde_json::from_str::<Value>(&seen.body) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap(),
        Err(_) => seen.body.clone(),
    };
    out.push('\n');
    out.push_str(&redact_ports(&body));
    out
}

#[tokio::test]
async fn a_grpc_recording_serves_a_rest_client() {
    let server = bundled(&["registry-get-grpc.json"]);
    let seen = rest_call(
        server.local_addr(),
        "GET",
        "/container-registry/v1/images/crp3a5b7c9d1e3f5g7h9",
        "",
        false,
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.headers[TRANSLATED_HEADER], "grpc->rest");
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(
        body["compressedSize"], "31457280",
        "camelCase, int64 as a string"
    );
    insta::assert_snapshot!(render(&seen));
    server.shutdown().await;
}

#[tokio::test]
async fn a_rest_recording_serves_a_grpc_client() {
    let server = bundled(&["registry-get-rest.json"]);
    let mut client = ImageServiceClient::new(channel(server.local_addr()).await);
    let response = client
        .get(GetImageRequest {
            image_id: "crp7k2m4n6p8q1s3u5w7".into(),
        })
        .await
        .unwrap();
    let image = response.get_ref();
    assert_eq!(image.id, "crp7k2m4n6p8q1s3u5w7");
    assert_eq!(image.name, "crp0r1s2t3u4v5w6x7y8/frontend");
    assert_eq!(image.compressed_size, 31457280);
    assert_eq!(image.layers.len(), 2);
    assert_eq!(image.tags, ["v1.4.2", "latest"]);
    assert_eq!(image.created_at.as_ref().unwrap().seconds, 1710151400);
    let metadata = response.metadata();
    assert_eq!(metadata.get("x-yc-vcr-translated").unwrap(), "rest->grpc");
    assert_eq!(
        metadata.get("x-request-id").unwrap(),
        "8495a6b7-c1d2-4e3f-9a4b-5c6d7e8f90a1"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_grpc_error_serves_rest_as_a_status_json() {
    let server = bundled(&["compute-get-not-found.json"]);
    let seen = rest_call(
        server.local_addr(),
        "GET",
        "/compute/v1/images/fd8zq4x6c8v0b2n4m6k8",
        "",
        true,
    )
    .await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    insta::assert_snapshot!(render(&seen));
    server.shutdown().await;
}

#[tokio::test]
async fn a_rest_error_serves_grpc_as_a_status_with_details() {
    let server = bundled(&["rest-error.json"]);
    let mut client = yc_proto::compute::v1::image_service_client::ImageServiceClient::new(
        channel(server.local_addr()).await,
    );
    let status = client
        .get(yc_proto::compute::v1::GetImageRequest {
            image_id: "fd8x0y2z4a6b8c0d2e4f".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "Image fd8x0y2z4a6b8c0d2e4f not found");
    let details = <rpc::Status as prost::Message>::decode(status.details()).unwrap();
    assert_eq!(details.code, 5);
    assert_eq!(
        details.details[0].type_url,
        "type.googleapis.com/google.rpc.RequestInfo"
    );
    let info = <rpc::RequestInfo as prost::Message>::decode(&*details.details[0].value).unwrap();
    assert_eq!(info.request_id, "95a6b7c8-d2e3-4f4a-8b5c-6d7e8f90a1b2");
    server.shutdown().await;
}

#[tokio::test]
async fn an_operation_created_over_rest_polls_past_the_end_of_a_grpc_recording() {
    let server = bundled(&["compute-create-poll.json"]);
    let addr = server.local_addr();
    let body = json!({
        "folderId": "b1g8a1e2k4m6n8p0q2r4",
        "name": "app-image-v42",
        "description": "Application image, build 42",
        "labels": {"env": "ci"},
        "family": "app-image",
        "minDiskSize": "10737418240",
        "diskId": "fhm1o2p3q4r5s6t7u8v9",
        "os": {"type": "LINUX"},
    });
    let created = rest_call(addr, "POST", "/compute/v1/images", &body.to_string(), false).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let operation: Value = serde_json::from_str(&created.body).unwrap();
    assert_eq!(
        operation["metadata"]["@type"],
        "type.googleapis.com/yandex.cloud.compute.v1.CreateImageMetadata"
    );
    let id = operation["id"].as_str().unwrap().to_owned();
    // Pending, then a gRPC poll takes the next answer of the same sequence, then REST sees the end, repeated.
    let first = rest_call(addr, "GET", &format!("/operations/{id}"), "", false).await;
    let first: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(first.get("done"), None);
    let mut client = OperationServiceClient::new(channel(addr).await);
    let second = client
        .get(GetOperationRequest {
            operation_id: id.clone(),
        })
        .await
        .unwrap();
    assert!(!second.get_ref().done);
    for _ in 0..3 {
        let seen = rest_call(addr, "GET", &format!("/operations/{id}"), "", false).await;
        let done: Value = serde_json::from_str(&seen.body).unwrap();
        assert_eq!(done["done"], true);
        assert_eq!(
            done["response"]["@type"],
            "type.googleapis.com/yandex.cloud.compute.v1.Image"
        );
    }
    let last = client
        .get(GetOperationRequest { operation_id: id })
        .await
        .unwrap();
    assert!(matches!(
        last.get_ref().result,
        Some(operation::Result::Response(_))
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn query_parameters_find_a_grpc_list_recording() {
    let request = ListImagesRequest {
        folder_id: "b1g8dn6s3v2eiid9dbci".into(),
        page_size: 2,
        ..Default::default()
    };
    let response = yc_proto::compute::v1::ListImagesResponse {
        images: vec![yc_proto::compute::v1::Image {
            id: "fd8kb72eo1r5fs97a1ki".into(),
            storage_size: 3221225472,
            ..Default::default()
        }],
        next_page_token: "p2".into(),
    };
    let server = replay(vec![cassette(vec![
        grpc("/yandex.cloud.compute.v1.ImageService/List")
            .request(&request)
            .response(&response)
            .build(),
    ])]);
    let addr = server.local_addr();
    for query in [
        "folderId=b1g8dn6s3v2eiid9dbci&pageSize=2",
        "page_size=2&folder_id=b1g8dn6s3v2eiid9dbci",
    ] {
        let seen = rest_call(
            addr,
            "GET",
            &format!("/compute/v1/images?{query}"),
            "",
            false,
        )
        .await;
        assert_eq!(seen.status, StatusCode::OK, "{query}: {}", seen.body);
        assert_eq!(
            seen.body,
            r#"{"images":[{"id":"fd8kb72eo1r5fs97a1ki","storageSize":"3221225472"}],"nextPageToken":"p2"}"#
        );
    }
    // Another page size is another request; an unknown parameter has no gRPC form. Both say so.
    let other = rest_call(
        addr,
        "GET",
        "/compute/v1/images?folderId=b1g8dn6s3v2eiid9dbci&pageSize=3",
        "",
        false,
    )
    .await;
    let unknown = rest_call(
        addr,
        "GET",
        "/compute/v1/images?folderId=b1g8dn6s3v2eiid9dbci&pageSize=2&view=FULL",
        "",
        false,
    )
    .await;
    let messages: Vec<String> = [other, unknown]
        .iter()
        .map(|seen| {
            assert_eq!(seen.status, StatusCode::NOT_IMPLEMENTED);
            let body: Value = serde_json::from_str(&seen.body).unwrap();
            body["message"].as_str().unwrap().to_owned()
        })
        .collect();
    insta::assert_snapshot!(messages.join("\n\n"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_miss_over_either_transport_names_the_recording_of_the_other() {
    let server = bundled(&["registry-get-grpc.json", "registry-get-rest.json"]);
    let addr = server.local_addr();
    let rest = rest_call(
        addr,
        "GET",
        "/container-registry/v1/images/crp3a5b7c9d1e3f5g7h8",
        "",
        false,
    )
    .await;
    assert_eq!(rest.status, StatusCode::NOT_IMPLEMENTED);
    assert!(rest.headers.get(TRANSLATED_HEADER).is_none());
    let body: Value = serde_json::from_str(&rest.body).unwrap();
    assert_eq!(
        body["miss"]["logical"]["closest"]["origin"],
        "registry-get-grpc.json"
    );
    let mut client = ImageServiceClient::new(channel(addr).await);
    let status = client
        .get(GetImageRequest {
            image_id: "crp7k2m4n6p8q1s3u5w8".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    insta::assert_snapshot!(format!(
        "{}\n\n{}",
        body["message"].as_str().unwrap(),
        status.message()
    ));
    server.shutdown().await;
}
