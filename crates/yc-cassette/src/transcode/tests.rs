//! Unit tests of `transcode`: path bindings, bodies, query parameters, and the refusals (the conversion of each
//! kind is tested beside it, in `yc_proto::http`).

use serde_json::{Value, json};

use super::*;

fn ok(verb: &str, path: &str, query: &str, body: Option<Value>) -> (String, Value) {
    let schema = yc_proto::Schema::embedded();
    let t = transcode(&schema, verb, path, query, body.as_ref()).unwrap();
    (t.method.grpc_path.clone(), t.message)
}

fn err(verb: &str, path: &str, query: &str, body: Option<Value>) -> String {
    transcode(
        &yc_proto::Schema::embedded(),
        verb,
        path,
        query,
        body.as_ref(),
    )
    .unwrap_err()
    .1
    .to_string()
}

#[test]
fn path_bindings_set_their_fields() {
    assert_eq!(
        ok("GET", "/compute/v1/images/fd8abc", "", None),
        (
            "/yandex.cloud.compute.v1.ImageService/Get".to_owned(),
            json!({"image_id": "fd8abc"})
        )
    );
    // Percent-encoded bindings are decoded; the verb is case-insensitive.
    assert_eq!(
        ok("get", "/operations/op%2D1", "", None),
        (
            "/yandex.cloud.operation.OperationService/Get".to_owned(),
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
    let schema = yc_proto::Schema::embedded();
    let no_rule = transcode(&schema, "GET", "/nowhere", "", None).unwrap_err();
    assert_eq!(no_rule.0, None);
    assert_eq!(no_rule.1.to_string(), "no HTTP rule matches `GET /nowhere`");
    let bad = transcode(&schema, "GET", "/compute/v1/images", "x=1", None).unwrap_err();
    assert_eq!(bad.0.map(|m| m.name.as_str()), Some("List"));
}
