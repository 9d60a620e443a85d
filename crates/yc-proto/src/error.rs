use std::fmt;

use crate::json::parse::Located;

/// Everything that can go wrong turning bytes or JSON into messages and back.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A descriptor set that does not build a schema: a missing import, a bad option, an unparsable template.
    #[error("invalid descriptors: {0}")]
    Descriptors(String),
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
    /// An `Any` holds another type than the one asked for.
    #[error("the `Any` holds `{found}`, not `{expected}`")]
    AnyType { expected: String, found: String },
    /// The JSON does not parse as the named type: where (`path`, e.g. `os.type`, when inside a field), what,
    /// and the line and column at the end of `message` when the input was text.
    #[error("invalid `{type_name}` JSON{}: {message}", At(path))]
    Json {
        type_name: String,
        path: Option<String>,
        message: String,
    },
}

impl Error {
    pub(crate) fn json(type_name: &str, message: impl fmt::Display) -> Self {
        Error::Json {
            type_name: type_name.to_owned(),
            path: None,
            message: message.to_string(),
        }
    }

    /// A parse error from serde_json, with the field path and position our parsers put in its message.
    pub(crate) fn json_parse(type_name: &str, error: &serde_json::Error) -> Self {
        let text = error.to_string();
        let located = Located::parse(&text);
        let mut message = located.message.to_owned();
        located.push_position(&mut message);
        Error::Json {
            type_name: type_name.to_owned(),
            path: located.path.map(str::to_owned),
            message,
        }
    }

    pub(crate) fn decode(type_name: &str, source: prost::DecodeError) -> Self {
        Error::Decode {
            type_name: type_name.to_owned(),
            source,
        }
    }
}

/// `` at `PATH` `` when there is a path.
struct At<'a>(&'a Option<String>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, " at `{path}`"),
            None => Ok(()),
        }
    }
}
