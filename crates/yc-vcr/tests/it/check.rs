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
    assert_snapshot!(report, @r"
    [dir]/leaky.json:19:31: secret (secret-header) not redacted
    [dir]/leaky.json:19:38: secret (oauth-token) not redacted
    ");
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
    assert_eq!(run.code, 1, "{run:?}");
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
    assert_eq!(run.code, 1, "{run:?}");
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
    let interactions = yc_cassette::Cassette::load(&path)
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
