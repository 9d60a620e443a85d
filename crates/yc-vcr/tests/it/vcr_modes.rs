//! The test API's modes, as a test suite meets them: `once` records a missing cassette and replays it ever after,
//! `none` refuses to reach the cloud, `all` records anew; misses and unused recordings are reported.
//!
//! The "cloud" is a replay server over the bundled cassettes, in this process.

use std::path::{Path, PathBuf};

use yc_cassette::{Cassette, Index, Redactor};
use yc_proto::compute::v1::GetImageRequest;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;
use yc_proxy::{ReplayConfig, ReplayServer};
use yc_vcr::{Error, Mode, Vcr};

fn fake_cloud() -> ReplayServer {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");
    let mut cassettes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        cassettes.push((
            path.display().to_string(),
            Cassette::load(&path, &yc_proto::Schema::embedded()).unwrap(),
        ));
    }
    cassettes.sort_by(|a, b| a.0.cmp(&b.0));
    let index = Index::new(cassettes, Redactor::default(), yc_proto::Schema::embedded()).unwrap();
    ReplayServer::start(([127, 0, 0, 1], 0).into(), index, ReplayConfig::default()).unwrap()
}

async fn image_name(vcr: &yc_vcr::Harness, id: &str) -> Result<String, tonic::Status> {
    let mut images = ImageServiceClient::new(vcr.channel());
    let image = images
        .get(GetImageRequest {
            image_id: id.into(),
        })
        .await?
        .into_inner();
    Ok(image.name)
}

fn cassette_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("nested/folder/get.json")
}

#[tokio::test]
async fn once_records_a_missing_cassette_then_replays_it_without_the_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let cloud = fake_cloud();

    let vcr = Vcr::cassette(&path)
        .mode(Mode::Once)
        .upstream(format!("http://{}", cloud.local_addr()))
        .start()
        .await
        .unwrap();
    assert_eq!(vcr.mode(), Mode::All, "a missing cassette is recorded");
    let recorded = image_name(&vcr, "fd8j4ab7nq2vd1sg3k9p").await.unwrap();
    let report = vcr.finish().await.unwrap();
    assert_eq!(report.recorded, 1);
    assert!(path.is_file());
    cloud.shutdown().await;

    // The cloud is gone: the cassette answers.
    let vcr = Vcr::cassette(&path).mode(Mode::Once).start().await.unwrap();
    assert_eq!(vcr.mode(), Mode::None, "an existing cassette is replayed");
    assert_eq!(
        image_name(&vcr, "fd8j4ab7nq2vd1sg3k9p").await.unwrap(),
        recorded
    );
    let miss = image_name(&vcr, "fd8zq4x6c8v0b2n4m6k8").await.unwrap_err();
    assert_eq!(miss.code(), tonic::Code::Unimplemented, "{miss:?}");
    let report = vcr.finish().await.unwrap();
    assert_eq!(
        report.misses,
        ["gRPC /yandex.cloud.compute.v1.ImageService/Get"]
    );
    assert!(report.unused.is_empty(), "{report:?}");
}

#[tokio::test]
async fn none_never_records_and_says_how_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let error = Vcr::cassette(&path)
        .mode(Mode::None)
        .start()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NoCassette { .. }), "{error}");
    assert!(error.to_string().contains("YC_VCR_MODE=once"), "{error}");
    assert!(!path.exists());
}

#[tokio::test]
async fn unused_recordings_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let cloud = fake_cloud();
    let vcr = Vcr::cassette(&path)
        .mode(Mode::All)
        .upstream(format!("http://{}", cloud.local_addr()))
        .start()
        .await
        .unwrap();
    image_name(&vcr, "fd8j4ab7nq2vd1sg3k9p").await.unwrap();
    image_name(&vcr, "fd8zq4x6c8v0b2n4m6k8").await.unwrap_err();
    // Dropped without `finish`: the recording is written all the same.
    drop(vcr);
    assert_eq!(
        Cassette::load(&path, &yc_proto::Schema::embedded())
            .unwrap()
            .interactions
            .len(),
        2
    );

    let vcr = Vcr::cassette(&path).mode(Mode::None).start().await.unwrap();
    image_name(&vcr, "fd8j4ab7nq2vd1sg3k9p").await.unwrap();
    let report = vcr.finish().await.unwrap();
    assert_eq!(report.unused.len(), 1, "{report:?}");
    assert!(report.unused[0].contains("interaction 1"), "{report:?}");
}

