//! Where each value of a JSON text starts, by path (`interactions[0].grpc.request.metadata.authorization`), so a
//! finding made on the parsed cassette can name its line and column in the file.
//! Runs only on text `serde_json` already parsed; anything unexpected ends the walk early (positions found so far
//! are kept), never a panic.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// Path to (line, column), both 1-based.
pub(super) type Positions = HashMap<String, (usize, usize)>;

/// The position of each value of `text` that [`find`] may ask for one of `locations`: the locations and every path
/// enclosing them. Recording only those keeps the walk to a scan of the text (a position for every value of a
/// 100k-interaction cassette was most of `check`'s time).
pub(super) fn positions<'a>(text: &str, locations: impl IntoIterator<Item = &'a str>) -> Positions {
    let mut wanted = HashSet::new();
    for location in locations {
        let mut path = location;
        wanted.insert(path.to_owned());
        while let Some(cut) = path.rfind(['.', '[']) {
            path = &path[..cut];
            wanted.insert(path.to_owned());
        }
    }
    let mut walker = Walker {
        bytes: text.as_bytes(),
        text,
        at: 0,
        line: 1,
        line_start: 0,
        wanted,
        out: HashMap::new(),
    };
    let mut path = String::new();
    walker.value(&mut path, 0);
    walker.out
}

/// The position of `location`, or of the nearest enclosing value that has one (a query parameter inside the query
/// string is reported at the query).
pub(super) fn find(positions: &Positions, location: &str) -> Option<(usize, usize)> {
    let mut path = location;
    loop {
        if let Some(&position) = positions.get(path) {
            return Some(position);
        }
        let cut = path.rfind(['.', '['])?;
        path = &path[..cut];
    }
}

/// Appends one object key to a path: `.key` when it is plain, `["key"]` (JSON-escaped) otherwise. Miss
/// diagnostics and scan findings spell paths with it alike.
pub(crate) fn push_key(path: &mut String, key: &str) {
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
        path.push_str(&serde_json::Value::from(key).to_string());
        path.push(']');
    }
}

struct Walker<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    line: usize,
    line_start: usize,
    wanted: HashSet<String>,
    out: Positions,
}

/// `serde_json`'s own nesting limit: deeper text never parsed, so it is never walked.
const MAX_NESTING: usize = 128;

impl Walker<'_> {
    fn skip_space(&mut self) {
        while let Some(&b) = self.bytes.get(self.at) {
            match b {
                b'\n' => {
                    self.at += 1;
                    self.line += 1;
                    self.line_start = self.at;
                }
                b' ' | b'\t' | b'\r' => self.at += 1,
                _ => break,
            }
        }
    }

    fn position(&self) -> (usize, usize) {
        let column = self
            .text
            .get(self.line_start..self.at)
            .map_or(0, |s| s.chars().count());
        (self.line, column + 1)
    }

    /// Reads one value, recording where it starts under `path`; false when the text is not as expected.
    fn value(&mut self, path: &mut String, nesting: usize) -> bool {
        self.skip_space();
        if self.wanted.contains(path.as_str()) && !self.out.contains_key(path.as_str()) {
            let position = self.position();
            self.out.insert(path.clone(), position);
        }
        match self.bytes.get(self.at) {
            Some(b'{') if nesting < MAX_NESTING => {
                self.at += 1;
                self.children(path, nesting, b'}')
            }
            Some(b'[') if nesting < MAX_NESTING => {
                self.at += 1;
                self.children(path, nesting, b']')
            }
            Some(b'"') => self.string().is_some(),
            Some(_) => {
                while let Some(&b) = self.bytes.get(self.at) {
                    if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                        break;
                    }
                    self.at += 1;
                }
                true
            }
            None => false,
        }
    }

    /// Reads an object's members (`close` is `}`) or an array's elements (`]`) up to and past `close`, each
    /// value under its key or index in `path`.
    fn children(&mut self, path: &mut String, nesting: usize, close: u8) -> bool {
        let mut index = 0;
        loop {
            self.skip_space();
            match self.bytes.get(self.at) {
                Some(&b) if b == close => {
                    self.at += 1;
                    return true;
                }
                Some(b',') => self.at += 1,
                Some(_) => {
                    let len = path.len();
                    let named = if close == b'}' {
                        self.key(path)
                    } else {
                        let _ = write!(path, "[{index}]");
                        true
                    };
                    let ok = named && self.value(path, nesting + 1);
                    path.truncate(len);
                    if !ok {
                        return false;
                    }
                    index += 1;
                }
                None => return false,
            }
        }
    }

    /// Reads a member's key and its colon, and adds the key to `path`.
    fn key(&mut self, path: &mut String) -> bool {
        if self.bytes.get(self.at) != Some(&b'"') {
            return false;
        }
        let Some(key) = self.string() else {
            return false;
        };
        self.skip_space();
        if self.bytes.get(self.at) != Some(&b':') {
            return false;
        }
        self.at += 1;
        push_key(path, &key);
        true
    }

    /// A string literal at `at`, decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.at;
        self.at += 1;
        let mut escaped = false;
        while let Some(&b) = self.bytes.get(self.at) {
            self.at += 1;
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    return serde_json::from_str(self.text.get(start..self.at)?).ok();
                }
                _ => {}
            }
        }
        None
    }
}
