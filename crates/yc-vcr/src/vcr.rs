//! The test harness: a replay or record server for one cassette, chosen by a [`Mode`], run on a thread of its own.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};
use yc_cassette::{Cassette, Index, RedactionRules, Redactor};
use yc_proto::Schema;
use yc_proxy::record::{self, RecordConfig, RecordServer};
use yc_proxy::upstream::{UpstreamUrl, Upstreams};
use yc_proxy::{EpisodesServer, ReplayConfig, ReplayServer};

/// What a test does with its cassette, in VCR's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Replay only: a request that was not recorded gets the miss error (the default when `CI` is set).
    None,
    /// Replay the cassette if it exists, else record it (the default otherwise).
    Once,
    /// Replay what is recorded, record what is not and append it.
    NewEpisodes,
    /// Record everything anew, replacing the cassette when the recording finishes cleanly.
    All,
}

impl Mode {
    /// The environment variable read when no mode is given.
    pub const ENV: &'static str = "YC_VCR_MODE";

    /// The mode `YC_VCR_MODE` names; unset or empty: `none` when `CI` is set, else `once`.
    pub fn from_env() -> Result<Mode, Error> {
        match std::env::var(Mode::ENV) {
            Ok(text) if !text.is_empty() => text.parse(),
            _ if std::env::var_os("CI").is_some() => Ok(Mode::None),
            _ => Ok(Mode::Once),
        }
    }

    /// The name `YC_VCR_MODE` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Once => "once",
            Mode::NewEpisodes => "new_episodes",
            Mode::All => "all",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = Error;

    /// `none`, `once`, `new_episodes` (or `new-episodes`), `all`.
    fn from_str(text: &str) -> Result<Mode, Error> {
        match text {
            "none" => Ok(Mode::None),
            "once" => Ok(Mode::Once),
            "new_episodes" | "new-episodes" => Ok(Mode::NewEpisodes),
            "all" => Ok(Mode::All),
            other => Err(Error::Mode(other.to_owned())),
        }
    }
}

/// Why a harness could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "unknown mode `{0}`: use none, once, new_episodes or all (in `YC_VCR_MODE` or `Vcr::mode`)"
    )]
    Mode(String),
    #[error(
        "cassette `{}` does not exist and the mode is `none`{}: record it with YC_VCR_MODE=once (or all) against \
         the cloud",
        path.display(),
        if std::env::var_os("CI").is_some() { " (CI is set)" } else { "" }
    )]
    NoCassette { path: PathBuf },
    #[error(transparent)]
    Cassette(#[from] yc_cassette::Error),
    #[error(transparent)]
    Proxy(#[from] yc_proxy::Error),
    #[error("the harness thread failed: {0}")]
    Thread(String),
}

/// How long the harness's server waits for clients when it stops. The test has had its answers by then; a harness
/// dropped on a current-thread test runtime blocks that runtime, so its clients cannot take part in a graceful
/// HTTP/2 shutdown (a PING round trip) and the wait would be the whole grace period.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

/// The environment variable naming the upstream to record against when [`Vcr::upstream`] is not given.
pub const UPSTREAM_ENV: &str = "YC_VCR_UPSTREAM";

/// A harness to start: the cassette, the mode and the recording options, with `yc-vcr record`'s defaults.
#[derive(Debug, Clone)]
pub struct Vcr {
    cassette: PathBuf,
    mode: Option<Mode>,
    upstream: Option<String>,
    redaction: RedactionRules,
    description: String,
    schema: Arc<Schema>,
}

impl Vcr {
    /// A harness for the cassette at `path` (a `.json` file; its folder is created when recording).
    pub fn cassette(path: impl AsRef<Path>) -> Vcr {
        Vcr {
            cassette: path.as_ref().to_path_buf(),
            mode: None,
            upstream: None,
            redaction: RedactionRules::default(),
            description: String::new(),
            schema: Schema::embedded(),
        }
    }

    /// The mode, instead of `YC_VCR_MODE` and the default.
    pub fn mode(mut self, mode: Mode) -> Vcr {
        self.mode = Some(mode);
        self
    }

    /// Where recording sends traffic (`http://HOST:PORT` or `https://HOST[:PORT]`) instead of Yandex Cloud;
    /// without it, `YC_VCR_UPSTREAM` if set (to re-record a suite against a local fake without changing the tests).
    pub fn upstream(mut self, url: impl Into<String>) -> Vcr {
        self.upstream = Some(url.into());
        self
    }

    /// Redaction rules besides the built-in ones, used when recording and when matching.
    pub fn redaction(mut self, rules: RedactionRules) -> Vcr {
        self.redaction = rules;
        self
    }

    /// The schema messages are typed by (default: the embedded one); [`crate::protos::schema`] builds one from a
    /// test's own `.proto` files.
    pub fn schema(mut self, schema: Arc<Schema>) -> Vcr {
        self.schema = schema;
        self
    }

    /// `meta.description` of a cassette recorded anew.
    pub fn description(mut self, text: impl Into<String>) -> Vcr {
        self.description = text.into();
        self
    }

    /// Starts the harness on `127.0.0.1` (a free port) in the mode in force.
    pub async fn start(self) -> Result<Harness, Error> {
        let asked = match self.mode {
            Some(mode) => mode,
            None => Mode::from_env()?,
        };
        let exists = self.cassette.is_file();
        let serving = match (asked, exists) {
            (Mode::None, false) => {
                return Err(Error::NoCassette {
                    path: self.cassette,
                });
            }
            (Mode::None | Mode::Once, true) => Mode::None,
            (Mode::Once | Mode::All, _) => Mode::All,
            (Mode::NewEpisodes, _) => Mode::NewEpisodes,
        };
        let redactor = Redactor::new(&self.redaction)?;
        let plan = match serving {
            Mode::None => {
                let cassette = Cassette::load(&self.cassette, &self.schema)?;
                let origin = self.cassette.display().to_string();
                Plan::Replay(Index::new(
                    vec![(origin, cassette)],
                    redactor,
                    self.schema.clone(),
                )?)
            }
            _ => {
                let upstream = self.upstream.clone().or_else(|| {
                    std::env::var(UPSTREAM_ENV)
                        .ok()
                        .filter(|url| !url.is_empty())
                });
                let upstreams = match upstream {
                    Some(url) => Upstreams::single(UpstreamUrl::from_str(&url)?),
                    None => Upstreams::yandex(),
                };
                if let Some(dir) = self.cassette.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| yc_cassette::Error::Io {
                        action: "create the folder of",
                        path: self.cassette.clone(),
                        source,
                    })?;
                }
                let mut config = RecordConfig::new(&self.cassette, upstreams);
                config.server.shutdown_grace = SHUTDOWN_GRACE;
                config.mode = record::Mode::Replace;
                config.redactor = redactor;
                config.schema = self.schema.clone();
                config.description = self.description.clone();
                if serving == Mode::NewEpisodes {
                    Plan::Episodes(config)
                } else {
                    Plan::Record(config)
                }
            }
        };
        Harness::spawn(plan, serving, self.cassette).await
    }
}

