//! What pbjson's generated parsers lack, added around them: `null` as the default, unknown fields ignored on
//! request (both by a descriptor-driven pre-pass over a `serde_json::Value`, recursing into `Any` payloads),
//! enum numbers the schema does not know ([`OpenEnum`]), numbers as the reference reads them ([`Number`]),
//! and errors that say where: [`at_field`], [`List`] and [`MapField`] put the path of the failing value in front of
//! the message (`os.type`, `layers[1].size`, `labels.env`; fields by proto name, whichever spelling the input
//! used, as the reference does), rendered by [`Located`]. Codegen rewrites pbjson's output to call these.
//! The path costs nothing on success: it is built only on the way out of a failure.
//!
//! The pre-pass only removes keys; it never renames or converts a value, and it runs only when the input
//! may contain `null` or unknown fields are to be ignored.

use std::collections::BTreeMap;
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
                    Err(err) => v
                        .parse()
                        .map(|n| OpenEnum(n, PhantomData))
                        .map_err(|_| unknown_enum_value(v, err)),
                }
            }
        }

        d.deserialize_any(OpenVisitor(PhantomData))
    }
}

/// serde's ``unknown variant `X`, expected one of ...`` in protobuf's words.
#[cold]
#[inline(never)]
fn unknown_enum_value<E: de::Error>(value: &str, error: E) -> E {
    let text = error.to_string();
    let prefix = format!("unknown variant `{value}`, expected ");
    match text.strip_prefix(&prefix) {
        Some(expected) => E::custom(format_args!(
            "unknown enum value `{value}`, expected a number or {expected}"
        )),
        None => error,
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

/// A repeated field's value as pbjson's parsers read it, with the index of a failing element in the error
/// (`[1].size`); codegen rewrites pbjson's `Vec` reads to this.
pub(crate) struct List<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = List<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                // As serde's own `Vec` does: trust the hint only up to a bounded allocation.
                let limit = (1 << 20) / std::mem::size_of::<T>().max(1);
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(limit));
                loop {
                    match seq.next_element() {
                        Ok(Some(item)) => items.push(item),
                        Ok(None) => return Ok(List(items)),
                        Err(e) => return Err(at_index(items.len(), e)),
                    }
                }
            }
        }

        d.deserialize_seq(ListVisitor(PhantomData))
    }
}

/// A map field's value as pbjson's parsers read it, with the key of a failing value in the error
/// (`labels.env`); codegen rewrites pbjson's `BTreeMap` reads to this.
pub(crate) struct MapField<K, V>(pub BTreeMap<K, V>);

impl<'de, K, V> Deserialize<'de> for MapField<K, V>
where
    K: Deserialize<'de> + Ord + fmt::Display,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);

        impl<'de, K, V> Visitor<'de> for MapVisitor<K, V>
        where
            K: Deserialize<'de> + Ord + fmt::Display,
            V: Deserialize<'de>,
        {
            type Value = MapField<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MapField<K, V>, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some(key) = map.next_key::<K>()? {
                    match map.next_value() {
                        Ok(value) => {
                            entries.insert(key, value);
                        }
                        Err(e) => return Err(at_key(&key, e)),
                    }
                }
                Ok(MapField(entries))
            }
        }

        d.deserialize_map(MapVisitor(PhantomData))
    }
}

/// The error `error` of a message field's value, with the field's proto name put in front of its path.
/// Generated parsers call it (codegen wraps each `map_.next_value()`); it runs only on failure.
#[cold]
#[inline(never)]
pub(crate) fn at_field<E: de::Error>(field: &str, error: E) -> E {
    E::custom(nest(Step::Field(field), &error.to_string()))
}

#[cold]
#[inline(never)]
fn at_index<E: de::Error>(index: usize, error: E) -> E {
    E::custom(nest(Step::Index(index), &error.to_string()))
}

#[cold]
#[inline(never)]
fn at_key<E: de::Error>(key: &dyn fmt::Display, error: E) -> E {
    E::custom(nest(Step::Key(&key.to_string()), &error.to_string()))
}