#[test]
fn modes_parse_by_their_vcr_names_and_a_bad_one_names_the_allowed() {
    for (text, mode) in [
        ("none", Mode::None),
        ("once", Mode::Once),
        ("new_episodes", Mode::NewEpisodes),
        ("new-episodes", Mode::NewEpisodes),
        ("all", Mode::All),
    ] {
        assert_eq!(text.parse::<Mode>().unwrap(), mode);
    }
    let error = "always".parse::<Mode>().unwrap_err().to_string();
    assert_eq!(
        error,
        "unknown mode `always`: use none, once, new_episodes or all (in `YC_VCR_MODE` or `Vcr::mode`)"
    );
}

#[tokio::test]
async fn new_episodes_replays_what_is_recorded_and_appends_what_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    let cloud = fake_cloud();
    let upstream = format!("http://{}", cloud.local_addr());
    let vcr = Vcr::cassette(&path)
        .mode(Mode::All)
        .upstream(&upstream)
        .start()
        .await
        .unwrap();
    let ubuntu = image_name(&vcr, "fd8j4ab7nq2vd1sg3k9p").await.unwrap();
    vcr.finish().await.unwrap();

    let vcr = Vcr::cassette(&path)
        .mode(Mode::NewEpisodes)
        .upstream(&upstream)
        .start()
        .await
        .unwrap();
    // A second writer on the same cassette is refused while this one runs.
    let second = Vcr::cassette(&path).mode(Mode::NewEpisodes).start().await;
    assert!(
        second
            .as_ref()
            .is_err_and(|e| e.to_string().contains("being recorded by another process")),
        "{second:?}"
    );
    assert_eq!(
        image_name(&vcr, "fd8j4ab7nq2vd1sg3k9p").await.unwrap(),
        ubuntu
    );
    let missing = image_name(&vcr, "fd8zq4x6c8v0b2n4m6k8").await.unwrap_err();
    assert_eq!(
        missing.code(),
        tonic::Code::NotFound,
        "forwarded to the cloud: {missing:?}"
    );
    let report = vcr.finish().await.unwrap();
    assert_eq!(
        report.recorded, 1,
        "only the new episode is recorded: {report:?}"
    );
    assert_eq!(
        Cassette::load(&path, &yc_proto::Schema::embedded())
            .unwrap()
            .interactions
            .len(),
        2
    );

    // Without the cloud, both are replayed.
    cloud.shutdown().await;
    let vcr = Vcr::cassette(&path).mode(Mode::None).start().await.unwrap();
    assert_eq!(
        image_name(&vcr, "fd8j4ab7nq2vd1sg3k9p").await.unwrap(),
        ubuntu
    );
    let replayed = image_name(&vcr, "fd8zq4x6c8v0b2n4m6k8").await.unwrap_err();
    assert_eq!(replayed.code(), tonic::Code::NotFound, "{replayed:?}");
    assert!(vcr.finish().await.unwrap().misses.is_empty());
}

#[test]
fn a_test_that_panics_while_re_recording_keeps_the_old_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes/compute-get.json"),
        &path,
    )
    .unwrap();
    let before = std::fs::read(&path).unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cloud = runtime.block_on(async { fake_cloud() });
    let upstream = format!("http://{}", cloud.local_addr());
    let test_path = path.clone();
    let failed = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let vcr = Vcr::cassette(&test_path)
                .mode(Mode::All)
                .upstream(upstream)
                .start()
                .await
                .unwrap();
            image_name(&vcr, "fd8zq4x6c8v0b2n4m6k8").await.unwrap_err();
            panic!("the test fails after a call was recorded");
        })
    })
    .join();
    assert!(failed.is_err(), "the test thread panicked");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the old cassette is untouched"
    );

    // The next run replays the old cassette, not the abandoned recording.
    runtime.block_on(async {
        let vcr = Vcr::cassette(&path).mode(Mode::None).start().await.unwrap();
        assert_eq!(
            image_name(&vcr, "fd8j4ab7nq2vd1sg3k9p").await.unwrap(),
            "ubuntu-22-04-lts-v20240311"
        );
        vcr.finish().await.unwrap();
        cloud.shutdown().await;
    });
}

#[tokio::test]
async fn a_first_recording_that_reaches_nothing_leaves_no_cassette() {
    let dir = tempfile::tempdir().unwrap();
    let path = cassette_in(&dir);
    // Port 9 (discard) on loopback: nothing listens there.
    let vcr = Vcr::cassette(&path)
        .mode(Mode::Once)
        .upstream("http://127.0.0.1:9")
        .start()
        .await
        .unwrap();
    let failed = image_name(&vcr, "fd8j4ab7nq2vd1sg3k9p").await.unwrap_err();
    assert_eq!(failed.code(), tonic::Code::Unavailable, "{failed:?}");
    let report = vcr.finish().await.unwrap();
    assert_eq!(report.recorded, 0, "{report:?}");
    assert!(
        !path.exists(),
        "no empty cassette that would later replay as misses"
    );
}
