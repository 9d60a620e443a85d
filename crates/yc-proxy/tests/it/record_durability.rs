//! What a recording leaves on disk: a full disk or read-only folder keeps every call journaled before, nothing
//! recorded leaves no file, a replaced cassette stays until the new one is complete, the writer as a library, and calls
//! ready together sharing one journal write (a queued one written at the end, a failed one failing each of its calls,
//! calls on several workers each in the journal when they return).

use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};

use yc_cassette::{Cassette, Interaction};
use yc_proto::compute::v1 as compute;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proxy::record::{
    Mode, RecordConfig, RecordServer, Recorded, Recorder, RecorderConfig, RecorderHandle, Summary,
};
use yc_proxy::upstream::Upstreams;

use crate::channel;
use crate::record::Recording;
use crate::upstream_fixture::{self, Fixture};

/// Sequential calls until one fails; the ids that completed.
async fn calls_until_refused(addr: SocketAddr, prefix: &str) -> (Vec<String>, tonic::Status) {
    let mut client = ImageServiceClient::new(channel(addr).await);
    let mut completed = Vec::new();
    for i in 0..1000 {
        let id = format!("{prefix}{i}");
        match client
            .get(compute::GetImageRequest {
                image_id: id.clone(),
            })
            .await
        {
            Ok(_) => completed.push(id),
            Err(status) => return (completed, status),
        }
    }
    panic!("no call was refused");
}

/// A recorded `Image` Get of `id`.
fn get(id: &str) -> Interaction {
    crate::grpc("/yandex.cloud.compute.v1.ImageService/Get")
        .request(&compute::GetImageRequest {
            image_id: id.into(),
        })
        .response(&upstream_fixture::image(id))
        .build()
}

/// A recorder of a new cassette `name` in `dir`, and the cassette's path.
fn open_new(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, Recorder) {
    let path = dir.join(name);
    let recorder = Recorder::open(RecorderConfig::new(&path)).unwrap();
    (path, recorder)
}

/// Records a Get of each of `ids`, each on a task of its own, all spawned before any is awaited; what each gave.
async fn record_together(
    handle: &RecorderHandle,
    ids: &[String],
) -> Vec<Result<Recorded, yc_proxy::Error>> {
    let calls: Vec<_> = ids
        .iter()
        .map(|id| {
            let (handle, call) = (handle.clone(), get(id));
            tokio::spawn(async move { handle.record(call).await })
        })
        .collect();
    let mut recorded = Vec::new();
    for call in calls {
        recorded.push(call.await.unwrap());
    }
    recorded
}

fn image_ids_of(cassette: &Cassette) -> Vec<String> {
    cassette
        .interactions
        .iter()
        .map(|i| match i {
            Interaction::Grpc(g) => g.request.messages[0].json.as_ref().unwrap()["image_id"]
                .as_str()
                .unwrap()
                .to_owned(),
            Interaction::Rest(_) => panic!("a gRPC interaction"),
        })
        .collect()
}

#[tokio::test]
async fn a_full_disk_or_read_only_folder_keeps_every_call_written_before() {
    let fixture = Fixture::start("full").await;
    for kind in [
        std::io::ErrorKind::StorageFull,
        std::io::ErrorKind::ReadOnlyFilesystem,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.json");
        let mut config = RecordConfig::new(&path, Upstreams::single(fixture.url()));
        // Room for the header and a few calls.
        config.journal_fault = Some(yc_proxy::record::WriteFault {
            after_bytes: 6000,
            kind,
        });
        let recording = Recording::start_with(config, dir).await;
        let (completed, refused) = calls_until_refused(recording.addr(), "fd8full").await;
        assert!(!completed.is_empty(), "{kind:?}: some calls fit");
        // The client does not see a call complete that the cassette will not hold.
        assert_eq!(refused.code(), tonic::Code::Internal, "{kind:?}");
        assert!(
            refused
                .message()
                .starts_with("yc-vcr record: the call completed upstream but was not recorded: cannot write cassette"),
            "{}",
            refused.message()
        );
        let error = recording.server.shutdown().await.unwrap_err();
        assert!(
            error.to_string().contains("cannot append to"),
            "{kind:?}: {error}"
        );
        // Everything journaled before is in the cassette.
        let cassette = Cassette::load(&recording.path, &yc_proto::Schema::embedded()).unwrap();
        assert_eq!(image_ids_of(&cassette), completed, "{kind:?}");
    }
}

