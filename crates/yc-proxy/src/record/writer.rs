//! The one thread that owns the cassette: it turns finished calls into interactions, redacts them, checks that no
//! secret shape survived, appends them in completion order and rewrites the file atomically after each batch.
//! The file is a [`CassetteFile`]: each interaction is serialised once, so a save costs a copy of the text, not a
//! serialisation of the whole cassette.
//!
//! Calls reach it through a channel, so the response path never waits on decoding, redaction or the disk.
//! Saves are paced (see [`Pace`]) so that under a steady stream of calls rewriting the file cannot take the writer's
//! whole time.
//! It never writes an interaction in which the secret scan still finds something: that one is left out, and the
//! error (with where the secret is) is reported at shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName};
use yc_cassette::{
    Body, Cassette, CassetteFile, Encoding, GrpcInteraction, GrpcRequest, GrpcResponse, GrpcStatus,
    Headers, Interaction, Message, Redactor, RestInteraction, RestRequest, RestResponse,
};

use super::tee::Capture;
use crate::grpc::{
    self, FrameDecoder, FrameLimits, GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS_BIN,
};

/// A call that finished, as raw as it came off the wire.
#[derive(Debug)]
pub(crate) enum Completed {
    Grpc(GrpcCall),
    Rest(RestCall),
}

#[derive(Debug)]
pub(crate) struct GrpcCall {
    pub method: String,
    pub metadata: HeaderMap,
    pub request: Capture,
    pub headers: HeaderMap,
    pub response: Capture,
    /// `None` for a trailers-only response: the status is in `headers`.
    pub trailers: Option<HeaderMap>,
}

#[derive(Debug)]
pub(crate) struct RestCall {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub request: Capture,
    pub status: u16,
    pub response_headers: HeaderMap,
    pub response: Capture,
}

pub(crate) enum Command {
    Record(Box<Completed>),
    /// Write what is pending and stop.
    Close,
}

/// What the writer reports when it stops.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Interactions in the cassette (old ones included when appending).
    pub interactions: usize,
    /// Interactions recorded in this run.
    pub recorded: usize,
    /// Interactions left out because a secret survived redaction, with where.
    pub secrets: Vec<String>,
    /// The last save error, if the file could not be written.
    pub save_error: Option<String>,
}

pub(crate) struct Writer {
    pub file: CassetteFile,
    pub redactor: Redactor,
    pub limits: FrameLimits,
    /// Interactions written to disk so far in this run; read by [`super::RecordServer::recorded`].
    pub written: Arc<AtomicUsize>,
}

impl Writer {
    /// Runs on a thread of its own (decoding, redaction and the file are CPU and disk work that must not stall the
    /// runtime): waits for a call, lets the pause after the last save run out (see [`Pace`]), takes every call
    /// that has completed, processes and saves them as one batch; repeats until closed or until every sender is
    /// gone.
    pub fn run(mut self, commands: mpsc::Receiver<Command>) -> Report {
        let mut report = Report::default();
        let mut pace = Pace::default();
        let mut closing = false;
        while !closing {
            let Ok(first) = commands.recv() else {
                break;
            };
            closing = self.handle(first, &mut report);
            // Let the calls that complete during the pause after the last save queue up: nothing wakes this
            // thread for each of them, and they are taken and saved together.
            if let Some(pause) = pace.remaining().filter(|_| !closing) {
                std::thread::sleep(pause);
            }
            while !closing {
                match commands.try_recv() {
                    Ok(command) => closing = self.handle(command, &mut report),
                    Err(error) => {
                        closing = error == TryRecvError::Disconnected;
                        break;
                    }
                }
            }
            self.save(&mut report, &mut pace);
        }
        report.interactions = self.file.len();
        report
    }

    /// Takes one command; true if it says to stop.
    fn handle(&mut self, command: Command, report: &mut Report) -> bool {
        match command {
            Command::Record(call) => {
                self.add(*call, report);
                false
            }
            Command::Close => true,
        }
    }

