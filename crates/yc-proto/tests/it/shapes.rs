//! Snapshots of the documented shapes in both styles, pretty-printed: what a reader of a cassette or a REST
//! response sees. Map entries are sorted before rendering so the snapshots stay stable for any map type;
//! field order is ours (the exact-text conformance test pins it to field-number order).

use yc_proto::json::Style;

use crate::support::{STYLES, descriptor, sort_map_fields, vector};

fn render(name: &str, style: Style) -> String {
    let v = vector(name);
    let mut value = v.message_type().to_json_value(&v.binary, style).unwrap();
    sort_map_fields(&mut value, &descriptor(&v.type_name));
    serde_json::to_string_pretty(&value).unwrap()
}

macro_rules! shape {
    ($($test:ident => $vector:literal,)*) => {$(
        #[test]
        fn $test() {
            for style in STYLES {
                let suffix = match style {
                    Style::Snake => "snake",
                    Style::Camel => "camel",
                };
                insta::assert_snapshot!(format!("{}_{suffix}", stringify!($test)), render($vector, style));
            }
        }
    )*};
}

shape! {
    compute_image => "compute_image_grpc_reference",
    containerregistry_image => "containerregistry_image_rest_reference",
    operation_create_image => "operation_create_image_done",
    operation_error => "operation_error_with_details",
    operation_pending => "operation_pending",
    operation_delete => "operation_delete_empty_response",
    update_image_request => "update_image_request_with_mask",
    create_image_request_disk => "create_image_request_disk_id",
    list_images_response => "list_images_response",
    image_unknown_status => "image_status_unknown_number",
}
