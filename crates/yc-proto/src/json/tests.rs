use serde_json::json;

use super::*;
use crate::compute::v1::{Image, LegacyHardwareFeatures, Os, UpdateImageRequest, image};
use crate::google::protobuf::{Any, FieldMask, Timestamp};
use crate::operation::{Operation, operation};

const STRICT: ParseOptions = ParseOptions {
    ignore_unknown_fields: false,
};
const LENIENT: ParseOptions = ParseOptions {
    ignore_unknown_fields: true,
};

/// Parses through every entry point (typed and registry, text and value) and checks they agree.
fn parse<M: JsonMessage + PartialEq + std::fmt::Debug>(
    text: &str,
    options: ParseOptions,
) -> Result<M, Error> {
    let typed = from_str::<M>(text, options);
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    let from_value = from_value::<M>(&value, options);
    let ty = crate::registry::get(&M::full_name()).unwrap();
    let registry = ty
        .from_json(text, options)
        .map(|bytes| M::decode(bytes.as_slice()).unwrap());
    let registry_value = ty
        .from_json_value(&value, options)
        .map(|bytes| M::decode(bytes.as_slice()).unwrap());
    assert_eq!(typed.as_ref().ok(), from_value.as_ref().ok(), "{text}");
    assert_eq!(typed.as_ref().ok(), registry.as_ref().ok(), "{text}");
    assert_eq!(typed.as_ref().ok(), registry_value.as_ref().ok(), "{text}");
    typed
}

#[test]
fn typed_output_equals_registry_output() {
    let image = Image {
        id: "fd8".into(),
        status: image::Status::Ready as i32,
        created_at: Some(Timestamp {
            seconds: 1,
            nanos: 5_000,
        }),
        ..Image::default()
    };
    for style in [Style::Snake, Style::Camel] {
        let typed = to_string(&image, style).unwrap();
        let registry = crate::registry::get("yandex.cloud.compute.v1.Image")
            .unwrap()
            .to_json(&prost::Message::encode_to_vec(&image), style)
            .unwrap();
        assert_eq!(typed, registry);
        assert_eq!(
            to_value(&image, style).unwrap(),
            serde_json::from_str::<serde_json::Value>(&typed).unwrap()
        );
    }
    assert_eq!(
        to_string(&image, Style::Snake).unwrap(),
        r#"{"id":"fd8","created_at":"1970-01-01T00:00:01.000005Z","status":"READY"}"#
    );
}

#[test]
fn null_means_the_default_for_every_kind_of_field() {
    let image: Image = parse(
        r#"{"id": null, "folderId": "f", "createdAt": null, "labels": null, "productIds": null,
            "size": null, "status": null, "pooled": null, "os": {"type": null, "nvidia": null},
            "hardwareGeneration": null}"#,
        STRICT,
    )
    .unwrap();
    assert_eq!(
        image,
        Image {
            folder_id: "f".into(),
            os: Some(Os::default()),
            ..Image::default()
        }
    );
    // Inside an `Any` payload too.
    let op: Operation = parse(
        r#"{"response": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "name": null, "id": "x"}}"#,
        STRICT,
    )
    .unwrap();
    let Some(operation::Result::Response(any)) = op.result else {
        panic!("{op:?}")
    };
    assert_eq!(
        <Image as prost::Message>::decode(any.value.as_slice())
            .unwrap()
            .id,
        "x"
    );
}

#[test]
fn unknown_fields_are_rejected_with_the_type_and_position() {
    let err = from_str::<Image>(r#"{"id": "a", "foo": 1}"#, STRICT).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid `yandex.cloud.compute.v1.Image` JSON: unknown field `foo`, expected one of \
         `id`, `folder_id`, `folderId`, `created_at`, `createdAt`, `name`, `description`, `labels`, \
         `family`, `size`, `storage_size`, `storageSize`, `min_disk_size`, `minDiskSize`, `product_ids`, \
         `productIds`, `status`, `os`, `pooled`, `hardware_generation`, `hardwareGeneration`, `kms_key`, \
         `kmsKey` (line 1, column 17)"
    );
    let nested = parse::<Image>(r#"{"os": {"foo": 1}}"#, STRICT).unwrap_err();
    assert!(
        nested.to_string().starts_with(
            "invalid `yandex.cloud.compute.v1.Image` JSON at `os`: unknown field `foo`"
        ),
        "{nested}"
    );
    assert!(
        parse::<Operation>(
            r#"{"metadata": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "foo": 1}}"#,
            STRICT
        )
        .is_err()
    );
}

#[test]
fn unknown_fields_are_dropped_when_asked_everywhere() {
    let image: Image = parse(
        r#"{"id": "a", "foo": {"bar": [1]}, "os": {"type": "LINUX", "baz": null},
            "hardwareGeneration": {"legacyFeatures": {"pciTopology": 1, "x": 2}, "y": 3}}"#,
        LENIENT,
    )
    .unwrap();
    assert_eq!(image.id, "a");
    assert_eq!(image.os.unwrap().r#type, 1);
    let op: Operation = parse(
        r#"{"unknown": 1, "metadata": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "foo": 1, "kmsKey": {"keyId": "k", "z": 0}},
            "error": {"code": 3, "details": [{"@type": "type.googleapis.com/google.protobuf.Timestamp", "value": "1970-01-01T00:00:00Z", "extra": 1}]}}"#,
        LENIENT,
    )
    .unwrap();
    let metadata = op.metadata.unwrap();
    let image = <Image as prost::Message>::decode(metadata.value.as_slice()).unwrap();
    assert_eq!(image.kms_key.unwrap().key_id, "k");
    let Some(operation::Result::Error(status)) = op.result else {
        panic!()
    };
    assert_eq!(status.details.len(), 1);
}

