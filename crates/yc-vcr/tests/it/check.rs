use insta::assert_snapshot;

use crate::yc_vcr;

fn bundled() -> String {
    format!("{}/../../cassettes", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn bundled_cassettes_pass() {
    let run = yc_vcr(&["check", &bundled()], b"");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert_snapshot!(run.stderr.trim(), @"checked 7 cassettes: 0 problems");
}

#[test]
fn a_leaked_token_is_reported_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(format!("{}/compute-get.json", bundled())).unwrap();
    let leaked = original.replacen(
        "Bearer <redacted:iam-token:2b8a7b62>",
        "Bearer y0_AgAAAAAAxxxxAATuwQAAAADrBcdEfGhIjKlMnOpQrStUvWxYzAbCdEfGhIjK",
        1,
    );
    assert_ne!(
        original, leaked,
        "the fixture holds the placeholder to replace"
    );
    let path = dir.path().join("leaky.json");
    std::fs::write(&path, leaked).unwrap();

    let run = yc_vcr(&["check", path.to_str().unwrap()], b"");
    assert_eq!(run.code, 1, "{run:?}");
    let report = run
        .stdout_text()
        .replace(dir.path().to_str().unwrap(), "[dir]");
    assert_snapshot!(report, @"[dir]/leaky.json:19:30: secret (secret-header) not redacted in interactions[0].grpc.request.metadata.authorization");
}

#[test]
fn a_malformed_cassette_is_reported_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\n  \"version\": 1,\n  \"meta\": {\"description\": \"x\", \"recorded_with\": \"y\"},\n  \"interactions\": [\n    {\"grpc\": {\"method\": 42}}\n  ]\n}\n").unwrap();

    let run = yc_vcr(&["check", path.to_str().unwrap()], b"");
    assert_eq!(run.code, 1, "{run:?}");
    let report = run
        .stdout_text()
        .replace(dir.path().to_str().unwrap(), "[dir]");
    assert_snapshot!(report, @"[dir]/broken.json:5:26: invalid type: integer `42`, expected a string");
}

/// An IAM token shape, as the tests elsewhere use it.
const IAM: &str = "t1.9euelZqKkJGSnY6ZyJyLjpKUnZOSjO3rnpWazZeUi8yMnM2K.Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Ab3_Xy";

/// A cassette of REST interactions, one per `(query, response headers, response body)`, as file text.
fn rest_cassette(interactions: &[(&str, &str, &str)]) -> String {
    let items: Vec<String> = interactions
        .iter()
        .map(|(query, headers, body)| {
            format!(
                r#"    {{"rest": {{
      "request": {{"method": "GET", "path": "/x", "query": {query}, "headers": {{}}}},
      "response": {{"status": 200, "headers": {headers}, "body": {body}}}
    }}}}"#
            )
        })
        .collect();
    format!(
        "{{\n  \"version\": 1,\n  \"interactions\": [\n{}\n  ]\n}}\n",
        items.join(",\n")
    )
}

fn check_text(name: &str, text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let run = yc_vcr(&["check", path.to_str().unwrap()], b"");
    let report = run
        .stdout_text()
        .replace(dir.path().to_str().unwrap(), "[dir]");
    (run.code, report)
}

#[test]
fn secrets_hidden_by_an_encoding_are_found_where_they_are() {
    use base64::Engine as _;
    let escaped_all: String = IAM
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let gzipped = base64::engine::general_purpose::STANDARD
        .encode(yc_cassette::Encoding::Gzip.encode(format!(r#"{{"note":"{IAM}"}}"#).as_bytes()));
    let text = rest_cassette(&[
        // 0: one JSON escape in the middle of the token.
        (
            r#""""#,
            "{}",
            &format!(
                r#"{{"json": {{"note": "{}"}}}}"#,
                IAM.replacen('.', "\\u002e", 1)
            ),
        ),
        // 1: every character escaped.
        (r#""""#, "{}", &format!(r#"{{"text": "{escaped_all}"}}"#)),
        // 2: an escaped secret field name.
        (r#""""#, "{}", r#"{"json": {"api\u005fkey": "abc123"}}"#),
        // 3: an escaped PEM header.
        (
            r#""""#,
            "{}",
            r#"{"text": "\u002d----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}"#,
        ),
        // 4: a gzipped body kept as base64.
        (
            r#""""#,
            r#"{"content-encoding": "gzip"}"#,
            &format!(r#"{{"base64": "{gzipped}"}}"#),
        ),
        // 5: a URL-escaped token in the query.
        (
            &format!(r#""q={}""#, IAM.replace('.', "%2E")),
            "{}",
            r#"{"text": "ok"}"#,
        ),
        // 6: a form body.
        (
            r#""""#,
            "{}",
            r#"{"text": "grant_type=x&client_secret=s3cr3t-value"}"#,
        ),
        // 7: an AWS SigV2 signed URL inside JSON.
        (
            r#""""#,
            "{}",
            r#"{"json": {"url": "https://s3/b/k?AWSAccessKeyId=AKIAX&Expires=1&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D"}}"#,
        ),
        // 8: a bearer token in a header that is not `authorization`.
        (
            r#""""#,
            r#"{"x-forwarded-authorization": "Bearer opaque-123"}"#,
            r#"{"text": "ok"}"#,
        ),
    ]);
    if let Err(e) = yc_cassette::Cassette::from_json_str(&text, "t") {
        panic!("not a valid cassette: {e}");
    }
    let (code, report) = check_text("hidden.json", &text);
    assert_eq!(code, 1, "{report}");
    let found: Vec<&str> = report.lines().collect();
    for i in 0..9 {
        assert!(
            found
                .iter()
                .any(|l| l.contains(&format!("interactions[{i}]"))),
            "interaction {i} not reported:\n{report}"
        );
    }
    assert_snapshot!(report);
}

#[test]
fn a_cassette_replay_would_refuse_is_refused_and_replay_refuses_it_too() {
    let text = rest_cassette(&[(r#""""#, r#"{"x-note": "a\u0001b"}"#, r#"{"text": "ok"}"#)]);
    let (code, report) = check_text("control.json", &text);
    assert_eq!(code, 1, "{report}");
    assert_snapshot!(report, @"[dir]/control.json:4: interaction 0: response header `x-note` has a control character (\\u{1}) in its value");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("control.json");
    std::fs::write(&path, &text).unwrap();
    let run = yc_vcr(
        &[
            "replay",
            "--cassette",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        b"",
    );
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("has a control character"), "{run:?}");
}

#[test]
fn a_check_that_cannot_run_exits_2() {
    let run = yc_vcr(&["check", "/nonexistent/cassettes"], b"");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: cannot read `/nonexistent/cassettes`"),
        "{run:?}"
    );
}
