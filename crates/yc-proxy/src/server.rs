//! The listener: one TCP port that serves HTTP/1.1 and HTTP/2, in cleartext (HTTP/2 by prior knowledge) and, with
//! [`ServerConfig::tls`], over TLS, to a hyper service, and shuts down gracefully.
//!
//! Each connection is sniffed once, by peeking at its first byte: 0x16 opens a TLS handshake record, an upper-case
//! letter (or an empty line) opens an HTTP/1.1 request or the HTTP/2 preface (`PRI`), anything else is logged and
//! closed. After the
//! TLS handshake, hyper's automatic builder sniffs the decrypted bytes the same way it does in cleartext, so TLS
//! without ALPN works too. The peek costs one system call per connection, never one per call.
//!
//! Replay and record both run on top of [`Server`]; they supply a [`hyper::service::Service`] and never touch the
//! socket themselves. This module knows nothing of gRPC, cassettes or matching, and must not panic on any input:
//! accept errors and connection errors are logged and the loop goes on.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::Error;
use crate::tls::TlsConfig;

/// Connection-level settings shared by the replay and record servers.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// How many HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// How long an HTTP/1.1 client may take to send its request headers.
    pub header_read_timeout: Duration,
    /// After a shutdown starts, how long in-flight calls may take before their connections are dropped.
    pub shutdown_grace: Duration,
    /// TLS beside cleartext on the same port; `None` serves cleartext only (a TLS client is told so in the log).
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_concurrent_streams: 1024,
            header_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            tls: None,
        }
    }
}

/// A running server: the accept loop and its connections run on the tokio runtime.
///
/// Dropping the handle starts a graceful shutdown, as [`Server::shutdown`] does, without waiting for it.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// What a [`Server`] serves: a service that answers every request with a response (errors are responses, never
/// `Err`), shared by every connection.
pub trait HttpService<B>:
    Service<Request<Incoming>, Response = Response<B>, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S, B> HttpService<B> for S
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
}

/// A response body hyper can send from any connection task.
pub trait ResponseBody:
    http_body::Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send + 'static
{
}

impl<B> ResponseBody for B
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
}

impl Server {
    /// Binds `addr` (use port 0 for any free port) and serves `service` on every connection.
    ///
    /// The service must answer every request with a response: errors are responses, never `Err`.
    pub async fn bind<B: ResponseBody>(
        addr: SocketAddr,
        service: impl HttpService<B>,
        config: &ServerConfig,
    ) -> Result<Server, Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        Server::serve(listener, service, config)
    }

    /// Serves `service` on an already bound listener.
    pub fn serve<B: ResponseBody>(
        listener: TcpListener,
        service: impl HttpService<B>,
        config: &ServerConfig,
    ) -> Result<Server, Error> {
        let local_addr = listener.local_addr().map_err(Error::LocalAddr)?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            service,
            builder: builder(config),
            tls: config.tls.clone(),
            sniff_timeout: config.header_read_timeout,
        });
        let task = tokio::spawn(accept_loop(
            listener,
            shared,
            stopped,
            config.shutdown_grace,
        ));
        Ok(Server {
            local_addr,
            stop,
            task,
        })
    }

    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets in-flight calls finish (within the grace period), then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "server task failed");
        }
    }

    /// Serves until `signal` resolves (e.g. SIGINT or SIGTERM), then shuts down as [`Server::shutdown`] does.
    pub async fn shutdown_on(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

fn builder(config: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.max_concurrent_streams)
        // Larger windows than the 64 KiB default: many concurrent streams on one connection stall otherwise.
        .initial_stream_window_size(1024 * 1024)
        .initial_connection_window_size(16 * 1024 * 1024);
    builder
}

/// What every connection of one server shares.
struct Shared<S> {
    service: S,
    builder: auto::Builder<TokioExecutor>,
    tls: Option<TlsConfig>,
    /// How long a client may wait before sending its first byte.
    sniff_timeout: Duration,
}

async fn accept_loop<S, B>(
    listener: TcpListener,
    shared: Arc<Shared<S>>,
    mut stopped: watch::Receiver<bool>,
    grace: Duration,
) where
    S: HttpService<B>,
    B: ResponseBody,
{
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            // A send of `true` or the handle being dropped both end the loop.
            () = stop_requested(&mut stopped) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Latency matters more than packet count for request/response traffic.
                    let _ = stream.set_nodelay(true);
                    let connection = serve_connection(
                        stream,
                        peer,
                        Arc::clone(&shared),
                        graceful.watcher(),
                        stopped.clone(),
                    );
                    connections.spawn(connection);
                }
                Err(error) => {
                    // Per-connection errors (reset before accept) are harmless; running out of descriptors is not,
                    // and retrying at once would spin, so back off briefly.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
    drop(listener);
    tracing::debug!(connections = connections.len(), "shutting down");
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(grace) => {
            tracing::warn!(connections = connections.len(), "shutdown grace period over, dropping connections");
        }
    }
    connections.shutdown().await;
}

/// What the first byte of a connection says it speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// A TLS handshake record (0x16).
    Tls,
    /// An HTTP/1.1 request line or the HTTP/2 preface: both start with an upper-case letter (or, for HTTP/1.1, an
    /// empty line that servers should skip, RFC 9112 section 2.2).
    Http,
    /// Neither.
    Other(u8),
}

pub(crate) fn sniff(first: u8) -> Sniffed {
    match first {
        0x16 => Sniffed::Tls,
        b'A'..=b'Z' | b'\r' | b'\n' => Sniffed::Http,
        other => Sniffed::Other(other),
    }
}

