//! The one error type of the crate: every failure names the file (or origin) and, where it can, the place in it.

use std::path::PathBuf;

/// Everything that can go wrong loading, saving, encoding or configuring cassettes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not a well-formed cassette: bad JSON, a missing or unknown field, a wrong type.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The cassette was written by another version of the format.
    #[error(
        "{origin}:{line}:{column}: cassette format version `{found}` is not supported, expected `{expected}`"
    )]
    Version {
        origin: String,
        line: usize,
        column: usize,
        found: String,
        expected: u32,
    },
    /// The cassette parses, but one interaction makes no sense: an unknown message type, JSON that is not that type.
    #[error("{origin}{}: interaction {interaction}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        origin: String,
        interaction: usize,
        line: Option<usize>,
        message: String,
    },
    /// A message cannot be turned into bytes.
    #[error(transparent)]
    Message(#[from] yc_proto::Error),
    /// A message has neither JSON nor raw bytes (its raw bytes were dropped because they carried a secret).
    #[error("message of type `{}` has no payload to send", type_name.as_deref().unwrap_or("unknown"))]
    NoPayload { type_name: Option<String> },
    /// A message has JSON but no type to encode it with.
    #[error("message has JSON but no type name, so it cannot be encoded")]
    Untyped,
    /// A cassette (or its journal) is not a regular file: reading a FIFO or a device could hang or never end.
    #[error("`{}` is {kind}, not a cassette file", path.display())]
    NotAFile { path: PathBuf, kind: &'static str },
    /// A cassette (or its journal) is larger than the limit.
    #[error("`{}` is {size} bytes, more than the limit of {limit} bytes (raise it with --max-cassette-size)", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    /// Another process is recording into the cassette.
    #[error("cassette `{}` is being recorded by another process ({}; lock `{}`)", cassette.display(), pid.map_or_else(|| "pid unknown".to_owned(), |pid| format!("pid {pid}")), lock.display())]
    Locked {
        cassette: PathBuf,
        lock: PathBuf,
        pid: Option<u32>,
    },
    /// A user redaction pattern is not a valid regular expression.
    #[error("invalid redaction pattern `{pattern}`: {source}")]
    Regex {
        pattern: String,
        #[source]
        source: regex::Error,
    },
}