#[test]
fn enums_parse_by_name_or_any_number() {
    for (text, status) in [
        (r#"{"status": "READY"}"#, 2),
        (r#"{"status": 2}"#, 2),
        (r#"{"status": 99}"#, 99),
        (r#"{"status": -7}"#, -7),
        (r#"{"status": "2"}"#, 2),
        (r#"{"status": "77"}"#, 77),
    ] {
        assert_eq!(
            parse::<Image>(text, STRICT).unwrap().status,
            status,
            "{text}"
        );
    }
    let err = from_str::<Image>(r#"{"status": "NOPE"}"#, STRICT).unwrap_err();
    assert!(
        err.to_string()
            .contains("at `status`: unknown enum value `NOPE`"),
        "{err}"
    );
    assert!(parse::<Image>(r#"{"status": "2.5"}"#, STRICT).is_err());
    assert!(parse::<Image>(r#"{"status": 4294967296}"#, STRICT).is_err());
    let f: LegacyHardwareFeatures = parse(r#"{"pci_topology": 42}"#, STRICT).unwrap();
    assert_eq!(f.pci_topology, 42);
    let image = Image {
        status: 42,
        ..Image::default()
    };
    assert_eq!(
        to_value(&image, Style::Camel).unwrap(),
        json!({"status": 42})
    );
}

#[test]
fn numbers_parse_as_numbers_or_strings_and_fields_in_either_spelling() {
    let a: Image = parse(
        r#"{"min_disk_size": "42", "storageSize": 7, "size": 5}"#,
        STRICT,
    )
    .unwrap();
    assert_eq!((a.min_disk_size, a.storage_size, a.size), (42, 7, 5));
    let c: Image = parse(
        r#"{"size": 1e3, "storageSize": 7.0, "minDiskSize": "-3"}"#,
        STRICT,
    )
    .unwrap();
    assert_eq!((c.size, c.storage_size, c.min_disk_size), (1000, 7, -3));
    let err = from_str::<Image>(r#"{"size": true}"#, STRICT).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid `yandex.cloud.compute.v1.Image` JSON at `size`: invalid type: boolean `true`, \
         expected a 64-bit integer as a number or a string (line 1, column 13)"
    );
    for bad in [
        r#"{"size": "x"}"#,
        r#"{"size": 1.5}"#,
        r#"{"size": "1e3"}"#,
        r#"{"size": " 1"}"#,
        r#"{"size": 9223372036854775808}"#,
        r#"{"size": 1e19}"#,
    ] {
        assert!(parse::<Image>(bad, STRICT).is_err(), "{bad}");
    }
    let b: UpdateImageRequest = parse(
        r#"{"image_id": "i", "updateMask": "name,minDiskSize"}"#,
        STRICT,
    )
    .unwrap();
    assert_eq!(
        b.update_mask,
        Some(FieldMask {
            paths: vec!["name".into(), "min_disk_size".into()]
        })
    );
}

#[test]
fn to_string_reports_what_cannot_be_written() {
    let op = Operation {
        metadata: Some(Any {
            type_url: "type.googleapis.com/nope.Missing".into(),
            value: vec![],
        }),
        ..Operation::default()
    };
    assert_eq!(
        to_string(&op, Style::Snake).unwrap_err().to_string(),
        "invalid `google.protobuf.Any` JSON: unknown type `type.googleapis.com/nope.Missing`"
    );
    let image = Image {
        created_at: Some(Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        }),
        ..Image::default()
    };
    assert!(
        to_string(&image, Style::Snake)
            .unwrap_err()
            .to_string()
            .contains("out of range")
    );
}

#[test]
fn floats_parse_as_the_reference_reads_them() {
    let f64_of = |text: &str| serde_json::from_str::<Number<f64>>(text).map(|n| n.0).ok();
    let f32_of = |text: &str| serde_json::from_str::<Number<f32>>(text).map(|n| n.0).ok();
    assert_eq!(f64_of("1.5"), Some(1.5));
    assert_eq!(f64_of("\"1e20\""), Some(1e20));
    assert_eq!(f64_of("3"), Some(3.0));
    assert_eq!(f64_of("\"Infinity\""), Some(f64::INFINITY));
    assert_eq!(f64_of("\"-Infinity\""), Some(f64::NEG_INFINITY));
    assert!(f64_of("\"NaN\"").unwrap().is_nan());
    assert_eq!(f64_of("\"inf\""), None);
    assert_eq!(f64_of("true"), None);
    assert_eq!(f32_of("0.1"), Some(0.1));
    assert_eq!(f32_of("1e39"), None);
    assert_eq!(serde_json::from_str::<Number<u32>>("-1").ok(), None);
    assert_eq!(
        serde_json::from_str::<Number<i32>>("\"-2147483648\"")
            .unwrap()
            .0,
        i32::MIN
    );
    assert_eq!(serde_json::from_str::<Number<i32>>("2147483648").ok(), None);
}
