//! `yc-vcr replay` as a child process, for tests that call it with real clients.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `yc-vcr replay --listen 127.0.0.1:0`, killed when dropped.
pub(crate) struct Replay {
    child: Child,
    url: String,
}

impl Replay {
    /// Starts the binary on the given cassettes and waits for its `listening on` line.
    pub(crate) fn start(cassettes: &[&Path]) -> Replay {
        let mut command = Command::new(env!("CARGO_BIN_EXE_yc-vcr"));
        command.args(["replay", "--listen", "127.0.0.1:0"]);
        for cassette in cassettes {
            command.arg("--cassette").arg(cassette);
        }
        let mut child = command
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
        Replay { child, url }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
