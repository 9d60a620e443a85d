//! Unit tests of the request builder: each scalar kind, dotted and repeated names.

use prost_reflect::Kind;
use serde_json::json;

use super::*;

fn image() -> MessageDescriptor {
    crate::registry::get("yandex.cloud.compute.v1.Image")
        .unwrap()
        .descriptor()
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
