//! `cargo xtask bench replay`: the replay server over loopback against a minimal hyper server that answers the same
//! bytes from memory (the ceiling), in the same run, side by side.
//!
//! Loads: gRPC `ImageService/Get` at 1, 16 and 64 concurrent HTTP/2 streams over one connection, and REST `GET` over
//! HTTP/1.1 keep-alive on 1 and 16 connections; then over TLS (both servers serve TLS and cleartext on one port, as
//! `yc-vcr` does): 64 streams on one TLS connection, and a new TLS connection per call (TCP connect, a full
//! handshake without resumption, the HTTP/2 handshake and one call), one at a time. Servers and the load generator each get one runtime thread, so the
//! two sides do not fight over the (shared) cores more than they must. Prints requests/s and p50/p99 latency.
//! Each load runs three rounds per server, alternating, and keeps each server's best round.
//!
//! The ceiling runs on the same [`yc_proxy::Server`] as replay (same accept loop, same HTTP/1.1 and HTTP/2
//! settings), with a service that answers the same bytes from memory: the ratio is the cost of the replay service.
//! The load generator is hyper's HTTP/2 client, as under tonic; at 16 and 64 streams its own writes (one per call)
//! can be what limits both columns, so the in-process figures are the direct measure of the per-call cost.
//!
//! Usage: `bench_replay [SECONDS_PER_RUN] [--rounds N] [--load NAME] [--only replay|ceiling] [--no-startup]`
//! (defaults: 2 s, 3 rounds, every load, both servers, startup figures on). `--load` takes a name as printed
//! (`grpc-64`, `rest-16`, `grpc-64-tls`, `tls-connect`, ...). `--only replay` with one load is the run to profile: the server thread is named
//! `bench-server`, the load generator `bench-client`. Asserts nothing about time.

/// The allocator the `yc-vcr` binary ships with, so the figures are the binary's; every column runs on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request, Uri};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message as _;
use tokio::net::{TcpListener, TcpStream};
use yc_cassette::{Body, Cassette, Headers, Interaction, fixture};
use yc_proto::compute::v1::{GetImageRequest, Image, Os, image, os};
use yc_proxy::grpc::encode_frame;
use yc_proxy::{Ca, ReplayConfig, ReplayServer, Replayer, Server, ServerConfig, TlsConfig};

const METHOD: &str = "/yandex.cloud.compute.v1.ImageService/Get";
const IMAGE_ID: &str = "fd8kb72eo1r5fs97a1ki";
const ROUNDS: usize = 3;
const REST_PATH: &str = "/compute/v1/images/fd8kb72eo1r5fs97a1ki";

/// Command-line options.
struct Options {
    run_for: Duration,
    rounds: usize,
    load: Option<String>,
    ceiling: bool,
    replay: bool,
    startup: bool,
}

const USAGE: &str = "usage: bench_replay [SECONDS_PER_RUN] [--rounds N] [--load NAME] [--only replay|ceiling] \
                     [--no-startup]";

impl Options {
    /// The options from the command line; `Ok(None)` when help was asked for, an error naming a bad argument.
    fn parse() -> Result<Option<Options>, String> {
        let mut options = Options {
            run_for: Duration::from_secs(2),
            rounds: ROUNDS,
            load: None,
            ceiling: true,
            replay: true,
            startup: true,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "--rounds" => {
                    options.rounds = match args.next().map(|n| n.parse()) {
                        Some(Ok(n)) if n > 0 => n,
                        _ => return Err("--rounds takes a number of rounds, 1 or more".into()),
                    }
                }
                "--load" => {
                    options.load = Some(args.next().ok_or("--load takes a load name")?);
                }
                "--only" => match args.next().as_deref() {
                    Some("replay") => options.ceiling = false,
                    Some("ceiling") => options.replay = false,
                    _ => return Err("--only takes `replay` or `ceiling`".into()),
                },
                "--no-startup" => options.startup = false,
                seconds => match seconds.parse::<f64>() {
                    Ok(seconds) if seconds.is_finite() && seconds > 0.0 => {
                        options.run_for = Duration::from_secs_f64(seconds);
                    }
                    _ => return Err(format!("unknown argument `{seconds}`")),
                },
            }
        }
        Ok(Some(options))
    }
}

