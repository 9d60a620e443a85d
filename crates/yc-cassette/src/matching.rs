//! Matching live requests against recorded interactions: an index from a normalised request key to the
//! recorded interactions with that key, each key with its own cursor so identical requests replay in order.
//! A second map from the logical key (gRPC method and request message, built from REST requests by `transcode`)
//! points at the same slots, so an exact miss can still find the same call recorded over the other transport.
//! A third map, from the bytes of recorded one-message gRPC requests, is the full lookup's answer for exactly those
//! bytes worked out at load, so a client that sends what was recorded skips decoding and keying.
//! Pure: no IO, no clock; safe to share between threads.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::Error;
use crate::decode::query_pairs;
use crate::model::{Body, Cassette, Headers, Interaction, MatchRules, Message};
use crate::redact::{Redactor, normalise_key, normalise_placeholder_bytes, normalise_placeholders};
use crate::transcode::{TranscodeError, transcode};

/// Request headers that never take part in matching, whatever a cassette says.
pub const VOLATILE_HEADERS: &[&str] = &[
    "idempotency-key",
    "x-request-id",
    "x-client-request-id",
    "x-client-trace-id",
    "user-agent",
    "grpc-timeout",
    "authorization",
    "traceparent",
    "tracestate",
    "content-length",
    "date",
];

/// A live request, as the proxy received it.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    Grpc {
        /// The full method path, e.g. `/yandex.cloud.compute.v1.ImageService/Get`.
        method: &'a str,
        metadata: &'a Headers,
        /// Payloads of the request frames.
        messages: &'a [Vec<u8>],
    },
    Rest {
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a Headers,
        body: &'a [u8],
    },
}

/// The recorded interaction that answers a request.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    /// Position of the cassette in [`Index::cassettes`].
    pub cassette: usize,
    /// Position of the interaction in its cassette.
    pub index: usize,
    pub interaction: &'a Interaction,
    /// The cassette's origin (usually its path).
    pub origin: &'a str,
    /// The recording was made over the other transport (gRPC for a REST request or the reverse) and matched by
    /// the logical form of the call: the answer must be translated to the client's transport.
    pub translated: bool,
}

/// No recorded interaction matches. `Display` tells the whole story; the fields let a server build a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    /// `gRPC /pkg.Service/Method` or `REST GET /path?query`.
    pub summary: String,
    /// The request as matching saw it (redacted, normalised), as JSON.
    pub request: Value,
    /// The nearest recorded interaction, if any was recorded over the same transport.
    pub closest: Option<Closest>,
    /// The logical form was tried too: set when the same gRPC method was recorded over the other transport.
    pub logical: Option<LogicalMiss>,
}

/// How the logical form of a request (the gRPC call a REST request stands for) fared.
#[derive(Debug, Clone, PartialEq)]
pub struct LogicalMiss {
    /// The gRPC method path.
    pub method: String,
    /// The request message as matching saw it (snake_case JSON), when the request has a logical form.
    pub message: Option<Value>,
    /// Why the request has no logical form, otherwise (e.g. an unknown query parameter).
    pub error: Option<String>,
    /// The nearest recording of the same method over the other transport; differences are under `message`.
    pub closest: Option<Closest>,
}

/// The recorded interaction nearest to a request that missed.
#[derive(Debug, Clone, PartialEq)]
pub struct Closest {
    pub origin: String,
    pub cassette: usize,
    pub index: usize,
    pub summary: String,
    pub differences: Vec<Difference>,
}

/// One field that differs between the request and a recording. `None` means absent on that side.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// A JSON path into the request shape, e.g. `messages[0].image_id`, `query.page_size`, `body.json.name`.
    pub path: String,
    pub recorded: Option<Value>,
    pub requested: Option<Value>,
}

/// Recorded interactions of many cassettes, indexed for lookup. `Send + Sync`; lookups take `&self`.
#[derive(Debug)]
pub struct Index {
    cassettes: Vec<(String, Cassette)>,
    redactor: Redactor,
    groups: Vec<Group>,
    /// Every header name some cassette matches on: only these are redacted and kept per request.
    headers: Vec<String>,
    /// The fast path: gRPC method, then the bytes of a recorded one-message request, to the `(group, slot)` the
    /// full lookup gives those exact bytes. Identical bytes decode, redact and normalise to identical keys, so
    /// this is the full lookup's answer computed once at load; sequences stay in the shared slot cursors.
    /// Empty when any cassette matches on headers (the bytes alone would not decide the key).
    fast: HashMap<String, HashMap<Vec<u8>, (usize, usize)>>,
}

