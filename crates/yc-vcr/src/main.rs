//! `yc-vcr`: record Yandex Cloud API traffic into cassettes and replay it offline.
//!
//! This is the only place that prints to stdout or picks exit codes.
//! Each subcommand lives in its own module; the libraries do the work.

mod convert;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Convert(convert::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
