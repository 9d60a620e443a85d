//! The official Yandex Cloud Node.js SDK as its users write it (`new Session({ iamToken, ssl: { rootCerts } })`,
//! `session.client(ImageServiceClient, endpoint)`, `waitForOperation`) against replay over TLS with the yc-vcr CA.
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

#[test]
fn node_sdk_session_calls_and_waits_for_an_operation_against_replay_over_tls() {
    let Some(modules) = client("YC_VCR_NODE_MODULES", "the Node.js SDK") else {
        return;
    };
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");
    let replay = Server::replay(&[&bundled]);
    let output = Command::new("node")
        .arg(USER)
        .arg(replay.authority())
        .arg(replay.ca_path())
        .arg(IAM_TOKEN)
        .env("NODE_PATH", &modules)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "sdk_user.js failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    insta::assert_snapshot!(String::from_utf8(output.stdout).unwrap());
}
