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
        cassettes.push((path.display().to_string(), Cassette::load(&path).unwrap()));
    }
    cassettes.sort_by(|a, b| a.0.cmp(&b.0));
    let index = Index::new(cassettes, Redactor::default()).unwrap();
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
    assert_eq!(Cassette::load(&path).unwrap().interactions.len(), 2);

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
