//! The official Yandex Cloud Node.js SDK as its users write it (`new Session({ iamToken, ssl: { rootCerts } })`,
//! `session.client(ImageServiceClient, endpoint)`, `waitForOperation`) against replay over TLS with the yc-vcr CA,
//! then through `yc-vcr record` and against the cassette it wrote: the same answers each time.
//!
//! The SDK always speaks TLS (`credentials.createSsl`), so this test is also the proof that replay's TLS works for
//! grpc-js. Needs Node.js and the pinned SDK: `cargo xtask test` installs it and sets `YC_VCR_NODE_MODULES`.

use std::path::Path;
use std::process::Command;

use crate::external::client;
use crate::server::Server;

const USER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/node/sdk_user.js");
/// Any token: replay does not check credentials, and `authorization` never takes part in matching.
const IAM_TOKEN: &str =
    "t1.9euelZqSjZ2dlZGNy5WNzJKUnZqPie3rnpWakJKSk5qcm5WSns6Jz8jJns_l8_cgMkFE.vgXyYWHh6ziT1f2Zb";

fn run_user(modules: &str, server: &Server) -> String {
    let output = Command::new("node")
        .arg(USER)
        .arg(server.authority())
        .arg(server.ca_path())
        .arg(IAM_TOKEN)
        .env("NODE_PATH", modules)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "sdk_user.js against {} failed:\n{}",
        server.authority(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn node_sdk_session_calls_and_waits_for_an_operation_against_replay_over_tls() {
    let Some(modules) = client("YC_VCR_NODE_MODULES", "the Node.js SDK") else {
        return;
    };
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");
    let direct = run_user(&modules, &Server::replay(&[&bundled]));
    insta::assert_snapshot!(direct);

    // Through the recording proxy over TLS, then from the new cassette alone: the same answers.
    let cloud = Server::replay(&[&bundled]);
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("node.json");
    let recorder = Server::record(&cassette, &cloud.url());
    assert_eq!(
        run_user(&modules, &recorder),
        direct,
        "through the recording proxy"
    );
    assert!(recorder.interrupt().success(), "record exits 0 on SIGINT");
    let text = std::fs::read_to_string(&cassette).unwrap();
    assert!(
        !text.contains(IAM_TOKEN),
        "the SDK's token never reaches the disk"
    );
    drop(cloud);
    assert_eq!(
        run_user(&modules, &Server::replay(&[&cassette])),
        direct,
        "replaying the new cassette"
    );
}
