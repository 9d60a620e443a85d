//! The secret scan: the fail-closed last check before a cassette is written, and the check `yc-vcr check` runs
//! over committed files. It reports; it never changes anything.
//!
//! It looks with redaction's own eyes: every stored value goes through the same layers (JSON after unescaping,
//! URL escapes, base64 runs, compressed bodies) and the same rules (names, shapes, auth schemes, `name=value`
//! pairs), so whatever redaction would replace, the scan reports, and a placeholder is never reported.

mod locate;

pub(crate) use locate::push_key;

use serde_json::Value;

use crate::decode::{MAX_DECODED_SIZE, decode_base64, decode_content};
use crate::model::{Body, Cassette, Headers, Interaction, Message};
use crate::redact::{Redactor, is_placeholder};

/// A secret that survived: where it is and what it looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A path into the cassette (`interactions[2].grpc.request.metadata.authorization`), or `line L` for text
    /// that is not JSON.
    pub location: String,
    /// 1-based line and column of the value holding the secret, when scanning file text.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// `iam-token`, `oauth-token`, `api-key`, `access-key-id`, `secret-key`, `jwt`, `private-key`, `signature`,
    /// `credential` (after an auth scheme word), `field` (a secret `name=value`), `secret-header`, `secret-field`,
    /// `pattern`, `encoded` (a secret inside base64), `undecodable-body` (a compressed body that cannot be
    /// looked into).
    pub kind: &'static str,
}

/// Every secret left in a cassette under the built-in rules, including inside raw and base64 bytes.
pub fn scan(cassette: &Cassette) -> Vec<Finding> {
    Redactor::default().scan(cassette)
}

/// Every secret in cassette file text under the built-in rules, with the line and column (1-based) of the value
/// holding it, for `yc-vcr check`. See [`Redactor::scan_text`].
pub fn scan_text(text: &str) -> Vec<Finding> {
    Redactor::default().scan_text(text)
}

impl Redactor {
    /// Every secret left in a cassette under these rules, including inside raw and base64 bytes.
    pub fn scan(&self, cassette: &Cassette) -> Vec<Finding> {
        self.scan_interactions(&cassette.interactions)
    }

    /// Every secret in cassette file text, each with the line and column of the value holding it. The text is read
    /// as a cassette when it is one (messages, `-bin` values and bodies decoded as replay decodes them), else as
    /// any JSON (every string and key), else line by line: a file that does not load still gets its secrets
    /// reported.
    pub fn scan_text(&self, text: &str) -> Vec<Finding> {
        if let Ok(cassette) = serde_json::from_str::<Cassette>(text) {
            return self.scan_file(&cassette, text);
        }
        let mut scanner = Scanner {
            redactor: self,
            out: Vec::new(),
        };
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            scanner.json(&value, &At::Root(""));
        } else {
            for (l, line) in text.lines().enumerate() {
                for span in self.spans(line, 0) {
                    scanner.out.push(Finding {
                        location: format!("line {}", l + 1),
                        line: Some(l + 1),
                        column: Some(line[..span.start].chars().count() + 1),
                        kind: span.kind,
                    });
                }
            }
            return scanner.out;
        }
        scanner.locate(text)
    }

    /// [`Redactor::scan_text`] of a cassette already parsed from `text` (as `check` has it), each finding placed at
    /// its line and column in `text`.
    pub fn scan_file(&self, cassette: &Cassette, text: &str) -> Vec<Finding> {
        let mut scanner = Scanner {
            redactor: self,
            out: self.scan_interactions(&cassette.interactions),
        };
        scanner.json(
            &serde_json::to_value(&cassette.meta).unwrap_or_default(),
            &At::Root("meta"),
        );
        scanner.locate(text)
    }
}

impl Redactor {
    /// Redacts `interaction` and scans what is left, as recording does before writing it (the findings'
    /// locations start `interactions[0]`): [`Redactor::redact_interaction`] then [`Redactor::scan`] of it. The scan
    /// does not run the detector again over strings redaction found nothing in (see `redact::memo`).
    pub fn redact_and_scan(&self, interaction: &mut Interaction) -> Vec<Finding> {
        self.redact_interaction(interaction);
        let mut scanner = Scanner {
            redactor: self,
            out: Vec::new(),
        };
        scanner.interaction(interaction, &At::Index(&INTERACTIONS, 0));
        scanner.out
    }