/// What the harness thread serves.
enum Plan {
    Replay(Index),
    Record(RecordConfig),
    Episodes(RecordConfig),
}

/// How the harness is asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// Write the recording.
    Finish,
    /// The test panicked: keep what is on disk as it is (a replaced cassette stays the old one).
    Abandon,
}

/// A running harness. Point clients at [`Harness::channel`] or [`Harness::url`]; [`Harness::finish`] (or dropping
/// it) stops it and writes the recording.
#[derive(Debug)]
pub struct Harness {
    addr: SocketAddr,
    mode: Mode,
    cassette: PathBuf,
    stop: Option<oneshot::Sender<Stop>>,
    thread: Option<JoinHandle<Result<Report, Error>>>,
}

/// How a harness ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What it did: [`Mode::None`] (replayed), [`Mode::All`] (recorded) or [`Mode::NewEpisodes`].
    pub mode: Mode,
    pub cassette: PathBuf,
    /// Interactions recorded in this run.
    pub recorded: usize,
    /// Requests that matched no recording (replay), as `gRPC /pkg.Service/Method` or `REST GET /path`.
    pub misses: Vec<String>,
    /// Recorded interactions the test never reached (replay): the test did less than its recording.
    pub unused: Vec<String>,
}

impl Harness {
    async fn spawn(plan: Plan, mode: Mode, cassette: PathBuf) -> Result<Harness, Error> {
        let (started, on_start) = oneshot::channel::<Result<SocketAddr, Error>>();
        let (stop, on_stop) = oneshot::channel::<Stop>();
        let path = cassette.clone();
        let thread = std::thread::Builder::new()
            .name("yc-vcr-harness".to_owned())
            .spawn(move || serve(plan, mode, path, started, on_stop))
            .map_err(|error| Error::Thread(error.to_string()))?;
        match on_start.await {
            Ok(Ok(addr)) => Ok(Harness {
                addr,
                mode,
                cassette,
                stop: Some(stop),
                thread: Some(thread),
            }),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => Err(Error::Thread(join_error(thread.join()))),
        }
    }

    /// The address the harness listens on (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base URL for REST clients, and the endpoint for gRPC ones.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A tonic channel to the harness (cleartext HTTP/2), connected on first use. Call it within a tokio runtime.
    pub fn channel(&self) -> Channel {
        Endpoint::from_shared(self.url())
            .expect("an http:// URL of a socket address is a valid endpoint")
            .connect_lazy()
    }

    /// What the harness does: [`Mode::None`] (replays), [`Mode::All`] (records) or [`Mode::NewEpisodes`], after
    /// `once` has decided.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The cassette this harness replays or records.
    pub fn cassette(&self) -> &Path {
        &self.cassette
    }

