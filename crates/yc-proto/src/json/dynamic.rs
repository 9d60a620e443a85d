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
//! field path in front of the message the same way (`os.type`, `layers[1].size`, `labels.env`); it encodes
//! straight to the bytes prost writes for the generated types.
//! `Any` resolves its payload type in the descriptor's own pool ([`MessageDescriptor::parent_pool`]), so a
//! user-supplied type inside an `Any` works; the well-known types the generated path lacks (the wrappers,
//! `Struct`, `Value`, `ListValue`) follow the reference mapping.
//!
//! This module does no IO, keeps no state and knows no message type by name beyond `google.protobuf`.

use std::fmt;

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
    MessageSeed { desc, options }
        .deserialize(&mut de)
        .and_then(|bytes| de.end().map(|()| bytes))
        .map_err(|e| Error::json_parse(desc.full_name(), &e))
}

/// A JSON value in either style to binary, for a message of type `desc`.
pub fn from_json_value(
    desc: &MessageDescriptor,
    value: &serde_json::Value,
    options: ParseOptions,
) -> Result<Vec<u8>, Error> {
    MessageSeed { desc, options }
        .deserialize(value)
        .map_err(|e| Error::json_parse(desc.full_name(), &e))
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
//
// JSON is encoded straight to bytes, laid out as prost lays out the generated types (fields by tag, a oneof at its
// lowest tag, repeated scalars packed as the descriptor says, map entries sorted by key with default keys and values
// left out, implicit-presence defaults left out), so both paths give the same bytes for the same JSON: a cassette's
// "does the JSON encode back to the recorded bytes" check answers the same either way.

/// A message of type `desc`, from a JSON object (or a well-known type's own form), as its encoded bytes.
#[derive(Clone, Copy)]
struct MessageSeed<'a> {
    desc: &'a MessageDescriptor,
    options: ParseOptions,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        let Some(kind) = well_known(self.desc) else {
            // `deserialize_struct`, as pbjson calls it, so that a wrong JSON type fails at the same position.
            return d.deserialize_struct("", &[], MessageVisitor(self));
        };
        let mut out = Vec::new();
        match kind {
            WellKnown::Timestamp => {
                let t = wkt::Timestamp::deserialize(d)?;
                encode_seconds_nanos(&mut out, t.seconds, t.nanos);
            }
            WellKnown::Duration => {
                let t = wkt::Duration::deserialize(d)?;
                encode_seconds_nanos(&mut out, t.seconds, t.nanos);
            }
            WellKnown::FieldMask => {
                for path in wkt::FieldMask::deserialize(d)?.paths {
                    encode_len(&mut out, 1, path.as_bytes());
                }
            }
            WellKnown::Empty => {
                wkt::Empty::deserialize(d)?;
            }
            WellKnown::Any => return AnySeed(self).deserialize(d),
            WellKnown::Struct => return d.deserialize_map(StructVisitor),
            WellKnown::Value => return d.deserialize_any(StructValueVisitor),
            WellKnown::ListValue => return d.deserialize_seq(ListValueVisitor),
            WellKnown::Wrapper => {
                let field = self.desc.get_field(1).ok_or_else(|| {
                    de::Error::custom(format_args!("`{}` has no field 1", self.desc.full_name()))
                })?;
                let kind = field.kind();
                let value = SingleSeed {
                    kind: &kind,
                    options: self.options,
                }
                .deserialize(d)?;
                encode_value(&mut out, 1, &kind, &value, SKIP_DEFAULT);
            }
        }
        Ok(out)
    }
}

struct MessageVisitor<'a>(MessageSeed<'a>);

