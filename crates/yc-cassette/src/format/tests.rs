//! Unit tests of `format`: the private helpers, one behaviour per test.

use super::*;

#[test]
fn interaction_lines_are_found_by_structure_not_by_text() {
    let text = "{\n  \"meta\": {\"description\": \"interactions [ {\"},\n  \"interactions\": [\n    {\"a\": [{}]},\n    {\"b\": 1}\n  ]\n}\n";
    assert_eq!(interaction_line(text, 0), Some(4));
    assert_eq!(interaction_line(text, 1), Some(5));
    assert_eq!(interaction_line(text, 2), None);
    assert_eq!(interaction_line("{\"interactions\": [", 0), None);
}

#[test]
fn positions_count_characters_from_one() {
    assert_eq!(position("ab\ncé\"x", 6), (2, 3));
    assert_eq!(position("", 0), (1, 1));
}

proptest::proptest! {
    #[test]
    fn loading_arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = Cassette::from_json_str(&text, "fuzz.json");
    }
}
