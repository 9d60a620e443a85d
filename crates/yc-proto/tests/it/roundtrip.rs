//! Binary -> JSON (each style) -> binary is lossless for every type in the registry.
//!
//! Messages are random `DynamicMessage`s built from each descriptor: every scalar kind with its extremes, strings
//! with unicode and escapes, repeated and map fields, nested messages to a small depth, oneofs, enums with numbers
//! the schema does not know (open enums only), Timestamps and Durations in their valid range, FieldMasks, and `Any`
//! holding a random registered message. Case counts stay small so the suite runs in seconds in debug builds.

use std::cell::RefCell;
use std::collections::HashMap;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use prost::Message as _;
use prost::bytes::Bytes;
use prost_reflect::{DynamicMessage, Kind, MapKey, MessageDescriptor, Syntax, Value};
use yc_proto::json::ParseOptions;
use yc_proto::registry;

use crate::support::{STYLES, decode, descriptor, error_chain, same_message};

/// Nested messages (and `Any` payloads) stop at this depth.
const MAX_DEPTH: u32 = 3;
const CASES_PER_TYPE: u32 = 64;

#[test]
fn binary_json_binary_is_lossless_for_every_registered_type() {
    let mut failures = Vec::new();
    let types = registry::all();
    assert!(types.len() > 50, "the registry lists {} types", types.len());
    for message_type in types {
        let name = message_type.full_name();
        let strategy = message_strategy(&descriptor(name), 0);
        let mut runner = TestRunner::new(Config {
            cases: CASES_PER_TYPE,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |message| {
            let bytes = message.encode_to_vec();
            let original = decode(name, &bytes).map_err(TestCaseError::fail)?;
            for style in STYLES {
                let json = message_type.to_json(&bytes, style).map_err(|e| {
                    TestCaseError::fail(format!("to_json {style:?}: {}", error_chain(&e)))
                })?;
                let back = message_type
                    .from_json(&json, ParseOptions::default())
                    .map_err(|e| {
                        TestCaseError::fail(format!(
                            "from_json {style:?}: {}\n  json: {json}",
                            error_chain(&e)
                        ))
                    })?;
                let parsed = decode(name, &back).map_err(TestCaseError::fail)?;
                same_message(&original, &parsed)
                    .map_err(|e| TestCaseError::fail(format!("{style:?}: {e}\n  json: {json}")))?;

                let value = message_type.to_json_value(&bytes, style).map_err(|e| {
                    TestCaseError::fail(format!("to_json_value {style:?}: {}", error_chain(&e)))
                })?;
                let back = message_type
                    .from_json_value(&value, ParseOptions::default())
                    .map_err(|e| {
                        TestCaseError::fail(format!(
                            "from_json_value {style:?}: {}\n  json: {value}",
                            error_chain(&e)
                        ))
                    })?;
                let parsed = decode(name, &back).map_err(TestCaseError::fail)?;
                same_message(&original, &parsed).map_err(|e| {
                    TestCaseError::fail(format!("value {style:?}: {e}\n  json: {value}"))
                })?;
            }
            Ok(())
        });
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} types do not round-trip:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

thread_local! {
    static STRATEGIES: RefCell<HashMap<(String, u32), BoxedStrategy<DynamicMessage>>> = RefCell::new(HashMap::new());
}

/// Random messages of type `desc`, nested `depth` levels down from the top.
pub(crate) fn message_strategy(
    desc: &MessageDescriptor,
    depth: u32,
) -> BoxedStrategy<DynamicMessage> {
    let key = (desc.full_name().to_owned(), depth);
    if let Some(cached) = STRATEGIES.with(|s| s.borrow().get(&key).cloned()) {
        return cached;
    }
    let strategy = build_message_strategy(desc, depth);
    STRATEGIES.with(|s| s.borrow_mut().insert(key, strategy.clone()));
    strategy
}

type FieldValue = Option<(u32, Value)>;

fn build_message_strategy(desc: &MessageDescriptor, depth: u32) -> BoxedStrategy<DynamicMessage> {
    let desc = desc.clone();
    match desc.full_name() {
        "google.protobuf.Timestamp" => {
            return (-62_135_596_800i64..=253_402_300_799, 0i32..=999_999_999)
                .prop_map(move |(seconds, nanos)| seconds_nanos(&desc, seconds, nanos))
                .boxed();
        }
        "google.protobuf.Duration" => {
            return (
                -315_576_000_000i64..=315_576_000_000,
                0i32..=999_999_999,
                any::<bool>(),
            )
                .prop_map(move |(seconds, nanos, negative_zero)| {
                    let nanos = if seconds < 0 || (seconds == 0 && negative_zero) {
                        -nanos
                    } else {
                        nanos
                    };
                    seconds_nanos(&desc, seconds, nanos)
                })
                .boxed();
        }
        "google.protobuf.FieldMask" => {
            let path = "[a-z][a-z0-9]{0,3}(_[a-z][a-z0-9]{0,3}){0,2}(\\.[a-z]{1,4}(_[a-z]{1,4})?)?";
            return prop::collection::vec(path, 0..4)
                .prop_map(move |paths| {
                    let mut message = DynamicMessage::new(desc.clone());
                    let paths = paths.into_iter().map(Value::String).collect();
                    message.set_field_by_name("paths", Value::List(paths));
                    message
                })
                .boxed();
        }
        "google.protobuf.Any" => {
            if depth >= MAX_DEPTH {
                // An Any must name a type to be written as JSON: the deepest ones hold an Empty.
                let empty = descriptor("google.protobuf.Empty");
                return Just(any_of(&desc, &DynamicMessage::new(empty))).boxed();
            }
            let payloads: Vec<BoxedStrategy<DynamicMessage>> = registry::all()
                .iter()
                .map(|t| message_strategy(&descriptor(t.full_name()), depth + 1))
                .collect();
            return Union::new(payloads)
                .prop_map(move |payload| any_of(&desc, &payload))
                .boxed();
        }
        _ => {}
    }

    let mut fields: Vec<BoxedStrategy<FieldValue>> = Vec::new();
    for field in desc.fields().filter(|f| f.containing_oneof().is_none()) {
        if let Some(value) = field_strategy(&field, depth) {
            let number = field.number();
            fields.push(
                prop::option::weighted(0.6, value)
                    .prop_map(move |v| v.map(|v| (number, v)))
                    .boxed(),
            );
        }
    }
    for oneof in desc.oneofs() {
        let mut members: Vec<BoxedStrategy<FieldValue>> = vec![Just(None).boxed()];
        for field in oneof.fields() {
            if let Some(value) = field_strategy(&field, depth) {
                let number = field.number();
                members.push(value.prop_map(move |v| Some((number, v))).boxed());
            }
        }
        fields.push(Union::new(members).boxed());
    }
    fields
        .prop_map(move |values| {
            let mut message = DynamicMessage::new(desc.clone());
            for (number, value) in values.into_iter().flatten() {
                message.set_field_by_number(number, value);
            }
            message
        })
        .boxed()
}

fn seconds_nanos(desc: &MessageDescriptor, seconds: i64, nanos: i32) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    message.set_field_by_name("seconds", Value::I64(seconds));
    message.set_field_by_name("nanos", Value::I32(nanos));
    message
}

fn any_of(any: &MessageDescriptor, payload: &DynamicMessage) -> DynamicMessage {
    use prost_reflect::ReflectMessage as _;
    let mut message = DynamicMessage::new(any.clone());
    let url = format!("type.googleapis.com/{}", payload.descriptor().full_name());
    message.set_field_by_name("type_url", Value::String(url));
    message.set_field_by_name("value", Value::Bytes(payload.encode_to_vec().into()));
    message
}

/// The value of one field, or `None` when nothing may go there (a message field past the depth limit).
fn field_strategy(
    field: &prost_reflect::FieldDescriptor,
    depth: u32,
) -> Option<BoxedStrategy<Value>> {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            unreachable!("a map field is a message")
        };
        let key = map_key_strategy(&entry.map_entry_key_field().kind());
        let value = single_strategy(&entry.map_entry_value_field().kind(), depth)?;
        return Some(
            prop::collection::vec((key, value), 0..3)
                .prop_map(|entries| Value::Map(entries.into_iter().collect()))
                .boxed(),
        );
    }
    let single = single_strategy(&field.kind(), depth)?;
    if field.is_list() {
        return Some(
            prop::collection::vec(single, 0..3)
                .prop_map(Value::List)
                .boxed(),
        );
    }
    Some(single)
}

