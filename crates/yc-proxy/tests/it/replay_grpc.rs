//! gRPC replay seen through tonic clients: hits, statuses with details, sequences, concurrency and misses.

use prost::Message as _;
use serde_json::json;
use tonic::Code;
use yc_cassette::{GrpcStatus, Interaction};
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proto::compute::v1::{GetImageRequest, Image};
use yc_proto::google::rpc;
use yc_proto::operation::operation_service_client::OperationServiceClient;
use yc_proto::operation::{GetOperationRequest, Operation, operation};

use crate::{cassette, channel, grpc, headers, redact_ports, replay, shuffle};

const GET_IMAGE: &str = "/yandex.cloud.compute.v1.ImageService/Get";
const GET_OPERATION: &str = "/yandex.cloud.operation.OperationService/Get";

fn image(id: &str) -> Image {
    Image {
        id: id.into(),
        folder_id: "b1g8dn6s3v2eiid9dbci".into(),
        name: format!("image-{id}"),
        family: "ubuntu-2204-lts".into(),
        ..Default::default()
    }
}

fn get(id: &str) -> GetImageRequest {
    GetImageRequest {
        image_id: id.into(),
    }
}

#[tokio::test]
async fn unary_hit_has_the_recorded_message_headers_and_trailers() {
    let mut interaction = grpc(GET_IMAGE)
        .request(&get("fd8kb72eo1r5fs97a1ki"))
        .response(&image("fd8kb72eo1r5fs97a1ki"))
        .build();
    if let Interaction::Grpc(grpc) = &mut interaction {
        grpc.response.headers = headers(&[
            ("content-type", "application/grpc"),
            ("x-server-trace-id", "c0ffee"),
        ]);
        grpc.response.trailers = headers(&[("x-server-timing", "12ms")]);
    }
    let server = replay(vec![cassette(vec![interaction])]);
    let mut client = ImageServiceClient::new(channel(server.local_addr()).await);

    let response = client.get(get("fd8kb72eo1r5fs97a1ki")).await.unwrap();
    assert_eq!(response.get_ref(), &image("fd8kb72eo1r5fs97a1ki"));
    assert_eq!(
        response.metadata().get("x-server-trace-id").unwrap(),
        "c0ffee"
    );
    // tonic folds the trailers of a unary call into its metadata.
    assert_eq!(response.metadata().get("x-server-timing").unwrap(), "12ms");
    assert!(response.metadata().get("x-yc-vcr-miss").is_none());
    server.shutdown().await;
}

fn not_found_status() -> GrpcStatus {
    GrpcStatus {
        code: 5,
        message: "Image fd8nonexistent not found ✗ 100%".into(),
        details: vec![json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "IMAGE_NOT_FOUND",
            "domain": "compute.api.cloud.yandex.net",
            "metadata": { "image_id": "fd8nonexistent" },
        })],
        details_bin: None,
    }
}

