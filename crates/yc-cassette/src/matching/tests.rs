//! Unit tests of `matching`: the private helpers, one behaviour per test.

use serde_json::json;

use super::*;

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
fn percent_decoding_is_total() {
    assert_eq!(percent_decode("a%20b+c"), "a b c");
    assert_eq!(percent_decode("%zz%2"), "%zz%2");
    assert_eq!(percent_decode("%E2%9C%93"), "\u{2713}");
}

#[test]
fn the_index_is_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Index>();
    shareable::<Redactor>();
}
