//! One logical API over two transports: a REST request finds a gRPC recording of the same call and the reverse,
//! sharing one sequence; misses say the logical form was tried.

use yc_cassette::fixture::{self, cassette_matching};
use yc_cassette::{Body, Headers, Index, MatchRules, Miss, Redactor, Request};

use crate::*;

fn rest_get(index: &Index, path: &str, query: &str) -> Result<(usize, bool), Box<Miss>> {
    let headers = Headers::new();
    let request = Request::Rest {
        method: "GET",
        path,
        query,
        headers: &headers,
        body: b"",
    };
    index
        .lookup(&request)
        .map(|hit| (hit.index, hit.translated))
        .map_err(Box::new)
}

fn grpc_get(index: &Index, image_id: &str) -> Result<(usize, bool), Box<Miss>> {
    let messages = [get_request_bytes(image_id)];
    let metadata = Headers::new();
    let request = Request::Grpc {
        method: GET,
        metadata: &metadata,
        messages: &messages,
    };
    index
        .lookup(&request)
        .map(|hit| (hit.index, hit.translated))
        .map_err(Box::new)
}

#[test]
fn rest_finds_a_grpc_recording_and_shares_its_sequence() {
    let idx = index(vec![cassette(vec![
        get_image("fd8op", "pending").build(),
        get_image("fd8op", "done").build(),
    ])]);
    // The first answer over REST, the second over gRPC, then the last repeats over either.
    assert_eq!(
        rest_get(&idx, "/compute/v1/images/fd8op", "").unwrap(),
        (0, true)
    );
    assert_eq!(grpc_get(&idx, "fd8op").unwrap(), (1, false));
    assert_eq!(
        rest_get(&idx, "/compute/v1/images/fd8op", "").unwrap(),
        (1, true)
    );
}

#[test]
fn grpc_finds_a_rest_recording_and_rest_spelled_otherwise_finds_it_untranslated() {
    let idx = index(vec![cassette(vec![
        rest_interaction("GET", "/compute/v1/images/fd8abc", "", Body::Empty, "{}"),
        rest_interaction(
            "GET",
            "/compute/v1/images",
            "folderId=b1g&pageSize=50",
            Body::Empty,
            "{}",
        ),
    ])]);
    assert_eq!(grpc_get(&idx, "fd8abc").unwrap(), (0, true));
    // Proto names and another order: the exact key misses, the logical one does not; same transport.
    assert_eq!(
        rest_get(&idx, "/compute/v1/images", "page_size=50&folder_id=b1g").unwrap(),
        (1, false)
    );
}

#[test]
fn redaction_and_ignored_fields_apply_to_the_logical_key() {
    let rules = MatchRules {
        headers: vec![],
        ignore_fields: vec!["page_token".to_owned()],
    };
    let list = |token: &str| {
        fixture::grpc("/yandex.cloud.compute.v1.ImageService/List")
            .request(&yc_proto::compute::v1::ListImagesRequest {
                folder_id: "b1g".into(),
                page_token: token.into(),
                ..Default::default()
            })
            .build()
    };
    let idx = index(vec![cassette_matching(rules, vec![list("recorded-token")])]);
    assert_eq!(
        rest_get(
            &idx,
            "/compute/v1/images",
            "folderId=b1g&pageToken=live-token"
        )
        .unwrap(),
        (0, true)
    );
    // A secret in a path segment is redacted before keying, so the recorded placeholder matches.
    let token = "t1.9euelZqKkJGSnY6ZyJyLjpKUnZOSjO3rnpWazZeUi8y.7iOBjpLFWnm_Z7L5MUA9RAIMXxyE";
    let mut redacted = get_image(token, "secret").build();
    Redactor::default().redact_interaction(&mut redacted);
    let idx = index(vec![cassette(vec![redacted])]);
    assert_eq!(
        rest_get(&idx, &format!("/compute/v1/images/{token}"), "").unwrap(),
        (0, true)
    );
}

#[test]
fn misses_say_the_logical_form_was_tried() {
    let idx = index(vec![cassette(vec![
        get_image("fd8abc", "ubuntu").build(),
        rest_interaction(
            "GET",
            "/compute/v1/images",
            "folderId=b1g",
            Body::Empty,
            "{}",
        ),
    ])]);
    let texts = [
        rest_get(&idx, "/compute/v1/images/fd8abd", "")
            .unwrap_err()
            .to_string(),
        grpc_get(&idx, "fd8zzz").unwrap_err().to_string(),
        // The List recording is REST: a gRPC List of another folder names it as the closest.
        {
            let messages = [prost::Message::encode_to_vec(
                &yc_proto::compute::v1::ListImagesRequest {
                    folder_id: "b1h".into(),
                    ..Default::default()
                },
            )];
            let metadata = Headers::new();
            idx.lookup(&Request::Grpc {
                method: "/yandex.cloud.compute.v1.ImageService/List",
                metadata: &metadata,
                messages: &messages,
            })
            .unwrap_err()
            .to_string()
        },
        // An unknown query parameter: the logical form cannot be built and the miss says why.
        rest_get(&idx, "/compute/v1/images/fd8abc", "colour=red")
            .unwrap_err()
            .to_string(),
    ];
    insta::assert_snapshot!(texts.join("\n\n"));
    let miss = rest_get(&idx, "/compute/v1/images/fd8abd", "").unwrap_err();
    let logical = miss.logical.as_ref().unwrap();
    assert_eq!(logical.method, GET);
    assert_eq!(logical.closest.as_ref().unwrap().index, 0);
    assert_eq!(
        miss.to_json()["logical"]["closest"]["differences"][0]["path"],
        "message.image_id"
    );
}

#[test]
fn nothing_logical_is_said_when_the_other_transport_has_no_recording_of_the_method() {
    let idx = index(vec![cassette(vec![get_image("fd8abc", "ubuntu").build()])]);
    let miss = grpc_get(&idx, "fd8abd").unwrap_err();
    assert!(miss.logical.is_none(), "{miss}");
    assert!(miss.to_json().get("logical").is_none());
}
