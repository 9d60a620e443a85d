use std::fmt;

/// Everything that can go wrong turning bytes or JSON into messages and back.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No message type of that name is known.
    #[error("unknown message type `{0}`")]
    UnknownType(String),
    /// The binary form does not decode as the named type.
    #[error("invalid `{type_name}` bytes")]
    Decode {
        type_name: String,
        #[source]
        source: prost::DecodeError,
    },
    /// The JSON does not parse as the named type.
    #[error("invalid `{type_name}` JSON: {message}")]
    Json { type_name: String, message: String },
}

impl Error {
    pub(crate) fn json(type_name: &str, message: impl fmt::Display) -> Self {
        Error::Json {
            type_name: type_name.to_owned(),
            message: message.to_string(),
        }
    }

    pub(crate) fn decode(type_name: &str, source: prost::DecodeError) -> Self {
        Error::Decode {
            type_name: type_name.to_owned(),
            source,
        }
    }
}
