//! Answers in the other transport: a gRPC recording served to a REST client, a REST recording to a gRPC client,
//! when the index matched the request by its logical form ([`yc_cassette::Hit::translated`]).
//!
//! The REST API is a gRPC-JSON transcoder in front of the gRPC services, so this does what it does: a gRPC answer
//! becomes the output message as camelCase JSON (int64 as strings) or, for an error, HTTP status from the gRPC code
//! and a `{"code", "message", "details"}` body; a REST answer becomes the output message, framed, or the status it
//! describes. Recorded headers other than framing and `grpc-*` ones (`x-request-id`, ...) are kept, and
//! [`TRANSLATED_HEADER`] names the direction. Pure: no IO, no matching; it does not translate streaming calls (the
//! index never matches them across transports) or custom response headers' meaning.

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use prost::Message as _;
use serde_json::Value;
use yc_cassette::{Body, GrpcInteraction, Headers, Interaction, RestInteraction};
use yc_proto::Schema;
use yc_proto::google::rpc::Status as RpcStatus;
use yc_proto::json::{ParseOptions, Style};

use super::prepared::{Prepared, header_map};
use crate::grpc::{self, Code, Status};

/// The header that marks a translated answer: `grpc->rest` or `rest->grpc`.
pub const TRANSLATED_HEADER: HeaderName = HeaderName::from_static("x-yc-vcr-translated");

/// Which way an interaction is translated: a recording is always served in the other transport.
pub(crate) fn direction(interaction: &Interaction) -> &'static str {
    match interaction {
        Interaction::Grpc(_) => "grpc->rest",
        Interaction::Rest(_) => "rest->grpc",
    }
}

/// The recorded answer in the other transport; the error says what cannot be translated.
pub(crate) fn prepare(interaction: &Interaction, schema: &Schema) -> Result<Prepared, String> {
    match interaction {
        Interaction::Grpc(g) => grpc_to_rest(g, schema),
        Interaction::Rest(r) => rest_to_grpc(r, schema),
    }
}

