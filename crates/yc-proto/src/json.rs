//! Protobuf's reference JSON mapping, in both naming styles the Yandex Cloud API uses.
//!
//! Output follows the reference printer exactly: fields in field-number order, int64 as strings, `Timestamp` as
//! RFC 3339 in UTC with `Z`, `FieldMask` as one comma-separated string of lowerCamel paths (in both styles), `Any`
//! as `@type` with its payload inline, enums by name (unknown numbers as numbers), map keys untouched, defaults
//! omitted.
//! Input accepts either spelling of every field, numbers as numbers or strings, and `null` as the default;
//! unknown fields are rejected unless [`ParseOptions::ignore_unknown_fields`] is set.
//! A parse error names the path of the failing value by proto field names, whichever spelling the input used
//! (`os.type`, `layers[1].size`, `labels.env`, `response.created_at` through an `Any`), then the problem, then
//! the line and column when the input was text (inside an `Any` payload, which is buffered, the end of the `Any`;
//! none after the `null` pre-pass, which parses a `serde_json::Value`).
//!
//! Output is typed: generated [`WriteJson`] impls write straight into a [`Writer`], no serde, no reflection.
//! Input goes through pbjson's generated `Deserialize` impls; a descriptor-driven pre-pass over a
//! `serde_json::Value` handles `null` and ignored unknown fields, and runs only when the input may need it.
//! Every message also implements `serde::Serialize`, writing the camelCase REST style (as pbjson's types do), so
//! `serde_json::to_string(&image)` and `insta::assert_json_snapshot!(image)` just work; [`snake`] (or [`Styled`])
//! serialises in the snake_case style instead. Both go through the same writer.
//!
//! [`dynamic`] gives the same text and bytes for types known only from descriptors.
//!
//! This module does no IO and knows no message type by name.

pub mod dynamic;
pub(crate) mod parse;
mod writer;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

use crate::Error;

pub(crate) use parse::{List, MapField, Number, OpenEnum, at_field};
pub use writer::{EnumJson, MapKey, WriteJson, Writer};

/// Which field names JSON output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Style {
    /// Proto field names (`folder_id`), as the gRPC reference pages show.
    #[default]
    Snake,
    /// JSON names (`folderId`), as the REST API sends.
    Camel,
}

/// How JSON input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ParseOptions {
    /// Skip fields the schema does not know instead of failing.
    pub ignore_unknown_fields: bool,
}

/// A message type with both JSON directions: every generated type and every well-known type.
pub trait JsonMessage:
    prost::Message + prost::Name + Default + WriteJson + DeserializeOwned
{
}

impl<M: prost::Message + prost::Name + Default + WriteJson + DeserializeOwned> JsonMessage for M {}

/// A message as JSON text in the given style.
pub fn to_string<M: JsonMessage>(message: &M, style: Style) -> Result<String, Error> {
    let mut w = Writer::new(style);
    message.write_json(&mut w);
    w.finish()
}

/// A message as a JSON value in the given style.
pub fn to_value<M: JsonMessage>(message: &M, style: Style) -> Result<serde_json::Value, Error> {
    let mut w = Writer::value(style);
    message.write_json(&mut w);
    w.finish_value()
}

/// A message from JSON text in either style.
pub fn from_str<M: JsonMessage>(json: &str, options: ParseOptions) -> Result<M, Error> {
    if parse::needs_prepass(json, options) {
        let mut value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::json_parse(&M::full_name(), &e))?;
        parse::prepass(&mut value, &descriptor::<M>()?, options);
        M::deserialize(&value)
    } else {
        serde_json::from_str(json)
    }
    .map_err(|e| Error::json_parse(&M::full_name(), &e))
}

/// A message from a JSON value in either style.
pub fn from_value<M: JsonMessage>(
    value: &serde_json::Value,
    options: ParseOptions,
) -> Result<M, Error> {
    if parse::value_needs_prepass(value, options) {
        let mut value = value.clone();
        parse::prepass(&mut value, &descriptor::<M>()?, options);
        M::deserialize(&value)
    } else {
        M::deserialize(value)
    }
    .map_err(|e| Error::json_parse(&M::full_name(), &e))
}

/// A message with the style serde writes it in: `serde_json::to_string(&json::snake(&image))` gives
/// `{"folder_id":...}`; `insta::assert_json_snapshot!(json::snake(&image))` snapshots the gRPC reference's spelling.
#[derive(Debug, Clone, Copy)]
pub struct Styled<'a, M: ?Sized>(pub &'a M, pub Style);

/// `message` serialised by serde in the snake_case style (proto field names).
pub fn snake<M: WriteJson + ?Sized>(message: &M) -> Styled<'_, M> {
    Styled(message, Style::Snake)
}

impl<M: WriteJson + ?Sized> Serialize for Styled<'_, M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(self.0, self.1, serializer)
    }
}

/// What every message's `Serialize` calls: the message as written by [`Writer`], handed to `serializer` as a JSON
/// value (keys in the writer's order), so any serde format, insta's included, sees the reference mapping.
#[doc(hidden)]
pub fn serialize<M: WriteJson + ?Sized, S: Serializer>(
    message: &M,
    style: Style,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;

    let mut w = Writer::value(style);
    message.write_json(&mut w);
    let value = w.finish_value().map_err(S::Error::custom)?;
    value.serialize(serializer)
}

fn descriptor<M: prost::Name>() -> Result<prost_reflect::MessageDescriptor, Error> {
    let name = M::full_name();
    crate::registry::descriptor_pool()
        .get_message_by_name(&name)
        .ok_or(Error::UnknownType(name))
}

#[cfg(test)]
mod tests;
