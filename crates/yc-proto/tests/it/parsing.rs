//! JSON input as the reference mapping reads it: int64 as numbers or strings, `null` as the default, unknown fields
//! rejected (or ignored when asked), both spellings of every field, FieldMask strings, `Any` with `@type`, Timestamps
//! with offsets; and errors for malformed input that name what is wrong.
//!
//! Expected messages are built from the typed structs, not from our own JSON, so a parser cannot agree with itself.

use prost::Message as _;
use yc_proto::compute::v1::{self as compute, Image, UpdateImageRequest};
use yc_proto::google::protobuf::{Any, FieldMask, Timestamp};
use yc_proto::json::{self, ParseOptions};
use yc_proto::operation::Operation;
use yc_proto::registry;

use crate::support::error_chain;

const STRICT: ParseOptions = ParseOptions {
    ignore_unknown_fields: false,
};
const LENIENT: ParseOptions = ParseOptions {
    ignore_unknown_fields: true,
};

fn image(json: &str, options: ParseOptions) -> Result<Image, String> {
    let bytes = registry::get("yandex.cloud.compute.v1.Image")
        .unwrap()
        .from_json(json, options)
        .map_err(|e| error_chain(&e))?;
    let via_registry = Image::decode(bytes.as_slice()).unwrap();
    // The typed entry point must agree with the registry, and the value form with the text form.
    let typed: Image = json::from_str(json, options).unwrap();
    assert_eq!(typed, via_registry, "json::from_str vs registry for {json}");
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let from_value: Image = json::from_value(&value, options).unwrap();
    assert_eq!(
        from_value, via_registry,
        "json::from_value vs registry for {json}"
    );
    Ok(via_registry)
}

fn image_error(json: &str, options: ParseOptions) -> String {
    let registry_error = registry::get("yandex.cloud.compute.v1.Image")
        .unwrap()
        .from_json(json, options)
        .expect_err(json);
    assert!(
        json::from_str::<Image>(json, options).is_err(),
        "typed path accepts {json}"
    );
    error_chain(&registry_error)
}

#[test]
fn int64_as_number_or_string() {
    let expected = Image {
        min_disk_size: 21_474_836_480,
        storage_size: -5,
        size: i64::MAX,
        ..Default::default()
    };
    for json in [
        r#"{"min_disk_size": 21474836480, "storage_size": -5, "size": 9223372036854775807}"#,
        r#"{"min_disk_size": "21474836480", "storage_size": "-5", "size": "9223372036854775807"}"#,
        r#"{"minDiskSize": "21474836480", "storageSize": -5, "size": "9223372036854775807"}"#,
    ] {
        assert_eq!(image(json, STRICT).unwrap(), expected, "{json}");
    }
    let min = Image {
        size: i64::MIN,
        ..Default::default()
    };
    assert_eq!(
        image(r#"{"size": "-9223372036854775808"}"#, STRICT).unwrap(),
        min
    );
    assert_eq!(
        image(r#"{"size": -9223372036854775808}"#, STRICT).unwrap(),
        min
    );
}

#[test]
fn int32_as_number_or_string() {
    let status = registry::get("google.rpc.Status").unwrap();
    let expected = yc_proto::google::rpc::Status {
        code: -2_147_483_648,
        ..Default::default()
    }
    .encode_to_vec();
    for json in [r#"{"code": -2147483648}"#, r#"{"code": "-2147483648"}"#] {
        assert_eq!(status.from_json(json, STRICT).unwrap(), expected, "{json}");
    }
}

#[test]
fn null_means_default() {
    let json = r#"{"id": null, "name": null, "created_at": null, "labels": null, "product_ids": null,
                   "status": null, "os": null, "pooled": null, "storage_size": null, "kmsKey": null}"#;
    assert_eq!(image(json, STRICT).unwrap(), Image::default());
    let json = r#"{"id": "fd8", "os": {"type": null, "nvidia": null}}"#;
    let expected = Image {
        id: "fd8".into(),
        os: Some(compute::Os::default()),
        ..Default::default()
    };
    assert_eq!(image(json, STRICT).unwrap(), expected);
}

#[test]
fn both_spellings_of_every_field() {
    let expected = Image {
        folder_id: "b1g".into(),
        min_disk_size: 4_194_304,
        product_ids: vec!["p".into()],
        hardware_generation: Some(compute::HardwareGeneration {
            features: Some(compute::hardware_generation::Features::LegacyFeatures(
                compute::LegacyHardwareFeatures {
                    pci_topology: compute::PciTopology::V1 as i32,
                },
            )),
        }),
        kms_key: Some(compute::KmsKey {
            key_id: "k".into(),
            version_id: "v".into(),
        }),
        ..Default::default()
    };
    for json in [
        r#"{"folder_id": "b1g", "min_disk_size": "4194304", "product_ids": ["p"],
            "hardware_generation": {"legacy_features": {"pci_topology": "PCI_TOPOLOGY_V1"}},
            "kms_key": {"key_id": "k", "version_id": "v"}}"#,
        r#"{"folderId": "b1g", "minDiskSize": "4194304", "productIds": ["p"],
            "hardwareGeneration": {"legacyFeatures": {"pciTopology": "PCI_TOPOLOGY_V1"}},
            "kmsKey": {"keyId": "k", "versionId": "v"}}"#,
        r#"{"folderId": "b1g", "min_disk_size": "4194304", "productIds": ["p"],
            "hardware_generation": {"legacyFeatures": {"pci_topology": 1}},
            "kmsKey": {"key_id": "k", "versionId": "v"}}"#,
    ] {
        assert_eq!(image(json, STRICT).unwrap(), expected, "{json}");
    }
}

