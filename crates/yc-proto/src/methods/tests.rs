use super::*;

#[test]
fn grpc_paths_resolve() {
    let get = by_grpc_path("/yandex.cloud.compute.v1.ImageService/Get").unwrap();
    assert_eq!(get.input_type, "yandex.cloud.compute.v1.GetImageRequest");
    assert_eq!(get.output_type, "yandex.cloud.compute.v1.Image");
    assert_eq!(
        get.http,
        Some(HttpRule {
            verb: "GET",
            path: "/compute/v1/images/{image_id}",
            body: ""
        })
    );
    assert!(by_grpc_path("/yandex.cloud.compute.v1.ImageService/Nope").is_none());
}

#[test]
fn operation_types_are_full_names() {
    let create = by_grpc_path("/yandex.cloud.compute.v1.ImageService/Create").unwrap();
    assert_eq!(
        create.operation,
        Some(OperationTypes {
            metadata: "yandex.cloud.compute.v1.CreateImageMetadata",
            response: "yandex.cloud.compute.v1.Image",
        })
    );
    let set = by_grpc_path("/yandex.cloud.compute.v1.ImageService/SetAccessBindings").unwrap();
    assert_eq!(
        set.operation.unwrap().metadata,
        "yandex.cloud.access.SetAccessBindingsMetadata"
    );
    let delete = by_grpc_path("/yandex.cloud.compute.v1.ImageService/Delete").unwrap();
    assert_eq!(delete.operation.unwrap().response, "google.protobuf.Empty");
}

#[test]
fn rest_paths_resolve_with_bindings() {
    let m = match_rest("GET", "/compute/v1/images/fd8abc").unwrap();
    assert_eq!(
        m.method.grpc_path,
        "/yandex.cloud.compute.v1.ImageService/Get"
    );
    assert_eq!(m.bindings, vec![("image_id", "fd8abc".to_owned())]);

    let m = match_rest("get", "/compute/v1/images/fd8abc:listAccessBindings").unwrap();
    assert_eq!(m.method.name, "ListAccessBindings");
    assert_eq!(m.bindings, vec![("resource_id", "fd8abc".to_owned())]);

    let m = match_rest("GET", "/compute/v1/images:latestByFamily").unwrap();
    assert_eq!(m.method.name, "GetLatestByFamily");

    let m = match_rest("PATCH", "/compute/v1/images/fd8%2Dx").unwrap();
    assert_eq!(m.method.name, "Update");
    assert_eq!(m.bindings, vec![("image_id", "fd8-x".to_owned())]);

    let m = match_rest("GET", "/container-registry/v1/images/crp123").unwrap();
    assert_eq!(
        m.method.grpc_path,
        "/yandex.cloud.containerregistry.v1.ImageService/Get"
    );

    let m = match_rest("GET", "/operations/abc:cancel").unwrap();
    assert_eq!(m.method.name, "Cancel");

    assert!(match_rest("POST", "/compute/v1/images/fd8abc").is_none());
    assert!(match_rest("GET", "/compute/v1/nothing").is_none());
    assert!(match_rest("GET", "/compute/v1/images/").is_none());
}

#[test]
fn every_template_parses() {
    for method in all() {
        if let Some(rule) = method.http {
            crate::http::Template::parse(rule.path).unwrap();
        }
    }
}