impl<'de> Visitor<'de> for MessageVisitor<'_> {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", self.0.desc.full_name())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<u8>, A::Error> {
        let MessageSeed { desc, options } = self.0;
        let mut out = Vec::new();
        // Each field's records, by where prost puts the field; sorted at the end if the input had another order.
        let mut spans: Vec<(u32, usize, usize)> = Vec::new();
        // Field numbers given a value so far: a key twice (even in both spellings) is an error, as is a second
        // member of one oneof. `null` gives no value, as pbjson sees it after the pre-pass removed it.
        let mut seen: Vec<u32> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed { desc, options })? {
            let Some(field) = key else {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            };
            let oneof = field.containing_oneof().filter(|o| !o.is_synthetic());
            let clash = seen.contains(&field.number())
                || oneof.as_ref().is_some_and(|oneof| {
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
            let start = out.len();
            let present = map
                .next_value_seed(FieldSeed {
                    field: &field,
                    options,
                    out: &mut out,
                })
                .map_err(|e| at_field(field.name(), e))?;
            if present {
                seen.push(field.number());
            }
            if out.len() > start {
                // prost-derive orders fields by their lowest tag; a oneof's is its members' lowest.
                let order = oneof
                    .and_then(|o| o.fields().map(|f| f.number()).min())
                    .unwrap_or(field.number());
                spans.push((order, start, out.len()));
            }
        }
        if spans.windows(2).all(|pair| pair[0].0 <= pair[1].0) {
            return Ok(out);
        }
        spans.sort_by_key(|span| span.0);
        let mut sorted = Vec::with_capacity(out.len());
        for (_, start, end) in spans {
            sorted.extend_from_slice(&out[start..end]);
        }
        Ok(sorted)
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

/// A field's value, encoded into `out` as its records; `false` for `null`, which leaves the field at its default
/// (but is a `NULL_VALUE` for a `google.protobuf.Value` field, as the reference reads it).
struct FieldSeed<'a> {
    field: &'a FieldDescriptor,
    options: ParseOptions,
    out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of field {}", self.field.name())
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        let field = self.field;
        if let Kind::Message(m) = field.kind()
            && !field.is_list()
            && !field.is_map()
            && well_known(&m) == Some(WellKnown::Value)
        {
            encode_len(self.out, field.number(), &[0x08, 0x00]);
            return Ok(true);
        }
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        let FieldSeed {
            field,
            options,
            out,
        } = self;
        let kind = field.kind();
        if field.is_map() {
            let Kind::Message(entry) = &kind else {
                return Err(de::Error::custom("a map field without an entry type"));
            };
            d.deserialize_map(MapVisitor {
                number: field.number(),
                key: entry.map_entry_key_field().kind(),
                value: entry.map_entry_value_field().kind(),
                options,
                out,
            })?;
        } else if field.is_list() {
            d.deserialize_seq(ListVisitor {
                number: field.number(),
                kind: &kind,
                packed: field.is_packed(),
                options,
                out,
            })?;
        } else if kind == Kind::String {
            d.deserialize_str(StrRecord {
                number: field.number(),
                skip_empty: !field.supports_presence(),
                out,
            })?;
        } else {
            let value = SingleSeed {
                kind: &kind,
                options,
            }
            .deserialize(d)?;
            let skip_default = !field.supports_presence();
            encode_value(out, field.number(), &kind, &value, skip_default);
        }
        Ok(true)
    }
}

/// A singular string field's record, encoded from the input text as it is read (the common field, spared a
/// `String`); as `String`'s own reader, it takes a JSON string only.
struct StrRecord<'a> {
    number: u32,
    skip_empty: bool,
    out: &'a mut Vec<u8>,
}

impl Visitor<'_> for StrRecord<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if !(self.skip_empty && v.is_empty()) {
            encode_len(self.out, self.number, v.as_bytes());
        }
        Ok(())
    }
}

/// One parsed value of a singular field, a list element or a map key or value.
#[derive(Debug)]
enum Parsed {
    Bool(bool),
    I32(i32),
    I64(i64),
    U32(u32),
    U64(u64),
    F32(f32),
    F64(f64),
    Enum(i32),
    Str(String),
    Bytes(Vec<u8>),
    /// An encoded message.
    Message(Vec<u8>),
}

impl Parsed {
    /// Whether prost leaves this value out of an implicit-presence field or a map entry.
    fn is_default(&self) -> bool {
        match self {
            Parsed::Bool(v) => !v,
            Parsed::I32(v) | Parsed::Enum(v) => *v == 0,
            Parsed::I64(v) => *v == 0,
            Parsed::U32(v) => *v == 0,
            Parsed::U64(v) => *v == 0,
            Parsed::F32(v) => *v == 0.0,
            Parsed::F64(v) => *v == 0.0,
            Parsed::Str(v) => v.is_empty(),
            Parsed::Bytes(v) | Parsed::Message(v) => v.is_empty(),
        }
    }
}

