//! Requests reduced to what takes part in matching: recorded and live requests decoded, redacted and normalised the
//! same way (placeholders by kind, JSON through its type, REST bodies decoded per `content-encoding`), and the
//! logical form a REST request stands for.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use super::{Normalised, Request};
use crate::decode::query_pairs;
use crate::model::{Body, Headers, Interaction, Message};
use crate::redact::{Redactor, normalise_placeholder_bytes, normalise_placeholders};
use crate::transcode::{TranscodeError, transcode};
use yc_proto::Schema;
use yc_proto::schema::MessageType;

/// The recorded request as matching sees it, and for a one-message gRPC request the bytes a client would send
/// for it when a live request of exactly those bytes is sure to normalise the same way (see [`fast_bytes`]).
pub(super) fn normalise_recorded(
    interaction: &Interaction,
    redactor: &Redactor,
    wanted: &[String],
    schema: &Schema,
) -> (Normalised, Option<Vec<u8>>) {
    match interaction {
        Interaction::Grpc(g) => {
            let one = g.request.messages.len() == 1;
            let mut bytes = None;
            let messages = g
                .request
                .messages
                .iter()
                .map(|recorded| {
                    let mut m = recorded.clone();
                    redactor.redact_message(&mut m);
                    let unchanged = m == *recorded;
                    let encoded = retype(&mut m, schema);
                    if one && unchanged {
                        bytes = encoded.filter(|_| fast_bytes(&g.method, &m, schema));
                    }
                    message_shape(&m)
                })
                .collect();
            let normalised = Normalised {
                transport: "grpc",
                method: g.method.clone(),
                path: None,
                query: None,
                raw_query: None,
                headers: header_pairs(&g.request.metadata, redactor, wanted),
                body: Value::Array(messages),
            };
            (normalised, bytes)
        }
        Interaction::Rest(r) => {
            let mut body = r.request.body.clone();
            redactor.redact_body(&mut body);
            let normalised = rest_normalised(
                &r.request.method,
                &r.request.path,
                &r.request.query,
                &r.request.headers,
                &body,
                redactor,
                wanted,
            );
            (normalised, None)
        }
    }
}

/// Whether a live request of the bytes `retype` gave for `m` (a recorded message, unchanged by redaction and
/// unchanged by retyping) normalises exactly as `m` does: the live path decodes with the method's input type, so
/// that must be `m`'s type, and `m` must have no raw bytes (a client would send those instead). Then the live
/// message is `m`'s JSON, its redaction changes nothing as it changed nothing in `m`, and the keys are equal.
pub(super) fn fast_bytes(method: &str, m: &Message, schema: &Schema) -> bool {
    m.raw.is_none()
        && m.note.is_none()
        && input_type(method, schema)
            .zip(m.type_name.as_deref())
            .is_some_and(|(input, name)| input.full_name() == name)
}

pub(super) fn normalise_live(
    request: &Request<'_>,
    redactor: &Redactor,
    wanted: &[String],
    schema: &Schema,
) -> Normalised {
    match *request {
        Request::Grpc {
            method,
            metadata,
            messages,
        } => {
            let input = input_type(method, schema);
            let messages = messages
                .iter()
                .map(|bytes| {
                    let mut m = live_message(input, bytes);
                    redactor.redact_message(&mut m);
                    message_shape(&m)
                })
                .collect();
            Normalised {
                transport: "grpc",
                method: method.to_owned(),
                path: None,
                query: None,
                raw_query: None,
                headers: header_pairs(metadata, redactor, wanted),
                body: Value::Array(messages),
            }
        }
        Request::Rest {
            method,
            path,
            query,
            headers,
            body,
        } => {
            // A compressed body is matched as what it decodes to, as it was recorded.
            let content_type = headers.get("content-type");
            let mut body = Body::from_wire(content_type, headers.get("content-encoding"), body)
                .map(|(body, _)| body)
                .unwrap_or_else(|_| Body::from_bytes(content_type, body));
            redactor.redact_body(&mut body);
            rest_normalised(method, path, query, headers, &body, redactor, wanted)
        }
    }
}

/// The input type of a gRPC method, if the schema knows it.
pub(super) fn input_type<'s>(method: &str, schema: &'s Schema) -> Option<&'s MessageType> {
    schema
        .method(method)
        .and_then(|m| schema.message(&m.input_type))
}

/// A live request message decoded through its type (raw bytes when that fails), before redaction.
pub(super) fn live_message(input: Option<&MessageType>, bytes: &[u8]) -> Message {
    let json = input.and_then(|t| t.to_json_value(bytes, yc_proto::json::Style::Snake).ok());
    Message {
        type_name: None,
        raw: json.is_none().then(|| bytes.to_vec()),
        json,
        note: None,
    }
}

pub(super) fn rest_normalised(
    method: &str,
    path: &str,
    query: &str,
    headers: &Headers,
    body: &Body,
    redactor: &Redactor,
    wanted: &[String],
) -> Normalised {
    let path = redactor.redact_text(path);
    let query = redactor.redact_query(query);
    let mut pairs: Vec<(String, String)> = query_pairs(&query)
        .into_iter()
        .map(|(k, v)| (k, normalised_string(&v)))
        .collect();
    pairs.sort();
    let mut q = Map::new();
    for (k, v) in pairs {
        match q.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(a) => a.push(Value::String(v)),
            _ => unreachable!("query values are arrays"),
        }
    }
    let body = match body {
        Body::Empty => Value::Object(Map::new()),
        Body::Json(v) => tagged("json", normalise_value(v.clone())),
        Body::Text(t) => match serde_json::from_str::<Value>(t) {
            Ok(v) => tagged("json", normalise_value(v)),
            Err(_) => tagged("text", Value::String(normalised_string(t))),
        },
        Body::Base64(b) => match std::str::from_utf8(b) {
            Ok(t) => match serde_json::from_str::<Value>(t) {
                Ok(v) => tagged("json", normalise_value(v)),
                Err(_) => tagged("text", Value::String(normalised_string(t))),
            },
            Err(_) => tagged("base64", Value::String(BASE64.encode(b))),
        },
    };
    Normalised {
        transport: "rest",
        method: method.to_ascii_uppercase(),
        path: Some(normalised_string(&path)),
        query: Some(Value::Object(q)),
        raw_query: Some(query),
        headers: header_pairs(headers, redactor, wanted),
        body,
    }
}