#[tokio::test]
async fn a_journal_on_a_device_that_is_full_fails_calls_and_keeps_the_old_cassette() {
    let fixture = Fixture::start("devfull").await;
    let first = Recording::start(Upstreams::single(fixture.url())).await;
    calls_until_refused_after(first.addr(), 2).await;
    let (_, _, original, dir) = first.finish().await;
    let path = dir.path().join("recorded.json");

    let mut config = RecordConfig::new(&path, Upstreams::single(fixture.url()));
    config.mode = Mode::Append;
    let recording = Recording::start_with(config, dir).await;
    // The journal is made at the first call: on /dev/full every write fails with ENOSPC, as on a full disk.
    std::os::unix::fs::symlink("/dev/full", yc_cassette::journal_path(&path)).unwrap();
    let (completed, refused) = calls_until_refused(recording.addr(), "fd8dev").await;
    assert!(completed.is_empty());
    assert_eq!(refused.code(), tonic::Code::Internal);
    assert!(
        refused.message().contains("No space left on device"),
        "{}",
        refused.message()
    );
    assert!(recording.server.shutdown().await.is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
}

async fn calls_until_refused_after(addr: SocketAddr, calls: usize) {
    let mut client = ImageServiceClient::new(channel(addr).await);
    for i in 0..calls {
        client
            .get(compute::GetImageRequest {
                image_id: format!("fd8before{i}"),
            })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_recording_that_captures_nothing_leaves_no_file() {
    let fixture = Fixture::start("empty").await;
    for mode in [Mode::New, Mode::Replace, Mode::Append] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.json");
        let mut config = RecordConfig::new(&path, Upstreams::single(fixture.url()));
        config.mode = mode;
        let server = RecordServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
            .await
            .unwrap();
        assert!(!path.exists(), "{mode:?}: no file at start");
        let summary = server.shutdown().await.unwrap();
        assert_eq!(
            summary,
            Summary {
                interactions: 0,
                recorded: 0,
                wrote_file: false
            }
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{mode:?}: nothing left behind: {left:?}");
    }
}

#[tokio::test]
async fn replace_keeps_the_old_cassette_until_the_new_one_is_complete() {
    let fixture = Fixture::start("replace").await;
    let first = Recording::start(Upstreams::single(fixture.url())).await;
    calls_until_refused_after(first.addr(), 2).await;
    let (_, _, original, dir) = first.finish().await;
    let path = dir.path().join("recorded.json");

    let mut config = RecordConfig::new(&path, Upstreams::single(fixture.url()));
    config.mode = Mode::Replace;
    let recording = Recording::start_with(config, dir).await;
    let mut client = ImageServiceClient::new(channel(recording.addr()).await);
    for i in 0..3 {
        client
            .get(compute::GetImageRequest {
                image_id: format!("fd8new{i}"),
            })
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    }
    let (summary, cassette, _, _dir) = recording.finish().await;
    assert_eq!((summary.interactions, summary.recorded), (3, 3));
    assert_eq!(image_ids_of(&cassette), ["fd8new0", "fd8new1", "fd8new2"]);
}

/// The writer as a library, as a `new_episodes` server uses it: open in append mode, replay what was there, feed new
/// interactions, each durable once its future resolves.
#[tokio::test]
async fn a_recorder_is_fed_interactions_and_each_is_in_the_journal_when_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("episodes.json");
    crate::cassette(vec![get("fd8one")]).save(&path).unwrap();

    let mut config = RecorderConfig::new(&path);
    config.mode = Mode::Append;
    let mut recorder = Recorder::open(config.clone()).unwrap();
    assert_eq!(image_ids_of(&recorder.take_existing()), ["fd8one"]);
    let handle = recorder.handle();
    assert_eq!(
        handle.record(get("fd8two")).await.unwrap(),
        Recorded::Journaled
    );
    // Durable now: a reader sees it, though the file may not have been rewritten yet.
    let opened = Cassette::open(
        &path,
        yc_cassette::DEFAULT_MAX_CASSETTE_SIZE,
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    assert_eq!(image_ids_of(&opened.cassette), ["fd8one", "fd8two"]);
    // A second writer is refused while this one is open.
    let refused = Recorder::open(config).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("is being recorded by another process"),
        "{refused}"
    );
    let summary = recorder.finish().await.unwrap();
    assert_eq!(
        summary,
        Summary {
            interactions: 2,
            recorded: 1,
            wrote_file: true
        }
    );
    assert_eq!(
        image_ids_of(&Cassette::load(&path, &yc_proto::Schema::embedded()).unwrap()),
        ["fd8one", "fd8two"]
    );
    // After the end, the handle says the recorder stopped instead of pretending.
    assert!(handle.record(get("fd8late")).await.is_err());
}

/// While recording, the file itself catches up with the journal once calls pause: three calls are fewer than the
/// fourfold growth that rewrites it under load, so only the pause writes it. Polled until the file holds them (the
/// rewrite is due 200 ms after the last call), never past a deadline.
#[tokio::test]
async fn a_pause_in_the_calls_brings_the_file_up_to_date_before_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let (path, recorder) = open_new(dir.path(), "paused.json");
    let handle = recorder.handle();
    for id in ["fd8a", "fd8b", "fd8c"] {
        assert_eq!(handle.record(get(id)).await.unwrap(), Recorded::Journaled);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let in_file = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let ids = Cassette::from_json_str(&text, "paused.json", &yc_proto::Schema::embedded())
            .map(|c| image_ids_of(&c))
            .unwrap_or_default();
        if ids.len() == 3 || std::time::Instant::now() > deadline {
            break ids;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        in_file,
        ["fd8a", "fd8b", "fd8c"],
        "the file, not only the journal"
    );
    assert!(
        yc_cassette::journal_path(&path).exists(),
        "the journal stays until the end"
    );
    recorder.finish().await.unwrap();
    assert!(!yc_cassette::journal_path(&path).exists());
}

/// Calls that are ready together go to the journal in one `write`, in the order they queued, each acknowledged only
/// once it is there; a batch whose leader is dropped before writing (its client went away) is written then, so the
/// calls behind it complete. On one thread the order of events is fixed: every spawned call runs before the leader
/// is polled again.
#[tokio::test(flavor = "current_thread")]
async fn calls_ready_together_share_one_journal_write() {
    let dir = tempfile::tempdir().unwrap();
    let (path, recorder) = open_new(dir.path(), "batched.json");
    let handle = recorder.handle();

    let ids: Vec<String> = (0..8).map(|i| format!("fd8together{i}")).collect();
    for recorded in record_together(&handle, &ids).await {
        assert_eq!(recorded.unwrap(), Recorded::Journaled);
    }
    assert_eq!(recorder.recorded(), 8);
    assert_eq!(recorder.journal_writes(), 1, "one write for the eight");

    let mut cx = Context::from_waker(Waker::noop());
    let mut leader = Box::pin(handle.record(get("fd8gone")));
    let mut follower = Box::pin(handle.record(get("fd8behind")));
    assert!(leader.as_mut().poll(&mut cx).is_pending());
    assert!(follower.as_mut().poll(&mut cx).is_pending());
    assert_eq!(recorder.journal_writes(), 1, "nothing written yet");
    drop(leader);
    assert_eq!(recorder.journal_writes(), 2);
    assert!(matches!(
        follower.as_mut().poll(&mut cx),
        Poll::Ready(Ok(Recorded::Journaled))
    ));

    recorder.finish().await.unwrap();
    let cassette = Cassette::load(&path, &yc_proto::Schema::embedded()).unwrap();
    let mut expected = ids;
    expected.extend(["fd8gone".to_owned(), "fd8behind".to_owned()]);
    assert_eq!(image_ids_of(&cassette), expected);
}

/// Calls completing on several worker threads at once, as a multi-threaded server completes them: each is in the
/// journal file when its `record` returns, whichever call's write took it there, none is lost or written twice, and
/// calls queued from different workers share writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_on_several_workers_are_each_in_the_journal_when_they_return() {
    let dir = tempfile::tempdir().unwrap();
    let (path, recorder) = open_new(dir.path(), "workers.json");
    let journal = yc_cassette::journal_path(&path);
    let ids: Vec<String> = (0..256).map(|i| format!("fd8worker{i:04}")).collect();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(ids.len()));
    let calls: Vec<_> = ids
        .iter()
        .map(|id| {
            let (handle, start, journal) = (recorder.handle(), start.clone(), journal.clone());
            let (call, quoted) = (get(id), format!("\"{id}\""));
            tokio::spawn(async move {
                start.wait().await;
                let recorded = handle.record(call).await.unwrap();
                let in_journal =
                    std::fs::read_to_string(&journal).is_ok_and(|text| text.contains(&quoted));
                (recorded, in_journal)
            })
        })
        .collect();
    for (call, id) in calls.into_iter().zip(&ids) {
        let (recorded, in_journal) = call.await.unwrap();
        assert_eq!(recorded, Recorded::Journaled);
        assert!(
            in_journal,
            "`{id}` returned before its line was in the journal"
        );
    }
    assert_eq!(recorder.recorded(), ids.len());
    let writes = recorder.journal_writes();
    assert!(
        writes < ids.len(),
        "{writes} writes: no two of {} calls released together shared one",
        ids.len()
    );

    recorder.finish().await.unwrap();
    let cassette = Cassette::load(&path, &yc_proto::Schema::embedded()).unwrap();
    let mut recorded = image_ids_of(&cassette);
    recorded.sort();
    assert_eq!(recorded, ids, "each call once");
}