/// One value of a kind: a singular field, a list element or a map value.
struct SingleSeed<'a> {
    kind: &'a Kind,
    options: ParseOptions,
}

impl<'de> DeserializeSeed<'de> for SingleSeed<'_> {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Parsed, D::Error> {
        Ok(match self.kind {
            Kind::Double => Parsed::F64(Number::<f64>::deserialize(d)?.0),
            Kind::Float => Parsed::F32(Number::<f32>::deserialize(d)?.0),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                Parsed::I32(Number::<i32>::deserialize(d)?.0)
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                Parsed::I64(Number::<i64>::deserialize(d)?.0)
            }
            Kind::Uint32 | Kind::Fixed32 => Parsed::U32(Number::<u32>::deserialize(d)?.0),
            Kind::Uint64 | Kind::Fixed64 => Parsed::U64(Number::<u64>::deserialize(d)?.0),
            Kind::Bool => Parsed::Bool(bool::deserialize(d)?),
            Kind::String => Parsed::Str(String::deserialize(d)?),
            Kind::Bytes => {
                Parsed::Bytes(pbjson::private::BytesDeserialize::<Vec<u8>>::deserialize(d)?.0)
            }
            Kind::Enum(e) => Parsed::Enum(d.deserialize_any(EnumVisitor(e))?),
            Kind::Message(m) => Parsed::Message(
                MessageSeed {
                    desc: m,
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
        if self.0.full_name() == "google.protobuf.NullValue" {
            Ok(0)
        } else {
            Err(E::invalid_type(de::Unexpected::Unit, &self))
        }
    }
}

/// A repeated field: every element of its kind, packed when the descriptor says so; a failing element's index goes
/// into the path (`[1].size`).
struct ListVisitor<'a> {
    number: u32,
    kind: &'a Kind,
    packed: bool,
    options: ParseOptions,
    out: &'a mut Vec<u8>,
}

impl<'de> Visitor<'de> for ListVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut packed = Vec::new();
        let mut index = 0;
        loop {
            let seed = SingleSeed {
                kind: self.kind,
                options: self.options,
            };
            match seq.next_element_seed(seed) {
                Ok(Some(item)) => {
                    if self.packed {
                        encode_payload(&mut packed, self.kind, &item);
                    } else {
                        encode_value(self.out, self.number, self.kind, &item, KEEP_DEFAULT);
                    }
                    index += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(de::Error::custom(nest(Step::Index(index), &e.to_string())));
                }
            }
        }
        if !packed.is_empty() {
            encode_len(self.out, self.number, &packed);
        }
        Ok(())
    }
}

/// A map key, ordered as the generated maps' key types order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    Text(String),
}

/// A map field: keys from their JSON strings, values of the value kind, entries sorted by key, the last of equal
/// keys winning (as `BTreeMap::insert` has it); a failing value's key goes into the path (`labels.env`).
/// Entries are written into `out` as they come and reordered only if the input's keys were not already in order.
struct MapVisitor<'a> {
    number: u32,
    key: Kind,
    value: Kind,
    options: ParseOptions,
    out: &'a mut Vec<u8>,
}

impl<'de> Visitor<'de> for MapVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.out.len();
        let mut spans: Vec<(SortKey, usize, usize)> = Vec::new();
        let mut entry = Vec::new();
        while let Some(text) = map.next_key::<String>()? {
            entry.clear();
            let sort = map_key::<A::Error>(&self.key, &text, &mut entry)?;
            let seed = SingleSeed {
                kind: &self.value,
                options: self.options,
            };
            let value = map
                .next_value_seed(seed)
                .map_err(|e| de::Error::custom(nest(Step::Key(&text), &e.to_string())))?;
            encode_value(&mut entry, 2, &self.value, &value, SKIP_DEFAULT);
            let start = self.out.len();
            encode_len(self.out, self.number, &entry);
            let sort = sort.unwrap_or(SortKey::Text(text));
            spans.push((sort, start, self.out.len()));
        }
        if spans.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return Ok(());
        }
        spans.sort_by(|a, b| a.0.cmp(&b.0));
        let written = self.out.split_off(base);
        for (i, (key, start, end)) in spans.iter().enumerate() {
            if spans.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            self.out
                .extend_from_slice(&written[start - base..end - base]);
        }
        Ok(())
    }
}

