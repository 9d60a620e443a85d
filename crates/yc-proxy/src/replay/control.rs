//! The control surface of a running replay server: sessions and resets, under the reserved path prefix `/_yc-vcr/`
//! (no Yandex Cloud API path starts with an underscore, so nothing recorded can be shadowed).
//!
//! - A request carrying the header (gRPC metadata) `x-yc-vcr-session: ID` is answered from session `ID`'s own
//!   sequence positions, made on first use over the server's cassettes, so tests running at once on one server never
//!   see each other's progress; requests without it share the default session.
//! - `POST /_yc-vcr/reset` rewinds every sequence of the default session; `?session=ID` rewinds that session's.
//! - `PUT /_yc-vcr/sessions/ID` with `{"cassettes": ["PATH", ...]}` makes session `ID` serve its own cassettes
//!   (files or folders on the server's disk) instead of the server's; `DELETE /_yc-vcr/sessions/ID` ends a session.
//! - `GET /_yc-vcr/sessions` lists the sessions.
//!
//! Answers are JSON; a bad request is `400` with `{"code", "message"}`, an unknown session `404`.
//! The sessions live in the replay service; this module parses control requests and carries them out on it.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLockReadGuard, RwLockWriteGuard};

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use yc_cassette::{Cursors, Index, Miss};

use super::{MISSES_KEPT, Replayer, json_response, read_body};
use crate::server::Body;

/// The reserved path prefix.
pub(crate) const PREFIX: &str = "/_yc-vcr/";
/// The header (gRPC metadata) that selects a session.
pub const SESSION_HEADER: http::HeaderName = http::HeaderName::from_static("x-yc-vcr-session");

/// Whether a request is for the control surface.
pub(crate) fn is_control(path: &str) -> bool {
    path.starts_with(PREFIX)
}

/// What a control request asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// Rewind a session (`None`: the default one).
    Reset(Option<String>),
    /// Serve session `id` from these cassette paths.
    Create {
        id: String,
        cassettes: Vec<String>,
    },
    Delete(String),
    List,
}

/// A control request that cannot be carried out: the HTTP status and why.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    pub status: StatusCode,
    pub message: String,
}