    /// Loads the cassette file at `path` with replay's loading code and checks, keeping nothing
    /// ([`Keep::Nothing`](crate::Keep::Nothing)), and scans it as [`Redactor::scan_file`] does, for `yc-vcr check`:
    /// each interaction is scanned on the thread that parsed it and dropped, so the parsed file is never in memory
    /// (whole, it was three times the file at 100k interactions, and faulting that in was half of `check`'s time);
    /// the text is read again only to place findings.
    pub fn load_and_scan(
        &self,
        path: &std::path::Path,
        max_size: u64,
        schema: &yc_proto::Schema,
    ) -> Result<Vec<Finding>, crate::Error> {
        let (cassette, found) = crate::format::load_file(
            path,
            max_size,
            crate::Keep::Nothing,
            schema,
            |i, interaction| {
                let mut scanner = Scanner {
                    redactor: self,
                    out: Vec::new(),
                };
                scanner.interaction(interaction, &At::Index(&INTERACTIONS, i));
                scanner.out
            },
        )?;
        let mut scanner = Scanner {
            redactor: self,
            out: found.into_iter().flatten().collect(),
        };
        scanner.json(
            &serde_json::to_value(&cassette.meta).unwrap_or_default(),
            &At::Root("meta"),
        );
        if scanner.out.is_empty() {
            return Ok(scanner.out);
        }
        let text = crate::store::read_text(path, max_size)?;
        Ok(scanner.locate(&text))
    }

    /// The findings in `interactions`, in order, on several threads for a long cassette.
    fn scan_interactions(&self, interactions: &[crate::Interaction]) -> Vec<Finding> {
        let found = crate::parallel::try_map(interactions, |i, interaction| {
            let mut scanner = Scanner {
                redactor: self,
                out: Vec::new(),
            };
            scanner.interaction(interaction, &At::Index(&INTERACTIONS, i));
            Ok::<_, std::convert::Infallible>(scanner.out)
        });
        found.into_iter().flatten().flatten().collect()
    }
}

impl Scanner<'_> {
    /// The findings, each with the line and column of its value in `text`, in file order.
    fn locate(mut self, text: &str) -> Vec<Finding> {
        if self.out.is_empty() {
            return self.out;
        }
        let positions = locate::positions(text, self.out.iter().map(|f| f.location.as_str()));
        for finding in &mut self.out {
            if let Some((line, column)) = locate::find(&positions, &finding.location) {
                finding.line = Some(line);
                finding.column = Some(column);
            }
        }
        self.out.sort_by_key(|f| (f.line, f.column));
        self.out.dedup();
        self.out
    }
}

struct Scanner<'a> {
    redactor: &'a Redactor,
    out: Vec<Finding>,
}

