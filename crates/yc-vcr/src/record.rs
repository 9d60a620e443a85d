//! `yc-vcr record`: a recording proxy in front of Yandex Cloud (or any upstream).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use yc_cassette::Redactor;
use yc_proxy::record::{Mode, RecordConfig, RecordServer};
use yc_proxy::upstream::{UpstreamUrl, Upstreams};

use crate::redaction::RedactionArgs;
use crate::tls::{self, TlsArgs};

/// Record real traffic into a cassette, with secrets removed.
///
/// Point your client at the printed address: gRPC or REST, in cleartext or over TLS on the same port (certificates
/// from the local CA; see `yc-vcr ca --help`). Without --upstream, gRPC is routed by service
/// package and REST by path prefix to the Yandex Cloud endpoints (compute, container-registry, operation, iam,
/// api.cloud.yandex.net) over TLS. Endpoint discovery answers are rewritten to point at the proxy (the address the client
/// reached, or --advertise).
///
/// Every completed call is appended to a journal beside the cassette (CASSETTE.journal) before its client sees it
/// complete, so even `kill -9` keeps every call a client saw finish; the journal is synced to the disk in the
/// background. The cassette is rewritten from the journal as it grows and at the end, when the journal goes;
/// `replay`, `check` and the next `record` recover a journal a crash left. No file appears until a call completes.
/// A lock (CASSETTE.lock) keeps a second recorder off the same cassette.
/// Secrets (authorization and cookie headers, IAM/OAuth tokens, API and static keys, pre-signed URL signatures,
/// token fields) are replaced by placeholders before anything reaches the disk; if a known secret shape
/// survives, that interaction is not written and the command fails saying where.
///
/// SIGINT or SIGTERM finishes the calls in flight, writes the cassette and exits 0.
///
/// Example: yc-vcr record --cassette cassettes/my-scenario.json
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The cassette file to write.
    #[arg(long, value_name = "PATH")]
    cassette: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// Send all traffic here instead of Yandex Cloud: http://HOST:PORT (cleartext) or https://HOST[:PORT] (TLS).
    #[arg(long, value_name = "URL")]
    upstream: Option<UpstreamUrl>,
    /// Send REST traffic here (overrides --upstream for REST).
    #[arg(long, value_name = "URL")]
    rest_upstream: Option<UpstreamUrl>,
    /// A PEM file of CA certificates to trust for TLS upstreams, besides the web PKI roots.
    #[arg(long, value_name = "PEM")]
    upstream_ca: Option<PathBuf>,
    /// Replace the cassette if it exists; the old one stays until the new recording ends cleanly.
    #[arg(long, conflicts_with = "append")]
    overwrite: bool,
    /// Keep the cassette's interactions and add the new ones after them.
    #[arg(long)]
    append: bool,
    /// The cassette's description (`meta.description`).
    #[arg(long, default_value = "")]
    description: String,
    /// Largest message recorded, in bytes; larger calls pass through unrecorded.
    #[arg(long, default_value_t = 4 * 1024 * 1024, value_name = "BYTES")]
    max_message_size: usize,
    /// Largest cassette read when appending or recovering, in bytes.
    #[arg(long, default_value_t = yc_cassette::DEFAULT_MAX_CASSETTE_SIZE, value_name = "BYTES")]
    max_cassette_size: u64,
    #[command(flatten)]
    redaction: RedactionArgs,
    #[command(flatten)]
    tls: TlsArgs,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let extra_ca_pem = match &args.upstream_ca {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?)
        }
        None => None,
    };
    let upstreams = Upstreams {
        all: args.upstream.clone(),
        rest: args.rest_upstream.clone(),
        extra_ca_pem,
    };
    let mut config = RecordConfig::new(&args.cassette, upstreams);
    config.mode = match (args.overwrite, args.append) {
        (true, _) => Mode::Replace,
        (_, true) => Mode::Append,
        _ => Mode::New,
    };
    config.redactor = Redactor::new(&args.redaction.rules()?)?;
    config.max_message_size = args.max_message_size;
    config.max_cassette_size = args.max_cassette_size;
    config.description = args.description.clone();
    config.advertise = args.tls.advertise.clone();
    config.server.tls = args.tls.config(args.listen)?;
    let tls_config = config.server.tls.clone();

    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let server = RecordServer::start(args.listen, config).await?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{}", server.local_addr())?;
        tls::announce(&mut stdout, server.local_addr(), tls_config.as_ref())?;
        stdout.flush()?;
        drop(stdout);
        tracing::info!(cassette = %args.cassette.display(), "recording");
        crate::shutdown_signal().await;
        let summary = server.shutdown().await?;
        if summary.wrote_file {
            tracing::info!(
                cassette = %args.cassette.display(),
                recorded = summary.recorded,
                interactions = summary.interactions,
                "cassette written"
            );
        } else {
            tracing::info!(cassette = %args.cassette.display(), "nothing recorded: no cassette written");
        }
        Ok(ExitCode::SUCCESS)
    })
}
