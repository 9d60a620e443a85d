//! Unit tests of `matching`: the private helpers, one behaviour per test.

use serde_json::json;

use super::*;
use crate::fixture::{self, GET_IMAGE as GET, cassette_matching as cassette, get_image_request};

#[test]
fn canonical_json_sorts_keys_at_every_depth() {
    let mut a = String::new();
    canonical(
        &json!({"b": 1, "a": {"d": [1, {"y": 2, "x": "\"q\""}], "c": null}}),
        &mut a,
    );
    assert_eq!(a, r#"{"a":{"c":null,"d":[1,{"x":"\"q\"","y":2}]},"b":1}"#);
}

#[test]
fn remove_path_crosses_arrays_and_spellings() {
    let mut v = json!({"items": [{"folderId": 1, "keep": 2}, {"folder_id": 3}], "folderId": 4});
    remove_path(&mut v, &["items".to_owned(), "folderid".to_owned()]);
    assert_eq!(v, json!({"items": [{"keep": 2}, {}], "folderId": 4}));
}

#[test]
fn diff_lists_paths_with_both_values() {
    let mut out = Vec::new();
    diff(
        &json!({"a": [1, 2], "b": {"c": "x"}, "odd key": 1}),
        &json!({"a": [1], "b": {"c": "y", "d": true}}),
        &mut String::new(),
        &mut out,
    );
    let a = json!({"a": [1, 2], "b": {"c": "x"}, "odd key": 1});
    let b = json!({"a": [1], "b": {"c": "y", "d": true}});
    assert_eq!(count_differences(&a, &b, usize::MAX), out.len());
    assert!(
        count_differences(&a, &b, 1) < out.len(),
        "counting stops early"
    );
    let lines: Vec<String> = out
        .iter()
        .map(|d| format!("{} {:?} {:?}", d.path, d.recorded, d.requested))
        .collect();
    assert_eq!(
        lines,
        [
            "a[1] Some(Number(2)) None",
            "b.c Some(String(\"x\")) Some(String(\"y\"))",
            "b.d None Some(Bool(true))",
            "[\"odd key\"] Some(Number(1)) None",
        ]
    );
}

#[test]
fn the_index_is_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Index>();
    shareable::<Redactor>();
}

/// `GetImageRequest { image_id }` on the wire.
fn get_bytes(image_id: &str) -> Vec<u8> {
    prost::Message::encode_to_vec(&get_image_request(image_id))
}

/// A recorded `ImageService/Get` whose response status message names `answer`.
fn get(image_id: &str, answer: &str) -> Interaction {
    fixture::grpc(GET)
        .request(&get_image_request(image_id))
        .status(crate::model::GrpcStatus {
            code: 5,
            message: answer.into(),
            ..Default::default()
        })
        .trailers_only()
        .build()
}

/// Which recording answers these request bytes: `(cassette, the status message it holds)`.
fn answer(index: &Index, bytes: Vec<u8>) -> (usize, String) {
    let hit = index
        .lookup(&Request::Grpc {
            method: GET,
            metadata: &Headers::new(),
            messages: &[bytes],
        })
        .unwrap_or_else(|miss| panic!("{miss}"));
    let Interaction::Grpc(g) = hit.interaction else {
        panic!("a REST recording answered");
    };
    (hit.cassette, g.response.status.message.clone())
}

fn fast_path_holds(index: &Index, bytes: &[u8]) -> bool {
    index
        .fast
        .get(GET)
        .is_some_and(|by_bytes| by_bytes.contains_key(bytes))
}

