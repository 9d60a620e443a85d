//! gRPC server reflection on replay, as grpcurl and grpcui use it: the services of the embedded schema are listed
//! and described with no `.proto` files, over both reflection versions.

use futures_util::{Stream, StreamExt as _, stream};
use prost::Message as _;
use tonic_reflection::pb::{v1, v1alpha};

use crate::{channel, replay};

/// One request, and the request side left open, as grpcurl leaves it.
fn once<T: Send + 'static>(item: T) -> impl Stream<Item = T> + Send + 'static {
    stream::iter([item]).chain(stream::pending())
}

#[tokio::test]
async fn v1_lists_and_describes_the_recorded_api() {
    let server = replay(Vec::new());
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(
        channel(server.local_addr()).await,
    );
    let ask = |request| v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };

    let mut answers = client
        .server_reflection_info(once(ask(
            v1::server_reflection_request::MessageRequest::ListServices(String::new()),
        )))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("a list of services");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "yandex.cloud.compute.v1.ImageService",
        "yandex.cloud.containerregistry.v1.ImageService",
        "yandex.cloud.operation.OperationService",
        "yandex.cloud.endpoint.ApiEndpointService",
        "yandex.cloud.iam.v1.IamTokenService",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }

    let mut answers = client
        .server_reflection_info(once(ask(
            v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                "yandex.cloud.compute.v1.ImageService".into(),
            ),
        )))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("file descriptors");
    };
    let file = prost_types::FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice())
        .unwrap();
    assert_eq!(file.name(), "yandex/cloud/compute/v1/image_service.proto");
    assert!(file.service.iter().any(|s| s.name() == "ImageService"));
}

#[tokio::test]
async fn v1alpha_lists_the_services_too() {
    let server = replay(Vec::new());
    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(
        channel(server.local_addr()).await,
    );
    let mut answers = client
        .server_reflection_info(once(v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
            ),
        }))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("a list of services");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "yandex.cloud.iam.v1.IamTokenService")
    );
}
