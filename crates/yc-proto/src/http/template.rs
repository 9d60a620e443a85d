//! Path templates of `google.api.http`, parsed once into segments and matched against request paths.
//!
//! The grammar (from `google/api/http.proto`):
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;
//! Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;
//! Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb     = ":" LITERAL ;
//! ```
//!
//! `*` matches one non-empty segment, `**` any number of segments (at most one `**` per template); a variable
//! without a pattern is `{field=*}`. A variable of one segment is percent-decoded whole; a variable of several
//! keeps `%2F` as it is (the spec's reserved expansion), so a decoded value splits back into the same segments.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// One parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    segments: Vec<Segment>,
    /// Index of the `**` segment, if any.
    multi: Option<usize>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text, compared with the segment as sent.
    Literal(String),
    /// `*`: one non-empty segment.
    Single,
    /// `**`: any number of segments.
    Multi,
}

/// A `{field.path=pattern}` variable: the template segments it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Dotted field path, e.g. `image_id` or `image.folder_id`.
    pub field_path: String,
    /// Half-open range of [`Template::segments`] the variable covers.
    pub segments: std::ops::Range<usize>,
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path template `{template}`: {reason} at byte {at}")]
pub struct TemplateError {
    pub template: String,
    pub at: usize,
    pub reason: &'static str,
}

/// How specific a template is, compared when several match one path: a custom verb first, then more literal
/// segments, then more `*` segments (a `**` is the least specific), so `/images/{id}:cancel` beats
/// `/images/{id}` and `/images/{id}` beats `/{name=**}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    verb: bool,
    literals: usize,
    singles: usize,
}

/// Characters left as they are when a one-segment variable is written into a path: RFC 3986's unreserved set.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// As [`SEGMENT`], plus `/`: a variable of several segments.
const SEGMENTS: &AsciiSet = &SEGMENT.remove(b'/');

