//! Every message is `serde::Serialize` in the REST style, and `json::snake` in the gRPC reference's, so users
//! snapshot API types with insta directly; both give exactly what the typed writer gives.

use yc_proto::compute::v1::{Image, Os, os};
use yc_proto::google::protobuf::Timestamp;
use yc_proto::json::{self, Style};
use yc_proto::operation::Operation;

fn image() -> Image {
    Image {
        id: "fd8j4ab7nq2vd1sg3k9p".into(),
        folder_id: "standard-images".into(),
        created_at: Some(Timestamp {
            seconds: 1_710_151_323,
            nanos: 456_000_000,
        }),
        storage_size: 8_214_544_384,
        os: Some(Os {
            r#type: os::Type::Linux as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn serde_writes_what_the_writer_writes_in_both_styles() {
    let image = image();
    assert_eq!(
        serde_json::to_string(&image).unwrap(),
        json::to_string(&image, Style::Camel).unwrap()
    );
    assert_eq!(
        serde_json::to_string(&json::snake(&image)).unwrap(),
        json::to_string(&image, Style::Snake).unwrap()
    );
    let timestamp = image.created_at.unwrap();
    assert_eq!(
        serde_json::to_string(&timestamp).unwrap(),
        r#""2024-03-11T10:02:03.456Z""#
    );
}

#[test]
fn insta_snapshots_api_types_directly() {
    insta::assert_json_snapshot!("image_camel", image());
    insta::assert_json_snapshot!("image_snake", json::snake(&image()));
    let operation = Operation {
        id: "fd8nq2c9t4v6x8z1b3d5".into(),
        done: true,
        ..Default::default()
    };
    insta::assert_json_snapshot!("operation", operation);
}
