//! The REST form of a call turned into its gRPC request message, as the gRPC-JSON transcoder in front of the
//! Yandex Cloud API does it (`google.api.http` rules): the verb and path pick the method and bind fields, the body
//! fills the message (`*`) or one field, and the remaining query parameters set fields by JSON or proto name,
//! dotted for nested fields, repeated for repeated fields, typed by the request message's descriptor.
//!
//! Matching uses this to give a REST request and a gRPC request of the same call one logical key.
//! Pure: no IO, no redaction (the caller redacts first). It does not translate responses, and it refuses rather
//! than guesses: streaming methods, unknown query parameters, map fields and message fields in the query are errors.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};
use yc_proto::json::{ParseOptions, Style};
use yc_proto::methods::Method;

use crate::decode::query_pairs;

/// A REST request as the gRPC call it stands for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transcoded {
    pub(crate) method: &'static Method,
    /// The request message as snake_case JSON, written by its type (canonical: defaults left out).
    pub(crate) message: Value,
}

/// Why a REST request has no gRPC form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum TranscodeError {
    #[error("no HTTP rule matches `{verb} {path}`")]
    NoRule { verb: String, path: String },
    #[error("`{method}` is a streaming method")]
    Streaming { method: &'static str },
    #[error("request type `{0}` is not in the registry")]
    UnknownType(&'static str),
    #[error("query parameter `{name}` is not a field of `{message}`")]
    UnknownParameter { name: String, message: String },
    #[error("query parameter `{name}`: {reason}")]
    BadParameter { name: String, reason: String },
    #[error("path variable `{name}`: {reason}")]
    BadBinding { name: String, reason: String },
    #[error("`{method}` takes no request body")]
    UnexpectedBody { method: &'static str },
    #[error("the request body is not JSON")]
    BodyNotJson,
    #[error("the request is not a valid `{message}`: {reason}")]
    Message {
        message: &'static str,
        reason: String,
    },
}

/// The gRPC form of `verb path?query` with `body` (`None` when empty).
/// `path` is as sent (percent-encoded); `query` is the raw query string.
/// On error, the method is given when the route resolved.
pub(crate) fn transcode(
    verb: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
) -> Result<Transcoded, (Option<&'static Method>, TranscodeError)> {
    let Some(rest) = yc_proto::methods::match_rest(verb, path) else {
        return Err((
            None,
            TranscodeError::NoRule {
                verb: verb.to_ascii_uppercase(),
                path: path.to_owned(),
            },
        ));
    };
    let method = rest.method;
    build(method, &rest.bindings, query, body).map_err(|e| (Some(method), e))
}

fn build(
    method: &'static Method,
    bindings: &[(&'static str, String)],
    query: &str,
    body: Option<&Value>,
) -> Result<Transcoded, TranscodeError> {
    if method.client_streaming || method.server_streaming {
        return Err(TranscodeError::Streaming {
            method: method.grpc_path,
        });
    }
    let ty = yc_proto::registry::get(method.input_type)
        .ok_or(TranscodeError::UnknownType(method.input_type))?;
    let descriptor = ty.descriptor();
    let rule_body = method.http.map_or("", |rule| rule.body);
    let mut message = Map::new();
    match (rule_body, body) {
        (_, None) => {}
        ("", Some(_)) => {
            return Err(TranscodeError::UnexpectedBody {
                method: method.grpc_path,
            });
        }
        ("*", Some(Value::Object(fields))) => message = fields.clone(),
        ("*", Some(_)) => {
            return Err(TranscodeError::Message {
                message: method.input_type,
                reason: "the body is not a JSON object".into(),
            });
        }
        (field, Some(value)) => {
            message.insert(field.to_owned(), value.clone());
        }
    }
    for (name, value) in query_pairs(query) {
        let fields =
            resolve(&descriptor, &name).ok_or_else(|| TranscodeError::UnknownParameter {
                name: name.clone(),
                message: method.input_type.to_owned(),
            })?;
        set(&mut message, &fields, &value)
            .map_err(|reason| TranscodeError::BadParameter { name, reason })?;
    }
    for (name, value) in bindings {
        let fields = resolve(&descriptor, name).ok_or_else(|| TranscodeError::BadBinding {
            name: (*name).to_owned(),
            reason: format!("not a field of `{}`", method.input_type),
        })?;
        set(&mut message, &fields, value).map_err(|reason| TranscodeError::BadBinding {
            name: (*name).to_owned(),
            reason,
        })?;
    }
    let invalid = |e: yc_proto::Error| TranscodeError::Message {
        message: method.input_type,
        reason: e.to_string(),
    };
    let bytes = ty
        .from_json_value(&Value::Object(message), ParseOptions::default())
        .map_err(invalid)?;
    let message = ty.to_json_value(&bytes, Style::Snake).map_err(invalid)?;
    Ok(Transcoded { method, message })
}

/// The fields a dotted name walks through, each segment by JSON or proto name.
fn resolve(descriptor: &MessageDescriptor, name: &str) -> Option<Vec<FieldDescriptor>> {
    let mut fields = Vec::new();
    let mut current = descriptor.clone();
    let segments: Vec<&str> = name.split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        let field = current
            .get_field_by_json_name(segment)
            .or_else(|| current.get_field_by_name(segment))?;
        if i + 1 < segments.len() {
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
    let number = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!("`{text}` is not {what}"))
        }
    };
    match kind {
        Kind::String | Kind::Bytes => Ok(Value::String(text.to_owned())),
        Kind::Bool => match text {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("`{text}` is not a bool (`true` or `false`)")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            let n = text.parse::<i32>();
            number(n.is_ok(), "a 32-bit integer")?;
            Ok(Value::from(n.unwrap_or_default()))
        }
        Kind::Uint32 | Kind::Fixed32 => {
            let n = text.parse::<u32>();
            number(n.is_ok(), "an unsigned 32-bit integer")?;
            Ok(Value::from(n.unwrap_or_default()))
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            number(text.parse::<i64>().is_ok(), "a 64-bit integer")?;
            Ok(Value::String(text.to_owned()))
        }
        Kind::Uint64 | Kind::Fixed64 => {
            number(text.parse::<u64>().is_ok(), "an unsigned 64-bit integer")?;
            Ok(Value::String(text.to_owned()))
        }
        Kind::Float | Kind::Double => match text {
            "NaN" | "Infinity" | "-Infinity" => Ok(Value::String(text.to_owned())),
            _ => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("`{text}` is not a number")),
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
