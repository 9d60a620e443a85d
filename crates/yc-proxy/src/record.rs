//! The record service: a transparent proxy in front of Yandex Cloud (or any upstream) that writes every completed
//! gRPC and REST call into a cassette, with secrets redacted.
//!
//! Three parts, each usable alone (a `new_episodes` server uses the last two):
//! - [`RecordServer`]: a listener, a [`Forwarder`] and a [`Recorder`] wired together (what `yc-vcr record` runs);
//! - [`Forwarder`] (`forward`): forwards each request, streams the answer back frame by frame (`tee`) and
//!   feeds the completed call to the recorder, holding the call's last frame until it is journaled;
//! - [`Recorder`] (`recorder`): owns one cassette (lock, journal, digest and saver thread; see `writer`), with the
//!   semantics of the modes ([`Mode`]): nothing written until something is recorded, a replaced cassette kept until
//!   the new one is complete, appending through the same journal, one writer at a time.
//!
//! Durability: a call whose client saw it complete is in the journal (`NAME.json.journal`): it survives `kill -9`.
//! The journal is synced to the disk in the background (batched, at most every 50 ms), so a power loss can lose the
//! last moments; the
//! pretty cassette is rewritten from it while recording (when idle, and each time it has grown fourfold) and at a clean
//! stop, after which the journal goes. Every reader recovers a journal a crash left ([`yc_cassette::Cassette::open`]).
//! The client always gets exactly what the upstream sent, except that discovery answers point at the proxy (see
//! `discovery`), a failing upstream becomes `UNAVAILABLE` or `502`, and a call that could not be journaled (a
//! full disk) ends with `INTERNAL` or a cut body instead of looking complete.

mod forward;
mod recorder;
mod tee;
mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use yc_cassette::Redactor;
use yc_proto::Schema;

pub use forward::{ForwardConfig, Forwarder, ProxyBody};
pub use recorder::{Mode, Recorded, Recorder, RecorderConfig, RecorderHandle, Summary};
#[doc(hidden)]
pub use yc_cassette::journal::WriteFault;

use crate::Error;
use crate::grpc::DEFAULT_MAX_MESSAGE_SIZE;

/// The runtime worker threads `yc-vcr record` serves calls on, unless told otherwise (`--threads`), and the record
/// bench's proxy runs on. One: the calls of an HTTP/2 connection (every call of an SDK's channel) share one lock
/// in `h2`, which the connection's task and the calls' tasks fight over from different workers, and moving work
/// between workers costs wake-ups. `cargo xtask bench record` on 2 cores, one worker against two (four runs and
/// three, 64 streams and 16x16, gRPC and REST): 2.0-3.8 against 2.9-5.2 s of proxy CPU per 100k recorded calls, about
/// the same calls a second (17-36k either way); behind h2load, a light client that leaves the proxy the bottleneck,
/// one worker served fewer (9-19k against 12-21k). Recording in front of the real cloud waits on the network, not
/// the CPU; more workers pay only with a fast local upstream.
pub const DEFAULT_WORKER_THREADS: u16 = 1;
use crate::server::{Server, ServerConfig};
use crate::upstream::Upstreams;

/// Everything the record server needs.
#[derive(Clone, Debug)]
pub struct RecordConfig {
    pub cassette_path: PathBuf,
    pub mode: Mode,
    pub upstreams: Upstreams,
    /// Applied to every interaction before it is stored.
    pub redactor: Redactor,
    /// Types messages are stored as (typed JSON, not raw bytes) and recorded requests are indexed by.
    pub schema: Arc<Schema>,
    /// The largest gRPC message recorded; a call with a larger one passes through but is not recorded.
    pub max_message_size: usize,
    /// The largest existing cassette (or journal) read when appending or recovering.
    pub max_cassette_size: u64,
    /// The address put into discovery answers (`--advertise`); default: the address the client reached (its
    /// `:authority` or `Host`), else the listening address (`127.0.0.1` for a wildcard).
    pub advertise: Option<String>,
    /// `meta.description` of a new cassette.
    pub description: String,
    pub server: ServerConfig,
    /// Test seam: journal writes fail past this many bytes.
    #[doc(hidden)]
    pub journal_fault: Option<WriteFault>,
}

impl RecordConfig {
    /// Defaults: a new cassette, built-in redaction, 4 MiB messages.
    pub fn new(cassette_path: impl Into<PathBuf>, upstreams: Upstreams) -> RecordConfig {
        RecordConfig {
            cassette_path: cassette_path.into(),
            mode: Mode::New,
            upstreams,
            redactor: Redactor::default(),
            schema: Schema::embedded(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_cassette_size: yc_cassette::DEFAULT_MAX_CASSETTE_SIZE,
            advertise: None,
            description: String::new(),
            server: ServerConfig::default(),
            journal_fault: None,
        }
    }
}

impl RecordConfig {
    /// The recorder's part of this configuration, in `mode`.
    pub fn recorder(&self, mode: Mode) -> RecorderConfig {
        RecorderConfig {
            cassette_path: self.cassette_path.clone(),
            mode,
            redactor: self.redactor.clone(),
            schema: self.schema.clone(),
            max_message_size: self.max_message_size,
            max_cassette_size: self.max_cassette_size,
            description: self.description.clone(),
            journal_fault: self.journal_fault,
        }
    }

    /// The forwarder's part of this configuration.
    pub fn forward(&self) -> ForwardConfig {
        ForwardConfig {
            upstreams: self.upstreams.clone(),
            max_message_size: self.max_message_size,
            advertise: self.advertise.clone(),
        }
    }
}

/// A running record server.
#[derive(Debug)]
pub struct RecordServer {
    server: Server,
    recorder: Recorder,
}

impl RecordServer {
    /// Opens the cassette as `config.mode` says (taking its lock; a second recorder fails here), binds `addr` and
    /// starts serving. No file is written until the first call completes.
    pub async fn start(addr: SocketAddr, config: RecordConfig) -> Result<RecordServer, Error> {
        let recorder = Recorder::open(config.recorder(config.mode))?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local_addr = listener.local_addr().map_err(Error::LocalAddr)?;
        let forwarder = Forwarder::new(&config.forward(), recorder.handle(), local_addr)?;
        let server = Server::serve(listener, forwarder, &config.server)?;
        Ok(RecordServer { server, recorder })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Interactions of this run in the journal so far (each survives a kill from then on).
    pub fn recorded(&self) -> usize {
        self.recorder.recorded()
    }

    /// The journal `write`s that took them there: one for all the calls that were ready together.
    pub fn journal_writes(&self) -> usize {
        self.recorder.journal_writes()
    }

    /// Stops serving (as [`RecordServer::shutdown`]) without writing the cassette ([`Recorder::abandon`]).
    pub async fn abandon(self) {
        self.server.shutdown().await;
        self.recorder.abandon().await;
    }

    /// Stops accepting, lets calls in flight finish, writes the cassette and reports ([`Recorder::finish`]).
    pub async fn shutdown(self) -> Result<Summary, Error> {
        self.server.shutdown().await;
        self.recorder.finish().await
    }
}

#[cfg(test)]
mod tests;