/// The cassettes sharing one set of matching rules, and their keys.
#[derive(Debug)]
struct Group {
    rules: Rules,
    keys: HashMap<String, usize>,
    /// Logical key (gRPC method and request message) to the same slots: tried when `keys` misses.
    logical: HashMap<String, usize>,
    slots: Vec<Slot>,
}

#[derive(Debug, PartialEq)]
struct Rules {
    source: MatchRules,
    headers: Vec<String>,
    ignore: Vec<Vec<String>>,
}

#[derive(Debug)]
struct Slot {
    /// `(cassette, interaction)` in recorded order.
    entries: Vec<(usize, usize)>,
    cursor: AtomicUsize,
    /// The request shape, kept for miss diagnostics.
    shape: Value,
    /// The logical form (`{"method", "message"}`, ignored fields removed), for miss diagnostics.
    logical: Option<Value>,
}

/// A request reduced to what takes part in matching, before per-cassette rules.
struct Normalised {
    transport: &'static str,
    /// gRPC method path, or REST verb.
    method: String,
    /// REST only: path and sorted query.
    path: Option<String>,
    query: Option<Value>,
    /// REST only: the redacted query as sent, for the logical form (repeated parameters keep their order).
    raw_query: Option<String>,
    headers: Vec<(String, String)>,
    /// gRPC: the array of messages; REST: the body object.
    body: Value,
}

impl Index {
    /// Indexes every interaction of every cassette; the redactor is applied to recorded and live requests alike.
    pub fn new(cassettes: Vec<(String, Cassette)>, redactor: Redactor) -> Result<Index, Error> {
        let mut groups: Vec<Group> = Vec::new();
        let mut headers: Vec<String> = cassettes
            .iter()
            .flat_map(|(_, c)| Rules::new(&c.matching).headers)
            .collect();
        headers.sort();
        headers.dedup();
        // The fast path. With one group, a candidate's target is the slot it is filed in; with several, an earlier
        // group may claim its key first, as it would for a live request, so the candidates (request bytes and
        // normalised form) wait until every group is built.
        let mut fast: HashMap<String, HashMap<Vec<u8>, (usize, usize)>> = HashMap::new();
        let mut pending = Vec::new();
        let first_rules = cassettes.first().map(|(_, c)| Rules::new(&c.matching));
        let one_group = cassettes
            .iter()
            .all(|(_, c)| Some(Rules::new(&c.matching)) == first_rules);
        for (c, (_, cassette)) in cassettes.iter().enumerate() {
            let rules = Rules::new(&cassette.matching);
            let g = match groups.iter().position(|g| g.rules == rules) {
                Some(g) => g,
                None => {
                    groups.push(Group {
                        rules,
                        keys: HashMap::new(),
                        logical: HashMap::new(),
                        slots: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            let group = &mut groups[g];
            for (i, interaction) in cassette.interactions.iter().enumerate() {
                let (normalised, fast_bytes) = normalise_recorded(interaction, &redactor, &headers);
                let (key, shape) = group.rules.key(&normalised);
                let s = match group.keys.get(&key) {
                    Some(&s) => {
                        group.slots[s].entries.push((c, i));
                        s
                    }
                    None => {
                        group.keys.insert(key, group.slots.len());
                        group.slots.push(Slot {
                            entries: vec![(c, i)],
                            cursor: AtomicUsize::new(0),
                            shape,
                            logical: None,
                        });
                        group.slots.len() - 1
                    }
                };
                // Same exact key, same logical key: only the slot's first interaction needs one.
                if group.slots[s].entries.len() == 1
                    && let LogicalForm::Found(logical) = LogicalForm::of(&normalised)
                {
                    let message = group.rules.ignored_message(&logical.message);
                    let key = group
                        .rules
                        .logical_key(&normalised, logical.method, &message);
                    group.logical.entry(key).or_insert(s);
                    group.slots[s].logical = Some(serde_json::json!({
                        "method": logical.method,
                        "message": message,
                    }));
                }
                match fast_bytes {
                    Some(bytes) if headers.is_empty() && one_group => {
                        fast.entry(normalised.method)
                            .or_default()
                            .entry(bytes)
                            .or_insert((g, s));
                    }
                    Some(bytes) if headers.is_empty() => pending.push((bytes, normalised)),
                    _ => {}
                }
            }
        }
        let mut index = Index {
            cassettes,
            redactor,
            groups,
            headers,
            fast,
        };
        for (bytes, normalised) in pending {
            if let Ok(target) = index.resolve(&normalised) {
                index
                    .fast
                    .entry(normalised.method)
                    .or_default()
                    .entry(bytes)
                    .or_insert(target);
            }
        }
        Ok(index)
    }

    /// The next recorded answer to `request`: identical requests get their recordings in recorded order,
    /// and after the last one the last repeats.
    #[allow(
        clippy::result_large_err,
        reason = "the contract returns `Miss` by value; misses are rare and carry their diagnostics"
    )]
    pub fn lookup(&self, request: &Request<'_>) -> Result<Hit<'_>, Miss> {
        if let Request::Grpc {
            method,
            messages: [message],
            ..
        } = *request
            && let Some(&(g, s)) = self
                .fast
                .get(method)
                .and_then(|by_bytes| by_bytes.get(message.as_slice()))
        {
            return Ok(self.next(&self.groups[g].slots[s], "grpc"));
        }
        let normalised = normalise_live(request, &self.redactor, &self.headers);
        match self.resolve(&normalised) {
            Ok((g, s)) => Ok(self.next(&self.groups[g].slots[s], normalised.transport)),
            Err(logical) => Err(self.miss(&normalised, &logical)),
        }
    }

    /// The `(group, slot)` a normalised request lands in: the exact key first, in group order, then the logical
    /// key; the logical form is given back on a miss for the diagnostics.
    fn resolve(&self, normalised: &Normalised) -> Result<(usize, usize), LogicalForm> {
        for (g, group) in self.groups.iter().enumerate() {
            let key = group.rules.key_only(normalised);
            if let Some(&s) = group.keys.get(&key) {
                return Ok((g, s));
            }
        }
        // Only after the exact key missed: the same call over the other transport (or spelled otherwise).
        let logical = LogicalForm::of(normalised);
        if let LogicalForm::Found(l) = &logical {
            for (g, group) in self.groups.iter().enumerate() {
                let message = group.rules.ignored_message(&l.message);
                let key = group.rules.logical_key(normalised, l.method, &message);
                if let Some(&s) = group.logical.get(&key) {
                    return Ok((g, s));
                }
            }
        }
        Err(logical)
    }

    /// Advances the slot's cursor and gives its interaction.
    fn next(&self, slot: &Slot, transport: &str) -> Hit<'_> {
        let n = slot
            .cursor
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                Some(c.saturating_add(1))
            })
            .unwrap_or(usize::MAX);
        let (cassette, index) = slot.entries[n.min(slot.entries.len() - 1)];
        let (origin, c) = &self.cassettes[cassette];
        let interaction = &c.interactions[index];
        Hit {
            cassette,
            index,
            interaction,
            origin,
            translated: matches!(interaction, Interaction::Grpc(_)) != (transport == "grpc"),
        }
    }

