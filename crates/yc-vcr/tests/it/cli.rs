//! What users get when they hold a command wrong.

use crate::yc_vcr;

#[test]
fn replay_names_a_missing_cassette() {
    let run = yc_vcr(
        &[
            "replay",
            "--cassette",
            "/nonexistent/cassette.json",
            "--listen",
            "127.0.0.1:0",
        ],
        b"",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "nothing listens: {run:?}");
    assert!(
        run.stderr.contains("/nonexistent/cassette.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn record_refuses_to_overwrite_without_being_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("existing.json");
    std::fs::write(&path, "keep me").unwrap();
    let run = yc_vcr(
        &[
            "record",
            "--cassette",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "http://127.0.0.1:9",
        ],
        b"",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("existing.json"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "keep me",
        "nothing lost"
    );
}

#[test]
fn help_teaches_each_command() {
    for command in ["replay", "record", "check", "convert", "ca"] {
        let run = yc_vcr(&[command, "--help"], b"");
        assert_eq!(run.code, 0, "{command}: {run:?}");
        assert!(
            run.stdout_text().contains("Usage: yc-vcr"),
            "{command}: {}",
            run.stdout_text()
        );
    }
}
