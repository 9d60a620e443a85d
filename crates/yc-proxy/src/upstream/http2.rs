//! The HTTP/2 upstream client, over the `h2` crate directly: one connection per upstream, shared by every gRPC call
//! and by every REST call that came in over HTTP/2.
//!
//! Why not hyper's client, which the REST side keeps: a proxy pays a client's HTTP/2 work on every call, and hyper's
//! HTTP/2 client hands each request to the connection's task through a channel, answers through a oneshot, and
//! spawns a task per request body to pump it. Measured on the bench load (gRPC unary Get, 64 streams on one
//! connection, a forwarder that does nothing else), a forwarder over hyper's client spent 26-27 us of CPU a call and
//! one over `h2` 11-12 us, the upstream's hyper server 6-10 us. Here a call opens its stream from its own task, sends
//! its body from there while it waits for the answer's head, and spawns a pump only for a body still streaming
//! once the answer has begun (client and bidirectional streams).
//!
//! What hyper's client did that this one does too: TLS with ALPN `h2` (refused with a clear error when the server
//! does not agree), `TCP_NODELAY`, a connect timeout (over TCP, TLS and the server's preface, seen by a ping
//! answered), flow-control windows, no server push, the connection's writes
//! coalesced ([`Coalesced`]), and a new connection when the old one is gone (a call that finds its connection closed
//! before it sent anything tries once on a fresh one). Dead peers are found by TCP keepalive rather than HTTP/2 pings:
//! gRPC servers count a client's pings and close connections that ping more often than their policy allows, and
//! TCP's probes are invisible to them.

use std::collections::{HashMap, HashSet};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use h2::{Reason, RecvStream, SendStream};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::{BoxError, UpstreamBody, UpstreamError, UpstreamUrl, connect_timed_out, error_chain};
use crate::server::Coalesced;

/// Said when the server will not speak HTTP/2.
const NO_H2: &str = ", but the server did not agree to HTTP/2 (ALPN `h2`), which gRPC needs";

/// A connection: being opened, open, or failed to open (the error, for every call that waited on the attempt).
type Slot = tokio::sync::OnceCell<Result<SendRequest<Bytes>, Failed>>;

/// Why a connection could not be opened.
#[derive(Clone, Debug)]
struct Failed {
    cause: String,
    /// The server answered, but not in HTTP/2: TLS agreed on no `h2`, or a cleartext server's first bytes were not
    /// an HTTP/2 preface (an HTTP/1.1 server answers the client's preface with an error and closes).
    no_http2: bool,
}

/// The connections to the HTTP/2 upstreams, by upstream.
pub(super) struct Http2Client {
    /// The TLS settings, with ALPN `h2`.
    tls: Arc<rustls::ClientConfig>,
    /// How long opening a connection (TCP, TLS, the HTTP/2 preface) may take.
    connect_timeout: Duration,
    connections: Mutex<HashMap<UpstreamUrl, Arc<Slot>>>,
    /// The upstreams that answered in something other than HTTP/2, so REST goes to them over HTTP/1.1 at once.
    refused: Mutex<HashSet<UpstreamUrl>>,
}

impl std::fmt::Debug for Http2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http2Client").finish_non_exhaustive()
    }
}