/// The gRPC form of a request, which REST and gRPC requests of one call share.
pub(super) struct Logical {
    pub method: String,
    /// The one request message, snake_case as its type writes it, redacted and normalised.
    pub message: Value,
}

pub(super) enum LogicalForm {
    Found(Logical),
    /// The method resolved but the request does not transcode: the miss says why.
    Failed {
        method: String,
        reason: String,
    },
    /// No logical form: no HTTP rule, a streaming method, an unknown route.
    None,
}

impl LogicalForm {
    pub(super) fn of(n: &Normalised, schema: &Schema) -> LogicalForm {
        match &n.path {
            None => {
                let Some(method) = schema.method(&n.method) else {
                    return LogicalForm::None;
                };
                match n.body.as_array().map(Vec::as_slice) {
                    Some([message]) if method.is_unary() && !method.http.is_empty() => {
                        LogicalForm::Found(Logical {
                            method: method.grpc_path.clone(),
                            message: message.clone(),
                        })
                    }
                    _ => LogicalForm::None,
                }
            }
            Some(path) => {
                let body = match n.body.as_object() {
                    Some(b) if b.is_empty() => Ok(None),
                    Some(b) => b.get("json").map(Some).ok_or(TranscodeError::BodyNotJson),
                    None => Err(TranscodeError::BodyNotJson),
                };
                let query = n.raw_query.as_deref().unwrap_or("");
                let result = body.map_err(|e| (None, e)).and_then(|body| {
                    // An unparsable body still names its method, for the miss.
                    transcode(schema, &n.method, path, query, body)
                });
                match result {
                    Ok(t) => LogicalForm::Found(Logical {
                        method: t.method.grpc_path.clone(),
                        message: normalise_value(t.message),
                    }),
                    Err((Some(method), e)) => LogicalForm::Failed {
                        method: method.grpc_path.clone(),
                        reason: e.to_string(),
                    },
                    Err((None, TranscodeError::BodyNotJson)) => {
                        match schema.route(&n.method, path) {
                            Some(m) => LogicalForm::Failed {
                                method: m.method.grpc_path.clone(),
                                reason: TranscodeError::BodyNotJson.to_string(),
                            },
                            None => LogicalForm::None,
                        }
                    }
                    Err(_) => LogicalForm::None,
                }
            }
        }
    }
}

pub(super) fn tagged(tag: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(tag.into(), value);
    Value::Object(m)
}

/// Recorded JSON in the form a live request decodes to: through its type and back, so a hand-written
/// cassette may spell fields in camelCase or int64 as numbers and still match. Left as is when that fails.
/// Gives the encoded bytes when the JSON came back unchanged: then a live request of exactly those bytes decodes
/// to this very JSON (the fast path relies on it).
pub(super) fn retype(m: &mut Message, schema: &Schema) -> Option<Vec<u8>> {
    let (Some(json), Some(ty)) = (
        &m.json,
        m.type_name.as_deref().and_then(|name| schema.message(name)),
    ) else {
        return None;
    };
    let bytes = ty
        .from_json_value(json, yc_proto::json::ParseOptions::default())
        .ok()?;
    let again = ty
        .to_json_value(&bytes, yc_proto::json::Style::Snake)
        .ok()?;
    if again == *json {
        return Some(bytes);
    }
    m.json = Some(again);
    None
}

pub(super) fn message_shape(m: &Message) -> Value {
    match (&m.json, &m.raw) {
        (Some(json), _) => normalise_value(json.clone()),
        // Placeholders compare by kind inside raw bytes too, so a fresh credential of the same kind still matches.
        (None, Some(raw)) => {
            let normalised = normalise_placeholder_bytes(raw);
            let raw = normalised.as_deref().unwrap_or(raw);
            tagged("@raw", Value::String(BASE64.encode(raw)))
        }
        (None, None) => tagged("@dropped", Value::Bool(true)),
    }
}

pub(super) fn header_pairs(
    headers: &Headers,
    redactor: &Redactor,
    wanted: &[String],
) -> Vec<(String, String)> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut kept: Headers = Headers(
        headers
            .iter()
            .filter(|(n, _)| wanted.iter().any(|w| w.eq_ignore_ascii_case(n)))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
            .collect(),
    );
    redactor.redact_headers(&mut kept);
    kept.0
        .into_iter()
        .map(|(n, v)| (n, normalised_string(&v)))
        .collect()
}

pub(super) fn normalised_string(s: &str) -> String {
    normalise_placeholders(s).unwrap_or_else(|| s.to_owned())
}

/// Placeholders reduced to their kind, everywhere in a value (keys too).
pub(super) fn normalise_value(mut value: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(n) = normalise_placeholders(s) {
                    *s = n;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(m) => {
                if m.keys().any(|k| k.contains("<redacted:")) {
                    let old = std::mem::take(m);
                    for (k, v) in old {
                        m.insert(normalise_placeholders(&k).unwrap_or(k), v);
                    }
                }
                m.values_mut().for_each(walk);
            }
            _ => {}
        }
    }
    walk(&mut value);
    value
}
