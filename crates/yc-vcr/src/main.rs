//! `yc-vcr`: record Yandex Cloud API traffic into cassettes and replay it offline.
//!
//! This is the only place that prints to stdout, reads signals or picks exit codes.
//! Each subcommand lives in its own module; the libraries do the work.

mod cassettes;
mod check;
mod convert;
mod record;
mod redaction;
mod replay;
mod schema;
mod serve;
mod tls;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than the system allocator: loading a cassette makes and frees millions of small JSON values, and
/// a proxy allocates per frame; glibc's malloc spent about a quarter of `check`'s time of a 100k-interaction
/// cassette in its free lists (`cargo xtask bench scale` shows the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Record and replay Yandex Cloud API traffic (gRPC and REST) for offline tests.
///
/// Point any client (a Yandex Cloud SDK, grpcurl, curl, tonic) at `yc-vcr record` to capture a scenario
/// into a cassette with secrets removed, then serve it in CI with `yc-vcr replay`.
#[derive(Parser)]
#[command(name = "yc-vcr", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Replay(replay::Args),
    Record(Box<record::Args>),
    Check(check::Args),
    Convert(convert::Args),
    Ca(tls::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Replay(args) => replay::run(&args),
        Command::Record(args) => record::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Ca(args) => tls::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// Resolves on the first SIGINT or SIGTERM (Ctrl-C elsewhere). The handlers are installed by this call, not when
/// the future is first polled, so a command calls it before it announces its address: a signal sent as soon as the
/// address is printed must stop the server cleanly, not kill it the default way.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (Ok(mut interrupt), Ok(mut terminate)) = signals else {
                // Without signal handlers, Ctrl-C still ends the process the default way.
                return std::future::pending().await;
            };
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT: finishing calls in flight"),
                _ = terminate.recv() => tracing::info!("SIGTERM: finishing calls in flight"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
