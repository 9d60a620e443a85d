//! Conformance against protobuf's reference runtime: each vector in `tests/it/vectors/` holds bytes and the JSON
//! the Python runtime writes for them in both styles. Our JSON must equal it as data; text equality (field-number
//! order, map entries sorted) is a separate test so that a key-order difference does not hide a data difference.
//!
//! Each test checks every vector and lists every failure at once.

use yc_proto::json::{self, ParseOptions, Style};
use yc_proto::registry;

use crate::support::{STYLES, Vector, decode, same_message, vector, vectors};

fn report(failures: &[String], what: &str) {
    assert!(
        failures.is_empty(),
        "{} of the vectors fail {what}:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn ours(v: &Vector, style: Style) -> Result<String, String> {
    v.message_type()
        .to_json(&v.binary, style)
        .map_err(|e| crate::support::error_chain(&e))
}

#[test]
fn to_json_equals_reference_as_data() {
    let mut failures = Vec::new();
    for v in vectors() {
        for style in STYLES {
            let reference: serde_json::Value = serde_json::from_str(v.reference(style)).unwrap();
            match ours(&v, style) {
                Ok(text) => {
                    let value: serde_json::Value = match serde_json::from_str(&text) {
                        Ok(value) => value,
                        Err(e) => {
                            failures.push(format!(
                                "{} {style:?}: we write invalid JSON ({e}): {text}",
                                v.name
                            ));
                            continue;
                        }
                    };
                    if value != reference {
                        failures.push(format!(
                            "{} {style:?}:\n  ours:      {text}\n  reference: {}",
                            v.name,
                            v.reference(style)
                        ));
                    }
                }
                Err(e) => failures.push(format!("{} {style:?}: error {e}", v.name)),
            }
        }
    }
    report(&failures, "JSON output as data");
}

#[test]
fn to_json_equals_reference_as_text() {
    let mut failures = Vec::new();
    for v in vectors() {
        for style in STYLES {
            match ours(&v, style) {
                Ok(text) if text == v.reference_sorted(style) => {}
                Ok(text) => failures.push(format!(
                    "{} {style:?}:\n  ours:      {text}\n  reference: {}",
                    v.name,
                    v.reference_sorted(style)
                )),
                Err(e) => failures.push(format!("{} {style:?}: error {e}", v.name)),
            }
        }
    }
    report(
        &failures,
        "JSON output as exact text (field-number order, map keys sorted)",
    );
}

#[test]
fn to_json_value_agrees_with_to_json() {
    for v in vectors() {
        for style in STYLES {
            let Ok(text) = ours(&v, style) else { continue };
            let value = v.message_type().to_json_value(&v.binary, style).unwrap();
            assert_eq!(
                value,
                serde_json::from_str::<serde_json::Value>(&text).unwrap(),
                "{} {style:?}",
                v.name
            );
        }
    }
}

#[test]
fn from_json_of_both_styles_gives_reference_message() {
    let mut failures = Vec::new();
    for v in vectors() {
        let expected = decode(&v.type_name, &v.binary).unwrap();
        for style in STYLES {
            let text = v.reference(style);
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            let parsed = [
                (
                    "text",
                    v.message_type().from_json(text, ParseOptions::default()),
                ),
                (
                    "value",
                    v.message_type()
                        .from_json_value(&value, ParseOptions::default()),
                ),
            ];
            for (how, result) in parsed {
                let outcome = result
                    .map_err(|e| format!("error {}", crate::support::error_chain(&e)))
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
    report(&failures, "JSON input");
}

/// Every message type of the API packages has a vector, so a new type cannot slip in untested.
#[test]
fn every_api_type_has_a_vector() {
    let covered: std::collections::BTreeSet<String> =
        vectors().into_iter().map(|v| v.type_name).collect();
    let missing: Vec<&str> = registry::all()
        .iter()
        .map(|t| t.full_name())
        .filter(|name| {
            name.starts_with("yandex.")
                || name.starts_with("google.rpc.")
                || name.starts_with("yc.test.")
        })
        .filter(|name| !covered.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "no vector for {missing:?}: run `python3 xtask/conformance/make_vectors.py`"
    );
}

/// The typed entry points (`json::to_value`, `json::from_str`) agree with the reference too.
#[test]
fn typed_api_equals_reference() {
    use yc_proto::{compute::v1 as compute, containerregistry::v1 as cr, google::rpc, operation};

    // A macro, not a generic function, so that it needs no trait bound beyond what the API itself asks for.
    macro_rules! check {
        ($ty:ty, $name:literal) => {{
            let name = $name;
            let v = vector(name);
            assert_eq!(v.type_name, <$ty as prost::Name>::full_name(), "{name}");
            let message = <$ty as prost::Message>::decode(v.binary.as_slice()).unwrap();
            let expected = decode(&v.type_name, &v.binary).unwrap();
            for style in STYLES {
                let reference: serde_json::Value =
                    serde_json::from_str(v.reference(style)).unwrap();
                let value = json::to_value(&message, style).unwrap();
                assert_eq!(value, reference, "{name} {style:?} to_value");
                let text = json::to_string(&message, style).unwrap();
                assert_eq!(
                    serde_json::from_str::<serde_json::Value>(&text).unwrap(),
                    reference,
                    "{name} {style:?} to_string"
                );
                let parsed: $ty =
                    json::from_str(v.reference(style), ParseOptions::default()).unwrap();
                let got = decode(&v.type_name, &prost::Message::encode_to_vec(&parsed)).unwrap();
                same_message(&expected, &got)
                    .unwrap_or_else(|e| panic!("{name} {style:?} from_str: {e}"));
                let parsed: $ty = json::from_value(&reference, ParseOptions::default()).unwrap();
                let got = decode(&v.type_name, &prost::Message::encode_to_vec(&parsed)).unwrap();
                same_message(&expected, &got)
                    .unwrap_or_else(|e| panic!("{name} {style:?} from_value: {e}"));
            }
        }};
    }

    check!(compute::Image, "compute_image_grpc_reference");
    check!(compute::Image, "image_status_unknown_number");
    check!(compute::Image, "strings_unicode_and_escapes");
    check!(compute::Image, "timestamp_9_fraction_digits");
    check!(cr::Image, "containerregistry_image_rest_reference");
    check!(operation::Operation, "operation_create_image_done");
    check!(operation::Operation, "operation_error_with_details");
    check!(operation::Operation, "operation_pending");
    check!(
        compute::UpdateImageRequest,
        "update_image_request_with_mask"
    );
    check!(compute::CreateImageRequest, "create_image_request_uri");
    check!(compute::ListImagesResponse, "list_images_response");
    check!(compute::ListImagesRequest, "int64_min");
    check!(rpc::Status, "int32_extremes_status_code_min");
}

#[test]
fn typed_api_any_with_empty() {
    use yc_proto::operation;
    let v = vector("operation_delete_empty_response");
    let message = <operation::Operation as prost::Message>::decode(v.binary.as_slice()).unwrap();
    for style in STYLES {
        let reference: serde_json::Value = serde_json::from_str(v.reference(style)).unwrap();
        assert_eq!(
            json::to_value(&message, style).unwrap(),
            reference,
            "{style:?}"
        );
    }
}

/// `to_json_value` builds the value as it writes; on every vector, in both styles and with an unknown field added,
/// it is what `to_json`'s text parses to, keys in the same order.
#[test]
fn the_value_writer_builds_what_the_text_parses_to() {
    let mut failures = Vec::new();
    for v in vectors() {
        let ty = v.message_type();
        let mut with_unknown = v.binary.clone();
        with_unknown.extend_from_slice(&[0xf8, 0xff, 0x03, 0x01]); // field 8191, varint 1
        for bytes in [&v.binary, &with_unknown] {
            for style in STYLES {
                let parsed = ty.to_json(bytes, style).map(|text| {
                    serde_json::from_str::<serde_json::Value>(&text)
                        .unwrap()
                        .to_string()
                });
                let built = ty
                    .to_json_value(bytes, style)
                    .map(|value| value.to_string());
                match (parsed, built) {
                    (Ok(a), Ok(b)) if a == b => {}
                    (Err(_), Err(_)) => {}
                    (a, b) => failures.push(format!(
                        "{} {style:?}:\n  parsed: {:?}\n  built:  {:?}",
                        v.name,
                        a.map_err(|e| e.to_string()),
                        b.map_err(|e| e.to_string())
                    )),
                }
            }
        }
    }
    report(&failures, "the value writer");
}

/// The recorder's shortcut (`reencodes_exactly`) answers as the JSON round trip does, on every vector and on each
/// vector's bytes with an unknown field added; `to_json_value_reencoding` gives what the two calls give apart.
#[test]
fn the_reencoding_shortcut_agrees_with_the_json_round_trip() {
    let mut failures = Vec::new();
    let (mut asked, mut answered) = (0, 0);
    for v in vectors() {
        let ty = v.message_type();
        let mut with_unknown = v.binary.clone();
        with_unknown.extend_from_slice(&[0xf8, 0xff, 0x03, 0x01]); // field 8191, varint 1
        for bytes in [v.binary.clone(), with_unknown] {
            asked += 1;
            // The one-decode form the recorder calls gives the same JSON and the same answer.
            let together = ty.to_json_value_reencoding(&bytes, Style::Snake).ok();
            let apart = ty
                .to_json_value(&bytes, Style::Snake)
                .ok()
                .map(|json| (json, ty.reencodes_exactly(&bytes)));
            if together != apart {
                failures.push(format!("{}: to_json_value_reencoding differs", v.name));
            }
            let Some(shortcut) = ty.reencodes_exactly(&bytes) else {
                continue;
            };
            answered += 1;
            let round_trip = ty
                .to_json_value(&bytes, Style::Snake)
                .and_then(|json| ty.from_json_value(&json, ParseOptions::default()))
                .is_ok_and(|again| again == bytes);
            if shortcut != round_trip {
                failures.push(format!(
                    "{}: shortcut {shortcut}, round trip {round_trip}",
                    v.name
                ));
            }
        }
    }
    report(&failures, "the re-encoding shortcut");
    // Not vacuous: most types (an `Image`, a request) take the shortcut; the `Any` and `FieldMask` holders do not.
    assert!(
        answered * 2 > asked && answered < asked,
        "{answered} of {asked}"
    );
}
