//! The dynamic codec (`json::dynamic`, types known only from descriptors) against the generated one: the same text
//! byte for byte on every conformance vector in both styles and on random messages, the same messages parsed back,
//! and the same errors.
//!
//! The generated path is the oracle here; the conformance tests tie it to the reference runtime.

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use prost::Message as _;
use yc_proto::json::{ParseOptions, Style, dynamic};
use yc_proto::registry;

use crate::roundtrip::message_strategy;
use crate::support::{STYLES, decode, descriptor, error_chain, same_message, vectors};

const STRICT: ParseOptions = ParseOptions {
    ignore_unknown_fields: false,
};
const LENIENT: ParseOptions = ParseOptions {
    ignore_unknown_fields: true,
};

fn report(failures: &[String], what: &str) {
    assert!(
        failures.is_empty(),
        "{} cases fail {what}:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_vector_writes_the_generated_text_in_both_styles() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for v in vectors() {
        let desc = descriptor(&v.type_name);
        for style in STYLES {
            let generated = v.message_type().to_json(&v.binary, style).unwrap();
            match dynamic::to_json(&desc, &v.binary, style) {
                Ok(text) if text == generated && text == v.reference_sorted(style) => checked += 1,
                Ok(text) => failures.push(format!(
                    "{} {style:?}:\n  dynamic:   {text}\n  generated: {generated}",
                    v.name
                )),
                Err(e) => failures.push(format!("{} {style:?}: error {}", v.name, error_chain(&e))),
            }
        }
    }
    report(
        &failures,
        "dynamic output == generated output == reference text",
    );
    assert!(checked > 300, "only {checked} vector-style pairs checked");
}

#[test]
fn every_vector_parses_back_from_both_styles() {
    let mut failures = Vec::new();
    for v in vectors() {
        let desc = descriptor(&v.type_name);
        let expected = decode(&v.type_name, &v.binary).unwrap();
        for style in STYLES {
            let text = v.reference(style);
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            for (how, result) in [
                ("text", dynamic::from_json(&desc, text, STRICT)),
                ("value", dynamic::from_json_value(&desc, &value, STRICT)),
            ] {
                let outcome = result
                    .map_err(|e| format!("error {}", error_chain(&e)))
                    .and_then(|bytes| decode(&v.type_name, &bytes))
                    .and_then(|message| same_message(&expected, &message));
                if let Err(e) = outcome {
                    failures.push(format!(
                        "{} from {style:?} {how}: {e}\n  input: {text}",
                        v.name
                    ));
                }
            }
        }
    }
    report(&failures, "dynamic JSON input");
}