    /// The cassettes, in the order given.
    pub fn cassettes(&self) -> &[(String, Cassette)] {
        &self.cassettes
    }

    /// The redactor applied to live requests.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Rewinds every sequence, as if no request had been served.
    pub fn reset(&self) {
        for slot in self.groups.iter().flat_map(|g| &g.slots) {
            slot.cursor.store(0, Ordering::Relaxed);
        }
    }

    /// Builds the diagnostics: a scan, but misses are rare.
    fn miss(&self, normalised: &Normalised, logical: &LogicalForm) -> Miss {
        // Rank by counting differences without building them, stopping early once worse than the best so far;
        // only the winner's differences are spelled out.
        let mut best: Option<(usize, usize, &Slot, Value)> = None;
        let transport = Value::from(normalised.transport);
        let method = Value::from(normalised.method.as_str());
        let same_method_exists = self.groups.iter().flat_map(|g| &g.slots).any(|slot| {
            slot.shape.get("transport") == Some(&transport)
                && slot.shape.get("method") == Some(&method)
        });
        for group in &self.groups {
            let (_, shape) = group.rules.key(normalised);
            for slot in &group.slots {
                if slot.shape.get("transport") != Some(&transport)
                    || (same_method_exists && slot.shape.get("method") != Some(&method))
                {
                    continue;
                }
                let other_method = usize::from(slot.shape.get("method") != Some(&method));
                let limit = match &best {
                    Some((m, n, ..)) if *m == other_method => *n,
                    Some((m, ..)) if *m < other_method => continue,
                    _ => usize::MAX,
                };
                let count = count_differences(&slot.shape, &shape, limit);
                if best
                    .as_ref()
                    .is_none_or(|b| (other_method, count) < (b.0, b.1))
                {
                    best = Some((other_method, count, slot, shape.clone()));
                }
            }
        }
        let closest = best.map(|(_, _, slot, shape)| {
            let mut differences = Vec::new();
            diff(&slot.shape, &shape, &mut String::new(), &mut differences);
            let (cassette, index) = slot.entries[0];
            let (origin, c) = &self.cassettes[cassette];
            Closest {
                origin: origin.clone(),
                cassette,
                index,
                summary: summary_of_interaction(&c.interactions[index]),
                differences,
            }
        });
        let (_, request) = Rules::new(&MatchRules::default()).key(normalised);
        Miss {
            summary: normalised.summary(),
            request: strip_meta(request),
            closest,
            logical: self.logical_miss(normalised.transport, logical),
        }
    }

