//! The same JSON mapping for message types known only from descriptors: a user's own `.proto` files, a
//! descriptor set, a service this crate has no generated code for.
//!
//! Output is the generated writer's text, byte for byte, in both styles, written into the same [`Writer`], so
//! escaping, number formatting and the well-known types' forms are shared, not copied (`Timestamp`, `Duration`,
//! `FieldMask` and `Empty` are written by their `wkt` impls). The bytes are read straight from the wire when they
//! are in the form encoders produce (`wire`), else decoded into a `prost_reflect::DynamicMessage` and walked in
//! field-number order. Fields the descriptor does not know are dropped, as the generated path drops them.
//! Input is a descriptor-driven `serde` walk, so text and `serde_json::Value` take one path: it reads what the
//! generated parsers read (both spellings, numbers as strings, `null` as the default, unknown fields only when
//! asked to ignore them) with the same number, enum, bytes and well-known-type readers, and errors that put the
//! field path in front of the message the same way (`os.type`, `layers[1].size`, `labels.env`).
//! `Any` resolves its payload type in the descriptor's own pool ([`MessageDescriptor::parent_pool`]), so a
//! user-supplied type inside an `Any` works; the well-known types the generated path lacks (the wrappers,
//! `Struct`, `Value`, `ListValue`) follow the reference mapping.
//!
//! This module does no IO, keeps no state and knows no message type by name beyond `google.protobuf`.

use std::fmt;

use prost::Message as _;
use prost::bytes::Bytes;
use prost_reflect::{
    DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage as _, Value,
};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::parse::{Number, Step, at_field, nest};
use super::{MapKey as _, ParseOptions, Style, Writer};
use crate::Error;
use crate::wkt::{self, json::payload_error};

/// Binary to JSON text in `style`, for a message of type `desc`.
pub fn to_json(desc: &MessageDescriptor, bytes: &[u8], style: Style) -> Result<String, Error> {
    // As the generated path sizes it: JSON is rarely more than twice the binary size.
    let capacity = bytes.len() * 2 + 64;
    let mut w = Writer::with_capacity(style, capacity);
    if wire::message(&mut w, desc, bytes, 0).is_ok() {
        return w.finish();
    }
    // Bytes the fast path does not take (see `wire`) are decoded in full, then written; same text either way.
    let message = DynamicMessage::decode(desc.clone(), bytes)
        .map_err(|e| Error::decode(desc.full_name(), e))?;
    let mut w = Writer::with_capacity(style, capacity);
    write_message(&mut w, &message);
    w.finish()
}

/// JSON text in either style to binary, for a message of type `desc`.
pub fn from_json(
    desc: &MessageDescriptor,
    json: &str,
    options: ParseOptions,
) -> Result<Vec<u8>, Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let message = MessageSeed { desc, options }
        .deserialize(&mut de)
        .and_then(|message| de.end().map(|()| message))
        .map_err(|e| Error::json_parse(desc.full_name(), &e))?;
    Ok(message.encode_to_vec())
}

/// A JSON value in either style to binary, for a message of type `desc`.
pub fn from_json_value(
    desc: &MessageDescriptor,
    value: &serde_json::Value,
    options: ParseOptions,
) -> Result<Vec<u8>, Error> {
    let message = MessageSeed { desc, options }
        .deserialize(value)
        .map_err(|e| Error::json_parse(desc.full_name(), &e))?;
    Ok(message.encode_to_vec())
}

/// The `google.protobuf` types with a JSON form of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WellKnown {
    Any,
    Timestamp,
    Duration,
    FieldMask,
    Empty,
    Struct,
    Value,
    ListValue,
    /// `Int64Value` and its kin: the JSON of their one field, `value`.
    Wrapper,
}

