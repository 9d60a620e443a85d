//! The REST form of a call turned into its gRPC request message, as the gRPC-JSON transcoder in front of the
//! Yandex Cloud API does it (`google.api.http` rules): the verb and path pick the method and bind fields, the body
//! fills the message (`*`) or one field, and the remaining query parameters set fields by JSON or proto name,
//! dotted for nested fields, repeated for repeated fields, typed by the request message's descriptor.
//!
//! Matching uses this to give a REST request and a gRPC request of the same call one logical key.
//! The rules themselves are `yc_proto::http`'s (routing, [`request_json`]); this adds the schema's methods and the
//! request type's parser.
//! Pure: no IO, no redaction (the caller redacts first). It does not translate responses, and it refuses rather
//! than guesses: streaming methods, unknown query parameters, map fields and message fields in the query are errors.

use serde_json::Value;
use yc_proto::Schema;
use yc_proto::http::{RequestError, RequestParts, request_json};
use yc_proto::json::{ParseOptions, Style};
use yc_proto::schema::{HttpBinding, Method};

use crate::decode::query_pairs;

/// A REST request as the gRPC call it stands for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transcoded<'s> {
    pub(crate) method: &'s Method,
    /// The request message as snake_case JSON, written by its type (canonical: defaults left out).
    pub(crate) message: Value,
}

/// Why a REST request has no gRPC form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum TranscodeError {
    #[error("no HTTP rule matches `{verb} {path}`")]
    NoRule { verb: String, path: String },
    #[error("`{method}` is a streaming method")]
    Streaming { method: String },
    #[error("request type `{0}` is not in the schema")]
    UnknownType(String),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("the request body is not JSON")]
    BodyNotJson,
    #[error("the request is not a valid `{message}`: {reason}")]
    Message { message: String, reason: String },
}

/// The gRPC form of `verb path?query` with `body` (`None` when empty).
/// `path` is as sent (percent-encoded); `query` is the raw query string.
/// On error, the method is given when the route resolved.
pub(crate) fn transcode<'s>(
    schema: &'s Schema,
    verb: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
) -> Result<Transcoded<'s>, (Option<&'s Method>, TranscodeError)> {
    let Some(rest) = schema.route(verb, path) else {
        return Err((
            None,
            TranscodeError::NoRule {
                verb: verb.to_ascii_uppercase(),
                path: path.to_owned(),
            },
        ));
    };
    let method = rest.method;
    build(schema, method, rest.binding, &rest.bindings, query, body).map_err(|e| (Some(method), e))
}

fn build<'s>(
    schema: &'s Schema,
    method: &'s Method,
    rule: &HttpBinding,
    bindings: &[(&str, String)],
    query: &str,
    body: Option<&Value>,
) -> Result<Transcoded<'s>, TranscodeError> {
    if method.client_streaming || method.server_streaming {
        return Err(TranscodeError::Streaming {
            method: method.grpc_path.clone(),
        });
    }
    let ty = schema
        .message(&method.input_type)
        .ok_or_else(|| TranscodeError::UnknownType(method.input_type.clone()))?;
    let query = query_pairs(query);
    let parts = RequestParts {
        body_rule: &rule.body,
        bindings,
        query: &query,
        body,
    };
    let message = request_json(ty.descriptor(), &method.grpc_path, parts)?;
    let invalid = |e: yc_proto::Error| TranscodeError::Message {
        message: method.input_type.clone(),
        reason: e.to_string(),
    };
    let bytes = ty
        .from_json_value(&Value::Object(message), ParseOptions::default())
        .map_err(invalid)?;
    let message = ty.to_json_value(&bytes, Style::Snake).map_err(invalid)?;
    Ok(Transcoded { method, message })
}

#[cfg(test)]
mod tests;