impl Refused {
    pub(crate) fn bad(message: impl Into<String>) -> Refused {
        Refused {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Refused {
        Refused {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({ "code": self.status.as_u16(), "message": self.message })
    }
}

const USAGE: &str = "the control surface has POST /_yc-vcr/reset[?session=ID], GET /_yc-vcr/sessions, \
                     PUT /_yc-vcr/sessions/ID {\"cassettes\": [PATH, ...]} and DELETE /_yc-vcr/sessions/ID";

/// Parses a control request.
pub(crate) fn parse(
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Command, Refused> {
    let rest = path.strip_prefix(PREFIX).unwrap_or(path);
    match (method, rest.split_once('/')) {
        (&Method::POST, None) if rest == "reset" => Ok(Command::Reset(session_param(query)?)),
        (&Method::GET, None) if rest == "sessions" => Ok(Command::List),
        (&Method::PUT, Some(("sessions", id))) => {
            let id = session_id(id)?;
            let request: Value = serde_json::from_slice(body)
                .map_err(|error| Refused::bad(format!("the body is not JSON: {error}")))?;
            let cassettes = request
                .get("cassettes")
                .and_then(Value::as_array)
                .filter(|paths| !paths.is_empty())
                .and_then(|paths| {
                    paths
                        .iter()
                        .map(|path| path.as_str().map(str::to_owned))
                        .collect::<Option<Vec<String>>>()
                })
                .ok_or_else(|| {
                    Refused::bad(
                        "the body must be {\"cassettes\": [PATH, ...]} with at least one path",
                    )
                })?;
            Ok(Command::Create { id, cassettes })
        }
        (&Method::DELETE, Some(("sessions", id))) => Ok(Command::Delete(session_id(id)?)),
        _ => Err(Refused::bad(format!("no `{method} {path}`: {USAGE}"))),
    }
}

fn session_param(query: Option<&str>) -> Result<Option<String>, Refused> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let pairs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
    match pairs.as_slice() {
        [(name, id)] if name == "session" => session_id(id).map(Some),
        _ => Err(Refused::bad(format!(
            "unknown query `{query}`: reset takes only `session=ID`"
        ))),
    }
}

/// Session ids are what a header value can carry without escaping: `[A-Za-z0-9._-]`, 1 to 128 characters.
fn session_id(id: &str) -> Result<String, Refused> {
    let valid = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(id.to_owned())
    } else {
        Err(Refused::bad(format!(
            "invalid session id `{id}`: use 1 to 128 of A-Z a-z 0-9 . _ -"
        )))
    }
}

/// A session of the control surface ([`control`]).
#[derive(Debug)]
pub(super) enum Session {
    /// The server's cassettes, with sequence positions of its own.
    Shared(Cursors),
    /// Cassettes of its own, served by a replayer of its own.
    Own(Replayer),
}

impl Replayer {
    /// Keeps the summary of a miss for [`Replayer::misses`] (the first [`MISSES_KEPT`]).
    pub(super) fn note_miss(&self, miss: &Miss) {
        let mut misses = self
            .inner
            .misses
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if misses.len() < MISSES_KEPT {
            misses.push(miss.summary.clone());
        }
    }

    /// The requests that matched nothing so far (`gRPC /pkg.Service/Method`, `REST GET /path`), in arrival order;
    /// the first [`MISSES_KEPT`] are kept.
    pub fn misses(&self) -> Vec<String> {
        self.inner
            .misses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The recorded interactions no request of the default session has reached, as `ORIGIN interaction N (SUMMARY)`.
    pub fn unused(&self) -> Vec<String> {
        self.inner
            .index
            .unused()
            .into_iter()
            .map(|(origin, i, summary)| format!("`{origin}` interaction {i} ({summary})"))
            .collect()
    }

    /// The session `id`, made over the server's cassettes on first use.
    pub(super) fn session(&self, id: &str) -> Arc<Session> {
        if let Some(session) = self.read_sessions().get(id) {
            return session.clone();
        }
        let mut sessions = self.write_sessions();
        sessions
            .entry(id.to_owned())
            .or_insert_with(|| {
                tracing::debug!(session = id, "replay: new session");
                Arc::new(Session::Shared(self.inner.index.cursors()))
            })
            .clone()
    }

    /// Carries out a control request ([`control`]); never fails, every problem is a JSON answer.
    pub(super) async fn control(&self, request: Request<Incoming>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let answer = match read_body(body, self.inner.max_rest_body).await {
            Ok(body) => parse(&parts.method, parts.uri.path(), parts.uri.query(), &body)
                .and_then(|command| self.command(command)),
            Err(_) => Err(Refused::bad(
                "the request body could not be read, or is larger than the message limit",
            )),
        };
        match answer {
            Ok(body) => json_response(StatusCode::OK, &body),
            Err(refused) => {
                tracing::warn!(message = %refused.message, "replay: control request refused");
                json_response(refused.status, &refused.body())
            }
        }
    }

    pub(super) fn command(&self, command: Command) -> Result<serde_json::Value, Refused> {
        match command {
            Command::Reset(None) => {
                self.inner.index.reset();
                tracing::info!("replay: every sequence rewound");
                Ok(json!({ "reset": "default" }))
            }
            Command::Reset(Some(id)) => {
                match self.read_sessions().get(&id).map(|session| &**session) {
                    Some(Session::Shared(cursors)) => cursors.reset(),
                    Some(Session::Own(own)) => own.inner.index.reset(),
                    None => return Err(Refused::not_found(format!("no session `{id}`"))),
                }
                tracing::info!(session = %id, "replay: session rewound");
                Ok(json!({ "reset": id }))
            }
            Command::Create { id, cassettes } => {
                let own = self.own_replayer(&cassettes)?;
                let interactions: usize = own
                    .inner
                    .index
                    .cassettes()
                    .iter()
                    .map(|(_, c)| c.interactions.len())
                    .sum();
                self.write_sessions()
                    .insert(id.clone(), Arc::new(Session::Own(own)));
                tracing::info!(session = %id, ?cassettes, "replay: session serves its own cassettes");
                Ok(json!({ "session": id, "cassettes": cassettes, "interactions": interactions }))
            }
            Command::Delete(id) => match self.write_sessions().remove(&id) {
                Some(_) => Ok(json!({ "deleted": id })),
                None => Err(Refused::not_found(format!("no session `{id}`"))),
            },
            Command::List => {
                let mut ids: Vec<String> = self.read_sessions().keys().cloned().collect();
                ids.sort();
                Ok(json!({ "sessions": ids }))
            }
        }
    }

    /// A replayer over the cassette files at `paths`, with the server's redaction and settings.
    pub(super) fn own_replayer(&self, paths: &[String]) -> Result<Replayer, Refused> {
        let refused = |message: String| Refused {
            status: StatusCode::BAD_REQUEST,
            message,
        };
        let mut cassettes = Vec::with_capacity(paths.len());
        for path in paths {
            let opened = yc_cassette::Cassette::open_keeping(
                std::path::Path::new(path),
                yc_cassette::DEFAULT_MAX_CASSETTE_SIZE,
                yc_cassette::Keep::Replay,
                self.inner.index.schema(),
            )
            .map_err(|error| refused(error.to_string()))?;
            cassettes.push((path.clone(), opened.cassette));
        }
        let index = Index::new(
            cassettes,
            self.inner.index.redactor().clone(),
            self.inner.index.schema().clone(),
        )
        .map_err(|error| refused(error.to_string()))?;
        Replayer::new(index, &self.inner.config).map_err(|error| refused(error.to_string()))
    }

    pub(super) fn read_sessions(&self) -> RwLockReadGuard<'_, HashMap<String, Arc<Session>>> {
        // A panic while holding the lock cannot leave the map half-changed (each change is one insert or remove).
        self.inner
            .sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write_sessions(&self) -> RwLockWriteGuard<'_, HashMap<String, Arc<Session>>> {
        self.inner
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_requests_parse_or_say_what_is_served() {
        let parse = |method: Method, path: &str, query: Option<&str>, body: &str| {
            parse(&method, path, query, body.as_bytes())
        };
        assert_eq!(
            parse(Method::POST, "/_yc-vcr/reset", None, ""),
            Ok(Command::Reset(None))
        );
        assert_eq!(
            parse(Method::POST, "/_yc-vcr/reset", Some("session=test-1"), ""),
            Ok(Command::Reset(Some("test-1".into())))
        );
        assert_eq!(
            parse(Method::POST, "/_yc-vcr/reset", Some("session=test%2D1"), ""),
            Ok(Command::Reset(Some("test-1".into()))),
            "the query is decoded as a query"
        );
        assert_eq!(
            parse(
                Method::PUT,
                "/_yc-vcr/sessions/a.b",
                None,
                r#"{"cassettes": ["x.json"]}"#
            ),
            Ok(Command::Create {
                id: "a.b".into(),
                cassettes: vec!["x.json".into()]
            })
        );
        assert_eq!(
            parse(Method::DELETE, "/_yc-vcr/sessions/a", None, ""),
            Ok(Command::Delete("a".into()))
        );
        assert_eq!(
            parse(Method::GET, "/_yc-vcr/sessions", None, ""),
            Ok(Command::List)
        );
        for (method, path, query, body) in [
            (Method::GET, "/_yc-vcr/reset", None, ""),
            (Method::POST, "/_yc-vcr/reset", Some("all=1"), ""),
            (
                Method::POST,
                "/_yc-vcr/reset",
                Some("session=a&session=b"),
                "",
            ),
            (Method::POST, "/_yc-vcr/reset", Some("session=a&all=1"), ""),
            (Method::POST, "/_yc-vcr/reset", Some("session=a%20b"), ""),
            (Method::PUT, "/_yc-vcr/sessions/a", None, "{}"),
            (
                Method::PUT,
                "/_yc-vcr/sessions/a b",
                None,
                r#"{"cassettes": ["x"]}"#,
            ),
            (
                Method::PUT,
                "/_yc-vcr/sessions/",
                None,
                r#"{"cassettes": ["x"]}"#,
            ),
            (Method::POST, "/_yc-vcr/nothing", None, ""),
        ] {
            let refused = parse(method, path, query, body).unwrap_err();
            assert_eq!(
                refused.status,
                StatusCode::BAD_REQUEST,
                "{path}: {refused:?}"
            );
        }
    }
}
