//! The pieces of the dynamic codec that its integration tests (`tests/it/dynamic.rs`) reach only indirectly.

use super::{OneOf, WellKnown, is_any_value_form, well_known};
use crate::registry;

#[test]
fn expected_names_are_listed_as_serde_lists_them() {
    let render = |names: &[&str]| OneOf(names).to_string();
    assert_eq!(render(&["a"]), "`a`");
    assert_eq!(render(&["a", "b"]), "`a` or `b`");
    assert_eq!(render(&["a", "b", "c"]), "one of `a`, `b`, `c`");
}

/// The `Any` value form agrees with the generated path's for every type the registry has.
#[test]
fn any_value_form_agrees_with_the_registry() {
    for ty in registry::all() {
        assert_eq!(
            is_any_value_form(&ty.descriptor()),
            ty.is_any_value_form(),
            "{}",
            ty.full_name()
        );
    }
    let pool = registry::descriptor_pool();
    let empty = pool.get_message_by_name("google.protobuf.Empty").unwrap();
    assert_eq!(well_known(&empty), Some(WellKnown::Empty));
    assert!(!is_any_value_form(&empty));
}

/// The fast path takes what encoders write and leaves the rest to the general one.
#[test]
fn wire_fast_path_takes_canonical_bytes_only() {
    use prost::Message as _;

    use crate::compute::v1::{Image, Os};
    use crate::json::{Style, Writer};

    let desc = registry::get("yandex.cloud.compute.v1.Image")
        .unwrap()
        .descriptor();
    let image = Image {
        id: "fd8".into(),
        labels: [("b".into(), "2".into()), ("a".into(), "1".into())].into(),
        product_ids: vec!["p".into(), "q".into()],
        os: Some(Os {
            r#type: 1,
            nvidia: None,
        }),
        size: 5,
        ..Default::default()
    };
    let mut w = Writer::new(Style::Snake);
    assert!(super::wire::message(&mut w, &desc, &image.encode_to_vec(), 0).is_ok());
    let mut w = Writer::new(Style::Snake);
    assert!(super::wire::message(&mut w, &desc, &[0x0a, 0x01, b'a', 0x0a, 0x01, b'b'], 0).is_err());
}
