//! Unit tests of `format::load`: batch by batch gives what the whole text gives, errors included.

use super::*;
use crate::fixture::{self, GET_IMAGE};
use crate::model::Message;

fn get(n: usize) -> Interaction {
    fixture::grpc(GET_IMAGE)
        .headers(&[])
        .request(Message::from_json(
            "yandex.cloud.compute.v1.GetImageRequest",
            serde_json::json!({ "image_id": format!("fd8é{n}") }),
        ))
        .response(Message::from_json(
            "yandex.cloud.compute.v1.Image",
            serde_json::json!({ "id": format!("fd8é{n}"), "name": "ü\n\"x\"" }),
        ))
        .build()
}

fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c.json");
    std::fs::write(&path, text).expect("written");
    (dir, path)
}

/// Batches of one interaction, of a few, and of all: the same cassette and the same inspected order as the text
/// parsed whole, for both kinds of keeping.
#[test]
fn every_batch_size_loads_what_the_whole_text_loads() {
    let schema = yc_proto::Schema::embedded();
    let mut cassette = Cassette::new(crate::model::Meta::default());
    cassette.interactions = (0..40).map(get).collect();
    let text = cassette.to_json_string();
    let (_dir, path) = write(&text);
    for keep in [Keep::All, Keep::Replay, Keep::Nothing] {
        let (expected, order) =
            Cassette::from_json_str_inspecting(&text, "c.json", keep, &schema, |i, _| i)
                .expect("loads whole");
        for batch in [1, 700, 5000, usize::MAX] {
            let (loaded, seen) =
                load_batched(&path, u64::MAX, keep, &schema, |i, _| i, batch).expect("loads");
            assert_eq!(loaded, expected, "batch {batch}");
            assert_eq!(seen, order, "batch {batch}");
            assert_eq!(seen.len(), 40, "every interaction is inspected");
            assert_eq!(loaded.interactions.is_empty(), keep == Keep::Nothing);
        }
    }
}

/// A bad interaction in a later batch is reported as the whole text reports it: same line and column.
#[test]
fn an_error_in_a_later_batch_is_placed_in_the_whole_file() {
    let schema = yc_proto::Schema::embedded();
    let mut cassette = Cassette::new(crate::model::Meta::default());
    cassette.interactions = (0..30).map(get).collect();
    let good = cassette.to_json_string();
    let status = good.rfind("\"status\": {").expect("a status");
    let mut invalid = cassette.clone();
    if let Some(Interaction::Grpc(g)) = invalid.interactions.last_mut() {
        g.response.messages[0].json = Some(serde_json::json!({ "name": 3 }));
    }
    let code = good.rfind("\"code\": 0").expect("a code");
    for bad in [
        // Not an interaction (a parse error), a field of the wrong type, a message not of its type.
        format!("{}\"nope\": 1, {}", &good[..status], &good[status..]),
        format!("{}\"code\": \"x\"{}", &good[..code], &good[code + 9..]),
        invalid.to_json_string(),
    ] {
        assert_ne!(bad, good);
        let (_dir, path) = write(&bad);
        let whole = Cassette::from_json_str(&bad, &path.display().to_string(), &schema).err();
        let batched = load_batched(&path, u64::MAX, Keep::Replay, &schema, |_, _| (), 600).err();
        let whole = whole.expect("the whole text fails").to_string();
        assert!(
            whole.contains(":9"),
            "the error is in the last interaction: {whole}"
        );
        assert_eq!(batched.expect("batches fail").to_string(), whole);
    }
}
