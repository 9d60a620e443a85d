//! Bodies that pass every frame through at once and keep a copy for the cassette.
//!
//! Nothing here waits for a whole body before forwarding, decodes messages, or touches the cassette: a response body
//! hands its copy to a [`Sink`] when it ends, and the sink records it. The one order that matters: a response's
//! last frame (gRPC trailers, the end of a REST body) goes out only after the sink has put the call in the
//! journal, so a call its client saw complete survives the recorder being killed.

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

/// A response body on its way to the client.
///
/// It reports its end only once it has seen it, so the sink runs even when the last frame is data (HTTP/1.1
/// `content-length` bodies). That last frame (or the end) follows the call into the journal; if it cannot go there,
/// a gRPC client gets `INTERNAL` saying so instead of the upstream's trailers and a REST client sees the body cut, so no
/// client sees a call complete that the cassette will not have. A gRPC body that fails mid-stream ends with an
/// `UNAVAILABLE` status in trailers instead of a reset, naming the upstream and the cause; a REST body passes the
/// error on (the client sees the connection cut).
pub(crate) struct ResponseTee {
    inner: ResponseBody,
    capture: Capture,
    trailers: Option<HeaderMap>,
    sink: Option<Box<dyn Sink>>,
    /// The call on its way into the journal, and the last frame that waits for it.
    recording: Option<(Recording, Option<Frame<Bytes>>)>,
    /// For gRPC: the upstream, named in the `UNAVAILABLE` status (formatted only on failure).
    grpc_upstream: Option<UpstreamUrl>,
    done: bool,
}

impl ResponseTee {
    pub fn new(
        inner: ResponseBody,
        limit: usize,
        sink: Box<dyn Sink>,
        grpc_upstream: Option<UpstreamUrl>,
    ) -> ResponseTee {
        ResponseTee {
            inner,
            capture: Capture::new(limit),
            trailers: None,
            sink: Some(sink),
            recording: None,
            grpc_upstream,
            done: false,
        }
    }

    /// The body ended with `last` (`None`: no frame): hands the copy to the sink, then lets `last` go once the sink
    /// has recorded the call.
    fn finish(&mut self, last: Option<Frame<Bytes>>, cx: &mut Context<'_>) -> Polled {
        let Some(sink) = self.sink.take() else {
            self.done = true;
            return Poll::Ready(last.map(Ok));
        };
        let recording = sink.complete(std::mem::take(&mut self.capture), self.trailers.take());
        self.recording = Some((recording, last));
        self.poll_recording(cx)
    }

    /// Waits for the call to be recorded, then gives the last frame, or the error in its place.
    fn poll_recording(&mut self, cx: &mut Context<'_>) -> Polled {
        let Some((recording, _)) = &mut self.recording else {
            return Poll::Ready(None);
        };
        let Poll::Ready(recorded) = recording.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        let last = self.recording.take().and_then(|(_, last)| last);
        self.done = true;
        match recorded {
            Ok(_) => Poll::Ready(last.map(Ok)),
            Err(error) => {
                let message = format!(
                    "yc-vcr record: the call completed upstream but was not recorded: {error}"
                );
                if self.grpc_upstream.is_some() {
                    let status = Status::new(Code::Internal, message);
                    Poll::Ready(Some(Ok(Frame::trailers(status.to_trailers()))))
                } else {
                    Poll::Ready(Some(Err(message.into())))
                }
            }
        }
    }
}

impl Body for ResponseTee {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.recording.is_some() {
            return this.poll_recording(cx);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => this.finish(None, cx),
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.capture.push(data);
                } else if let Some(trailers) = frame.trailers_ref() {
                    this.trailers = Some(trailers.clone());
                }
                if this.trailers.is_some() || this.inner.is_end_stream() {
                    return this.finish(Some(frame), cx);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.done = true;
                if let Some(sink) = this.sink.take() {
                    sink.fail(&error);
                }
                match &this.grpc_upstream {
                    Some(upstream) => {
                        let cause = crate::upstream::UpstreamError::new(upstream, error.as_ref());
                        let status = Status::new(Code::Unavailable, cause.to_string());
                        Poll::Ready(Some(Ok(Frame::trailers(status.to_trailers()))))
                    }
                    None => Poll::Ready(Some(Err(error))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        if self.done || self.recording.is_some() {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

impl Drop for ResponseTee {
    fn drop(&mut self) {
        if self.sink.is_some() && !self.done {
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
