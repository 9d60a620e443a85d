//! `cargo xtask bench NAME`: runs a benchmark program in release mode.
//!
//! Each benchmark is an example of the crate it measures and prints its own table,
//! with the baseline measured in the same run. Nothing here asserts on time.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Bench {
    /// JSON to and from the typed messages, against prost-reflect's dynamic JSON.
    Json,
    /// Cassette load, save and lookup at 10,000 interactions.
    Cassette,
    /// The replay server over loopback, against a minimal hyper server answering from memory.
    Replay,
    /// The latency and throughput the recording proxy adds over a direct call.
    Record,
}

impl Bench {
    fn target(self) -> (&'static str, &'static str) {
        match self {
            Bench::Json => ("yc-proto", "bench_json"),
            Bench::Cassette => ("yc-cassette", "bench_cassette"),
            Bench::Replay => ("yc-proxy", "bench_replay"),
            Bench::Record => ("yc-proxy", "bench_record"),
        }
    }
}

pub(crate) fn run(root: &Path, bench: Bench, args: &[String]) -> Result<()> {
    let (package, example) = bench.target();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            package,
            "--example",
            example,
            "--",
        ])
        .args(args)
        .status()
        .with_context(|| format!("running {package} example {example}"))?;
    if !status.success() {
        bail!("{example} failed: {status}");
    }
    Ok(())
}
