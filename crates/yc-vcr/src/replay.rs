//! `yc-vcr replay`: serve cassettes offline.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use yc_cassette::{Index, Redactor};
use yc_proxy::{ReplayConfig, ReplayServer};

use crate::cassettes;
use crate::serve::ServeArgs;
use crate::tls;

/// Serve recorded interactions to any gRPC or REST client, offline and deterministically.
///
/// One port serves gRPC over HTTP/2 and REST over HTTP/1.1 and HTTP/2, in cleartext and over TLS (certificates from
/// the local CA; see `yc-vcr ca --help`). Endpoint discovery answers point at the address the client reached.
/// Identical requests get their recorded answers in recorded order, the last one repeating;
/// a request that was never recorded gets UNIMPLEMENTED (gRPC) or 501 (REST) with the closest
/// recording and the fields that differ, and the header `x-yc-vcr-miss: 1`.
///
/// The first line on stdout is `listening on http://ADDR`, the second `tls: https://ADDR, CA certificate PATH`;
/// logs go to stderr (RUST_LOG=debug for more).
/// SIGINT or SIGTERM stops it after the calls in flight.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// A cassette file, or a folder searched for `*.json`; repeat for more [default: the bundled example cassettes,
    /// compiled into the binary]
    #[arg(long = "cassette", short = 'c', value_name = "PATH")]
    cassettes: Vec<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    #[command(flatten)]
    serve: ServeArgs,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let schema = args.serve.schema.schema()?;
    let loaded = if args.cassettes.is_empty() {
        let bundled = cassettes::bundled(&schema)?;
        tracing::info!(
            cassettes = ?bundled.iter().map(|(origin, _)| origin.as_str()).collect::<Vec<_>>(),
            "serving the bundled example cassettes (compiled in); pass --cassette for your own"
        );
        bundled
    } else {
        let files = cassettes::files(&args.cassettes)?;
        for file in &files {
            tracing::info!(cassette = %file.display(), "serving");
        }
        cassettes::load(&files, args.serve.max_cassette_size, &schema)?
    };
    let interactions: usize = loaded.iter().map(|(_, c)| c.interactions.len()).sum();
    let cassette_count = loaded.len();
    // Incoming requests are redacted with the rules used when recording, so that they match their recordings.
    let redactor = Redactor::new(&args.serve.redaction.rules()?)?;
    let index = Index::new(loaded, redactor, schema)?;
    let mut config = ReplayConfig {
        max_message_size: args.serve.max_message_size,
        advertise: args.serve.tls.advertise.clone(),
        ..ReplayConfig::default()
    };
    config.server.tls = args.serve.tls.config(args.listen)?;
    let tls_config = config.server.tls.clone();

    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let server = ReplayServer::start(args.listen, index, config)?;
        let shutdown = crate::shutdown_signal();
        tls::announce(server.local_addr(), tls_config.as_ref())?;
        tracing::info!(cassettes = cassette_count, interactions, "replaying");
        server.shutdown_on(shutdown).await;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