    /// The logical side of a miss, when recordings of the same method over the other transport exist.
    fn logical_miss(&self, transport: &str, logical: &LogicalForm) -> Option<LogicalMiss> {
        let method = match logical {
            LogicalForm::Found(l) => l.method,
            LogicalForm::Failed { method, .. } => method,
            LogicalForm::None => return None,
        };
        let other = if transport == "grpc" { "rest" } else { "grpc" };
        let candidates = self.groups.iter().flat_map(|g| {
            g.slots.iter().filter_map(move |slot| {
                let l = slot.logical.as_ref()?;
                (l.get("method")?.as_str()? == method
                    && slot.shape.get("transport")?.as_str()? == other)
                    .then_some((g, slot, l))
            })
        });
        let mut candidates = candidates.peekable();
        candidates.peek()?;
        let LogicalForm::Found(l) = logical else {
            let LogicalForm::Failed { reason, .. } = logical else {
                return None;
            };
            return Some(LogicalMiss {
                method: method.to_owned(),
                message: None,
                error: Some(reason.clone()),
                closest: None,
            });
        };
        let mut best: Option<(usize, &Slot, Value)> = None;
        for (group, slot, recorded) in candidates {
            let requested = serde_json::json!({
                "method": method,
                "message": group.rules.ignored_message(&l.message),
            });
            let limit = best.as_ref().map_or(usize::MAX, |b| b.0);
            let count = count_differences(recorded, &requested, limit);
            if best.as_ref().is_none_or(|b| count < b.0) {
                best = Some((count, slot, requested));
            }
        }
        let closest = best.and_then(|(_, slot, requested)| {
            let mut differences = Vec::new();
            diff(
                slot.logical.as_ref()?,
                &requested,
                &mut String::new(),
                &mut differences,
            );
            let (cassette, index) = slot.entries[0];
            let (origin, c) = &self.cassettes[cassette];
            Some(Closest {
                origin: origin.clone(),
                cassette,
                index,
                summary: summary_of_interaction(&c.interactions[index]),
                differences,
            })
        });
        Some(LogicalMiss {
            method: method.to_owned(),
            message: Some(l.message.clone()),
            error: None,
            closest,
        })
    }
}

impl Rules {
    fn new(rules: &MatchRules) -> Rules {
        let mut headers: Vec<String> = rules
            .headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !VOLATILE_HEADERS.contains(&h.as_str()))
            .collect();
        headers.sort();
        headers.dedup();
        let ignore = rules
            .ignore_fields
            .iter()
            .map(|p| {
                p.trim()
                    .trim_start_matches("$.")
                    .split('.')
                    .map(normalise_key)
                    .collect()
            })
            .collect();
        Rules {
            source: rules.clone(),
            headers,
            ignore,
        }
    }

    /// The key alone, without building the shape: the hot path of a lookup.
    fn key_only(&self, n: &Normalised) -> String {
        let mut key = String::with_capacity(128);
        key.push_str(n.transport);
        key.push('\u{1f}');
        key.push_str(&n.method);
        key.push('\u{1f}');
        if let Some(path) = &n.path {
            key.push_str(path);
        }
        key.push('\u{1f}');
        if let Some(query) = &n.query {
            canonical(query, &mut key);
        }
        key.push('\u{1f}');
        self.push_headers(n, &mut key);
        key.push('\u{1f}');
        if self.ignore.is_empty() {
            canonical(&n.body, &mut key);
        } else {
            canonical(&self.ignored(&n.body), &mut key);
        }
        key
    }

    fn push_headers(&self, n: &Normalised, key: &mut String) {
        for name in &self.headers {
            for (h, v) in &n.headers {
                if h == name {
                    push_json_string(h, key);
                    key.push(':');
                    push_json_string(v, key);
                    key.push(',');
                }
            }
        }
    }

    /// The key of the logical form: gRPC method, matched headers, request message (already `ignored_message`).
    fn logical_key(&self, n: &Normalised, method: &str, message: &Value) -> String {
        let mut key = String::with_capacity(128);
        key.push_str(method);
        key.push('\u{1f}');
        self.push_headers(n, &mut key);
        key.push('\u{1f}');
        canonical(message, &mut key);
        key
    }

    /// A logical request message without the ignored fields.
    fn ignored_message(&self, message: &Value) -> Value {
        let mut message = message.clone();
        for path in &self.ignore {
            remove_path(&mut message, path);
        }
        message
    }

    fn ignored(&self, body: &Value) -> Value {
        let mut body = body.clone();
        // gRPC: each message; REST: the parsed JSON body.
        let target = match body.get_mut("json") {
            Some(json) => json,
            None => &mut body,
        };
        for path in &self.ignore {
            remove_path(target, path);
        }
        body
    }

    /// The canonical key and the shape it was made from.
    fn key(&self, n: &Normalised) -> (String, Value) {
        let mut shape = Map::new();
        shape.insert("transport".into(), Value::from(n.transport));
        shape.insert("method".into(), Value::from(n.method.as_str()));
        if let Some(path) = &n.path {
            shape.insert("path".into(), Value::from(path.as_str()));
        }
        if let Some(query) = &n.query {
            shape.insert("query".into(), query.clone());
        }
        let mut headers = Map::new();
        for name in &self.headers {
            let values: Vec<Value> = n
                .headers
                .iter()
                .filter(|(h, _)| h == name)
                .map(|(_, v)| Value::from(v.as_str()))
                .collect();
            if !values.is_empty() {
                headers.insert(name.clone(), Value::Array(values));
            }
        }
        if !headers.is_empty() {
            shape.insert("headers".into(), Value::Object(headers));
        }
        let body = self.ignored(&n.body);
        let body_key = if n.transport == "grpc" {
            "messages"
        } else {
            "body"
        };
        shape.insert(body_key.into(), body);
        (self.key_only(n), Value::Object(shape))
    }
}

