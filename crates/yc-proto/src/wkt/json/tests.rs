use serde_json::json;

use crate::compute::v1::Image;
use crate::google::protobuf::{Any, Duration, Empty, FieldMask, Timestamp};
use crate::json::{ParseOptions, Style, from_str, from_value, to_string, to_value};

fn parse<M: crate::json::JsonMessage>(text: &str) -> Result<M, crate::Error> {
    from_str(text, ParseOptions::default())
}

#[test]
fn timestamps_parse_offsets_and_lowercase() {
    assert_eq!(
        parse::<Timestamp>(r#""2024-03-11t13:02:03.456+03:00""#).unwrap(),
        Timestamp {
            seconds: 1_710_151_323,
            nanos: 456_000_000
        }
    );
    let err = parse::<Timestamp>(r#""2024-03-11""#)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid `google.protobuf.Timestamp` JSON: invalid timestamp `2024-03-11`"),
        "{err}"
    );
    assert!(parse::<Timestamp>("1710151323").is_err());
    assert_eq!(
        to_string(
            &Timestamp {
                seconds: 0,
                nanos: 0
            },
            Style::Camel
        )
        .unwrap(),
        r#""1970-01-01T00:00:00Z""#
    );
}

#[test]
fn durations_both_ways() {
    let d = Duration {
        seconds: -1,
        nanos: -500_000_000,
    };
    assert_eq!(to_string(&d, Style::Snake).unwrap(), r#""-1.500s""#);
    assert_eq!(parse::<Duration>(r#""-1.5s""#).unwrap(), d);
    assert!(parse::<Duration>(r#""1.5""#).is_err());
}

#[test]
fn field_masks_convert_path_case_both_ways() {
    let mask = FieldMask {
        paths: vec![
            "name".into(),
            "min_disk_size".into(),
            "os.nvidia_driver".into(),
        ],
    };
    for style in [Style::Snake, Style::Camel] {
        assert_eq!(
            to_string(&mask, style).unwrap(),
            r#""name,minDiskSize,os.nvidiaDriver""#
        );
    }
    assert_eq!(
        parse::<FieldMask>(r#""name,minDiskSize,os.nvidiaDriver""#).unwrap(),
        mask
    );
    assert_eq!(parse::<FieldMask>(r#""""#).unwrap(), FieldMask::default());
    assert!(parse::<FieldMask>(r#""min_disk_size""#).is_err());
    assert!(parse::<FieldMask>(r#"{"paths": ["name"]}"#).is_err());
    for bad in ["minDiskSize", "a__b", "a_1", "trailing_"] {
        let mask = FieldMask {
            paths: vec![bad.into()],
        };
        assert!(to_string(&mask, Style::Snake).is_err(), "{bad}");
    }
}

#[test]
fn empty_is_an_empty_object() {
    assert_eq!(to_string(&Empty {}, Style::Snake).unwrap(), "{}");
    assert_eq!(parse::<Empty>("{}").unwrap(), Empty {});
    assert!(parse::<Empty>(r#"{"a": 1}"#).is_err());
    let lenient = ParseOptions {
        ignore_unknown_fields: true,
    };
    assert_eq!(from_str::<Empty>(r#"{"a": 1}"#, lenient).unwrap(), Empty {});
}

#[test]
fn any_holds_message_fields_inline_and_well_known_payloads_under_value() {
    let image = Image {
        folder_id: "f".into(),
        ..Image::default()
    };
    let inline = Any {
        type_url: "type.googleapis.com/yandex.cloud.compute.v1.Image".into(),
        value: prost::Message::encode_to_vec(&image),
    };
    let snake =
        json!({"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "folder_id": "f"});
    let camel =
        json!({"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "folderId": "f"});
    assert_eq!(to_value(&inline, Style::Snake).unwrap(), snake);
    assert_eq!(to_value(&inline, Style::Camel).unwrap(), camel);
    assert_eq!(
        from_value::<Any>(&snake, ParseOptions::default()).unwrap(),
        inline
    );
    assert_eq!(
        from_value::<Any>(&camel, ParseOptions::default()).unwrap(),
        inline
    );

    let timestamp = Any {
        type_url: "type.googleapis.com/google.protobuf.Timestamp".into(),
        value: prost::Message::encode_to_vec(&Timestamp {
            seconds: 1,
            nanos: 0,
        }),
    };
    let nested = Any {
        type_url: "type.googleapis.com/google.protobuf.Any".into(),
        value: prost::Message::encode_to_vec(&timestamp),
    };
    let text = r#"{"@type":"type.googleapis.com/google.protobuf.Any","value":{"@type":"type.googleapis.com/google.protobuf.Timestamp","value":"1970-01-01T00:00:01Z"}}"#;
    assert_eq!(to_string(&nested, Style::Camel).unwrap(), text);
    assert_eq!(parse::<Any>(text).unwrap(), nested);
    assert_eq!(to_string(&Any::default(), Style::Camel).unwrap(), "{}");
    assert_eq!(parse::<Any>("{}").unwrap(), Any::default());
}

#[test]
fn any_of_an_unknown_type_is_an_error() {
    let err = parse::<Any>(r#"{"@type": "type.googleapis.com/x.Y", "a": 1}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown `Any` type `type.googleapis.com/x.Y`"),
        "{err}"
    );
    assert!(parse::<Any>(r#"{"a": 1}"#).is_err());
    assert!(parse::<Any>(r#"{"@type": 1}"#).is_err());
    assert!(parse::<Any>(r#"{"@type": "type.googleapis.com/google.protobuf.Duration"}"#).is_err());
    assert!(
        parse::<Any>(
            r#"{"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1s", "x": 1}"#
        )
        .is_err()
    );
}

#[test]
fn deeply_nested_any_is_an_error_not_a_stack_overflow() {
    let mut any = Any {
        type_url: "type.googleapis.com/google.protobuf.Empty".into(),
        value: vec![],
    };
    for _ in 0..200 {
        any = Any {
            type_url: "type.googleapis.com/google.protobuf.Any".into(),
            value: prost::Message::encode_to_vec(&any),
        };
    }
    let bytes = prost::Message::encode_to_vec(&any);
    let err = crate::registry::get("google.protobuf.Any")
        .unwrap()
        .to_json(&bytes, Style::Snake)
        .unwrap_err();
    assert!(
        err.to_string().contains("nested more than 100 deep"),
        "{err}"
    );
}