impl Scanner<'_> {
    fn push(&mut self, at: &At<'_>, kind: &'static str) {
        let mut location = String::new();
        at.render(&mut location);
        self.out.push(Finding {
            location,
            line: None,
            column: None,
            kind,
        });
    }

    fn interaction(&mut self, interaction: &Interaction, at: &At<'_>) {
        match interaction {
            Interaction::Grpc(g) => {
                let at = At::Field(at, "grpc");
                let at = &at;
                self.string(&g.method, &At::Field(at, "method"));
                self.headers(&g.request.metadata, &At::Field(at, "request.metadata"));
                self.messages(&g.request.messages, &At::Field(at, "request.messages"));
                self.headers(&g.response.headers, &At::Field(at, "response.headers"));
                self.messages(&g.response.messages, &At::Field(at, "response.messages"));
                self.headers(&g.response.trailers, &At::Field(at, "response.trailers"));
                let status = &g.response.status;
                self.string(&status.message, &At::Field(at, "response.status.message"));
                for (d, detail) in status.details.iter().enumerate() {
                    self.json(
                        detail,
                        &At::Index(&At::Field(at, "response.status.details"), d),
                    );
                }
                if let Some(bin) = &status.details_bin {
                    self.bin(bin, &At::Field(at, "response.status.details_bin"));
                }
            }
            Interaction::Rest(r) => {
                let at = At::Field(at, "rest");
                let at = &at;
                let request = &r.request;
                self.string(&request.method, &At::Field(at, "request.method"));
                self.string(&request.path, &At::Field(at, "request.path"));
                self.string(&request.query, &At::Field(at, "request.query"));
                let (request_at, response_at) =
                    (At::Field(at, "request"), At::Field(at, "response"));
                self.headers_and_body(
                    &request.headers,
                    &request.body,
                    &request.encoding,
                    &request_at,
                );
                let response = &r.response;
                self.headers_and_body(
                    &response.headers,
                    &response.body,
                    &response.encoding,
                    &response_at,
                );
            }
        }
    }

    /// A REST request's or response's headers and body; a body stored as it came (no `encoding` noted) is decoded
    /// per its `content-encoding` before it is looked into.
    fn headers_and_body(
        &mut self,
        headers: &Headers,
        body: &Body,
        encoding: &Option<String>,
        at: &At<'_>,
    ) {
        self.headers(headers, &At::Field(at, "headers"));
        let content_encoding = encoding
            .is_none()
            .then(|| headers.get("content-encoding"))
            .flatten();
        self.body(body, content_encoding, &At::Field(at, "body"));
    }

    fn string(&mut self, text: &str, at: &At<'_>) {
        if let Some(kind) = self.redactor.detect(text) {
            self.push(at, kind);
        }
    }

    fn bytes(&mut self, bytes: &[u8], at: &At<'_>) {
        if let Some(kind) = self.redactor.bytes_kind(bytes, 0) {
            self.push(at, kind);
        }
    }

    fn bin(&mut self, text: &str, at: &At<'_>) {
        match decode_base64(text) {
            Some(bytes) => self.bytes(&bytes, at),
            None => self.string(text, at),
        }
    }

    fn headers(&mut self, headers: &Headers, at: &At<'_>) {
        for (name, value) in headers.iter() {
            let here = At::Key(at, name);
            if self.redactor.is_secret_header(name) {
                if !is_redacted_value(value) && !value.is_empty() {
                    self.push(&here, "secret-header");
                }
            } else if name.ends_with("-bin") {
                self.bin(value, &here);
            } else {
                self.string(value, &here);
            }
            self.string(name, &here);
        }
    }

    fn messages(&mut self, messages: &[Message], at: &At<'_>) {
        for (m, message) in messages.iter().enumerate() {
            let at = At::Index(at, m);
            if let Some(json) = &message.json {
                self.json(json, &At::Field(&at, "json"));
            }
            if let Some(raw) = &message.raw {
                self.bytes(raw, &At::Field(&at, "raw"));
            }
            if let Some(note) = &message.note {
                self.string(note, &At::Field(&at, "note"));
            }
        }
    }

    fn json(&mut self, value: &Value, at: &At<'_>) {
        match value {
            Value::String(s) => self.string(s, at),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.json(item, &At::Index(at, i));
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let here = At::Key(at, k);
                    self.string(k, &here);
                    match v {
                        _ if !self.redactor.is_secret_field(k) => self.json(v, &here),
                        Value::String(s) if !s.is_empty() && !is_placeholder(s) => {
                            self.push(&here, "secret-field");
                        }
                        Value::Number(_) => self.push(&here, "secret-field"),
                        Value::Array(_) | Value::Object(_) => self.secret_tree(v, &here),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// Everything under a secret field is secret (`credentials: {value: ...}`), as redaction treats it.
    fn secret_tree(&mut self, value: &Value, at: &At<'_>) {
        match value {
            Value::String(s) if !s.is_empty() && !is_placeholder(s) => {
                self.push(at, "secret-field");
            }
            Value::Number(_) => self.push(at, "secret-field"),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.secret_tree(item, &At::Index(at, i));
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.secret_tree(v, &At::Key(at, k));
                }
            }
            _ => {}
        }
    }

    /// A body as replay would send it: a compressed one (kept encoded, with a `content-encoding`) is decoded
    /// first; one that cannot be decoded cannot be looked into, which is a finding of its own.
    fn body(&mut self, body: &Body, content_encoding: Option<&str>, at: &At<'_>) {
        match body {
            Body::Empty => {}
            Body::Json(v) => self.json(v, &At::Field(at, "json")),
            Body::Text(t) => match serde_json::from_str::<Value>(t) {
                Ok(v) => self.json(&v, &At::Field(at, "text")),
                Err(_) => self.string(t, &At::Field(at, "text")),
            },
            Body::Base64(b) => {
                let at = At::Field(at, "base64");
                match content_encoding {
                    Some(coding) => match decode_content(coding, b, MAX_DECODED_SIZE) {
                        Ok(decoded) => {
                            let body = Body::from_bytes(None, &decoded);
                            if let Body::Base64(bytes) = &body {
                                self.bytes(bytes, &at);
                            } else {
                                self.body(&body, None, &at);
                            }
                        }
                        Err(_) => self.push(&at, "undecodable-body"),
                    },
                    None => self.bytes(b, &at),
                }
            }
        }
    }
}

/// Where a value sits, built on the stack as the scan descends and spelled out only for a finding: most values
/// hold no secret, and writing every path eagerly was a quarter of the recorder's work per call (perf).
#[derive(Clone, Copy)]
enum At<'a> {
    /// A prefix as it is written (`meta`, or empty for a bare JSON value).
    Root(&'a str),
    /// `parent.name`, for the cassette's own field names (`request.metadata`).
    Field(&'a At<'a>, &'a str),
    /// `parent.key`, or `parent["odd key"]`, as [`locate`] spells keys.
    Key(&'a At<'a>, &'a str),
    /// `parent[i]`.
    Index(&'a At<'a>, usize),
}

const INTERACTIONS: At<'static> = At::Root("interactions");

impl At<'_> {
    fn render(&self, out: &mut String) {
        match self {
            At::Root(prefix) => out.push_str(prefix),
            At::Field(parent, name) => {
                parent.render(out);
                out.push('.');
                out.push_str(name);
            }
            At::Key(parent, key) => {
                parent.render(out);
                locate::push_key(out, key);
            }
            At::Index(parent, i) => {
                use std::fmt::Write as _;
                parent.render(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

/// A value that is a placeholder, possibly after an auth scheme word (`Bearer <redacted:...>`).
fn is_redacted_value(value: &str) -> bool {
    is_placeholder(value)
        || value
            .split_once(' ')
            .is_some_and(|(_, rest)| is_placeholder(rest.trim()))
}