impl Normalised {
    fn summary(&self) -> String {
        match (&self.path, &self.query) {
            (Some(path), query) => {
                let q = query
                    .as_ref()
                    .and_then(|q| q.as_object())
                    .filter(|q| !q.is_empty())
                    .map(|q| {
                        let pairs: Vec<String> =
                            q.iter()
                                .flat_map(|(k, v)| {
                                    v.as_array().into_iter().flatten().map(move |v| {
                                        format!("{k}={}", v.as_str().unwrap_or_default())
                                    })
                                })
                                .collect();
                        format!("?{}", pairs.join("&"))
                    })
                    .unwrap_or_default();
                format!("REST {} {path}{q}", self.method)
            }
            (None, _) => format!("gRPC {}", self.method),
        }
    }
}

/// The recorded request as matching sees it, and for a one-message gRPC request the bytes a client would send
/// for it when a live request of exactly those bytes is sure to normalise the same way (see [`fast_bytes`]).
fn normalise_recorded(
    interaction: &Interaction,
    redactor: &Redactor,
    wanted: &[String],
) -> (Normalised, Option<Vec<u8>>) {
    match interaction {
        Interaction::Grpc(g) => {
            let one = g.request.messages.len() == 1;
            let mut bytes = None;
            let messages = g
                .request
                .messages
                .iter()
                .map(|recorded| {
                    let mut m = recorded.clone();
                    redactor.redact_message(&mut m);
                    let unchanged = m == *recorded;
                    let encoded = retype(&mut m);
                    if one && unchanged {
                        bytes = encoded.filter(|_| fast_bytes(&g.method, &m));
                    }
                    message_shape(&m)
                })
                .collect();
            let normalised = Normalised {
                transport: "grpc",
                method: g.method.clone(),
                path: None,
                query: None,
                raw_query: None,
                headers: header_pairs(&g.request.metadata, redactor, wanted),
                body: Value::Array(messages),
            };
            (normalised, bytes)
        }
        Interaction::Rest(r) => {
            let mut body = r.request.body.clone();
            redactor.redact_body(&mut body);
            let normalised = rest_normalised(
                &r.request.method,
                &r.request.path,
                &r.request.query,
                &r.request.headers,
                &body,
                redactor,
                wanted,
            );
            (normalised, None)
        }
    }
}

/// Whether a live request of the bytes `retype` gave for `m` (a recorded message, unchanged by redaction and
/// unchanged by retyping) normalises exactly as `m` does: the live path decodes with the method's input type, so
/// that must be `m`'s type, and `m` must have no raw bytes (a client would send those instead). Then the live
/// message is `m`'s JSON, its redaction changes nothing as it changed nothing in `m`, and the keys are equal.
fn fast_bytes(method: &str, m: &Message) -> bool {
    m.raw.is_none()
        && m.note.is_none()
        && input_type(method)
            .zip(m.type_name.as_deref())
            .is_some_and(|(input, name)| input.full_name() == name)
}

