//! The official Yandex Cloud Python SDK (its grpcio stubs) as the client: replay the bundled cassettes, record the
//! same scenario through `yc-vcr record`, and replay the new cassette; the SDK must see the same answers each time.
//!
//! A second test runs the SDK exactly as its users configure it (`yandexcloud.SDK(token=..., endpoint=...,
//! root_certificates=...)`): over TLS, with endpoint discovery, the OAuth-to-IAM token exchange and the operation
//! waiter, recorded through `yc-vcr record` and replayed with another OAuth token.
//!
//! Needs a Python with the `yandexcloud` package: `cargo xtask test` makes one and sets `YC_VCR_PYTHON`. Without it,
//! the tests say they are skipped, or fail when `CI` is set.

use std::path::Path;
use std::process::Command;

use yc_cassette::fixture;
use yc_proto::iam::v1::{CreateIamTokenRequest, CreateIamTokenResponse, create_iam_token_request};

use crate::external::client;
use crate::server::Server;

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_scenario.py");
const USER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/sdk_user.py");

/// Shaped like OAuth tokens of a Yandex account, so that recording must redact them; they grant nothing.
const OAUTH_RECORDING: &str = "y0_AgAAAAB3xF9kAATuwQAAAAEVc2BxAADb3T7qQkZPrNmWlLvHoY8sKd1E";
const OAUTH_REPLAYING: &str = "y0_AgAAAAAnother9TokenOfTheSameKindQvWxYz0123456789AbCdEfGh";
/// The IAM token the fake cloud hands out in exchange; shaped like one, so recording must redact it.
const IAM_TOKEN: &str = "t1.9euelZqSjZ2dlZGNy5WNzJKUnZqPie3rnpWakJKSk5qcm5WSns6Jz8jJns_l8_cgMkFE-e8bPyZh_d3z93BgPkT57xs_JmH9zef1656Vmp2cnpGKlpiWmc-Pk5aXjpWQ7_zF656Vmp2cnpGKlpiWmc-Pk5aXjpWQ.vgXyYWHh6ziT1f2ZbVwZsu7M1XRK5Hm9qgD9W1b6lFu8Q6G0mHk-ZbR0EtC0l2oX8gCjVc9n9GnQ9wBq1lqwDg";

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
    let Some(python) = client("YC_VCR_PYTHON", "the Python SDK") else {
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

fn run_user(python: &str, server: &Server, oauth: &str) -> String {
    let output = Command::new(python)
        .arg(USER)
        .arg(server.authority())
        .arg(server.ca_path())
        .arg(oauth)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "sdk_user.py against {} failed:\n{}",
        server.authority(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The fake cloud's token service: any OAuth token gets [`IAM_TOKEN`] (the recorded request is matched by the
/// credential's kind, as every redacted value is).
fn token_service(dir: &Path) -> std::path::PathBuf {
    let request = CreateIamTokenRequest {
        identity: Some(
            create_iam_token_request::Identity::YandexPassportOauthToken(OAUTH_RECORDING.into()),
        ),
    };
    let response = CreateIamTokenResponse {
        iam_token: IAM_TOKEN.into(),
        expires_at: Some(yc_proto::google::protobuf::Timestamp {
            seconds: 1_767_225_600,
            nanos: 0,
        }),
    };
    let mut cassette = fixture::cassette(vec![
        fixture::grpc("/yandex.cloud.iam.v1.IamTokenService/Create")
            .request(&request)
            .response(&response)
            .build(),
    ]);
    cassette.meta.description = "the fake cloud's IAM token exchange".into();
    let path = dir.join("iam.json");
    cassette.save(&path).unwrap();
    path
}

#[test]
fn python_sdk_as_users_configure_it_records_over_tls_and_replays_with_another_token() {
    let Some(python) = client("YC_VCR_PYTHON", "the Python SDK") else {
        return;
    };
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");
    let dir = tempfile::tempdir().unwrap();
    let iam = token_service(dir.path());

    // The fake cloud: the bundled cassettes and the token exchange; discovery is answered by replay itself.
    let direct = run_user(&python, &Server::replay(&[&bundled, &iam]), OAUTH_RECORDING);
    insta::assert_snapshot!(direct);

    // Through the recording proxy, over TLS: discovery sends the SDK back to the proxy for every service.
    let cloud = Server::replay(&[&bundled, &iam]);
    let cassette = dir.path().join("sdk-user.json");
    let recorder = Server::record(&cassette, &cloud.url());
    assert_eq!(
        run_user(&python, &recorder, OAUTH_RECORDING),
        direct,
        "through the recording proxy"
    );
    assert!(recorder.interrupt().success(), "record exits 0 on SIGINT");

    let text = std::fs::read_to_string(&cassette).unwrap();
    for (secret, what) in [
        (OAUTH_RECORDING, "the OAuth token"),
        (IAM_TOKEN, "the IAM token"),
    ] {
        assert!(!text.contains(secret), "{what} never reaches the disk");
    }
    for method in [
        "/yandex.cloud.endpoint.ApiEndpointService/List",
        "/yandex.cloud.iam.v1.IamTokenService/Create",
        "/yandex.cloud.operation.OperationService/Get",
    ] {
        assert!(text.contains(method), "the cassette holds {method}");
    }

    // The new cassette alone, with a different OAuth token, as CI runs it: the same transcript.
    drop(cloud);
    let replay = Server::replay(&[&cassette]);
    assert_eq!(
        run_user(&python, &replay, OAUTH_REPLAYING),
        direct,
        "replaying the new cassette with another OAuth token"
    );
}

/// The README's pytest example: `yc-vcr replay` as a session-wide sidecar, each test rewinding it first.
#[test]
fn pytest_with_yc_vcr_as_a_sidecar_runs_as_the_readme_shows() {
    let Some(python) = client("YC_VCR_PYTHON", "the Python SDK") else {
        return;
    };
    let binary = Path::new(env!("CARGO_BIN_EXE_yc-vcr"));
    let path = std::env::join_paths(
        std::iter::once(binary.parent().unwrap().to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .unwrap();
    let ca_dir = tempfile::tempdir().unwrap();
    let output = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/test_sidecar.py"
        ))
        .env("PATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("YC_VCR_CA_DIR", ca_dir.path())
        .env(
            "YC_VCR_CASSETTES",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../cassettes"),
        )
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("3 passed"),
        "pytest failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
