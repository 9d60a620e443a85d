//! A test written exactly as a user of yc-vcr writes one: a harness for a cassette, a tonic client on its channel,
//! insta snapshots of what the API answered.
//!
//! In CI (`CI` set) the mode is `none`: the cassette in `tests/cassettes/` is replayed and a request it does not hold
//! fails. Locally the mode is `once`: the cassette is replayed because it exists. To record it again, against the
//! cloud or, as here, against a local fake of it (`yc-vcr replay` over the bundled cassettes):
//!
//! ```sh
//! cargo run -p yc-vcr -- replay --listen 127.0.0.1:50051 &
//! YC_VCR_MODE=all YC_VCR_UPSTREAM=http://127.0.0.1:50051 cargo test -p yc-vcr --test vcr_example
//! ```

use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proto::compute::v1::{CreateImageRequest, GetImageRequest, Image, Os, os};
use yc_proto::operation::GetOperationRequest;
use yc_proto::operation::operation_service_client::OperationServiceClient;
use yc_vcr::Vcr;

#[tokio::test]
async fn an_image_is_fetched_and_a_new_one_becomes_ready() {
    let vcr = Vcr::cassette("tests/cassettes/create_image.json")
        .description("compute: get an image, create one and wait for it")
        .start()
        .await
        .unwrap();
    let mut images = ImageServiceClient::new(vcr.channel());
    let mut operations = OperationServiceClient::new(vcr.channel());

    let image = images
        .get(GetImageRequest {
            image_id: "fd8j4ab7nq2vd1sg3k9p".into(),
        })
        .await
        .unwrap()
        .into_inner();
    insta::assert_json_snapshot!(image);

    let mut operation = images
        .create(CreateImageRequest {
            folder_id: "b1g8a1e2k4m6n8p0q2r4".into(),
            name: "app-image-v42".into(),
            description: "Application image, build 42".into(),
            labels: [("env".to_owned(), "ci".to_owned())].into(),
            family: "app-image".into(),
            min_disk_size: 10_737_418_240,
            os: Some(Os {
                r#type: os::Type::Linux as i32,
                ..Default::default()
            }),
            source: Some(yc_proto::compute::v1::create_image_request::Source::DiskId(
                "fhm1o2p3q4r5s6t7u8v9".into(),
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    while !operation.done {
        operation = operations
            .get(GetOperationRequest {
                operation_id: operation.id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
    }
    let Some(yc_proto::operation::operation::Result::Response(response)) = operation.result else {
        panic!("the operation failed: {operation:?}");
    };
    let created: Image = response.to_msg().unwrap();
    insta::assert_json_snapshot!(created);

    let report = vcr.finish().await.unwrap();
    assert!(report.misses.is_empty(), "{report:?}");
}
