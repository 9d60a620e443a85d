//! JSON for the well-known types, as protobuf's reference mapping has it: writing ([`WriteJson`]) and
//! parsing (`serde::Deserialize`, which pbjson's generated parsers call for fields of these types).
//!
//! `Any` writes `Timestamp`, `Duration`, `FieldMask` and `Any` payloads under `"value"` and everything else,
//! `Empty` included (as protobuf's Python `json_format` does), inline.
//! `Any` looks its payload type up in [`crate::registry`]; an unknown type is an error both ways, as in the
//! reference. Nothing here decides about unknown fields or `null`: the caller's pre-pass does (see `json::parse`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::time::{format_duration, format_timestamp, parse_duration, parse_timestamp};
use super::{Any, Duration, Empty, FieldMask, Timestamp};
use crate::Error;
use crate::json::parse::{Located, Step, nest};
use crate::json::{WriteJson, Writer};
use crate::registry;

/// A well-known type inside `Any` sits under `"value"`.
fn write_as_value<M: WriteJson>(m: &M, w: &mut Writer, first: &mut bool) {
    w.raw_key(first, "value");
    m.write_json(w);
}

impl WriteJson for Timestamp {
    fn write_json(&self, w: &mut Writer) {
        w.quoted_with("google.protobuf.Timestamp", |out| {
            format_timestamp(self.seconds, self.nanos, out)
        });
    }

    fn write_any_members(&self, w: &mut Writer, first: &mut bool) {
        write_as_value(self, w, first);
    }
}

impl WriteJson for Duration {
    fn write_json(&self, w: &mut Writer) {
        w.quoted_with("google.protobuf.Duration", |out| {
            format_duration(self.seconds, self.nanos, out)
        });
    }

    fn write_any_members(&self, w: &mut Writer, first: &mut bool) {
        write_as_value(self, w, first);
    }
}

impl WriteJson for FieldMask {
    /// One string of comma-joined lowerCamel paths, in both styles.
    fn write_json(&self, w: &mut Writer) {
        let mut text = String::new();
        for (i, path) in self.paths.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            if let Err(message) = snake_to_camel(path, &mut text) {
                w.fail(Error::json("google.protobuf.FieldMask", message));
            }
        }
        w.string(&text);
    }

    fn write_any_members(&self, w: &mut Writer, first: &mut bool) {
        write_as_value(self, w, first);
    }
}

impl WriteJson for Empty {
    fn write_json(&self, w: &mut Writer) {
        w.raw("{}");
    }

    /// Nothing: in an `Any`, the reference writes `Empty` as a message without fields, `{"@type": ...}`.
    fn write_any_members(&self, _: &mut Writer, _: &mut bool) {}
}

impl WriteJson for Any {
    /// `{"@type": url, ...payload}`; the payload's fields inline, a well-known payload under `"value"`.
    fn write_json(&self, w: &mut Writer) {
        w.begin_object();
        let mut first = true;
        if !self.type_url.is_empty() || !self.value.is_empty() {
            w.raw_key(&mut first, "@type");
            w.string(&self.type_url);
            match registry::by_type_url(&self.type_url) {
                Some(ty) => {
                    if w.enter_any() {
                        ty.write_any_members(&self.value, w, &mut first);
                        w.leave_any();
                    }
                }
                None => w.fail(Error::json(
                    "google.protobuf.Any",
                    format_args!("unknown type `{}`", self.type_url),
                )),
            }
        }
        w.end_object();
    }

    fn write_any_members(&self, w: &mut Writer, first: &mut bool) {
        write_as_value(self, w, first);
    }
}

/// `min_disk_size` -> `minDiskSize`, with the reference's checks.
pub(crate) fn snake_to_camel(path: &str, out: &mut String) -> Result<(), String> {
    let mut after_underscore = false;
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            return Err(format!(
                "field mask path `{path}` must not contain uppercase letters"
            ));
        }
        if after_underscore {
            if !c.is_ascii_lowercase() {
                return Err(format!(
                    "field mask path `{path}`: the character after a `_` must be a lowercase letter"
                ));
            }
            out.push(c.to_ascii_uppercase());
            after_underscore = false;
        } else if c == '_' {
            after_underscore = true;
        } else {
            out.push(c);
        }
    }
    if after_underscore {
        return Err(format!("field mask path `{path}` ends with `_`"));
    }
    Ok(())
}

