//! Unit tests of `format::file`: the appending writer gives exactly the text of `Cassette::to_json_string`.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::fixture::{self, GET_IMAGE};
use crate::model::{Body, GrpcStatus, MatchRules, Message};

/// A gRPC and a REST interaction, varied by `n`, with the shapes that lay out differently: empty and repeated
/// headers, raw bytes, notes, status details, bodies of each kind, nested and empty JSON.
fn sample(n: usize, text: &str) -> Interaction {
    if n.is_multiple_of(2) {
        // Header values cannot hold control characters (a cassette with one does not load).
        let header_text = text.replace(char::is_control, " ");
        let trailers_only = n.is_multiple_of(8);
        let call = fixture::grpc(GET_IMAGE)
            .metadata(&[
                ("x-request-id", &header_text),
                ("x-repeat", "a"),
                ("x-repeat", "b \"c\""),
            ])
            .request(Message::from_json(
                "yandex.cloud.compute.v1.GetImageRequest",
                json!({ "image_id": format!("fd8{n}{text}") }),
            ))
            .headers(&[]);
        // A trailers-only response carries no messages (a cassette with some does not load).
        let call = if trailers_only {
            call
        } else {
            call.response(Message {
                type_name: Some("yandex.cloud.compute.v1.Image".to_owned()),
                json: Some(json!({ "id": text, "labels": {}, "product_ids": [], "size": n })),
                raw: n.is_multiple_of(3).then(|| vec![0, 1, 2, 255, n as u8]),
                note: n.is_multiple_of(5).then(|| format!("note {text}")),
            })
            .response(Message {
                note: Some("raw bytes dropped".to_owned()),
                ..Message::default()
            })
        };
        call.status(GrpcStatus {
            code: (n % 17) as i32,
            message: text.to_owned(),
            details: if n.is_multiple_of(4) {
                vec![json!({
                    "@type": "type.googleapis.com/google.rpc.DebugInfo",
                    "stack_entries": [text, ""],
                    "detail": "",
                })]
            } else {
                Vec::new()
            },
            // Sent as a header value: no control characters.
            details_bin: n.is_multiple_of(6).then(|| header_text.clone()),
        })
        .with(|call| call.response.trailers_only = trailers_only)
        .build()
    } else {
        let body = match n % 7 {
            1 => Body::Json(json!({ "k": text, "list": [1.5, -2, true] })),
            3 => Body::Text(text.to_owned()),
            5 => Body::Base64(text.as_bytes().to_vec()),
            _ => Body::Empty,
        };
        let json = [("content-type", "application/json")];
        fixture::rest("POST", &format!("/compute/v1/images/{n}"))
            .query(text)
            .headers(&json)
            .body(body.clone())
            .response_headers(&json)
            .response(body)
            .build()
    }
}

/// A cassette described as `description`, matched by one header.
fn cassette(description: &str, interactions: Vec<Interaction>) -> Cassette {
    let rules = MatchRules {
        headers: vec!["x-folder".to_owned()],
        ignore_fields: Vec::new(),
    };
    let mut cassette = fixture::cassette_matching(rules, interactions);
    cassette.meta.description = description.to_owned();
    cassette
}

fn on_disk(path: &Path) -> String {
    std::fs::read_to_string(path).expect("the file was written")
}

#[test]
fn an_empty_cassette_is_written_as_save_writes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("empty.json");
    let empty = fixture::cassette(Vec::new());
    let expected = empty.to_json_string();
    let file = CassetteFile::create(&path, &empty).expect("created");
    assert_eq!(file.to_json_string().unwrap(), expected);
    assert_eq!(on_disk(&path), expected);
    assert!(file.is_empty());
}

#[test]
fn each_append_leaves_the_file_equal_to_the_whole_cassette_saved() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("grow.json");
    let mut whole = cassette("grow", Vec::new());
    let mut file = CassetteFile::create(&path, &whole).expect("created");
    for n in 0..12 {
        let interaction = sample(n, "a \"quoted\"\nline\t\u{1}é");
        file.append(&interaction).expect("appended");
        whole.interactions.push(interaction);
        assert_eq!(
            on_disk(&path),
            whole.to_json_string(),
            "after {} appends",
            n + 1
        );
        assert_eq!(file.unsaved(), 0);
    }
    assert_eq!(file.len(), 12);
    let loaded = Cassette::load(&path, &yc_proto::Schema::embedded()).expect("the file loads");
    assert_eq!(loaded, whole);
}

#[test]
fn appending_over_an_existing_cassette_keeps_its_text_and_adds_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("existing.json");
    let mut whole = cassette("existing", (0..5).map(|n| sample(n, "old")).collect());
    whole.save(&path).expect("saved");
    let loaded = Cassette::load(&path, &yc_proto::Schema::embedded()).expect("loads");
    let mut file = CassetteFile::new(&path, &loaded).expect("laid out");
    assert_eq!(file.unsaved(), 0, "what was loaded is already on disk");
    assert_eq!(file.len(), 5);
    for n in 5..9 {
        let interaction = sample(n, "new");
        file.push(&interaction);
        whole.interactions.push(interaction);
    }
    assert_eq!(file.unsaved(), 4);
    file.save().expect("saved");
    assert_eq!(file.unsaved(), 0);
    assert_eq!(on_disk(&path), whole.to_json_string());
}