fn single_strategy(kind: &Kind, depth: u32) -> Option<BoxedStrategy<Value>> {
    Some(match kind {
        Kind::Double => prop_oneof![
            any::<f64>(),
            Just(0.0),
            Just(-0.0),
            Just(f64::MAX),
            Just(f64::MIN),
            Just(f64::MIN_POSITIVE),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::NAN),
            Just(1e-300),
        ]
        .prop_map(Value::F64)
        .boxed(),
        Kind::Float => prop_oneof![
            any::<f32>(),
            Just(f32::MAX),
            Just(f32::MIN),
            Just(f32::INFINITY),
            Just(f32::NAN),
            Just(0.1)
        ]
        .prop_map(Value::F32)
        .boxed(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => prop_oneof![
            any::<i32>(),
            Just(i32::MIN),
            Just(i32::MAX),
            Just(0),
            Just(-1)
        ]
        .prop_map(Value::I32)
        .boxed(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => prop_oneof![
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0),
            Just(-1),
            // Past 2^53, where a JSON number stops being exact in a double.
            Just(9_007_199_254_740_993),
        ]
        .prop_map(Value::I64)
        .boxed(),
        Kind::Uint32 | Kind::Fixed32 => prop_oneof![any::<u32>(), Just(u32::MAX), Just(0)]
            .prop_map(Value::U32)
            .boxed(),
        Kind::Uint64 | Kind::Fixed64 => prop_oneof![any::<u64>(), Just(u64::MAX), Just(0)]
            .prop_map(Value::U64)
            .boxed(),
        Kind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Kind::String => string_strategy().prop_map(Value::String).boxed(),
        Kind::Bytes => prop::collection::vec(any::<u8>(), 0..12)
            .prop_map(|b| Value::Bytes(Bytes::from(b)))
            .boxed(),
        Kind::Enum(e) => {
            let known: Vec<i32> = e.values().map(|v| v.number()).collect();
            // Proto2 enums are closed: a number outside them is not a value of the field.
            if e.parent_file().syntax() == Syntax::Proto2 {
                prop::sample::select(known)
                    .prop_map(Value::EnumNumber)
                    .boxed()
            } else {
                prop_oneof![
                    3 => prop::sample::select(known),
                    1 => any::<i32>(),
                ]
                .prop_map(Value::EnumNumber)
                .boxed()
            }
        }
        Kind::Message(m) => {
            if depth >= MAX_DEPTH {
                return None;
            }
            message_strategy(m, depth + 1)
                .prop_map(Value::Message)
                .boxed()
        }
    })
}

