use prost::Message as _;
use prost_reflect::{DynamicMessage, SerializeOptions};
use serde_json::{Value, json};

use super::*;
use crate::compute::v1::{
    CreateImageMetadata, HardwareGeneration, Image, LegacyHardwareFeatures, Os, UpdateImageRequest,
    hardware_generation, image, os,
};
use crate::google::protobuf::{Any, Empty, FieldMask, Timestamp};
use crate::google::rpc::{BadRequest, ErrorInfo, Status, bad_request};
use crate::operation::{Operation, operation};

fn any<M: prost::Message + prost::Name>(m: &M) -> Any {
    Any {
        type_url: format!("type.googleapis.com/{}", M::full_name()),
        value: m.encode_to_vec(),
    }
}

fn image() -> Image {
    Image {
        id: "fd8img".into(),
        folder_id: "b1gfolder".into(),
        created_at: Some(Timestamp {
            seconds: 1_710_151_323,
            nanos: 456_700_000,
        }),
        name: "ubuntu".into(),
        labels: [("env", "prod"), ("a.b/c_d", "x\"y")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
        size: 10_737_418_240,
        storage_size: 4_194_304_000,
        product_ids: vec!["f2e1".into(), "f2e2".into()],
        status: 99,
        os: Some(Os {
            r#type: os::Type::Linux as i32,
            nvidia: None,
        }),
        pooled: true,
        hardware_generation: Some(HardwareGeneration {
            features: Some(hardware_generation::Features::LegacyFeatures(
                LegacyHardwareFeatures { pci_topology: 0 },
            )),
        }),
        ..Image::default()
    }
}

fn rich_messages() -> Vec<(&'static str, Vec<u8>)> {
    let image = image();
    let ready = Image {
        status: image::Status::Ready as i32,
        ..image.clone()
    };
    let done = Operation {
        id: "op1".into(),
        created_at: Some(Timestamp {
            seconds: 0,
            nanos: 1,
        }),
        done: true,
        metadata: Some(any(&CreateImageMetadata {
            image_id: "fd8img".into(),
        })),
        result: Some(operation::Result::Response(any(&ready))),
        ..Operation::default()
    };
    let failed = Operation {
        id: "op2".into(),
        result: Some(operation::Result::Error(Status {
            code: 3,
            message: "bad \u{1} request".into(),
            details: vec![
                any(&ErrorInfo {
                    reason: "R".into(),
                    domain: "d".into(),
                    metadata: [("k".to_owned(), "v".to_owned())].into(),
                }),
                any(&BadRequest {
                    field_violations: vec![bad_request::FieldViolation {
                        field: "name".into(),
                        description: "too long".into(),
                        ..Default::default()
                    }],
                }),
            ],
        })),
        ..Operation::default()
    };
    let update = UpdateImageRequest {
        image_id: "fd8img".into(),
        update_mask: Some(FieldMask {
            paths: vec!["name".into(), "min_disk_size".into(), "labels".into()],
        }),
        name: "renamed".into(),
        ..UpdateImageRequest::default()
    };
    vec![
        ("yandex.cloud.compute.v1.Image", image.encode_to_vec()),
        ("yandex.cloud.operation.Operation", done.encode_to_vec()),
        ("yandex.cloud.operation.Operation", failed.encode_to_vec()),
        (
            "yandex.cloud.compute.v1.UpdateImageRequest",
            update.encode_to_vec(),
        ),
    ]
}

/// The interim implementation, kept here as the oracle: prost-reflect's `DynamicMessage` serde.
fn prost_reflect_json(name: &str, bytes: &[u8], style: Style) -> Value {
    let descriptor = descriptor_pool().get_message_by_name(name).unwrap();
    let message = DynamicMessage::decode(descriptor, bytes).unwrap();
    let options = SerializeOptions::new()
        .stringify_64_bit_integers(true)
        .skip_default_fields(true)
        .use_proto_field_name(style == Style::Snake);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap()
}

#[test]
fn typed_output_matches_prost_reflect() {
    for (name, bytes) in rich_messages() {
        for style in [Style::Snake, Style::Camel] {
            let ours = get(name).unwrap().to_json_value(&bytes, style).unwrap();
            let theirs = prost_reflect_json(name, &bytes, style);
            assert_eq!(ours, theirs, "{name} in {style:?}");
        }
    }
}

#[test]
fn typed_output_is_in_field_number_order_with_keys_by_style() {
    let bytes = image().encode_to_vec();
    let ty = get("yandex.cloud.compute.v1.Image").unwrap();
    assert_eq!(
        ty.to_json(&bytes, Style::Camel).unwrap(),
        r#"{"id":"fd8img","folderId":"b1gfolder","createdAt":"2024-03-11T10:02:03.456700Z","name":"ubuntu","labels":{"a.b/c_d":"x\"y","env":"prod"},"storageSize":"4194304000","productIds":["f2e1","f2e2"],"status":99,"os":{"type":"LINUX"},"pooled":true,"hardwareGeneration":{"legacyFeatures":{}},"size":"10737418240"}"#
    );
    let snake = ty.to_json(&bytes, Style::Snake).unwrap();
    assert!(
        snake.contains(r#""folder_id":"b1gfolder","created_at":"#),
        "{snake}"
    );
    assert!(
        snake.contains(r#""hardware_generation":{"legacy_features":{}}"#),
        "{snake}"
    );
}

#[test]
fn field_masks_are_lower_camel_in_both_styles() {
    let (_, bytes) = rich_messages().pop().unwrap();
    let ty = get("yandex.cloud.compute.v1.UpdateImageRequest").unwrap();
    assert_eq!(
        ty.to_json_value(&bytes, Style::Snake).unwrap(),
        json!({"image_id": "fd8img", "update_mask": "name,minDiskSize,labels", "name": "renamed"})
    );
    assert_eq!(
        ty.to_json_value(&bytes, Style::Camel).unwrap(),
        json!({"imageId": "fd8img", "updateMask": "name,minDiskSize,labels", "name": "renamed"})
    );
}

#[test]
fn every_message_round_trips_through_json() {
    for (name, bytes) in rich_messages() {
        let ty = get(name).unwrap();
        for style in [Style::Snake, Style::Camel] {
            let text = ty.to_json(&bytes, style).unwrap();
            let again = ty.from_json(&text, ParseOptions::default()).unwrap();
            assert_eq!(ty.to_json(&again, style).unwrap(), text, "{name}");
            let value = ty.to_json_value(&bytes, style).unwrap();
            let again = ty.from_json_value(&value, ParseOptions::default()).unwrap();
            assert_eq!(ty.to_json(&again, style).unwrap(), text, "{name}");
        }
    }
}

#[test]
fn the_table_is_sorted_and_holds_exactly_the_api_types() {
    let names: Vec<&str> = all().iter().map(MessageType::full_name).collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]));
    for name in [
        "google.protobuf.Any",
        "google.protobuf.Duration",
        "google.protobuf.Empty",
        "google.protobuf.FieldMask",
        "google.protobuf.Timestamp",
        "google.rpc.BadRequest.FieldViolation",
        "yandex.cloud.compute.v1.Image",
        "yandex.cloud.operation.Operation",
    ] {
        assert_eq!(get(name).map(MessageType::full_name), Some(name));
    }
    assert!(get("google.protobuf.FileDescriptorProto").is_none());
    assert!(get("yandex.cloud.compute.v1.Image.LabelsEntry").is_none());
    assert!(get("yandex.cloud.compute.v1.Nope").is_none());
    let expected = descriptor_pool()
        .all_messages()
        .filter(|m| !m.is_map_entry())
        .filter(|m| m.package_name() != "google.protobuf" || get(m.full_name()).is_some())
        .count();
    assert_eq!(names.len(), expected);
    assert_eq!(
        by_type_url("type.googleapis.com/yandex.cloud.compute.v1.Image")
            .map(MessageType::full_name),
        Some("yandex.cloud.compute.v1.Image")
    );
    assert_eq!(
        get("google.protobuf.Empty").unwrap().type_url(),
        "type.googleapis.com/google.protobuf.Empty"
    );
}

