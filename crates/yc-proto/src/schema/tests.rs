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

/// The embedded set with one more message appended to `file`'s encoding (a newer version of that file).
fn with_a_newer(file_name: &str) -> Vec<u8> {
    use prost::Message as _;
    let files = set::files(crate::DESCRIPTOR_SET).unwrap();
    let (_, file) = files.iter().find(|(name, _)| *name == file_name).unwrap();
    let extra = prost_reflect::prost_types::DescriptorProto {
        name: Some("AddedLater".into()),
        ..Default::default()
    };
    let mut newer = file.to_vec();
    // FileDescriptorProto.message_type = 4, length-delimited.
    newer.push(0x22);
    prost::encoding::encode_varint(extra.encoded_len() as u64, &mut newer);
    extra.encode(&mut newer).unwrap();
    set::encode([newer.as_slice()])
}

#[test]
fn a_users_newer_copy_of_an_embedded_file_replaces_it() {
    let schema =
        Schema::with_descriptor_sets([
            with_a_newer("yandex/cloud/compute/v1/image.proto").as_slice()
        ])
        .unwrap();
    let image = schema.message("yandex.cloud.compute.v1.Image").unwrap();
    assert!(
        !image.is_generated(),
        "its file is not the embedded one any more"
    );
    assert!(
        schema
            .message("yandex.cloud.compute.v1.AddedLater")
            .is_some()
    );
    // The other files are as embedded: generated, with their rules.
    assert!(
        schema
            .message("yandex.cloud.compute.v1.GetImageRequest")
            .unwrap()
            .is_generated()
    );
    assert_eq!(
        schema
            .route("GET", "/compute/v1/images/fd8")
            .unwrap()
            .method
            .name,
        "Get"
    );
    // The same bytes as embedded change nothing.
    let same = set::encode(
        set::files(crate::DESCRIPTOR_SET)
            .unwrap()
            .into_iter()
            .map(|(_, f)| f),
    );
    let schema = Schema::with_descriptor_sets([same.as_slice()]).unwrap();
    assert!(
        schema
            .message("yandex.cloud.compute.v1.Image")
            .unwrap()
            .is_generated()
    );
    assert!(
        schema
            .message("yandex.cloud.operation.Operation")
            .unwrap()
            .is_generated()
    );
}