fn map_key_strategy(kind: &Kind) -> BoxedStrategy<MapKey> {
    match kind {
        Kind::String => string_strategy().prop_map(MapKey::String).boxed(),
        Kind::Bool => any::<bool>().prop_map(MapKey::Bool).boxed(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => any::<i32>().prop_map(MapKey::I32).boxed(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => any::<i64>().prop_map(MapKey::I64).boxed(),
        Kind::Uint32 | Kind::Fixed32 => any::<u32>().prop_map(MapKey::U32).boxed(),
        Kind::Uint64 | Kind::Fixed64 => any::<u64>().prop_map(MapKey::U64).boxed(),
        other => unreachable!("{other:?} cannot be a map key"),
    }
}

fn string_strategy() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-z_]{0,8}",
        "(?s).{0,8}",
        Just("quote\" backslash\\ nl\n tab\t nul\u{0} del\u{7f} ls\u{2028} 🚀 Привет".to_owned()),
        Just("</script>&<>'".to_owned()),
    ]
    .boxed()
}

/// The comparison the property relies on must see a difference, including one inside an `Any` payload.
#[test]
fn comparison_sees_differences_inside_any() {
    use yc_proto::compute::v1::{CreateImageMetadata, Image};
    use yc_proto::google::protobuf::Any;
    use yc_proto::operation::Operation;
    let operation = |image_id: &str| Operation {
        metadata: Some(Any {
            type_url: "type.googleapis.com/yandex.cloud.compute.v1.CreateImageMetadata".into(),
            value: CreateImageMetadata {
                image_id: image_id.into(),
            }
            .encode_to_vec(),
        }),
        ..Default::default()
    };
    let name = "yandex.cloud.operation.Operation";
    let a = decode(name, &operation("a").encode_to_vec()).unwrap();
    let b = decode(name, &operation("b").encode_to_vec()).unwrap();
    assert!(same_message(&a, &a.clone()).is_ok());
    let difference = same_message(&a, &b).unwrap_err();
    assert!(difference.contains("image_id"), "{difference}");
    let image = |size| {
        decode(
            "yandex.cloud.compute.v1.Image",
            &Image {
                size,
                ..Default::default()
            }
            .encode_to_vec(),
        )
    };
    assert!(same_message(&image(1).unwrap(), &image(2).unwrap()).is_err());
}

#[test]
fn any_packs_and_unpacks_typed_messages() {
    use yc_proto::compute::v1::{CreateImageMetadata, Image};
    use yc_proto::google::protobuf::Any;

    let image = Image {
        id: "fd8abc".into(),
        ..Default::default()
    };
    let any = Any::from_msg(&image);
    assert_eq!(
        any.type_url,
        "type.googleapis.com/yandex.cloud.compute.v1.Image"
    );
    assert_eq!(any.to_msg::<Image>().unwrap(), image);
    let wrong = any.to_msg::<CreateImageMetadata>().unwrap_err().to_string();
    assert_eq!(
        wrong,
        "the `Any` holds `type.googleapis.com/yandex.cloud.compute.v1.Image`, not \
         `type.googleapis.com/yandex.cloud.compute.v1.CreateImageMetadata`"
    );
}
