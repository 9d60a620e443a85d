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