fn well_known(desc: &MessageDescriptor) -> Option<WellKnown> {
    let name = desc.full_name().strip_prefix("google.protobuf.")?;
    Some(match name {
        "Any" => WellKnown::Any,
        "Timestamp" => WellKnown::Timestamp,
        "Duration" => WellKnown::Duration,
        "FieldMask" => WellKnown::FieldMask,
        "Empty" => WellKnown::Empty,
        "Struct" => WellKnown::Struct,
        "Value" => WellKnown::Value,
        "ListValue" => WellKnown::ListValue,
        "DoubleValue" | "FloatValue" | "Int64Value" | "UInt64Value" | "Int32Value"
        | "UInt32Value" | "BoolValue" | "StringValue" | "BytesValue" => WellKnown::Wrapper,
        _ => return None,
    })
}

/// Whether an `Any` holds the type under `"value"` rather than inline: every well-known type with a JSON form of
/// its own, but not `Empty`, which the reference writes inline as `{"@type": ...}` (as `registry` decides for the
/// generated path).
fn is_any_value_form(desc: &MessageDescriptor) -> bool {
    well_known(desc).is_some_and(|k| k != WellKnown::Empty)
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

fn write_message(w: &mut Writer, message: &DynamicMessage) {
    let desc = message.descriptor();
    match well_known(&desc) {
        None => {
            w.begin_object();
            let mut first = true;
            write_members(w, message, &mut first);
            w.end_object();
        }
        Some(WellKnown::Timestamp) => {
            let (seconds, nanos) = seconds_nanos(message);
            w.message(&wkt::Timestamp { seconds, nanos });
        }
        Some(WellKnown::Duration) => {
            let (seconds, nanos) = seconds_nanos(message);
            w.message(&wkt::Duration { seconds, nanos });
        }
        Some(WellKnown::FieldMask) => {
            let paths = match message.get_field_by_number(1).as_deref() {
                Some(Value::List(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            w.message(&wkt::FieldMask { paths });
        }
        Some(WellKnown::Empty) => w.message(&wkt::Empty {}),
        Some(WellKnown::Any) => write_any(w, message),
        Some(WellKnown::Struct) => write_struct(w, message),
        Some(WellKnown::Value) => write_struct_value(w, message),
        Some(WellKnown::ListValue) => write_list_value(w, message),
        Some(WellKnown::Wrapper) => match desc.get_field(1) {
            Some(field) => write_value(w, &field.kind(), &message.get_field(&field)),
            None => w.raw("null"),
        },
    }
}

/// The set fields of an ordinary message, in field-number order, as object members.
fn write_members(w: &mut Writer, message: &DynamicMessage, first: &mut bool) {
    let style = w.style();
    for (field, value) in message.fields() {
        let name = match style {
            Style::Snake => field.name(),
            Style::Camel => field.json_name(),
        };
        // A descriptor's json_name may be anything, so it is escaped; an identifier comes out as `field` writes it.
        w.raw_key(first, name);
        write_field(w, &field, value);
    }
}

fn write_field(w: &mut Writer, field: &FieldDescriptor, value: &Value) {
    match value {
        Value::List(items) => {
            let kind = field.kind();
            w.list(items, |w, v| write_value(w, &kind, v));
        }
        Value::Map(entries) => {
            let value_kind = match field.kind() {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other,
            };
            // Keys sorted as the generated `BTreeMap`s sort them.
            let mut sorted: Vec<(&MapKey, &Value)> = entries.iter().collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            w.begin_object();
            let mut first = true;
            for (key, v) in sorted {
                w.comma(&mut first);
                write_map_key(w, key);
                w.raw(":");
                write_value(w, &value_kind, v);
            }
            w.end_object();
        }
        single => write_value(w, &field.kind(), single),
    }
}

fn write_map_key(w: &mut Writer, key: &MapKey) {
    match key {
        MapKey::Bool(v) => v.write_key(w),
        MapKey::I32(v) => v.write_key(w),
        MapKey::I64(v) => v.write_key(w),
        MapKey::U32(v) => v.write_key(w),
        MapKey::U64(v) => v.write_key(w),
        MapKey::String(v) => v.write_key(w),
    }
}

/// One value of a singular field, a list element or a map value.
fn write_value(w: &mut Writer, kind: &Kind, value: &Value) {
    match value {
        Value::Bool(v) => w.bool(*v),
        Value::I32(v) => w.int(*v),
        Value::U32(v) => w.int(*v),
        Value::I64(v) => w.quoted_int(*v),
        Value::U64(v) => w.quoted_int(*v),
        Value::F32(v) => w.f32(*v),
        Value::F64(v) => w.f64(*v),
        Value::String(v) => w.string(v),
        Value::Bytes(v) => w.bytes(v),
        Value::EnumNumber(number) => match kind {
            Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => w.raw("null"),
            Kind::Enum(e) => w.enum_value(e.get_value(*number).as_ref().map(|v| v.name()), *number),
            _ => w.int(*number),
        },
        Value::Message(m) => write_message(w, m),
        // A list or map nested in a list cannot be expressed in protobuf; written as JSON would have them.
        Value::List(items) => w.list(items, |w, v| write_value(w, kind, v)),
        Value::Map(_) => w.raw("{}"),
    }
}

fn seconds_nanos(message: &DynamicMessage) -> (i64, i32) {
    let seconds = message
        .get_field_by_number(1)
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    let nanos = message
        .get_field_by_number(2)
        .and_then(|v| v.as_i32())
        .unwrap_or(0);
    (seconds, nanos)
}

/// `{"@type": url, ...payload}`, as `wkt::Any` writes it, with the payload type from the message's own pool.
fn write_any(w: &mut Writer, any: &DynamicMessage) {
    let url = any.get_field_by_number(1);
    let url = url.as_deref().and_then(Value::as_str).unwrap_or("");
    let payload = any.get_field_by_number(2);
    let payload = payload
        .as_deref()
        .and_then(Value::as_bytes)
        .map_or(&[][..], |b| &b[..]);
    w.begin_object();
    let mut first = true;
    if !url.is_empty() || !payload.is_empty() {
        w.raw_key(&mut first, "@type");
        w.string(url);
        let name = url.rsplit_once('/').map_or(url, |(_, name)| name);
        match any.descriptor().parent_pool().get_message_by_name(name) {
            Some(desc) => {
                if w.enter_any() {
                    match DynamicMessage::decode(desc.clone(), payload) {
                        Ok(inner) if is_any_value_form(&desc) => {
                            w.raw_key(&mut first, "value");
                            write_message(w, &inner);
                        }
                        Ok(inner) => write_members(w, &inner, &mut first),
                        Err(e) => w.fail(Error::decode(desc.full_name(), e)),
                    }
                    w.leave_any();
                }
            }
            None => w.fail(Error::json(
                "google.protobuf.Any",
                format_args!("unknown type `{url}`"),
            )),
        }
    }
    w.end_object();
}

/// `Struct`: its `fields` map as a JSON object, keys sorted.
fn write_struct(w: &mut Writer, message: &DynamicMessage) {
    match message.get_field_by_number(1).as_deref() {
        Some(Value::Map(entries)) if !entries.is_empty() => {
            let mut sorted: Vec<(&MapKey, &Value)> = entries.iter().collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            w.begin_object();
            let mut first = true;
            for (key, value) in sorted {
                w.comma(&mut first);
                write_map_key(w, key);
                w.raw(":");
                match value {
                    Value::Message(v) => write_struct_value(w, v),
                    _ => w.raw("null"),
                }
            }
            w.end_object();
        }
        _ => w.raw("{}"),
    }
}

/// `Value`: whichever JSON value its `kind` holds; unset is `null`, as the reference writes it.
fn write_struct_value(w: &mut Writer, message: &DynamicMessage) {
    let Some((field, value)) = message.fields().next() else {
        w.raw("null");
        return;
    };
    match value {
        Value::F64(v) if !v.is_finite() => {
            // The reference refuses: it would read back as a string.
            w.fail(Error::json(
                "google.protobuf.Value",
                format_args!("`number_value` {v} has no JSON number form"),
            ));
            w.raw("null");
        }
        Value::Message(m) if field.number() == 5 => write_struct(w, m),
        Value::Message(m) if field.number() == 6 => write_list_value(w, m),
        other => write_value(w, &field.kind(), other),
    }
}

/// `ListValue`: its `values` as a JSON array.
fn write_list_value(w: &mut Writer, message: &DynamicMessage) {
    match message.get_field_by_number(1).as_deref() {
        Some(Value::List(items)) => w.list(items, |w, item| match item {
            Value::Message(v) => write_struct_value(w, v),
            _ => w.raw("null"),
        }),
        _ => w.raw("[]"),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

/// A message of type `desc`, from a JSON object (or a well-known type's own form).
#[derive(Clone, Copy)]
struct MessageSeed<'a> {
    desc: &'a MessageDescriptor,
    options: ParseOptions,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = DynamicMessage;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<DynamicMessage, D::Error> {
        let desc = self.desc;
        let Some(kind) = well_known(desc) else {
            // `deserialize_struct`, as pbjson calls it, so that a wrong JSON type fails at the same position.
            return d.deserialize_struct("", &[], MessageVisitor(self));
        };
        let mut message = DynamicMessage::new(desc.clone());
        match kind {
            WellKnown::Timestamp => {
                let t = wkt::Timestamp::deserialize(d)?;
                set_seconds_nanos(&mut message, t.seconds, t.nanos)?;
            }
            WellKnown::Duration => {
                let t = wkt::Duration::deserialize(d)?;
                set_seconds_nanos(&mut message, t.seconds, t.nanos)?;
            }
            WellKnown::FieldMask => {
                let mask = wkt::FieldMask::deserialize(d)?;
                let paths = mask.paths.into_iter().map(Value::String).collect();
                set(&mut message, 1, Value::List(paths))?;
            }
            WellKnown::Empty => {
                wkt::Empty::deserialize(d)?;
            }
            WellKnown::Any => return AnySeed(self).deserialize(d),
            WellKnown::Struct => return d.deserialize_map(StructVisitor(desc)),
            WellKnown::Value => return d.deserialize_any(StructValueVisitor(desc)),
            WellKnown::ListValue => return d.deserialize_seq(ListValueVisitor(desc)),
            WellKnown::Wrapper => {
                let field = field_by_number::<D::Error>(desc, 1)?;
                let value = SingleSeed {
                    kind: field.kind(),
                    options: self.options,
                }
                .deserialize(d)?;
                try_set(&mut message, &field, value)?;
            }
        }
        Ok(message)
    }
}

struct MessageVisitor<'a>(MessageSeed<'a>);

impl<'de> Visitor<'de> for MessageVisitor<'_> {
    type Value = DynamicMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", self.0.desc.full_name())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DynamicMessage, A::Error> {
        let MessageSeed { desc, options } = self.0;
        let mut message = DynamicMessage::new(desc.clone());
        // Field numbers given a value so far: a key twice (even in both spellings) is an error, as is a second
        // member of one oneof. `null` gives no value, as pbjson sees it after the pre-pass removed it.
        let mut seen: Vec<u32> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed { desc, options })? {
            let Some(field) = key else {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            };
            let clash = seen.contains(&field.number())
                || field.containing_oneof().is_some_and(|oneof| {
                    oneof.fields().any(|other| {
                        other.number() != field.number() && seen.contains(&other.number())
                    })
                });
            if clash {
                return Err(de::Error::custom(format_args!(
                    "duplicate field `{}`",
                    field.json_name()
                )));
            }
            let value = map
                .next_value_seed(FieldSeed {
                    field: &field,
                    options,
                })
                .map_err(|e| at_field(field.name(), e))?;
            if let Some(value) = value {
                seen.push(field.number());
                try_set(&mut message, &field, value)?;
            }
        }
        Ok(message)
    }
}

/// A key of a message object: the field it names by either spelling, `None` for an unknown key to skip, or the
/// error pbjson gives for an unknown key.
struct KeySeed<'a> {
    desc: &'a MessageDescriptor,
    options: ParseOptions,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<FieldDescriptor>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Option<FieldDescriptor>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a field name of {}", self.desc.full_name())
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        let field = self
            .desc
            .get_field_by_json_name(key)
            .or_else(|| self.desc.get_field_by_name(key));
        match field {
            Some(field) => Ok(Some(field)),
            None if self.options.ignore_unknown_fields => Ok(None),
            None => Err(unknown_field(key, self.desc)),
        }
    }
}

