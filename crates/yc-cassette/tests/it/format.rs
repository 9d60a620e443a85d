//! The file format: every shape survives a save and a load unchanged, and broken files say where they break.

use base64::Engine as _;
use yc_cassette::{
    Body, Cassette, Error, GrpcInteraction, GrpcRequest, GrpcResponse, GrpcStatus, Headers,
    Interaction, Message,
};

use crate::*;

fn every_shape() -> Cassette {
    let unknown_field = {
        // image_id = "fd8..." plus an unknown field 99: JSON alone cannot reproduce these bytes.
        let mut b = get_request_bytes("fd8abc1234567890defg");
        b.extend_from_slice(&[0x9a, 0x06, 3, b'x', b'y', b'z']);
        b
    };
    let details = not_found_details(&[("image_id", "fd8nope")]);
    let streaming = Interaction::Grpc(GrpcInteraction {
        method: "/yandex.cloud.compute.v1.ImageService/List".to_owned(),
        request: GrpcRequest {
            metadata: headers(&[
                ("x-client-request-id", "8d2c5b9e"),
                ("x-data-bin", "AAEC"),
                ("accept", "a"),
                ("accept", "b"),
            ]),
            messages: vec![
                Message::from_bytes(
                    &yc_proto::Schema::embedded(),
                    Some("yandex.cloud.compute.v1.ListImagesRequest"),
                    &[],
                ),
                Message::from_bytes(
                    &yc_proto::Schema::embedded(),
                    Some(GET_REQUEST),
                    &unknown_field,
                ),
                Message::from_bytes(&yc_proto::Schema::embedded(), None, &[1, 2, 3]),
                Message::from_bytes(
                    &yc_proto::Schema::embedded(),
                    Some("no.such.Type"),
                    &[0x0a, 0x01, b'a'],
                ),
            ],
        },
        response: GrpcResponse {
            headers: headers(&[("content-type", "application/grpc")]),
            messages: vec![],
            trailers: headers(&[("x-server-trace-id", "abc")]),
            status: GrpcStatus::from_wire(5, "image not found", Some(&details)),
            trailers_only: true,
        },
    });
    cassette(vec![
        get_image("fd8abc1234567890defg", "ubuntu").build(),
        streaming,
        rest_interaction(
            "POST",
            "/compute/v1/images",
            "folderId=b1g0123456789abcdefg&pageSize=10",
            Body::from_bytes(
                Some("application/json"),
                br#"{"folderId":"b1g0123456789abcdefg"}"#,
            ),
            r#"{"id":"fd8","done":false}"#,
        ),
        rest_interaction(
            "GET",
            "/text",
            "",
            Body::from_bytes(Some("text/plain"), b"plain text\n"),
            "{ \"spaced\": 1 }",
        ),
        rest_interaction(
            "PUT",
            "/bin",
            "",
            Body::from_bytes(None, &[0xff, 0x00, 0xfe]),
            "",
        ),
    ])
}