fn normalise_live(request: &Request<'_>, redactor: &Redactor, wanted: &[String]) -> Normalised {
    match *request {
        Request::Grpc {
            method,
            metadata,
            messages,
        } => {
            let input = input_type(method);
            let messages = messages
                .iter()
                .map(|bytes| {
                    let mut m = live_message(input, bytes);
                    redactor.redact_message(&mut m);
                    message_shape(&m)
                })
                .collect();
            Normalised {
                transport: "grpc",
                method: method.to_owned(),
                path: None,
                query: None,
                raw_query: None,
                headers: header_pairs(metadata, redactor, wanted),
                body: Value::Array(messages),
            }
        }
        Request::Rest {
            method,
            path,
            query,
            headers,
            body,
        } => {
            // A compressed body is matched as what it decodes to, as it was recorded.
            let content_type = headers.get("content-type");
            let mut body = Body::from_wire(content_type, headers.get("content-encoding"), body)
                .map(|(body, _)| body)
                .unwrap_or_else(|_| Body::from_bytes(content_type, body));
            redactor.redact_body(&mut body);
            rest_normalised(method, path, query, headers, &body, redactor, wanted)
        }
    }
}

/// The input type of a gRPC method, if the method table knows it.
fn input_type(method: &str) -> Option<&'static yc_proto::registry::MessageType> {
    yc_proto::methods::by_grpc_path(method).and_then(|m| yc_proto::registry::get(m.input_type))
}

/// A live request message decoded through its type (raw bytes when that fails), before redaction.
fn live_message(input: Option<&yc_proto::registry::MessageType>, bytes: &[u8]) -> Message {
    let json = input.and_then(|t| t.to_json_value(bytes, yc_proto::json::Style::Snake).ok());
    Message {
        type_name: None,
        raw: json.is_none().then(|| bytes.to_vec()),
        json,
        note: None,
    }
}

fn rest_normalised(
    method: &str,
    path: &str,
    query: &str,
    headers: &Headers,
    body: &Body,
    redactor: &Redactor,
    wanted: &[String],
) -> Normalised {
    let path = redactor.redact_text(path);
    let query = redactor.redact_query(query);
    let mut pairs: Vec<(String, String)> = query_pairs(&query)
        .into_iter()
        .map(|(k, v)| (k, normalised_string(&v)))
        .collect();
    pairs.sort();
    let mut q = Map::new();
    for (k, v) in pairs {
        match q.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(a) => a.push(Value::String(v)),
            _ => unreachable!("query values are arrays"),
        }
    }
    let body = match body {
        Body::Empty => Value::Object(Map::new()),
        Body::Json(v) => tagged("json", normalise_value(v.clone())),
        Body::Text(t) => match serde_json::from_str::<Value>(t) {
            Ok(v) => tagged("json", normalise_value(v)),
            Err(_) => tagged("text", Value::String(normalised_string(t))),
        },
        Body::Base64(b) => match std::str::from_utf8(b) {
            Ok(t) => match serde_json::from_str::<Value>(t) {
                Ok(v) => tagged("json", normalise_value(v)),
                Err(_) => tagged("text", Value::String(normalised_string(t))),
            },
            Err(_) => tagged("base64", Value::String(BASE64.encode(b))),
        },
    };
    Normalised {
        transport: "rest",
        method: method.to_ascii_uppercase(),
        path: Some(normalised_string(&path)),
        query: Some(Value::Object(q)),
        raw_query: Some(query),
        headers: header_pairs(headers, redactor, wanted),
        body,
    }
}

/// The gRPC form of a request, which REST and gRPC requests of one call share.
struct Logical {
    method: &'static str,
    /// The one request message, snake_case as its type writes it, redacted and normalised.
    message: Value,
}

enum LogicalForm {
    Found(Logical),
    /// The method resolved but the request does not transcode: the miss says why.
    Failed {
        method: &'static str,
        reason: String,
    },
    /// No logical form: no HTTP rule, a streaming method, an unknown route.
    None,
}

impl LogicalForm {
    fn of(n: &Normalised) -> LogicalForm {
        match &n.path {
            None => {
                let Some(method) = yc_proto::methods::by_grpc_path(&n.method) else {
                    return LogicalForm::None;
                };
                let unary = !method.client_streaming && !method.server_streaming;
                match n.body.as_array().map(Vec::as_slice) {
                    Some([message]) if unary && method.http.is_some() => {
                        LogicalForm::Found(Logical {
                            method: method.grpc_path,
                            message: message.clone(),
                        })
                    }
                    _ => LogicalForm::None,
                }
            }
            Some(path) => {
                let body = match n.body.as_object() {
                    Some(b) if b.is_empty() => Ok(None),
                    Some(b) => b.get("json").map(Some).ok_or(TranscodeError::BodyNotJson),
                    None => Err(TranscodeError::BodyNotJson),
                };
                let query = n.raw_query.as_deref().unwrap_or("");
                let result = body.map_err(|e| (None, e)).and_then(|body| {
                    // An unparsable body still names its method, for the miss.
                    transcode(&n.method, path, query, body)
                });
                match result {
                    Ok(t) => LogicalForm::Found(Logical {
                        method: t.method.grpc_path,
                        message: normalise_value(t.message),
                    }),
                    Err((Some(method), e)) => LogicalForm::Failed {
                        method: method.grpc_path,
                        reason: e.to_string(),
                    },
                    Err((None, TranscodeError::BodyNotJson)) => {
                        match yc_proto::methods::match_rest(&n.method, path) {
                            Some(m) => LogicalForm::Failed {
                                method: m.method.grpc_path,
                                reason: TranscodeError::BodyNotJson.to_string(),
                            },
                            None => LogicalForm::None,
                        }
                    }
                    Err(_) => LogicalForm::None,
                }
            }
        }
    }
}

