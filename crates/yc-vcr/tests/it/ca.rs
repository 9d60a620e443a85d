//! `yc-vcr ca`: the path of the local CA's certificate, made on first use; and TLS on `replay`'s port with it.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::server::Server;

/// Runs `yc-vcr ARGS` with `envs` (and no inherited CA settings).
fn run(args: &[&str], envs: &[(&str, &Path)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_yc-vcr"));
    command
        .args(args)
        .env_remove("YC_VCR_CA_DIR")
        .stdin(Stdio::null());
    for (name, value) in envs {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn ca_prints_the_certificate_path_and_makes_the_ca_once() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ca");
    let (code, stdout, stderr) = run(&["ca", "--ca-dir", dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{stderr}");
    let path = dir.join("ca.pem");
    assert_eq!(stdout, format!("{}\n", path.display()));
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    // Again: the same path, the same certificate.
    let (code, again, _) = run(&["ca", "--ca-dir", dir.to_str().unwrap()], &[]);
    assert_eq!((code, again), (0, stdout));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);
}

#[test]
fn ca_folder_from_the_environment_and_the_per_user_default() {
    let root = tempfile::tempdir().unwrap();
    let env_dir = root.path().join("from-env");
    let (code, stdout, stderr) = run(&["ca"], &[("YC_VCR_CA_DIR", &env_dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), env_dir.join("ca.pem").display().to_string());

    let data = root.path().join("data");
    let (code, stdout, stderr) = run(&["ca"], &[("XDG_DATA_HOME", &data)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        data.join("yc-vcr/ca/ca.pem").display().to_string()
    );

    let home = root.path().join("home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_yc-vcr"));
    let output = command
        .arg("ca")
        .env_remove("YC_VCR_CA_DIR")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        home.join(".local/share/yc-vcr/ca/ca.pem")
            .display()
            .to_string()
    );
}

#[test]
fn ca_help_shows_how_to_hand_the_ca_to_each_client() {
    let (code, stdout, _) = run(&["ca", "--help"], &[]);
    assert_eq!(code, 0);
    for client in [
        "root_certificates=",
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
        "rootCerts",
        "SSL_CERT_FILE",
        "grpcurl -cacert",
        "curl --cacert",
    ] {
        assert!(stdout.contains(client), "{client} in {stdout}");
    }
}

#[test]
fn a_corrupt_ca_stops_replay_with_the_path() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ca");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("ca-key.pem"), "not a key").unwrap();
    let (code, stdout, stderr) = run(
        &[
            "replay",
            "--listen",
            "127.0.0.1:0",
            "--ca-dir",
            dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "nothing listens: {stdout}");
    assert!(
        stderr.contains(&dir.join("ca-key.pem").display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("--no-tls"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("ca-key.pem")).unwrap(),
        "not a key"
    );
}

#[test]
fn replay_serves_https_with_the_ca_it_names() {
    let server = Server::replay(&[]);
    let (code, stdout, _) = run(
        &["ca"],
        &[("YC_VCR_CA_DIR", server.ca_path().parent().unwrap())],
    );
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), server.ca_path().display().to_string());
    // curl is the client users have; without it this test has nothing to say.
    let Ok(output) = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(server.ca_path())
        .arg(format!(
            "{}/container-registry/v1/images/crp3a5b7c9d1e3f5g7h9",
            server.url().replace("http://", "https://")
        ))
        .output()
    else {
        assert!(std::env::var_os("CI").is_none(), "curl is missing on CI");
        eprintln!("curl is not installed: skipped the curl call");
        return;
    };
    let body = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{body} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(body.contains(r#""id":"crp3a5b7c9d1e3f5g7h9""#), "{body}");
}

#[test]
fn advertise_takes_host_and_port() {
    for bad in ["no-port", "host:http", ":8080", "user@host:1", "::1:8080"] {
        let (code, _, stderr) = run(
            &["replay", "--listen", "127.0.0.1:0", "--advertise", bad],
            &[],
        );
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("is not HOST:PORT"), "{bad}: {stderr}");
    }
}
