//! `kill -9` mid-recording: every call a client saw complete is in the cassette a reader recovers, the old cassette
//! of an interrupted re-recording is kept, and a second recorder is refused while one runs.
//!
//! The recorder runs in its own process (`examples/record_child.rs`, built by `cargo test` with the other targets).
//! Nothing here sleeps to synchronise: kills happen after a number of calls the clients saw complete.

use std::collections::BTreeSet;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http::StatusCode;
use yc_cassette::{Cassette, DEFAULT_MAX_CASSETTE_SIZE, Interaction};
use yc_proto::compute::v1 as compute;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proxy::record::{Mode, RecordConfig, RecordServer};
use yc_proxy::upstream::Upstreams;

use crate::upstream_fixture::{Fixture, STREAM_PATH};
use crate::{channel, frame, raw_grpc, rest_call};

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/it-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "`{}` is missing: run `cargo test -p yc-proxy` (which builds the examples) or `cargo build -p yc-proxy --example {name}`",
        path.display()
    );
    path
}

/// A recorder process and the address it listens on.
struct ChildRecorder {
    child: Child,
    addr: SocketAddr,
}

impl ChildRecorder {
    fn start(path: &Path, fixture: &Fixture, mode: &str) -> ChildRecorder {
        let mut child = Command::new(example("record_child"))
            .arg(path)
            .arg(fixture.url().to_string())
            .arg(mode)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("not a listening line: {line:?}"))
            .parse()
            .unwrap();
        ChildRecorder { child, addr }
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

/// The call's id: the image id of a gRPC Get, the last path segment of a REST Get; checks that each response is
/// its own request's.
fn id(interaction: &Interaction) -> String {
    match interaction {
        Interaction::Grpc(g) => {
            let request = g.request.messages[0].json.as_ref().unwrap()["image_id"]
                .as_str()
                .unwrap()
                .to_owned();
            let response = g.response.messages[0].json.as_ref().unwrap()["id"]
                .as_str()
                .unwrap();
            assert_eq!(
                request, response,
                "each response is kept with its own request"
            );
            request
        }
        Interaction::Rest(r) => {
            let id = r.request.path.rsplit('/').next().unwrap().to_owned();
            let body = r.response.body.to_bytes();
            assert!(
                String::from_utf8_lossy(&body).contains(&format!(r#""id":"{id}""#)),
                "each response is kept with its own request"
            );
            id
        }
    }
}

fn recovered_ids(path: &Path) -> Vec<String> {
    let opened = Cassette::open(
        path,
        DEFAULT_MAX_CASSETTE_SIZE,
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    opened.cassette.interactions.iter().map(id).collect()
}

/// Pseudo-random numbers from the process's hash seed: a different kill moment each run, no crate needed.
fn random(round: u64) -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(round);
    hasher.finish()
}

#[tokio::test]
async fn sigkill_mid_recording_keeps_the_completed_calls() {
    let fixture = Fixture::start("kill").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.json");
    let recorder = ChildRecorder::start(&path, &fixture, "new");
    let addr = recorder.addr;

    let mut client = ImageServiceClient::new(channel(addr).await);
    for i in 0..5 {
        client
            .get(compute::GetImageRequest {
                image_id: format!("fd8k{i}"),
            })
            .await
            .unwrap();
    }
    // One call in flight: the upstream holds its stream open until released, which never happens.
    let before = fixture.requests();
    let in_flight = tokio::spawn(async move {
        raw_grpc(
            addr,
            "POST",
            STREAM_PATH,
            &[("x-fixture", "stream:3")],
            &frame(b""),
        )
        .await
    });
    while fixture.requests() == before {
        tokio::task::yield_now().await;
    }
    recorder.kill();
    in_flight.abort();

    assert_eq!(
        recovered_ids(&path),
        ["fd8k0", "fd8k1", "fd8k2", "fd8k3", "fd8k4"]
    );
    // Nothing beside it that a later run could mistake for a cassette.
    let cassettes: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    assert!(
        cassettes.iter().all(|name| name == "killed.json"),
        "{cassettes:?}"
    );

    // The next recorder folds the journal into the file and goes on from there.
    let mut config = RecordConfig::new(&path, Upstreams::single(fixture.url()));
    config.mode = Mode::Append;
    let server = RecordServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .unwrap();
    assert!(!yc_cassette::journal_path(&path).exists());
    let mut client = ImageServiceClient::new(channel(server.local_addr()).await);
    client
        .get(compute::GetImageRequest {
            image_id: "fd8k5".into(),
        })
        .await
        .unwrap();
    let summary = server.shutdown().await.unwrap();
    assert_eq!((summary.interactions, summary.recorded), (6, 1));
    let ids: Vec<String> = Cassette::load(&path, &yc_proto::Schema::embedded())
        .unwrap()
        .interactions
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, ["fd8k0", "fd8k1", "fd8k2", "fd8k3", "fd8k4", "fd8k5"]);
}

/// Concurrent gRPC calls on one connection and REST calls on their own, killed after a random number of them
/// completed; repeated. Every call a client saw complete must be in the recovered cassette, and nothing else.
#[tokio::test]
async fn sigkill_at_random_moments_under_concurrent_calls_loses_no_completed_call() {
    const ROUNDS: u64 = 6;
    const GRPC_TASKS: usize = 24;
    const REST_TASKS: usize = 4;
    let fixture = Fixture::start("kill-random").await;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("killed.json");
        let recorder = ChildRecorder::start(&path, &fixture, "new");
        let addr = recorder.addr;
        let completed = Arc::new(Mutex::new(BTreeSet::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let channel = channel(addr).await;
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..GRPC_TASKS {
            let mut client = ImageServiceClient::new(channel.clone());
            let (completed, count) = (Arc::clone(&completed), Arc::clone(&count));
            tasks.spawn(async move {
                for n in 0.. {
                    let id = format!("fd8g{task}x{n}");
                    let call = client
                        .get(compute::GetImageRequest {
                            image_id: id.clone(),
                        })
                        .await;
                    // The recorder died under this call: it was never complete for the client.
                    if call.is_err() {
                        return;
                    }
                    completed.lock().unwrap().insert(id);
                    count.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        for task in 0..REST_TASKS {
            let (completed, count) = (Arc::clone(&completed), Arc::clone(&count));
            tasks.spawn(async move {
                for n in 0.. {
                    let id = format!("fd8r{task}x{n}");
                    // `rest_call` panics on a cut connection: a panicked task is a call that did not complete.
                    let seen = tokio::spawn(async move {
                        rest_call(addr, "GET", &format!("/compute/v1/images/{id}"), "", false).await
                    })
                    .await;
                    let Ok(seen) = seen else { return };
                    assert_eq!(seen.status, StatusCode::OK);
                    let id = format!("fd8r{task}x{n}");
                    completed.lock().unwrap().insert(id);
                    count.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        let kill_after = 20 + usize::try_from(random(round) % 400).unwrap();
        while count.load(Ordering::SeqCst) < kill_after {
            tokio::task::yield_now().await;
        }
        recorder.kill();
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let completed = completed.lock().unwrap().clone();
        let recovered: BTreeSet<String> = recovered_ids(&path).into_iter().collect();
        let lost: Vec<&String> = completed.difference(&recovered).collect();
        assert!(
            lost.is_empty(),
            "round {round}, killed after {kill_after} calls: {} of {} completed calls lost: {lost:?}",
            lost.len(),
            completed.len()
        );
        // Calls in flight at the kill may be recorded too (the upstream answered, the client never saw it);
        // nothing else is.
        assert!(recovered.len() <= completed.len() + GRPC_TASKS + REST_TASKS);
    }
}

#[tokio::test]
async fn a_second_recorder_is_refused_with_the_holders_pid() {
    let fixture = Fixture::start("lock").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.json");
    let recorder = ChildRecorder::start(&path, &fixture, "new");
    let pid = recorder.child.id();
    for mode in [Mode::New, Mode::Append, Mode::Replace] {
        let mut config = RecordConfig::new(&path, Upstreams::single(fixture.url()));
        config.mode = mode;
        let refused = RecordServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
            .await
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            format!(
                "cassette `{}` is being recorded by another process (pid {pid}; lock `{}`)",
                path.display(),
                yc_cassette::lock_path(&path).display()
            ),
            "{mode:?}"
        );
    }
    // The first one records on, undisturbed; a reader meanwhile reads without waiting and says whose journal it is.
    let mut client = ImageServiceClient::new(channel(recorder.addr).await);
    client
        .get(compute::GetImageRequest {
            image_id: "fd8lock".into(),
        })
        .await
        .unwrap();
    let opened = Cassette::open(
        &path,
        DEFAULT_MAX_CASSETTE_SIZE,
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    assert_eq!(opened.cassette.interactions.len(), 1);
    assert_eq!(opened.recovery.unwrap().holder, Some(pid));
    recorder.kill();
    // A killed holder's lock is gone with it.
    let server = RecordServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        RecordConfig {
            mode: Mode::Append,
            ..RecordConfig::new(&path, Upstreams::single(fixture.url()))
        },
    )
    .await
    .unwrap();
    let summary = server.shutdown().await.unwrap();
    assert_eq!(summary.interactions, 1);
}

#[tokio::test]
async fn an_interrupted_replace_keeps_the_old_cassette() {
    let fixture = Fixture::start("replace-kill").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replaced.json");
    let first = RecordServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        RecordConfig::new(&path, Upstreams::single(fixture.url())),
    )
    .await
    .unwrap();
    let mut client = ImageServiceClient::new(channel(first.local_addr()).await);
    client
        .get(compute::GetImageRequest {
            image_id: "fd8old".into(),
        })
        .await
        .unwrap();
    first.shutdown().await.unwrap();
    let original = std::fs::read(&path).unwrap();

    let recorder = ChildRecorder::start(&path, &fixture, "replace");
    let mut client = ImageServiceClient::new(channel(recorder.addr).await);
    for i in 0..3 {
        client
            .get(compute::GetImageRequest {
                image_id: format!("fd8new{i}"),
            })
            .await
            .unwrap();
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        original,
        "untouched while recording"
    );
    recorder.kill();

    assert_eq!(
        std::fs::read(&path).unwrap(),
        original,
        "kept after the kill"
    );
    let opened = Cassette::open(
        &path,
        DEFAULT_MAX_CASSETTE_SIZE,
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    assert_eq!(
        opened
            .cassette
            .interactions
            .iter()
            .map(id)
            .collect::<Vec<_>>(),
        ["fd8old"]
    );
    let recovery = opened.recovery.unwrap();
    assert_eq!(
        recovery.ignored,
        Some((
            3,
            "an interrupted re-recording; the cassette it was to replace is kept"
        ))
    );
    // The next recorder discards that journal and starts from the old file.
    let server = RecordServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        RecordConfig {
            mode: Mode::Append,
            ..RecordConfig::new(&path, Upstreams::single(fixture.url()))
        },
    )
    .await
    .unwrap();
    assert!(!yc_cassette::journal_path(&path).exists());
    let summary = server.shutdown().await.unwrap();
    assert_eq!((summary.interactions, summary.wrote_file), (1, false));
    assert_eq!(std::fs::read(&path).unwrap(), original);
}
