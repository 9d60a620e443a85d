//! Unit tests of `store`: bounded reads, journal lines, recovery of a journal beside a file, the lock.

use serde_json::json;

use super::journal::{Journal, JournalHeader, JournalWriter, WriteFault, push_line_from_pretty};
use super::*;
use crate::model::{Interaction, Message, Meta};
use crate::{CassetteFile, CassetteLock, Error};

fn rest(n: usize) -> Interaction {
    crate::fixture::rest("GET", &format!("/compute/v1/images/fd8{n}"))
        .response(crate::Body::Json(
            json!({ "id": format!("fd8{n}"), "s": "a\nb \"q\"" }),
        ))
        .build()
}

fn header(base: usize, replace: bool) -> JournalHeader {
    JournalHeader {
        version: journal::JOURNAL_VERSION,
        base,
        replace,
        meta: Meta {
            description: "journal".to_owned(),
            recorded_with: "test".to_owned(),
        },
        matching: Default::default(),
    }
}

/// The journal text of `interactions` after `header`, through the same path as the recorder (pretty, then lines).
fn journal_text(header: &JournalHeader, interactions: &[Interaction]) -> String {
    let mut file = CassetteFile::new(Path::new("x.json"), &Cassette::new(Meta::default())).unwrap();
    let mut out = journal::header_line(header);
    for interaction in interactions {
        push_line_from_pretty(file.push(interaction), &mut out);
    }
    String::from_utf8(out).unwrap()
}

fn ids(cassette: &Cassette) -> Vec<String> {
    cassette
        .interactions
        .iter()
        .map(|i| match i {
            Interaction::Rest(r) => r.request.path.rsplit('/').next().unwrap().to_owned(),
            Interaction::Grpc(g) => g.method.clone(),
        })
        .collect()
}

#[test]
fn journal_lines_read_back_as_the_interactions_and_a_torn_line_is_dropped() {
    let all: Vec<Interaction> = (0..3).map(rest).collect();
    let text = journal_text(&header(0, false), &all);
    assert_eq!(text.lines().count(), 4, "{text}");
    let journal = Journal::parse(&text, "j", &yc_proto::Schema::embedded()).unwrap();
    assert_eq!(journal.interactions, all);
    assert!(!journal.torn);

    let cut = &text[..text.len() - 10];
    let journal = Journal::parse(cut, "j", &yc_proto::Schema::embedded()).unwrap();
    assert_eq!(journal.interactions, all[..2]);
    assert!(journal.torn);
    // A torn header: nothing to recover, and no error.
    let journal = Journal::parse(&text[..5], "j", &yc_proto::Schema::embedded()).unwrap();
    assert!(journal.interactions.is_empty() && journal.torn);
}

#[test]
fn a_bad_whole_line_is_an_error_with_its_line() {
    let mut text = journal_text(&header(0, false), &[rest(0)]);
    text.push_str("{\"rest\": 1}\n");
    let error = Journal::parse(&text, "j", &yc_proto::Schema::embedded()).unwrap_err();
    assert!(matches!(error, Error::Parse { line: 3, .. }), "{error}");
}

