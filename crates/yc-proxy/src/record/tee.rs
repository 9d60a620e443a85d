//! Bodies that pass every frame through at once and keep a copy for the cassette.
//!
//! Nothing here waits for a whole body before forwarding (a response reads ahead only what has arrived), decodes
//! messages, or touches the cassette: a response body hands its copy to a [`Sink`] when it ends, and the sink
//! records it. The one order that matters: a response's
//! last frame (gRPC trailers, the end of a REST body) goes out only after the sink has put the call in the
//! journal, so a call its client saw complete survives the recorder being killed.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use yc_cassette::wire::Capture;

use super::recorder::Recorded;
use crate::Error;
use crate::grpc::{Code, Status};
use crate::upstream::{BoxError, ResponseBody, UpstreamUrl};

/// What polling a tee's frame gives: the frame, the end, or the error passed on.
type Polled = Poll<Option<Result<Frame<Bytes>, BoxError>>>;

/// A request body on its way upstream; the copy is shared with the response side, which reads it at the end.
pub(crate) struct RequestTee<B> {
    inner: B,
    capture: Arc<Mutex<Capture>>,
}

impl<B> RequestTee<B> {
    pub fn new(inner: B, capture: Arc<Mutex<Capture>>) -> RequestTee<B> {
        RequestTee { inner, capture }
    }
}

impl<B> Body for RequestTee<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            lock(&self.capture).push(data);
        }
        polled.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A call being recorded: ready once it is in the journal (or skipped).
pub(crate) type Recording = Pin<Box<dyn Future<Output = Result<Recorded, Error>> + Send + Sync>>;

/// Where a finished response copy goes.
pub(crate) trait Sink: Send + Sync + 'static {
    /// The body ended normally; `trailers` if it had any.
    fn complete(self: Box<Self>, response: Capture, trailers: Option<HeaderMap>) -> Recording;
    /// The upstream failed mid-body; the call is not recorded.
    fn fail(self: Box<Self>, error: &BoxError);
}

/// The most frames [`ResponseTee::read_ahead`] takes before the response goes: an upstream that sends faster than
/// it is read still gets its headers to the client.
const READ_AHEAD_FRAMES: usize = 64;

/// A response body on its way to the client.
///
/// It reports its end only once it has seen it, so the sink runs even when the last frame is data (HTTP/1.1
/// `content-length` bodies). That last frame (or the end) follows the call into the journal; if it cannot go there,
/// a gRPC client gets `INTERNAL` saying so instead of the upstream's trailers and a REST client sees the body cut, so no
/// client sees a call complete that the cassette will not have. A gRPC body that fails mid-stream ends with an
/// `UNAVAILABLE` status in trailers instead of a reset, naming the upstream and the cause; a REST body passes the
/// error on (the client sees the connection cut).
///
/// [`ResponseTee::read_ahead`] takes what the upstream has already sent before the response goes; when that is the
/// whole body (a unary call's message and trailers arrive in one read), the call is journaled first and the client
/// gets the headers, the messages and the end together. Without it the headers and message went in one write and
/// the held trailers in a later one: h2load through `yc-vcr record` counted a third more `writev`s (ARCHITECTURE.md).
pub(crate) struct ResponseTee {
    inner: ResponseBody,
    capture: Capture,
    trailers: Option<HeaderMap>,
    sink: Option<Box<dyn Sink>>,
    /// Frames read from the upstream and not given out yet, in order: read ahead, or the last ones, held until the
    /// call is journaled.
    held: VecDeque<Frame<Bytes>>,
    /// The call on its way into the journal.
    recording: Option<Recording>,
    /// Nothing more is read from the upstream: its body ended or failed.
    ended: bool,
    /// A REST body's error, passed on once the held frames are out.
    failure: Option<BoxError>,
    /// For gRPC: the upstream, named in the `UNAVAILABLE` status (formatted only on failure).
    grpc_upstream: Option<UpstreamUrl>,
    /// Whether the upstream said how long its body is (a `content-length`): an ended body's hint is exact (zero)
    /// either way.
    sized: bool,
}

