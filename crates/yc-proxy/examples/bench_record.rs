//! What the record proxy costs: latency added over a direct call to a local upstream (p50 and p99 with 1 and 64
//! concurrent streams) and throughput, direct, through a forwarder that records nothing, and through the record
//! proxy, side by side in one run.
//!
//! Run with `cargo xtask bench record`. Loopback only, bounded (several seconds). The upstream is a minimal HTTP/2
//! server answering every gRPC call with one `Image` and `grpc-status: 0`; the client is hyper's HTTP/2 client on one
//! connection. The "forward only" column is the same server and upstream client as the record proxy with a service
//! that only forwards, so direct → forward only is the cost of proxying itself, and forward only → proxied is the
//! cost of recording: the copy for the cassette, and the writer thread decoding, redacting, scanning and saving
//! each call (sharing the same cores). Each phase runs in alternating rounds and each column keeps its best round,
//! so a burst of noise from the machine does not land on one column only.
//!
//! Read the throughput ratio with the machine in mind: client, proxy and upstream share the cores, and the proxy is
//! itself an HTTP/2 server plus an HTTP/2 client, about the work of the direct path's two ends together, so on a
//! CPU-bound loopback run forwarding alone cannot go above about 0.5x. Against a remote upstream the proxy's CPU
//! is not on the critical path and only the added latency counts.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
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
const SEQUENTIAL_CALLS: usize = 1_000;
const ROUNDS: usize = 3;
const CONCURRENT_STREAMS: usize = 64;
const CALLS_PER_STREAM: usize = 100;

#[tokio::main]
async fn main() -> Result<(), BenchError> {
    let upstream = start_upstream().await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.json");
    let upstream_url: UpstreamUrl = format!("http://{}", upstream.local_addr()).parse()?;
    let forwarder = start_forwarder(upstream_url.clone()).await?;
    let proxy = RecordServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        RecordConfig::new(&path, Upstreams::single(upstream_url)),
    )
    .await?;

    let request = frame(
        &compute::GetImageRequest {
            image_id: "fd8bench".into(),
        }
        .encode_to_vec(),
    );
    let targets = [
        connect(upstream.local_addr()).await?,
        connect(forwarder.local_addr()).await?,
        connect(proxy.local_addr()).await?,
    ];

    // Warm up every path (connections, pools, allocator).
    for target in &targets {
        sequential(target, &request, 200).await?;
    }

    // One stream: each column keeps its best (lowest p50) round.
    let mut one: [Vec<Duration>; 3] = Default::default();
    for _ in 0..ROUNDS {
        for (best, target) in one.iter_mut().zip(&targets) {
            keep_best(best, sequential(target, &request, SEQUENTIAL_CALLS).await?);
        }
    }
    // 64 streams: each column keeps its fastest round (and that round's latencies).
    let mut many: [(Vec<Duration>, Duration); 3] = Default::default();
    for _ in 0..ROUNDS {
        for (best, target) in many.iter_mut().zip(&targets) {
            let round = concurrent(target, &request).await?;
            if best.0.is_empty() || round.1 < best.1 {
                *best = round;
            }
        }
    }

    let summary = proxy.shutdown().await?;
    forwarder.shutdown().await;
    upstream.shutdown().await;

    println!(
        "record proxy overhead: gRPC unary `{METHOD}` over loopback h2c, recording to a cassette"
    );
    println!(
        "(best of {ROUNDS} alternating rounds; 1 stream: {SEQUENTIAL_CALLS} calls; 64 streams: {} calls)",
        CONCURRENT_STREAMS * CALLS_PER_STREAM
    );
    println!(
        "{:<22}{:>12}{:>15}{:>12}{:>12}",
        "", "direct", "forward only", "proxied", "added"
    );
    for (label, samples) in [
        ("1 stream", [&one[0], &one[1], &one[2]]),
        ("64 streams", [&many[0].0, &many[1].0, &many[2].0]),
    ] {
        for (name, q) in [("p50", 0.50), ("p99", 0.99)] {
            let [d, f, p] = samples.map(|s| percentile(s, q));
            println!(
                "{:<22}{:>9.3} ms{:>12.3} ms{:>9.3} ms{:>9.3} ms",
                format!("{label} {name}"),
                ms(d),
                ms(f),
                ms(p),
                ms(p.saturating_sub(d))
            );
        }
    }
    let calls = (CONCURRENT_STREAMS * CALLS_PER_STREAM) as f64;
    let [direct_rate, forward_rate, proxied_rate] =
        [&many[0], &many[1], &many[2]].map(|(_, elapsed)| calls / elapsed.as_secs_f64());
    println!(
        "{:<22}{:>10.0}/s{:>13.0}/s{:>10.0}/s",
        "throughput (64)", direct_rate, forward_rate, proxied_rate
    );
    println!(
        "{:<22}{:>12}{:>14.2}x{:>11.2}x",
        "  vs direct",
        "1x",
        forward_rate / direct_rate,
        proxied_rate / direct_rate
    );
    println!(
        "recorded {} interactions ({} bytes on disk)",
        summary.recorded,
        std::fs::metadata(&path)?.len()
    );
    Ok(())
}

fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    encode_frame(message, &mut out);
    out.freeze()
}

async fn start_upstream() -> Result<Server, yc_proxy::Error> {
    let image = compute::Image {
        id: "fd8bench".into(),
        folder_id: "b1gfolder".into(),
        name: "ubuntu-2204-lts-bench".into(),
        family: "ubuntu-2204-lts".into(),
        size: 3_221_225_472,
        min_disk_size: 5_368_709_120,
        status: 2,
        ..Default::default()
    };
    let answer = frame(&image.encode_to_vec());
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let answer = answer.clone();
        async move {
            let _ = request.into_body().collect().await;
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", HeaderValue::from_static("0"));
            let mut response = Response::new(Body::new(answer, Some(trailers)));
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/grpc"));
            Ok::<_, Infallible>(response)
        }
    });
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
        async move {
            let request = request.map(|body| body.map_err(Into::into).boxed());
            let response = match upstream.send(Transport::Grpc, &url, request).await {
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
        }
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

async fn call(sender: &SendRequest<Full<Bytes>>, body: &Bytes) -> Result<Duration, BenchError> {
    let request = Request::builder()
        .method("POST")
        .uri(format!("http://bench{METHOD}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(body.clone()))?;
    let started = Instant::now();
    let response = sender.clone().send_request(request).await?;
    let collected = response.into_body().collect().await?;
    let elapsed = started.elapsed();
    let ok = collected
        .trailers()
        .and_then(|t| t.get("grpc-status"))
        .is_some_and(|s| s == "0");
    if !ok {
        return Err("a call did not end with grpc-status 0".into());
    }
    Ok(elapsed)
}

async fn sequential(
    sender: &SendRequest<Full<Bytes>>,
    body: &Bytes,
    calls: usize,
) -> Result<Vec<Duration>, BenchError> {
    let mut out = Vec::with_capacity(calls);
    for _ in 0..calls {
        out.push(call(sender, body).await?);
    }
    Ok(out)
}

async fn concurrent(
    sender: &SendRequest<Full<Bytes>>,
    body: &Bytes,
) -> Result<(Vec<Duration>, Duration), BenchError> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENT_STREAMS {
        let sender = sender.clone();
        let body = body.clone();
        tasks.spawn(async move { sequential(&sender, &body, CALLS_PER_STREAM).await });
    }
    let mut all = Vec::with_capacity(CONCURRENT_STREAMS * CALLS_PER_STREAM);
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    Ok((all, started.elapsed()))
}

fn keep_best(best: &mut Vec<Duration>, round: Vec<Duration>) {
    if best.is_empty() || percentile(&round, 0.5) < percentile(best, 0.5) {
        *best = round;
    }
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
