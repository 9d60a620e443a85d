//! What the record proxy costs: direct calls to a local upstream, through a forwarder that records nothing, and
//! through the record proxy, side by side in one run, for gRPC and REST (over HTTP/2), at 1 stream (latency), 64
//! streams on one connection and 16 connections x 16 streams (throughput, latency), with the CPU time the proxy and
//! the upstream spend per 100k calls, and the length the one cassette reaches.
//!
//! Run with `cargo xtask bench record`. Loopback only, bounded (tens of seconds). The upstream is a minimal HTTP/2
//! server answering every gRPC call with one `Image` and `grpc-status: 0` and every REST call with its JSON; the
//! client is hyper's HTTP/2 client. The "forward" column is the same server and upstream client as the record proxy
//! with a service that only forwards, so direct -> forward is the cost of proxying itself, and forward -> record is
//! the cost of recording: the copy for the cassette, decoding, redacting, scanning and journaling each call (on the
//! task that completed it) before its last frame is released, and the saver's background rewrites of the cassette.
//! Each phase runs in alternating rounds and each column keeps its best round, so a burst of noise from the machine
//! does not land on one column only.
//!
//! The upstream, the proxies and the client run on runtimes of their own (threads `bench-up`, `bench-proxy`,
//! `bench-client`; the proxies on as many workers as `yc-vcr record` by default, both columns alike), so the CPU time
//! of each is read per thread from `/proc/self/task/*/schedstat`; the blocking pool's threads count as the proxy's. The
//! recorder's saver thread (`yc-vcr-cassette-saver`) counts for the record column only, with all it did since the
//! record column's last round: the rewrites it starts when the recorder goes idle fall in the other columns' rounds,
//! and they are recording's cost.
//!
//! Read the throughput ratios with the machine in mind: client, proxy and upstream share the cores, and the proxy is
//! itself an HTTP/2 server plus an HTTP/2 client, about the work of the direct path's two ends together, so on a
//! CPU-bound loopback run proxying alone cannot go much above 0.5x of direct. Whether a round was CPU-bound is
//! printed too: the share of the machine's CPU time (`/proc/stat`, every core, every process) that was busy during
//! the kept round. Well under 100% means the calls were waiting on each other (64 streams in lock-step, one proxy
//! worker), not on the CPU, and the ratios then measure latency added per call more than CPU spent.

/// The allocator the `yc-vcr` binary ships with, so the figures are the binary's; every column runs on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message as _;
use yc_proto::compute::v1 as compute;
use yc_proxy::grpc::encode_frame;
use yc_proxy::record::{RecordConfig, RecordServer};
use yc_proxy::server::{Body, Server, ServerConfig};
use yc_proxy::upstream::{Transport, Upstream, UpstreamUrl, Upstreams};

type BenchError = Box<dyn std::error::Error + Send + Sync>;

const METHOD: &str = "/yandex.cloud.compute.v1.ImageService/Get";
const REST_PATH: &str = "/compute/v1/images/fd8bench";
const SEQUENTIAL_CALLS: usize = 1_000;
const ROUNDS: usize = 3;
/// Calls per concurrent round.
const CONCURRENT_CALLS: usize = 12_800;
const COLUMNS: [&str; 3] = ["direct", "forward", "record"];
const RECORD: usize = 2;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Grpc,
    Rest,
}

/// One round's figures.
#[derive(Default, Clone)]
struct Round {
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// CPU seconds of the proxy and the upstream threads during the round.
    proxy_cpu: f64,
    upstream_cpu: f64,
    /// The share of the machine's CPU time that was busy during the round, 0 to 1.
    busy: f64,
}

impl Round {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// `workers`: two for the upstream and the client, the record binary's default for the proxy (both its columns).
fn runtime(name: &str, workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
}

fn main() -> Result<(), BenchError> {
    common::no_arguments("bench_record");
    let upstream_rt = runtime("bench-up", 2)?;
    let proxy_rt = runtime(
        "bench-proxy",
        yc_proxy::record::DEFAULT_WORKER_THREADS.into(),
    )?;
    let client_rt = runtime("bench-client", 2)?;

    let upstream = upstream_rt.block_on(start_upstream())?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.json");
    let upstream_url: UpstreamUrl = format!("http://{}", upstream.local_addr()).parse()?;
    let forwarder = proxy_rt.block_on(start_forwarder(upstream_url.clone()))?;
    let proxy = proxy_rt.block_on(RecordServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        RecordConfig::new(&path, Upstreams::single(upstream_url)),
    ))?;
    let addrs = [
        upstream.local_addr(),
        forwarder.local_addr(),
        proxy.local_addr(),
    ];

