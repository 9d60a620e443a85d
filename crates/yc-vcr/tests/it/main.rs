//! The `yc-vcr` binary as users run it: a real process, real stdin/stdout, real exit codes.

mod bundled;
mod ca;
mod check;
mod cli;
mod clients;
mod convert;
mod external;
mod grpcurl;
mod node_sdk;
mod protos;
mod python_sdk;
mod server;
mod vcr_modes;

use std::io::Write;
use std::process::{Command, Stdio};

/// The outcome of one run of the binary.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub(crate) fn stdout_text(&self) -> &str {
        std::str::from_utf8(&self.stdout).expect("stdout is UTF-8")
    }
}

/// Runs `yc-vcr ARGS` with `stdin` and waits for it; a local CA it makes goes to a temporary folder.
pub(crate) fn yc_vcr(args: &[&str], stdin: &[u8]) -> Run {
    let ca_dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yc-vcr"))
        .args(args)
        .env("YC_VCR_CA_DIR", ca_dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // The binary may exit before reading its input (an unknown type name, say): that is not the test's failure.
    if let Err(err) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {err}"
        );
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
