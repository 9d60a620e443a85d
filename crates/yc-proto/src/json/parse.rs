//! What pbjson's generated parsers lack, added around them: `null` as the default, unknown fields ignored on
//! request (both by a descriptor-driven pre-pass over a `serde_json::Value`, recursing into `Any` payloads),
//! enum numbers the schema does not know ([`OpenEnum`]) and numbers as the reference reads them ([`Number`]);
//! codegen rewrites pbjson's output to call the last two.
//!
//! The pre-pass only removes keys; it never renames or converts a value, and it runs only when the input
//! may contain `null` or unknown fields are to be ignored.

use std::fmt;
use std::marker::PhantomData;

use prost_reflect::{Kind, MessageDescriptor};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::{Map, Value};

use super::ParseOptions;
use crate::registry;

/// Whether JSON text must go through [`prepass`] before pbjson sees it.
pub(crate) fn needs_prepass(json: &str, options: ParseOptions) -> bool {
    options.ignore_unknown_fields || json.contains("null")
}

/// Whether a JSON value must go through [`prepass`] before pbjson sees it.
pub(crate) fn value_needs_prepass(value: &Value, options: ParseOptions) -> bool {
    fn has_null(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(items) => items.iter().any(has_null),
            Value::Object(map) => map.values().any(has_null),
            _ => false,
        }
    }
    options.ignore_unknown_fields || has_null(value)
}

/// Drops fields set to `null` (the reference reads them as the default) and, when asked, fields the schema
/// does not know, throughout a message of type `descriptor`.
pub(crate) fn prepass(value: &mut Value, descriptor: &MessageDescriptor, options: ParseOptions) {
    message(value, descriptor, options.ignore_unknown_fields);
}

fn message(value: &mut Value, descriptor: &MessageDescriptor, ignore_unknown: bool) {
    match descriptor.full_name() {
        "google.protobuf.Any" => any(value, ignore_unknown),
        // Written as strings; nothing inside to visit.
        "google.protobuf.Timestamp" | "google.protobuf.Duration" | "google.protobuf.FieldMask" => {}
        _ => {
            if let Value::Object(map) = value {
                fields(map, descriptor, ignore_unknown, None);
            }
        }
    }
}

/// `{"@type": url, ...}`: the payload fields inline, or a well-known payload under `value`.
fn any(value: &mut Value, ignore_unknown: bool) {
    let Value::Object(map) = value else { return };
    let Some(Value::String(url)) = map.get("@type") else {
        return;
    };
    // An unknown type is left for the parser to reject with a clear error.
    let Some(ty) = registry::by_type_url(url) else {
        return;
    };
    let descriptor = ty.descriptor();
    if ty.is_any_value_form() {
        if ignore_unknown {
            map.retain(|k, _| k == "@type" || k == "value");
        }
        if let Some(payload) = map.get_mut("value") {
            message(payload, &descriptor, ignore_unknown);
        }
    } else {
        fields(map, &descriptor, ignore_unknown, Some("@type"));
    }
}

fn fields(
    map: &mut Map<String, Value>,
    descriptor: &MessageDescriptor,
    ignore_unknown: bool,
    keep: Option<&str>,
) {
    map.retain(|key, value| {
        if keep == Some(key.as_str()) {
            return true;
        }
        let field = descriptor
            .get_field_by_json_name(key)
            .or_else(|| descriptor.get_field_by_name(key));
        let Some(field) = field else {
            return !ignore_unknown;
        };
        if value.is_null() {
            return false;
        }
        if let Kind::Message(inner) = field.kind() {
            if field.is_map() {
                if let (Kind::Message(v), Value::Object(entries)) =
                    (inner.map_entry_value_field().kind(), &mut *value)
                {
                    for entry in entries.values_mut() {
                        message(entry, &v, ignore_unknown);
                    }
                }
            } else if field.is_list() {
                if let Value::Array(items) = value {
                    for item in items {
                        message(item, &inner, ignore_unknown);
                    }
                }
            } else {
                message(value, &inner, ignore_unknown);
            }
        }
        true
    });
}

/// An enum field's value as pbjson's parsers read it, open as proto3 enums are:
/// a known name, or any number (also as a string), even one the schema does not know.
pub(crate) struct OpenEnum<E>(pub i32, PhantomData<E>);