impl Http2Client {
    pub(super) fn new(tls: &rustls::ClientConfig, connect_timeout: Duration) -> Http2Client {
        let mut tls = tls.clone();
        tls.alpn_protocols = vec![b"h2".to_vec()];
        Http2Client {
            tls: Arc::new(tls),
            connect_timeout,
            connections: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashSet::new()),
        }
    }

    /// Whether `upstream` answered a connection in something other than HTTP/2.
    pub(super) fn refused_http2(&self, upstream: &UpstreamUrl) -> bool {
        lock(&self.refused).contains(upstream)
    }

    /// Sends `request` (its URI absolute, its headers free of connection headers) to `upstream` on a connection
    /// [`Http2Client::ready`] gave.
    pub(super) async fn send(
        &self,
        mut sender: SendRequest<Bytes>,
        upstream: &UpstreamUrl,
        request: Request<UpstreamBody>,
    ) -> Result<Response<RecvBody>, UpstreamError> {
        let (parts, body) = request.into_parts();
        let end = body.is_end_stream();
        let (mut answer, stream) = sender
            .send_request(Request::from_parts(parts, ()), end)
            .map_err(|error| UpstreamError::new(upstream, &error))?;
        let mut pump = (!end).then(|| Pump {
            body,
            stream,
            sent: false,
        });
        // The body goes out while the answer's head is awaited; a unary request's body has ended by then.
        let answer = poll_fn(|cx| {
            if let Some(running) = &mut pump
                && Pin::new(running).poll(cx).is_ready()
            {
                pump = None;
            }
            Pin::new(&mut answer).poll(cx)
        })
        .await;
        let answer = answer.map_err(|error| UpstreamError::new(upstream, &error))?;
        if let Some(pump) = pump {
            tokio::spawn(pump);
        }
        Ok(answer.map(|body| RecvBody {
            inner: body,
            data_done: false,
        }))
    }

    /// A handle ready to open a stream on the connection to `upstream`, opening the connection if there is none.
    /// A server that answers in something other than HTTP/2 is remembered ([`Http2Client::refused_http2`]).
    pub(super) async fn ready(
        &self,
        upstream: &UpstreamUrl,
    ) -> Result<SendRequest<Bytes>, UpstreamError> {
        let failed = |cause: String| UpstreamError {
            upstream: upstream.to_string(),
            cause,
        };
        // A retry is on a fresh connection: the first try found its connection gone.
        let mut retried = false;
        loop {
            let slot = self.slot(upstream);
            let opened = slot
                // Boxed: done once a connection, and inline (TCP, TLS and HTTP/2 handshakes) it was most of every
                // call's future.
                .get_or_init(|| {
                    Box::pin(connect(
                        upstream.clone(),
                        Arc::clone(&self.tls),
                        self.connect_timeout,
                    ))
                })
                .await;
            let sender = match opened {
                Ok(sender) => sender.clone(),
                Err(Failed { cause, no_http2 }) => {
                    self.forget(upstream, &slot);
                    if *no_http2 {
                        lock(&self.refused).insert(upstream.clone());
                    }
                    return Err(failed(cause.clone()));
                }
            };
            match sender.ready().await {
                Ok(sender) => return Ok(sender),
                Err(error) => {
                    self.forget(upstream, &slot);
                    if retried {
                        return Err(UpstreamError::new(upstream, &error));
                    }
                    retried = true;
                    tracing::debug!(%upstream, error = %error_chain(&error), "upstream connection gone: opening a new one");
                }
            }
        }
    }

    fn slot(&self, upstream: &UpstreamUrl) -> Arc<Slot> {
        let mut connections = lock(&self.connections);
        Arc::clone(connections.entry(upstream.clone()).or_default())
    }

    /// Drops `slot` from the pool if it is still the one for `upstream`, so the next call opens a new connection.
    fn forget(&self, upstream: &UpstreamUrl, slot: &Arc<Slot>) {
        let mut connections = lock(&self.connections);
        if connections
            .get(upstream)
            .is_some_and(|current| Arc::ptr_eq(current, slot))
        {
            connections.remove(upstream);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens a connection to `upstream` and spawns its task; the error says which step failed.
async fn connect(
    upstream: UpstreamUrl,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<SendRequest<Bytes>, Failed> {
    let other = |cause: String| Failed {
        cause,
        no_http2: false,
    };
    let opening = async {
        let host = upstream.host();
        let tcp = TcpStream::connect((host, upstream.port()))
            .await
            .map_err(|error| other(format!("tcp connect error: {}", error_chain(&error))))?;
        let _ = tcp.set_nodelay(true);
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(30))
            .with_interval(Duration::from_secs(10));
        let _ = socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive);
        if !upstream.is_tls() {
            return handshake(tcp, &upstream).await;
        }
        let name = ServerName::try_from(host.to_owned())
            .map_err(|error| other(format!("`{host}` is not a TLS server name: {error}")))?;
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|error| {
                let no_http2 = error
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .is_some_and(|inner| {
                        *inner
                            == rustls::Error::AlertReceived(
                                rustls::AlertDescription::NoApplicationProtocol,
                            )
                    });
                let hint = if no_http2 { NO_H2 } else { "" };
                Failed {
                    cause: format!("TLS handshake failed: {}{hint}", error_chain(&error)),
                    no_http2,
                }
            })?;
        if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(Failed {
                cause: format!("TLS handshake done{NO_H2}"),
                no_http2: true,
            });
        }
        handshake(stream, &upstream).await
    };
    tokio::time::timeout(timeout, opening)
        .await
        .unwrap_or_else(|_| {
            Err(other(connect_timed_out(
                timeout,
                "TCP, TLS and the HTTP/2 preface",
            )))
        })
}