/// The HTTP status the transcoder gives a gRPC code (`yc_proto::http`'s map).
pub fn http_status(code: i32) -> StatusCode {
    StatusCode::from_u16(yc_proto::http::http_status(code))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The gRPC code of an HTTP error whose body names none (`yc_proto::http`'s map).
pub fn grpc_code(status: StatusCode) -> Code {
    yc_proto::http::grpc_code(status.as_u16())
}

fn grpc_to_rest(interaction: &GrpcInteraction, schema: &Schema) -> Result<Prepared, String> {
    let method = schema
        .method(&interaction.method)
        .ok_or_else(|| format!("method `{}` is not in the schema", interaction.method))?;
    let recorded = &interaction.response;
    let mut headers = kept(&recorded.headers)?;
    headers.extend(kept(&recorded.trailers)?);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(TRANSLATED_HEADER, HeaderValue::from_static("grpc->rest"));
    let status = &recorded.status;
    let body = if status.code == 0 {
        let output = schema
            .message(&method.output_type)
            .ok_or_else(|| format!("type `{}` is not in the schema", method.output_type))?;
        let bytes = match recorded.messages.as_slice() {
            [message] => message
                .to_bytes(schema)
                .map_err(|error| format!("response message: {error}"))?,
            other => return Err(format!("{} response messages, expected 1", other.len())),
        };
        output
            .to_json(&bytes, Style::Camel)
            .map_err(|error| format!("response message: {error}"))?
    } else {
        let details = match status
            .details_bin_text()
            .map_err(|error| format!("status details: {error}"))?
        {
            Some(text) => status_details_camel(&text)?,
            None => Vec::new(),
        };
        serde_json::json!({ "code": status.code, "message": status.message, "details": details })
            .to_string()
    };
    Ok(Prepared::from_parts(
        http_status(status.code),
        headers,
        Bytes::from(body),
        None,
    ))
}

/// `grpc-status-details-bin` text as the `details` of a REST error: each `Any` as camelCase JSON with `@type`.
fn status_details_camel(text: &str) -> Result<Vec<Value>, String> {
    let bytes =
        grpc::decode_bin(text.as_bytes()).ok_or("status details are not base64".to_owned())?;
    let status =
        RpcStatus::decode(bytes.as_slice()).map_err(|error| format!("status details: {error}"))?;
    let status = yc_proto::json::to_value(&status, Style::Camel)
        .map_err(|error| format!("status details: {error}"))?;
    Ok(match status.get("details") {
        Some(Value::Array(details)) => details.clone(),
        _ => Vec::new(),
    })
}

fn rest_to_grpc(interaction: &RestInteraction, schema: &Schema) -> Result<Prepared, String> {
    let request = &interaction.request;
    let method = schema
        .route(&request.method, &request.path)
        .ok_or_else(|| format!("`{} {}` matches no HTTP rule", request.method, request.path))?
        .method;
    let recorded = &interaction.response;
    let status = StatusCode::from_u16(recorded.status)
        .map_err(|_| format!("`{}` is not an HTTP status code", recorded.status))?;
    let mut headers = kept(&recorded.headers)?;
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(grpc::GRPC_CONTENT_TYPE),
    );
    headers.insert(TRANSLATED_HEADER, HeaderValue::from_static("rest->grpc"));
    let json = body_json(&recorded.body);
    if status.is_success() {
        let output = schema
            .message(&method.output_type)
            .ok_or_else(|| format!("type `{}` is not in the schema", method.output_type))?;
        let value = match json {
            Some(Ok(value)) => value,
            None => Value::Object(serde_json::Map::new()),
            Some(Err(error)) => return Err(format!("response body: {error}")),
        };
        let options = ParseOptions {
            ignore_unknown_fields: true,
        };
        let bytes = output
            .from_json_value(&value, options)
            .map_err(|error| format!("response body: {error}"))?;
        let mut body = BytesMut::new();
        grpc::encode_frame(&bytes, &mut body);
        let trailers = Status {
            code: Code::Ok as i32,
            message: String::new(),
            details: None,
        }
        .to_trailers();
        return Ok(Prepared::from_parts(
            StatusCode::OK,
            headers,
            body.freeze(),
            Some(trailers),
        ));
    }
    let error = json.and_then(Result::ok).unwrap_or(Value::Null);
    let code = error
        .get("code")
        .and_then(Value::as_i64)
        .and_then(|code| i32::try_from(code).ok())
        .filter(|code| *code != 0)
        .unwrap_or(grpc_code(status) as i32);
    let message = match error.get("message").and_then(Value::as_str) {
        Some(message) => message.to_owned(),
        None => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let details = error
        .get("details")
        .filter(|details| details.as_array().is_some_and(|d| !d.is_empty()))
        .and_then(|details| status_details_bin(code, &message, details));
    Status {
        code,
        message,
        details,
    }
    .write_to(&mut headers);
    // Trailers-only, as a server answers an error without messages.
    Ok(Prepared::from_parts(
        StatusCode::OK,
        headers,
        Bytes::new(),
        None,
    ))
}

/// The encoded `google.rpc.Status` for `grpc-status-details-bin`; `None` when the details are not known types.
fn status_details_bin(code: i32, message: &str, details: &Value) -> Option<Bytes> {
    let value = serde_json::json!({ "code": code, "message": message, "details": details });
    let options = ParseOptions {
        ignore_unknown_fields: true,
    };
    let status: RpcStatus = yc_proto::json::from_value(&value, options).ok()?;
    Some(Bytes::from(status.encode_to_vec()))
}

fn body_json(body: &Body) -> Option<Result<Value, String>> {
    match body {
        Body::Empty => None,
        Body::Json(value) => Some(Ok(value.clone())),
        other => Some(serde_json::from_slice(&other.to_bytes()).map_err(|error| error.to_string())),
    }
}

/// Recorded fields a translated answer keeps: not framing, not `content-type`, not `grpc-*`.
fn kept(recorded: &Headers) -> Result<HeaderMap, String> {
    let mut map = header_map(recorded, "response header")?;
    map.remove(CONTENT_TYPE);
    map.remove(CONTENT_LENGTH);
    let grpc: Vec<HeaderName> = map
        .keys()
        .filter(|name| name.as_str().starts_with("grpc-"))
        .cloned()
        .collect();
    for name in grpc {
        map.remove(name);
    }
    Ok(map)
}

#[cfg(test)]
mod tests;
