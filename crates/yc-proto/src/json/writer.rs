//! The JSON writer the generated `WriteJson` impls and the well-known types write into.
//!
//! It appends straight to a `String`: no serde, no intermediate value; or, for callers that want a
//! `serde_json::Value` rather than text, it builds that value as it goes ([`Writer::value`], see [`tree`]).
//! It knows the output style and collects the first error (an `Any` of an unknown type, a timestamp out of
//! range), so that writing code stays infallible and fast; it knows nothing of message types.

use std::collections::BTreeMap;

use base64::Engine as _;

use super::Style;
use crate::Error;

mod tree;

use tree::Tree;

/// A message that can write itself as protobuf's reference JSON.
///
/// Implemented by generated code for every message type and by hand for the well-known types.
pub trait WriteJson {
    /// The message as one JSON value: by default an object of its [`write_any_members`](Self::write_any_members);
    /// the well-known types, which have JSON forms of their own, override it.
    fn write_json(&self, w: &mut Writer) {
        w.begin_object();
        let mut first = true;
        self.write_any_members(w, &mut first);
        w.end_object();
    }

    /// The members the message contributes to an `Any` object after its `"@type"`:
    /// its fields for an ordinary message, `"value": <json>` for a well-known type.
    fn write_any_members(&self, w: &mut Writer, first: &mut bool);
}

impl<T: WriteJson + ?Sized> WriteJson for Box<T> {
    fn write_json(&self, w: &mut Writer) {
        (**self).write_json(w);
    }

    fn write_any_members(&self, w: &mut Writer, first: &mut bool) {
        (**self).write_any_members(w, first);
    }
}

/// A protobuf enum as the JSON writer sees it: value numbers to names.
pub trait EnumJson {
    /// The value name for `number`, if the schema knows it.
    fn name(number: i32) -> Option<&'static str>;
}

/// A map key type; JSON object keys are always strings.
pub trait MapKey {
    /// Writes the key as a JSON string.
    fn write_key(&self, w: &mut Writer);
}

impl MapKey for String {
    fn write_key(&self, w: &mut Writer) {
        w.string(self);
    }
}

impl MapKey for bool {
    fn write_key(&self, w: &mut Writer) {
        w.string(if *self { "true" } else { "false" });
    }
}

macro_rules! int_map_key {
    ($($ty:ty),*) => {$(
        impl MapKey for $ty {
            fn write_key(&self, w: &mut Writer) {
                w.quoted_int(*self);
            }
        }
    )*};
}

int_map_key!(i32, i64, u32, u64);

/// Appends JSON text to a buffer (or builds the value the text would parse to), in one [`Style`].
#[derive(Debug)]
pub struct Writer {
    out: Out,
    style: Style,
    error: Option<Error>,
    /// How many `Any` payloads are being written inside each other; bounded, since each is decoded anew.
    any_depth: u32,
}

/// Where a writer's output goes.
#[derive(Debug)]
enum Out {
    Text(String),
    Value(Tree),
}

/// The deepest `Any` nesting written, as prost bounds message nesting when decoding.
const MAX_ANY_DEPTH: u32 = 100;

impl Writer {
    /// An empty writer.
    pub fn new(style: Style) -> Writer {
        Writer::with_capacity(style, 256)
    }

    /// An empty writer with room for `capacity` bytes of output.
    pub fn with_capacity(style: Style, capacity: usize) -> Writer {
        Writer {
            out: Out::Text(String::with_capacity(capacity)),
            style,
            error: None,
            any_depth: 0,
        }
    }

    /// An empty writer that builds a `serde_json::Value` ([`finish_value`](Self::finish_value)): the value the
    /// text would parse to, without the text.
    pub fn value(style: Style) -> Writer {
        Writer {
            out: Out::Value(Tree::default()),
            style,
            error: None,
            any_depth: 0,
        }
    }

    /// The style field names are written in.
    pub fn style(&self) -> Style {
        self.style
    }