/// A map key from its JSON string, read as the generated parsers read keys of its type and encoded into `entry` as
/// field 1 (left out when it is the default); its sort key, `None` for a string key (the caller moves the text in).
fn map_key<E: de::Error>(
    kind: &Kind,
    text: &str,
    entry: &mut Vec<u8>,
) -> Result<Option<SortKey>, E> {
    let number = de::value::StrDeserializer::<E>::new(text);
    let (sort, key) = match kind {
        Kind::String => {
            if !text.is_empty() {
                encode_len(entry, 1, text.as_bytes());
            }
            return Ok(None);
        }
        Kind::Bool => match text {
            "true" => (SortKey::Bool(true), Parsed::Bool(true)),
            "false" => (SortKey::Bool(false), Parsed::Bool(false)),
            _ => {
                return Err(E::invalid_value(
                    de::Unexpected::Str(text),
                    &"`true` or `false`",
                ));
            }
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            let v = Number::<i32>::deserialize(number)?.0;
            (SortKey::Signed(i64::from(v)), Parsed::I32(v))
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            let v = Number::<i64>::deserialize(number)?.0;
            (SortKey::Signed(v), Parsed::I64(v))
        }
        Kind::Uint32 | Kind::Fixed32 => {
            let v = Number::<u32>::deserialize(number)?.0;
            (SortKey::Unsigned(u64::from(v)), Parsed::U32(v))
        }
        Kind::Uint64 | Kind::Fixed64 => {
            let v = Number::<u64>::deserialize(number)?.0;
            (SortKey::Unsigned(v), Parsed::U64(v))
        }
        other => {
            return Err(E::custom(format_args!("{other:?} cannot be a map key")));
        }
    };
    encode_value(entry, 1, kind, &key, SKIP_DEFAULT);
    Ok(Some(sort))
}

/// `{"@type": url, ...}`, read as `wkt::Any` reads it, with the payload type from the descriptor's own pool.
struct AnySeed<'a>(MessageSeed<'a>);

impl<'de> DeserializeSeed<'de> for AnySeed<'_> {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        let MessageSeed { desc, options } = self.0;
        let mut object = serde_json::Map::deserialize(d)?;
        if object.is_empty() {
            return Ok(Vec::new());
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
        let mut out = Vec::with_capacity(url.len() + payload.len() + 8);
        encode_len(&mut out, 1, url.as_bytes());
        if !payload.is_empty() {
            encode_len(&mut out, 2, &payload);
        }
        Ok(out)
    }
}

// `Struct`, `Value` and `ListValue` have one layout everywhere: `Struct.fields` (1) maps strings to `Value`s;
// `Value` is a oneof of `null_value` (1), `number_value` (2), `string_value` (3), `bool_value` (4),
// `struct_value` (5) and `list_value` (6); `ListValue.values` (1) is a repeated `Value`.

/// `Struct`: a JSON object of `Value`s.
struct StructVisitor;

impl<'de> Visitor<'de> for StructVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<u8>, A::Error> {
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map
                .next_value_seed(StructValueSeed)
                .map_err(|e| de::Error::custom(nest(Step::Key(&key), &e.to_string())))?;
            entries.push((key, value));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        for (i, (key, value)) in entries.iter().enumerate() {
            if entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            let mut entry = Vec::new();
            if !key.is_empty() {
                encode_len(&mut entry, 1, key.as_bytes());
            }
            if !value.is_empty() {
                encode_len(&mut entry, 2, value);
            }
            encode_len(&mut out, 1, &entry);
        }
        Ok(out)
    }
}

struct StructValueSeed;

impl<'de> DeserializeSeed<'de> for StructValueSeed {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_any(StructValueVisitor)
    }
}

/// `Value`: any JSON value, into the member of its `kind` oneof that holds that JSON type.
struct StructValueVisitor;