/// Random messages of every registered type: the dynamic writer's text is the generated writer's, both value writers
/// build the value that text parses to, and the dynamic parser reads that text (and its value) to the message the
/// generated parser reads.
#[test]
fn random_messages_agree_with_the_generated_codec() {
    let mut failures = Vec::new();
    for message_type in registry::all() {
        let name = message_type.full_name();
        let desc = descriptor(name);
        let mut runner = TestRunner::new(Config {
            cases: 32,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&message_strategy(&desc, 0), |message| {
            let bytes = message.encode_to_vec();
            for style in STYLES {
                let generated = message_type.to_json(&bytes, style);
                let ours = dynamic::to_json(&desc, &bytes, style);
                let text = match (generated, ours) {
                    (Ok(a), Ok(b)) if a == b => a,
                    (Ok(a), Ok(b)) => {
                        return Err(TestCaseError::fail(format!(
                            "{style:?}:\n  dynamic:   {b}\n  generated: {a}"
                        )));
                    }
                    (Err(a), Err(b)) if a.to_string() == b.to_string() => {
                        // Neither value writer makes a value of what the text writers refuse.
                        if message_type.to_json_value(&bytes, style).is_ok()
                            || dynamic::to_json_value(&desc, &bytes, style).is_ok()
                        {
                            return Err(TestCaseError::fail(format!(
                                "{style:?}: the text writers fail ({a}), a value writer does not"
                            )));
                        }
                        continue;
                    }
                    (a, b) => {
                        return Err(TestCaseError::fail(format!(
                            "{style:?}: generated {:?}, dynamic {:?}",
                            a.map_err(|e| error_chain(&e)),
                            b.map_err(|e| error_chain(&e))
                        )));
                    }
                };
                let expected_bytes = message_type
                    .from_json(&text, STRICT)
                    .map_err(|e| TestCaseError::fail(error_chain(&e)))?;
                let expected = decode(name, &expected_bytes).map_err(TestCaseError::fail)?;
                let value: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
                // The value writers build what the text parses to, keys in the same order.
                let expected_value = value.to_string();
                for (how, built) in [
                    ("generated", message_type.to_json_value(&bytes, style)),
                    ("dynamic", dynamic::to_json_value(&desc, &bytes, style)),
                ] {
                    let built = built.map(|v| v.to_string()).map_err(|e| error_chain(&e));
                    if built.as_ref() != Ok(&expected_value) {
                        return Err(TestCaseError::fail(format!(
                            "{how} value {style:?}: {built:?}\n  text: {text}"
                        )));
                    }
                }
                for (how, parsed) in [
                    ("text", dynamic::from_json(&desc, &text, STRICT)),
                    ("value", dynamic::from_json_value(&desc, &value, STRICT)),
                ] {
                    let parsed = parsed.map_err(|e| {
                        TestCaseError::fail(format!(
                            "{how} {style:?}: {}\n  json: {text}",
                            error_chain(&e)
                        ))
                    })?;
                    // The same bytes, not only the same message: prost's layout, map entries sorted.
                    if parsed != expected_bytes {
                        let decoded = decode(name, &parsed).map_err(TestCaseError::fail)?;
                        return Err(TestCaseError::fail(format!(
                            "{how} {style:?}: other bytes ({:?})\n  dynamic:   {parsed:02x?}\n  generated: {expected_bytes:02x?}\n  json: {text}",
                            same_message(&expected, &decoded)
                        )));
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    report(&failures, "dynamic == generated on random messages");
}

/// Inputs either path accepts or refuses, with what each says: the same outcome, and for a failure the same text.
#[test]
fn parse_outcomes_and_errors_match_the_generated_parser() {
    let cases: &[(&str, &str, ParseOptions)] = &[
        ("yandex.cloud.compute.v1.Image", r#"{"id": "fd8", "#, STRICT),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"id": "fd8"} x"#,
            STRICT,
        ),
        ("yandex.cloud.compute.v1.Image", "[1, 2]", STRICT),
        ("yandex.cloud.compute.v1.Image", r#"{"id": 5}"#, STRICT),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"pooled": "yes"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"size": "12abc"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"size": "9223372036854775808"}"#,
            STRICT,
        ),
        ("yandex.cloud.compute.v1.Image", r#"{"size": 1.5}"#, STRICT),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"size": 1e3, "min_disk_size": "7"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"minDiskSize": "x"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"labels": ["a"]}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"labels": {"b": "1", "a": "2", "b": "3"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"labels": {"": "", "a": "", "c": "x"}, "name": ""}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"labels": {"b": "1", "a": "2"}, "name": "n", "id": "i"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"labels": {"env": 1}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"labels": {"a.b": 1}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"product_ids": "p"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"product_ids": ["p", 5]}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"status": "BOGUS"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"status": "2"}"#,
            STRICT,
        ),
        ("yandex.cloud.compute.v1.Image", r#"{"status": 99}"#, STRICT),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"status": 4294967296}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"os": {"type": "MAC"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"os": {"kind": "LINUX"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"os": {"type": "LINUX", "type": "WINDOWS"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"id": null, "os": {"type": "MAC"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"id": null, "os": null, "labels": null}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"created_at": "2024-13-01T00:00:00Z"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"created_at": "2024-03-11T10:02:03"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"created_at": "2024-03-11T10:02:03+03:00"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"bogus_field": 1}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"bogus_field": 1, "id": "x"}"#,
            LENIENT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"bogus": 1, "size": 1.5}"#,
            LENIENT,
        ),
        (
            "yandex.cloud.compute.v1.Image",
            r#"{"folder_id": "a", "folderId": "b"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.CreateImageRequest",
            r#"{"image_id": "a", "disk_id": "b"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.CreateImageRequest",
            r#"{"imageId": ""}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.CreateImageRequest",
            r#"{"imageId": "", "bogus": 1}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.CreateImageRequest",
            r#"{"imageId": null, "diskId": "d"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.UpdateImageRequest",
            r#"{"update_mask": "name,minDiskSize"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.UpdateImageRequest",
            r#"{"update_mask": "min_disk_size"}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.ListImagesResponse",
            r#"{"images": [{}, {"size": 1.5}]}"#,
            STRICT,
        ),
        (
            "yandex.cloud.compute.v1.ListImagesResponse",
            r#"{"images": [null]}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {"@type": "type.googleapis.com/no.such.Type", "x": 1}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {"id": "fd8"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {"@type": "type.googleapis.com/yandex.cloud.operation.Operation", "created_at": "2024-13-01T00:00:00Z"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"metadata": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1m"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"metadata": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1.5s"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"metadata": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1.5s", "x": 1}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"metadata": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1.5s", "x": 1}}"#,
            LENIENT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"metadata": {"@type": "type.googleapis.com/google.protobuf.Duration"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {"@type": "type.googleapis.com/google.protobuf.Empty", "value": {}}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {"@type": 5}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {"@type": "type.googleapis.com/yandex.cloud.operation.Operation", "response": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "os": {"type": "MAC"}}}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "bogus": 1}}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"response": {"@type": "type.googleapis.com/yandex.cloud.compute.v1.Image", "bogus": 1}}"#,
            LENIENT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"error": {"code": 5, "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "r"}]}, "done": true}"#,
            STRICT,
        ),
        (
            "yandex.cloud.operation.Operation",
            r#"{"done": "true"}"#,
            STRICT,
        ),
        ("google.rpc.Status", r#"{"code": 2147483648}"#, STRICT),
        ("google.rpc.Status", r#"{"code": "-2147483648"}"#, STRICT),
        (
            "google.protobuf.Timestamp",
            r#""1970-01-01T00:00:00Z""#,
            STRICT,
        ),
        ("google.protobuf.Timestamp", r#"{}"#, STRICT),
        ("google.protobuf.FieldMask", r#""a.bC,d""#, STRICT),
        ("google.protobuf.Empty", r#"{"x": 1}"#, STRICT),
    ];
    let mut failures = Vec::new();
    for &(type_name, json, options) in cases {
        let message_type = registry::get(type_name).unwrap();
        let desc = descriptor(type_name);
        let outcome = |result: Result<Vec<u8>, yc_proto::Error>| match result {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(error_chain(&e)),
        };
        let generated = outcome(message_type.from_json(json, options));
        let mut text = outcome(dynamic::from_json(&desc, json, options));
        // The generated path loses the position when its pre-pass (for `null` or ignored fields) parsed a value
        // first; the dynamic path never needs one and keeps it. Anything else must match exactly.
        if let (Err(theirs), Err(ours)) = (&generated, &mut text)
            && !theirs.ends_with(')')
            && let Some(cut) = ours.rfind(" (line ")
        {
            ours.truncate(cut);
        }
        let mut compare = |how: &str, ours: &Result<Vec<u8>, String>| {
            let same = match (&generated, ours) {
                (Ok(a), Ok(b)) if a == b => Ok(()),
                (Err(a), Err(b)) if a == b => Ok(()),
                (a, b) => Err(format!("generated {a:?}\n  dynamic   {b:?}")),
            };
            if let Err(e) = same {
                failures.push(format!("{type_name} {how} {json}:\n  {e}"));
            }
        };
        compare("text", &text);
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(json) {
            let generated_value = outcome(message_type.from_json_value(&value, options));
            let ours = outcome(dynamic::from_json_value(&desc, &value, options));
            let same = match (&generated_value, &ours) {
                (Ok(a), Ok(b)) if a == b => Ok(()),
                (Err(a), Err(b)) if a == b => Ok(()),
                (a, b) => Err(format!("generated {a:?}\n  dynamic   {b:?}")),
            };
            if let Err(e) = same {
                failures.push(format!("{type_name} value {json}:\n  {e}"));
            }
        }
    }
    report(&failures, "the same parse outcome as the generated parser");
}

/// Bytes that do not decode are an error naming the type, as on the generated path; nothing panics.
#[test]
fn bad_bytes_are_errors() {
    let desc = descriptor("yandex.cloud.compute.v1.Image");
    let generated = registry::get("yandex.cloud.compute.v1.Image").unwrap();
    for bytes in [&[0x0f, 0x01][..], &[0x0a, 0x05, b'a'], &[0xff; 11]] {
        for style in STYLES {
            let ours = dynamic::to_json(&desc, bytes, style).unwrap_err();
            let theirs = generated.to_json(bytes, style).unwrap_err();
            assert!(
                ours.to_string().contains("yandex.cloud.compute.v1.Image"),
                "{ours}"
            );
            assert_eq!(ours.to_string(), theirs.to_string(), "{bytes:?}");
        }
    }
}

/// The descriptor pool of `tests/it/protos/usertest/widget.proto`, compiled as `--proto-path` would: a type no
/// generated code knows, its own type inside an `Any`, and the wrappers, `Struct`, `Value` and `ListValue`.
fn user_types() -> prost_reflect::DescriptorPool {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/protos");
    let set = protox::compile(["usertest/widget.proto"], [root]).unwrap();
    // The Python script that writes the reference vectors reads this set (see its docstring).
    if let Some(path) = std::env::var_os("YC_PROTO_WRITE_USERTEST_FDS") {
        std::fs::write(path, set.encode_to_vec()).unwrap();
    }
    prost_reflect::DescriptorPool::from_file_descriptor_set(set).unwrap()
}

/// Vectors the Python runtime wrote for the user's type (`tests/it/protos/usertest/make_vectors.py`): our text equals
/// its text (map entries sorted) in both styles, and every spelling of the input reads back to the same message.
#[test]
fn user_types_match_the_reference_runtime() {
    use base64::Engine as _;

    let pool = user_types();
    let desc = pool.get_message_by_name("yc.usertest.Widget").unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/protos/usertest/vectors.json"
    );
    let vectors: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(vectors.len(), 3);
    let mut failures = Vec::new();
    for v in &vectors {
        let field = |key: &str| v[key].as_str().unwrap();
        let name = field("name");
        let binary = base64::engine::general_purpose::STANDARD
            .decode(field("binary"))
            .unwrap();
        for (style, key) in [
            (Style::Snake, "snake_sorted"),
            (Style::Camel, "camel_sorted"),
        ] {
            match dynamic::to_json(&desc, &binary, style) {
                Ok(text) if text == field(key) => {}
                Ok(text) => failures.push(format!(
                    "{name} {style:?}:\n  dynamic:   {text}\n  reference: {}",
                    field(key)
                )),
                Err(e) => failures.push(format!("{name} {style:?}: {}", error_chain(&e))),
            }
        }
        let canonical = dynamic::to_json(&desc, &binary, Style::Snake).ok();
        for source in ["input", "snake", "camel"] {
            let json = field(source);
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            for (how, parsed) in [
                ("text", dynamic::from_json(&desc, json, STRICT)),
                ("value", dynamic::from_json_value(&desc, &value, STRICT)),
            ] {
                let again = parsed.map_err(|e| error_chain(&e)).and_then(|bytes| {
                    dynamic::to_json(&desc, &bytes, Style::Snake).map_err(|e| error_chain(&e))
                });
                if again.as_ref().ok() != canonical.as_ref() {
                    failures.push(format!("{name} from {source} {how}: {again:?}"));
                }
            }
        }
    }
    report(
        &failures,
        "the reference runtime's text for a user's own type",
    );
}

/// `Any` resolves its payload in the pool of the message being read or written, not in the embedded one.
#[test]
fn user_types_inside_any_resolve_through_their_own_pool() {
    let pool = user_types();
    let desc = pool.get_message_by_name("yc.usertest.Widget").unwrap();
    let json =
        r#"{"payload":{"@type":"type.googleapis.com/yc.usertest.Widget","colors":["GREEN",12]}}"#;
    let bytes = dynamic::from_json(&desc, json, STRICT).unwrap();
    assert_eq!(dynamic::to_json(&desc, &bytes, Style::Camel).unwrap(), json);
    // The embedded pool's `Any` cannot name the user's type.
    let operation = descriptor("yandex.cloud.operation.Operation");
    let error = dynamic::from_json(
        &operation,
        r#"{"response":{"@type":"type.googleapis.com/yc.usertest.Widget"}}"#,
        STRICT,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown `Any` type `type.googleapis.com/yc.usertest.Widget`"),
        "{error}"
    );
}

/// What the reference refuses to write or read for the user's type, refused here too, with the field named.
#[test]
fn user_type_errors() {
    let pool = user_types();
    let desc = pool.get_message_by_name("yc.usertest.Widget").unwrap();
    let check = |json: &str, needle: &str| {
        let error = error_chain(&dynamic::from_json(&desc, json, STRICT).unwrap_err());
        assert!(error.contains(needle), "{json}: {error}");
    };
    check(r#"{"by_id": {"x": "a"}}"#, "at `by_id`");
    check(
        r#"{"colors": ["RED", "BLUE"]}"#,
        "at `colors[1]`: unknown enum value `BLUE`",
    );
    check(
        r#"{"color_by_name": {"k": "BLUE"}}"#,
        "at `color_by_name.k`",
    );
    check(r#"{"count": "x"}"#, "at `count`");
    check(
        r#"{"picked": "RED", "other": "x"}"#,
        "duplicate field `other`",
    );
    check(r#"{"attrs": [1]}"#, "at `attrs`");
    check(r#"{"rawBytes": "!!"}"#, "at `raw`");
    // A `Value` holding NaN has no JSON form (it would read back as a string).
    let nan = dynamic::from_json(&desc, r#"{"ratio": "NaN"}"#, STRICT).unwrap();
    assert!(dynamic::to_json(&desc, &nan, Style::Snake).is_ok());
    let loose_nan = {
        let mut message = prost_reflect::DynamicMessage::new(desc.clone());
        let value_desc = pool.get_message_by_name("google.protobuf.Value").unwrap();
        let mut value = prost_reflect::DynamicMessage::new(value_desc);
        value.set_field_by_name("number_value", prost_reflect::Value::F64(f64::NAN));
        message.set_field_by_name("loose", prost_reflect::Value::Message(value));
        message.encode_to_vec()
    };
    let error = dynamic::to_json(&desc, &loose_nan, Style::Snake).unwrap_err();
    assert!(error.to_string().contains("number_value"), "{error}");
}

/// Bytes no encoder writes but every decoder reads (a field twice, fields out of order, a repeated field split, a
/// map key twice, two members of a oneof, a message field merged from two records, unknown fields and groups):
/// the dynamic writer's text is still the generated one's.
#[test]
fn non_canonical_bytes_write_the_generated_text() {
    let image = |bytes: &[u8]| ("yandex.cloud.compute.v1.Image", bytes.to_vec());
    let concat = |parts: &[&[u8]]| parts.concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // id = "a", id = "b": the last one wins.
        image(&[0x0a, 0x01, b'a', 0x0a, 0x01, b'b']),
        // name (4) before id (1).
        image(&[0x22, 0x01, b'n', 0x0a, 0x01, b'i']),
        // product_ids (10) split around family (8).
        image(&[0x52, 0x01, b'p', 0x42, 0x01, b'f', 0x52, 0x01, b'q']),
        // labels {"k": "1"}, {"k": "2"}, {"a": ""}: the last "k" wins, keys sorted.
        image(&concat(&[
            &[0x32, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'1'],
            &[0x32, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'2'],
            &[0x32, 0x03, 0x0a, 0x01, b'a'],
        ])),
        // os (13) given twice: the two records merge (type, then nvidia).
        image(&[0x6a, 0x02, 0x08, 0x01, 0x6a, 0x04, 0x12, 0x02, 0x0a, 0x00]),
        // size (16) = 0 encoded explicitly, then status (11) out of order.
        image(&[0x80, 0x01, 0x00, 0x58, 0x02]),
        // an unknown varint field 99 and an unknown group 98.
        image(&[
            0x98, 0x06, 0x05, 0x93, 0x06, 0x08, 0x01, 0x94, 0x06, 0x0a, 0x01, b'x',
        ]),
        // CreateImageRequest image_id (8) then disk_id (9): the oneof keeps the last.
        (
            "yandex.cloud.compute.v1.CreateImageRequest",
            vec![0x42, 0x01, b'i', 0x4a, 0x01, b'd'],
        ),
        // A string that is not UTF-8: an error either way.
        image(&[0x0a, 0x02, 0xc3, 0x28]),
    ];
    for (type_name, bytes) in cases {
        let desc = descriptor(type_name);
        let generated = registry::get(type_name).unwrap();
        for style in STYLES {
            let ours = dynamic::to_json(&desc, &bytes, style).map_err(|e| e.to_string());
            let theirs = generated.to_json(&bytes, style).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{type_name} {bytes:02x?} {style:?}");
        }
    }
}