/// A batch still queued when the recording ends is written by the end, and its calls complete; a batch whose
/// `write` fails fails every call in it, and none of them is in the cassette.
#[tokio::test(flavor = "current_thread")]
async fn the_end_writes_a_queued_batch_and_a_failed_write_fails_each_of_its_calls() {
    let dir = tempfile::tempdir().unwrap();

    let (path, recorder) = open_new(dir.path(), "queued.json");
    let handle = recorder.handle();
    let mut cx = Context::from_waker(Waker::noop());
    let mut queued = Box::pin(handle.record(get("fd8queued")));
    assert!(queued.as_mut().poll(&mut cx).is_pending());
    assert_eq!(recorder.journal_writes(), 0);
    let summary = recorder.finish().await.unwrap();
    assert_eq!(summary.recorded, 1);
    assert!(matches!(
        queued.as_mut().poll(&mut cx),
        Poll::Ready(Ok(Recorded::Journaled))
    ));
    let cassette = Cassette::load(&path, &yc_proto::Schema::embedded()).unwrap();
    assert_eq!(image_ids_of(&cassette), ["fd8queued"]);

    let path = dir.path().join("failed.json");
    let mut config = RecorderConfig::new(&path);
    config.journal_fault = Some(yc_proxy::record::WriteFault {
        after_bytes: 0,
        kind: std::io::ErrorKind::StorageFull,
    });
    let recorder = Recorder::open(config).unwrap();
    let ids = ["fd8one", "fd8two", "fd8three"].map(str::to_owned);
    for recorded in record_together(&recorder.handle(), &ids).await {
        assert!(recorded.is_err(), "a call of the failed write");
    }
    assert_eq!(recorder.recorded(), 0);
    assert_eq!(recorder.journal_writes(), 0);
    assert!(
        recorder.finish().await.is_err(),
        "the end reports the failed write"
    );
    assert!(!path.exists());
}
