//! The official Yandex Cloud Python SDK (its grpcio stubs) as the client: replay the bundled cassettes, record the
//! same scenario through `yc-vcr record`, and replay the new cassette; the SDK must see the same answers each time.
//!
//! Needs a Python with the `yandexcloud` package: `.ci/run` makes one and sets `YC_VCR_PYTHON`. Without it, the test
//! says it is skipped and passes.

use std::path::Path;
use std::process::Command;

use crate::server::Server;

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_scenario.py");

fn run_scenario(python: &str, authority: &str) -> String {
    let output = Command::new(python)
        .args([SCENARIO, authority])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "sdk_scenario.py against {authority} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn python_sdk_sees_the_same_answers_live_recorded_and_replayed() {
    let Some(python) = std::env::var("YC_VCR_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        eprintln!(
            "skipped: set YC_VCR_PYTHON to a Python with the `yandexcloud` package (`.ci/run` does)"
        );
        return;
    };
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");

    // The bundled cassettes stand in for the cloud.
    let direct = run_scenario(&python, Server::replay(&[&bundled]).authority());
    insta::assert_snapshot!(direct);

    // The SDK through the recording proxy sees exactly what the "cloud" answers
    // (a fresh one: replay sequences advance, as the cloud's state does).
    let cloud = Server::replay(&[&bundled]);
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("sdk.json");
    let recorder = Server::record(&cassette, &cloud.url());
    assert_eq!(
        run_scenario(&python, recorder.authority()),
        direct,
        "through the recording proxy"
    );
    assert!(recorder.interrupt().success(), "record exits 0 on SIGINT");

    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(
        !text.contains("t1.9euelZ"),
        "the SDK's token never reaches the disk"
    );
    assert!(
        text.contains("<redacted:iam-token:"),
        "it is replaced by a placeholder"
    );

    // The new cassette, on its own, gives the SDK the same answers again.
    drop(cloud);
    let replay = Server::replay(&[&cassette]);
    assert_eq!(
        run_scenario(&python, replay.authority()),
        direct,
        "replaying the new cassette"
    );
}
