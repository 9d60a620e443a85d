//! Opt-in: recording against the real Yandex Cloud. Set `YC_TOKEN` (an IAM token) and `YC_FOLDER_ID`; without
//! them the test says it is skipped and passes. It records compute `ImageService/List` and a `Get` of the first image
//! (when the folder has one) through the default routes over TLS, and checks the file holds no token.

use yc_cassette::Interaction;
use yc_proto::compute::v1 as compute;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proxy::upstream::Upstreams;

use crate::channel;
use crate::record::Recording;

#[tokio::test]
async fn records_compute_images_from_the_real_cloud() {
    let (Ok(token), Ok(folder)) = (std::env::var("YC_TOKEN"), std::env::var("YC_FOLDER_ID")) else {
        eprintln!(
            "skipped: set YC_TOKEN (an IAM token) and YC_FOLDER_ID to record against Yandex Cloud"
        );
        return;
    };
    let recording = Recording::start(Upstreams::yandex()).await;
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    let list = client
        .list(authorized(
            &token,
            compute::ListImagesRequest {
                folder_id: folder.clone(),
                page_size: 10,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut expected = 1;
    if let Some(first) = list.images.first() {
        let image = client
            .get(authorized(
                &token,
                compute::GetImageRequest {
                    image_id: first.id.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(image.id, first.id);
        expected += 1;
    }
    let (summary, cassette, text, _dir) = recording.finish().await;
    assert_eq!(summary.recorded, expected);
    let Interaction::Grpc(call) = &cassette.interactions[0] else {
        panic!("a gRPC interaction")
    };
    assert_eq!(call.method, "/yandex.cloud.compute.v1.ImageService/List");
    assert_eq!(call.response.status.code, 0);
    assert!(!text.contains(&token), "the token reached the file");
    assert!(yc_cassette::scan_text(&text).is_empty());
    eprintln!(
        "recorded {expected} calls from folder `{folder}` ({} images listed)",
        list.images.len()
    );
}

fn authorized<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}