#[test]
fn the_fast_path_and_the_full_lookup_share_one_sequence() {
    let recorded = cassette(
        MatchRules::default(),
        vec![get("fd8aaa", "first"), get("fd8aaa", "second")],
    );
    let index = fixture::index(vec![recorded]);
    assert!(fast_path_holds(&index, &get_bytes("fd8aaa")));

    // The same data spelled otherwise on the wire (a repeated field: the last one wins) takes the full lookup.
    let mut respelled = get_bytes("fd8zzz");
    respelled.extend(get_bytes("fd8aaa"));
    assert!(!fast_path_holds(&index, &respelled));

    assert_eq!(answer(&index, get_bytes("fd8aaa")).1, "first");
    assert_eq!(answer(&index, respelled).1, "second");
    assert_eq!(answer(&index, get_bytes("fd8aaa")).1, "second");
    index.reset();
    assert_eq!(answer(&index, get_bytes("fd8aaa")).1, "first");
}

#[test]
fn requests_the_redactor_changes_stay_off_the_fast_path() {
    let rules = crate::redact::RedactionRules {
        patterns: vec!["fd8secret[0-9]+".into()],
        ..Default::default()
    };
    let redactor = Redactor::new(&rules).unwrap();
    // An unredacted recording (cassettes on disk are redacted already; this one is built in memory).
    let recorded = cassette(MatchRules::default(), vec![get("fd8secret123", "secret")]);
    let index = Index::new(
        vec![("c".into(), recorded)],
        redactor,
        yc_proto::Schema::embedded(),
    )
    .unwrap();
    assert!(index.fast.is_empty(), "{:?}", index.fast);
    // Redaction still decides the match: any secret of the same kind is the same request.
    assert_eq!(answer(&index, get_bytes("fd8secret123")).1, "secret");
    assert_eq!(answer(&index, get_bytes("fd8secret999")).1, "secret");
}

#[test]
fn the_fast_path_answers_as_the_full_lookup_across_rule_groups() {
    // The first cassette ignores `image_id`, so the full lookup gives it every Get, even the bytes recorded in the
    // second cassette.
    let loose = cassette(
        MatchRules {
            ignore_fields: vec!["image_id".into()],
            ..MatchRules::default()
        },
        vec![get("fd8aaa", "loose")],
    );
    let strict = cassette(MatchRules::default(), vec![get("fd8bbb", "strict")]);
    let index = fixture::index(vec![loose, strict]);
    assert!(fast_path_holds(&index, &get_bytes("fd8bbb")));
    assert_eq!(answer(&index, get_bytes("fd8bbb")), (0, "loose".into()));
}

#[test]
fn header_rules_turn_the_fast_path_off() {
    let rules = MatchRules {
        headers: vec!["x-folder".into()],
        ..MatchRules::default()
    };
    let index = fixture::index(vec![cassette(rules, vec![get("fd8aaa", "a")])]);
    assert!(index.fast.is_empty());
    assert_eq!(answer(&index, get_bytes("fd8aaa")).1, "a");
}

/// A miss reads each slot's shape back from its key: the same JSON as the shape built from the request, for both
/// transports, with matched headers, a query, a path with the separator's neighbours and text that needs escaping.
#[test]
fn a_key_reads_back_as_the_shape_it_was_made_from() {
    let rules = Rules::new(&MatchRules {
        headers: vec!["x-folder".into(), "x-zone".into()],
        ignore_fields: vec!["$.page_token".into()],
    });
    let grpc = Normalised {
        transport: "grpc",
        method: GET.into(),
        path: None,
        query: None,
        raw_query: None,
        headers: vec![
            ("x-zone".into(), "ru-central1-a".into()),
            ("x-folder".into(), "b1g\u{1f}\"odd\"".into()),
            ("x-folder".into(), "second".into()),
            ("user-agent".into(), "not matched".into()),
        ],
        body: json!([{"type": "t", "json": {"image_id": "fd8", "page_token": "dropped", "n": 1.5}}]),
    };
    let rest = Normalised {
        transport: "rest",
        method: "GET".into(),
        path: Some("/compute/v1/images/fd8:describe".into()),
        query: Some(json!({"b": ["2"], "a": ["1", "\u{1f}"]})),
        raw_query: None,
        headers: Vec::new(),
        body: json!({"json": {"name": "ü\n"}}),
    };
    for n in [grpc, rest] {
        let key = rules.key(&n);
        assert_eq!(
            miss::shape_of_key(&key),
            Some(rules.shape(&n)),
            "key {key:?}"
        );
    }
    let logical = rules.logical_key(&rest_like(), GET, &json!({"image_id": "fd8"}));
    assert_eq!(
        miss::logical_of_key(&logical),
        Some(json!({"method": GET, "message": {"image_id": "fd8"}}))
    );
}