fn main() -> std::process::ExitCode {
    let options = match Options::parse() {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("bench_replay: {error}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let loads = [
        Load::Grpc {
            streams: 1,
            tls: false,
        },
        Load::Grpc {
            streams: 16,
            tls: false,
        },
        Load::Grpc {
            streams: 64,
            tls: false,
        },
        Load::Rest { connections: 1 },
        Load::Rest { connections: 16 },
        Load::Grpc {
            streams: 64,
            tls: true,
        },
        Load::TlsConnect,
    ];
    if let Some(name) = &options.load
        && !loads.iter().any(|load| load.short_name() == *name)
    {
        let names: Vec<String> = loads.iter().map(|load| load.short_name()).collect();
        eprintln!(
            "bench_replay: no load is named `{name}`; the loads are {}",
            names.join(", ")
        );
        return std::process::ExitCode::from(2);
    }
    let run_for = options.run_for;
    let servers = runtime("bench-server");
    let clients = runtime("bench-client");

    if options.startup {
        prepare_figures();
    }

    let ca_dir = tempfile::tempdir().unwrap();
    let ca = Ca::open_or_create(ca_dir.path()).unwrap();
    let client_tls = client_tls(&ca);
    let (replay, replay_addr, ceiling, ceiling_addr) = servers.block_on(async {
        let index = fixture::index(vec![cassette()]);
        let mut config = ReplayConfig::default();
        config.server.tls = Some(TlsConfig::new(ca, &[]).unwrap());
        let ceiling = ceiling(&config.server);
        let replay =
            ReplayServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), index, config).unwrap();
        let addr = replay.local_addr();
        let ceiling_addr = ceiling.local_addr();
        (replay, addr, ceiling, ceiling_addr)
    });
    clients.block_on(check(replay_addr, ceiling_addr, &client_tls));

    println!(
        "ceiling: the same yc_proxy::Server and ServerConfig as replay (TLS and cleartext on one port), answering \
         from memory"
    );
    println!(
        "{:<24} {:>12} {:>9} {:>9}   {:>12} {:>9} {:>9}   {:>6}",
        "load", "ceiling r/s", "p50 us", "p99 us", "replay r/s", "p50 us", "p99 us", "ratio"
    );
    let mut replay_rates = std::collections::HashMap::new();
    for load in loads {
        if options
            .load
            .as_ref()
            .is_some_and(|name| *name != load.short_name())
        {
            continue;
        }
        // Alternate the two servers and keep each one's best round: the cores are shared, so noise only slows runs.
        let (mut ceiling, mut replayed) = (Figures::NONE, Figures::NONE);
        let round = |addr| clients.block_on(measure(load, addr, run_for, &client_tls));
        for _ in 0..options.rounds {
            if options.ceiling {
                ceiling = ceiling.best(round(ceiling_addr));
            }
            if options.replay {
                replayed = replayed.best(round(replay_addr));
            }
        }
        replay_rates.insert(load.short_name(), replayed.per_second);
        println!(
            "{:<24} {:>12.0} {:>9} {:>9}   {:>12.0} {:>9} {:>9}   {:>6.2}",
            load.name(),
            ceiling.per_second,
            ceiling.p50,
            ceiling.p99,
            replayed.per_second,
            replayed.p50,
            replayed.p99,
            replayed.per_second / ceiling.per_second
        );
    }
    if let (Some(tls), Some(clear)) = (replay_rates.get("grpc-64-tls"), replay_rates.get("grpc-64"))
    {
        println!(
            "replay over TLS / cleartext at 64 streams on one connection: {:.2}",
            tls / clear
        );
    }
    servers.block_on(async {
        replay.shutdown().await;
        ceiling.shutdown().await;
    });
    std::process::ExitCode::SUCCESS
}

