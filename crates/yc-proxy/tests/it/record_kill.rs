//! `kill -9` mid-recording: the file holds every call that completed before, and loads.
//!
//! The recorder runs in its own process (`examples/record_child.rs`, built by `cargo test` with the other targets).

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use yc_cassette::{Cassette, Interaction};
use yc_proto::compute::v1 as compute;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;

use crate::upstream_fixture::{Fixture, STREAM_PATH};
use crate::{channel, frame, raw_grpc};

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

/// Waits until the cassette on disk holds `count` interactions. Polls the file: the writer is in another process.
async fn wait_for_interactions(path: &Path, count: usize) -> Cassette {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(cassette) = Cassette::load(path)
            && cassette.interactions.len() >= count
        {
            return cassette;
        }
        assert!(
            Instant::now() < deadline,
            "the cassette never held {count} interactions"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn sigkill_mid_recording_keeps_the_completed_calls() {
    let fixture = Fixture::start("kill").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.json");
    let mut child = Command::new(example("record_child"))
        .arg(&path)
        .arg(fixture.url().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .parse()
        .unwrap();

    let mut client = ImageServiceClient::new(channel(addr).await);
    for i in 0..5 {
        client
            .get(compute::GetImageRequest {
                image_id: format!("fd8k{i}"),
            })
            .await
            .unwrap();
        wait_for_interactions(&path, i + 1).await;
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

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    in_flight.abort();

    let text = std::fs::read_to_string(&path).unwrap();
    let cassette = Cassette::from_json_str(&text, "killed.json").unwrap();
    let ids: Vec<String> = cassette
        .interactions
        .iter()
        .map(|i| match i {
            Interaction::Grpc(g) => g.request.messages[0].json.as_ref().unwrap()["image_id"]
                .as_str()
                .unwrap()
                .to_owned(),
            Interaction::Rest(_) => panic!("a gRPC interaction"),
        })
        .collect();
    assert_eq!(ids, ["fd8k0", "fd8k1", "fd8k2", "fd8k3", "fd8k4"]);
    // No temporary file is left beside it that a later run could mistake for a cassette.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["killed.json"]);
}
