//! The cassette model: plain values that serialise to the file format with a stable key order.
//! No IO here, no matching, no redaction; only the shapes, the serde glue and the byte <-> JSON conversions.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost_reflect::prost::Message as _;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use yc_proto::Schema;
use yc_proto::google::rpc::Status as RpcStatus;
use yc_proto::json::{ParseOptions, Style};

use crate::Error;

/// The version of the file format this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// One cassette: recorded interactions in recorded order, and how to match requests against them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    pub version: u32,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub matching: MatchRules,
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

/// What the cassette is. No timestamps: re-recording the same traffic gives the same file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Meta {
    pub description: String,
    pub recorded_with: String,
}

/// How requests are matched against this cassette, beyond the built-in rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchRules {
    /// Request headers (lower-case names) that do take part in matching. Volatile headers never do.
    pub headers: Vec<String>,
    /// Dotted paths in request bodies (`spec.name`, `labels`) that take no part in matching.
    /// Array elements are crossed transparently; snake_case and camelCase spellings are the same path.
    pub ignore_fields: Vec<String>,
}

/// One request and its response. File: `{"grpc": {...}}` or `{"rest": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Interaction {
    Grpc(GrpcInteraction),
    Rest(RestInteraction),
}

/// One gRPC call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcInteraction {
    /// The full method path, e.g. `/yandex.cloud.compute.v1.ImageService/Get`.
    pub method: String,
    pub request: GrpcRequest,
    pub response: GrpcResponse,
}

/// What the client sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcRequest {
    pub metadata: Headers,
    pub messages: Vec<Message>,
}

/// What the server answered. Trailers are kept apart from headers; `grpc-status`, `grpc-message` and
/// `grpc-status-details-bin` live in [`GrpcStatus`], not in `trailers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcResponse {
    pub headers: Headers,
    pub messages: Vec<Message>,
    pub trailers: Headers,
    pub status: GrpcStatus,
    /// The status came in the headers frame, with no messages and no separate trailers.
    #[serde(skip_serializing_if = "is_false")]
    pub trailers_only: bool,
}

/// The gRPC status of a call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcStatus {
    pub code: i32,
    /// `grpc-message`, percent-decoded.
    pub message: String,
    /// `google.rpc.Status.details` from `grpc-status-details-bin`, decoded as snake_case JSON with `@type`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Value>,
    /// The original `grpc-status-details-bin` text, kept only when re-encoding `details` does not reproduce it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details_bin: Option<String>,
}

/// One protobuf message: snake_case JSON with its type, and the raw bytes when the JSON cannot reproduce them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Message {
    /// Full protobuf type name, e.g. `yandex.cloud.compute.v1.GetImageRequest`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// Base64 in the file; present only when encoding `json` does not give the recorded bytes.
    #[serde(with = "opt_base64", skip_serializing_if = "Option::is_none")]
    pub raw: Option<Vec<u8>>,
    /// Why this message differs from what was on the wire (e.g. raw bytes dropped because they carried a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One HTTP/1.1 or HTTP/2 REST call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestInteraction {
    pub request: RestRequest,
    pub response: RestResponse,
}

/// What the client sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestRequest {
    /// The verb, e.g. `GET`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string without `?`, possibly empty.
    pub query: String,
    pub headers: Headers,
    #[serde(skip_serializing_if = "Body::is_empty")]
    pub body: Body,
    /// The `content-encoding` the body had on the wire (`gzip`, `br`, ...), when it is stored decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// What the server answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestResponse {
    pub status: u16,
    pub headers: Headers,
    #[serde(skip_serializing_if = "Body::is_empty")]
    pub body: Body,
    /// The `content-encoding` the body had on the wire (`gzip`, `br`, ...), when it is stored decoded: replay
    /// encodes it again for a client that accepts that coding, and sends it decoded to any other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

/// An HTTP body, in the most readable form that still gives back the exact bytes.
/// File: absent when empty, else `{"json": ...}`, `{"text": "..."}` or `{"base64": "..."}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Body {
    #[default]
    Empty,
    Json(Value),
    Text(String),
    Base64(#[serde(with = "base64_bytes")] Vec<u8>),
}

/// Header fields in order, repeats allowed, lower-case names.
/// File: an object, `{"name": "value"}`, or `{"name": ["v1", "v2"]}` for a repeated name
/// (repeats are grouped under the first occurrence of their name).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Headers(pub Vec<(String, String)>);

impl Cassette {
    /// An empty cassette of the current format version, with default matching rules.
    pub fn new(meta: Meta) -> Cassette {
        Cassette {
            version: FORMAT_VERSION,
            meta,
            matching: MatchRules::default(),
            interactions: Vec::new(),
        }
    }
}