impl ResponseTee {
    pub fn new(
        inner: ResponseBody,
        limit: usize,
        sink: Box<dyn Sink>,
        grpc_upstream: Option<UpstreamUrl>,
    ) -> ResponseTee {
        ResponseTee {
            sized: inner.size_hint().exact().is_some(),
            inner,
            capture: Capture::new(limit),
            trailers: None,
            sink: Some(sink),
            held: VecDeque::new(),
            recording: None,
            ended: false,
            failure: None,
            grpc_upstream,
        }
    }

    /// Takes the frames the upstream has already sent, without waiting for more (up to [`READ_AHEAD_FRAMES`]); if
    /// they end the body, returns once the call is journaled. Call it before the response goes.
    pub async fn read_ahead(&mut self) {
        std::future::poll_fn(|cx| {
            for _ in 0..READ_AHEAD_FRAMES {
                if self.ended || self.read(cx).is_pending() {
                    break;
                }
            }
            self.poll_recorded(cx)
        })
        .await;
    }

    /// Reads one frame from the upstream into `held`, keeping its copy; at the end, hands the call to the sink.
    fn read(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
            None => self.finish(),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    self.capture.push(data);
                } else if let Some(trailers) = frame.trailers_ref() {
                    self.trailers = Some(trailers.clone());
                }
                self.held.push_back(frame);
                if self.trailers.is_some() || self.inner.is_end_stream() {
                    self.finish();
                }
            }
            Some(Err(error)) => {
                self.ended = true;
                if let Some(sink) = self.sink.take() {
                    sink.fail(&error);
                }
                match &self.grpc_upstream {
                    Some(upstream) => {
                        let cause = crate::upstream::UpstreamError::new(upstream, error.as_ref());
                        let status = Status::new(Code::Unavailable, cause.to_string());
                        self.held.push_back(Frame::trailers(status.to_trailers()));
                    }
                    None => self.failure = Some(error),
                }
            }
        }
        Poll::Ready(())
    }

    /// The body ended: hands the copy to the sink; the frames held from now on wait for the call to be journaled.
    fn finish(&mut self) {
        self.ended = true;
        if let Some(sink) = self.sink.take() {
            let recording = sink.complete(std::mem::take(&mut self.capture), self.trailers.take());
            self.recording = Some(recording);
        }
    }

    /// Waits for the call on its way into the journal, if any; if it could not be journaled, the frames held give
    /// way to the error.
    fn poll_recorded(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(recording) = &mut self.recording else {
            return Poll::Ready(());
        };
        let recorded = std::task::ready!(recording.as_mut().poll(cx));
        self.recording = None;
        if let Err(error) = recorded {
            let message =
                format!("yc-vcr record: the call completed upstream but was not recorded: {error}");
            self.held.clear();
            if self.grpc_upstream.is_some() {
                let status = Status::new(Code::Internal, message);
                self.held.push_back(Frame::trailers(status.to_trailers()));
            } else {
                self.failure = Some(message.into());
            }
        }
        Poll::Ready(())
    }
}

impl Body for ResponseTee {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = &mut *self;
        loop {
            std::task::ready!(this.poll_recorded(cx));
            if let Some(frame) = this.held.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            if this.ended {
                return Poll::Ready(this.failure.take().map(Err));
            }
            std::task::ready!(this.read(cx));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.held.is_empty() && self.recording.is_none() && self.failure.is_none()
    }

    /// What is held and what the upstream has still to send: exact only when the upstream's was (a REST body with
    /// a `content-length`), so an answer read ahead to its end gets no `content-length` it did not have.
    fn size_hint(&self) -> SizeHint {
        let held = self
            .held
            .iter()
            .filter_map(Frame::data_ref)
            .map(|data| data.len() as u64)
            .sum::<u64>();
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(held));
        if let Some(upper) = inner.upper().filter(|_| self.sized) {
            hint.set_upper(upper.saturating_add(held));
        }
        hint
    }
}

impl Drop for ResponseTee {
    fn drop(&mut self) {
        if self.sink.is_some() && !self.ended {
            tracing::debug!("response dropped before its end (client went away): not recorded");
        }
        // A call already handed to the sink may still be journaled: its line is queued, and the batch is written
        // whoever leads it.
    }
}

/// Locks a capture; a poisoned lock (a panic elsewhere) still holds usable data.
pub(crate) fn lock(capture: &Mutex<Capture>) -> std::sync::MutexGuard<'_, Capture> {
    capture
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
