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
    write(desc, bytes, || Writer::with_capacity(style, capacity))?.finish()
}

/// Binary to a JSON value in `style` (the value [`to_json`]'s text parses to), for a message of type `desc`.
pub fn to_json_value(
    desc: &MessageDescriptor,
    bytes: &[u8],
    style: Style,
) -> Result<serde_json::Value, Error> {
    write(desc, bytes, || Writer::value(style))?.finish_value()
}

/// A writer from `writer` with the message written into it.
fn write(
    desc: &MessageDescriptor,
    bytes: &[u8],
    writer: impl Fn() -> Writer,
) -> Result<Writer, Error> {
    let mut w = writer();
    if wire::message(&mut w, desc, bytes, 0).is_ok() {
        return Ok(w);
    }
    // Bytes the fast path does not take (see `wire`) are decoded in full, then written; same text either way.
    let message = DynamicMessage::decode(desc.clone(), bytes)
        .map_err(|e| Error::decode(desc.full_name(), e))?;
    let mut w = writer();
    write_message(&mut w, &message);
    Ok(w)
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

/// One value of a singular field, a list element or a map key or value, with its text and bytes owned (`S =
/// String`, `B = Vec<u8>`: what the parser builds, `parse::Parsed`) or borrowed from the input (`&str`, `&[u8]`:
/// what the wire reader decodes).
#[derive(Debug, Clone, Copy)]
enum Scalar<S, B> {
    Bool(bool),
    I32(i32),
    I64(i64),
    U32(u32),
    U64(u64),
    F32(f32),
    F64(f64),
    Enum(i32),
    Str(S),
    Bytes(B),
    /// An encoded message.
    Message(B),
}

mod encode;
mod parse;
mod structs;
mod write;

use encode::*;
use parse::*;
use structs::*;
use write::*;

mod wire;

#[cfg(test)]
mod tests;