impl Interaction {
    /// `grpc` or `rest`.
    pub fn transport(&self) -> &'static str {
        match self {
            Interaction::Grpc(_) => "grpc",
            Interaction::Rest(_) => "rest",
        }
    }
}

impl Message {
    /// A message from its wire bytes: decoded through the schema when it knows the type,
    /// with the raw bytes kept when decoding fails or re-encoding the JSON does not reproduce them.
    pub fn from_bytes(schema: &Schema, type_name: Option<&str>, bytes: &[u8]) -> Message {
        let mut message = Message {
            type_name: type_name.map(str::to_owned),
            ..Message::default()
        };
        let Some(ty) = type_name.and_then(|name| schema.message(name)) else {
            message.raw = Some(bytes.to_vec());
            return message;
        };
        match ty.to_json_value_reencoding(bytes, Style::Snake) {
            Ok((json, reencodes)) => {
                let exact = reencodes.unwrap_or_else(|| {
                    ty.from_json_value(&json, ParseOptions::default())
                        .is_ok_and(|again| again == bytes)
                });
                if !exact {
                    message.raw = Some(bytes.to_vec());
                }
                message.json = Some(json);
            }
            Err(_) => message.raw = Some(bytes.to_vec()),
        }
        message
    }

    /// A request message of the gRPC method at `grpc_path`, typed by the schema's method (`input_type`).
    pub fn from_request_bytes(schema: &Schema, grpc_path: &str, bytes: &[u8]) -> Message {
        let ty = schema.method(grpc_path).map(|m| m.input_type.as_str());
        Message::from_bytes(schema, ty, bytes)
    }

    /// A response message of the gRPC method at `grpc_path`, typed by the schema's method (`output_type`).
    pub fn from_response_bytes(schema: &Schema, grpc_path: &str, bytes: &[u8]) -> Message {
        let ty = schema.method(grpc_path).map(|m| m.output_type.as_str());
        Message::from_bytes(schema, ty, bytes)
    }

    /// A message from typed JSON.
    pub fn from_json(type_name: &str, json: Value) -> Message {
        Message {
            type_name: Some(type_name.to_owned()),
            json: Some(json),
            ..Message::default()
        }
    }

    /// The wire bytes: the raw bytes if kept, else the JSON encoded as its type (from `schema`).
    pub fn to_bytes(&self, schema: &Schema) -> Result<Vec<u8>, Error> {
        if let Some(raw) = &self.raw {
            return Ok(raw.clone());
        }
        let Some(json) = &self.json else {
            return Err(Error::NoPayload {
                type_name: self.type_name.clone(),
            });
        };
        let type_name = self.type_name.as_deref().ok_or(Error::Untyped)?;
        let ty = schema
            .message(type_name)
            .ok_or_else(|| yc_proto::Error::UnknownType(type_name.to_owned()))?;
        Ok(ty.from_json_value(json, ParseOptions::default())?)
    }
}

impl GrpcStatus {
    /// The status from its wire form: `grpc-status`, percent-decoded `grpc-message`, and the
    /// `grpc-status-details-bin` text if any. Details are decoded to JSON; the text is kept as well when
    /// [`GrpcStatus::details_bin_text`] would not give it back exactly.
    pub fn from_wire(code: i32, message: &str, details_bin: Option<&str>) -> GrpcStatus {
        let mut status = GrpcStatus {
            code,
            message: message.to_owned(),
            ..GrpcStatus::default()
        };
        let Some(text) = details_bin else {
            return status;
        };
        let decoded = crate::decode::decode_base64(text).and_then(|bytes| {
            let status = RpcStatus::decode(bytes.as_slice()).ok()?;
            yc_proto::json::to_value(&status, Style::Snake).ok()
        });
        if let Some(Value::Object(mut fields)) = decoded
            && let Some(Value::Array(details)) = fields.shift_remove("details")
        {
            status.details = details;
        }
        if status.details_bin_text().ok().flatten().as_deref() != Some(text) {
            status.details_bin = Some(text.to_owned());
        }
        status
    }

    /// The `grpc-status-details-bin` text to send: the kept text, else `google.rpc.Status { code, message,
    /// details }` encoded and base64'd without padding; `None` when there are no details.
    pub fn details_bin_text(&self) -> Result<Option<String>, Error> {
        if let Some(text) = &self.details_bin {
            return Ok(Some(text.clone()));
        }
        if self.details.is_empty() {
            return Ok(None);
        }
        let mut fields = serde_json::Map::new();
        if self.code != 0 {
            fields.insert("code".into(), Value::from(self.code));
        }
        if !self.message.is_empty() {
            fields.insert("message".into(), Value::from(self.message.as_str()));
        }
        fields.insert("details".into(), Value::Array(self.details.clone()));
        let status: RpcStatus =
            yc_proto::json::from_value(&Value::Object(fields), ParseOptions::default())?;
        let bytes = status.encode_to_vec();
        Ok(Some(
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes),
        ))
    }
}