/// One step from a message into the value where an error happened.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    /// A field, by proto name.
    Field(&'a str),
    /// An element of a repeated field.
    Index(usize),
    /// A map entry's value, by key.
    Key(&'a str),
}

/// An error message taken apart: where (a field path such as `os.type`), what, and the position in the text.
///
/// Errors travel through serde as text (the only thing `de::Error::custom` carries), so the path rides in
/// the message as a prefix, ``at `PATH`: ``, and the position of the innermost error as a suffix,
/// `(line N, column M)`. serde_json adds ` at line N column M` to each error without a position on the way
/// out of every value; the innermost position is kept and the later ones dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located<'a> {
    pub path: Option<&'a str>,
    pub message: &'a str,
    pub position: Option<(&'a str, &'a str)>,
}

const PATH_OPEN: &str = "at `";
const PATH_CLOSE: &str = "`: ";

impl<'a> Located<'a> {
    /// Takes apart a message built by [`Located::render`], serde_json's or anyone else's.
    pub(crate) fn parse(text: &'a str) -> Located<'a> {
        let (text, trailing) = split_serde_json_position(text);
        let (path, message) = match text.strip_prefix(PATH_OPEN) {
            Some(rest) => match rest.split_once(PATH_CLOSE) {
                Some((path, message)) => (Some(path), message),
                None => (None, text),
            },
            None => (None, text),
        };
        let (message, embedded) = split_own_position(message);
        Located {
            path,
            message,
            position: embedded.or(trailing),
        }
    }

    /// ``at `PATH`: MESSAGE (line N, column M)``, each part only when known.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if let Some(path) = self.path {
            out.push_str(PATH_OPEN);
            out.push_str(path);
            out.push_str(PATH_CLOSE);
        }
        out.push_str(self.message);
        self.push_position(&mut out);
        out
    }

    /// ` (line N, column M)` when the position is known.
    pub(crate) fn push_position(&self, out: &mut String) {
        if let Some((line, column)) = self.position {
            out.push_str(" (line ");
            out.push_str(line);
            out.push_str(", column ");
            out.push_str(column);
            out.push(')');
        }
    }
}

/// `inner` with `step` put in front of its path.
pub(crate) fn nest(step: Step<'_>, inner: &str) -> String {
    let located = Located::parse(inner);
    let mut path = String::new();
    match step {
        Step::Field(name) => path.push_str(name),
        Step::Index(i) => {
            path.push('[');
            path.push_str(&i.to_string());
            path.push(']');
        }
        Step::Key(key) if is_plain_key(key) => {
            path.push('.');
            path.push_str(key);
        }
        Step::Key(key) => {
            // Quoted as a JSON string; a backtick would end the path early, so it is escaped too.
            path.push('[');
            path.push_str(
                &serde_json::Value::from(key)
                    .to_string()
                    .replace('`', "\\u0060"),
            );
            path.push(']');
        }
    }
    if let Some(inner_path) = located.path {
        if !inner_path.starts_with(['[', '.']) {
            path.push('.');
        }
        path.push_str(inner_path);
    }
    Located {
        path: Some(&path),
        ..located
    }
    .render()
}

/// A map key that reads unambiguously after a `.`.
fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `(message, Some((line, column)))` for serde_json's ` at line N column M` suffix.
fn split_serde_json_position(text: &str) -> (&str, Option<(&str, &str)>) {
    let Some((rest, column)) = text.rsplit_once(" column ") else {
        return (text, None);
    };
    let Some((message, line)) = rest.rsplit_once(" at line ") else {
        return (text, None);
    };
    if is_number(line) && is_number(column) {
        (message, Some((line, column)))
    } else {
        (text, None)
    }
}

/// `(message, Some((line, column)))` for our own ` (line N, column M)` suffix.
fn split_own_position(text: &str) -> (&str, Option<(&str, &str)>) {
    let Some(rest) = text.strip_suffix(')') else {
        return (text, None);
    };
    let Some((rest, column)) = rest.rsplit_once(", column ") else {
        return (text, None);
    };
    let Some((message, line)) = rest.rsplit_once(" (line ") else {
        return (text, None);
    };
    if is_number(line) && is_number(column) {
        (message, Some((line, column)))
    } else {
        (text, None)
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