#[test]
fn bad_bytes_are_an_error_naming_the_type() {
    let err = get("yandex.cloud.compute.v1.Image")
        .unwrap()
        .to_json(&[0x0a, 0x05, b'a'], Style::Snake)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid `yandex.cloud.compute.v1.Image` bytes"),
        "{err}"
    );
    let nested = Operation {
        metadata: Some(Any {
            type_url: "type.googleapis.com/yandex.cloud.compute.v1.Image".into(),
            value: vec![0xff],
        }),
        ..Operation::default()
    };
    let err = get("yandex.cloud.operation.Operation")
        .unwrap()
        .to_json(&nested.encode_to_vec(), Style::Snake)
        .unwrap_err();
    assert!(
        err.to_string().contains("`yandex.cloud.compute.v1.Image`"),
        "{err}"
    );
}

#[test]
fn empty_in_any_is_written_inline_as_the_reference_does() {
    let op = Operation {
        done: true,
        result: Some(operation::Result::Response(any(&Empty {}))),
        ..Operation::default()
    };
    let ty = get("yandex.cloud.operation.Operation").unwrap();
    assert_eq!(
        ty.to_json(&op.encode_to_vec(), Style::Camel).unwrap(),
        r#"{"done":true,"response":{"@type":"type.googleapis.com/google.protobuf.Empty"}}"#
    );
    // prost-reflect (and the facts file) add `"value": {}`; both forms parse.
    for text in [
        r#"{"done":true,"response":{"@type":"type.googleapis.com/google.protobuf.Empty"}}"#,
        r#"{"done":true,"response":{"@type":"type.googleapis.com/google.protobuf.Empty","value":{}}}"#,
    ] {
        assert_eq!(
            ty.from_json(text, ParseOptions::default()).unwrap(),
            op.encode_to_vec()
        );
    }
}

/// Where prost-reflect departs from the reference (the Python vectors), the typed path follows the reference.
#[test]
fn prost_reflect_differences_are_decided_by_the_reference() {
    let op = Operation {
        result: Some(operation::Result::Response(any(&Empty {}))),
        ..Operation::default()
    };
    let bytes = op.encode_to_vec();
    let name = "yandex.cloud.operation.Operation";
    let reference = json!({"response": {"@type": "type.googleapis.com/google.protobuf.Empty"}});
    assert_eq!(
        get(name)
            .unwrap()
            .to_json_value(&bytes, Style::Camel)
            .unwrap(),
        reference
    );
    assert_eq!(
        prost_reflect_json(name, &bytes, Style::Camel),
        json!({"response": {"@type": "type.googleapis.com/google.protobuf.Empty", "value": {}}})
    );
}
