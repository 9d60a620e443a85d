//! Shared test helpers: the conformance vectors, decoding through the descriptor pool, and a message
//! comparison that sees through `Any` (whose payload bytes may legally differ in map entry order).
//!
//! Nothing here decides what correct JSON is: the vectors do, as protobuf's reference runtime wrote them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, ReflectMessage, Value};
use yc_proto::json::Style;
use yc_proto::registry;

/// One conformance vector from `tests/it/vectors/`, written by `xtask/conformance/make_vectors.py`.
#[derive(Debug)]
pub struct Vector {
    pub name: String,
    pub type_name: String,
    pub binary: Vec<u8>,
    /// The reference JSON text, as the Python runtime wrote it.
    pub snake: String,
    pub camel: String,
    /// The same text with map entries sorted by key (the order btree maps give).
    pub snake_sorted: String,
    pub camel_sorted: String,
}

impl Vector {
    pub fn reference(&self, style: Style) -> &str {
        match style {
            Style::Snake => &self.snake,
            Style::Camel => &self.camel,
        }
    }

    pub fn reference_sorted(&self, style: Style) -> &str {
        match style {
            Style::Snake => &self.snake_sorted,
            Style::Camel => &self.camel_sorted,
        }
    }

    pub fn message_type(&self) -> &'static registry::MessageType {
        registry::get(&self.type_name).unwrap_or_else(|| {
            panic!(
                "vector {}: type {} is not registered",
                self.name, self.type_name
            )
        })
    }
}

pub const STYLES: [Style; 2] = [Style::Snake, Style::Camel];

pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/vectors")
}

/// Every vector, sorted by name.
pub fn vectors() -> Vec<Vector> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("tests/it/vectors exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() > 100,
        "expected the committed vectors, found {}",
        paths.len()
    );
    paths.iter().map(|path| load(path)).collect()
}

pub fn vector(name: &str) -> Vector {
    load(&vectors_dir().join(format!("{name}.json")))
}