/// Sniffs one connection, runs the TLS handshake if it asks for one, then serves HTTP on it until it ends.
///
/// Until HTTP is served, a shutdown just drops the connection (and with it the graceful-shutdown watcher, which would
/// otherwise hold the shutdown up until the client spoke).
async fn serve_connection<S, B>(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared<S>>,
    watcher: Watcher,
    mut stopped: watch::Receiver<bool>,
) where
    S: HttpService<B>,
    B: ResponseBody,
{
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        () = stop_requested(&mut stopped) => return,
        peeked = tokio::time::timeout(shared.sniff_timeout, stream.peek(&mut first)) => peeked,
    };
    match peeked {
        Ok(Ok(0)) => return,
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "connection failed before its first byte");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "client sent nothing within {:?}: closing", shared.sniff_timeout);
            return;
        }
    }
    let http = Http {
        builder: &shared.builder,
        watcher,
        peer,
    };
    match (sniff(first[0]), &shared.tls) {
        (Sniffed::Http, _) => {
            http.serve(TokioIo::new(stream), shared.service.clone())
                .await;
        }
        (Sniffed::Tls, Some(tls)) => {
            let accepted = tokio::select! {
                () = stop_requested(&mut stopped) => return,
                accepted = tls.accept(stream, peer) => accepted,
            };
            let Some(stream) = accepted else { return };
            http.serve(TokioIo::new(stream), OverTls(shared.service.clone()))
                .await;
        }
        (Sniffed::Tls, None) => tracing::warn!(
            %peer,
            "a client speaks TLS, but this server serves cleartext only: point the client at              http:// (grpcurl -plaintext, grpc.insecure_channel) or start the server with TLS"
        ),
        (Sniffed::Other(byte), _) => tracing::warn!(
            %peer,
            "a client sent neither TLS nor HTTP (first byte 0x{byte:02x}): closing the connection"
        ),
    }
}

/// What serving HTTP on one connection takes besides its stream and the service: the protocol builder, the
/// graceful-shutdown watcher and the client's address for the log.
struct Http<'a> {
    builder: &'a auto::Builder<TokioExecutor>,
    watcher: Watcher,
    peer: SocketAddr,
}

impl Http<'_> {
    /// Serves `service` on `io` until the connection ends.
    async fn serve<I, S, B>(self, io: I, service: S)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
        S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Send + 'static,
        S::Future: Send + 'static,
        B: ResponseBody,
    {
        let conn = self.builder.serve_connection(io, service).into_owned();
        if let Err(error) = Coalesced::new(self.watcher.watch(conn)).await {
            tracing::debug!(peer = %self.peer, %error, "connection ended with an error");
        }
    }
}

/// Marks every request of a TLS connection with the [`OverTls`] extension, so that a service can tell (HTTP/2
/// requests also say so in their `:scheme`; HTTP/1.1 requests do not).
#[derive(Clone, Copy, Debug)]
struct OverTls<S>(S);

impl<S> Service<Request<Incoming>> for OverTls<S>
where
    S: Service<Request<Incoming>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut request: Request<Incoming>) -> S::Future {
        request.extensions_mut().insert(Tls);
        self.0.call(request)
    }
}

/// The request extension of a request that came over TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tls;

/// A connection future that, each time it is woken, first lets the tasks already queued run.
///
/// An HTTP/2 connection's calls run as tasks of their own, and each one wakes the connection when its response
/// is ready. Polled at once (tokio runs a task woken by another next), the connection would write each response
/// as it comes, one `writev` per call; moved to the back of the queue, it finds the answers of every call that
/// was ready and writes them together. The cost is one extra poll per wake-up; nothing waits for a timer.
pub(crate) struct Coalesced<F> {
    inner: Pin<Box<F>>,
    /// Woken since the last poll of `inner`: the next poll only reschedules.
    woken: bool,
}

impl<F> Coalesced<F> {
    pub(crate) fn new(inner: F) -> Coalesced<F> {
        Coalesced {
            inner: Box::pin(inner),
            woken: false,
        }
    }
}

impl<F: Future> Future for Coalesced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if this.woken {
            this.woken = false;
            // A wake-up during its own poll puts a tokio task at the back of the run queue.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polled = this.inner.as_mut().poll(cx);
        this.woken = polled.is_pending();
        polled
    }
}

async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    // An error means the handle was dropped, which also asks for a shutdown.
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// A response body held in memory: at most one data frame, then optional trailers.
///
/// Replay answers with it (cloning prepared [`Bytes`] is cheap), and so do error responses on both servers.
#[derive(Debug, Default)]
pub struct Body {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Body {
    /// A body with no data and no trailers.
    pub fn empty() -> Body {
        Body::default()
    }

    /// A body of `data` and, if given, trailers after it (HTTP/2 only; HTTP/1.1 drops them).
    pub fn new(data: Bytes, trailers: Option<HeaderMap>) -> Body {
        Body {
            data: (!data.is_empty()).then_some(data),
            trailers,
        }
    }
}

impl Body {
    /// The data frame, if any.
    pub(crate) fn data(&self) -> Option<&Bytes> {
        self.data.as_ref()
    }

    /// Replaces the data frame, keeping the trailers.
    pub(crate) fn set_data(&mut self, data: Bytes) {
        self.data = (!data.is_empty()).then_some(data);
    }
}

impl From<Bytes> for Body {
    fn from(data: Bytes) -> Body {
        Body::new(data, None)
    }
}

impl From<String> for Body {
    fn from(data: String) -> Body {
        Body::new(Bytes::from(data), None)
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(
            this.trailers
                .take()
                .map(|trailers| Ok(Frame::trailers(trailers))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |data| data.len() as u64))
    }
}

#[cfg(test)]
mod tests;
