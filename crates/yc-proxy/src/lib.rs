//! Record and replay servers for the Yandex Cloud API: gRPC over cleartext HTTP/2 and REST over HTTP/1.1 and HTTP/2,
//! on one port, over tokio and hyper.
//!
//! Invariants:
//! - this is the only crate that touches sockets; the cassette crate below it is pure, the binary above it only wires
//!   addresses, signals and output;
//! - nothing a client sends can panic the server or drop a connection: malformed frames, oversized messages,
//!   unknown methods and unmatched requests all become a gRPC status or an HTTP response;
//! - errors become responses in one place per server ([`grpc::FrameError::to_status`] for framing).
//!
//! Modules: [`server`] (the listener, connection serving and graceful shutdown), [`grpc`] (framing and status
//! helpers).

use std::net::SocketAddr;

pub mod grpc;
pub mod record;
pub mod server;
pub mod upstream;

/// Errors starting a server. Per-request problems are never errors: they become responses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on `{addr}`")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the listening address")]
    LocalAddr(#[source] std::io::Error),
    #[error("invalid upstream `{url}`: {reason}")]
    InvalidUpstream { url: String, reason: String },
    #[error("cannot use the upstream CA: {0}")]
    UpstreamCa(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("cassette `{}` already exists: pass --overwrite to replace it or --append to add to it", path.display())]
    CassetteExists { path: std::path::PathBuf },
    #[error(transparent)]
    Cassette(#[from] yc_cassette::Error),
    #[error("cannot write cassette `{}`: {message}", path.display())]
    CassetteWrite { path: std::path::PathBuf, message: String },
    #[error("secrets survived redaction, so those interactions were not written to `{}`: {findings}", path.display())]
    SecretsSurvived { path: std::path::PathBuf, findings: String },
}
