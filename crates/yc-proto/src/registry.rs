//! Every message type of these APIs, by full name or type URL, for tools that handle messages
//! they do not know at compile time: a proxy decoding a gRPC body, a cassette storing it as JSON.

use std::sync::OnceLock;

use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions,
};

use crate::Error;
use crate::json::{ParseOptions, Style};

/// One message type.
#[derive(Debug)]
pub struct MessageType {
    descriptor: MessageDescriptor,
}

/// The type named `full_name`, e.g. `yandex.cloud.compute.v1.Image`.
pub fn get(full_name: &str) -> Option<&'static MessageType> {
    let types = types();
    types
        .binary_search_by(|t| t.full_name().cmp(full_name))
        .ok()
        .map(|i| &types[i])
}

/// The type a `google.protobuf.Any` names, e.g. `type.googleapis.com/yandex.cloud.compute.v1.Image`.
pub fn by_type_url(type_url: &str) -> Option<&'static MessageType> {
    get(type_url.rsplit_once('/').map_or(type_url, |(_, name)| name))
}

/// Every known type, sorted by full name.
pub fn all() -> &'static [MessageType] {
    types()
}

/// The descriptors of every type, with custom options, for reflection.
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(crate::DESCRIPTOR_SET).expect("the embedded descriptor set is valid")
    })
}

fn types() -> &'static [MessageType] {
    static TYPES: OnceLock<Vec<MessageType>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut types: Vec<MessageType> = descriptor_pool()
            .all_messages()
            .filter(|d| !d.is_map_entry())
            .map(|descriptor| MessageType { descriptor })
            .collect();
        types.sort_by(|a, b| a.full_name().cmp(b.full_name()));
        types
    })
}

impl MessageType {
    /// Full name, e.g. `yandex.cloud.compute.v1.Image`.
    pub fn full_name(&self) -> &str {
        self.descriptor.full_name()
    }

    /// The type URL `Any` uses: `type.googleapis.com/<full name>`.
    pub fn type_url(&self) -> String {
        format!("type.googleapis.com/{}", self.full_name())
    }

    /// Binary to JSON text.
    pub fn to_json(&self, bytes: &[u8], style: Style) -> Result<String, Error> {
        let message = self.decode(bytes)?;
        let mut out = Vec::new();
        let mut serializer = serde_json::Serializer::new(&mut out);
        message
            .serialize_with_options(&mut serializer, &serialize_options(style))
            .map_err(|e| Error::json(self.full_name(), e))?;
        Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
    }

    /// Binary to a JSON value.
    pub fn to_json_value(&self, bytes: &[u8], style: Style) -> Result<serde_json::Value, Error> {
        let message = self.decode(bytes)?;
        message
            .serialize_with_options(serde_json::value::Serializer, &serialize_options(style))
            .map_err(|e| Error::json(self.full_name(), e))
    }

    /// JSON text in either style to binary.
    pub fn from_json(&self, json: &str, options: ParseOptions) -> Result<Vec<u8>, Error> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let message = DynamicMessage::deserialize_with_options(
            self.descriptor.clone(),
            &mut deserializer,
            &deserialize_options(options),
        )
        .and_then(|m| deserializer.end().map(|()| m))
        .map_err(|e| Error::json(self.full_name(), e))?;
        Ok(message.encode_to_vec())
    }

    /// A JSON value in either style to binary.
    pub fn from_json_value(
        &self,
        value: &serde_json::Value,
        options: ParseOptions,
    ) -> Result<Vec<u8>, Error> {
        let message = DynamicMessage::deserialize_with_options(
            self.descriptor.clone(),
            value,
            &deserialize_options(options),
        )
        .map_err(|e| Error::json(self.full_name(), e))?;
        Ok(message.encode_to_vec())
    }

    fn decode(&self, bytes: &[u8]) -> Result<DynamicMessage, Error> {
        DynamicMessage::decode(self.descriptor.clone(), bytes)
            .map_err(|e| Error::decode(self.full_name(), e))
    }
}

fn serialize_options(style: Style) -> SerializeOptions {
    SerializeOptions::new()
        .stringify_64_bit_integers(true)
        .skip_default_fields(true)
        .use_proto_field_name(style == Style::Snake)
}

fn deserialize_options(options: ParseOptions) -> DeserializeOptions {
    DeserializeOptions::new().deny_unknown_fields(!options.ignore_unknown_fields)
}
