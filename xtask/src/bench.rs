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
    /// Direct vs forwarding vs recording (gRPC and REST at 1, 64 and 16x16 streams), CPU per 100k calls.
    Record,
    /// Replay startup, peak memory and check time for cassettes of 1k, 10k and 100k interactions.
    Scale,
}

impl Bench {
    fn target(self) -> (&'static str, &'static str) {
        match self {
            Bench::Json => ("yc-proto", "bench_json"),
            Bench::Cassette => ("yc-cassette", "bench_cassette"),
            Bench::Replay => ("yc-proxy", "bench_replay"),
            Bench::Record => ("yc-proxy", "bench_record"),
            Bench::Scale => ("yc-proxy", "bench_scale"),
        }
    }
}

pub(crate) fn run(root: &Path, bench: Bench, args: &[String]) -> Result<()> {
    let (package, example) = bench.target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if matches!(bench, Bench::Scale) {
        // The scale bench runs the binary as users do; it finds it beside itself in the release folder.
        let status = Command::new(&cargo)
            .current_dir(root)
            .args(["build", "--release", "--quiet", "--package", "yc-vcr"])
            .status()
            .context("building yc-vcr")?;
        if !status.success() {
            bail!("building yc-vcr failed: {status}");
        }
    }
    let status = Command::new(cargo)
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
