//! Unit tests of `transcode`: path bindings, bodies, query parameters of each type, and the refusals.

use prost_reflect::Kind;
use serde_json::{Value, json};

use super::*;

fn ok(verb: &str, path: &str, query: &str, body: Option<Value>) -> (&'static str, Value) {
    let t = transcode(verb, path, query, body.as_ref()).unwrap();
    (t.method.grpc_path, t.message)
}

fn err(verb: &str, path: &str, query: &str, body: Option<Value>) -> String {
    transcode(verb, path, query, body.as_ref())
        .unwrap_err()
        .1
        .to_string()
}

fn image() -> MessageDescriptor {
    yc_proto::registry::get("yandex.cloud.compute.v1.Image")
        .unwrap()
        .descriptor()
}

#[test]
fn path_bindings_set_their_fields() {
    assert_eq!(
        ok("GET", "/compute/v1/images/fd8abc", "", None),
        (
            "/yandex.cloud.compute.v1.ImageService/Get",
            json!({"image_id": "fd8abc"})
        )
    );
    // Percent-encoded bindings are decoded; the verb is case-insensitive.
    assert_eq!(
        ok("get", "/operations/op%2D1", "", None),
        (
            "/yandex.cloud.operation.OperationService/Get",
            json!({"operation_id": "op-1"})
        )
    );
}

#[test]
fn a_star_body_is_the_rest_of_the_message_in_either_spelling() {
    let camel = json!({"folderId": "b1g", "minDiskSize": 10, "os": {"type": "LINUX"}, "labels": {"a": "1"}});
    let snake = json!({"folder_id": "b1g", "min_disk_size": "10", "os": {"type": "LINUX"}, "labels": {"a": "1"}});
    let expected = json!({"folder_id": "b1g", "labels": {"a": "1"}, "min_disk_size": "10", "os": {"type": "LINUX"}});
    assert_eq!(
        ok("POST", "/compute/v1/images", "", Some(camel)).1,
        expected
    );
    assert_eq!(
        ok("POST", "/compute/v1/images", "", Some(snake)).1,
        expected
    );
    // A PATCH body and the path binding together.
    let (_, m) = ok(
        "PATCH",
        "/compute/v1/images/fd8u",
        "",
        Some(json!({"updateMask": "description", "description": "x"})),
    );
    assert_eq!(
        m,
        json!({"image_id": "fd8u", "update_mask": "description", "description": "x"})
    );
}

#[test]
fn query_parameters_set_fields_by_either_name_typed_by_the_descriptor() {
    let (method, m) = ok(
        "GET",
        "/compute/v1/images",
        "folderId=b1g&page_size=50&filter=name%3D%22a+b%22",
        None,
    );
    assert_eq!(method, "/yandex.cloud.compute.v1.ImageService/List");
    assert_eq!(
        m,
        json!({"folder_id": "b1g", "page_size": "50", "filter": "name=\"a b\""})
    );
    // Default values vanish, as in the gRPC form.
    assert_eq!(
        ok("GET", "/compute/v1/images", "folderId=b1g&pageSize=0", None).1,
        json!({"folder_id": "b1g"})
    );
}

#[test]
fn scalars_convert_by_kind() {
    assert_eq!(scalar(&Kind::Bool, "true"), Ok(json!(true)));
    assert_eq!(scalar(&Kind::Bool, "0"), Ok(json!(false)));
    assert!(
        scalar(&Kind::Bool, "yes")
            .unwrap_err()
            .contains("not a bool")
    );
    assert_eq!(scalar(&Kind::Int32, "-7"), Ok(json!(-7)));
    assert!(scalar(&Kind::Uint32, "-7").is_err());
    assert_eq!(
        scalar(&Kind::Int64, "-9007199254740993"),
        Ok(json!("-9007199254740993"))
    );
    assert!(scalar(&Kind::Uint64, "1.5").unwrap_err().contains("`1.5`"));
    assert_eq!(scalar(&Kind::Double, "1.5"), Ok(json!(1.5)));
    assert_eq!(scalar(&Kind::Float, "NaN"), Ok(json!("NaN")));
    assert!(scalar(&Kind::Double, "x").is_err());
    assert_eq!(scalar(&Kind::String, "a b"), Ok(json!("a b")));
    let status = image().get_field_by_name("status").unwrap().kind();
    assert_eq!(scalar(&status, "READY"), Ok(json!("READY")));
    assert_eq!(
        scalar(&status, "2"),
        Ok(json!("READY")),
        "an enum by number reads as its name"
    );
    assert!(
        scalar(&status, "SHINY")
            .unwrap_err()
            .contains("Image.Status")
    );
    let created = image().get_field_by_name("created_at").unwrap().kind();
    assert_eq!(
        scalar(&created, "2024-03-11T10:02:03Z"),
        Ok(json!("2024-03-11T10:02:03Z"))
    );
    let os = image().get_field_by_name("os").unwrap().kind();
    assert!(scalar(&os, "x").unwrap_err().contains("field.subfield"));
}

#[test]
fn dotted_names_nest_and_repeated_names_collect() {
    let d = image();
    let mut m = Map::new();
    for (name, value) in [
        ("os.type", "LINUX"),
        ("productIds", "p1"),
        ("product_ids", "p2"),
        (
            "hardwareGeneration.legacyFeatures.pciTopology",
            "PCI_TOPOLOGY_V2",
        ),
        ("pooled", "true"),
    ] {
        set(&mut m, &resolve(&d, name).unwrap(), value).unwrap();
    }
    assert_eq!(
        Value::Object(m),
        json!({
            "os": {"type": "LINUX"},
            "product_ids": ["p1", "p2"],
            "hardware_generation": {"legacy_features": {"pci_topology": "PCI_TOPOLOGY_V2"}},
            "pooled": true,
        })
    );
    assert!(resolve(&d, "os.nope").is_none());
    assert!(
        resolve(&d, "productIds.x").is_none(),
        "a list is not a path"
    );
    let labels = resolve(&d, "labels").unwrap();
    assert!(
        set(&mut Map::new(), &labels, "a")
            .unwrap_err()
            .contains("map field")
    );
}

#[test]
fn refusals_say_why() {
    assert_eq!(
        err("GET", "/compute/v1/images", "folderId=b1g&colour=red", None),
        "query parameter `colour` is not a field of `yandex.cloud.compute.v1.ListImagesRequest`"
    );
    assert_eq!(
        err("GET", "/compute/v1/images", "pageSize=many", None),
        "query parameter `pageSize`: `many` is not a 64-bit integer"
    );
    assert_eq!(
        err("GET", "/compute/v1/images/fd8", "", Some(json!({"a": 1}))),
        "`/yandex.cloud.compute.v1.ImageService/Get` takes no request body"
    );
    assert!(
        err(
            "POST",
            "/compute/v1/images",
            "",
            Some(json!({"colour": "red"}))
        )
        .starts_with("the request is not a valid `yandex.cloud.compute.v1.CreateImageRequest`")
    );
    assert!(err("POST", "/compute/v1/images", "", Some(json!([1]))).contains("not a JSON object"));
    let no_rule = transcode("GET", "/nowhere", "", None).unwrap_err();
    assert_eq!(no_rule.0, None);
    assert_eq!(no_rule.1.to_string(), "no HTTP rule matches `GET /nowhere`");
    let bad = transcode("GET", "/compute/v1/images", "x=1", None).unwrap_err();
    assert_eq!(bad.0.map(|m| m.name), Some("List"));
}