    let report = client_rt.block_on(measure(addrs))?;
    let recorded = proxy.recorded();
    let writes = proxy.journal_writes();
    let saver_cpu = cpu().saver;
    let summary = proxy_rt.block_on(proxy.shutdown())?;
    proxy_rt.block_on(forwarder.shutdown());
    upstream_rt.block_on(upstream.shutdown());

    println!("record proxy: gRPC unary `{METHOD}` and REST GET `{REST_PATH}`, loopback h2c");
    println!(
        "(best of {ROUNDS} alternating rounds; 1 stream: {SEQUENTIAL_CALLS} calls; concurrent: {CONCURRENT_CALLS} calls a round)"
    );
    println!(
        "{:<26}{:>12}{:>12}{:>12}{:>10}{:>10}",
        "", COLUMNS[0], COLUMNS[1], COLUMNS[2], "rec/fwd", "rec/dir"
    );
    for (label, rounds) in &report {
        let [d, f, r] = [&rounds[0], &rounds[1], &rounds[2]];
        if label.contains("1 stream") {
            for (name, q) in [("p50", 0.50), ("p99", 0.99)] {
                let [d, f, r] = [d, f, r].map(|x| percentile(&x.latencies, q));
                println!(
                    "{:<26}{:>9.3} ms{:>9.3} ms{:>9.3} ms{:>10}{:>+8.3}ms",
                    format!("{label} {name}"),
                    ms(d),
                    ms(f),
                    ms(r),
                    "",
                    ms(r) - ms(d)
                );
            }
            continue;
        }
        println!(
            "{:<26}{:>10.0}/s{:>10.0}/s{:>10.0}/s{:>9.2}x{:>9.2}x",
            format!("{label} calls"),
            d.rate(),
            f.rate(),
            r.rate(),
            r.rate() / f.rate(),
            r.rate() / d.rate()
        );
        let [dp, fp, rp] = [d, f, r].map(|x| percentile(&x.latencies, 0.5));
        println!(
            "{:<26}{:>9.3} ms{:>9.3} ms{:>9.3} ms",
            format!("{label} p50"),
            ms(dp),
            ms(fp),
            ms(rp)
        );
        let per = |cpu: f64, round: &Round| cpu / round.latencies.len() as f64 * 100_000.0;
        // Recording's own cost: what the record column's proxy spends beyond forwarding the same calls.
        println!(
            "{:<26}{:>10.2} s{:>10.2} s{:>10.2} s{:>+8.2} s{:>10}",
            format!("{label} proxy CPU/100k"),
            0.0,
            per(f.proxy_cpu, f),
            per(r.proxy_cpu, r),
            per(r.proxy_cpu, r) - per(f.proxy_cpu, f),
            "(rec-fwd)"
        );
        println!(
            "{:<26}{:>11.0}%{:>11.0}%{:>11.0}%",
            format!("{label} machine busy"),
            d.busy * 100.0,
            f.busy * 100.0,
            r.busy * 100.0
        );
        println!(
            "{:<26}{:>10.2} s{:>10.2} s{:>10.2} s{:>9.2}x{:>10}",
            format!("{label} upstream CPU/100k"),
            per(d.upstream_cpu, d),
            per(f.upstream_cpu, f),
            per(r.upstream_cpu, r),
            per(r.proxy_cpu, r) / per(r.upstream_cpu, r),
            "(proxy/up)"
        );
    }
    println!(
        "recorded {} interactions into one cassette ({} journaled before shutdown, in {writes} writes; {} bytes on \
         disk); the saver's rewrites and syncs took {saver_cpu:.2} s of CPU",
        summary.interactions,
        recorded,
        std::fs::metadata(&path)?.len()
    );
    Ok(())
}

type Report = Vec<(String, [Round; 3])>;