impl Body {
    /// The most readable body that gives back `bytes` exactly: JSON when re-serialising reproduces the bytes,
    /// else text when UTF-8, else base64. `content_type` other than JSON keeps text as text.
    pub fn from_bytes(content_type: Option<&str>, bytes: &[u8]) -> Body {
        if bytes.is_empty() {
            return Body::Empty;
        }
        let json_allowed = match content_type {
            Some(ct) => ct
                .as_bytes()
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b"json")),
            None => matches!(bytes.first(), Some(b'{' | b'[')),
        };
        if json_allowed
            && let Ok(value) = serde_json::from_slice::<Value>(bytes)
            && serialises_to(&value, bytes)
        {
            return Body::Json(value);
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Body::Text(text.to_owned()),
            Err(_) => Body::Base64(bytes.to_vec()),
        }
    }

    /// A body as it came off the wire with its `content-encoding`: decoded (each coding capped at
    /// [`MAX_DECODED_SIZE`](crate::MAX_DECODED_SIZE)) and stored in its most readable form, with the coding to
    /// note beside it (`None` for an identity body). An unknown coding or data that does not decode is an error:
    /// the body could not be looked into, so it must not be stored.
    pub fn from_wire(
        content_type: Option<&str>,
        content_encoding: Option<&str>,
        bytes: &[u8],
    ) -> Result<(Body, Option<String>), crate::DecodeError> {
        let coding = content_encoding
            .map(str::trim)
            .filter(|c| !crate::Encoding::parse_list(c).is_ok_and(|list| list.is_empty()));
        match coding {
            Some(coding) if !bytes.is_empty() => {
                let decoded =
                    crate::decode::decode_content(coding, bytes, crate::MAX_DECODED_SIZE)?;
                Ok((
                    Body::from_bytes(content_type, &decoded),
                    Some(coding.to_owned()),
                ))
            }
            _ => Ok((Body::from_bytes(content_type, bytes), None)),
        }
    }

    /// The exact bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Body::Empty => Vec::new(),
            Body::Json(value) => serde_json::to_vec(value).unwrap_or_default(),
            Body::Text(text) => text.as_bytes().to_vec(),
            Body::Base64(bytes) => bytes.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Body::Empty)
    }
}

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Appends a field; the name is lower-cased.
    pub fn push(&mut self, name: &str, value: &str) {
        self.0.push((name.to_ascii_lowercase(), value.to_owned()));
    }

    /// The first value of `name` (compared case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Headers {
        let mut headers = Headers::new();
        for (n, v) in iter {
            headers.push(n.as_ref(), v.as_ref());
        }
        headers
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Group repeats under the first occurrence of their name, keeping first-seen order.
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in &self.0 {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        let mut map = serializer.serialize_map(Some(names.len()))?;
        for name in names {
            let values: Vec<&str> = self
                .0
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            match values.as_slice() {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, many)?,
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Headers, D::Error> {
        deserializer.deserialize_map(HeadersVisitor)
    }
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = Headers;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of header names to a string or an array of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers, A::Error> {
        let mut headers = Headers::new();
        while let Some(name) = map.next_key::<String>()? {
            match map.next_value::<OneOrMany>()? {
                OneOrMany::One(v) => headers.push(&name, &v),
                OneOrMany::Many(vs) => vs.iter().for_each(|v| headers.push(&name, v)),
            }
        }
        Ok(headers)
    }
}

enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<OneOrMany, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a header value (string) or an array of header values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

mod base64_bytes {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        BASE64
            .decode(text.as_bytes())
            .map_err(|e| de::Error::custom(format_args!("invalid base64: {e}")))
    }
}

mod opt_base64 {
    use super::*;

    pub fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => base64_bytes::serialize(bytes, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        base64_bytes::deserialize(deserializer).map(Some)
    }
}

/// Whether `value` serialises (compactly, as [`Body::Json`] is sent) to exactly `bytes`: compared as it is written,
/// stopping at the first difference, instead of into a copy compared after. Every recorded REST body is checked so.
fn serialises_to(value: &Value, bytes: &[u8]) -> bool {
    struct Same<'a>(&'a [u8]);
    impl std::io::Write for Same<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match self.0.strip_prefix(buf) {
                Some(rest) => {
                    self.0 = rest;
                    Ok(buf.len())
                }
                None => Err(std::io::ErrorKind::InvalidData.into()),
            }
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut rest = Same(bytes);
    serde_json::to_writer(&mut rest, value).is_ok() && rest.0.is_empty()
}

#[cfg(test)]
mod tests;