    /// Stops the harness, writes the recording and reports.
    pub async fn finish(mut self) -> Result<Report, Error> {
        let thread = self.stop_thread(Stop::Finish);
        match thread {
            Some(thread) => tokio::task::spawn_blocking(move || thread.join())
                .await
                .map_err(|error| Error::Thread(error.to_string()))?
                .map_err(|panic| Error::Thread(panic_text(&panic)))?,
            None => Err(Error::Thread("the harness was already stopped".to_owned())),
        }
    }

    fn stop_thread(&mut self, how: Stop) -> Option<JoinHandle<Result<Report, Error>>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(how);
        }
        self.thread.take()
    }
}

impl Drop for Harness {
    /// Stops the harness and says on stderr what went wrong: a test that drops its harness without
    /// [`Harness::finish`] still gets its recording written and its misses shown.
    fn drop(&mut self) {
        let how = if std::thread::panicking() {
            Stop::Abandon
        } else {
            Stop::Finish
        };
        let Some(thread) = self.stop_thread(how) else {
            return;
        };
        match thread.join() {
            Ok(Ok(report)) => report.warn(),
            Ok(Err(error)) => eprintln!("yc-vcr: `{}`: {error}", self.cassette.display()),
            Err(panic) => eprintln!(
                "yc-vcr: `{}`: the harness thread panicked: {}",
                self.cassette.display(),
                panic_text(&panic)
            ),
        }
    }
}

impl Report {
    fn warn(&self) {
        for miss in &self.misses {
            eprintln!(
                "yc-vcr: `{}`: no recorded interaction matched {miss}",
                self.cassette.display()
            );
        }
        for unused in &self.unused {
            eprintln!("yc-vcr: never reached: {unused}");
        }
    }
}

/// The harness thread: its own runtime, the server, and the report at the end.
fn serve(
    plan: Plan,
    mode: Mode,
    cassette: PathBuf,
    started: oneshot::Sender<Result<SocketAddr, Error>>,
    stop: oneshot::Receiver<Stop>,
) -> Result<Report, Error> {
    // One worker, as `yc-vcr record` has by default: a harness serves one test's client, whose calls share one
    // HTTP/2 connection that more workers only contend for; a suite's tests in parallel make a worker per test.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(yc_proxy::record::DEFAULT_WORKER_THREADS.into())
        .thread_name("yc-vcr-harness")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let error = Error::Thread(format!("cannot start a tokio runtime: {error}"));
            let _ = started.send(Err(Error::Thread(error.to_string())));
            return Err(error);
        }
    };
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    runtime.block_on(async move {
        let mut report = Report {
            mode,
            cassette,
            recorded: 0,
            misses: Vec::new(),
            unused: Vec::new(),
        };
        match plan {
            Plan::Replay(index) => {
                let mut config = ReplayConfig::default();
                config.server.shutdown_grace = SHUTDOWN_GRACE;
                let server = started_or(
                    started,
                    ReplayServer::start(local, index, config),
                    ReplayServer::local_addr,
                    "replay",
                )?;
                let _ = stop.await;
                report.misses = server.replayer().misses();
                report.unused = server.replayer().unused();
                server.shutdown().await;
            }
            Plan::Record(config) => {
                let server = started_or(
                    started,
                    RecordServer::start(local, config).await,
                    RecordServer::local_addr,
                    "record",
                )?;
                if stop.await == Ok(Stop::Abandon) {
                    // A failed test: a replaced cassette keeps its old file, and the new recording's journal is
                    // ignored by readers and dropped by the next recorder.
                    server.abandon().await;
                    return Ok(report);
                }
                report.recorded = server.shutdown().await?.recorded;
            }
            Plan::Episodes(config) => {
                let mut replay = ReplayConfig::default();
                replay.server.shutdown_grace = SHUTDOWN_GRACE;
                let server = started_or(
                    started,
                    EpisodesServer::start(local, config, &replay).await,
                    EpisodesServer::local_addr,
                    "new_episodes",
                )?;
                let _ = stop.await;
                report.recorded = server.shutdown().await?.recorded;
            }
        }
        Ok(report)
    })
}

/// Tells the test's thread whether `server` started, and where it listens; one that did not start ends the harness
/// thread with an error saying `what` did not start.
fn started_or<S>(
    started: oneshot::Sender<Result<SocketAddr, Error>>,
    server: Result<S, yc_proxy::Error>,
    local_addr: impl FnOnce(&S) -> SocketAddr,
    what: &str,
) -> Result<S, Error> {
    match server {
        Ok(server) => {
            let _ = started.send(Ok(local_addr(&server)));
            Ok(server)
        }
        Err(error) => {
            let _ = started.send(Err(error.into()));
            Err(Error::Thread(format!("{what} did not start")))
        }
    }
}

fn join_error(joined: std::thread::Result<Result<Report, Error>>) -> String {
    match joined {
        Ok(Ok(_)) => "the harness stopped before it started".to_owned(),
        Ok(Err(error)) => error.to_string(),
        Err(panic) => panic_text(&panic),
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}