#[test]
fn recovery_adds_the_lines_the_file_does_not_hold() {
    let all: Vec<Interaction> = (0..5).map(rest).collect();
    let journal = Journal::parse(
        &journal_text(&header(1, false), &all[1..]),
        "j",
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    // The file as it was when the journal started (1), and after a rewrite that took two journal lines (3).
    for have in [1, 3, 5] {
        let mut file = Cassette::new(Meta::default());
        file.interactions = all[..have].to_vec();
        let (cassette, recovery) = merge(Some(file), journal.clone(), "j".into(), None);
        assert_eq!(cassette.interactions, all, "file held {have}");
        assert_eq!(recovery.recovered, 5 - have);
        assert_eq!(recovery.ignored, None);
    }
    // No file yet: the journal is the cassette, with its header's meta.
    let journal = Journal::parse(
        &journal_text(&header(0, false), &all),
        "j",
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    let (cassette, recovery) = merge(None, journal, "j".into(), None);
    assert_eq!(cassette.interactions, all);
    assert_eq!(cassette.meta.description, "journal");
    assert_eq!(recovery.recovered, 5);
    assert_eq!(
        recovery.to_string(),
        "journal `j` (left by a recording that did not finish): recovered 5 interactions not yet in the cassette"
    );
}

#[test]
fn an_interrupted_replace_keeps_the_old_file() {
    let journal = Journal::parse(
        &journal_text(&header(0, true), &[rest(7)]),
        "j",
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    let mut old = Cassette::new(Meta::default());
    old.interactions = vec![rest(1), rest(2)];
    let (cassette, recovery) = merge(Some(old.clone()), journal.clone(), "j".into(), Some(42));
    assert_eq!(cassette, old);
    assert_eq!(
        recovery.to_string(),
        "journal `j` (of the recording running as pid 42): 1 interactions ignored: an interrupted re-recording; the cassette it was to replace is kept"
    );
    // With no old file there is nothing to keep: the journal is the cassette.
    let (cassette, _) = merge(None, journal, "j".into(), None);
    assert_eq!(ids(&cassette), ["fd87"]);
}

#[test]
fn open_reads_file_and_journal_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    let mut file = Cassette::new(Meta::default());
    file.interactions = vec![rest(0)];
    file.save(&path).unwrap();
    std::fs::write(
        journal_path(&path),
        journal_text(&header(1, false), &[rest(1), rest(2)]),
    )
    .unwrap();
    let opened = Cassette::open(
        &path,
        DEFAULT_MAX_CASSETTE_SIZE,
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    assert_eq!(ids(&opened.cassette), ["fd80", "fd81", "fd82"]);
    assert_eq!(opened.recovery.unwrap().recovered, 2);

    // The file gone, the journal (which continues a file of 1) does not stand alone.
    std::fs::remove_file(&path).unwrap();
    let opened = Cassette::open(
        &path,
        DEFAULT_MAX_CASSETTE_SIZE,
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    assert!(opened.cassette.interactions.is_empty());
    assert_eq!(opened.recovery.unwrap().ignored.map(|(n, _)| n), Some(2));
    std::fs::remove_file(journal_path(&path)).unwrap();
    assert!(matches!(
        Cassette::open(
            &path,
            DEFAULT_MAX_CASSETTE_SIZE,
            &yc_proto::Schema::embedded()
        ),
        Err(Error::Io { .. })
    ));
}

#[test]
fn a_fifo_a_folder_and_a_device_are_refused_by_name_and_a_large_file_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.json");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let error = Cassette::load(&fifo, &yc_proto::Schema::embedded()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("`{}` is a FIFO, not a cassette file", fifo.display())
    );
    let error = Cassette::load(dir.path(), &yc_proto::Schema::embedded()).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("is a folder, not a cassette file"),
        "{error}"
    );
    let error = Cassette::load(Path::new("/dev/zero"), &yc_proto::Schema::embedded()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "`/dev/zero` is a device, not a cassette file"
    );

    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 100]).unwrap();
    let error = Cassette::open(&big, 99, &yc_proto::Schema::embedded()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` is 100 bytes, more than the limit of 99 bytes (raise it with --max-cassette-size)",
            big.display()
        )
    );
}

#[test]
fn a_failed_append_leaves_only_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json.journal");
    let head = journal::header_line(&header(0, false));
    let line = journal_text(&header(0, false), &[rest(0)])[head.len()..].to_owned();
    let fault = WriteFault {
        after_bytes: (head.len() + line.len() * 2 + 3) as u64,
        kind: std::io::ErrorKind::StorageFull,
    };
    let mut writer = JournalWriter::create(&path, &header(0, false), Some(fault)).unwrap();
    writer.append(line.as_bytes()).unwrap();
    writer.append(line.as_bytes()).unwrap();
    let error = writer.append(line.as_bytes()).unwrap_err();
    assert!(error.to_string().starts_with("cannot append to"), "{error}");
    let journal = Journal::read(
        &path,
        DEFAULT_MAX_CASSETTE_SIZE,
        &yc_proto::Schema::embedded(),
    )
    .unwrap();
    assert_eq!(journal.interactions.len(), 2);
    assert!(!journal.torn, "cut back to the last whole line");
}

#[test]
fn a_second_lock_is_refused_with_the_holders_pid_and_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    let lock = CassetteLock::acquire(&path).unwrap();
    assert_eq!(lock::holder(&path), Some(std::process::id()));
    let error = CassetteLock::acquire(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "cassette `{}` is being recorded by another process (pid {}; lock `{}`)",
            path.display(),
            std::process::id(),
            lock_path(&path).display()
        )
    );
    drop(lock);
    assert!(!lock_path(&path).exists());
    assert_eq!(lock::holder(&path), None);
    let _again = CassetteLock::acquire(&path).unwrap();
}

#[test]
fn messages_in_journal_lines_are_checked_as_in_files() {
    let mut text = String::from_utf8(journal::header_line(&header(0, false))).unwrap();
    let bad = Interaction::Grpc(crate::GrpcInteraction {
        method: "/m".to_owned(),
        request: crate::GrpcRequest {
            metadata: Default::default(),
            messages: vec![Message::from_json("no.such.Type", json!({}))],
        },
        response: Default::default(),
    });
    text.push_str(&serde_json::to_string(&bad).unwrap());
    text.push('\n');
    let error = Journal::parse(&text, "j", &yc_proto::Schema::embedded()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "j:2: interaction 0: request message 0: unknown message type `no.such.Type`"
    );
}

#[cfg(unix)]
#[test]
fn an_atomic_save_gives_the_permissions_a_created_file_gets() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let created = dir.path().join("created");
    std::fs::File::create(&created).unwrap();
    let saved = dir.path().join("saved.json");
    super::write_atomic(&saved, &[b"{}", b"\n"]).unwrap();
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&saved),
        mode(&created),
        "not tempfile's owner-only mode"
    );
    assert_eq!(std::fs::read(&saved).unwrap(), b"{}\n");
}
