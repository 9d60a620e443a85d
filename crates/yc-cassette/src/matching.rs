//! Matching live requests against recorded interactions: an index from a normalised request key to the
//! recorded interactions with that key, each key with its own cursor so identical requests replay in order.
//! A second map from the logical key (gRPC method and request message, built from REST requests by `transcode`)
//! points at the same slots, so an exact miss can still find the same call recorded over the other transport.
//! A third map, from the bytes of recorded one-message gRPC requests, is the full lookup's answer for exactly those
//! bytes worked out at load, so a client that sends what was recorded skips decoding and keying.
//! Requests are reduced to their matching form in `normalise`; a miss's diagnostics are built in `miss`.
//! Pure: no IO, no clock; safe to share between threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value};
use yc_proto::Schema;

use crate::Error;
use crate::model::{Cassette, Headers, Interaction, MatchRules};
use crate::redact::{Redactor, normalise_key};

/// The index's maps: their keys are whole requests (hundreds of bytes) and 100k of them are filed on one thread at
/// load, where SipHash was the largest single cost of filing; foldhash, seeded per map, keeps them unguessable.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

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
    /// Types requests are decoded by, methods and HTTP rules of the logical key.
    schema: Arc<Schema>,
    groups: Vec<Group>,
    /// Every header name some cassette matches on: only these are redacted and kept per request.
    headers: Vec<String>,
    /// The fast path: gRPC method, then the bytes of a recorded one-message request, to the `(group, slot)` the
    /// full lookup gives those exact bytes. Identical bytes decode, redact and normalise to identical keys, so
    /// this is the full lookup's answer computed once at load; sequences stay in the shared slot cursors.
    /// Empty when any cassette matches on headers (the bytes alone would not decide the key).
    fast: HashMap<String, HashMap<Vec<u8>, (usize, usize)>>,
    /// The sequences' positions that [`Index::lookup`] advances; [`Index::cursors`] makes independent sets.
    cursors: Cursors,
    /// Set by [`Index::with_brief_misses`]: a miss says what was asked, without looking for the closest recording.
    brief_misses: bool,
}

/// Where every sequence of an [`Index`] stands: one position per distinct recorded request.
///
/// The index keeps one set for [`Index::lookup`]; [`Index::cursors`] makes more, so that independent sessions (one per
/// test, say) replay the same cassettes from the start without seeing each other's progress
/// ([`Index::lookup_in`]). `Send + Sync`; advancing takes `&self`.
#[derive(Debug)]
pub struct Cursors {
    /// `positions[group][slot]`.
    positions: Vec<Vec<AtomicUsize>>,
}

impl Cursors {
    /// Rewinds every sequence, as if no request had been served.
    pub fn reset(&self) {
        for position in self.positions.iter().flatten() {
            position.store(0, Ordering::Relaxed);
        }
    }

    fn at(&self, g: usize, s: usize) -> &AtomicUsize {
        &self.positions[g][s]
    }
}

fn new_cursors(groups: &[Group]) -> Cursors {
    Cursors {
        positions: groups
            .iter()
            .map(|group| group.slots.iter().map(|_| AtomicUsize::new(0)).collect())
            .collect(),
    }
}

/// The cassettes sharing one set of matching rules, and their keys.
#[derive(Debug)]
struct Group {
    rules: Rules,
    /// Exact key to slot. Boxed: a key is written once, and 100k of them are kept.
    keys: HashMap<Box<str>, usize>,
    /// Logical key (gRPC method and request message) to the same slots: tried when `keys` misses; the first slot of
    /// a key wins.
    logical: HashMap<Box<str>, usize>,
    slots: Vec<Slot>,
}

#[derive(Debug, PartialEq)]
struct Rules {
    source: MatchRules,
    headers: Vec<String>,
    ignore: Vec<Vec<String>>,
}

