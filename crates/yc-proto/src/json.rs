//! Protobuf's reference JSON mapping, in both naming styles the Yandex Cloud API uses.
//!
//! Output follows the reference printer exactly: int64 as strings, `Timestamp` as RFC 3339 in UTC with `Z`,
//! `FieldMask` as one comma-separated string of lowerCamel paths (in both styles), `Any` as `@type` with its
//! payload inline, enums by name (unknown numbers as numbers), map keys untouched, defaults omitted.
//! Input accepts either spelling of every field, numbers as numbers or strings, and `null` as the default;
//! unknown fields are rejected unless [`ParseOptions::ignore_unknown_fields`] is set.

use crate::{Error, registry};

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

/// A message as JSON text in the given style.
pub fn to_string<M: prost::Message + prost::Name>(
    message: &M,
    style: Style,
) -> Result<String, Error> {
    message_type::<M>()?.to_json(&message.encode_to_vec(), style)
}

/// A message as a JSON value in the given style.
pub fn to_value<M: prost::Message + prost::Name>(
    message: &M,
    style: Style,
) -> Result<serde_json::Value, Error> {
    message_type::<M>()?.to_json_value(&message.encode_to_vec(), style)
}

/// A message from JSON text in either style.
pub fn from_str<M: prost::Message + prost::Name + Default>(
    json: &str,
    options: ParseOptions,
) -> Result<M, Error> {
    let bytes = message_type::<M>()?.from_json(json, options)?;
    M::decode(bytes.as_slice()).map_err(|e| Error::decode(&M::full_name(), e))
}

/// A message from a JSON value in either style.
pub fn from_value<M: prost::Message + prost::Name + Default>(
    value: &serde_json::Value,
    options: ParseOptions,
) -> Result<M, Error> {
    let bytes = message_type::<M>()?.from_json_value(value, options)?;
    M::decode(bytes.as_slice()).map_err(|e| Error::decode(&M::full_name(), e))
}

fn message_type<M: prost::Name>() -> Result<&'static registry::MessageType, Error> {
    let name = M::full_name();
    registry::get(&name).ok_or(Error::UnknownType(name))
}