#[test]
fn a_failed_save_keeps_the_interactions_for_the_next_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing-dir").join("c.json");
    let mut file = CassetteFile::new(&path, &cassette("later", Vec::new())).expect("laid out");
    file.push(&sample(1, "x"));
    let error = file.save().expect_err("the directory does not exist");
    assert!(error.to_string().contains("missing-dir"), "{error}");
    assert_eq!(file.unsaved(), 1);
    std::fs::create_dir(dir.path().join("missing-dir")).expect("dir");
    file.save().expect("saved now");
    assert_eq!(
        on_disk(&path),
        cassette("later", vec![sample(1, "x")]).to_json_string()
    );
    let leftovers = std::fs::read_dir(dir.path().join("missing-dir"))
        .expect("dir")
        .count();
    assert_eq!(leftovers, 1, "no temporary file is left behind");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_interactions_give_the_same_text_as_to_json_string(
        texts in proptest::collection::vec("\\PC{0,12}|[\\x00-\\x1f\"\\\\\n]{0,4}", 0..60),
        description in "\\PC{0,20}",
        existing in 0usize..10,
    ) {
        let interactions: Vec<Interaction> =
            texts.iter().enumerate().map(|(n, t)| sample(n, t)).collect();
        let split = existing.min(interactions.len());
        let mut file = CassetteFile::new(
            Path::new("unused.json"),
            &cassette(&description, interactions[..split].to_vec()),
        )
        .expect("laid out");
        for interaction in &interactions[split..] {
            file.push(interaction);
        }
        prop_assert_eq!(
            file.to_json_string().unwrap(),
            cassette(&description, interactions).to_json_string()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The journal line is the item with its layout stripped, and laying the line out gives the item back, whatever
    /// the strings hold (newlines, quotes, backslashes, brackets and commas in them are not layout).
    #[test]
    fn a_line_is_its_item_without_the_layout_and_laid_out_is_the_item_again(
        texts in proptest::collection::vec("\\PC{0,12}|[\\x00-\\x1f\"\\\\\n{}\\[\\],: ]{0,6}", 1..8),
    ) {
        for (n, text) in texts.iter().enumerate() {
            let interaction = sample(n, text);
            let item = CassetteFile::item(&interaction);
            let line = CassetteFile::line(&interaction);
            let mut stripped = Vec::new();
            crate::journal::push_line_from_pretty(&item, &mut stripped);
            prop_assert_eq!(String::from_utf8_lossy(&line), String::from_utf8_lossy(&stripped));
            let mut pretty = Vec::new();
            pretty_from_line(line.strip_suffix(b"\n").unwrap(), &mut pretty);
            prop_assert_eq!(String::from_utf8_lossy(&pretty), &*item);
        }
    }

    /// A file following a journal (a recording, appending or not) is written as the whole cassette saved: the
    /// pushed interactions, then the journal's lines laid out, however many of each.
    #[test]
    fn a_file_following_a_journal_is_the_whole_cassette_saved(
        texts in proptest::collection::vec("\\PC{0,12}|[\\x00-\\x1f\"\\\\\n{}\\[\\],: ]{0,4}", 0..24),
        existing in 0usize..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("followed.json");
        let interactions: Vec<Interaction> =
            texts.iter().enumerate().map(|(n, t)| sample(n, t)).collect();
        let split = existing.min(interactions.len());
        let mut file = CassetteFile::new(&path, &cassette("d", interactions[..split].to_vec())).unwrap();
        journal_into(&mut file, &interactions[split..]);
        let whole = cassette("d", interactions).to_json_string();
        prop_assert_eq!(file.to_json_string().unwrap(), whole.clone());
        let snapshot = file.snapshot();
        prop_assert_eq!(snapshot.len(), texts.len());
        snapshot.save().unwrap();
        prop_assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
    }
}

/// Journals `interactions` beside `file` (a journal at its journal path) as a recorder does, `file` following it.
fn journal_into(
    file: &mut CassetteFile,
    interactions: &[Interaction],
) -> (PathBuf, crate::journal::JournalWriter) {
    let journal_path = crate::journal_path(&file.path);
    let mut journal = crate::journal::JournalWriter::create(
        &journal_path,
        &crate::journal::JournalHeader::default(),
        None,
    )
    .unwrap();
    file.follow_journal(&journal_path, journal.lines_start());
    for interaction in interactions {
        journal.append(&CassetteFile::line(interaction)).unwrap();
        file.journaled(journal.len(), 1);
    }
    (journal_path, journal)
}

/// A journal cut short under a file that follows it fails the save, naming the journal, and leaves the file as it
/// was: the save never writes a cassette with interactions missing.
#[test]
fn a_journal_cut_short_fails_the_save_and_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.json");
    let mut file = CassetteFile::create(&path, &cassette("d", vec![sample(0, "old")])).unwrap();
    let before = on_disk(&path);
    let journaled: Vec<Interaction> = (1..4).map(|n| sample(n, "new")).collect();
    let (journal_path, journal) = journal_into(&mut file, &journaled);
    let cut = std::fs::OpenOptions::new()
        .write(true)
        .open(&journal_path)
        .unwrap();
    cut.set_len(journal.len() - 10).unwrap();
    let error = file.save().unwrap_err().to_string();
    assert!(error.contains("journal"), "{error}");
    assert_eq!(on_disk(&path), before);
    assert_eq!(file.unsaved(), 4, "the next save tries again");
}
