use super::*;

fn f64_text(v: f64) -> String {
    let mut w = Writer::new(Style::Snake);
    w.f64(v);
    w.finish().unwrap()
}

#[test]
fn doubles_print_as_python_repr() {
    for (v, text) in [
        (1.5, "1.5"),
        (3.0, "3.0"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1e20, "1e+20"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (123456.789, "123456.789"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-1.5e-7, "-1.5e-07"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.1, "0.1"),
        (f64::NAN, "\"NaN\""),
        (f64::INFINITY, "\"Infinity\""),
        (f64::NEG_INFINITY, "\"-Infinity\""),
    ] {
        assert_eq!(f64_text(v), text, "{v:?}");
    }
}

#[test]
fn floats_use_32_bit_shortest_digits() {
    let mut w = Writer::new(Style::Snake);
    w.f32(0.1);
    w.raw(" ");
    w.f32(1e20);
    assert_eq!(w.finish().unwrap(), "0.1 1e+20");
}

#[test]
fn strings_escape_like_python_without_ensure_ascii() {
    let mut w = Writer::new(Style::Snake);
    w.string("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f} é ✓ 😀 \u{2028}");
    assert_eq!(
        w.finish().unwrap(),
        "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f} é ✓ 😀 \u{2028}\""
    );
}

#[test]
fn bytes_are_padded_standard_base64() {
    let mut w = Writer::new(Style::Snake);
    w.bytes(&[0xfb, 0xff]);
    assert_eq!(w.finish().unwrap(), "\"+/8=\"");
}

#[test]
fn map_keys_are_strings() {
    let mut w = Writer::new(Style::Camel);
    let m: BTreeMap<i64, bool> = [(-1, true), (2, false)].into();
    w.map(&m, |w, v| w.bool(*v));
    let b: BTreeMap<bool, String> = [(true, "x".to_owned())].into();
    w.map(&b, |w, v| w.string(v));
    assert_eq!(
        w.finish().unwrap(),
        "{\"-1\":true,\"2\":false}{\"true\":\"x\"}"
    );
}

#[test]
fn the_first_error_wins() {
    let mut w = Writer::new(Style::Snake);
    w.fail(Error::UnknownType("a".into()));
    w.fail(Error::UnknownType("b".into()));
    assert!(w.failed());
    assert_eq!(
        w.finish().unwrap_err().to_string(),
        "unknown message type `a`"
    );
}

/// Every kind of token through both outputs: the value writer builds what the text parses to, keys in order, and
/// reports tokens that do not make one value instead of panicking.
#[test]
fn the_value_output_is_what_the_text_parses_to() {
    fn write(w: &mut Writer) {
        w.begin_object();
        let mut first = true;
        w.field(&mut first, "a_b", "aB");
        w.list(&[0.1f32, 1e20, f32::NAN], |w, v| w.f32(*v));
        w.field(&mut first, "d", "d");
        w.list(&[0.1f64, -0.0, 1e-5, f64::INFINITY], |w, v| w.f64(*v));
        w.raw_key(&mut first, "@type");
        w.string("x\"y");
        w.field(&mut first, "m", "m");
        let map = BTreeMap::from([(2u64, true), (1u64, false)]);
        w.map(&map, |w, v| w.bool(*v));
        w.field(&mut first, "n", "n");
        w.map(&BTreeMap::from([(true, -3i32)]), |w, v| w.int(*v));
        w.field(&mut first, "q", "q");
        w.quoted_int(-9_007_199_254_740_993i64);
        w.field(&mut first, "b", "b");
        w.bytes(b"\xfb\xff");
        w.field(&mut first, "e", "e");
        w.enum_value(Some("READY"), 2);
        w.field(&mut first, "t", "t");
        w.quoted_with("T", |out| {
            out.push_str("1970-01-01T00:00:00Z");
            Ok(())
        });
        w.field(&mut first, "z", "z");
        w.raw("null");
        w.field(&mut first, "o", "o");
        w.raw("{}");
        w.field(&mut first, "l", "l");
        w.raw("[]");
        // A key given twice (no generated writer does it): its first place, its last value, as the parse gives.
        w.field(&mut first, "q", "q");
        w.int(5);
        w.end_object();
    }
    for style in [Style::Snake, Style::Camel] {
        let mut text = Writer::new(style);
        write(&mut text);
        let parsed: serde_json::Value = serde_json::from_str(&text.finish().unwrap()).unwrap();
        let mut value = Writer::value(style);
        write(&mut value);
        assert_eq!(
            value.finish_value().unwrap().to_string(),
            parsed.to_string()
        );
    }
    let mut unbalanced = Writer::value(Style::Snake);
    unbalanced.begin_object();
    assert!(unbalanced.finish_value().is_err());
    let mut two = Writer::value(Style::Snake);
    two.int(1);
    two.int(2);
    assert!(two.finish_value().is_err());
}
