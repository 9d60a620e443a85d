//! `yc-vcr replay` and `yc-vcr record` as child processes, for tests that call them with real clients.

use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// A running `yc-vcr` server, killed when dropped. Its local CA lives in a temporary folder of its own.
pub(crate) struct Server {
    child: Child,
    url: String,
    ca_path: PathBuf,
    _ca_dir: tempfile::TempDir,
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

    /// `BINARY replay --listen 127.0.0.1:0`, run in `cwd`: the binary as a user who copied or installed it runs it.
    pub(crate) fn replay_installed(binary: &Path, cwd: &Path) -> Server {
        let mut command = Command::new(binary);
        command.current_dir(cwd);
        Server::spawn(
            command,
            &["replay".into(), "--listen".into(), "127.0.0.1:0".into()],
        )
    }

    /// Starts the binary and waits for its `listening on` and `tls:` lines.
    pub(crate) fn start(args: &[String]) -> Server {
        Server::spawn(Command::new(env!("CARGO_BIN_EXE_yc-vcr")), args)
    }

    /// [`Server::start`] with the binary's log (stderr, `RUST_LOG=warn`) kept for [`Server::interrupt_logged`].
    pub(crate) fn start_logged(args: &[String]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_yc-vcr"));
        command.stderr(Stdio::piped());
        Server::spawn(command, args)
    }

    /// Spawns `command` with `args`; its stderr goes to the test's unless `command` says otherwise.
    fn spawn(mut command: Command, args: &[String]) -> Server {
        let ca_dir = tempfile::tempdir().unwrap();
        let mut child = command
            .args(args)
            .env("RUST_LOG", "warn")
            .env("YC_VCR_CA_DIR", ca_dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("yc-vcr starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .to_owned();
        let mut tls = String::new();
        stdout.read_line(&mut tls).unwrap();
        let expected = format!(
            "tls: {}, CA certificate ",
            url.replace("http://", "https://")
        );
        let ca_path = PathBuf::from(
            tls.trim()
                .strip_prefix(&expected)
                .unwrap_or_else(|| panic!("second line: {tls:?}, expected {expected:?}...")),
        );
        Server {
            child,
            url,
            ca_path,
            _ca_dir: ca_dir,
        }
    }

    /// The CA certificate (PEM) TLS clients of this server must trust.
    pub(crate) fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        self.url.clone()
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn authority(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// How many of the process's threads have the name `name` (Linux: `/proc/PID/task/*/comm`).
    pub(crate) fn threads_named(&self, name: &str) -> usize {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id())).unwrap();
        tasks
            .filter_map(|task| std::fs::read_to_string(task.unwrap().path().join("comm")).ok())
            .filter(|comm| comm.trim_end() == name)
            .count()
    }

    /// Sends SIGINT, as Ctrl-C does, and waits for the process to exit.
    pub(crate) fn interrupt(mut self) -> ExitStatus {
        self.send_sigint();
        self.child.wait().unwrap()
    }

    /// [`Server::interrupt`] for a server from [`Server::start_logged`]: the exit status and what it logged. The log
    /// is read to its end (the process exiting) before the wait, so a long one cannot fill the pipe and stall it.
    pub(crate) fn interrupt_logged(mut self) -> (ExitStatus, String) {
        let mut stderr = self.child.stderr.take().expect("started with start_logged");
        self.send_sigint();
        let mut log = String::new();
        stderr.read_to_string(&mut log).unwrap();
        (self.child.wait().unwrap(), log)
    }

    fn send_sigint(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