fn load(path: &Path) -> Vector {
    let text = std::fs::read_to_string(path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let field = |key: &str| {
        value[key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no string `{key}`", path.display()))
            .to_owned()
    };
    Vector {
        name: field("name"),
        type_name: field("type"),
        binary: base64::engine::general_purpose::STANDARD
            .decode(field("binary"))
            .unwrap(),
        snake: field("snake"),
        camel: field("camel"),
        snake_sorted: field("snake_sorted"),
        camel_sorted: field("camel_sorted"),
    }
}

pub fn descriptor(type_name: &str) -> MessageDescriptor {
    registry::descriptor_pool()
        .get_message_by_name(type_name)
        .unwrap_or_else(|| panic!("{type_name} is not in the descriptor pool"))
}

pub fn decode(type_name: &str, bytes: &[u8]) -> Result<DynamicMessage, String> {
    DynamicMessage::decode(descriptor(type_name), bytes).map_err(|e| e.to_string())
}

/// `Ok` when the two messages hold the same data, else the path of the first difference.
/// `Any` payloads are compared decoded, floats by bits (so NaN equals NaN), presence where the field tracks it.
pub fn same_message(a: &DynamicMessage, b: &DynamicMessage) -> Result<(), String> {
    compare_message(a, b, a.descriptor().full_name())
}

fn compare_message(a: &DynamicMessage, b: &DynamicMessage, path: &str) -> Result<(), String> {
    let desc = a.descriptor();
    if desc.full_name() == "google.protobuf.Any" {
        return compare_any(a, b, path);
    }
    for field in desc.fields() {
        let here = format!("{path}.{}", field.name());
        if field.supports_presence() && a.has_field(&field) != b.has_field(&field) {
            return Err(format!(
                "{here}: present {} vs {}",
                a.has_field(&field),
                b.has_field(&field)
            ));
        }
        compare_value(&a.get_field(&field), &b.get_field(&field), &here)?;
    }
    Ok(())
}

fn compare_any(a: &DynamicMessage, b: &DynamicMessage, path: &str) -> Result<(), String> {
    let url = |m: &DynamicMessage| {
        m.get_field_by_name("type_url")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    let bytes = |m: &DynamicMessage| {
        m.get_field_by_name("value")
            .unwrap()
            .as_bytes()
            .unwrap()
            .clone()
    };
    let (url_a, url_b) = (url(a), url(b));
    if url_a != url_b {
        return Err(format!("{path}.type_url: `{url_a}` vs `{url_b}`"));
    }
    let (bytes_a, bytes_b) = (bytes(a), bytes(b));
    match registry::by_type_url(&url_a) {
        Some(inner) => {
            let decoded_a =
                decode(inner.full_name(), &bytes_a).map_err(|e| format!("{path}: {e}"))?;
            let decoded_b =
                decode(inner.full_name(), &bytes_b).map_err(|e| format!("{path}: {e}"))?;
            compare_message(
                &decoded_a,
                &decoded_b,
                &format!("{path}<{}>", inner.full_name()),
            )
        }
        None if bytes_a == bytes_b => Ok(()),
        None => Err(format!("{path}.value: bytes differ")),
    }
}

fn compare_value(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Message(a), Value::Message(b)) => compare_message(a, b, path),
        (Value::List(a), Value::List(b)) => {
            if a.len() != b.len() {
                return Err(format!("{path}: {} vs {} elements", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .try_for_each(|(i, (a, b))| compare_value(a, b, &format!("{path}[{i}]")))
        }
        (Value::Map(a), Value::Map(b)) => {
            if a.len() != b.len() {
                return Err(format!("{path}: {} vs {} entries", a.len(), b.len()));
            }
            for (key, value_a) in a {
                let value_b = b
                    .get(key)
                    .ok_or_else(|| format!("{path}: key {key:?} missing"))?;
                compare_value(value_a, value_b, &format!("{path}[{key:?}]"))?;
            }
            Ok(())
        }
        (Value::F64(a), Value::F64(b)) if a.to_bits() == b.to_bits() || a == b => Ok(()),
        (Value::F32(a), Value::F32(b)) if a.to_bits() == b.to_bits() || a == b => Ok(()),
        (Value::F64(a), Value::F64(b)) if a.is_nan() && b.is_nan() => Ok(()),
        (Value::F32(a), Value::F32(b)) if a.is_nan() && b.is_nan() => Ok(()),
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path}: {a:?} vs {b:?}")),
    }
}

/// Sorts the entries of every map field inside `value` (JSON of a `desc` message) by key, leaving field order alone,
/// so that output from a hash map renders deterministically.
pub fn sort_map_fields(value: &mut serde_json::Value, desc: &MessageDescriptor) {
    let serde_json::Value::Object(object) = value else {
        return;
    };
    if desc.full_name() == "google.protobuf.Any" {
        let Some(inner) = object
            .get("@type")
            .and_then(|t| t.as_str())
            .and_then(registry::by_type_url)
        else {
            return;
        };
        let inner = descriptor(inner.full_name());
        if let Some(wrapped) = object.get_mut("value") {
            sort_map_fields(wrapped, &inner);
        }
        let mut rest = serde_json::Value::Object(object.clone());
        sort_map_fields(&mut rest, &inner);
        if let serde_json::Value::Object(rest) = rest {
            *object = rest;
        }
        return;
    }
    for field in desc.fields() {
        let Kind::Message(field_desc) = field.kind() else {
            continue;
        };
        for key in [field.name(), field.json_name()] {
            let Some(child) = object.get_mut(key) else {
                continue;
            };
            if field.is_map() {
                let value_desc = match field_desc.map_entry_value_field().kind() {
                    Kind::Message(d) => Some(d),
                    _ => None,
                };
                if let serde_json::Value::Object(entries) = child {
                    entries.sort_keys();
                    if let Some(value_desc) = &value_desc {
                        entries
                            .values_mut()
                            .for_each(|v| sort_map_fields(v, value_desc));
                    }
                }
            } else if let serde_json::Value::Array(items) = child {
                items
                    .iter_mut()
                    .for_each(|v| sort_map_fields(v, &field_desc));
            } else {
                sort_map_fields(child, &field_desc);
            }
        }
    }
}

/// Renders an error with its source chain, as a user would see it.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        write!(text, ": {next}").unwrap();
        source = next.source();
    }
    text
}
