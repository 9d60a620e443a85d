//! Bodies that pass every frame through at once and keep a copy for the cassette.
//!
//! Nothing here waits for a whole body before forwarding, decodes messages, or touches the cassette: a response body
//! hands its copy to a [`Sink`] when it ends, and the writer thread does the rest off the response path.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use crate::grpc::{Code, Status};
use crate::upstream::{BoxError, UpstreamUrl};

/// The data of one side of a call, as chunks shared with the frames that carried them (no copy).
#[derive(Debug, Default)]
pub(crate) struct Capture {
    pub chunks: Vec<Bytes>,
    pub len: usize,
    /// Set when the data went over the limit: the call passes through but is not recorded.
    pub overflow: bool,
    /// Set when the body ended normally (the client finished sending).
    pub ended: bool,
    limit: usize,
}

impl Capture {
    pub fn new(limit: usize) -> Capture {
        Capture {
            limit,
            ..Capture::default()
        }
    }

    fn push(&mut self, data: &Bytes) {
        if self.overflow {
            return;
        }
        self.len = self.len.saturating_add(data.len());
        if self.len > self.limit {
            self.overflow = true;
            self.chunks = Vec::new();
        } else if !data.is_empty() {
            self.chunks.push(data.clone());
        }
    }

    /// All the data in one piece.
    pub fn concat(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for chunk in &self.chunks {
            out.extend_from_slice(chunk);
        }
        out
    }
}

/// A request body on its way upstream; the copy is shared with the response side, which reads it at the end.
pub(crate) struct RequestTee {
    inner: Incoming,
    capture: Arc<Mutex<Capture>>,
}

impl RequestTee {
    pub fn new(inner: Incoming, capture: Arc<Mutex<Capture>>) -> RequestTee {
        RequestTee { inner, capture }
    }
}

impl Body for RequestTee {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    lock(&self.capture).push(data);
                }
                if self.inner.is_end_stream() {
                    lock(&self.capture).ended = true;
                }
            }
            Poll::Ready(None) => lock(&self.capture).ended = true,
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
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

/// Where a finished response copy goes.
pub(crate) trait Sink: Send + Sync + 'static {
    /// The body ended normally; `trailers` if it had any.
    fn complete(self: Box<Self>, response: Capture, trailers: Option<HeaderMap>);
    /// The upstream failed mid-body; the call is not recorded.
    fn fail(self: Box<Self>, error: &BoxError);
}

/// A response body on its way to the client.
///
/// It reports its end only once it has seen it, so the sink runs even when the last frame is data (HTTP/1.1
/// `content-length` bodies). A gRPC body that fails mid-stream ends with an `UNAVAILABLE` status in trailers instead
/// of a reset, naming the upstream and the cause; a REST body passes the error on (the client sees the connection cut).
pub(crate) struct ResponseTee {
    inner: Incoming,
    capture: Capture,
    trailers: Option<HeaderMap>,
    sink: Option<Box<dyn Sink>>,
    /// For gRPC: the upstream, named in the `UNAVAILABLE` status (formatted only on failure).
    grpc_upstream: Option<UpstreamUrl>,
    done: bool,
}

impl ResponseTee {
    pub fn new(
        inner: Incoming,
        limit: usize,
        sink: Box<dyn Sink>,
        grpc_upstream: Option<UpstreamUrl>,
    ) -> ResponseTee {
        ResponseTee {
            inner,
            capture: Capture::new(limit),
            trailers: None,
            sink: Some(sink),
            grpc_upstream,
            done: false,
        }
    }

    fn finish(&mut self) {
        self.done = true;
        if let Some(sink) = self.sink.take() {
            let capture = std::mem::take(&mut self.capture);
            sink.complete(capture, self.trailers.take());
        }
    }
}

impl Body for ResponseTee {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.capture.push(data);
                } else if let Some(trailers) = frame.trailers_ref() {
                    this.trailers = Some(trailers.clone());
                }
                if this.trailers.is_some() || this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.done = true;
                let error: BoxError = error.into();
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
        if self.done {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

impl Drop for ResponseTee {
    fn drop(&mut self) {
        if self.sink.is_some() {
            tracing::debug!("response dropped before its end (client went away): not recorded");
        }
    }
}

/// Locks a capture; a poisoned lock (a panic elsewhere) still holds usable data.
pub(crate) fn lock(capture: &Mutex<Capture>) -> std::sync::MutexGuard<'_, Capture> {
    capture
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