/// One distinct recorded request: its recordings, `(cassette, interaction)` in recorded order.
///
/// What a miss shows of it (its shape and logical form) is read back from its keys when a miss happens
/// (`miss::shape_of_key`): keeping both as JSON trees cost about 1.9 KB an interaction, counted by allocation.
#[derive(Debug)]
struct Slot {
    entries: Vec<(usize, usize)>,
}

/// What filing one recorded interaction needs, worked out on any thread.
struct Keyed {
    key: String,
    /// The logical key, when the request has a logical form.
    logical: Option<String>,
    /// The fast path's request bytes (only when no cassette matches on headers).
    fast: Option<Vec<u8>>,
    /// Kept only when the fast path's target must wait for every group (see [`Index::new`]).
    normalised: Option<Normalised>,
}

/// A gRPC interaction's method path (the fast path's first key); a REST one's verb.
fn interaction_method(interaction: &Interaction) -> &str {
    match interaction {
        Interaction::Grpc(g) => &g.method,
        Interaction::Rest(r) => &r.request.method,
    }
}

/// Between the parts of a key.
const SEPARATOR: char = '\u{1f}';

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
    /// Indexes every interaction of every cassette; the redactor is applied to recorded and live requests alike,
    /// and `schema` types their messages and gives the HTTP rules of the logical key.
    /// Nothing in a cassette that loaded makes it fail (`yc-vcr check` relies on that and does not index).
    pub fn new(
        cassettes: Vec<(String, Cassette)>,
        redactor: Redactor,
        schema: Arc<Schema>,
    ) -> Result<Index, Error> {
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
        let mut fast: HashMap<String, HashMap<Vec<u8>, (usize, usize)>> = HashMap::default();
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
                        keys: HashMap::default(),
                        logical: HashMap::default(),
                        slots: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            let group = &mut groups[g];
            group.keys.reserve(cassette.interactions.len());
            // Normalising is pure and most of the cost: done on all cores, keeping only the keys, then filed in
            // order. (Keeping every normalised request until filing cost 60 MB at 100k interactions.)
            let rules = &group.rules;
            let keep_normalised = headers.is_empty() && !one_group;
            let keyed = crate::parallel::try_map(&cassette.interactions, |_, interaction| {
                let (normalised, fast) =
                    normalise_recorded(interaction, &redactor, &headers, &schema);
                let logical = match LogicalForm::of(&normalised, &schema) {
                    LogicalForm::Found(logical) => {
                        let message = rules.ignored_message(&logical.message);
                        Some(rules.logical_key(&normalised, &logical.method, &message))
                    }
                    _ => None,
                };
                Ok::<_, std::convert::Infallible>(Keyed {
                    key: rules.key(&normalised),
                    logical,
                    fast: fast.filter(|_| headers.is_empty()),
                    normalised: keep_normalised.then_some(normalised),
                })
            });
            let Ok(keyed) = keyed;
            for (i, keyed) in keyed.into_iter().enumerate() {
                let s = match group.keys.get(keyed.key.as_str()) {
                    Some(&s) => {
                        group.slots[s].entries.push((c, i));
                        s
                    }
                    None => {
                        group
                            .keys
                            .insert(keyed.key.into_boxed_str(), group.slots.len());
                        group.slots.push(Slot {
                            entries: vec![(c, i)],
                        });
                        // Same exact key, same logical key: only the slot's first interaction gives one.
                        if let Some(logical) = keyed.logical {
                            group
                                .logical
                                .entry(logical.into_boxed_str())
                                .or_insert(group.slots.len() - 1);
                        }
                        group.slots.len() - 1
                    }
                };
                match (keyed.fast, keyed.normalised) {
                    (Some(bytes), Some(normalised)) => pending.push((bytes, normalised)),
                    (Some(bytes), None) => {
                        let method = interaction_method(&cassette.interactions[i]);
                        // The method is named once per method, not once per interaction.
                        let by_bytes = match fast.get_mut(method) {
                            Some(by_bytes) => by_bytes,
                            None => fast.entry(method.to_owned()).or_default(),
                        };
                        by_bytes.entry(bytes).or_insert((g, s));
                    }
                    _ => {}
                }
            }
        }
        let cursors = new_cursors(&groups);
        let mut index = Index {
            cassettes,
            redactor,
            schema,
            groups,
            headers,
            fast,
            cursors,
            brief_misses: false,
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

    /// The index for a caller that forwards what it misses rather than reporting it (`new_episodes`): a [`Miss`] then
    /// holds the request only (`closest` and `logical` are `None`). Finding the closest recording walks every
    /// recorded request (about 9 ms a miss at 10k interactions, `cargo xtask bench cassette`), which a recorder that
    /// appends would pay on every new call, growing with the cassette.
    pub fn with_brief_misses(mut self) -> Index {
        self.brief_misses = true;
        self
    }

    /// The next recorded answer to `request`: identical requests get their recordings in recorded order,
    /// and after the last one the last repeats.
    #[allow(
        clippy::result_large_err,
        reason = "the contract returns `Miss` by value; misses are rare and carry their diagnostics"
    )]
    pub fn lookup(&self, request: &Request<'_>) -> Result<Hit<'_>, Miss> {
        self.lookup_in(request, &self.cursors)
    }

    /// [`Index::lookup`] with the sequence positions of `cursors` (made by [`Index::cursors`] of this index).
    #[allow(
        clippy::result_large_err,
        reason = "the contract returns `Miss` by value; misses are rare and carry their diagnostics"
    )]
    pub fn lookup_in(&self, request: &Request<'_>, cursors: &Cursors) -> Result<Hit<'_>, Miss> {
        self.find(request, cursors, self.brief_misses)
    }

    /// [`Index::lookup_in`] for a caller that asks again when it misses (a client stream that is still sending):
    /// `None` on a miss, without the closest recording, which walks every recorded request and would be paid for
    /// each message before the one that matches.
    pub fn probe_in(&self, request: &Request<'_>, cursors: &Cursors) -> Option<Hit<'_>> {
        self.find(request, cursors, true).ok()
    }

    /// [`Index::probe_in`] with the default sequence positions.
    pub fn probe(&self, request: &Request<'_>) -> Option<Hit<'_>> {
        self.probe_in(request, &self.cursors)
    }

    #[allow(
        clippy::result_large_err,
        reason = "the contract returns `Miss` by value; misses are rare and carry their diagnostics"
    )]
    fn find(&self, request: &Request<'_>, cursors: &Cursors, brief: bool) -> Result<Hit<'_>, Miss> {
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
            return Ok(self.next(g, s, cursors, "grpc"));
        }
        let normalised = normalise_live(request, &self.redactor, &self.headers, &self.schema);
        match self.resolve(&normalised) {
            Ok((g, s)) => Ok(self.next(g, s, cursors, normalised.transport)),
            Err(_) if brief => Err(Miss::brief(&normalised)),
            Err(logical) => Err(self.miss(&normalised, &logical)),
        }
    }

    /// The recorded interactions that [`Index::lookup`] has not reached: `(origin, interaction, summary)` in cassette
    /// order, e.g. `("create.json", 3, "gRPC /yandex.cloud.operation.OperationService/Get")`. A test that leaves
    /// some unused did less than its recording, which usually means the recording is stale.
    pub fn unused(&self) -> Vec<(&str, usize, String)> {
        self.unused_in(&self.cursors)
    }

    /// [`Index::unused`] for the positions of `cursors`.
    pub fn unused_in(&self, cursors: &Cursors) -> Vec<(&str, usize, String)> {
        let mut unused = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            for (s, slot) in group.slots.iter().enumerate() {
                let reached = cursors.at(g, s).load(Ordering::Relaxed);
                for &(c, i) in slot.entries.iter().skip(reached) {
                    unused.push((c, i));
                }
            }
        }
        unused.sort_unstable();
        unused
            .into_iter()
            .map(|(c, i)| {
                let (origin, cassette) = &self.cassettes[c];
                (
                    origin.as_str(),
                    i,
                    summary_of_interaction(&cassette.interactions[i]),
                )
            })
            .collect()
    }

    /// A fresh set of sequence positions, all at the start, for [`Index::lookup_in`].
    pub fn cursors(&self) -> Cursors {
        new_cursors(&self.groups)
    }

    /// The `(group, slot)` a normalised request lands in: the exact key first, in group order, then the logical
    /// key; the logical form is given back on a miss for the diagnostics.
    fn resolve(&self, normalised: &Normalised) -> Result<(usize, usize), LogicalForm> {
        for (g, group) in self.groups.iter().enumerate() {
            let key = group.rules.key(normalised);
            if let Some(&s) = group.keys.get(key.as_str()) {
                return Ok((g, s));
            }
        }
        // Only after the exact key missed: the same call over the other transport (or spelled otherwise).
        let logical = LogicalForm::of(normalised, &self.schema);
        if let LogicalForm::Found(l) = &logical {
            for (g, group) in self.groups.iter().enumerate() {
                let message = group.rules.ignored_message(&l.message);
                let key = group.rules.logical_key(normalised, &l.method, &message);
                if let Some(&s) = group.logical.get(key.as_str()) {
                    return Ok((g, s));
                }
            }
        }
        Err(logical)
    }

    /// Advances the slot's position in `cursors` and gives its interaction.
    fn next(&self, g: usize, s: usize, cursors: &Cursors, transport: &str) -> Hit<'_> {
        let slot = &self.groups[g].slots[s];
        let n = cursors
            .at(g, s)
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

    /// The schema requests are decoded and transcoded by.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The redactor applied to recorded and live requests.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Rewinds every sequence of [`Index::lookup`], as if no request had been served.
    pub fn reset(&self) {
        self.cursors.reset();
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

    /// The canonical key: transport, method, path, query, headers and body (ignored fields removed), separated by
    /// U+001F, which the JSON parts escape and a path cannot hold unencoded.
    fn key(&self, n: &Normalised) -> String {
        let mut key = String::with_capacity(128);
        key.push_str(n.transport);
        key.push(SEPARATOR);
        key.push_str(&n.method);
        key.push(SEPARATOR);
        if let Some(path) = &n.path {
            key.push_str(path);
        }
        key.push(SEPARATOR);
        if let Some(query) = &n.query {
            canonical(query, &mut key);
        }
        key.push(SEPARATOR);
        self.push_headers(n, &mut key);
        key.push(SEPARATOR);
        if self.ignore.is_empty() {
            canonical(&n.body, &mut key);
        } else {
            canonical(&self.ignored(&n.body), &mut key);
        }
        key
    }

    /// The matched headers as a JSON array of `[name, value]` pairs, in rule order, so that a miss can read them
    /// back (`miss::shape_of_key`).
    fn push_headers(&self, n: &Normalised, key: &mut String) {
        key.push('[');
        let mut first = true;
        for name in &self.headers {
            for (h, v) in &n.headers {
                if h == name {
                    if !std::mem::take(&mut first) {
                        key.push(',');
                    }
                    key.push('[');
                    push_json_string(h, key);
                    key.push(',');
                    push_json_string(v, key);
                    key.push(']');
                }
            }
        }
        key.push(']');
    }

    /// The key of the logical form: gRPC method, matched headers, request message (already `ignored_message`).
    fn logical_key(&self, n: &Normalised, method: &str, message: &Value) -> String {
        let mut key = String::with_capacity(128);
        key.push_str(method);
        key.push(SEPARATOR);
        self.push_headers(n, &mut key);
        key.push(SEPARATOR);
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

    /// What the key is made from, as JSON, for a miss's diagnostics: the same fields as `miss::shape_of_key` reads
    /// back from a key, in the request's own order.
    fn shape(&self, n: &Normalised) -> Value {
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
        Value::Object(shape)
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

mod miss;
mod normalise;

use miss::summary_of_interaction;
use normalise::{LogicalForm, normalise_live, normalise_recorded};

#[cfg(test)]
use miss::{count_differences, diff};

#[cfg(test)]
mod tests;