async fn measure(addrs: [SocketAddr; 3]) -> Result<Report, BenchError> {
    let grpc_request = frame(
        &compute::GetImageRequest {
            image_id: "fd8bench".into(),
        }
        .encode_to_vec(),
    );
    let mut report = Vec::new();
    for kind in [Kind::Grpc, Kind::Rest] {
        let name = if kind == Kind::Grpc { "gRPC" } else { "REST" };
        // One connection per column for 1 and 64 streams, 16 for 16x16.
        let mut one = Vec::new();
        let mut sixteen = Vec::new();
        for addr in addrs {
            one.push(connect(addr).await?);
            let mut conns = Vec::new();
            for _ in 0..16 {
                conns.push(connect(addr).await?);
            }
            sixteen.push(conns);
        }
        for sender in &one {
            sequential(sender, kind, &grpc_request, 200).await?;
        }
        for (label, streams, layout) in [
            (format!("{name} 1 stream"), 1, &one),
            (format!("{name} 64 streams"), 64, &one),
        ] {
            let mut best: [Round; 3] = Default::default();
            for _ in 0..ROUNDS {
                for (column, sender) in layout.iter().enumerate() {
                    let round = if streams == 1 {
                        timed(column, || async {
                            sequential(sender, kind, &grpc_request, SEQUENTIAL_CALLS).await
                        })
                        .await?
                    } else {
                        timed(column, || {
                            concurrent(std::slice::from_ref(sender), 64, kind, &grpc_request)
                        })
                        .await?
                    };
                    keep_best(&mut best[column], round, streams == 1);
                }
            }
            report.push((label, best));
        }
        let mut best: [Round; 3] = Default::default();
        for _ in 0..ROUNDS {
            for (column, conns) in sixteen.iter().enumerate() {
                let round = timed(column, || concurrent(conns, 16, kind, &grpc_request)).await?;
                keep_best(&mut best[column], round, false);
            }
        }
        report.push((format!("{name} 16x16"), best));
    }
    Ok(report)
}

/// Runs one round of `column`, reading the CPU time of the proxy and upstream threads around it.
async fn timed<F, Fut>(column: usize, round: F) -> Result<Round, BenchError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Duration>, BenchError>>,
{
    let before = cpu();
    let machine_before = machine_ticks();
    let started = Instant::now();
    let latencies = round().await?;
    let elapsed = started.elapsed();
    let machine_after = machine_ticks();
    let after = cpu();
    let mut proxy_cpu = after.proxy - before.proxy;
    if column == RECORD {
        let billed = f64::from_bits(SAVER_BILLED.swap(after.saver.to_bits(), Ordering::Relaxed));
        proxy_cpu += after.saver - billed;
    }
    Ok(Round {
        latencies,
        elapsed,
        proxy_cpu,
        upstream_cpu: after.upstream - before.upstream,
        busy: busy_share(machine_before, machine_after),
    })
}

/// The machine's CPU ticks so far, all cores: (busy, all). Zeros where `/proc/stat` cannot be read.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let all: u64 = ticks.iter().take(8).sum();
    // idle and iowait
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (all.saturating_sub(idle), all)
}

fn busy_share(before: (u64, u64), after: (u64, u64)) -> f64 {
    let all = after.1.saturating_sub(before.1);
    if all == 0 {
        return f64::NAN;
    }
    after.0.saturating_sub(before.0) as f64 / all as f64
}

fn keep_best(best: &mut Round, round: Round, by_p50: bool) {
    let better = if by_p50 {
        percentile(&round.latencies, 0.5) < percentile(&best.latencies, 0.5)
    } else {
        round.elapsed < best.elapsed
    };
    if best.latencies.is_empty() || better {
        *best = round;
    }
}

/// CPU seconds so far, by whose threads.
struct Cpu {
    proxy: f64,
    saver: f64,
    upstream: f64,
}

/// The saver's CPU seconds already counted in a record round.
static SAVER_BILLED: AtomicU64 = AtomicU64::new(0);

fn cpu() -> Cpu {
    let mut total = Cpu {
        proxy: 0.0,
        saver: 0.0,
        upstream: 0.0,
    };
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return total;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let seconds: f64 = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .map_or(0.0, |ns: f64| ns / 1e9);
        let comm = comm.trim();
        if comm.starts_with("bench-proxy") {
            total.proxy += seconds;
        } else if comm.starts_with("yc-vcr-cassette") {
            total.saver += seconds;
        } else if comm.starts_with("bench-up") {
            total.upstream += seconds;
        }
    }
    total
}

fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    encode_frame(message, &mut out);
    out.freeze()
}

