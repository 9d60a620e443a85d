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
    if let Err(e) = yc_cassette::Cassette::from_json_str(&text, "t", &yc_proto::Schema::embedded())
    {
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

#[test]
fn a_fifo_a_device_and_an_oversize_file_are_refused_by_name_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Nothing writes to the FIFO: reading it would hang the test.
    let run = yc_vcr(&["check", fifo.to_str().unwrap(), "/dev/zero"], b"");
    // Files that cannot be read as cassettes: the check could not run on them (ripgrep's 2).
    assert_eq!(run.code, 2, "{run:?}");
    let report = run
        .stdout_text()
        .replace(dir.path().to_str().unwrap(), "[dir]");
    assert_snapshot!(report, @r"
    `[dir]/fifo.json` is a FIFO, not a cassette file
    `/dev/zero` is a device, not a cassette file
    ");
    let run = yc_vcr(
        &[
            "replay",
            "--cassette",
            fifo.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        b"",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("is a FIFO, not a cassette file"),
        "{run:?}"
    );

    let cassette = format!("{}/compute-get.json", bundled());
    let run = yc_vcr(&["check", "--max-cassette-size", "100", &cassette], b"");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout_text().contains(
            "bytes, more than the limit of 100 bytes (raise it with --max-cassette-size)"
        ),
        "{run:?}"
    );
}

#[test]
fn a_journal_left_by_a_crash_is_checked_and_noted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crashed.json");
    std::fs::copy(format!("{}/compute-get.json", bundled()), &path).unwrap();
    let interactions = yc_cassette::Cassette::load(&path, &yc_proto::Schema::embedded())
        .unwrap()
        .interactions
        .len();
    let header = yc_cassette::JournalHeader {
        version: yc_cassette::journal::JOURNAL_VERSION,
        base: interactions,
        ..Default::default()
    };
    let mut journal = yc_cassette::journal::header_line(&header);
    // One line recorded before the crash, a torn one the crash cut.
    let line = r#"{"rest": {"request": {"method": "GET", "path": "/x", "query": "", "headers": {}}, "response": {"status": 200, "headers": {"authorization": "Bearer t1.9euelZqTnJKWmJCPnZ2Xx5XHm8eLx-secret"}}}}"#;
    journal.extend_from_slice(line.as_bytes());
    journal.extend_from_slice(b"\n{\"rest\": {\"requ");
    std::fs::write(yc_cassette::journal_path(&path), journal).unwrap();

    let run = yc_vcr(&["check", path.to_str().unwrap()], b"");
    let shown = |text: &str| text.replace(dir.path().to_str().unwrap(), "[dir]");
    assert_eq!(run.code, 1, "{run:?}");
    assert_snapshot!(shown(run.stdout_text()), @"[dir]/crashed.json.journal:2: rest.response.headers.authorization: secret (secret-header) not redacted");
    assert_snapshot!(shown(&run.stderr), @r"
    [dir]/crashed.json: journal `[dir]/crashed.json.journal` (left by a recording that did not finish): recovered 1 interactions not yet in the cassette; dropped a torn last line (a crash mid-write)
    checked 1 cassettes: 1 problems
    ");
}
