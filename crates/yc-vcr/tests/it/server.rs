//! `yc-vcr replay` and `yc-vcr record` as child processes, for tests that call them with real clients.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

/// A running `yc-vcr` server, killed when dropped.
pub(crate) struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// `yc-vcr replay --listen 127.0.0.1:0` on the given cassettes.
    pub(crate) fn replay(cassettes: &[&Path]) -> Server {
        let mut args = vec!["replay".to_owned(), "--listen".into(), "127.0.0.1:0".into()];
        for cassette in cassettes {
            args.extend(["--cassette".into(), cassette.display().to_string()]);
        }
        Server::start(&args)
    }

    /// `yc-vcr record --listen 127.0.0.1:0 --cassette CASSETTE --upstream UPSTREAM`.
    pub(crate) fn record(cassette: &Path, upstream: &str) -> Server {
        let cassette = cassette.display().to_string();
        Server::start(&[
            "record".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--cassette".into(),
            cassette,
            "--upstream".into(),
            upstream.into(),
        ])
    }

    /// Starts the binary and waits for its `listening on` line.
    fn start(args: &[String]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_yc-vcr"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("yc-vcr starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .to_owned();
        Server { child, url }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        self.url.clone()
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// Sends SIGINT, as Ctrl-C does, and waits for the process to exit.
    pub(crate) fn interrupt(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
