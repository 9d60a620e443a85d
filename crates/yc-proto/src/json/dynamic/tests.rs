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