#[tokio::test]
async fn error_status_carries_message_and_decoded_details() {
    for trailers_only in [false, true] {
        let interaction = grpc(GET_IMAGE)
            .request(&get("fd8nonexistent"))
            .status(not_found_status())
            .with(|call| call.response.trailers_only = trailers_only)
            .build();
        let server = replay(vec![cassette(vec![interaction])]);
        let mut client = ImageServiceClient::new(channel(server.local_addr()).await);

        let status = client.get(get("fd8nonexistent")).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::NotFound,
            "trailers_only: {trailers_only}"
        );
        assert_eq!(status.message(), "Image fd8nonexistent not found ✗ 100%");
        let details = rpc::Status::decode(status.details()).unwrap();
        assert_eq!(details.code, 5);
        assert_eq!(details.details.len(), 1);
        assert_eq!(
            details.details[0].type_url,
            "type.googleapis.com/google.rpc.ErrorInfo"
        );
        let info = rpc::ErrorInfo::decode(details.details[0].value.as_slice()).unwrap();
        assert_eq!(info.reason, "IMAGE_NOT_FOUND");
        assert_eq!(info.metadata["image_id"], "fd8nonexistent");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn recorded_details_bin_text_is_sent_verbatim() {
    let mut status = not_found_status();
    let details = rpc::Status {
        code: 5,
        message: "something else entirely".into(),
        details: vec![],
    };
    status.details_bin = Some(base64_padded(&details.encode_to_vec()));
    let server = replay(vec![cassette(vec![
        grpc(GET_IMAGE).request(&get("fd8x")).status(status).build(),
    ])]);
    let mut client = ImageServiceClient::new(channel(server.local_addr()).await);
    let status = client.get(get("fd8x")).await.unwrap_err();
    assert_eq!(rpc::Status::decode(status.details()).unwrap(), details);
    server.shutdown().await;
}

fn base64_padded(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn operation(done: bool) -> Operation {
    Operation {
        id: "fd8op3b2rkqf8hkd5k7e".into(),
        description: "Create image".into(),
        done,
        result: done.then(|| {
            operation::Result::Response(yc_proto::google::protobuf::Any {
                type_url: "type.googleapis.com/yandex.cloud.compute.v1.Image".into(),
                value: image("fd8new").encode_to_vec(),
            })
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn identical_requests_get_recorded_order_then_the_last_repeats() {
    let poll = GetOperationRequest {
        operation_id: "fd8op3b2rkqf8hkd5k7e".into(),
    };
    let server = replay(vec![cassette(vec![
        grpc(GET_OPERATION)
            .request(&poll)
            .response(&operation(false))
            .build(),
        grpc(GET_OPERATION)
            .request(&poll)
            .response(&operation(false))
            .build(),
        grpc(GET_OPERATION)
            .request(&poll)
            .response(&operation(true))
            .build(),
    ])]);
    let mut client = OperationServiceClient::new(channel(server.local_addr()).await);
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(client.get(poll.clone()).await.unwrap().into_inner().done);
    }
    assert_eq!(seen, [false, false, true, true, true]);
    let last = client.get(poll.clone()).await.unwrap().into_inner();
    assert_eq!(last, operation(true));
    server.shutdown().await;
}

#[tokio::test]
async fn two_hundred_concurrent_calls_in_shuffled_order_each_get_their_own_answer() {
    let ids: Vec<String> = (0..200).map(|i| format!("fd8img{i:04}")).collect();
    let interactions = ids
        .iter()
        .map(|id| {
            grpc(GET_IMAGE)
                .request(&get(id))
                .response(&image(id))
                .build()
        })
        .collect();
    let server = replay(vec![cassette(interactions)]);
    let channels = [
        channel(server.local_addr()).await,
        channel(server.local_addr()).await,
    ];

    let mut order = ids.clone();
    shuffle(&mut order, 0x5eed_1234);
    let mut calls = tokio::task::JoinSet::new();
    for (i, id) in order.into_iter().enumerate() {
        let mut client = ImageServiceClient::new(channels[i % channels.len()].clone());
        calls.spawn(async move {
            let image = client.get(get(&id)).await.unwrap().into_inner();
            (id, image)
        });
    }
    let mut answered = 0;
    while let Some(result) = calls.join_next().await {
        let (id, got) = result.unwrap();
        assert_eq!(got, image(&id));
        answered += 1;
    }
    assert_eq!(answered, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn a_miss_is_unmistakable() {
    let server = replay(vec![cassette(vec![
        grpc(GET_IMAGE)
            .request(&get("fd8kb72eo1r5fs97a1ki"))
            .response(&image("fd8kb72eo1r5fs97a1ki"))
            .build(),
    ])]);
    let mut client = ImageServiceClient::new(channel(server.local_addr()).await);
    let status = client.get(get("fd8kb72eo1r5fs97a1kX")).await.unwrap_err();

    assert_eq!(status.code(), Code::Unimplemented);
    assert!(status.message().starts_with(yc_proxy::replay::MISS_PREFIX));
    assert_eq!(status.metadata().get("x-yc-vcr-miss").unwrap(), "1");
    let details = rpc::Status::decode(status.details()).unwrap();
    let info = rpc::ErrorInfo::decode(details.details[0].value.as_slice()).unwrap();
    assert_eq!(
        (info.domain.as_str(), info.reason.as_str()),
        ("yc-vcr", "NO_RECORDED_INTERACTION")
    );
    insta::assert_snapshot!(redact_ports(status.message()));

    // A method nothing was recorded for.
    let mut operations = OperationServiceClient::new(channel(server.local_addr()).await);
    let status = operations
        .get(GetOperationRequest {
            operation_id: "fd8op".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    insta::assert_snapshot!("miss_other_method", redact_ports(status.message()));
    server.shutdown().await;
}

/// Answers are prepared when first asked for, and loading checks that each can be sent; an interaction built in
/// memory that loading never saw (a trailers-only response carrying a message) is answered `INTERNAL`, naming it,
/// and the server goes on answering the rest.
#[tokio::test]
async fn an_answer_that_cannot_be_sent_is_an_internal_error_naming_it() {
    let mut broken = grpc(GET_IMAGE)
        .request(&get("fd8broken"))
        .response(&image("fd8broken"))
        .build();
    if let Interaction::Grpc(g) = &mut broken {
        g.response.trailers_only = true;
    }
    let fine = grpc(GET_IMAGE)
        .request(&get("fd8fine"))
        .response(&image("fd8fine"))
        .build();
    let server = replay(vec![cassette(vec![broken, fine])]);
    let mut client = ImageServiceClient::new(channel(server.local_addr()).await);
    for _ in 0..2 {
        let status = client.get(get("fd8broken")).await.unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert!(
            status.message().contains("cannot replay interaction 0 of")
                && status
                    .message()
                    .contains("a trailers-only response cannot carry messages"),
            "{}",
            status.message()
        );
    }
    let response = client.get(get("fd8fine")).await.unwrap();
    assert_eq!(response.get_ref(), &image("fd8fine"));
    server.shutdown().await;
}
