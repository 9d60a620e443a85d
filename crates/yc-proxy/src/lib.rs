//! Record and replay servers for the Yandex Cloud API: gRPC over HTTP/2 and REST over HTTP/1.1 and HTTP/2, in
//! cleartext (HTTP/2 by prior knowledge) and over TLS ([`ServerConfig::tls`], certificates from the local [`Ca`]),
//! on one port, over tokio and hyper.
//!
//! Invariants:
//! - this is the only crate that touches sockets; the cassette crate below it is pure, the binary above it only wires
//!   addresses, signals and output (it prints `listening on http://<addr>` itself, from [`ReplayServer::local_addr`]);
//! - nothing a client sends can panic the server or drop a connection: malformed frames, oversized messages,
//!   unsupported compression, wrong verbs and unmatched requests all become a gRPC status or an HTTP response;
//! - errors become responses in one place per server: `Failure::into_response` in [`replay`], with
//!   [`grpc::FrameError::to_status`] for framing;
//! - a replayed response is the recorded one: headers, length-prefixed messages, trailers kept apart, status,
//!   percent-encoded `grpc-message` and `grpc-status-details-bin`, trailers-only where recorded so. Every response is
//!   prepared once at startup; a hit clones it;
//! - one logical API over two transports: a call recorded over gRPC also answers the same call over REST and the
//!   reverse (the index matches by the logical form when the exact one misses); such an answer is translated once,
//!   on first use, and carries `x-yc-vcr-translated: grpc->rest` or `rest->grpc` ([`replay::translate`]).
//!
//! A request that matches nothing gets gRPC `UNIMPLEMENTED` (REST: HTTP 501) with a message starting
//! `yc-vcr replay: no recorded interaction matches`, an `ErrorInfo` (domain `yc-vcr`, reason
//! `NO_RECORDED_INTERACTION`) and the header `x-yc-vcr-miss: 1`; see [`replay`] for why.
//!
//! Modules: [`server`] (the listener, per-connection sniffing of TLS or cleartext, graceful shutdown), [`tls`] (the
//! rustls server side) and [`ca`] (the local CA), [`grpc`] (framing and status helpers), [`replay`] (the replay
//! service), `record` and `upstream` (the recording proxy).
//!
//! With TLS, from the CA in a folder (made there on first use):
//!
//! ```no_run
//! # async fn run(index: yc_cassette::Index) -> Result<(), yc_proxy::Error> {
//! let ca = yc_proxy::Ca::open_or_create(std::path::Path::new("target/ca"))?;
//! println!("CA certificate: {}", ca.cert_path().display());
//! let mut config = yc_proxy::ReplayConfig::default();
//! config.server.tls = Some(yc_proxy::TlsConfig::new(ca, &[])?);
//! let server = yc_proxy::ReplayServer::start("127.0.0.1:0".parse().unwrap(), index, config)?;
//! # drop(server);
//! # Ok(())
//! # }
//! ```
//!
//! ```no_run
//! # async fn run(index: yc_cassette::Index) -> Result<(), yc_proxy::Error> {
//! let server = yc_proxy::ReplayServer::start("127.0.0.1:0".parse().unwrap(), index, Default::default())?;
//! println!("listening on http://{}", server.local_addr());
//! server.shutdown_on(async { let _ = tokio::signal::ctrl_c().await; }).await;
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;

pub use ca::Ca;
pub use episodes::EpisodesServer;
pub use replay::{ReplayConfig, ReplayServer, Replayer};
pub use server::{Server, ServerConfig};
pub use tls::TlsConfig;

pub mod ca;
mod discovery;
pub mod episodes;
pub mod grpc;
pub mod record;
pub mod replay;
pub mod server;
pub mod tls;
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
    #[error("cannot serve reflection from the descriptor set: {0}")]
    Reflection(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("cannot use the local CA at `{}`: {message}", path.display())]
    Ca {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("cassette `{}` already exists: pass --overwrite to replace it or --append to add to it", path.display())]
    CassetteExists { path: std::path::PathBuf },
    #[error(transparent)]
    Cassette(#[from] yc_cassette::Error),
    #[error("cannot write cassette `{}`: {message}", path.display())]
    CassetteWrite {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("secrets survived redaction, so those interactions were not written to `{}`: {findings}", path.display())]
    SecretsSurvived {
        path: std::path::PathBuf,
        findings: String,
    },
}