/// A client trusting `ca`, offering `h2`, without session resumption (each connection pays a full handshake).
fn client_tls(ca: &Ca) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert_der().clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .enable_all()
        .build()
        .unwrap()
}

fn image() -> Image {
    Image {
        id: IMAGE_ID.into(),
        folder_id: "standard-images".into(),
        name: "ubuntu-22-04-lts-v20240101".into(),
        description: "Ubuntu 22.04 LTS".into(),
        family: "ubuntu-2204-lts".into(),
        storage_size: 3_221_225_472,
        min_disk_size: 8_589_934_592,
        product_ids: vec!["f2e0tlnhhmab9i6ivp5r".into()],
        status: image::Status::Ready as i32,
        os: Some(Os {
            r#type: os::Type::Linux as i32,
            ..Default::default()
        }),
        labels: [("team".to_owned(), "platform".to_owned())].into(),
        ..Default::default()
    }
}

fn request_bytes() -> Vec<u8> {
    GetImageRequest {
        image_id: IMAGE_ID.into(),
    }
    .encode_to_vec()
}

fn rest_json() -> serde_json::Value {
    yc_proto::json::to_value(&image(), yc_proto::json::Style::Camel).unwrap()
}

fn grpc_interaction(id: &str) -> Interaction {
    let mut image = image();
    image.id = id.into();
    fixture::grpc(METHOD)
        .metadata(&[])
        .request(&GetImageRequest {
            image_id: id.into(),
        })
        .response(&image)
        .build()
}

fn cassette() -> Cassette {
    fixture::cassette(vec![
        grpc_interaction(IMAGE_ID),
        fixture::rest("GET", REST_PATH)
            .response_headers(&[("content-type", "application/json")])
            .response(Body::Json(rest_json()))
            .build(),
    ])
}

/// Startup cost at 10,000 interactions: indexing plus preparing every response.
fn prepare_figures() {
    let mut big = cassette();
    big.interactions = (0..10_000)
        .map(|i| grpc_interaction(&format!("fd8img{i:05}")))
        .collect();
    let start = Instant::now();
    let index = fixture::index(vec![big]);
    let indexed = start.elapsed();
    let replayer = Replayer::new(index, &ReplayConfig::default()).unwrap();
    let prepared = start.elapsed();
    drop(replayer);
    println!(
        "10,000 interactions: Index::new {:.1} ms, + preparing responses {:.1} ms",
        indexed.as_secs_f64() * 1e3,
        (prepared - indexed).as_secs_f64() * 1e3
    );

    // Per-call cost without sockets: the index lookup alone, then the whole replay handler.
    let index = fixture::index(vec![cassette()]);
    let metadata: Headers = [
        ("te", "trailers"),
        ("content-type", "application/grpc"),
        ("user-agent", "bench"),
    ]
    .into_iter()
    .collect();
    let messages = vec![request_bytes()];
    let calls = 100_000;
    // The mean time of one lookup of `request`, every one a hit.
    let per_lookup = |request: yc_cassette::Request<'_>| {
        let start = Instant::now();
        for _ in 0..calls {
            assert!(index.lookup(&request).is_ok());
        }
        start.elapsed() / calls
    };
    let lookup = per_lookup(yc_cassette::Request::Grpc {
        method: METHOD,
        metadata: &metadata,
        messages: &messages,
    });
    let rest_lookup = per_lookup(yc_cassette::Request::Rest {
        method: "GET",
        path: REST_PATH,
        query: "",
        headers: &metadata,
        body: &[],
    });
    // The same data encoded otherwise (a repeated field, the last one wins): the full lookup, decoding and all.
    let mut respelled = GetImageRequest {
        image_id: "fd8other".into(),
    }
    .encode_to_vec();
    respelled.extend(request_bytes());
    let messages = vec![respelled];
    let full_lookup = per_lookup(yc_cassette::Request::Grpc {
        method: METHOD,
        metadata: &metadata,
        messages: &messages,
    });
    let replayer = Replayer::new(index, &ReplayConfig::default()).unwrap();
    let mut frame = BytesMut::new();
    encode_frame(&request_bytes(), &mut frame);
    let frame = frame.freeze();
    let handled = runtime("bench-startup").block_on(async {
        let start = Instant::now();
        for _ in 0..calls {
            let request = Request::post(METHOD)
                .version(http::Version::HTTP_2)
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .header("user-agent", "bench")
                .body(Full::new(frame.clone()))
                .unwrap();
            let response = replayer.handle(request).await;
            assert_eq!(response.status(), 200);
        }
        start.elapsed() / calls
    });
    println!(
        "in-process, gRPC Get: Index::lookup {lookup:.1?} per call (bytes not as recorded: {full_lookup:.1?}), \
         whole replay handler {handled:.1?} per call; REST GET: Index::lookup {rest_lookup:.1?} per call"
    );
}