fn tagged(tag: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(tag.into(), value);
    Value::Object(m)
}

/// Recorded JSON in the form a live request decodes to: through its type and back, so a hand-written
/// cassette may spell fields in camelCase or int64 as numbers and still match. Left as is when that fails.
/// Gives the encoded bytes when the JSON came back unchanged: then a live request of exactly those bytes decodes
/// to this very JSON (the fast path relies on it).
fn retype(m: &mut Message) -> Option<Vec<u8>> {
    let (Some(json), Some(ty)) = (
        &m.json,
        m.type_name.as_deref().and_then(yc_proto::registry::get),
    ) else {
        return None;
    };
    let bytes = ty
        .from_json_value(json, yc_proto::json::ParseOptions::default())
        .ok()?;
    let again = ty
        .to_json_value(&bytes, yc_proto::json::Style::Snake)
        .ok()?;
    if again == *json {
        return Some(bytes);
    }
    m.json = Some(again);
    None
}

fn message_shape(m: &Message) -> Value {
    match (&m.json, &m.raw) {
        (Some(json), _) => normalise_value(json.clone()),
        // Placeholders compare by kind inside raw bytes too, so a fresh credential of the same kind still matches.
        (None, Some(raw)) => {
            let normalised = normalise_placeholder_bytes(raw);
            let raw = normalised.as_deref().unwrap_or(raw);
            tagged("@raw", Value::String(BASE64.encode(raw)))
        }
        (None, None) => tagged("@dropped", Value::Bool(true)),
    }
}

fn header_pairs(
    headers: &Headers,
    redactor: &Redactor,
    wanted: &[String],
) -> Vec<(String, String)> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut kept: Headers = Headers(
        headers
            .iter()
            .filter(|(n, _)| wanted.iter().any(|w| w.eq_ignore_ascii_case(n)))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
            .collect(),
    );
    redactor.redact_headers(&mut kept);
    kept.0
        .into_iter()
        .map(|(n, v)| (n, normalised_string(&v)))
        .collect()
}

fn normalised_string(s: &str) -> String {
    normalise_placeholders(s).unwrap_or_else(|| s.to_owned())
}

/// Placeholders reduced to their kind, everywhere in a value (keys too).
fn normalise_value(mut value: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(n) = normalise_placeholders(s) {
                    *s = n;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(m) => {
                if m.keys().any(|k| k.contains("<redacted:")) {
                    let old = std::mem::take(m);
                    for (k, v) in old {
                        m.insert(normalise_placeholders(&k).unwrap_or(k), v);
                    }
                }
                m.values_mut().for_each(walk);
            }
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// Removes the fields at `path` (normalised keys; arrays crossed transparently).
fn remove_path(value: &mut Value, path: &[String]) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|i| remove_path(i, path)),
        Value::Object(map) => {
            let Some((first, rest)) = path.split_first() else {
                return;
            };
            let keys: Vec<String> = map
                .keys()
                .filter(|k| first == "*" || normalise_key(k) == *first)
                .cloned()
                .collect();
            for k in keys {
                if rest.is_empty() {
                    map.shift_remove(&k);
                } else if let Some(child) = map.get_mut(&k) {
                    remove_path(child, rest);
                }
            }
        }
        _ => {}
    }
}

/// JSON with object keys sorted, no whitespace: equal data gives equal text.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(k, out);
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => push_json_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON string literal (escapes only what JSON requires, so equal strings give equal text).
fn push_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn diff(recorded: &Value, requested: &Value, path: &mut String, out: &mut Vec<Difference>) {
    match (recorded, requested) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let len = path.len();
                push_key(path, k);
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(x, y, path, out),
                    (x, y) => out.push(Difference {
                        path: path.clone(),
                        recorded: x.cloned(),
                        requested: y.cloned(),
                    }),
                }
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff(x, y, path, out),
                    (x, y) => out.push(Difference {
                        path: path.clone(),
                        recorded: x.cloned(),
                        requested: y.cloned(),
                    }),
                }
                path.truncate(len);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Difference {
            path: if path.is_empty() {
                "$".to_owned()
            } else {
                path.clone()
            },
            recorded: Some(a.clone()),
            requested: Some(b.clone()),
        }),
    }
}