impl<'de> Visitor<'de> for StructValueVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<u8>, E> {
        Ok(vec![0x08, 0x00])
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<u8>, E> {
        self.visit_unit()
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Vec<u8>, E> {
        let mut out = Vec::with_capacity(9);
        encode_value(&mut out, 2, &Kind::Double, &Parsed::F64(v), KEEP_DEFAULT);
        Ok(out)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<u8>, E> {
        self.visit_f64(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<u8>, E> {
        self.visit_f64(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        let mut out = Vec::with_capacity(v.len() + 6);
        encode_len(&mut out, 3, v.as_bytes());
        Ok(out)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Vec<u8>, E> {
        Ok(vec![0x20, u8::from(v)])
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<u8>, A::Error> {
        let inner = StructVisitor.visit_map(map)?;
        let mut out = Vec::with_capacity(inner.len() + 6);
        encode_len(&mut out, 5, &inner);
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<u8>, A::Error> {
        let inner = ListValueVisitor.visit_seq(seq)?;
        let mut out = Vec::with_capacity(inner.len() + 6);
        encode_len(&mut out, 6, &inner);
        Ok(out)
    }
}

/// `ListValue`: a JSON array of `Value`s.
struct ListValueVisitor;

impl<'de> Visitor<'de> for ListValueVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::new();
        let mut index = 0;
        loop {
            match seq.next_element_seed(StructValueSeed) {
                Ok(Some(item)) => encode_len(&mut out, 1, &item),
                Ok(None) => return Ok(out),
                Err(e) => {
                    return Err(de::Error::custom(nest(Step::Index(index), &e.to_string())));
                }
            }
            index += 1;
        }
    }
}

// Encoding, as prost encodes.

const SKIP_DEFAULT: bool = true;
const KEEP_DEFAULT: bool = false;

fn encode_seconds_nanos(out: &mut Vec<u8>, seconds: i64, nanos: i32) {
    encode_value(out, 1, &Kind::Int64, &Parsed::I64(seconds), SKIP_DEFAULT);
    encode_value(out, 2, &Kind::Int32, &Parsed::I32(nanos), SKIP_DEFAULT);
}

/// One record of field `number`: its key and value, or nothing for a default when `skip_default`.
fn encode_value(out: &mut Vec<u8>, number: u32, kind: &Kind, value: &Parsed, skip_default: bool) {
    if skip_default && value.is_default() {
        return;
    }
    match value {
        Parsed::Str(v) => encode_len(out, number, v.as_bytes()),
        Parsed::Bytes(v) | Parsed::Message(v) => encode_len(out, number, v),
        _ => {
            encode_varint(out, u64::from(number) << 3 | u64::from(wire_type(kind)));
            encode_payload(out, kind, value);
        }
    }
}

/// The value without a key: a packed element, or the payload after a key.
fn encode_payload(out: &mut Vec<u8>, kind: &Kind, value: &Parsed) {
    match (value, kind) {
        (Parsed::Bool(v), _) => out.push(u8::from(*v)),
        (Parsed::I32(v), Kind::Sint32) => {
            encode_varint(out, u64::from(((v << 1) ^ (v >> 31)) as u32))
        }
        (Parsed::I32(v), Kind::Sfixed32) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::I32(v) | Parsed::Enum(v), _) => encode_varint(out, i64::from(*v) as u64),
        (Parsed::I64(v), Kind::Sint64) => encode_varint(out, ((v << 1) ^ (v >> 63)) as u64),
        (Parsed::I64(v), Kind::Sfixed64) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::I64(v), _) => encode_varint(out, *v as u64),
        (Parsed::U32(v), Kind::Fixed32) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::U32(v), _) => encode_varint(out, u64::from(*v)),
        (Parsed::U64(v), Kind::Fixed64) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::U64(v), _) => encode_varint(out, *v),
        (Parsed::F32(v), _) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::F64(v), _) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::Str(v), _) => encode_bytes(out, v.as_bytes()),
        (Parsed::Bytes(v) | Parsed::Message(v), _) => encode_bytes(out, v),
    }
}

fn wire_type(kind: &Kind) -> u8 {
    match kind {
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => 1,
        Kind::String | Kind::Bytes | Kind::Message(_) => 2,
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => 5,
        _ => 0,
    }
}

/// A length-delimited record of field `number`.
fn encode_len(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    encode_varint(out, u64::from(number) << 3 | 2);
    encode_bytes(out, bytes);
}

fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    encode_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn encode_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

mod wire;

#[cfg(test)]
mod tests;
