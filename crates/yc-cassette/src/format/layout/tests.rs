//! Unit tests of `format::layout`: the spans are the ones serde's `RawValue` finds, whatever the layout and
//! whatever the strings hold, and anything that is not a cassette's shape is left to serde.

use proptest::prelude::*;
use serde_json::value::RawValue;

use super::*;

#[derive(serde::Deserialize)]
struct Whole<'a> {
    #[serde(borrow, default)]
    interactions: Vec<&'a RawValue>,
}

/// What serde finds: each interaction's offset and length.
fn serde_spans(text: &str) -> Vec<(usize, usize)> {
    let whole: Whole<'_> = serde_json::from_str(text).expect("valid");
    whole
        .interactions
        .iter()
        .map(|raw| {
            (
                raw.get().as_ptr() as usize - text.as_ptr() as usize,
                raw.get().len(),
            )
        })
        .collect()
}

/// A reader that hands out a few bytes at a time, so every token and every escape falls across a refill.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1 = self.1 % 3 + 1;
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// The layout read whole and read a few bytes at a time, which must agree.
fn laid_out(text: &str) -> Option<Layout> {
    let whole = layout(text.as_bytes());
    let trickled = layout(Trickle(text.as_bytes(), 0));
    assert_eq!(
        whole.as_ref().map(|l| (&l.head, &l.spans, l.size)),
        trickled.as_ref().map(|l| (&l.head, &l.spans, l.size)),
        "{text}"
    );
    whole
}

#[test]
fn spans_and_head_match_serde_over_tricky_text() {
    let texts = [
        r#"{"version": 1, "interactions": []}"#.to_owned(),
        r#"{"interactions":[{}],"version":1}"#.to_owned(),
        "{\n  \"version\": 1,\n  \"meta\": {\"description\": \"a } and a { and \\\" and \\\\\"},\n  \"interactions\": [\n    {\"grpc\": {\"method\": \"/a}.B{/C\", \"x\": [1, {\"y\": \"]\"}]}},\n    {\"rest\": {\"k\": \"\\\\\\\"}\\\\\"}}\n  ],\n  \"matching\": {\"headers\": []}\n}\n".to_owned(),
        format!(r#"{{"version":1,"interactions":[{}]}}"#, [r#"{"a":"é✓ \u00e9"}"#; 3].join(" ,\n")),
    ];
    for text in &texts {
        let found = laid_out(text).unwrap_or_else(|| panic!("laid out: {text}"));
        assert_eq!(found.spans, serde_spans(text), "{text}");
        assert_eq!(found.size, text.len());
        let head: serde_json::Value = serde_json::from_str(&found.head).expect("the head is JSON");
        let mut whole: serde_json::Value = serde_json::from_str(text).unwrap();
        whole["interactions"] = serde_json::json!([]);
        assert_eq!(head, whole, "{text}");
    }
}

#[test]
fn what_is_not_a_cassette_shape_is_left_to_serde() {
    for text in [
        "",
        "[]",
        r#"{"version": 1, "interactions": [{}] } x"#,
        r#"{"version": 1 "interactions": []}"#,
        r#"{"interactions": [{}, ]}"#,
        r#"{"interactions": [1]}"#,
        r#"{"interactions": [{"a": "unterminated}]}"#,
        r#"{"interactions": [{"a": {}}"#,
        r#"{"version": 1,}"#,
    ] {
        assert!(laid_out(text).is_none(), "{text}");
    }
}

proptest! {
    /// Strings of any characters (quotes, backslashes, braces, brackets, control characters) in any member, in
    /// pretty and compact files: the spans are serde's.
    #[test]
    fn any_strings_give_serde_spans(
        values in proptest::collection::vec("[\"\\\\{}\\[\\]a-zé\n\t ]{0,12}", 0..6),
        pretty in any::<bool>(),
    ) {
        let interactions: Vec<serde_json::Value> = values
            .iter()
            .map(|v| serde_json::json!({"grpc": {"method": v, "nested": [{"k": v}, v]}}))
            .collect();
        let file = serde_json::json!({
            "version": 1,
            "meta": {"description": values.join("")},
            "interactions": interactions,
        });
        let text = if pretty {
            serde_json::to_string_pretty(&file).unwrap()
        } else {
            serde_json::to_string(&file).unwrap()
        };
        let found = laid_out(&text).expect("laid out");
        prop_assert_eq!(found.spans, serde_spans(&text));
    }
}