#[test]
fn every_shape_round_trips() {
    let original = every_shape();
    let text = original.to_json_string();
    assert!(text.ends_with("}\n"));
    let loaded = Cassette::from_json_str(&text, "mem", &yc_proto::Schema::embedded()).unwrap();
    assert_eq!(loaded, original);
    assert_eq!(
        loaded.to_json_string(),
        text,
        "saving again gives the same text"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn bodies_pick_the_most_readable_exact_form() {
    let cases: [(Option<&str>, &[u8]); 6] = [
        (Some("application/json"), br#"{"a":1,"b":[true,null]}"#),
        (Some("application/json"), b"{ \"a\": 1 }"),
        (Some("application/json"), br#"{"e":"\u00e9"}"#),
        (Some("text/plain"), b"123"),
        (None, b"[1,2]"),
        (None, &[0xff, 0xfe]),
    ];
    let kinds: Vec<String> = cases
        .iter()
        .map(|(ct, bytes)| {
            let body = Body::from_bytes(*ct, bytes);
            assert_eq!(body.to_bytes(), *bytes, "exact bytes for {ct:?}");
            match body {
                Body::Empty => "empty".to_owned(),
                Body::Json(_) => "json".to_owned(),
                Body::Text(_) => "text".to_owned(),
                Body::Base64(_) => "base64".to_owned(),
            }
        })
        .collect();
    assert_eq!(kinds, ["json", "text", "text", "text", "json", "base64"]);
}

#[test]
fn messages_keep_raw_bytes_only_when_json_cannot_reproduce_them() {
    let plain = Message::from_bytes(
        &yc_proto::Schema::embedded(),
        Some(GET_REQUEST),
        &get_request_bytes("fd8abc"),
    );
    assert!(plain.raw.is_none());
    assert_eq!(plain.json, Some(serde_json::json!({"image_id": "fd8abc"})));
    assert_eq!(
        plain.to_bytes(&yc_proto::Schema::embedded()).unwrap(),
        get_request_bytes("fd8abc")
    );

    let mut odd = get_request_bytes("fd8abc");
    odd.extend_from_slice(&[0x9a, 0x06, 1, b'x']);
    let m = Message::from_bytes(&yc_proto::Schema::embedded(), Some(GET_REQUEST), &odd);
    assert_eq!(m.raw.as_deref(), Some(&odd[..]));
    assert_eq!(m.to_bytes(&yc_proto::Schema::embedded()).unwrap(), odd);

    let garbage = Message::from_bytes(
        &yc_proto::Schema::embedded(),
        Some(GET_REQUEST),
        &[0xff, 0xff],
    );
    assert!(garbage.json.is_none());
    assert_eq!(
        garbage.to_bytes(&yc_proto::Schema::embedded()).unwrap(),
        [0xff, 0xff]
    );

    let unknown = Message::from_bytes(&yc_proto::Schema::embedded(), None, b"\x0a\x01a");
    assert_eq!(
        unknown.to_bytes(&yc_proto::Schema::embedded()).unwrap(),
        b"\x0a\x01a"
    );
}

#[test]
fn headers_group_repeats_and_keep_order() {
    let h = headers(&[("b", "1"), ("a", "2"), ("b", "3")]);
    let text = serde_json::to_string(&h).unwrap();
    assert_eq!(text, r#"{"b":["1","3"],"a":"2"}"#);
    let back: Headers = serde_json::from_str(&text).unwrap();
    assert_eq!(back.get_all("b").collect::<Vec<_>>(), ["1", "3"]);
}

#[test]
fn save_is_atomic_and_load_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    std::fs::write(&path, "old").unwrap();
    let c = every_shape();
    c.save(&path).unwrap();
    assert_eq!(
        Cassette::load(&path, &yc_proto::Schema::embedded()).unwrap(),
        c
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["c.json"], "no temporary file is left behind");
}

#[test]
fn save_into_a_missing_directory_fails_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing/c.json");
    let err = every_shape().save(&path).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
}

fn load_error(text: &str) -> String {
    Cassette::from_json_str(text, "cassettes/broken.json", &yc_proto::Schema::embedded())
        .unwrap_err()
        .to_string()
}

#[test]
fn load_errors_say_where_and_what() {
    let good = cassette(vec![get_image("fd8abc1234567890defg", "ubuntu").build()]).to_json_string();
    let truncated = &good[..good.len() / 2];
    let wrong_version = good.replace("\"version\": 1", "\"version\": 2");
    let wrong_type = good.replace("\"code\": 0", "\"code\": \"OK\"");
    let unknown_field = good.replace(
        "\"trailers\": {}",
        "\"trailers\": {},\n          \"trailer\": {}",
    );
    let unknown_type = good.replace(GET_REQUEST, "yandex.cloud.compute.v1.NoSuchRequest");
    let bad_message = good.replace("\"image_id\"", "\"imageIdentifier\"");
    let bad_base64 = good.replace(
        "\"json\": {\n                \"image_id\"",
        "\"raw\": \"!!!\",\n              \"json\": {\n                \"image_id\"",
    );
    assert_ne!(bad_base64, good);
    let report = [
        ("empty", load_error("")),
        ("not json", load_error("version = 1\n")),
        ("truncated", load_error(truncated)),
        ("wrong version", load_error(&wrong_version)),
        ("no version", load_error("{\"interactions\": []}")),
        ("wrong type", load_error(&wrong_type)),
        ("unknown field", load_error(&unknown_field)),
        ("unknown message type", load_error(&unknown_type)),
        ("message JSON not of its type", load_error(&bad_message)),
        ("bad base64", load_error(&bad_base64)),
        (
            "bad header value",
            load_error(&good.replace("\"application/grpc\"", "42")),
        ),
        (
            "unknown transport",
            load_error(&good.replace("\"grpc\": {", "\"websocket\": {")),
        ),
        (
            "trailers-only with messages",
            load_error(&good.replace(
                "\"trailers\": {}",
                "\"trailers\": {},\n          \"trailers_only\": true",
            )),
        ),
        (
            "status details not of their type",
            load_error(&good.replace(
                "\"message\": \"\"",
                "\"message\": \"\",\n            \"details\": [{\"@type\": \"type.googleapis.com/no.Such\"}]",
            )),
        ),
    ]
    .map(|(what, err)| format!("{what}: {err}"))
    .join("\n");
    insta::assert_snapshot!(report);
}

#[test]
fn status_details_decode_and_reencode_exactly() {
    let text = not_found_details(&[("image_id", "fd8nope")]);
    let status = GrpcStatus::from_wire(5, "image not found", Some(&text));
    assert_eq!(status.details_bin, None, "re-encoding reproduces the text");
    assert_eq!(
        status.details[0]["@type"],
        "type.googleapis.com/google.rpc.ErrorInfo"
    );
    assert_eq!(status.details[0]["metadata"]["image_id"], "fd8nope");
    assert_eq!(
        status.details_bin_text().unwrap().as_deref(),
        Some(text.as_str())
    );

    // Padded base64, or an inner message that differs from grpc-message: the text is kept as it was.
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&text)
        .unwrap();
    let padded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let status = GrpcStatus::from_wire(5, "image not found", Some(&padded));
    assert_eq!(status.details_bin.as_deref(), Some(padded.as_str()));
    let other = GrpcStatus::from_wire(5, "another message", Some(&text));
    assert_eq!(
        other.details_bin_text().unwrap().as_deref(),
        Some(text.as_str())
    );
    let junk = GrpcStatus::from_wire(13, "x", Some("not base64!"));
    assert!(junk.details.is_empty());
    assert_eq!(
        junk.details_bin_text().unwrap().as_deref(),
        Some("not base64!")
    );
}

#[test]
fn every_truncation_and_many_corruptions_give_errors_that_point_inside_the_file() {
    let text = every_shape().to_json_string();
    let lines = text.lines().count();
    let check = |broken: &str| match Cassette::from_json_str(
        broken,
        "x.json",
        &yc_proto::Schema::embedded(),
    ) {
        Ok(_) => {}
        Err(Error::Parse { line, column, .. } | Error::Version { line, column, .. }) => {
            assert!(
                line >= 1 && line <= lines + 1 && column >= 1,
                "{line}:{column}"
            );
        }
        Err(Error::Invalid { interaction, .. }) => assert!(interaction < 5),
        Err(other) => panic!("unexpected error kind: {other}"),
    };
    // Dropping only the final newline leaves a whole document.
    for end in (0..text.trim_end().len()).filter(|&i| text.is_char_boundary(i)) {
        let truncated = &text[..end];
        assert!(
            Cassette::from_json_str(truncated, "x.json", &yc_proto::Schema::embedded()).is_err(),
            "{end}"
        );
        check(truncated);
    }
    // Swap each structural or quote character for another one, in turn.
    for (i, c) in text.char_indices().filter(|(_, c)| "{}[]\":,".contains(*c)) {
        for replacement in ['x', '"', '}', ' '] {
            if replacement != c {
                let mut broken = text.clone();
                broken.replace_range(i..i + 1, &replacement.to_string());
                check(&broken);
            }
        }
    }
}

#[test]
fn bundled_cassettes_load_resave_identically_and_scan_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let c =
            Cassette::load(&path, &yc_proto::Schema::embedded()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.to_json_string(),
            text,
            "{} re-saves identically",
            path.display()
        );
        assert_eq!(yc_cassette::scan(&c), vec![], "{}", path.display());
        assert_eq!(yc_cassette::scan_text(&text), vec![], "{}", path.display());
        seen += 1;
    }
    assert!(seen > 0, "no cassette in {}", dir.display());
}
