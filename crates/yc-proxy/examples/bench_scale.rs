//! How replay and check scale with the cassette: for 1k, 10k and 100k interactions, the time `yc-vcr replay` takes to
//! print its `listening` line, its peak memory then (`VmHWM` from `/proc/PID/status`) against the file size, the time
//! of one lookup (the first and the last interaction), and the time `yc-vcr check` takes.
//!
//! Run with `cargo xtask bench scale` (which builds `yc-vcr` in release first). The cassettes are written to a
//! temporary folder (`yc_cassette::fixture::synthetic`): gRPC `ImageService/Get` interactions with distinct ids,
//! shaped like recorded ones (metadata, an `Image` with labels and a description, about 2 KB of pretty JSON each).
//! Each measure is the best of 3 runs.

mod common;

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use yc_cassette::fixture;
use yc_proto::compute::v1::image_service_client::ImageServiceClient;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const RUNS: usize = 3;

fn main() -> Result<(), BenchError> {
    common::no_arguments("bench_scale");
    let yc_vcr = yc_vcr_binary()?;
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Runtime::new()?;
    println!("replay and check of one cassette of N gRPC interactions (best of {RUNS})");
    println!(
        "{:>8}{:>11}{:>12}{:>11}{:>9}{:>13}{:>13}{:>10}",
        "N", "file MB", "startup", "peak MB", "x file", "first call", "last call", "check"
    );
    for n in SIZES {
        let path = dir.path().join(format!("scale-{n}.json"));
        fixture::synthetic(n).save(&path)?;
        let size = std::fs::metadata(&path)?.len() as f64 / 1e6;
        let mut startup = Duration::MAX;
        let mut peak = f64::MAX;
        let mut first = Duration::MAX;
        let mut last = Duration::MAX;
        for _ in 0..RUNS {
            let run = runtime.block_on(replay_once(&yc_vcr, &path, n))?;
            startup = startup.min(run.startup);
            peak = peak.min(run.peak_mb);
            first = first.min(run.first);
            last = last.min(run.last);
        }
        let mut check = Duration::MAX;
        for _ in 0..RUNS {
            let started = Instant::now();
            let status = Command::new(&yc_vcr)
                .arg("check")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if !status.success() {
                return Err(format!("check of {n} failed: {status}").into());
            }
            check = check.min(started.elapsed());
        }
        println!(
            "{:>8}{:>11.1}{:>9.0} ms{:>11.1}{:>8.2}x{:>10.3} ms{:>10.3} ms{:>7.0} ms",
            n,
            size,
            ms(startup),
            peak,
            peak / size,
            ms(first),
            ms(last),
            ms(check)
        );
    }
    Ok(())
}

/// `yc-vcr` beside this example: target/release/examples/bench_scale -> target/release/yc-vcr.
fn yc_vcr_binary() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("yc-vcr"))
        .ok_or("no target folder")?;
    if !path.exists() {
        return Err(format!(
            "`{}` is missing: run `cargo build --release -p yc-vcr`",
            path.display()
        )
        .into());
    }
    Ok(path)
}

struct ReplayRun {
    startup: Duration,
    peak_mb: f64,
    first: Duration,
    last: Duration,
}

async fn replay_once(yc_vcr: &Path, path: &Path, n: usize) -> Result<ReplayRun, BenchError> {
    let started = Instant::now();
    let mut child = Command::new(yc_vcr)
        .args([
            "replay",
            "--no-tls",
            "--listen",
            "127.0.0.1:0",
            "--cassette",
        ])
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let startup = started.elapsed();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .ok_or_else(|| format!("not a listening line: {line:?}"))?
        .parse()?;
    let peak_mb = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1000.0;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let client = ImageServiceClient::new(channel);
    let call = |i: usize| {
        let mut client = client.clone();
        async move {
            let started = Instant::now();
            let image = client
                .get(fixture::get_image_request(&fixture::synthetic_id(i)))
                .await?
                .into_inner();
            let elapsed = started.elapsed();
            if image.id != fixture::synthetic_id(i) {
                return Err::<Duration, BenchError>("a wrong answer".into());
            }
            Ok(elapsed)
        }
    };
    // Warm the connection, then time the best of a few calls each.
    call(0).await?;
    let mut first = Duration::MAX;
    let mut last = Duration::MAX;
    for _ in 0..20 {
        first = first.min(call(0).await?);
        last = last.min(call(n - 1).await?);
    }
    drop(client);
    child.kill()?;
    child.wait()?;
    Ok(ReplayRun {
        startup,
        peak_mb,
        first,
        last,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
