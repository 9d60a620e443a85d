//! Unit tests of the schema: the embedded one agrees with the generated tables; user descriptors add types,
//! methods and routes.

use super::*;

#[test]
fn the_embedded_schema_agrees_with_the_generated_tables() {
    let schema = Schema::embedded();
    assert_eq!(schema.methods().len(), crate::methods::all().len());
    for generated in crate::methods::all() {
        let method = schema.method(generated.grpc_path).unwrap();
        assert_eq!(method.input_type, generated.input_type);
        assert_eq!(method.output_type, generated.output_type);
        assert_eq!(
            method
                .operation
                .as_ref()
                .map(|o| (o.metadata.as_str(), o.response.as_str())),
            generated.operation.map(|o| (o.metadata, o.response)),
        );
        let rule = generated.http.unwrap();
        let binding = method.rule().unwrap();
        assert_eq!(
            (
                binding.verb.as_str(),
                binding.template.as_str(),
                binding.body.as_str()
            ),
            (rule.verb, rule.path, rule.body)
        );
    }
    for ty in crate::registry::all() {
        assert!(
            schema.message(ty.full_name()).unwrap().is_generated(),
            "{}",
            ty.full_name()
        );
    }
    let route = schema
        .route("GET", "/compute/v1/images/fd8:listAccessBindings")
        .unwrap();
    assert_eq!(route.method.name, "ListAccessBindings");
    assert_eq!(route.bindings, vec![("resource_id", "fd8".to_owned())]);
    assert!(Arc::ptr_eq(&schema, &Schema::embedded()), "built once");
}

#[test]
fn bad_descriptor_sets_are_errors() {
    let error = Schema::with_descriptor_sets([&b"\x0a\x03abc"[..]]).unwrap_err();
    assert!(
        error.to_string().starts_with("invalid descriptors:"),
        "{error}"
    );
}