fn image() -> compute::Image {
    compute::Image {
        id: "fd8bench".into(),
        folder_id: "b1gfolder".into(),
        name: "ubuntu-2204-lts-bench".into(),
        family: "ubuntu-2204-lts".into(),
        size: 3_221_225_472,
        min_disk_size: 5_368_709_120,
        status: 2,
        ..Default::default()
    }
}

async fn start_upstream() -> Result<Server, yc_proxy::Error> {
    let answer = frame(&image().encode_to_vec());
    let json = Bytes::from(
        yc_proto::json::to_string(&image(), yc_proto::json::Style::Camel)
            .map_err(|e| yc_proxy::Error::Tls(e.to_string()))?,
    );
    let service = common::memory_service(answer, json);
    Server::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        service,
        &ServerConfig::default(),
    )
    .await
}

/// The record proxy's server and upstream client with a service that only forwards: no copy, no cassette.
async fn start_forwarder(url: UpstreamUrl) -> Result<Server, BenchError> {
    let upstream = Upstream::new(&Upstreams::single(url.clone()))?;
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let upstream = upstream.clone();
        let url = url.clone();
        // Boxed, as the record service's future is: hyper moves a service's future into each stream's task, and an
        // unboxed one this size made the forwarder pay for copying it.
        Box::pin(async move {
            let transport = if yc_proxy::grpc::is_grpc(&request) {
                Transport::Grpc
            } else {
                Transport::Rest
            };
            let request = request.map(|body| body.map_err(Into::into).boxed());
            let response = match upstream.send(transport, &url, request).await {
                Ok(response) => response.map(|body| body.map_err(BenchError::from).boxed()),
                Err(error) => {
                    let mut response = Response::new(
                        Body::from(error.to_string())
                            .map_err(|never| -> BenchError { match never {} })
                            .boxed(),
                    );
                    *response.status_mut() = http::StatusCode::BAD_GATEWAY;
                    response
                }
            };
            Ok::<_, Infallible>(response)
        })
    });
    Ok(Server::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        service,
        &ServerConfig::default(),
    )
    .await?)
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, BenchError> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(1024 * 1024)
        .initial_connection_window_size(16 * 1024 * 1024)
        .handshake(TokioIo::new(stream))
        .await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn call(
    sender: &SendRequest<Full<Bytes>>,
    kind: Kind,
    grpc_body: &Bytes,
) -> Result<Duration, BenchError> {
    let request = match kind {
        Kind::Grpc => Request::builder()
            .method("POST")
            .uri(format!("http://bench{METHOD}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Full::new(grpc_body.clone()))?,
        Kind::Rest => Request::builder()
            .method("GET")
            .uri(format!("http://bench{REST_PATH}"))
            .body(Full::new(Bytes::new()))?,
    };
    let started = Instant::now();
    let response = sender.clone().send_request(request).await?;
    let status = response.status();
    let collected = response.into_body().collect().await?;
    let elapsed = started.elapsed();
    let ok = match kind {
        Kind::Grpc => collected
            .trailers()
            .and_then(|t| t.get("grpc-status"))
            .is_some_and(|s| s == "0"),
        Kind::Rest => status == http::StatusCode::OK && !collected.to_bytes().is_empty(),
    };
    if !ok {
        return Err("a call did not succeed".into());
    }
    Ok(elapsed)
}

async fn sequential(
    sender: &SendRequest<Full<Bytes>>,
    kind: Kind,
    body: &Bytes,
    calls: usize,
) -> Result<Vec<Duration>, BenchError> {
    let mut out = Vec::with_capacity(calls);
    for _ in 0..calls {
        out.push(call(sender, kind, body).await?);
    }
    Ok(out)
}

/// `streams` concurrent streams on each connection, [`CONCURRENT_CALLS`] calls in all.
async fn concurrent(
    senders: &[SendRequest<Full<Bytes>>],
    streams: usize,
    kind: Kind,
    body: &Bytes,
) -> Result<Vec<Duration>, BenchError> {
    let per_stream = CONCURRENT_CALLS / (senders.len() * streams);
    let mut tasks = tokio::task::JoinSet::new();
    for sender in senders {
        for _ in 0..streams {
            let sender = sender.clone();
            let body = body.clone();
            tasks.spawn(async move { sequential(&sender, kind, &body, per_stream).await });
        }
    }
    let mut all = Vec::with_capacity(CONCURRENT_CALLS);
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    Ok(all)
}

fn percentile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