async fn handshake<T>(io: T, upstream: &UpstreamUrl) -> Result<SendRequest<Bytes>, Failed>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Past TLS's agreement on `h2`, a server that breaks the handshake is a broken HTTP/2 server; in cleartext
    // nothing was agreed, and the usual cause is a server that does not speak HTTP/2 at all.
    let failed = |cause: String| Failed {
        cause: format!("HTTP/2 handshake failed: {cause}"),
        no_http2: !upstream.is_tls(),
    };
    let (sender, mut connection) = h2::client::Builder::new()
        .enable_push(false)
        .initial_window_size(1024 * 1024)
        .initial_connection_window_size(16 * 1024 * 1024)
        .max_header_list_size(16 << 20)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(|error| failed(error_chain(&error)))?;
    // The handshake ends once our preface is written. A server answers a ping only after its own preface, so the
    // answer shows it speaks HTTP/2: one that accepts and says nothing fails here, within the connect timeout,
    // instead of holding the first call until the client's deadline. One ping at the start is within every gRPC
    // server's ping policy.
    let mut ping_pong = connection.ping_pong();
    let name = upstream.clone();
    tokio::spawn(Coalesced::new(async move {
        if let Err(error) = connection.await {
            tracing::debug!(upstream = %name, error = %error_chain(&error), "upstream connection ended with an error");
        }
    }));
    if let Some(ping_pong) = &mut ping_pong {
        ping_pong.ping(h2::Ping::opaque()).await.map_err(|error| {
            failed(format!(
                "the server did not answer a ping: {}",
                error_chain(&error)
            ))
        })?;
    }
    Ok(sender)
}

/// Sends a request body on its stream: each frame as it comes, waiting for flow-control capacity, then the end
/// (or the trailers). It stops when the server resets the stream; a body that fails resets it.
struct Pump {
    body: UpstreamBody,
    stream: SendStream<Bytes>,
    /// Whether a frame has gone: the first one does not wait for flow-control room. A new stream has none until
    /// the connection's task has opened it, so waiting sent a unary request's headers and its message in two
    /// writes (and woke the upstream twice); h2 holds the one frame until it may go, and the request leaves whole.
    sent: bool,
}

impl Future for Pump {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Pump { body, stream, sent } = &mut *self;
        loop {
            // As hyper does: wait for room for one byte, then hand over the whole frame (h2 holds what does not
            // fit the window yet, and the next frame waits for room again).
            stream.reserve_capacity(1);
            if *sent && stream.capacity() == 0 {
                loop {
                    if stream.poll_reset(cx).is_ready() {
                        return Poll::Ready(());
                    }
                    match ready!(stream.poll_capacity(cx)) {
                        Some(Ok(0)) => {}
                        Some(Ok(_)) => break,
                        Some(Err(_)) | None => return Poll::Ready(()),
                    }
                }
            } else if stream.poll_reset(cx).is_ready() {
                return Poll::Ready(());
            }
            let frame = match ready!(Pin::new(&mut *body).poll_frame(cx)) {
                None => {
                    let _ = stream.send_data(Bytes::new(), true);
                    return Poll::Ready(());
                }
                Some(Ok(frame)) => frame,
                Some(Err(error)) => {
                    tracing::debug!(error = %error_chain(error.as_ref()), "request body failed: stream reset");
                    stream.send_reset(Reason::CANCEL);
                    return Poll::Ready(());
                }
            };
            *sent = true;
            let done = match frame.into_data() {
                Ok(data) => {
                    let end = body.is_end_stream();
                    stream.send_data(data, end).map(|()| end)
                }
                Err(frame) => match frame.into_trailers() {
                    Ok(trailers) => stream.send_trailers(trailers).map(|()| true),
                    Err(_) => Ok(false),
                },
            };
            if done.unwrap_or(true) {
                return Poll::Ready(());
            }
        }
    }
}

/// An answer's body from an HTTP/2 upstream: data frames (their flow-control capacity given back as they are
/// taken), then the trailers.
pub struct RecvBody {
    inner: RecvStream,
    /// The data frames have ended; the trailers are next.
    data_done: bool,
}

impl Body for RecvBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if !this.data_done {
            match ready!(this.inner.poll_data(cx)) {
                Some(Ok(data)) => {
                    let _ = this.inner.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(error)) => return Poll::Ready(Some(Err(error.into()))),
                None => this.data_done = true,
            }
        }
        Poll::Ready(
            ready!(this.inner.poll_trailers(cx))
                .map_err(Into::into)
                .transpose()
                .map(|trailers| trailers.map(Frame::trailers)),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.inner.is_end_stream() {
            SizeHint::with_exact(0)
        } else {
            SizeHint::default()
        }
    }
}

impl std::fmt::Debug for RecvBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBody").finish_non_exhaustive()
    }
}
