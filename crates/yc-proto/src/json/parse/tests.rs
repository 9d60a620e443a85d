//! The error-path text: how steps nest, how positions are kept once, and that the typed path puts them in.

use serde::de::Error as _;

use super::*;

#[test]
fn a_field_goes_in_front_of_a_plain_message() {
    assert_eq!(
        nest(Step::Field("size"), "invalid value: floating point `1.5`"),
        "at `size`: invalid value: floating point `1.5`"
    );
}

#[test]
fn steps_join_with_dots_and_brackets() {
    let inner = nest(Step::Field("type"), "unknown enum value `MAC`");
    assert_eq!(
        nest(Step::Field("os"), &inner),
        "at `os.type`: unknown enum value `MAC`"
    );
    let element = nest(Step::Index(1), &nest(Step::Field("size"), "bad"));
    assert_eq!(element, "at `[1].size`: bad");
    assert_eq!(
        nest(Step::Field("layers"), &element),
        "at `layers[1].size`: bad"
    );
    let entry = nest(Step::Key("env"), "bad");
    assert_eq!(nest(Step::Field("labels"), &entry), "at `labels.env`: bad");
}

#[test]
fn keys_that_are_not_plain_words_are_quoted() {
    assert_eq!(nest(Step::Key("a.b"), "bad"), r#"at `["a.b"]`: bad"#);
    assert_eq!(nest(Step::Key(""), "bad"), r#"at `[""]`: bad"#);
    // A backtick would end the path; it is escaped, so the path still parses back.
    let text = nest(Step::Field("labels"), &nest(Step::Key("a`: b"), "bad"));
    assert_eq!(text, r#"at `labels["a\u0060: b"]`: bad"#);
    assert_eq!(Located::parse(&text).path, Some(r#"labels["a\u0060: b"]"#));
}

#[test]
fn the_innermost_position_is_kept_once() {
    // serde_json appends ` at line N column M` to the inner error, then again (later) to each wrapper.
    let inner = nest(Step::Field("type"), "unknown `MAC` at line 1 column 21");
    assert_eq!(inner, "at `type`: unknown `MAC` (line 1, column 21)");
    let outer = nest(Step::Field("os"), &format!("{inner} at line 1 column 22"));
    assert_eq!(outer, "at `os.type`: unknown `MAC` (line 1, column 21)");
    assert_eq!(
        Located::parse(&format!("{outer} at line 1 column 23")),
        Located {
            path: Some("os.type"),
            message: "unknown `MAC`",
            position: Some(("1", "21")),
        }
    );
}

#[test]
fn text_that_only_looks_like_a_position_stays() {
    for text in [
        "value `x at line one column 2`",
        "value `(line 1, column x)`",
        "at `unclosed path",
        "bad at line 1 column",
    ] {
        let located = Located::parse(text);
        assert_eq!(located.render(), text, "{located:?}");
    }
}

#[test]
fn wrappers_name_the_failing_element_and_key() {
    let list = serde_json::from_str::<List<String>>(r#"["a", 5]"#)
        .err()
        .unwrap();
    assert_eq!(
        list.to_string(),
        "at `[1]`: invalid type: integer `5`, expected a string (line 1, column 7) at line 1 column 8"
    );
    let map = serde_json::from_str::<MapField<String, String>>(r#"{"env": 5}"#)
        .err()
        .unwrap();
    assert_eq!(Located::parse(&map.to_string()).path, Some(".env"), "{map}");
    let ok =
        serde_json::from_str::<MapField<String, List<u8>>>(r#"{"a": [1, 2], "b": []}"#).unwrap();
    assert_eq!(ok.0["a"].0, [1, 2]);
    assert!(ok.0["b"].0.is_empty());
}

#[test]
fn at_field_keeps_an_error_without_position_unpositioned() {
    let error = at_field("size", serde_json::Error::custom("bad"));
    assert_eq!(error.to_string(), "at `size`: bad");
}

#[test]
fn unknown_enum_values_say_so() {
    let error = serde_json::from_str::<OpenEnum<crate::compute::v1::image::Status>>(r#""NOPE""#)
        .err()
        .unwrap();
    assert!(
        error.to_string().starts_with(
            "unknown enum value `NOPE`, expected a number or one of `STATUS_UNSPECIFIED`"
        ),
        "{error}"
    );
}