impl<'de, E: Deserialize<'de> + Into<i32>> Deserialize<'de> for OpenEnum<E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OpenVisitor<E>(PhantomData<E>);

        impl<'de, E: Deserialize<'de> + Into<i32>> Visitor<'de> for OpenVisitor<E> {
            type Value = OpenEnum<E>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an enum value name or a 32-bit number")
            }

            fn visit_i64<Er: de::Error>(self, v: i64) -> Result<Self::Value, Er> {
                i32::try_from(v)
                    .map(|n| OpenEnum(n, PhantomData))
                    .map_err(|_| Er::invalid_value(de::Unexpected::Signed(v), &self))
            }

            fn visit_u64<Er: de::Error>(self, v: u64) -> Result<Self::Value, Er> {
                i32::try_from(v)
                    .map(|n| OpenEnum(n, PhantomData))
                    .map_err(|_| Er::invalid_value(de::Unexpected::Unsigned(v), &self))
            }

            fn visit_str<Er: de::Error>(self, v: &str) -> Result<Self::Value, Er> {
                match E::deserialize(de::value::StrDeserializer::<Er>::new(v)) {
                    Ok(e) => Ok(OpenEnum(e.into(), PhantomData)),
                    // The reference also reads a number written as a string (`"2"`).
                    Err(err) => v.parse().map(|n| OpenEnum(n, PhantomData)).map_err(|_| err),
                }
            }
        }

        d.deserialize_any(OpenVisitor(PhantomData))
    }
}

/// A numeric field's value as the reference reads it: a JSON number (for integer fields, also an integral
/// float such as `1e3`), or a string holding one (`"42"`, and `"NaN"`, `"Infinity"`, `"-Infinity"` for floats).
/// Replaces pbjson's `NumberDeserialize`, whose errors name no problem ("did not match any variant").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Number<T>(pub T);

/// The numeric types protobuf fields use, converted with range checks.
pub(crate) trait JsonNumber: Sized {
    const EXPECTING: &'static str;
    fn from_i64(v: i64) -> Option<Self>;
    fn from_u64(v: u64) -> Option<Self>;
    fn from_f64(v: f64) -> Option<Self>;
    fn from_text(v: &str) -> Option<Self>;
}

macro_rules! json_int {
    ($($ty:ty: $what:literal),*) => {$(
        impl JsonNumber for $ty {
            const EXPECTING: &'static str = concat!($what, " as a number or a string");

            fn from_i64(v: i64) -> Option<Self> {
                v.try_into().ok()
            }

            fn from_u64(v: u64) -> Option<Self> {
                v.try_into().ok()
            }

            fn from_f64(v: f64) -> Option<Self> {
                // Integral and exactly representable: `1e3` and `1000.0` are 1000, `1.5` is an error.
                if v.fract() != 0.0 || !v.is_finite() || v < <$ty>::MIN as f64 || v >= <$ty>::MAX as f64 + 1.0 {
                    return None;
                }
                Some(v as $ty)
            }

            fn from_text(v: &str) -> Option<Self> {
                v.parse().ok()
            }
        }
    )*};
}

json_int!(
    i32: "a 32-bit integer",
    i64: "a 64-bit integer",
    u32: "an unsigned 32-bit integer",
    u64: "an unsigned 64-bit integer"
);

impl JsonNumber for f64 {
    const EXPECTING: &'static str = "a double as a number or a string";

    fn from_i64(v: i64) -> Option<Self> {
        Some(v as f64)
    }

    fn from_u64(v: u64) -> Option<Self> {
        Some(v as f64)
    }

    fn from_f64(v: f64) -> Option<Self> {
        Some(v)
    }

    fn from_text(v: &str) -> Option<Self> {
        match v {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => v.parse().ok().filter(|f: &f64| f.is_finite()),
        }
    }
}

impl JsonNumber for f32 {
    const EXPECTING: &'static str = "a float as a number or a string";

    fn from_i64(v: i64) -> Option<Self> {
        Some(v as f32)
    }

    fn from_u64(v: u64) -> Option<Self> {
        Some(v as f32)
    }

    fn from_f64(v: f64) -> Option<Self> {
        // The reference rejects finite values beyond the 32-bit range rather than rounding them to infinity.
        (v.abs() <= f64::from(f32::MAX)).then_some(v as f32)
    }

    fn from_text(v: &str) -> Option<Self> {
        match v {
            "NaN" | "Infinity" | "-Infinity" => f64::from_text(v).map(|f| f as f32),
            _ => f64::from_text(v).and_then(f32::from_f64),
        }
    }
}

impl<'de, T: JsonNumber> Deserialize<'de> for Number<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NumberVisitor<T>(PhantomData<T>);

        impl<T: JsonNumber> Visitor<'_> for NumberVisitor<T> {
            type Value = Number<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::from_i64(v)
                    .map(Number)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(v), &self))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                T::from_u64(v)
                    .map(Number)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                T::from_f64(v)
                    .map(Number)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::from_text(v)
                    .map(Number)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }

        d.deserialize_any(NumberVisitor(PhantomData))
    }
}