    /// The text written, or the first error met. A writer made by [`value`](Self::value) gives the value's text.
    pub fn finish(self) -> Result<String, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self.out {
            Out::Text(text) => Ok(text),
            Out::Value(tree) => Ok(finished(tree)?.to_string()),
        }
    }

    /// The value built, or the first error met. A text writer parses its text.
    pub fn finish_value(self) -> Result<serde_json::Value, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        match self.out {
            Out::Text(text) => serde_json::from_str(&text)
                .map_err(|e| Error::json("JSON", format_args!("the writer's text: {e}"))),
            Out::Value(tree) => finished(tree),
        }
    }

    /// Appends text (in the text output).
    fn push_str(&mut self, text: &str) {
        match &mut self.out {
            Out::Text(out) => out.push_str(text),
            Out::Value(tree) => tree.raw(text),
        }
    }

    /// Records an error; the first one wins and [`finish`](Self::finish) returns it.
    pub fn fail(&mut self, error: Error) {
        self.error.get_or_insert(error);
    }

    /// Whether an error has been recorded.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Enters an `Any` payload; `false` (with the error recorded) when nesting is too deep.
    pub(crate) fn enter_any(&mut self) -> bool {
        if self.any_depth >= MAX_ANY_DEPTH {
            self.fail(Error::json(
                "google.protobuf.Any",
                format_args!("nested more than {MAX_ANY_DEPTH} deep"),
            ));
            return false;
        }
        self.any_depth += 1;
        true
    }

    /// Leaves an `Any` payload entered with [`enter_any`](Self::enter_any).
    pub(crate) fn leave_any(&mut self) {
        self.any_depth -= 1;
    }

    /// `{`
    pub fn begin_object(&mut self) {
        match &mut self.out {
            Out::Text(out) => out.push('{'),
            Out::Value(tree) => tree.begin_object(),
        }
    }

    /// `}`
    pub fn end_object(&mut self) {
        match &mut self.out {
            Out::Text(out) => out.push('}'),
            Out::Value(tree) => tree.end_object(),
        }
    }

    /// A field key: a comma unless `first`, then the proto name or the JSON name by style.
    /// Both names are identifiers (checked by the generator), so they need no escaping.
    pub fn field(&mut self, first: &mut bool, proto_name: &str, json_name: &str) {
        self.comma(first);
        let name = match self.style {
            Style::Snake => proto_name,
            Style::Camel => json_name,
        };
        match &mut self.out {
            Out::Text(out) => {
                out.push('"');
                out.push_str(name);
                out.push_str("\":");
            }
            Out::Value(tree) => tree.key(name),
        }
    }

    /// A raw key written the same in both styles (`@type`, `value`).
    pub fn raw_key(&mut self, first: &mut bool, key: &str) {
        self.comma(first);
        match &mut self.out {
            Out::Text(_) => {
                self.string(key);
                self.push_str(":");
            }
            Out::Value(tree) => tree.key(key),
        }
    }

    /// A comma unless `first`; clears `first`.
    pub fn comma(&mut self, first: &mut bool) {
        if !std::mem::take(first)
            && let Out::Text(out) = &mut self.out
        {
            out.push(',');
        }
    }

    /// A JSON string, escaped as Python's `json` does with `ensure_ascii=False`.
    pub fn string(&mut self, s: &str) {
        let out = match &mut self.out {
            Out::Text(out) => out,
            Out::Value(tree) => return tree.string(s.to_owned()),
        };
        out.push('"');
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if !NEEDS_ESCAPE[usize::from(b)] {
                continue;
            }
            // Every byte that needs escaping is ASCII, so `i` is a char boundary.
            out.push_str(&s[start..i]);
            match b {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x08 => out.push_str("\\b"),
                0x0c => out.push_str("\\f"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.push_str("\\u00");
                    out.push(HEX[usize::from(b >> 4)] as char);
                    out.push(HEX[usize::from(b & 0xf)] as char);
                }
            }
            start = i + 1;
        }
        out.push_str(&s[start..]);
        out.push('"');
    }

    /// Appends a quoted string that `text` writes into the buffer unescaped (it writes only ASCII that needs
    /// no escaping, such as a timestamp); if it fails, the output is rolled back, `null` written and the
    /// error recorded for `type_name`.
    pub(crate) fn quoted_with(
        &mut self,
        type_name: &str,
        text: impl FnOnce(&mut String) -> Result<(), String>,
    ) {
        let written = match &mut self.out {
            Out::Text(out) => {
                let mark = out.len();
                out.push('"');
                let written = text(out);
                match written {
                    Ok(()) => out.push('"'),
                    Err(_) => {
                        out.truncate(mark);
                        out.push_str("null");
                    }
                }
                written
            }
            Out::Value(tree) => {
                let mut s = String::new();
                let written = text(&mut s);
                tree.value(match written {
                    Ok(()) => serde_json::Value::String(s),
                    Err(_) => serde_json::Value::Null,
                });
                written
            }
        };
        if let Err(message) = written {
            self.fail(Error::json(type_name, message));
        }
    }

    /// `true` or `false`.
    pub fn bool(&mut self, v: bool) {
        match &mut self.out {
            Out::Text(out) => out.push_str(if v { "true" } else { "false" }),
            Out::Value(tree) => tree.value(serde_json::Value::Bool(v)),
        }
    }

    /// A 32-bit integer, as a JSON number.
    pub fn int<I: itoa::Integer + Into<serde_json::Number>>(&mut self, v: I) {
        match &mut self.out {
            Out::Text(out) => out.push_str(itoa::Buffer::new().format(v)),
            Out::Value(tree) => tree.value(serde_json::Value::Number(v.into())),
        }
    }

    /// A 64-bit integer, as a JSON string.
    pub fn quoted_int<I: itoa::Integer>(&mut self, v: I) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(v);
        match &mut self.out {
            Out::Text(out) => {
                out.push('"');
                out.push_str(digits);
                out.push('"');
            }
            Out::Value(tree) => tree.string(digits.to_owned()),
        }
    }

    /// A `double`: `"NaN"`, `"Infinity"`, `"-Infinity"`, otherwise the shortest repr that round-trips,
    /// formatted as Python's `repr(float)` (`1.5`, `3.0`, `1e+20`, `1e-05`).
    pub fn f64(&mut self, v: f64) {
        self.float(v, &format!("{v:e}"));
    }

    /// A float that is `v` as a `double` and `sci` in Rust's shortest `{:e}` form (of its own width). The value
    /// output holds what the text parses to: the `double` nearest the digits.
    fn float(&mut self, v: f64, sci: &str) {
        match (&mut self.out, non_finite(v)) {
            (Out::Text(_), Some(special)) => self.push_str(special),
            (Out::Text(out), None) => python_repr(sci, out),
            (Out::Value(tree), Some(special)) => {
                tree.value(serde_json::Value::String(
                    special.trim_matches('"').to_owned(),
                ));
            }
            (Out::Value(tree), None) => {
                let parsed = sci.parse::<f64>().unwrap_or(v);
                tree.value(
                    serde_json::Number::from_f64(parsed)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number),
                );
            }
        }
    }

    /// A `float`: like [`f64`](Self::f64), with the shortest digits that round-trip through 32 bits,
    /// as Python's `json_format` writes it.
    pub fn f32(&mut self, v: f32) {
        self.float(f64::from(v), &format!("{v:e}"));
    }

    /// `bytes`: standard base64 with padding.
    pub fn bytes(&mut self, v: &[u8]) {
        let base64 = base64::engine::general_purpose::STANDARD;
        match &mut self.out {
            Out::Text(out) => {
                out.push('"');
                base64.encode_string(v, out);
                out.push('"');
            }
            Out::Value(tree) => tree.value(serde_json::Value::String(base64.encode(v))),
        }
    }

    /// An enum value: its name, or the bare number when the schema does not know it.
    pub fn enumeration<E: EnumJson>(&mut self, number: i32) {
        self.enum_value(E::name(number), number);
    }

    /// An enum value known by its `name` from a descriptor rather than a generated type: the name, or the bare
    /// number when there is none. The one place enum values are spelled, for both paths.
    pub fn enum_value(&mut self, name: Option<&str>, number: i32) {
        match name {
            // Names are identifiers: nothing to escape.
            Some(name) => match &mut self.out {
                Out::Text(out) => {
                    out.push('"');
                    out.push_str(name);
                    out.push('"');
                }
                Out::Value(tree) => tree.value(serde_json::Value::String(name.to_owned())),
            },
            None => self.int(number),
        }
    }

    /// A nested message.
    pub fn message<M: WriteJson + ?Sized>(&mut self, m: &M) {
        m.write_json(self);
    }

    /// A repeated field: `[a,b,...]`.
    pub fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Writer, &T)) {
        self.push_str("[");
        let mut first = true;
        for v in items {
            self.comma(&mut first);
            item(self, v);
        }
        self.push_str("]");
    }

    /// A map field: `{"key":value,...}`, keys never renamed.
    pub fn map<K: MapKey, V>(
        &mut self,
        entries: &BTreeMap<K, V>,
        mut value: impl FnMut(&mut Writer, &V),
    ) {
        self.begin_object();
        let mut first = true;
        for (k, v) in entries {
            self.comma(&mut first);
            k.write_key(self);
            self.push_str(":");
            value(self, v);
        }
        self.end_object();
    }

    /// Appends text that is already valid JSON in this position.
    pub(crate) fn raw(&mut self, text: &str) {
        self.push_str(text);
    }
}

/// A value tree's value, or an error when the writer's tokens did not form one.
fn finished(tree: Tree) -> Result<serde_json::Value, Error> {
    tree.finish()
        .ok_or_else(|| Error::json("JSON", "the writer's output is not one JSON value"))
}

/// Bytes a JSON string cannot hold as they are: `"`, `\\` and the control characters.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("\"NaN\"")
    } else if v == f64::INFINITY {
        Some("\"Infinity\"")
    } else if v == f64::NEG_INFINITY {
        Some("\"-Infinity\"")
    } else {
        None
    }
}

/// Rewrites Rust's shortest `{:e}` form (`-1.5e-7`) as Python's `repr(float)`:
/// positional when the decimal exponent is in `-4..16` (always with a fraction, `3.0`),
/// otherwise `d.ddde+XX` with at least two exponent digits.
fn python_repr(sci: &str, out: &mut String) {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let point = exp as usize + 1;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(itoa::Buffer::new().format(abs));
    }
}

#[cfg(test)]
mod tests;
