use insta::assert_snapshot;

use crate::yc_vcr;

const IMAGE: &str = "yandex.cloud.compute.v1.Image";

fn convert(type_name: &str, from: &str, to: &str, stdin: &[u8]) -> crate::Run {
    yc_vcr(
        &["convert", "--type", type_name, "--from", from, "--to", to],
        stdin,
    )
}

#[test]
fn json_round_trips_through_binary_in_both_styles() {
    let camel = br#"{"id":"fd8abcdefghijklmnopq","folderId":"b1gabcdefghijklmnopq","storageSize":"4194304","status":"READY","labels":{"env_name":"ci"}}"#;
    let binary = convert(IMAGE, "json", "binary", camel);
    assert_eq!(binary.code, 0, "{}", binary.stderr);

    let snake = convert(IMAGE, "binary", "snake", &binary.stdout);
    assert_eq!(snake.code, 0, "{}", snake.stderr);
    assert_snapshot!(snake.stdout_text(), @r#"{"id":"fd8abcdefghijklmnopq","folder_id":"b1gabcdefghijklmnopq","labels":{"env_name":"ci"},"storage_size":"4194304","status":"READY"}"#);

    let back = convert(IMAGE, "json", "camel", snake.stdout_text().as_bytes());
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert_snapshot!(back.stdout_text(), @r#"{"id":"fd8abcdefghijklmnopq","folderId":"b1gabcdefghijklmnopq","labels":{"env_name":"ci"},"storageSize":"4194304","status":"READY"}"#);
}

#[test]
fn bad_input_is_one_line_on_stderr_and_a_failure() {
    let cases: [(&str, &str, &[u8]); 5] = [
        ("unknown field", "json", br#"{"id":"x","bogus":1}"#),
        ("wrong value type", "json", br#"{"storageSize":{"a":1}}"#),
        ("malformed json", "json", br#"{"id": "#),
        ("truncated binary", "binary", b"\x0a\x05ab"),
        ("not utf-8", "json", b"\xff\xfe"),
    ];
    for (what, from, stdin) in cases {
        let run = convert(IMAGE, from, "snake", stdin);
        assert_eq!(run.code, 1, "{what}: {run:?}");
        assert!(run.stdout.is_empty(), "{what}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{what}: {}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{what}: {}", run.stderr);
    }
}

#[test]
fn unknown_type_names_the_type() {
    let run = convert("yandex.cloud.compute.v1.Nope", "json", "camel", b"{}");
    assert_eq!(run.code, 1);
    assert_snapshot!(run.stderr, @"error: unknown message type `yandex.cloud.compute.v1.Nope` (full names look like `yandex.cloud.compute.v1.Image`)");
}

#[test]
fn unknown_fields_can_be_ignored() {
    let run = yc_vcr(
        &[
            "convert",
            "--type",
            IMAGE,
            "--from",
            "json",
            "--to",
            "camel",
            "--ignore-unknown-fields",
        ],
        br#"{"id":"fd8x","bogus":{"deep":[1,2]}}"#,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_snapshot!(run.stdout_text(), @r#"{"id":"fd8x"}"#);
}