/// serde's ``unknown field `x`, expected one of ...``, over the names pbjson lists: each field's proto name, then
/// its JSON name when that differs.
#[cold]
#[inline(never)]
fn unknown_field<E: de::Error>(key: &str, desc: &MessageDescriptor) -> E {
    // pbjson's order: fields outside a oneof as declared, then each oneof's members as declared.
    let declared = &desc.descriptor_proto().field;
    let in_oneof = |f: &prost_reflect::prost_types::FieldDescriptorProto| {
        f.oneof_index.is_some() && !f.proto3_optional()
    };
    let mut names = Vec::new();
    let plain = declared.iter().filter(|f| !in_oneof(f));
    let oneofs = (0..desc.descriptor_proto().oneof_decl.len()).flat_map(|i| {
        declared
            .iter()
            .filter(move |f| in_oneof(f) && f.oneof_index == Some(i as i32))
    });
    for field in plain.chain(oneofs) {
        let Some(field) = desc.get_field(field.number() as u32) else {
            continue;
        };
        names.push(field.name().to_owned());
        if field.json_name() != field.name() {
            names.push(field.json_name().to_owned());
        }
    }
    if names.is_empty() {
        E::custom(format_args!("unknown field `{key}`, there are no fields"))
    } else {
        E::custom(format_args!(
            "unknown field `{key}`, expected {}",
            OneOf(&names)
        ))
    }
}

