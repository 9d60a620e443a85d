//! Matching: sequences and repeats, any arrival order from many threads, per-cassette rules, and misses
//! that explain themselves.

use yc_cassette::{Body, Headers, Index, Interaction, MatchRules, Request};

use crate::*;

/// The name of the image answered to a gRPC Get of `image_id`, or the miss text.
fn get(index: &Index, image_id: &str, metadata: &Headers) -> Result<String, String> {
    let messages = [get_request_bytes(image_id)];
    let request = Request::Grpc {
        method: GET,
        metadata,
        messages: &messages,
    };
    match index.lookup(&request) {
        Ok(hit) => {
            let Interaction::Grpc(g) = hit.interaction else {
                return Err("not grpc".to_owned());
            };
            Ok(g.response.messages[0].json.as_ref().unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned())
        }
        Err(miss) => Err(miss.to_string()),
    }
}

#[test]
fn identical_requests_replay_in_order_then_the_last_repeats() {
    let idx = index(vec![cassette(vec![
        get_image("fd8op", "pending-1").build(),
        get_image("fd8other", "other").build(),
        get_image("fd8op", "pending-2").build(),
        get_image("fd8op", "done").build(),
    ])]);
    let none = Headers::new();
    let seen: Vec<String> = (0..6).map(|_| get(&idx, "fd8op", &none).unwrap()).collect();
    assert_eq!(
        seen,
        ["pending-1", "pending-2", "done", "done", "done", "done"]
    );
    assert_eq!(get(&idx, "fd8other", &none).unwrap(), "other");
    assert_eq!(get(&idx, "fd8other", &none).unwrap(), "other");
    idx.reset();
    assert_eq!(get(&idx, "fd8op", &none).unwrap(), "pending-1");
}

#[test]
fn independent_cursors_replay_the_same_sequences_without_seeing_each_other() {
    let idx = index(vec![cassette(vec![
        get_image("fd8op", "pending").build(),
        get_image("fd8op", "done").build(),
    ])]);
    let messages = [get_request_bytes("fd8op")];
    let none = Headers::new();
    let request = Request::Grpc {
        method: GET,
        metadata: &none,
        messages: &messages,
    };
    let name = |hit: yc_cassette::Hit<'_>| match hit.interaction {
        Interaction::Grpc(g) => g.response.messages[0].json.as_ref().unwrap()["name"]
            .as_str()
            .unwrap()
            .to_owned(),
        Interaction::Rest(_) => unreachable!("a gRPC recording"),
    };
    let (a, b) = (idx.cursors(), idx.cursors());
    assert_eq!(name(idx.lookup_in(&request, &a).unwrap()), "pending");
    assert_eq!(name(idx.lookup_in(&request, &a).unwrap()), "done");
    // Neither another set nor the index's own has moved.
    assert_eq!(name(idx.lookup_in(&request, &b).unwrap()), "pending");
    assert_eq!(get(&idx, "fd8op", &none).unwrap(), "pending");
    a.reset();
    assert_eq!(name(idx.lookup_in(&request, &a).unwrap()), "pending");
    assert_eq!(name(idx.lookup_in(&request, &b).unwrap()), "done");
}

#[test]
fn volatile_and_unlisted_headers_take_no_part() {
    let idx = index(vec![cassette(vec![get_image("fd8abc", "ubuntu").build()])]);
    let noisy = headers(&[
        (
            "authorization",
            "Bearer t1.9euelZqKkJGSnY6ZyJyLjpKUnZOSjO3rnpWazZeUi8y.7iOBjpLFWnm_Z7L5MUA9RAIMXxyE",
        ),
        ("x-request-id", "0b1c"),
        ("idempotency-key", "k"),
        ("user-agent", "yc/1"),
        ("grpc-timeout", "10S"),
        ("x-anything", "else"),
    ]);
    assert_eq!(get(&idx, "fd8abc", &noisy).unwrap(), "ubuntu");
}

#[test]
fn listed_headers_take_part_but_volatile_ones_never() {
    let mut c = cassette(vec![get_image("fd8abc", "ubuntu").build()]);
    c.matching = MatchRules {
        headers: vec!["X-Folder".to_owned(), "x-request-id".to_owned()],
        ignore_fields: vec![],
    };
    if let Interaction::Grpc(g) = &mut c.interactions[0] {
        g.request.metadata.push("x-folder", "b1g1");
        g.request.metadata.push("x-request-id", "r1");
    }
    let idx = index(vec![c]);
    let ok = headers(&[("x-folder", "b1g1"), ("x-request-id", "r2")]);
    assert_eq!(get(&idx, "fd8abc", &ok).unwrap(), "ubuntu");
    let wrong = headers(&[("x-folder", "b1g2")]);
    let miss = get(&idx, "fd8abc", &wrong).unwrap_err();
    assert!(miss.contains("headers.x-folder"), "{miss}");
}

#[test]
fn ignored_fields_take_no_part() {
    let mut c = cassette(vec![rest_interaction(
        "POST",
        "/compute/v1/images",
        "",
        Body::from_bytes(
            Some("application/json"),
            br#"{"folderId":"b1g1","name":"img","labels":{"run":"1"}}"#,
        ),
        r#"{"done":true}"#,
    )]);
    c.matching.ignore_fields = vec!["labels.run".to_owned()];
    let idx = index(vec![c]);
    let body = br#"{"name":"img","folderId":"b1g1","labels":{"run":"2"}}"#;
    let h = headers(&[("content-type", "application/json")]);
    let request = Request::Rest {
        method: "POST",
        path: "/compute/v1/images",
        query: "",
        headers: &h,
        body,
    };
    assert!(
        idx.lookup(&request).is_ok(),
        "key order and ignored fields do not matter"
    );
}

