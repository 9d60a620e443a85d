//! Every message type of these APIs, by full name or type URL, for tools that handle messages
//! they do not know at compile time: a proxy decoding a gRPC body, a cassette storing it as JSON.
//!
//! The table is generated (`generated/registry.rs`, sorted by full name) and holds, per type, plain function
//! pointers into the typed JSON path: decode with prost then write, or parse with pbjson then encode.
//! Lookups are a binary search; nothing is built at run time except the reflection pool, on first use.

use std::fmt;
use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use serde::de::DeserializeOwned;

use crate::Error;
use crate::json::{self, ParseOptions, Style, WriteJson, Writer};

include!("generated/registry.rs");

/// One message type.
pub struct MessageType {
    full_name: &'static str,
    write_json: fn(&[u8], &mut Writer),
    write_any_members: fn(&[u8], &mut Writer, &mut bool),
    parse_str: fn(&str) -> Result<Vec<u8>, serde_json::Error>,
    parse_value: fn(&serde_json::Value) -> Result<Vec<u8>, serde_json::Error>,
    reencodes: fn(&[u8]) -> bool,
    write_json_reencodes: fn(&[u8], &mut Writer) -> bool,
}

impl fmt::Debug for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageType")
            .field("full_name", &self.full_name)
            .finish_non_exhaustive()
    }
}

/// The type named `full_name`, e.g. `yandex.cloud.compute.v1.Image`.
pub fn get(full_name: &str) -> Option<&'static MessageType> {
    TYPES
        .binary_search_by(|t| t.full_name.cmp(full_name))
        .ok()
        .map(|i| &TYPES[i])
}

/// The type a `google.protobuf.Any` names, e.g. `type.googleapis.com/yandex.cloud.compute.v1.Image`.
pub fn by_type_url(type_url: &str) -> Option<&'static MessageType> {
    get(type_url.rsplit_once('/').map_or(type_url, |(_, name)| name))
}

/// Every known type, sorted by full name.
pub fn all() -> &'static [MessageType] {
    TYPES
}

/// The descriptors of every type, with custom options, for reflection.
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(crate::DESCRIPTOR_SET).expect("the embedded descriptor set is valid")
    })
}