/// serde's way of listing what was expected: `` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``.
struct OneOf<'a, S>(&'a [S]);

impl<S: AsRef<str>> fmt::Display for OneOf<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => Ok(()),
            [one] => write!(f, "`{}`", one.as_ref()),
            [a, b] => write!(f, "`{}` or `{}`", a.as_ref(), b.as_ref()),
            many => {
                f.write_str("one of ")?;
                for (i, name) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{}`", name.as_ref())?;
                }
                Ok(())
            }
        }
    }
}

/// A field's value; `None` for `null`, which leaves the field at its default (but is a `NULL_VALUE` for a
/// `google.protobuf.Value` field, as the reference reads it).
struct FieldSeed<'a> {
    field: &'a FieldDescriptor,
    options: ParseOptions,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of field {}", self.field.name())
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<Value>, E> {
        match self.field.kind() {
            Kind::Message(m)
                if !self.field.is_list()
                    && !self.field.is_map()
                    && well_known(&m) == Some(WellKnown::Value) =>
            {
                let mut value = DynamicMessage::new(m.clone());
                set(&mut value, 1, Value::EnumNumber(0))?;
                Ok(Some(Value::Message(value)))
            }
            _ => Ok(None),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Value>, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        let field = self.field;
        let options = self.options;
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return Err(de::Error::custom("a map field without an entry type"));
            };
            d.deserialize_map(MapVisitor {
                key: entry.map_entry_key_field().kind(),
                value: entry.map_entry_value_field().kind(),
                options,
            })
            .map(Some)
        } else if field.is_list() {
            d.deserialize_seq(ListVisitor {
                kind: field.kind(),
                options,
            })
            .map(Some)
        } else {
            SingleSeed {
                kind: field.kind(),
                options,
            }
            .deserialize(d)
            .map(Some)
        }
    }
}

/// One value of a kind: a singular field, a list element or a map value.
struct SingleSeed {
    kind: Kind,
    options: ParseOptions,
}

impl<'de> DeserializeSeed<'de> for SingleSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Ok(match self.kind {
            Kind::Double => Value::F64(Number::<f64>::deserialize(d)?.0),
            Kind::Float => Value::F32(Number::<f32>::deserialize(d)?.0),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                Value::I32(Number::<i32>::deserialize(d)?.0)
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                Value::I64(Number::<i64>::deserialize(d)?.0)
            }
            Kind::Uint32 | Kind::Fixed32 => Value::U32(Number::<u32>::deserialize(d)?.0),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(Number::<u64>::deserialize(d)?.0),
            Kind::Bool => Value::Bool(bool::deserialize(d)?),
            Kind::String => Value::String(String::deserialize(d)?),
            Kind::Bytes => Value::Bytes(Bytes::from(
                pbjson::private::BytesDeserialize::<Vec<u8>>::deserialize(d)?.0,
            )),
            Kind::Enum(e) => Value::EnumNumber(d.deserialize_any(EnumVisitor(&e))?),
            Kind::Message(m) => Value::Message(
                MessageSeed {
                    desc: &m,
                    options: self.options,
                }
                .deserialize(d)?,
            ),
        })
    }
}

/// An enum value as the generated parsers read it (`OpenEnum`): a known name, or any 32-bit number, also as a
/// string.
struct EnumVisitor<'a>(&'a EnumDescriptor);

impl EnumVisitor<'_> {
    fn is_null_value(&self) -> bool {
        self.0.full_name() == "google.protobuf.NullValue"
    }
}

impl Visitor<'_> for EnumVisitor<'_> {
    type Value = i32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an enum value name or a 32-bit number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
        if let Some(value) = self.0.get_value_by_name(v) {
            return Ok(value.number());
        }
        v.parse().map_err(|_| {
            let names: Vec<String> = self.0.values().map(|v| v.name().to_owned()).collect();
            E::custom(format_args!(
                "unknown enum value `{v}`, expected a number or {}",
                OneOf(&names)
            ))
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<i32, E> {
        if self.is_null_value() {
            Ok(0)
        } else {
            Err(E::invalid_type(de::Unexpected::Unit, &self))
        }
    }
}

/// A repeated field: every element of its kind; a failing element's index goes into the path (`[1].size`).
struct ListVisitor {
    kind: Kind,
    options: ParseOptions,
}

impl<'de> Visitor<'de> for ListVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            let seed = SingleSeed {
                kind: self.kind.clone(),
                options: self.options,
            };
            match seq.next_element_seed(seed) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => return Ok(Value::List(items)),
                Err(e) => {
                    return Err(de::Error::custom(nest(
                        Step::Index(items.len()),
                        &e.to_string(),
                    )));
                }
            }
        }
    }
}

/// A map field: keys from their JSON strings, values of the value kind; a failing value's key goes into the
/// path (`labels.env`).
struct MapVisitor {
    key: Kind,
    value: Kind,
    options: ParseOptions,
}

impl<'de> Visitor<'de> for MapVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = std::collections::HashMap::new();
        while let Some(text) = map.next_key::<String>()? {
            let key = map_key::<A::Error>(&self.key, &text)?;
            let seed = SingleSeed {
                kind: self.value.clone(),
                options: self.options,
            };
            match map.next_value_seed(seed) {
                Ok(value) => {
                    entries.insert(key, value);
                }
                Err(e) => {
                    return Err(de::Error::custom(nest(Step::Key(&text), &e.to_string())));
                }
            }
        }
        Ok(Value::Map(entries))
    }
}

/// A map key from its JSON string, read as the generated parsers read keys of its type.
fn map_key<E: de::Error>(kind: &Kind, text: &str) -> Result<MapKey, E> {
    let number = de::value::StrDeserializer::<E>::new(text);
    Ok(match kind {
        Kind::String => MapKey::String(text.to_owned()),
        Kind::Bool => match text {
            "true" => MapKey::Bool(true),
            "false" => MapKey::Bool(false),
            _ => {
                return Err(E::invalid_value(
                    de::Unexpected::Str(text),
                    &"`true` or `false`",
                ));
            }
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            MapKey::I32(Number::<i32>::deserialize(number)?.0)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            MapKey::I64(Number::<i64>::deserialize(number)?.0)
        }
        Kind::Uint32 | Kind::Fixed32 => MapKey::U32(Number::<u32>::deserialize(number)?.0),
        Kind::Uint64 | Kind::Fixed64 => MapKey::U64(Number::<u64>::deserialize(number)?.0),
        other => {
            return Err(E::custom(format_args!("{other:?} cannot be a map key")));
        }
    })
}

/// `{"@type": url, ...}`, read as `wkt::Any` reads it, with the payload type from the descriptor's own pool.
struct AnySeed<'a>(MessageSeed<'a>);

impl<'de> DeserializeSeed<'de> for AnySeed<'_> {
    type Value = DynamicMessage;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<DynamicMessage, D::Error> {
        let MessageSeed { desc, options } = self.0;
        let mut any = DynamicMessage::new(desc.clone());
        let mut object = serde_json::Map::deserialize(d)?;
        if object.is_empty() {
            return Ok(any);
        }
        let url = match object.shift_remove("@type") {
            Some(serde_json::Value::String(url)) => url,
            Some(_) => return Err(de::Error::custom("`@type` of an `Any` must be a string")),
            None => return Err(de::Error::custom("`Any` without `@type`")),
        };
        let name = url.rsplit_once('/').map_or(url.as_str(), |(_, name)| name);
        let inner = desc
            .parent_pool()
            .get_message_by_name(name)
            .ok_or_else(|| de::Error::custom(format_args!("unknown `Any` type `{url}`")))?;
        if well_known(&inner) == Some(WellKnown::Empty)
            && matches!(object.get("value"), Some(serde_json::Value::Object(v)) if v.is_empty())
        {
            // The reference writes `Empty` inline (`{"@type": ...}`); other printers add `"value": {}`.
            object.shift_remove("value");
        }
        let seed = MessageSeed {
            desc: &inner,
            options,
        };
        let payload = if is_any_value_form(&inner) {
            let value = object
                .shift_remove("value")
                .ok_or_else(|| de::Error::custom(format_args!("`{url}` without `value`")))?;
            if !options.ignore_unknown_fields
                && let Some(key) = object.keys().next()
            {
                return Err(de::Error::unknown_field(key, &["@type", "value"]));
            }
            seed.deserialize(value)
                .map_err(|e| payload_error(inner.full_name(), Some("value"), &e))?
        } else {
            seed.deserialize(serde_json::Value::Object(object))
                .map_err(|e| payload_error(inner.full_name(), None, &e))?
        };
        set(&mut any, 1, Value::String(url))?;
        set(&mut any, 2, Value::Bytes(payload.encode_to_vec().into()))?;
        Ok(any)
    }
}

/// `Struct`: a JSON object of `Value`s.
struct StructVisitor<'a>(&'a MessageDescriptor);

impl<'de> Visitor<'de> for StructVisitor<'_> {
    type Value = DynamicMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DynamicMessage, A::Error> {
        let field = field_by_number::<A::Error>(self.0, 1)?;
        let value_desc = match field.kind() {
            Kind::Message(entry) => match entry.map_entry_value_field().kind() {
                Kind::Message(value) => value,
                _ => return Err(de::Error::custom("`Struct` values are not messages")),
            },
            _ => return Err(de::Error::custom("`Struct.fields` is not a map")),
        };
        let mut entries = std::collections::HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map
                .next_value_seed(StructValueSeed(&value_desc))
                .map_err(|e| de::Error::custom(nest(Step::Key(&key), &e.to_string())))?;
            entries.insert(MapKey::String(key), Value::Message(value));
        }
        let mut message = DynamicMessage::new(self.0.clone());
        try_set(&mut message, &field, Value::Map(entries))?;
        Ok(message)
    }
}

struct StructValueSeed<'a>(&'a MessageDescriptor);

impl<'de> DeserializeSeed<'de> for StructValueSeed<'_> {
    type Value = DynamicMessage;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<DynamicMessage, D::Error> {
        d.deserialize_any(StructValueVisitor(self.0))
    }
}

/// `Value`: any JSON value, into the member of its `kind` oneof that holds that JSON type.
struct StructValueVisitor<'a>(&'a MessageDescriptor);

impl StructValueVisitor<'_> {
    fn with<E: de::Error>(&self, number: u32, value: Value) -> Result<DynamicMessage, E> {
        let mut message = DynamicMessage::new(self.0.clone());
        set(&mut message, number, value)?;
        Ok(message)
    }

    fn nested<E: de::Error>(&self, number: u32) -> Result<MessageDescriptor, E> {
        match field_by_number::<E>(self.0, number)?.kind() {
            Kind::Message(m) => Ok(m),
            _ => Err(E::custom("`Value` member is not a message")),
        }
    }
}

impl<'de> Visitor<'de> for StructValueVisitor<'_> {
    type Value = DynamicMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<DynamicMessage, E> {
        self.with(1, Value::EnumNumber(0))
    }

    fn visit_none<E: de::Error>(self) -> Result<DynamicMessage, E> {
        self.visit_unit()
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<DynamicMessage, E> {
        self.with(2, Value::F64(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<DynamicMessage, E> {
        self.visit_f64(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<DynamicMessage, E> {
        self.visit_f64(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DynamicMessage, E> {
        self.with(3, Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<DynamicMessage, E> {
        self.with(3, Value::String(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<DynamicMessage, E> {
        self.with(4, Value::Bool(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DynamicMessage, A::Error> {
        let inner = self.nested::<A::Error>(5)?;
        let value = StructVisitor(&inner).visit_map(map)?;
        self.with(5, Value::Message(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<DynamicMessage, A::Error> {
        let inner = self.nested::<A::Error>(6)?;
        let value = ListValueVisitor(&inner).visit_seq(seq)?;
        self.with(6, Value::Message(value))
    }
}

/// `ListValue`: a JSON array of `Value`s.
struct ListValueVisitor<'a>(&'a MessageDescriptor);

impl<'de> Visitor<'de> for ListValueVisitor<'_> {
    type Value = DynamicMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DynamicMessage, A::Error> {
        let field = field_by_number::<A::Error>(self.0, 1)?;
        let Kind::Message(value_desc) = field.kind() else {
            return Err(de::Error::custom("`ListValue.values` is not a message"));
        };
        let mut items = Vec::new();
        loop {
            match seq.next_element_seed(StructValueSeed(&value_desc)) {
                Ok(Some(item)) => items.push(Value::Message(item)),
                Ok(None) => break,
                Err(e) => {
                    return Err(de::Error::custom(nest(
                        Step::Index(items.len()),
                        &e.to_string(),
                    )));
                }
            }
        }
        let mut message = DynamicMessage::new(self.0.clone());
        try_set(&mut message, &field, Value::List(items))?;
        Ok(message)
    }
}

fn set_seconds_nanos<E: de::Error>(
    message: &mut DynamicMessage,
    seconds: i64,
    nanos: i32,
) -> Result<(), E> {
    set(message, 1, Value::I64(seconds))?;
    set(message, 2, Value::I32(nanos))
}

fn field_by_number<E: de::Error>(
    desc: &MessageDescriptor,
    number: u32,
) -> Result<FieldDescriptor, E> {
    desc.get_field(number).ok_or_else(|| {
        E::custom(format_args!(
            "`{}` has no field number {number}",
            desc.full_name()
        ))
    })
}

/// Sets field `number`; an error, never a panic, when the descriptor disagrees with the well-known shape.
fn set<E: de::Error>(message: &mut DynamicMessage, number: u32, value: Value) -> Result<(), E> {
    let field = field_by_number::<E>(&message.descriptor(), number)?;
    try_set(message, &field, value)
}

fn try_set<E: de::Error>(
    message: &mut DynamicMessage,
    field: &FieldDescriptor,
    value: Value,
) -> Result<(), E> {
    message
        .try_set_field(field, value)
        .map_err(|e| E::custom(format_args!("field `{}`: {e}", field.name())))
}

mod wire;

#[cfg(test)]
mod tests;
