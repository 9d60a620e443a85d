//! Unit tests of `model`: the private helpers, one behaviour per test.

use super::*;

#[test]
fn header_names_are_lower_cased_and_values_may_repeat() {
    let h: Headers = serde_json::from_str(r#"{"X-A": ["1", "2"], "b": "3"}"#).unwrap();
    assert_eq!(
        h.0,
        [
            ("x-a".into(), "1".into()),
            ("x-a".into(), "2".into()),
            ("b".into(), "3".into())
        ]
    );
    assert_eq!(h.get("X-a"), Some("1"));
    assert!(serde_json::from_str::<Headers>(r#"{"a": [1]}"#).is_err());
    assert!(serde_json::from_str::<Headers>(r#"["a"]"#).is_err());
}

#[test]
fn empty_things_are_left_out_of_the_file() {
    let m = Message::from_json("a.B", serde_json::json!({}));
    assert_eq!(
        serde_json::to_string(&m).unwrap(),
        r#"{"type":"a.B","json":{}}"#
    );
    let r = RestResponse::default();
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"status":0,"headers":{}}"#
    );
}

#[test]
fn a_message_without_payload_or_type_cannot_be_encoded() {
    assert!(matches!(
        Message::default().to_bytes(&yc_proto::Schema::embedded()),
        Err(Error::NoPayload { .. })
    ));
    let untyped = Message {
        json: Some(serde_json::json!({})),
        ..Message::default()
    };
    assert!(matches!(
        untyped.to_bytes(&yc_proto::Schema::embedded()),
        Err(Error::Untyped)
    ));
}

#[test]
fn method_paths_type_requests_and_responses() {
    let get = "/yandex.cloud.compute.v1.ImageService/Get";
    let request = Message::from_request_bytes(&yc_proto::Schema::embedded(), get, b"\x0a\x03fd8");
    assert_eq!(
        request.type_name.as_deref(),
        Some("yandex.cloud.compute.v1.GetImageRequest")
    );
    assert_eq!(request.json, Some(serde_json::json!({"image_id": "fd8"})));
    let response = Message::from_response_bytes(&yc_proto::Schema::embedded(), get, b"\x0a\x03fd8");
    assert_eq!(
        response.type_name.as_deref(),
        Some("yandex.cloud.compute.v1.Image")
    );
    let unknown = Message::from_request_bytes(
        &yc_proto::Schema::embedded(),
        "/no.Such/Method",
        b"\x0a\x03fd8",
    );
    assert_eq!(
        (unknown.type_name, unknown.raw.as_deref()),
        (None, Some(&b"\x0a\x03fd8"[..]))
    );
}

#[test]
fn a_json_body_is_json_whatever_the_case_of_its_content_type() {
    let body = br#"{"id":"fd8","n":1}"#;
    for ct in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "text/x-Json",
    ] {
        assert!(
            matches!(Body::from_bytes(Some(ct), body), Body::Json(_)),
            "{ct}"
        );
    }
    assert!(matches!(
        Body::from_bytes(Some("text/plain"), body),
        Body::Text(_)
    ));
    // Spacing the compact form would not give back: kept as text, byte for byte.
    assert!(matches!(
        Body::from_bytes(Some("application/json"), br#"{"id": "fd8"}"#),
        Body::Text(_)
    ));
}

fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z\"\\\\\u{0}-\u{1f}é]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{1,3}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    /// The streaming comparison says what serialising and comparing said: for the compact text, anything
    /// shorter or longer, and any one byte changed.
    #[test]
    fn serialising_to_bytes_is_decided_as_comparing_a_copy_would(
        value in json_value(),
        cut in 0usize..64,
        extra in proptest::prop_oneof![proptest::strategy::Just(b' '), proptest::strategy::Just(b'}'), proptest::strategy::Just(b'0')],
        flip in 0usize..64,
    ) {
        let text = serde_json::to_vec(&value).unwrap();
        proptest::prop_assert!(serialises_to(&value, &text));
        let shorter = &text[..cut.min(text.len().saturating_sub(1))];
        proptest::prop_assert!(!serialises_to(&value, shorter));
        let mut longer = text.clone();
        longer.push(extra);
        proptest::prop_assert!(!serialises_to(&value, &longer));
        let mut changed = text.clone();
        let at = flip % changed.len();
        changed[at] ^= 0x01;
        proptest::prop_assert!(!serialises_to(&value, &changed));
    }
}
