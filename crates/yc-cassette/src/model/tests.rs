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
