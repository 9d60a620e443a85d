//! What a miss says: the closest recording (same method first, then fewest differing fields), each differing field
//! with both values, and how the logical form fared; as text for a log or a gRPC message, as JSON for an HTTP body.
//! Runs only on misses, so it may scan every slot.

use std::fmt;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::{
    Closest, Difference, Group, Index, LogicalForm, LogicalMiss, MatchRules, Miss, Normalised,
    Rules, SEPARATOR, Slot,
};
use crate::model::Interaction;
use crate::scan::push_key;

impl Index {
    /// Builds the diagnostics: a scan of every slot, reading each one's shape back from its key, but misses are rare.
    pub(super) fn miss(&self, normalised: &Normalised, logical: &LogicalForm) -> Miss {
        // Rank by counting differences without building them, stopping early once worse than the best so far;
        // only the winner's differences are spelled out.
        let mut best: Option<(usize, usize, &Slot, Value, Value)> = None;
        let keys: Vec<Vec<&str>> = self.groups.iter().map(Group::keys_by_slot).collect();
        let same_transport = |key: &str| head(key).0 == normalised.transport;
        let same_method = |key: &str| head(key) == (normalised.transport, &normalised.method);
        let same_method_exists = keys.iter().flatten().any(|key| same_method(key));
        for (group, keys) in self.groups.iter().zip(&keys) {
            let shape = group.rules.shape(normalised);
            for (slot, key) in group.slots.iter().zip(keys) {
                if !same_transport(key) || (same_method_exists && !same_method(key)) {
                    continue;
                }
                let other_method = usize::from(!same_method(key));
                let limit = match &best {
                    Some((m, n, ..)) if *m == other_method => *n,
                    Some((m, ..)) if *m < other_method => continue,
                    _ => usize::MAX,
                };
                let Some(recorded) = shape_of_key(key) else {
                    continue;
                };
                let count = count_differences(&recorded, &shape, limit);
                if best
                    .as_ref()
                    .is_none_or(|b| (other_method, count) < (b.0, b.1))
                {
                    best = Some((other_method, count, slot, recorded, shape.clone()));
                }
            }
        }
        let closest = best.map(|(_, _, slot, recorded, shape)| {
            let mut differences = Vec::new();
            diff(&recorded, &shape, &mut String::new(), &mut differences);
            self.closest(slot, differences)
        });
        Miss {
            closest,
            logical: self.logical_miss(normalised.transport, logical, &keys),
            ..Miss::brief(normalised)
        }
    }

