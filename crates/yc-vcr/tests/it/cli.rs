//! What users get when they hold a command wrong.

use crate::yc_vcr;

#[test]
fn replay_names_a_missing_cassette() {
    let run = yc_vcr(
        &[
            "replay",
            "--cassette",
            "/nonexistent/cassette.json",
            "--listen",
            "127.0.0.1:0",
        ],
        b"",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "nothing listens: {run:?}");
    assert!(
        run.stderr.contains("/nonexistent/cassette.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn record_refuses_to_overwrite_without_being_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("existing.json");
    std::fs::write(&path, "keep me").unwrap();
    let run = yc_vcr(
        &[
            "record",
            "--cassette",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "http://127.0.0.1:9",
        ],
        b"",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("existing.json"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "keep me",
        "nothing lost"
    );
}

#[test]
fn help_teaches_each_command() {
    for command in ["replay", "record", "check", "convert", "ca"] {
        let run = yc_vcr(&[command, "--help"], b"");
        assert_eq!(run.code, 0, "{command}: {run:?}");
        assert!(
            run.stdout_text().contains("Usage: yc-vcr"),
            "{command}: {}",
            run.stdout_text()
        );
    }
}

/// The modes are a table in `record --help`, one a line, as in `ca --help` its clients: clap joins the lines of a
/// paragraph unless told to keep them.
#[test]
fn record_help_lists_one_mode_a_line() {
    let run = yc_vcr(&["record", "--help"], b"");
    assert_eq!(run.code, 0, "{run:?}");
    let help = run.stdout_text();
    for mode in ["all", "once", "new-episodes"] {
        assert!(
            help.lines()
                .any(|line| line.starts_with(&format!("  {mode}  "))),
            "`{mode}` does not start a line:\n{help}"
        );
    }
}

/// A copied (or `cargo install`ed) binary, run in a folder with no cassettes, still serves the bundled examples:
/// they are compiled in.
#[test]
fn replay_without_arguments_serves_the_compiled_in_examples_from_anywhere() {
    use std::io::{Read as _, Write as _};

    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("yc-vcr");
    std::fs::copy(env!("CARGO_BIN_EXE_yc-vcr"), &binary).unwrap();
    let server = crate::server::Server::replay_installed(&binary, dir.path());

    let mut stream = std::net::TcpStream::connect(server.authority()).unwrap();
    write!(
        stream,
        "GET /container-registry/v1/images/crp3a5b7c9d1e3f5g7h9 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.authority()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.contains(r#""id":"crp3a5b7c9d1e3f5g7h9""#),
        "{response}"
    );
}

#[test]
fn record_modes_come_from_the_flag_or_the_environment_and_a_bad_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("c.json");
    let cassette = cassette.to_str().unwrap();
    let run = yc_vcr(
        &["record", "--cassette", cassette, "--mode", "sometimes"],
        b"",
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("unknown mode `sometimes`: use none, once, new_episodes or all"),
        "{run:?}"
    );
    let run = yc_vcr(&["record", "--cassette", cassette, "--mode", "none"], b"");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("mode `none` only replays"), "{run:?}");
    assert!(!dir.path().join("c.json").exists());
}

/// `record --mode once` on a cassette that exists replays it: the upstream is never asked (here it does not exist).
#[test]
fn record_once_replays_an_existing_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("registry.json");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../cassettes/registry-get-rest.json"
        ),
        &cassette,
    )
    .unwrap();
    let server = crate::server::Server::start(&[
        "record".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--cassette".into(),
        cassette.display().to_string(),
        "--mode".into(),
        "once".into(),
        "--upstream".into(),
        "http://127.0.0.1:9".into(),
    ]);
    let response = get_registry_image(server.authority());
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(server.interrupt().success());
}