impl Template {
    /// Parses `text`, e.g. `/compute/v1/images/{image_id}:listAccessBindings`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        Parser {
            text,
            at: 0,
            template: Template {
                text: text.to_owned(),
                segments: Vec::new(),
                multi: None,
                variables: Vec::new(),
                verb: None,
            },
        }
        .parse()
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The custom verb after `:`, if any.
    pub fn verb(&self) -> Option<&str> {
        self.verb.as_deref()
    }

    /// The first segment when it is a literal: what a router files the template under.
    pub fn first_literal(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Literal(text)) => Some(text),
            _ => None,
        }
    }

    pub fn specificity(&self) -> Specificity {
        let count =
            |wanted: fn(&Segment) -> bool| self.segments.iter().filter(|s| wanted(s)).count();
        Specificity {
            verb: self.verb.is_some(),
            literals: count(|s| matches!(s, Segment::Literal(_))),
            singles: count(|s| matches!(s, Segment::Single)),
        }
    }

    /// The bindings of `path` (as sent, percent-encoded, no query string) if it matches: one
    /// `(field path, decoded value)` per variable, in template order.
    pub fn matches(&self, path: &str) -> Option<Vec<(&str, String)>> {
        let path = match &self.verb {
            Some(verb) => path.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => path,
        };
        let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        let n = self.segments.len();
        // Where template segment `i` starts in `parts`, and where the `**` ends.
        let (multi_start, multi_end) = match self.multi {
            None if parts.len() == n => (n, n),
            None => return None,
            Some(m) if parts.len() + 1 >= n => (m, parts.len() + 1 - (n - m)),
            Some(_) => return None,
        };
        let part_of = |i: usize| {
            if i <= multi_start {
                i
            } else {
                i + multi_end - multi_start - 1
            }
        };
        for (i, segment) in self.segments.iter().enumerate() {
            if Some(i) == self.multi {
                continue;
            }
            let part = parts[part_of(i)];
            match segment {
                Segment::Literal(text) if text != part => return None,
                Segment::Single if part.is_empty() => return None,
                _ => {}
            }
        }
        let span = |i: usize| {
            if Some(i) == self.multi {
                multi_start..multi_end
            } else {
                part_of(i)..part_of(i) + 1
            }
        };
        let mut bindings = Vec::with_capacity(self.variables.len());
        for variable in &self.variables {
            let start = span(variable.segments.start).start;
            let end = span(variable.segments.end - 1).end;
            let raw = parts[start..end].join("/");
            if raw.is_empty() {
                return None;
            }
            let value =
                if variable.segments.len() == 1 && self.multi != Some(variable.segments.start) {
                    decode(&raw)
                } else {
                    decode_keeping_slashes(&raw)
                };
            bindings.push((variable.field_path.as_str(), value));
        }
        Some(bindings)
    }

    /// The path this template gives for `values` (field path → value), percent-encoded as a client writes it;
    /// `None` when a variable has no value or a value does not fit its pattern.
    pub fn expand(&self, values: &[(&str, &str)]) -> Option<String> {
        let mut out = String::new();
        let mut i = 0;
        while i < self.segments.len() {
            out.push('/');
            let variable = self.variables.iter().find(|v| v.segments.start == i);
            match (variable, &self.segments[i]) {
                (Some(variable), _) => {
                    let (_, value) = values.iter().find(|(f, _)| *f == variable.field_path)?;
                    let multi = variable.segments.len() > 1 || self.multi == Some(i);
                    let set = if multi { SEGMENTS } else { SEGMENT };
                    out.extend(utf8_percent_encode(value, set));
                    i = variable.segments.end;
                    continue;
                }
                (None, Segment::Literal(text)) => out.push_str(text),
                (None, _) => return None,
            }
            i += 1;
        }
        if let Some(verb) = &self.verb {
            out.push(':');
            out.push_str(verb);
        }
        // Check the values against their patterns the way a server would.
        let bound = self.matches(&out)?;
        let same = bound
            .iter()
            .all(|(f, v)| values.iter().any(|(f2, v2)| f == f2 && v == v2));
        same.then_some(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn decode(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// Decodes everything but `%2F`/`%2f`, which stays as sent.
fn decode_keeping_slashes(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = find_escaped_slash(rest) {
        out.push_str(&decode(&rest[..at]));
        out.push_str(&rest[at..at + 3]);
        rest = &rest[at + 3..];
    }
    out.push_str(&decode(rest));
    out
}

fn find_escaped_slash(s: &str) -> Option<usize> {
    s.as_bytes()
        .windows(3)
        .position(|w| w[0] == b'%' && w[1] == b'2' && (w[2] == b'F' || w[2] == b'f'))
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
    template: Template,
}

impl Parser<'_> {
    fn parse(mut self) -> Result<Template, TemplateError> {
        if !self.eat('/') {
            return Err(self.error("a template starts with `/`"));
        }
        self.segments(true)?;
        if self.eat(':') {
            let verb = self.literal();
            if verb.is_empty() {
                return Err(self.error("expected a verb after `:`"));
            }
            self.template.verb = Some(verb.to_owned());
        }
        if self.at != self.text.len() {
            return Err(self.error("unexpected character"));
        }
        Ok(self.template)
    }

    fn segments(&mut self, top: bool) -> Result<(), TemplateError> {
        loop {
            self.segment(top)?;
            if !self.eat('/') {
                return Ok(());
            }
        }
    }

    fn segment(&mut self, top: bool) -> Result<(), TemplateError> {
        let segment = if self.eat_str("**") {
            if self.template.multi.is_some() {
                return Err(self.error("only one `**` is allowed"));
            }
            self.template.multi = Some(self.template.segments.len());
            Segment::Multi
        } else if self.eat('*') {
            Segment::Single
        } else if self.peek() == Some('{') {
            if !top {
                return Err(self.error("a variable cannot hold another variable"));
            }
            return self.variable();
        } else {
            let literal = self.literal();
            if literal.is_empty() {
                return Err(self.error("expected a segment"));
            }
            Segment::Literal(literal.to_owned())
        };
        self.template.segments.push(segment);
        Ok(())
    }

    fn variable(&mut self) -> Result<(), TemplateError> {
        self.eat('{');
        let start = self.at;
        let rest = &self.text[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        let field_path = &rest[..len];
        let valid = !field_path.is_empty()
            && field_path.split('.').all(|ident| {
                ident
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            });
        if !valid {
            return Err(self.error("expected a field path"));
        }
        self.at += len;
        let first = self.template.segments.len();
        if self.eat('=') {
            self.segments(false)?;
        } else {
            self.template.segments.push(Segment::Single);
        }
        if !self.eat('}') {
            return Err(self.error("expected `}`"));
        }
        self.template.variables.push(Variable {
            field_path: field_path.to_owned(),
            segments: first..self.template.segments.len(),
        });
        Ok(())
    }

    /// Literal text: up to the next character with a meaning in the grammar.
    fn literal(&mut self) -> &str {
        let rest = &self.text[self.at..];
        let len = rest
            .find(['/', ':', '{', '}', '*', '='])
            .unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        let ok = self.peek() == Some(c);
        if ok {
            self.at += c.len_utf8();
        }
        ok
    }

    fn eat_str(&mut self, s: &str) -> bool {
        let ok = self.text[self.at..].starts_with(s);
        if ok {
            self.at += s.len();
        }
        ok
    }

    fn error(&self, reason: &'static str) -> TemplateError {
        TemplateError {
            template: self.text.to_owned(),
            at: self.at,
            reason,
        }
    }
}
