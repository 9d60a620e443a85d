//! The other output of [`super::Writer`]: a `serde_json::Value` built as the writer goes, for callers that want the
//! value rather than the text (a recorder redacts and walks every message it writes).
//!
//! Writing the text and parsing it back gives the same value; under load, perf put the parse at 4% of the record
//! proxy's CPU, more than writing the text, and `cargo xtask bench cassette` shows decoding a call's two messages
//! going from 2.47-2.64 to 2.32-2.40 us without it. The writer's calls arrive as a stream of tokens (open, key,
//! scalar, close); this keeps the open containers on a stack. In an object, a string that arrives where a
//! key is due is the key, as in the text, so map keys and `Any`'s `"@type"` need nothing special.

use serde_json::{Map, Value};

/// A value under construction.
#[derive(Debug, Default)]
pub(super) struct Tree {
    open: Vec<Open>,
    done: Option<Value>,
    /// The tokens did not form one value (a writer bug, never the input's): [`Tree::finish`] says so.
    broken: bool,
}

#[derive(Debug)]
enum Open {
    /// An object's members so far and the key its next value goes under. Members are gathered in a `Vec` and the
    /// map built once at the end, at its final size: inserting as they came grew and rehashed the map.
    Object(Vec<(String, Value)>, Option<String>),
    Array(Vec<Value>),
}

impl Tree {
    pub fn begin_object(&mut self) {
        self.open.push(Open::Object(Vec::new(), None));
    }

    pub fn end_object(&mut self) {
        match self.open.pop() {
            // A key given twice keeps its first place and its last value, as `Map::insert` does.
            Some(Open::Object(members, None)) => {
                self.value(Value::Object(members.into_iter().collect()))
            }
            _ => self.broken = true,
        }
    }

    pub fn begin_array(&mut self) {
        self.open.push(Open::Array(Vec::new()));
    }

    pub fn end_array(&mut self) {
        match self.open.pop() {
            Some(Open::Array(items)) => self.value(Value::Array(items)),
            _ => self.broken = true,
        }
    }

    /// The key the next value goes under.
    pub fn key(&mut self, key: &str) {
        match self.open.last_mut() {
            Some(Open::Object(_, pending @ None)) => *pending = Some(key.to_owned()),
            _ => self.broken = true,
        }
    }

    /// A string: the key when an object is due one, else a value.
    pub fn string(&mut self, s: String) {
        match self.open.last_mut() {
            Some(Open::Object(_, pending @ None)) => *pending = Some(s),
            _ => self.value(Value::String(s)),
        }
    }

    /// A finished value: the whole, or the next member or item of what is open.
    pub fn value(&mut self, value: Value) {
        match self.open.last_mut() {
            None if self.done.is_none() => self.done = Some(value),
            Some(Open::Object(members, pending)) => match pending.take() {
                Some(key) => members.push((key, value)),
                None => self.broken = true,
            },
            Some(Open::Array(items)) => items.push(value),
            None => self.broken = true,
        }
    }

    /// Text the writer would have appended as is: only punctuation and empty values are ever written so.
    pub fn raw(&mut self, text: &str) {
        match text {
            "null" => self.value(Value::Null),
            "{}" => self.value(Value::Object(Map::new())),
            "[]" => self.value(Value::Array(Vec::new())),
            "[" => self.begin_array(),
            "]" => self.end_array(),
            "," | ":" => {}
            _ if text.trim().is_empty() => {}
            _ => self.broken = true,
        }
    }

    /// The value, or `None` when the tokens did not form exactly one.
    pub fn finish(self) -> Option<Value> {
        if self.broken || !self.open.is_empty() {
            return None;
        }
        self.done
    }
}