/// The ceiling: hyper answering the same bytes from memory, no matching, no frame parsing, on the same
/// [`Server`] (accept loop, connection builder, HTTP/2 windows and stream limits) as replay.
fn ceiling(config: &ServerConfig) -> Server {
    let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    listener.set_nonblocking(true).unwrap();
    let listener = TcpListener::from_std(listener).unwrap();
    let mut frame = BytesMut::new();
    encode_frame(&image().encode_to_vec(), &mut frame);
    let rest_body = Bytes::from(serde_json::to_vec(&rest_json()).unwrap());
    let service = common::memory_service(frame.freeze(), rest_body);
    Server::serve(listener, service, config).unwrap()
}

#[derive(Clone, Copy)]
enum Load {
    Grpc {
        streams: usize,
        tls: bool,
    },
    Rest {
        connections: usize,
    },
    /// One call per new TLS connection, one connection at a time.
    TlsConnect,
}

impl Load {
    /// The row's label, and the name `--load` takes.
    fn names(self) -> (String, String) {
        match self {
            Load::Grpc {
                streams,
                tls: false,
            } => (
                format!("grpc h2 {streams} streams"),
                format!("grpc-{streams}"),
            ),
            Load::Grpc { streams, tls: true } => (
                format!("grpc h2 tls {streams} streams"),
                format!("grpc-{streams}-tls"),
            ),
            Load::Rest { connections } => (
                format!("rest h1 {connections} conns"),
                format!("rest-{connections}"),
            ),
            Load::TlsConnect => (
                "tls connect + 1st call".to_owned(),
                "tls-connect".to_owned(),
            ),
        }
    }

    fn name(self) -> String {
        self.names().0
    }

    fn short_name(self) -> String {
        self.names().1
    }
}

struct Figures {
    per_second: f64,
    p50: u128,
    p99: u128,
}

impl Figures {
    const NONE: Figures = Figures {
        per_second: 0.0,
        p50: 0,
        p99: 0,
    };

    fn best(self, other: Figures) -> Figures {
        if other.per_second > self.per_second {
            other
        } else {
            self
        }
    }
}

/// Both servers must give the same answer, in cleartext and over TLS, before their speed means anything.
async fn check(replay: SocketAddr, ceiling: SocketAddr, tls: &tokio_rustls::TlsConnector) {
    let mut seen = Vec::new();
    for addr in [replay, ceiling] {
        let mut sender = h2_connect(addr).await;
        let (body, trailers) = grpc_call(&mut sender, &grpc_uri(addr, false)).await;
        let mut over_tls = h2_connect_tls(addr, tls).await;
        let (tls_body, _) = grpc_call(&mut over_tls, &grpc_uri(addr, true)).await;
        assert_eq!(tls_body, body, "the same answer over TLS");
        let mut http1 = h1_connect(addr).await;
        let rest = rest_call(&mut http1).await;
        seen.push((body, trailers.get("grpc-status").cloned(), rest));
    }
    assert_eq!(seen[0], seen[1], "replay and ceiling answer differently");
    assert_eq!(seen[0].1.as_ref().map(|v| v.as_bytes()), Some(&b"0"[..]));
}