    /// Writes what is not on disk yet (a failed save's interactions too: this retries it).
    fn save(&mut self, report: &mut Report, pace: &mut Pace) {
        let unsaved = self.file.unsaved();
        if unsaved == 0 {
            return;
        }
        let started = Instant::now();
        let saved = self.file.save();
        pace.saved(started);
        match saved {
            Ok(()) => {
                self.written.fetch_add(unsaved, Ordering::SeqCst);
                report.save_error = None;
            }
            Err(error) => {
                tracing::error!(%error, "cannot write the cassette; will retry after the next call");
                report.save_error = Some(error.to_string());
            }
        }
    }

    /// Adds one call to the file in memory, unless it cannot be recorded or a secret survived in it.
    fn add(&mut self, call: Completed, report: &mut Report) {
        let mut interaction = match interaction(call, self.limits) {
            Ok(interaction) => interaction,
            Err(why) => {
                tracing::warn!("call not recorded: {why}");
                return;
            }
        };
        self.redactor.redact_interaction(&mut interaction);
        let index = self.file.len();
        // Scanned alone (not the whole cassette each time), moved in and out without a copy.
        let mut probe = Cassette::new(Default::default());
        probe.interactions.push(interaction);
        let findings = scan_probe(&probe, index);
        if !findings.is_empty() {
            for finding in &findings {
                tracing::error!("secret survived redaction, interaction not written: {finding}");
            }
            report.secrets.extend(findings);
            return;
        }
        if let Some(interaction) = probe.interactions.first() {
            self.file.push(interaction);
        }
        report.recorded += 1;
    }
}

/// When the next save may start: a save rewrites the whole file, so its cost grows with the cassette; under a
/// steady stream of calls, saving again the moment the last save ends would spend the writer's whole time (and a
/// core) rewriting the file. After a save that took `d`, the next one waits until `PAUSE_FACTOR * d` has passed, so
/// saves take at most a third of the writer's time, and a completed call reaches the disk within about three save
/// durations (a few milliseconds for a small cassette). An idle writer saves at once.
#[derive(Debug, Default)]
struct Pace {
    next: Option<Instant>,
}

const PAUSE_FACTOR: u32 = 2;

impl Pace {
    fn saved(&mut self, started: Instant) {
        self.saved_between(started, Instant::now());
    }

    fn saved_between(&mut self, started: Instant, ended: Instant) {
        self.next = Some(ended + ended.saturating_duration_since(started) * PAUSE_FACTOR);
    }

    /// How long until the next save may start; `None` if it may start now.
    fn remaining(&self) -> Option<Duration> {
        self.remaining_at(Instant::now())
    }

    fn remaining_at(&self, now: Instant) -> Option<Duration> {
        let wait = self.next?.checked_duration_since(now)?;
        (!wait.is_zero()).then_some(wait)
    }
}

/// What the secret scan finds in `probe` (one interaction), placed as if it stood at `index` in the cassette.
fn scan_probe(probe: &Cassette, index: usize) -> Vec<String> {
    let what = match probe.interactions.first() {
        Some(Interaction::Grpc(g)) => format!("`{}`", g.method),
        Some(Interaction::Rest(r)) => format!("`{} {}`", r.request.method, r.request.path),
        None => String::new(),
    };
    yc_cassette::scan(probe)
        .into_iter()
        .map(|finding| {
            let location =
                finding
                    .location
                    .replacen("interactions[0]", &format!("interactions[{index}]"), 1);
            format!("{location} in {what}: `{}` survived", finding.kind)
        })
        .collect()
}

/// Turns a raw call into an interaction; the error says why it cannot be recorded.
pub(crate) fn interaction(call: Completed, limits: FrameLimits) -> Result<Interaction, String> {
    match call {
        Completed::Grpc(call) => grpc_interaction(call, limits).map(Interaction::Grpc),
        Completed::Rest(call) => rest_interaction(call).map(Interaction::Rest),
    }
}