/// A signal sent the moment the address is printed stops the server cleanly: the handlers are in place before the
/// announcement, not installed some time after it.
#[test]
fn a_signal_right_after_the_announcement_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let cassette = dir.path().join("new.json").display().to_string();
    for _ in 0..3 {
        let replay = crate::server::Server::start(&[
            "replay".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ]);
        assert!(replay.interrupt().success(), "replay");
        let record = crate::server::Server::start(&[
            "record".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--cassette".into(),
            cassette.clone(),
            "--upstream".into(),
            "http://127.0.0.1:9".into(),
        ]);
        assert!(record.interrupt().success(), "record");
    }
}

/// A recording that ends larger than readers accept says so when it ends, naming the flag, rather than leaving CI to
/// find out; under the default limit it says nothing of the kind.
#[test]
fn record_warns_when_the_cassette_is_over_the_readers_limit() {
    let cloud = registry_cloud();
    let dir = tempfile::tempdir().unwrap();
    for (limit, warned) in [(Some("100"), true), (None, false)] {
        let cassette = dir.path().join(format!("warned-{warned}.json"));
        let mut args: Vec<String> = [
            "record",
            "--listen",
            "127.0.0.1:0",
            "--cassette",
            &cassette.display().to_string(),
            "--upstream",
            &cloud.url(),
        ]
        .map(String::from)
        .to_vec();
        if let Some(limit) = limit {
            args.extend(["--max-cassette-size".to_owned(), limit.to_owned()]);
        }
        let recorder = crate::server::Server::start_logged(&args);
        let response = get_registry_image(recorder.authority());
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        let (status, log) = recorder.interrupt_logged();
        assert!(status.success(), "{log}");
        let size = std::fs::metadata(&cassette).unwrap().len();
        let warning = format!(
            "the cassette is {size} bytes, over the limit of 100 bytes that replay and check read: give them \
             --max-cassette-size {size} or more"
        );
        assert_eq!(log.contains(&warning), warned, "{log}");
        assert_eq!(log.contains("over the limit"), warned, "{log}");
    }
}

/// `--threads`: the runtime has that many workers (counted by name while it serves; nothing else on it runs on the
/// blocking pool before the end), any count from one serves concurrent calls and records each of them; none is
/// refused, naming the flag, before anything is written.
#[test]
fn record_threads_serve_concurrent_calls_and_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let refused = dir.path().join("none.json");
    let args = [
        "record",
        "--threads",
        "0",
        "--cassette",
        refused.to_str().unwrap(),
    ];
    let run = yc_vcr(&args, b"");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("'--threads <N>'"), "{run:?}");
    assert!(!refused.exists());

    let cloud = registry_cloud();
    for threads in ["1", "3"] {
        let cassette = dir.path().join(format!("threads-{threads}.json"));
        let recorder = crate::server::Server::start(&[
            "record".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--cassette".into(),
            cassette.display().to_string(),
            "--upstream".into(),
            cloud.url(),
            "--threads".into(),
            threads.into(),
        ]);
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let authority = recorder.authority().to_owned();
                std::thread::spawn(move || get_registry_image(&authority))
            })
            .collect();
        for call in calls {
            let response = call.join().unwrap();
            assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        }
        assert_eq!(
            recorder.threads_named("yc-vcr-record").to_string(),
            threads,
            "workers"
        );
        assert!(recorder.interrupt().success(), "--threads {threads}");
        let recorded: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&cassette).unwrap()).unwrap();
        assert_eq!(
            recorded["interactions"].as_array().unwrap().len(),
            8,
            "--threads {threads}"
        );
    }
}

/// A stand-in cloud: `replay` of the bundled REST registry cassette.
fn registry_cloud() -> crate::server::Server {
    crate::server::Server::start(&[
        "replay".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--cassette".into(),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../cassettes/registry-get-rest.json"
        )
        .into(),
    ])
}

/// The bundled registry cassette's image, asked over HTTP/1.1 of the server at `authority`: the whole response.
fn get_registry_image(authority: &str) -> String {
    use std::io::{Read as _, Write as _};

    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "GET /container-registry/v1/images/crp7k2m4n6p8q1s3u5w7 HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}