impl MessageType {
    /// The table entry for `M`; used by the generated table.
    const fn of<M>(full_name: &'static str) -> MessageType
    where
        M: Message + Default + prost::Name + WriteJson + DeserializeOwned,
    {
        MessageType {
            full_name,
            write_json: write_json::<M>,
            write_any_members: write_any_members::<M>,
            parse_str: parse_str::<M>,
            parse_value: parse_value::<M>,
            reencodes: reencodes::<M>,
            write_json_reencodes: write_json_reencodes::<M>,
        }
    }

    /// Full name, e.g. `yandex.cloud.compute.v1.Image`.
    pub fn full_name(&self) -> &str {
        self.full_name
    }

    /// The type URL `Any` uses: `type.googleapis.com/<full name>`.
    pub fn type_url(&self) -> String {
        format!("type.googleapis.com/{}", self.full_name)
    }

    /// The type's descriptor, with custom options, for reflection.
    pub fn descriptor(&self) -> MessageDescriptor {
        descriptor_pool()
            .get_message_by_name(self.full_name)
            .expect("every registered type is in the descriptor set")
    }

    /// Whether `bytes` written as JSON and read back give `bytes` again, answered without the JSON where that is
    /// exact: `None` when it cannot be (the type holds an `Any`, a `FieldMask`, a `Struct` or a float somewhere,
    /// whose JSON does not always carry every bit; ask the JSON), else whether decoding and encoding give the same
    /// bytes (no unknown fields, fields in order, nothing non-canonical). For everything else JSON is a faithful
    /// copy of the decoded message, which the round-trip tests hold it to, so the two answers agree; a recorder
    /// asks this for every message, and converting a call (decode, JSON, parse back) was 27% of its work per call
    /// in perf.
    pub fn reencodes_exactly(&self, bytes: &[u8]) -> Option<bool> {
        json_is_faithful(self.full_name).then(|| (self.reencodes)(bytes))
    }

    /// Binary to JSON text.
    pub fn to_json(&self, bytes: &[u8], style: Style) -> Result<String, Error> {
        // JSON is rarely more than twice the binary size; one allocation in the common case.
        let mut w = Writer::with_capacity(style, bytes.len() * 2 + 64);
        (self.write_json)(bytes, &mut w);
        w.finish()
    }

    /// Binary to a JSON value, built as it is written (the value the text parses to, without the text).
    pub fn to_json_value(&self, bytes: &[u8], style: Style) -> Result<serde_json::Value, Error> {
        let mut w = Writer::value(style);
        (self.write_json)(bytes, &mut w);
        w.finish_value()
    }

    /// [`MessageType::to_json_value`] and [`MessageType::reencodes_exactly`] from one decode of `bytes`: a recorder
    /// asks both of every message, and decoding twice was a sixth of turning a message into JSON.
    pub fn to_json_value_reencoding(
        &self,
        bytes: &[u8],
        style: Style,
    ) -> Result<(serde_json::Value, Option<bool>), Error> {
        if !json_is_faithful(self.full_name) {
            return Ok((self.to_json_value(bytes, style)?, None));
        }
        let mut w = Writer::value(style);
        let reencodes = (self.write_json_reencodes)(bytes, &mut w);
        Ok((w.finish_value()?, Some(reencodes)))
    }

    /// JSON text in either style to binary.
    pub fn from_json(&self, json: &str, options: ParseOptions) -> Result<Vec<u8>, Error> {
        if json::parse::needs_prepass(json, options) {
            let mut value: serde_json::Value =
                serde_json::from_str(json).map_err(|e| Error::json_parse(self.full_name, &e))?;
            json::parse::prepass(&mut value, &self.descriptor(), options);
            (self.parse_value)(&value)
        } else {
            (self.parse_str)(json)
        }
        .map_err(|e| Error::json_parse(self.full_name, &e))
    }

    /// A JSON value in either style to binary.
    pub fn from_json_value(
        &self,
        value: &serde_json::Value,
        options: ParseOptions,
    ) -> Result<Vec<u8>, Error> {
        if json::parse::value_needs_prepass(value, options) {
            let mut value = value.clone();
            json::parse::prepass(&mut value, &self.descriptor(), options);
            (self.parse_value)(&value)
        } else {
            (self.parse_value)(value)
        }
        .map_err(|e| Error::json_parse(self.full_name, &e))
    }

    /// Whether an `Any` holds this type under `"value"` rather than inline: the well-known types with a
    /// special JSON form. `Empty` is not one: the reference writes it inline, as `{"@type": ...}`.
    pub(crate) fn is_any_value_form(&self) -> bool {
        self.full_name.starts_with("google.protobuf.") && self.full_name != "google.protobuf.Empty"
    }

    /// Writes a payload's members into an `Any` object being written.
    pub(crate) fn write_any_members(&self, bytes: &[u8], w: &mut Writer, first: &mut bool) {
        (self.write_any_members)(bytes, w, first);
    }

    /// Parses an already pre-passed JSON value (an `Any` payload) to binary.
    pub(crate) fn parse_json_value(
        &self,
        value: &serde_json::Value,
    ) -> Result<Vec<u8>, serde_json::Error> {
        (self.parse_value)(value)
    }
}

fn decode<M: Message + Default + prost::Name>(bytes: &[u8], w: &mut Writer) -> Option<M> {
    match M::decode(bytes) {
        Ok(m) => Some(m),
        Err(e) => {
            w.fail(Error::decode(&M::full_name(), e));
            None
        }
    }
}

fn write_json<M: Message + Default + prost::Name + WriteJson>(bytes: &[u8], w: &mut Writer) {
    match decode::<M>(bytes, w) {
        Some(m) => m.write_json(w),
        None => w.raw("null"),
    }
}

fn write_any_members<M: Message + Default + prost::Name + WriteJson>(
    bytes: &[u8],
    w: &mut Writer,
    first: &mut bool,
) {
    if let Some(m) = decode::<M>(bytes, w) {
        m.write_any_members(w, first);
    }
}

fn reencodes<M: Message + Default>(bytes: &[u8]) -> bool {
    M::decode(bytes).is_ok_and(|m| gives_back(&m, bytes))
}

/// [`write_json`], then whether the decoded message encodes to `bytes` again.
fn write_json_reencodes<M: Message + Default + prost::Name + WriteJson>(
    bytes: &[u8],
    w: &mut Writer,
) -> bool {
    match decode::<M>(bytes, w) {
        Some(m) => {
            m.write_json(w);
            gives_back(&m, bytes)
        }
        None => {
            w.raw("null");
            false
        }
    }
}

fn gives_back<M: Message>(message: &M, bytes: &[u8]) -> bool {
    // One buffer per thread: encoding into a fresh one was an allocation and a free for every message recorded.
    thread_local! {
        static ENCODED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if message.encoded_len() != bytes.len() {
        return false;
    }
    ENCODED.with_borrow_mut(|encoded| {
        encoded.clear();
        let same = message.encode(encoded).is_ok() && encoded.as_slice() == bytes;
        if encoded.capacity() > KEPT_BUFFER {
            *encoded = Vec::new();
        }
        same
    })
}

/// The largest encoding buffer a thread keeps between messages.
const KEPT_BUFFER: usize = 1 << 20;

/// Whether every value of the type (every field, transitively) has a JSON form that reads back to the same value.
fn json_is_faithful(full_name: &str) -> bool {
    static FAITHFUL: OnceLock<std::collections::HashMap<String, bool>> = OnceLock::new();
    let table = FAITHFUL.get_or_init(|| {
        let mut table = std::collections::HashMap::new();
        for ty in all() {
            let mut seen = std::collections::HashSet::new();
            table.insert(
                ty.full_name.to_owned(),
                faithful(&ty.descriptor(), &mut seen),
            );
        }
        table
    });
    table.get(full_name).copied().unwrap_or(false)
}

fn faithful(message: &MessageDescriptor, seen: &mut std::collections::HashSet<String>) -> bool {
    const LOSSY: [&str; 7] = [
        "google.protobuf.Any",
        "google.protobuf.FieldMask",
        "google.protobuf.Struct",
        "google.protobuf.Value",
        "google.protobuf.ListValue",
        "google.protobuf.DoubleValue",
        "google.protobuf.FloatValue",
    ];
    if LOSSY.contains(&message.full_name()) {
        return false;
    }
    if !seen.insert(message.full_name().to_owned()) {
        return true;
    }
    message.fields().all(|field| match field.kind() {
        prost_reflect::Kind::Double | prost_reflect::Kind::Float => false,
        prost_reflect::Kind::Message(inner) => faithful(&inner, seen),
        _ => true,
    })
}

fn parse_str<M: Message + DeserializeOwned>(json: &str) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::from_str::<M>(json).map(|m| m.encode_to_vec())
}

fn parse_value<M: Message + DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<Vec<u8>, serde_json::Error> {
    M::deserialize(value).map(|m| m.encode_to_vec())
}

#[cfg(test)]
mod tests;