fn grpc_interaction(call: GrpcCall, limits: FrameLimits) -> Result<GrpcInteraction, String> {
    let method = call.method;
    let fail = |what: &str| format!("`{method}`: {what}");
    if call.request.overflow || call.response.overflow {
        return Err(fail("a body exceeded the size limit for recording"));
    }
    // Compressed messages are stored decompressed (the `grpc-encoding` header stays), so they can be redacted
    // and scanned like any other.
    let request_encoding =
        grpc::check_encoding(&call.metadata).map_err(|e| fail(&format!("request: {e}")))?;
    let response_encoding =
        grpc::check_encoding(&call.headers).map_err(|e| fail(&format!("response: {e}")))?;
    let requests = frames(&call.request.concat(), limits, request_encoding)
        .map_err(|e| fail(&format!("request: {e}")))?;
    let responses = frames(&call.response.concat(), limits, response_encoding)
        .map_err(|e| fail(&format!("response: {e}")))?;
    let (trailers_only, status_headers) = match &call.trailers {
        Some(trailers) => (false, trailers),
        None => (true, &call.headers),
    };
    let Some(status) = grpc::Status::from_headers(status_headers) else {
        return Err(fail("the response has no `grpc-status`"));
    };
    let status_fields = [GRPC_STATUS, GRPC_MESSAGE, GRPC_STATUS_DETAILS_BIN];
    let response_headers = if trailers_only {
        headers(&call.headers, &status_fields)
    } else {
        headers(&call.headers, &[])
    };
    let details_text = status_headers
        .get(&GRPC_STATUS_DETAILS_BIN)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    Ok(GrpcInteraction {
        request: GrpcRequest {
            metadata: headers(&call.metadata, &[]),
            messages: requests
                .iter()
                .map(|m| Message::from_request_bytes(&method, m))
                .collect(),
        },
        response: GrpcResponse {
            headers: response_headers,
            messages: responses
                .iter()
                .map(|m| Message::from_response_bytes(&method, m))
                .collect(),
            trailers: call
                .trailers
                .as_ref()
                .map(|t| headers(t, &status_fields))
                .unwrap_or_default(),
            status: GrpcStatus::from_wire(status.code, &status.message, details_text.as_deref()),
            trailers_only,
        },
        method,
    })
}

fn frames(
    data: &[u8],
    limits: FrameLimits,
    encoding: Option<Encoding>,
) -> Result<Vec<Bytes>, grpc::FrameError> {
    let limits = FrameLimits {
        max_body_size: usize::MAX,
        ..limits
    };
    let mut decoder = FrameDecoder::with_encoding(limits, encoding);
    decoder.push(data)?;
    let mut messages = Vec::new();
    while let Some(message) = decoder.next_message()? {
        messages.push(message);
    }
    decoder.finish()?;
    Ok(messages)
}

fn rest_interaction(call: RestCall) -> Result<RestInteraction, String> {
    let what = format!("`{} {}`", call.method, call.path);
    if call.request.overflow || call.response.overflow {
        return Err(format!(
            "{what}: a body exceeded the size limit for recording"
        ));
    }
    // A compressed body is stored decoded, its coding noted, so it can be redacted and scanned; one that does not
    // decode cannot be looked into, so the call is not recorded.
    let (request_body, request_encoding) = wire_body(&call.headers, &call.request.concat())
        .map_err(|e| format!("{what}: request body: {e}"))?;
    let (response_body, response_encoding) =
        wire_body(&call.response_headers, &call.response.concat())
            .map_err(|e| format!("{what}: response body: {e}"))?;
    Ok(RestInteraction {
        request: RestRequest {
            body: request_body,
            headers: headers(&call.headers, &[]),
            method: call.method,
            path: call.path,
            query: call.query,
            encoding: request_encoding,
        },
        response: RestResponse {
            status: call.status,
            body: response_body,
            headers: headers(&call.response_headers, &[]),
            encoding: response_encoding,
        },
    })
}

fn wire_body(
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<(Body, Option<String>), yc_cassette::DecodeError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    Body::from_wire(
        text(http::header::CONTENT_TYPE),
        text(http::header::CONTENT_ENCODING),
        bytes,
    )
}

/// Header fields in order, less `skip` and those that describe one connection rather than the call.
pub(crate) fn headers(map: &HeaderMap, skip: &[HeaderName]) -> Headers {
    let mut out = Headers::new();
    for (name, value) in map {
        if skip.contains(name) || super::is_connection_header(name) || name == http::header::HOST {
            continue;
        }
        out.push(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
    }
    out
}

#[cfg(test)]
mod tests;
