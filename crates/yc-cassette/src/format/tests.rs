//! Unit tests of `format`: the private helpers, one behaviour per test.

use super::*;
use crate::parallel::PARALLEL_FROM;

/// Interactions are parsed one by one from their spans; an error inside one must name the place in the file that
/// parsing the whole file at once names, on the span's first line (mid-line in compact files) and after it.
#[test]
fn errors_inside_an_interaction_are_placed_as_in_the_whole_file() {
    let grpc = r#"{"grpc": {"method": "/a.B/C", "request": {}, "response": {}}}"#;
    let bad_field = r#"{"grpc": {"method": "/a.B/C", "nope": 1}}"#;
    let bad_type = r#"{"grpc": {"method": 7}}"#;
    for bad in [bad_field, bad_type] {
        for text in [
            format!(r#"{{"version": 1, "interactions": [{grpc}, {bad}]}}"#),
            format!(
                "{{\n  \"version\": 1,\n  \"interactions\": [\n    {grpc},\n    {bad}\n  ]\n}}\n"
            ),
            format!(
                "{{\"version\": 1, \"interactions\": [\n{grpc}, {}]}}",
                bad.replace(", ", ",\n   ")
            ),
        ] {
            let whole = serde_json::from_str::<Cassette>(&text).unwrap_err();
            match Cassette::from_json_str(&text, "f.json", &yc_proto::Schema::embedded())
                .unwrap_err()
            {
                Error::Parse {
                    line,
                    column,
                    message,
                    ..
                } => {
                    assert_eq!((line, column), (whole.line(), whole.column()), "{text}");
                    assert_eq!(message, strip_position(&whole.to_string()));
                }
                other => panic!("{other}"),
            }
        }
    }
}

#[test]
fn an_invalid_interaction_is_reported_at_the_line_it_starts_on() {
    let text = "{\n  \"version\": 1,\n  \"interactions\": [\n    {\"grpc\": {\"method\": \"/a.B/C\", \"request\": {}, \"response\": {}}},\n    {\"grpc\": {\"method\": \"/a.B/C\", \"request\": {\"messages\": [{\"type\": \"no.Such\", \"json\": {}}]}, \"response\": {}}}\n  ]\n}\n";
    match Cassette::from_json_str(text, "f.json", &yc_proto::Schema::embedded()).unwrap_err() {
        Error::Invalid {
            interaction,
            line,
            message,
            ..
        } => {
            assert_eq!((interaction, line), (1, Some(5)));
            assert!(
                message.contains("unknown message type `no.Such`"),
                "{message}"
            );
        }
        other => panic!("{other}"),
    }
}

/// Many interactions are parsed on several threads; the result is the same cassette, in order, and the error is
/// the first failing interaction's whatever thread found it.
#[test]
fn parallel_parsing_keeps_order_and_reports_the_first_error() {
    let n = PARALLEL_FROM * 2 + 7;
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(r#"{{"grpc": {{"method": "/a.B/M{i}", "request": {{}}, "response": {{}}}}}}"#)
        })
        .collect();
    let text = format!(
        r#"{{"version": 1, "interactions": [{}]}}"#,
        items.join(",\n")
    );
    let cassette = Cassette::from_json_str(&text, "f.json", &yc_proto::Schema::embedded()).unwrap();
    assert_eq!(cassette, serde_json::from_str::<Cassette>(&text).unwrap());
    let mut broken = items.clone();
    for at in [n - 3, PARALLEL_FROM + 1] {
        broken[at] = r#"{"grpc": {"method": 1}}"#.to_owned();
    }
    let text = format!(
        r#"{{"version": 1, "interactions": [{}]}}"#,
        broken.join(",\n")
    );
    let whole = serde_json::from_str::<Cassette>(&text).unwrap_err();
    match Cassette::from_json_str(&text, "f.json", &yc_proto::Schema::embedded()).unwrap_err() {
        Error::Parse { line, column, .. } => {
            assert_eq!((line, column), (whole.line(), whole.column()))
        }
        other => panic!("{other}"),
    }
}

#[test]
fn positions_count_characters_from_one() {
    assert_eq!(position("ab\ncé\"x", 6), (2, 3));
    assert_eq!(position("", 0), (1, 1));
}

proptest::proptest! {
    #[test]
    fn loading_arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = Cassette::from_json_str(&text, "fuzz.json", &yc_proto::Schema::embedded());
    }
}

/// What a replay keeps sends the same bytes: every bundled cassette, read both ways, has the same requests and
/// the same response bytes.
#[test]
fn keeping_for_replay_keeps_every_request_and_the_bytes_of_every_response() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let all = Cassette::from_json_str(&text, "all", &yc_proto::Schema::embedded()).unwrap();
        let lean = Cassette::from_json_str_keeping(
            &text,
            "lean",
            Keep::Replay,
            &yc_proto::Schema::embedded(),
        )
        .unwrap();
        assert_eq!(all.interactions.len(), lean.interactions.len());
        for (a, l) in all.interactions.iter().zip(&lean.interactions) {
            match (a, l) {
                (Interaction::Grpc(a), Interaction::Grpc(l)) => {
                    assert_eq!(a.request, l.request);
                    assert_eq!(a.response.status, l.response.status);
                    let bytes = |m: &[Message]| {
                        m.iter()
                            .map(|m| m.to_bytes(&yc_proto::Schema::embedded()).unwrap())
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(bytes(&a.response.messages), bytes(&l.response.messages));
                    assert!(l.response.messages.iter().all(|m| m.json.is_none()));
                }
                (Interaction::Rest(a), Interaction::Rest(l)) => {
                    assert_eq!(a.request, l.request);
                    assert_eq!(a.response.body.to_bytes(), l.response.body.to_bytes());
                    assert_eq!(a.response.headers, l.response.headers);
                }
                _ => panic!("{}: transports differ", path.display()),
            }
        }
    }
}