/// How many fields `diff` would list, counting no further than `limit`.
fn count_differences(recorded: &Value, requested: &Value, limit: usize) -> usize {
    fn walk(a: &Value, b: &Value, n: &mut usize, limit: usize) {
        if *n >= limit {
            return;
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    match y.get(k) {
                        Some(w) => walk(v, w, n, limit),
                        None => *n += 1,
                    }
                }
                *n += y.keys().filter(|k| !x.contains_key(*k)).count();
            }
            (Value::Array(x), Value::Array(y)) => {
                for (v, w) in x.iter().zip(y) {
                    walk(v, w, n, limit);
                }
                *n += x.len().abs_diff(y.len());
            }
            (a, b) if a == b => {}
            _ => *n += 1,
        }
    }
    let mut n = 0;
    walk(recorded, requested, &mut n, limit);
    n
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'@');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        push_json_string(key, path);
        path.push(']');
    }
}

fn strip_meta(mut shape: Value) -> Value {
    if let Value::Object(m) = &mut shape {
        m.shift_remove("transport");
        m.shift_remove("method");
    }
    shape
}

fn summary_of_interaction(interaction: &Interaction) -> String {
    match interaction {
        Interaction::Grpc(g) => format!("gRPC {}", g.method),
        Interaction::Rest(r) => {
            let q = if r.request.query.is_empty() {
                String::new()
            } else {
                format!("?{}", r.request.query)
            };
            format!("REST {} {}{q}", r.request.method, r.request.path)
        }
    }
}

impl Miss {
    /// The diagnostics as JSON, for an HTTP error body.
    pub fn to_json(&self) -> Value {
        let closest = self.closest.as_ref().map(closest_json);
        let mut json = serde_json::json!({
            "error": "no recorded interaction matches this request",
            "request": self.summary,
            "matched_as": self.request,
            "closest": closest,
        });
        if let (Some(l), Value::Object(map)) = (&self.logical, &mut json) {
            map.insert(
                "logical".into(),
                serde_json::json!({
                    "method": l.method,
                    "message": l.message,
                    "error": l.error,
                    "closest": l.closest.as_ref().map(closest_json),
                }),
            );
        }
        json
    }
}

fn closest_json(c: &Closest) -> Value {
    serde_json::json!({
        "origin": c.origin,
        "interaction": c.index,
        "recorded": c.summary,
        "differences": c.differences.iter().map(|d| serde_json::json!({
            "path": d.path,
            "recorded": d.recorded,
            "requested": d.requested,
        })).collect::<Vec<_>>(),
    })
}

fn write_differences(f: &mut fmt::Formatter<'_>, c: &Closest) -> fmt::Result {
    match c.differences.len() {
        0 => return write!(f, ", identical under other matching rules"),
        1 => write!(f, ", 1 field differs:")?,
        n => write!(f, ", {n} fields differ:")?,
    }
    let show = |v: &Option<Value>| v.as_ref().map_or("(absent)".to_owned(), Value::to_string);
    for d in &c.differences {
        write!(
            f,
            "\n  {}: recorded {}, requested {}",
            d.path,
            show(&d.recorded),
            show(&d.requested)
        )?;
    }
    Ok(())
}

impl fmt::Display for Miss {
    /// Several lines: the request, then the closest recording and one line per differing field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "no recorded interaction matches {}", self.summary)?;
        write!(f, "request: {}", self.request)?;
        match &self.closest {
            None => write!(
                f,
                "\nclosest: none, nothing was recorded over this transport"
            )?,
            Some(c) => {
                write!(
                    f,
                    "\nclosest: `{}` interaction {} ({})",
                    c.origin, c.index, c.summary
                )?;
                write_differences(f, c)?;
            }
        }
        let Some(l) = &self.logical else {
            return Ok(());
        };
        match (&l.message, &l.error) {
            (Some(message), _) => write!(
                f,
                "\nalso tried as the same call over the other transport: {} {message}",
                l.method
            )?,
            (None, error) => write!(
                f,
                "\nnot tried as the same call over the other transport ({}): {}",
                l.method,
                error.as_deref().unwrap_or("no logical form")
            )?,
        }
        if let Some(c) = &l.closest {
            write!(
                f,
                "\nclosest over the other transport: `{}` interaction {} ({})",
                c.origin, c.index, c.summary
            )?;
            write_differences(f, c)?;
        }
        Ok(())
    }
}

impl std::error::Error for Miss {}

#[cfg(test)]
mod tests;