async fn measure(
    load: Load,
    addr: SocketAddr,
    run_for: Duration,
    tls: &tokio_rustls::TlsConnector,
) -> Figures {
    // A short warm-up on the same connections is not worth the complexity: the first run is long enough.
    let started = Instant::now();
    let deadline = started + run_for;
    let mut workers = tokio::task::JoinSet::new();
    match load {
        Load::Grpc {
            streams,
            tls: over_tls,
        } => {
            let sender = if over_tls {
                h2_connect_tls(addr, tls).await
            } else {
                h2_connect(addr).await
            };
            let uri = grpc_uri(addr, over_tls);
            for _ in 0..streams {
                let mut sender = sender.clone();
                let uri = uri.clone();
                workers.spawn(async move {
                    latencies_until(deadline, async move || {
                        grpc_call(&mut sender, &uri).await;
                    })
                    .await
                });
            }
        }
        Load::TlsConnect => {
            let tls = tls.clone();
            let uri = grpc_uri(addr, true);
            workers.spawn(async move {
                latencies_until(deadline, async move || {
                    let mut sender = h2_connect_tls(addr, &tls).await;
                    grpc_call(&mut sender, &uri).await;
                })
                .await
            });
        }
        Load::Rest { connections } => {
            for _ in 0..connections {
                let mut sender = h1_connect(addr).await;
                workers.spawn(async move {
                    latencies_until(deadline, async move || {
                        rest_call(&mut sender).await;
                    })
                    .await
                });
            }
        }
    }
    let mut latencies = Vec::new();
    while let Some(done) = workers.join_next().await {
        latencies.extend(done.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        per_second: latencies.len() as f64 / elapsed,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn grpc_uri(addr: SocketAddr, tls: bool) -> Uri {
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{addr}{METHOD}").parse().unwrap()
}

/// Calls `call` back to back until `deadline`; the latency of each call, in microseconds.
async fn latencies_until(deadline: Instant, mut call: impl AsyncFnMut()) -> Vec<u128> {
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let start = Instant::now();
        call().await;
        latencies.push(start.elapsed().as_micros());
    }
    latencies
}

async fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// An HTTP/2 connection over TLS (ALPN `h2`), with the same windows as [`h2_connect`].
async fn h2_connect_tls(
    addr: SocketAddr,
    tls: &tokio_rustls::TlsConnector,
) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let stream = tls.connect(name, tcp_connect(addr).await).await.unwrap();
    h2_handshake(stream).await
}

async fn h2_connect(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    h2_handshake(tcp_connect(addr).await).await
}

/// HTTP/2 over `stream`, with windows large enough that flow control never throttles the answers.
async fn h2_handshake<S>(stream: S) -> hyper::client::conn::http2::SendRequest<Full<Bytes>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(1 << 20)
        .initial_connection_window_size(16 << 20)
        .handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

async fn h1_connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(tcp_connect(addr).await))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

async fn grpc_call(
    sender: &mut hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    uri: &Uri,
) -> (Bytes, HeaderMap) {
    thread_local! {
        static BODY: Bytes = {
            let mut frame = BytesMut::new();
            encode_frame(&request_bytes(), &mut frame);
            frame.freeze()
        };
    }
    let request = Request::post(uri.clone())
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(BODY.with(Bytes::clone)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().unwrap_or_default();
    (collected.to_bytes(), trailers)
}

async fn rest_call(sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>) -> Bytes {
    sender.ready().await.unwrap();
    let request = Request::get(REST_PATH)
        .header("host", "bench")
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    response.into_body().collect().await.unwrap().to_bytes()
}