#[test]
fn rest_queries_compare_as_sorted_decoded_pairs_and_bodies_as_data() {
    let idx = index(vec![cassette(vec![rest_interaction(
        "GET",
        "/compute/v1/images",
        "folderId=b1g1&pageSize=10&filter=name%3D%22a%20b%22",
        Body::Empty,
        r#"{"images":[]}"#,
    )])]);
    let h = Headers::new();
    let lookup = |query: &str| {
        idx.lookup(&Request::Rest {
            method: "get",
            path: "/compute/v1/images",
            query,
            headers: &h,
            body: b"",
        })
        .map(|hit| hit.index)
        .map_err(|m| m.to_string())
    };
    assert_eq!(
        lookup("pageSize=10&filter=name%3D%22a+b%22&folderId=b1g1"),
        Ok(0)
    );
    assert!(lookup("pageSize=11&folderId=b1g1&filter=name%3D%22a+b%22").is_err());
}

#[test]
fn different_requests_in_any_order_from_many_threads_each_get_their_own_answer() {
    let ids: Vec<String> = (0..200).map(|i| format!("fd8{i:017}")).collect();
    let idx = index(vec![cassette(
        ids.iter()
            .map(|id| get_image(id, &format!("name-{id}")).build())
            .collect(),
    )]);
    // A fixed shuffle (no clock, no randomness): stride through the ids with a step prime to 200.
    let order: Vec<&String> = (0..200).map(|i| &ids[(i * 73 + 11) % 200]).collect();
    let idx = &idx;
    std::thread::scope(|s| {
        for chunk in order.chunks(25) {
            s.spawn(move || {
                let none = Headers::new();
                for id in chunk {
                    assert_eq!(get(idx, id, &none).unwrap(), format!("name-{id}"));
                }
            });
        }
    });
}

#[test]
fn concurrent_identical_requests_share_one_sequence() {
    let idx = index(vec![cassette(
        (0..100)
            .map(|i| get_image("fd8poll", &format!("step-{i:03}")).build())
            .collect(),
    )]);
    let idx = &idx;
    let mut seen: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(move || {
                    let none = Headers::new();
                    (0..50)
                        .map(|_| get(idx, "fd8poll", &none).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    seen.sort();
    let mut expected: Vec<String> = (0..100).map(|i| format!("step-{i:03}")).collect();
    expected.extend(std::iter::repeat_n("step-099".to_owned(), 100));
    expected.sort();
    assert_eq!(
        seen, expected,
        "every step once, then the last one repeated"
    );
}

#[test]
fn identical_requests_across_cassettes_continue_in_cassette_order() {
    let a = cassette(vec![get_image("fd8x", "first").build()]);
    let b = cassette(vec![get_image("fd8x", "second").build()]);
    let idx = index(vec![a, b]);
    let none = Headers::new();
    assert_eq!(get(&idx, "fd8x", &none).unwrap(), "first");
    assert_eq!(get(&idx, "fd8x", &none).unwrap(), "second");
}

fn misses() -> String {
    let idx = index(vec![cassette(vec![
        get_image("fd8abc1234567890defg", "ubuntu").build(),
        get_image("fd8zzz0000000000zzzz", "debian").build(),
        rest_interaction(
            "POST",
            "/compute/v1/images",
            "folderId=b1g1",
            Body::from_bytes(
                Some("application/json"),
                br#"{"name":"img","labels":{"a":"1"}}"#,
            ),
            r#"{"done":false}"#,
        ),
    ])]);
    let none = Headers::new();
    let list_messages = [vec![0x0a, 0x04, b'b', b'1', b'g', b'1']];
    let mut out = Vec::new();
    out.push(get(&idx, "fd8abc1234567890deff", &none).unwrap_err());
    let other_method = idx
        .lookup(&Request::Grpc {
            method: "/yandex.cloud.compute.v1.ImageService/List",
            metadata: &none,
            messages: &list_messages,
        })
        .unwrap_err();
    out.push(other_method.to_string());
    let rest = idx
        .lookup(&Request::Rest {
            method: "POST",
            path: "/compute/v1/images",
            query: "folderId=b1g2",
            headers: &none,
            body: br#"{"name":"img","labels":{"b":"1"}}"#,
        })
        .unwrap_err();
    out.push(rest.to_string());
    out.push(serde_json::to_string_pretty(&rest.to_json()).unwrap());
    let empty = index(vec![]);
    out.push(get(&empty, "fd8", &none).unwrap_err());
    out.join("\n\n")
}

#[test]
fn a_miss_names_the_request_and_the_closest_recording_with_the_differing_fields() {
    insta::assert_snapshot!(misses());
}

#[test]
fn hand_written_json_in_either_spelling_matches() {
    let text = r#"{
  "version": 1,
  "interactions": [
    {
      "grpc": {
        "method": "/yandex.cloud.compute.v1.ImageService/Get",
        "request": { "messages": [{ "type": "yandex.cloud.compute.v1.GetImageRequest", "json": { "imageId": "fd8hand" } }] },
        "response": { "messages": [{ "type": "yandex.cloud.compute.v1.Image", "json": { "id": "fd8hand", "name": "hand", "size": 42 } }] }
      }
    }
  ]
}
"#;
    let c = yc_cassette::Cassette::from_json_str(text, "hand.json", &yc_proto::Schema::embedded())
        .unwrap();
    let idx = index(vec![c]);
    assert_eq!(get(&idx, "fd8hand", &Headers::new()).unwrap(), "hand");
}