/// `minDiskSize` -> `min_disk_size`, with the reference's checks.
pub(crate) fn camel_to_snake(path: &str) -> Result<String, String> {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c == '_' {
            return Err(format!("field mask path `{path}` must not contain `_`"));
        }
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// A visitor that accepts one JSON string and converts it.
struct StrVisitor<T> {
    expecting: &'static str,
    convert: fn(&str) -> Result<T, String>,
}

impl<T> Visitor<'_> for StrVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.convert)(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "an RFC 3339 timestamp string",
            convert: |s| parse_timestamp(s).map(|(seconds, nanos)| Timestamp { seconds, nanos }),
        })
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "a duration string such as `1.5s`",
            convert: |s| parse_duration(s).map(|(seconds, nanos)| Duration { seconds, nanos }),
        })
    }
}

impl<'de> Deserialize<'de> for FieldMask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "a field mask string of comma-separated lowerCamel paths",
            convert: |s| {
                let paths = s
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(camel_to_snake)
                    .collect::<Result<_, _>>()?;
                Ok(FieldMask { paths })
            },
        })
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EmptyVisitor;
        impl<'de> Visitor<'de> for EmptyVisitor {
            type Value = Empty;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an empty object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Empty, A::Error> {
                match map.next_key::<String>()? {
                    None => Ok(Empty {}),
                    Some(key) => Err(de::Error::unknown_field(&key, &[])),
                }
            }
        }
        d.deserialize_map(EmptyVisitor)
    }
}

impl<'de> Deserialize<'de> for Any {
    /// `{"@type": url, ...}`: the object is buffered, the type looked up, the rest parsed as that type.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut object = serde_json::Map::deserialize(d)?;
        let Some(type_url) = any_type_url(&mut object)? else {
            return Ok(Any::default());
        };
        let ty = registry::by_type_url(&type_url)
            .ok_or_else(|| de::Error::custom(format_args!("unknown `Any` type `{type_url}`")))?;
        if ty.full_name() == "google.protobuf.Empty" {
            drop_empty_value(&mut object);
        }
        let value = if ty.is_any_value_form() {
            let value = any_value(object, &type_url, true)?;
            ty.parse_json_value(&value)
                .map_err(|e| payload_error(ty.full_name(), Some("value"), &e))?
        } else {
            ty.parse_json_value(&serde_json::Value::Object(object))
                .map_err(|e| payload_error(ty.full_name(), None, &e))?
        };
        Ok(Any { type_url, value })
    }
}

/// The `@type` of an `Any`'s JSON object, taken out of it; `None` for `{}`, the empty `Any`.
pub(crate) fn any_type_url<E: de::Error>(
    object: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<Option<String>, E> {
    if object.is_empty() {
        return Ok(None);
    }
    match object.shift_remove("@type") {
        Some(serde_json::Value::String(url)) => Ok(Some(url)),
        Some(_) => Err(E::custom("`@type` of an `Any` must be a string")),
        None => Err(E::custom("`Any` without `@type`")),
    }
}

/// For an `Empty` in an `Any`: the reference writes it inline (`{"@type": ...}`); other printers add
/// `"value": {}`, which is dropped.
pub(crate) fn drop_empty_value(object: &mut serde_json::Map<String, serde_json::Value>) {
    if matches!(object.get("value"), Some(serde_json::Value::Object(v)) if v.is_empty()) {
        object.shift_remove("value");
    }
}

/// The payload under `"value"` of an `Any` of `url`, whose type has a JSON form of its own; `strict` refuses any
/// other key beside `@type`.
pub(crate) fn any_value<E: de::Error>(
    mut object: serde_json::Map<String, serde_json::Value>,
    url: &str,
    strict: bool,
) -> Result<serde_json::Value, E> {
    let value = object
        .shift_remove("value")
        .ok_or_else(|| E::custom(format_args!("`{url}` without `value`")))?;
    if strict && let Some(key) = object.keys().next() {
        return Err(E::unknown_field(key, &["@type", "value"]));
    }
    Ok(value)
}

/// An `Any` payload's parse error, for the parser of the field holding the `Any`: a failure inside a payload
/// field keeps its path (so the caller's reads `response.created_at`); one at the payload's top names its type.
#[cold]
#[inline(never)]
pub(crate) fn payload_error<E: de::Error>(
    type_name: &str,
    field: Option<&str>,
    error: &serde_json::Error,
) -> E {
    let text = error.to_string();
    match field {
        Some(field) => E::custom(nest(Step::Field(field), &text)),
        None if Located::parse(&text).path.is_some() => E::custom(text),
        None => E::custom(format_args!("invalid `{type_name}` in `Any`: {text}")),
    }
}

#[cfg(test)]
mod tests;

/// serde's view of the well-known types is their reference JSON, as for the generated messages.
macro_rules! serialize_as_json {
    ($($ty:ty),*) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                crate::json::serialize(self, crate::json::Style::Camel, serializer)
            }
        }
    )*};
}

serialize_as_json!(Timestamp, Duration, FieldMask, Empty, Any);
