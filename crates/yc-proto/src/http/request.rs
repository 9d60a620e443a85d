//! The request message of a REST call, as a gRPC-JSON transcoder builds it from the pieces of the request: the
//! body fills the message (`*`) or one field, query parameters set fields by JSON or proto name (dotted for nested
//! fields, repeated for repeated fields), and path bindings set theirs, each typed by the request's descriptor.
//!
//! The result is JSON for the request type's parser (int64 kinds as strings, enums by name), not yet checked
//! against the type: the caller parses it. Map fields and message fields cannot be set from a URL.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

/// The pieces of a REST request that make its message.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The rule's `body`: `*` for the whole message, a field name, or empty for none.
    pub body_rule: &'a str,
    /// Path bindings: `(field path, decoded value)`.
    pub bindings: &'a [(&'a str, String)],
    /// Query parameters, decoded, in order.
    pub query: &'a [(String, String)],
    /// The parsed request body, if there is one.
    pub body: Option<&'a Value>,
}

/// Why the pieces do not make a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("query parameter `{name}` is not a field of `{message}`")]
    UnknownParameter { name: String, message: String },
    #[error("query parameter `{name}`: {reason}")]
    BadParameter { name: String, reason: String },
    #[error("path variable `{name}`: {reason}")]
    BadBinding { name: String, reason: String },
    #[error("`{method}` takes no request body")]
    UnexpectedBody { method: String },
    #[error("the request is not a valid `{message}`: {reason}")]
    Message { message: String, reason: String },
}

/// The request message of `parts` as JSON for `descriptor`'s parser; `method` names the call in errors.
pub fn request_json(
    descriptor: &MessageDescriptor,
    method: &str,
    parts: RequestParts<'_>,
) -> Result<Map<String, Value>, RequestError> {
    let message_name = descriptor.full_name();
    let mut message = Map::new();
    match (parts.body_rule, parts.body) {
        (_, None) => {}
        ("", Some(_)) => {
            return Err(RequestError::UnexpectedBody {
                method: method.to_owned(),
            });
        }
        ("*", Some(Value::Object(fields))) => message = fields.clone(),
        ("*", Some(_)) => {
            return Err(RequestError::Message {
                message: message_name.to_owned(),
                reason: "the body is not a JSON object".into(),
            });
        }
        (field, Some(value)) => {
            message.insert(field.to_owned(), value.clone());
        }
    }
    for (name, value) in parts.query {
        let fields = resolve(descriptor, name).ok_or_else(|| RequestError::UnknownParameter {
            name: name.clone(),
            message: message_name.to_owned(),
        })?;
        set(&mut message, &fields, value).map_err(|reason| RequestError::BadParameter {
            name: name.clone(),
            reason,
        })?;
    }
    for (name, value) in parts.bindings {
        let fields = resolve(descriptor, name).ok_or_else(|| RequestError::BadBinding {
            name: (*name).to_owned(),
            reason: format!("not a field of `{message_name}`"),
        })?;
        set(&mut message, &fields, value).map_err(|reason| RequestError::BadBinding {
            name: (*name).to_owned(),
            reason,
        })?;
    }
    Ok(message)
}

/// The fields a dotted name walks through, each segment by JSON or proto name.
fn resolve(descriptor: &MessageDescriptor, name: &str) -> Option<Vec<FieldDescriptor>> {
    let mut fields = Vec::new();
    let mut current = descriptor.clone();
    let mut segments = name.split('.').peekable();
    while let Some(segment) = segments.next() {
        let field = current
            .get_field_by_json_name(segment)
            .or_else(|| current.get_field_by_name(segment))?;
        if segments.peek().is_some() {
            match field.kind() {
                Kind::Message(m) if !field.is_list() && !field.is_map() => current = m,
                _ => return None,
            }
        }
        fields.push(field);
    }
    Some(fields)
}

/// Sets the field at `fields` to `text` converted by its type; repeated fields collect every value.
/// Keys are written with proto names; an existing key in either spelling is reused, so body and query agree.
fn set(
    message: &mut Map<String, Value>,
    fields: &[FieldDescriptor],
    text: &str,
) -> Result<(), String> {
    let Some((last, parents)) = fields.split_last() else {
        return Err("empty name".into());
    };
    let mut target = message;
    for field in parents {
        let key = key_for(target, field);
        let child = target
            .entry(key)
            .or_insert_with(|| Value::Object(Map::new()));
        target = match child {
            Value::Object(map) => map,
            _ => return Err(format!("`{}` is not an object in the body", field.name())),
        };
    }
    if last.is_map() {
        return Err(format!(
            "map field `{}` cannot be set from a URL",
            last.name()
        ));
    }
    let value = scalar(&last.kind(), text)?;
    let key = key_for(target, last);
    if last.is_list() {
        match target
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(items) => items.push(value),
            _ => return Err(format!("`{}` is not a list in the body", last.name())),
        }
    } else {
        target.insert(key, value);
    }
    Ok(())
}

fn key_for(map: &Map<String, Value>, field: &FieldDescriptor) -> String {
    if map.contains_key(field.json_name()) {
        field.json_name().to_owned()
    } else {
        field.name().to_owned()
    }
}

/// One URL value as the JSON the field's type reads: int64 kinds stay strings (as proto3 JSON writes them).
fn scalar(kind: &Kind, text: &str) -> Result<Value, String> {
    let not = |what: &str| format!("`{text}` is not {what}");
    match kind {
        Kind::String | Kind::Bytes => Ok(Value::String(text.to_owned())),
        Kind::Bool => match text {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(not("a bool (`true` or `false`)")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => text
            .parse::<i32>()
            .map(Value::from)
            .map_err(|_| not("a 32-bit integer")),
        Kind::Uint32 | Kind::Fixed32 => text
            .parse::<u32>()
            .map(Value::from)
            .map_err(|_| not("an unsigned 32-bit integer")),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => text
            .parse::<i64>()
            .map(|_| Value::String(text.to_owned()))
            .map_err(|_| not("a 64-bit integer")),
        Kind::Uint64 | Kind::Fixed64 => text
            .parse::<u64>()
            .map(|_| Value::String(text.to_owned()))
            .map_err(|_| not("an unsigned 64-bit integer")),
        Kind::Float | Kind::Double => match text {
            "NaN" | "Infinity" | "-Infinity" => Ok(Value::String(text.to_owned())),
            _ => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| not("a number")),
        },
        Kind::Enum(e) => {
            if e.get_value_by_name(text).is_some() {
                Ok(Value::String(text.to_owned()))
            } else if let Some(v) = text.parse::<i32>().ok().and_then(|n| e.get_value(n)) {
                Ok(Value::String(v.name().to_owned()))
            } else {
                Err(format!("`{text}` is not a value of `{}`", e.full_name()))
            }
        }
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask" => Ok(Value::String(text.to_owned())),
            name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
                match m.get_field_by_name("value") {
                    Some(inner) => scalar(&inner.kind(), text),
                    None => Err(format!("`{name}` cannot be set from a URL")),
                }
            }
            name => Err(format!(
                "`{name}` is a message: set its fields as `field.subfield`"
            )),
        },
    }
}

#[cfg(test)]
mod tests;
