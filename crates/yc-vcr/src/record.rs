//! `yc-vcr record`: a recording proxy in front of Yandex Cloud (or any upstream).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use anyhow::{Context, Result};
use yc_cassette::{Index, Redactor};
use yc_proxy::record::{Mode, RecordConfig, RecordServer, Summary};
use yc_proxy::upstream::{UpstreamUrl, Upstreams};
use yc_proxy::{EpisodesServer, ReplayConfig, ReplayServer};

use crate::serve::ServeArgs;
use crate::tls;

/// Record real traffic into a cassette, with secrets removed.
///
/// Point your client at the printed address: gRPC or REST, in cleartext or over TLS on the same port
/// (certificates from the local CA; see `yc-vcr ca --help`). Without --upstream, record learns the
/// Yandex Cloud endpoints as the SDKs do: on the first call it asks endpoint discovery
/// (ApiEndpointService/List on --discovery) where every service lives, then routes each gRPC call by
/// its package and each REST call by its first path segment to the endpoint of that service id, over
/// TLS. If discovery cannot be reached, the endpoints of compute, container-registry, operation, iam
/// and discovery itself are built in; any other service is refused with the id it looked for. Endpoint
/// discovery answers are rewritten to point at the proxy (the address the client reached, or
/// --advertise).
///
/// Every completed call is appended to a journal beside the cassette (CASSETTE.journal) before its
/// client sees it complete, so even `kill -9` keeps every call a client saw finish; the journal is
/// synced to the disk in the background. The cassette is rewritten from the journal as it grows and at
/// the end, when the journal goes; `replay`, `check` and the next `record` recover a journal a crash
/// left. No file appears until a call completes. A lock (CASSETTE.lock) keeps a second recorder off the
/// same cassette. Secrets (authorization and cookie headers, IAM/OAuth tokens, API and static keys,
/// pre-signed URL signatures, token fields) are replaced by placeholders before anything reaches the
/// disk; if a known secret shape survives, that interaction is not written and the command fails saying
/// where.
///
/// Modes (--mode, else the environment's YC_VCR_MODE), in VCR's words:
///   all           record everything anew; an existing cassette is replaced only when the
///                 recording ends cleanly
///   once          replay the cassette if it exists, else record it
///   new-episodes  replay what the cassette holds, record what it lacks and append it
/// Without a mode, an existing cassette is refused unless --overwrite (as all) or --append is given.
///
/// SIGINT or SIGTERM finishes the calls in flight, writes the cassette and exits 0.
///
/// Example: yc-vcr record --cassette tests/cassettes/my-scenario.json --mode once
#[derive(clap::Args)]
// Verbatim, for its lists; the summary is spelt out so that it reads like the other commands' (no full stop).
#[command(
    verbatim_doc_comment,
    about = "Record real traffic into a cassette, with secrets removed"
)]
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
    ///
    /// REST goes upstream in the HTTP version the client spoke: HTTP/2 clients share the upstream's HTTP/2
    /// connection with gRPC, unless the upstream does not speak HTTP/2 (TLS agrees on no `h2`, or a cleartext server
    /// answers in HTTP/1.1), and then it goes over HTTP/1.1.
    #[arg(long, value_name = "URL")]
    rest_upstream: Option<UpstreamUrl>,
    /// A PEM file of CA certificates to trust for TLS upstreams, besides the web PKI roots.
    #[arg(long, value_name = "PEM")]
    upstream_ca: Option<PathBuf>,
    /// The endpoint discovery host asked where each service lives when --upstream is not given; the endpoints it
    /// lists are reached in its scheme (http:// only for a local stand-in).
    #[arg(long, value_name = "URL", default_value = yc_proxy::upstream::DISCOVERY)]
    discovery: UpstreamUrl,
    /// Seconds that opening a connection to an upstream may take (TCP, TLS and, for gRPC, the HTTP/2 preface); a
    /// call that waits longer fails with UNAVAILABLE (REST: 502) naming the upstream.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    connect_timeout: Duration,
    /// all, once or new-episodes (new_episodes too); see above [env: YC_VCR_MODE]
    #[arg(long, value_name = "MODE", conflicts_with_all = ["overwrite", "append"])]
    mode: Option<String>,
    /// Replace the cassette if it exists; the old one stays until the new recording ends cleanly.
    #[arg(long, conflicts_with = "append")]
    overwrite: bool,
    /// Keep the cassette's interactions and add the new ones after them.
    #[arg(long)]
    append: bool,
    /// The cassette's description (`meta.description`).
    #[arg(long, default_value = "")]
    description: String,
    /// Worker threads that serve calls.
    ///
    /// One by default: an SDK sends every call over one HTTP/2 connection, whose calls share one lock that more threads
    /// only fight over, and a recording waits on the cloud, not on the CPU; one thread cost a quarter to a third less
    /// CPU per call than two (`cargo xtask bench record`). More serve more calls a second where the proxy itself is the
    /// bottleneck: a fast local upstream and a light client (h2load, 64 streams: 9-19k calls a second on one thread,
    /// 12-21k on two, on 2 cores).
    #[arg(long, value_name = "N", default_value_t = yc_proxy::record::DEFAULT_WORKER_THREADS,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    #[command(flatten)]
    serve: ServeArgs,
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
        discovery: Some(args.discovery.clone()),
        connect_timeout: Some(args.connect_timeout),
    };
    let vcr_mode = match args.mode.clone().or_else(|| {
        std::env::var(yc_vcr::Mode::ENV)
            .ok()
            .filter(|m| !m.is_empty() && !args.overwrite && !args.append)
    }) {
        Some(text) => Some(text.parse::<yc_vcr::Mode>()?),
        None => None,
    };
    let mut config = RecordConfig::new(&args.cassette, upstreams);
    config.mode = match (vcr_mode, args.overwrite, args.append) {
        (Some(yc_vcr::Mode::None), ..) => bail!(
            "mode `none` only replays: run `yc-vcr replay --cassette {}` (the mode came from --mode or {})",
            args.cassette.display(),
            yc_vcr::Mode::ENV
        ),
        (Some(yc_vcr::Mode::All), ..) | (None, true, _) => Mode::Replace,
        (None, _, true) | (Some(yc_vcr::Mode::NewEpisodes), ..) => Mode::Append,
        (Some(yc_vcr::Mode::Once), ..) | (None, false, false) => Mode::New,
    };
    config.redactor = Redactor::new(&args.serve.redaction.rules()?)?;
    config.schema = args.serve.schema.schema()?;
    config.max_message_size = args.serve.max_message_size;
    config.max_cassette_size = args.serve.max_cassette_size;
    config.description = args.description.clone();
    config.advertise = args.serve.tls.advertise.clone();
    config.server.tls = args.serve.tls.config(args.listen)?;
    let tls_config = config.server.tls.clone();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(args.threads))
        .thread_name("yc-vcr-record")
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let cassette = args.cassette.display();
        let running = match vcr_mode {
            Some(yc_vcr::Mode::Once) if args.cassette.exists() => {
                let loaded = yc_cassette::Cassette::open(
                    &args.cassette,
                    args.serve.max_cassette_size,
                    &config.schema,
                )?;
                let index = Index::new(
                    vec![(cassette.to_string(), loaded.cassette)],
                    config.redactor,
                    config.schema,
                )?;
                let replay = ReplayConfig {
                    max_message_size: args.serve.max_message_size,
                    advertise: config.advertise,
                    server: config.server,
                };
                tracing::info!(%cassette, "mode once: the cassette exists, replaying it");
                Running::Replay(ReplayServer::start(args.listen, index, replay)?)
            }
            Some(yc_vcr::Mode::NewEpisodes) => {
                let replay = ReplayConfig {
                    max_message_size: args.serve.max_message_size,
                    advertise: config.advertise.clone(),
                    server: config.server.clone(),
                };
                Running::Episodes(EpisodesServer::start(args.listen, config, &replay).await?)
            }
            _ => {
                tracing::info!(%cassette, "recording");
                Running::Record(RecordServer::start(args.listen, config).await?)
            }
        };
        let shutdown = crate::shutdown_signal();
        tls::announce(running.local_addr(), tls_config.as_ref())?;
        shutdown.await;
        match running.shutdown().await? {
            Some(summary) if summary.wrote_file => {
                tracing::info!(
                    %cassette,
                    recorded = summary.recorded,
                    interactions = summary.interactions,
                    "cassette written"
                );
                warn_if_too_large(&args.cassette, args.serve.max_cassette_size);
            }
            Some(_) => tracing::info!(%cassette, "nothing recorded: no cassette written"),
            None => tracing::info!("stopped"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// What `record` serves, by mode.
enum Running {
    Record(RecordServer),
    Replay(ReplayServer),
    Episodes(EpisodesServer),
}

impl Running {
    fn local_addr(&self) -> SocketAddr {
        match self {
            Running::Record(server) => server.local_addr(),
            Running::Replay(server) => server.local_addr(),
            Running::Episodes(server) => server.local_addr(),
        }
    }

    /// Stops serving; what was recorded, if anything was being recorded.
    async fn shutdown(self) -> Result<Option<Summary>> {
        Ok(match self {
            Running::Record(server) => Some(server.shutdown().await?),
            Running::Replay(server) => {
                server.shutdown().await;
                None
            }
            Running::Episodes(server) => Some(server.shutdown().await?),
        })
    }
}

/// Warns when the cassette written is larger than readers accept (`--max-cassette-size`): it is complete, but
/// `replay` and `check` refuse it until given a larger limit, which is better said now than in CI.
fn warn_if_too_large(cassette: &std::path::Path, limit: u64) {
    let Ok(size) = std::fs::metadata(cassette).map(|m| m.len()) else {
        return;
    };
    if size > limit {
        tracing::warn!(
            cassette = %cassette.display(),
            "the cassette is {size} bytes, over the limit of {limit} bytes that replay and check read: \
             give them --max-cassette-size {size} or more"
        );
    }
}

/// A positive number of seconds, fractions allowed (`2.5`).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{text}`: give a number of seconds above 0"))
}
