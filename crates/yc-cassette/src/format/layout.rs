//! Where each interaction of a cassette file lies, found by reading the file through a small buffer.
//!
//! Kept by hand, beside [`serde_json::value::RawValue`] (which does the same over text in memory), because the text of
//! a long cassette must not be read into memory whole: on this kind of machine fresh memory costs about 1.5 ms a
//! megabyte to fault in, so reading the 180 MB of a 100k-interaction cassette cost 0.3 s of a 1 s startup, and its
//! peak. It only splits: it finds the top-level members and the span of each element of `interactions`, and checks
//! the punctuation between them; serde parses every byte of what it found (the other members, then each
//! interaction), so nothing it does not understand is accepted. Anything unexpected gives `None`, and the caller
//! parses the whole text instead, which says exactly what is wrong.

use std::io::Read;

/// The top-level object without its interactions (`"interactions": []`), and where each interaction lies.
pub(crate) struct Layout {
    pub head: String,
    /// `(offset, length)` in the file of each element of `interactions`, in order.
    pub spans: Vec<(usize, usize)>,
    /// How many bytes were read.
    pub size: usize,
}

const BUFFER: usize = 1 << 16;

/// Reads `reader` to its end and lays it out; `None` when it is not a JSON object whose `interactions` member is
/// an array of objects (or cannot be read).
pub(crate) fn layout(reader: impl Read) -> Option<Layout> {
    let mut input = Input {
        reader,
        buffer: vec![0; BUFFER],
        start: 0,
        end: 0,
        offset: 0,
    };
    let mut head = String::from("{");
    let mut spans = Vec::new();
    let mut seen_interactions = false;
    input.expect(b'{')?;
    if input.peek_non_space()? == b'}' {
        input.next();
    } else {
        loop {
            input.expect(b'"')?;
            let mut key = vec![b'"'];
            input.copy_string(&mut key)?;
            input.expect(b':')?;
            if head.len() > 1 {
                head.push(',');
            }
            head.push_str(std::str::from_utf8(&key).ok()?);
            head.push(':');
            if key == b"\"interactions\"" && !seen_interactions {
                seen_interactions = true;
                head.push_str("[]");
                input.elements(&mut spans)?;
            } else {
                // A second `interactions`, or another member: parsed with the head (serde says what is wrong).
                let mut value = Vec::new();
                input.copy_value(&mut value)?;
                head.push_str(std::str::from_utf8(&value).ok()?);
            }
            match input.next_non_space()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
    }
    head.push('}');
    // Only white space may follow.
    match input.peek_non_space() {
        None => Some(Layout {
            head,
            spans,
            size: input.offset,
        }),
        Some(_) => None,
    }
}

struct Input<R> {
    reader: R,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// The file offset of `buffer[start]`.
    offset: usize,
}

impl<R: Read> Input<R> {
    /// The buffered bytes, refilled when empty; `None` at the end (or on a read error).
    fn fill(&mut self) -> Option<&[u8]> {
        if self.start == self.end {
            let n = loop {
                match self.reader.read(&mut self.buffer) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => return None,
                }
            };
            if n == 0 {
                return None;
            }
            self.start = 0;
            self.end = n;
        }
        Some(&self.buffer[self.start..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n;
    }

    fn next(&mut self) -> Option<u8> {
        let b = *self.fill()?.first()?;
        self.consume(1);
        Some(b)
    }

    fn peek_non_space(&mut self) -> Option<u8> {
        loop {
            let b = *self.fill()?.first()?;
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.consume(1);
        }
    }

    fn next_non_space(&mut self) -> Option<u8> {
        let b = self.peek_non_space()?;
        self.consume(1);
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next_non_space()? == want).then_some(())
    }

    /// The rest of a string whose opening quote was read, copied with its closing quote into `out` if given.
    fn string(&mut self, mut out: Option<&mut Vec<u8>>) -> Option<()> {
        loop {
            let chunk = self.fill()?;
            // Up to and with the first quote or backslash, if the buffer holds one.
            let (end, stop) = match memchr::memchr2(b'"', b'\\', chunk) {
                None => (chunk.len(), None),
                Some(i) => (i + 1, Some(chunk[i])),
            };
            if let Some(out) = out.as_deref_mut() {
                out.extend_from_slice(&chunk[..end]);
            }
            self.consume(end);
            if stop == Some(b'"') {
                return Some(());
            }
            if stop == Some(b'\\') {
                // The escaped byte, whatever it is, cannot end the string.
                let b = self.next()?;
                if let Some(out) = out.as_deref_mut() {
                    out.push(b);
                }
            }
        }
    }

    fn copy_string(&mut self, out: &mut Vec<u8>) -> Option<()> {
        self.string(Some(out))
    }

    fn skip_string(&mut self) -> Option<()> {
        self.string(None)
    }

    /// Skips the rest of an object whose `{` was read: braces outside strings are all that decide where it ends.
    fn skip_object(&mut self) -> Option<()> {
        let mut depth = 1usize;
        loop {
            let chunk = self.fill()?;
            match memchr::memchr3(b'"', b'{', b'}', chunk) {
                None => {
                    let n = chunk.len();
                    self.consume(n);
                }
                Some(i) => {
                    let b = chunk[i];
                    self.consume(i + 1);
                    match b {
                        b'"' => self.skip_string()?,
                        b'{' => depth += 1,
                        _ => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                    }
                }
            }
        }
    }

    /// The elements of the array that starts here, each an object: their spans, and the commas between them.
    fn elements(&mut self, spans: &mut Vec<(usize, usize)>) -> Option<()> {
        self.expect(b'[')?;
        if self.peek_non_space()? == b']' {
            self.consume(1);
            return Some(());
        }
        loop {
            self.expect(b'{')?;
            let start = self.offset - 1;
            self.skip_object()?;
            spans.push((start, self.offset - start));
            match self.next_non_space()? {
                b',' => continue,
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A whole value (a small one: a member other than `interactions`), copied as it stands.
    fn copy_value(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let first = self.peek_non_space()?;
        self.consume(1);
        out.push(first);
        match first {
            b'"' => self.copy_string(out),
            b'{' | b'[' => {
                let mut depth = 1usize;
                while depth > 0 {
                    let b = self.next()?;
                    out.push(b);
                    match b {
                        b'"' => self.copy_string(out)?,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth -= 1,
                        _ => {}
                    }
                }
                Some(())
            }
            // A number or a literal: up to the next delimiter.
            _ => {
                while let Some(&b) = self.fill().and_then(|chunk| chunk.first()) {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.consume(1);
                    out.push(b);
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