fn rest_like() -> Normalised {
    Normalised {
        transport: "rest",
        method: "GET".into(),
        path: Some("/p".into()),
        query: None,
        raw_query: None,
        headers: Vec::new(),
        body: Value::Null,
    }
}

/// A miss against a cassette that matches on a header names the header that differs.
#[test]
fn a_miss_names_a_matched_header_that_differs() {
    let mut recorded = get("fd8a", "a");
    if let Interaction::Grpc(g) = &mut recorded {
        g.request.metadata = Headers(vec![("x-folder".into(), "b1g-a".into())]);
    }
    let rules = MatchRules {
        headers: vec!["x-folder".into()],
        ignore_fields: Vec::new(),
    };
    let index = fixture::index(vec![cassette(rules, vec![recorded])]);
    let miss = index
        .lookup(&Request::Grpc {
            method: GET,
            metadata: &Headers(vec![("x-folder".into(), "b1g-b".into())]),
            messages: &[get_bytes("fd8a")],
        })
        .expect_err("a different folder misses");
    let closest = miss.closest.expect("the recording is the closest");
    let paths: Vec<String> = closest
        .differences
        .iter()
        .map(|d| format!("{} {:?} {:?}", d.path, d.recorded, d.requested))
        .collect();
    assert_eq!(
        paths,
        ["headers.x-folder[0] Some(String(\"b1g-a\")) Some(String(\"b1g-b\"))"]
    );
}

/// An index with brief misses (`new_episodes`) says what was asked and looks for no closest recording; hits are the
/// same as without.
#[test]
fn brief_misses_skip_the_closest_recording_and_keep_hits() {
    let full = fixture::index(vec![cassette(
        MatchRules::default(),
        vec![get("fd8a", "a")],
    )]);
    let brief = fixture::index(vec![cassette(
        MatchRules::default(),
        vec![get("fd8a", "a")],
    )])
    .with_brief_misses();
    let miss = |index: &Index, id: &str| {
        index
            .lookup(&Request::Grpc {
                method: GET,
                metadata: &Headers::new(),
                messages: &[get_bytes(id)],
            })
            .expect_err("not recorded")
    };
    let full_miss = miss(&full, "fd8b");
    let brief_miss = miss(&brief, "fd8b");
    assert!(full_miss.closest.is_some());
    assert!(brief_miss.closest.is_none() && brief_miss.logical.is_none());
    assert_eq!(brief_miss.summary, full_miss.summary);
    assert_eq!(brief_miss.request, full_miss.request);
    assert_eq!(
        answer(&brief, get_bytes("fd8a")),
        answer(&full, get_bytes("fd8a"))
    );
}

/// A probe (a client stream's message before the one that matches) misses without the closest recording, and hits
/// as a lookup does, moving the same sequence.
#[test]
fn a_probe_misses_without_diagnostics_and_hits_as_a_lookup_does() {
    let index = fixture::index(vec![cassette(
        MatchRules::default(),
        vec![get("fd8a", "first"), get("fd8a", "second")],
    )]);
    let metadata = Headers::new();
    let [a, b] = [get_bytes("fd8a"), get_bytes("fd8b")];
    let request = |message| Request::Grpc {
        method: GET,
        metadata: &metadata,
        messages: std::slice::from_ref(message),
    };
    assert!(index.probe(&request(&b)).is_none());
    let probed = index.probe(&request(&a)).expect("recorded").index;
    let looked_up = index.lookup(&request(&a)).expect("recorded").index;
    assert_eq!((probed, looked_up), (0, 1), "one sequence, in order");
}