    /// The logical side of a miss, when recordings of the same method over the other transport exist.
    fn logical_miss(
        &self,
        transport: &str,
        logical: &LogicalForm,
        keys: &[Vec<&str>],
    ) -> Option<LogicalMiss> {
        let method = match logical {
            LogicalForm::Found(l) => l.method.as_str(),
            LogicalForm::Failed { method, .. } => method.as_str(),
            LogicalForm::None => return None,
        };
        let other = if transport == "grpc" { "rest" } else { "grpc" };
        // In slot order, so that a tie goes to the first recording, as for the exact form.
        let mut candidates: Vec<(usize, usize, &str)> = self
            .groups
            .iter()
            .zip(keys)
            .enumerate()
            .flat_map(|(g, (group, keys))| {
                group.logical.iter().filter_map(move |(logical, &s)| {
                    (head(logical).0 == method && head(keys[s]).0 == other)
                        .then_some((g, s, &**logical))
                })
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        candidates.sort_unstable_by_key(|&(g, s, _)| (g, s));
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
        let mut best: Option<(usize, &Slot, Value, Value)> = None;
        for (g, s, key) in candidates {
            let group = &self.groups[g];
            let Some(recorded) = logical_of_key(key) else {
                continue;
            };
            let requested = serde_json::json!({
                "method": method,
                "message": group.rules.ignored_message(&l.message),
            });
            let limit = best.as_ref().map_or(usize::MAX, |b| b.0);
            let count = count_differences(&recorded, &requested, limit);
            if best.as_ref().is_none_or(|b| count < b.0) {
                best = Some((count, &group.slots[s], recorded, requested));
            }
        }
        let closest = best.map(|(_, slot, recorded, requested)| {
            let mut differences = Vec::new();
            diff(&recorded, &requested, &mut String::new(), &mut differences);
            self.closest(slot, differences)
        });
        Some(LogicalMiss {
            method: method.to_owned(),
            message: Some(l.message.clone()),
            error: None,
            closest,
        })
    }

    /// A slot as a miss names it: its first recording.
    fn closest(&self, slot: &Slot, differences: Vec<Difference>) -> Closest {
        let (cassette, index) = slot.entries[0];
        let (origin, c) = &self.cassettes[cassette];
        Closest {
            origin: origin.clone(),
            cassette,
            index,
            summary: summary_of_interaction(&c.interactions[index]),
            differences,
        }
    }
}

impl Group {
    /// Each slot's exact key, by slot.
    fn keys_by_slot(&self) -> Vec<&str> {
        let mut keys = vec![""; self.slots.len()];
        for (key, &s) in &self.keys {
            keys[s] = key;
        }
        keys
    }
}

/// The first two parts of a key: transport and method for an exact key, method and matched headers for a logical
/// one.
fn head(key: &str) -> (&str, &str) {
    let mut parts = key.splitn(3, SEPARATOR);
    (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
}

/// The shape a key was made from (what `Rules::shape` gives for its request), read back from the key's text.
/// `None` only for a key this module did not write.
pub(super) fn shape_of_key(key: &str) -> Option<Value> {
    let (transport, rest) = key.split_once(SEPARATOR)?;
    let (method, rest) = rest.split_once(SEPARATOR)?;
    // The JSON parts never hold the separator (it is escaped); the path is whatever stands between.
    let mut tail = rest.rsplitn(4, SEPARATOR);
    let (body, headers, query, path) = (tail.next()?, tail.next()?, tail.next()?, tail.next()?);
    let mut shape = Map::new();
    shape.insert("transport".into(), Value::from(transport));
    shape.insert("method".into(), Value::from(method));
    if !path.is_empty() {
        shape.insert("path".into(), Value::from(path));
    }
    if !query.is_empty() {
        shape.insert("query".into(), serde_json::from_str(query).ok()?);
    }
    let headers = headers_of(headers)?;
    if !headers.is_empty() {
        shape.insert("headers".into(), Value::Object(headers));
    }
    let body_key = if transport == "grpc" {
        "messages"
    } else {
        "body"
    };
    shape.insert(body_key.into(), serde_json::from_str(body).ok()?);
    Some(Value::Object(shape))
}

/// The logical form a logical key was made from: `{"method", "message"}`.
pub(super) fn logical_of_key(key: &str) -> Option<Value> {
    let (method, rest) = key.split_once(SEPARATOR)?;
    let (_, message) = rest.rsplit_once(SEPARATOR)?;
    Some(serde_json::json!({
        "method": method,
        "message": serde_json::from_str::<Value>(message).ok()?,
    }))
}

/// The matched headers part of a key, `[[name, value], ...]`, as a shape has them: each name's values in order.
fn headers_of(text: &str) -> Option<Map<String, Value>> {
    let pairs: Vec<(String, String)> = serde_json::from_str(text).ok()?;
    let mut headers = Map::new();
    for (name, value) in pairs {
        match headers
            .entry(name)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(values) => values.push(Value::from(value)),
            _ => return None,
        }
    }
    Some(headers)
}

pub(super) fn diff(
    recorded: &Value,
    requested: &Value,
    path: &mut String,
    out: &mut Vec<Difference>,
) {
    match (recorded, requested) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let len = path.len();
                push_key(path, k);
                diff_child(a.get(k), b.get(k), path, out);
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                diff_child(a.get(i), b.get(i), path, out);
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

/// One member or element of two containers being diffed: both there, diffed further; one missing, a difference.
fn diff_child(a: Option<&Value>, b: Option<&Value>, path: &mut String, out: &mut Vec<Difference>) {
    match (a, b) {
        (Some(x), Some(y)) => diff(x, y, path, out),
        (x, y) => out.push(Difference {
            path: path.clone(),
            recorded: x.cloned(),
            requested: y.cloned(),
        }),
    }
}

/// How many fields `diff` would list, counting no further than `limit`.
pub(super) fn count_differences(recorded: &Value, requested: &Value, limit: usize) -> usize {
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

fn strip_meta(mut shape: Value) -> Value {
    if let Value::Object(m) = &mut shape {
        m.shift_remove("transport");
        m.shift_remove("method");
    }
    shape
}

pub(super) fn summary_of_interaction(interaction: &Interaction) -> String {
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

impl Miss {
    /// A miss that says what was asked and nothing about the recordings.
    pub(super) fn brief(normalised: &Normalised) -> Miss {
        let request = Rules::new(&MatchRules::default()).shape(normalised);
        Miss {
            summary: normalised.summary(),
            request: strip_meta(request),
            closest: None,
            logical: None,
        }
    }
}