#[test]
fn map_keys_are_data() {
    let image = image(
        r#"{"labels": {"folder_id": "a", "minDiskSize": "b", "": "c"}}"#,
        STRICT,
    )
    .unwrap();
    let keys: Vec<&str> = image.labels.keys().map(String::as_str).collect();
    assert_eq!(keys, ["", "folder_id", "minDiskSize"]);
}

#[test]
fn enums_by_name_or_number() {
    assert_eq!(image(r#"{"status": "READY"}"#, STRICT).unwrap().status, 2);
    assert_eq!(image(r#"{"status": 2}"#, STRICT).unwrap().status, 2);
    assert_eq!(image(r#"{"status": 99}"#, STRICT).unwrap().status, 99);
}

#[test]
fn unknown_fields_rejected_by_default_and_named() {
    for (json, field) in [
        (r#"{"id": "fd8", "bogus_field": 1}"#, "bogus_field"),
        (r#"{"os": {"type": "LINUX", "kernel": "6.1"}}"#, "kernel"),
        (
            r#"{"hardware_generation": {"legacy_features": {"pciTopologyX": 1}}}"#,
            "pciTopologyX",
        ),
    ] {
        let error = image_error(json, STRICT);
        assert!(
            error.contains(field),
            "error for {json} does not name `{field}`: {error}"
        );
    }
}

#[test]
fn unknown_fields_ignored_when_asked() {
    let expected = Image {
        id: "fd8".into(),
        os: Some(compute::Os {
            r#type: compute::os::Type::Linux as i32,
            nvidia: None,
        }),
        ..Default::default()
    };
    let json = r#"{"id": "fd8", "bogus_field": {"deep": [1, 2, {"x": null}]},
                   "os": {"type": "LINUX", "kernel": "6.1"}, "alsoUnknown": null}"#;
    assert_eq!(image(json, LENIENT).unwrap(), expected);
}

#[test]
fn unknown_fields_inside_any_follow_the_option() {
    let operation = registry::get("yandex.cloud.operation.Operation").unwrap();
    let json = r#"{"metadata": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.CreateImageMetadata",
                                "image_id": "fd8", "extra": true}}"#;
    let error = error_chain(&operation.from_json(json, STRICT).unwrap_err());
    assert!(error.contains("extra"), "{error}");
    let bytes = operation.from_json(json, LENIENT).unwrap();
    let metadata = Operation::decode(bytes.as_slice())
        .unwrap()
        .metadata
        .unwrap();
    let inner = compute::CreateImageMetadata::decode(metadata.value.as_slice()).unwrap();
    assert_eq!(inner.image_id, "fd8");
}

#[test]
fn field_mask_string_form() {
    let request: UpdateImageRequest = json::from_str(
        r#"{"imageId": "fd8", "updateMask": "name,minDiskSize,labels,hardwareGeneration.legacyFeatures"}"#,
        STRICT,
    )
    .unwrap();
    assert_eq!(
        request.update_mask,
        Some(FieldMask {
            paths: vec![
                "name".into(),
                "min_disk_size".into(),
                "labels".into(),
                "hardware_generation.legacy_features".into()
            ]
        })
    );
    let registry = registry::get("yandex.cloud.compute.v1.UpdateImageRequest").unwrap();
    let bytes = registry
        .from_json(r#"{"update_mask": "name,minDiskSize"}"#, STRICT)
        .unwrap();
    let request = UpdateImageRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        request.update_mask.unwrap().paths,
        ["name", "min_disk_size"]
    );
    let bytes = registry
        .from_json(r#"{"update_mask": ""}"#, STRICT)
        .unwrap();
    let request = UpdateImageRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        request.update_mask.unwrap_or_default().paths,
        Vec::<String>::new()
    );
}

#[test]
fn any_with_type_in_any_position() {
    let expected = Any {
        type_url: "type.googleapis.com/yandex.cloud.compute.v1.Image".into(),
        value: Image {
            id: "fd8".into(),
            size: 7,
            ..Default::default()
        }
        .encode_to_vec(),
    };
    for json in [
        r#"{"response": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "id": "fd8", "size": "7"}}"#,
        r#"{"response": {"id": "fd8", "size": 7, "@type": "type.googleapis.com/yandex.cloud.compute.v1.Image"}}"#,
    ] {
        let operation: Operation = json::from_str(json, STRICT).unwrap();
        let Some(yc_proto::operation::operation::Result::Response(any)) = operation.result else {
            panic!("no response in {operation:?}")
        };
        assert_eq!(any, expected, "{json}");
    }
}

#[test]
fn any_holding_empty_accepts_both_forms() {
    // The reference runtimes write `{"@type": ".../google.protobuf.Empty"}`; Go writes `"value": {}` as well.
    for json in [
        r#"{"done": true, "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}"#,
        r#"{"done": true, "response": {"@type": "type.googleapis.com/google.protobuf.Empty", "value": {}}}"#,
    ] {
        let operation: Operation = json::from_str(json, STRICT).unwrap();
        let Some(yc_proto::operation::operation::Result::Response(any)) = operation.result else {
            panic!("no response for {json}")
        };
        assert_eq!(any.type_url, "type.googleapis.com/google.protobuf.Empty");
        assert!(any.value.is_empty());
    }
}

#[test]
fn timestamp_with_offset_is_normalised_to_utc() {
    let utc = Timestamp {
        seconds: 1_710_151_323,
        nanos: 456_000_000,
    };
    for stamp in [
        "2024-03-11T10:02:03.456Z",
        "2024-03-11T13:02:03.456+03:00",
        "2024-03-11T05:32:03.456-04:30",
        "2024-03-11T10:02:03.456000000Z",
    ] {
        let json = format!(r#"{{"created_at": "{stamp}"}}"#);
        assert_eq!(
            image(&json, STRICT).unwrap().created_at,
            Some(utc),
            "{stamp}"
        );
    }
}

/// Every error names the type and the problem; the texts are snapshotted together so a wording change is reviewed.
#[test]
fn errors_say_what_is_wrong() {
    let image_type = registry::get("yandex.cloud.compute.v1.Image").unwrap();
    let operation_type = registry::get("yandex.cloud.operation.Operation").unwrap();
    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut json_case = |name: &'static str, json: &str, must_name: &[&str]| {
        let error = image_error(json, STRICT);
        assert!(
            error.contains("yandex.cloud.compute.v1.Image"),
            "{name}: {error}"
        );
        for needle in must_name {
            assert!(
                error.contains(needle),
                "{name}: error does not mention `{needle}`: {error}"
            );
        }
        cases.push((name, error));
    };
    json_case("malformed json", r#"{"id": "fd8", "#, &[]);
    json_case("trailing garbage", r#"{"id": "fd8"} x"#, &[]);
    json_case("not an object", "[1, 2]", &[]);
    json_case("string field given a number", r#"{"id": 5}"#, &[]);
    json_case("bool field given a string", r#"{"pooled": "yes"}"#, &[]);
    json_case("int64 not a number", r#"{"size": "12abc"}"#, &[]);
    json_case(
        "int64 out of range",
        r#"{"size": "9223372036854775808"}"#,
        &[],
    );
    json_case("int64 fraction", r#"{"size": 1.5}"#, &["at `size`", "1.5"]);
    json_case(
        "field spelled in camelCase",
        r#"{"minDiskSize": "x"}"#,
        &["at `min_disk_size`"],
    );
    json_case("map given a list", r#"{"labels": ["a"]}"#, &["at `labels`"]);
    json_case(
        "map value not a string",
        r#"{"labels": {"env": 1}}"#,
        &["at `labels.env`"],
    );
    json_case(
        "map key that is not a plain word",
        r#"{"labels": {"a.b": 1}}"#,
        &[r#"at `labels["a.b"]`"#],
    );
    json_case(
        "repeated given a string",
        r#"{"product_ids": "p"}"#,
        &["at `product_ids`"],
    );
    json_case(
        "repeated element of the wrong type",
        r#"{"product_ids": ["p", 5]}"#,
        &["at `product_ids[1]`"],
    );
    json_case(
        "unknown enum name",
        r#"{"status": "BOGUS"}"#,
        &["at `status`", "BOGUS"],
    );
    json_case(
        "nested enum",
        r#"{"os": {"type": "MAC"}}"#,
        &["at `os.type`", "MAC"],
    );
    json_case(
        "nested unknown field",
        r#"{"os": {"kind": "LINUX"}}"#,
        &["at `os`", "kind"],
    );
    json_case(
        "nested field given twice",
        r#"{"os": {"type": "LINUX", "type": "WINDOWS"}}"#,
        &["at `os`", "type"],
    );
    json_case(
        "nested error after a null (pre-pass)",
        r#"{"id": null, "os": {"type": "MAC"}}"#,
        &["at `os.type`", "MAC"],
    );
    json_case(
        "timestamp month 13",
        r#"{"created_at": "2024-13-01T00:00:00Z"}"#,
        &[],
    );
    json_case(
        "timestamp without zone",
        r#"{"created_at": "2024-03-11T10:02:03"}"#,
        &[],
    );
    json_case("unknown field", r#"{"bogus_field": 1}"#, &["bogus_field"]);
    json_case(
        "field given twice",
        r#"{"folder_id": "a", "folderId": "b"}"#,
        &[],
    );

    let lenient = image_error(r#"{"bogus": 1, "size": 1.5}"#, LENIENT);
    assert!(lenient.contains("at `size`"), "{lenient}");
    cases.push(("int64 fraction, unknown fields ignored (pre-pass)", lenient));

    let mut other = |name: &'static str, error: yc_proto::Error, must_name: &[&str]| {
        let error = error_chain(&error);
        for needle in must_name {
            assert!(
                error.contains(needle),
                "{name}: error does not mention `{needle}`: {error}"
            );
        }
        cases.push((name, error));
    };
    let full = Image {
        id: "fd8abc".into(),
        name: "ubuntu".into(),
        ..Default::default()
    }
    .encode_to_vec();
    other(
        "truncated binary",
        image_type
            .to_json(&full[..full.len() - 3], json::Style::Snake)
            .unwrap_err(),
        &["yandex.cloud.compute.v1.Image"],
    );
    other(
        "binary with a bad wire type",
        image_type
            .to_json(&[0x0f, 0x01], json::Style::Camel)
            .unwrap_err(),
        &["yandex.cloud.compute.v1.Image"],
    );
    other(
        "any with an unknown type",
        operation_type
            .from_json(
                r#"{"response": {"@type": "type.googleapis.com/no.such.Type", "x": 1}}"#,
                STRICT,
            )
            .unwrap_err(),
        &["no.such.Type"],
    );
    other(
        "any without @type",
        operation_type
            .from_json(r#"{"response": {"id": "fd8"}}"#, STRICT)
            .unwrap_err(),
        &["@type"],
    );
    other(
        "repeated message element",
        registry::get("yandex.cloud.compute.v1.ListImagesResponse")
            .unwrap()
            .from_json(r#"{"images": [{}, {"size": 1.5}]}"#, STRICT)
            .unwrap_err(),
        &["at `images[1].size`"],
    );
    other(
        "any payload field",
        operation_type
            .from_json(
                r#"{"response": {"@type": "type.googleapis.com/yandex.cloud.operation.Operation", "created_at": "2024-13-01T00:00:00Z"}}"#,
                STRICT,
            )
            .unwrap_err(),
        &["at `response.created_at`"],
    );
    other(
        "any payload of a well-known type",
        operation_type
            .from_json(
                r#"{"metadata": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1m"}}"#,
                STRICT,
            )
            .unwrap_err(),
        &["at `metadata.value`"],
    );
    other(
        "any inside any",
        operation_type
            .from_json(
                r#"{"response": {"@type": "type.googleapis.com/yandex.cloud.operation.Operation", "response": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "os": {"type": "MAC"}}}}"#,
                STRICT,
            )
            .unwrap_err(),
        &["at `response.response.os.type`"],
    );
    other(
        "any payload with an unknown field",
        operation_type
            .from_json(
                r#"{"response": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "bogus": 1}}"#,
                STRICT,
            )
            .unwrap_err(),
        &["at `response`", "bogus"],
    );
    // An Any whose payload bytes do not decode as the named type cannot be written as JSON.
    let broken_any = Operation {
        metadata: Some(Any {
            type_url: "type.googleapis.com/yandex.cloud.compute.v1.CreateImageMetadata".into(),
            value: vec![0x0a, 0x05, b'a'],
        }),
        ..Default::default()
    }
    .encode_to_vec();
    other(
        "any with truncated payload",
        operation_type
            .to_json(&broken_any, json::Style::Snake)
            .unwrap_err(),
        &[],
    );

    let rendered: String = cases
        .iter()
        .map(|(name, error)| format!("{name}:\n  {error}\n"))
        .collect();
    insta::assert_snapshot!(rendered);
}

#[test]
fn unknown_type_names() {
    assert!(registry::get("yandex.cloud.compute.v1.Nope").is_none());
    assert!(registry::get("").is_none());
    assert!(registry::get("Image").is_none());
    assert!(registry::by_type_url("type.googleapis.com/no.such.Type").is_none());
    assert_eq!(
        registry::by_type_url("type.googleapis.com/yandex.cloud.compute.v1.Image")
            .map(|t| t.full_name()),
        Some("yandex.cloud.compute.v1.Image")
    );
    assert_eq!(
        registry::get("google.rpc.Status").map(|t| t.type_url()),
        Some("type.googleapis.com/google.rpc.Status".to_owned())
    );
}
