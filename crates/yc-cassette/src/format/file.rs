//! An appending cassette file: each interaction is serialised once, when it is added, and every save writes the
//! whole file (atomically, as [`Cassette::save`] does) from the cached text.
//!
//! The recorder saves after every burst of completed calls; re-serialising thousands of interactions each time
//! cost tens of milliseconds of CPU per save. Here a save is a copy of cached bytes, and for what a recorder
//! journaled, of the journal's lines with their layout put back (`pretty_from_line`): a recording holds no text
//! per call, only how many lines the journal has and where they end (each call's pretty text was 1.5 KB of fresh
//! memory, 240 MB at 160k calls). The text must stay byte-identical to [`Cassette::to_json_string`]:
//! this module must not have a layout of its own.

use std::io::{self, BufRead as _, Read as _, Seek as _, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::Error;
use crate::model::{Cassette, Interaction};

/// How an empty interaction list ends the file; the text before it is the head of every save.
const EMPTY_TAIL: &str = "[]\n}\n";
/// Interactions sit at depth 2 of the file (the top-level object, then the array).
const ITEM_INDENT: &str = "    ";

/// A cassette on disk that grows by appending.
///
/// Holds the pretty JSON of the header (version, meta, matching) and of each interaction it was given, not the
/// interactions themselves; interactions a recorder journaled are the journal's lines, read back at each save. The
/// file text is their concatenation.
#[derive(Debug)]
pub struct CassetteFile {
    path: PathBuf,
    /// Everything up to and including `"interactions": `.
    head: Arc<str>,
    /// Each interaction's text, indented for its place in the array, without the separating `,\n`; shared with
    /// snapshots.
    items: Vec<Arc<str>>,
    /// The interactions after `items`, if a journal holds them.
    journal: Option<JournalLines>,
    /// Interactions added since the last successful save.
    unsaved: usize,
}

/// The lines of a journal that are interactions of the file: `count` of them from byte `start` on, ending at `end`.
#[derive(Clone, Debug)]
struct JournalLines {
    path: PathBuf,
    start: u64,
    end: u64,
    count: usize,
}

impl CassetteFile {
    /// Lays out `cassette` (its interactions too, as when appending to an existing file) without touching the disk.
    pub fn new(path: &Path, cassette: &Cassette) -> Result<CassetteFile, Error> {
        let header = Cassette {
            version: cassette.version,
            meta: cassette.meta.clone(),
            matching: cassette.matching.clone(),
            interactions: Vec::new(),
        };
        let text = header.to_json_string();
        let Some(head) = text.strip_suffix(EMPTY_TAIL) else {
            // Only a change to the model's field order could get here; the tests pin the layout.
            return Err(Error::Io {
                action: "lay out",
                path: path.to_owned(),
                source: std::io::Error::other("`interactions` is not the last field of the file"),
            });
        };
        let mut file = CassetteFile {
            path: path.to_owned(),
            head: Arc::from(head),
            items: Vec::with_capacity(cassette.interactions.len()),
            journal: None,
            unsaved: 0,
        };
        for interaction in &cassette.interactions {
            let _ = file.push(interaction);
        }
        file.unsaved = 0;
        Ok(file)
    }

    /// [`CassetteFile::new`], then writes the file at once.
    pub fn create(path: &Path, cassette: &Cassette) -> Result<CassetteFile, Error> {
        let mut file = CassetteFile::new(path, cassette)?;
        file.save()?;
        Ok(file)
    }

    /// Adds one interaction and saves: serialises only that one.
    pub fn append(&mut self, interaction: &Interaction) -> Result<(), Error> {
        let _ = self.push(interaction);
        self.save()
    }

    /// Adds one interaction in memory; the next [`CassetteFile::save`] writes it. For batches: push each, save once.
    /// Not after [`CassetteFile::follow_journal`]: the journal's lines come after every pushed interaction.
    /// Returns its text.
    pub fn push(&mut self, interaction: &Interaction) -> &str {
        let item = CassetteFile::item(interaction);
        self.items.push(item);
        self.unsaved += 1;
        self.items.last().map_or("", |item| item)
    }

    /// An interaction's text as the file holds it: pretty, indented for its place in the array.
    pub fn item(interaction: &Interaction) -> Arc<str> {
        let mut item = Vec::with_capacity(2048);
        item.extend_from_slice(ITEM_INDENT.as_bytes());
        let mut serializer =
            serde_json::Serializer::with_formatter(&mut item, ItemFormatter::default());
        // Serialising plain data with string keys into memory cannot fail.
        let _ = serde::Serialize::serialize(interaction, &mut serializer);
        Arc::from(String::from_utf8(item).unwrap_or_default())
    }

    /// An interaction's journal line, newline-terminated: its text in the file without the layout (the newlines
    /// and the indentation after them), as [`crate::journal::push_line_from_pretty`] defines it, serialised
    /// straight (the formatter flags its layout, which goes nowhere), so `pretty_from_line` gives the text back.
    /// Needs no file: a recorder serialises calls in parallel.
    pub fn line(interaction: &Interaction) -> Vec<u8> {
        let layout = std::cell::Cell::new(false);
        let mut line = LineOnly {
            line: Vec::with_capacity(1024),
            layout: &layout,
        };
        let formatter = ItemFormatter {
            layout: Some(&layout),
            ..ItemFormatter::default()
        };
        let mut serializer = serde_json::Serializer::with_formatter(&mut line, formatter);
        // As above: writing into memory cannot fail.
        let _ = serde::Serialize::serialize(interaction, &mut serializer);
        let mut line = line.line;
        line.push(b'\n');
        line
    }

    /// From now on the interactions after the ones pushed are the lines of the journal at `journal`, from byte
    /// `start` on (after its header), each counted by [`CassetteFile::journaled`] once it is written there.
    pub fn follow_journal(&mut self, journal: &Path, start: u64) {
        self.journal = Some(JournalLines {
            path: journal.to_owned(),
            start,
            end: start,
            count: 0,
        });
    }

    /// `lines` more lines are in the followed journal, whose whole lines now end at byte `end`. Ignored when no
    /// journal is followed.
    pub fn journaled(&mut self, end: u64, lines: usize) {
        if let Some(journal) = &mut self.journal {
            journal.end = end;
            journal.count += lines;
            self.unsaved += lines;
        }
    }

    /// The file as it stands, to be written by another thread; shares the text, copies nothing. The interactions
    /// count as saved from here: a snapshot whose save fails is followed by another.
    pub fn snapshot(&mut self) -> CassetteSnapshot {
        self.unsaved = 0;
        CassetteSnapshot {
            path: self.path.clone(),
            head: Arc::clone(&self.head),
            items: self.items.clone(),
            journal: self.journal.clone(),
        }
    }

    /// Writes the whole file from the cached text and the journal: temporary file in the same directory, fsync,
    /// rename. On failure the interactions stay and the next save writes them.
    pub fn save(&mut self) -> Result<(), Error> {
        self.snapshot()
            .save()
            .inspect_err(|_| self.unsaved = self.len())
    }

    /// The file text, as [`CassetteFile::save`] writes it.
    pub fn to_json_string(&self) -> Result<String, Error> {
        let mut text = Vec::new();
        write_file(&mut text, &self.head, &self.items, self.journal.as_ref())
            .map_err(|source| self.io_error(source))?;
        Ok(String::from_utf8(text).unwrap_or_default())
    }

    fn io_error(&self, source: io::Error) -> Error {
        io_error(&self.path, self.journal.as_ref(), source)
    }

    /// Interactions in the file, saved or not.
    pub fn len(&self) -> usize {
        self.items.len() + self.journal.as_ref().map_or(0, |j| j.count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Interactions added since the last successful save.
    pub fn unsaved(&self) -> usize {
        self.unsaved
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// serde_json's pretty layout (two-space indents, `": "`), starting at the depth of an interaction in the file, so the
/// text is byte-identical to the slice of [`Cassette::to_json_string`] it stands for.
#[derive(Debug)]
struct ItemFormatter<'a> {
    depth: usize,
    has_value: bool,
    /// Writing into [`Both`]: raised while the layout (a newline and its indentation) is written.
    layout: Option<&'a std::cell::Cell<bool>>,
}

impl Default for ItemFormatter<'_> {
    fn default() -> Self {
        ItemFormatter {
            depth: 2,
            has_value: false,
            layout: None,
        }
    }
}

impl ItemFormatter<'_> {
    fn newline<W: ?Sized + Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        self.line_break(writer)
    }

    /// A newline and the indentation of the current depth: the layout the journal line goes without.
    fn line_break<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        if let Some(layout) = self.layout {
            layout.set(true);
        }
        let written = writer
            .write_all(b"\n")
            .and_then(|()| indent(writer, self.depth));
        if let Some(layout) = self.layout {
            layout.set(false);
        }
        written
    }

    /// An array or object begins with `bracket`, one level deeper.
    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    /// An array or object ends with `bracket`, on a line of its own unless it is empty.
    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line_break(writer)?;
        }
        writer.write_all(bracket)
    }

    fn value_written(&mut self) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

fn indent<W: ?Sized + Write>(writer: &mut W, depth: usize) -> io::Result<()> {
    for _ in 0..depth {
        writer.write_all(b"  ")?;
    }
    Ok(())
}

/// Where [`CassetteFile::line`] writes: everything but the layout.
struct LineOnly<'a> {
    line: Vec<u8>,
    layout: &'a std::cell::Cell<bool>,
}

impl Write for LineOnly<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if !self.layout.get() {
            self.line.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A journal line (without its newline) as the file lays it out: the inverse of the layout's removal
/// ([`crate::journal::push_line_from_pretty`]), given what [`ItemFormatter`] writes, which a test holds it to: a
/// newline and the depth's indentation after each `,` and each opening bracket, and before each closing one,
/// except inside strings and in `{}` and `[]`.
pub(crate) fn pretty_from_line(line: &[u8], out: &mut Vec<u8>) {
    let mut depth = 2;
    out.extend_from_slice(ITEM_INDENT.as_bytes());
    let mut at = 0;
    while at < line.len() {
        let byte = line[at];
        match byte {
            b'"' => {
                // To the closing quote, over escapes (a backslash escapes the next byte, whatever it is).
                let mut end = at + 1;
                loop {
                    match line
                        .get(end..)
                        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
                    {
                        Some(i) if line[end + i] == b'\\' => end += i + 2,
                        Some(i) => {
                            end += i + 1;
                            break;
                        }
                        None => {
                            end = line.len();
                            break;
                        }
                    }
                }
                let end = end.min(line.len());
                out.extend_from_slice(&line[at..end]);
                at = end;
                continue;
            }
            b'{' | b'[' => {
                let close = if byte == b'{' { b'}' } else { b']' };
                if line.get(at + 1) == Some(&close) {
                    out.extend_from_slice(&line[at..at + 2]);
                    at += 2;
                    continue;
                }
                out.push(byte);
                depth += 1;
                line_break(out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                line_break(out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(b',');
                line_break(out, depth);
            }
            _ => out.push(byte),
        }
        at += 1;
    }
}

fn line_break(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    for _ in 0..depth {
        out.extend_from_slice(b"  ");
    }
}

/// Arrays and objects are laid out alike; only their brackets and the `": "` after a key differ.
impl serde_json::ser::Formatter for ItemFormatter<'_> {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.newline(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.value_written()
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.newline(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.value_written()
    }
}

/// A cassette file's text at one moment ([`CassetteFile::snapshot`]), to be written elsewhere.
#[derive(Debug)]
pub struct CassetteSnapshot {
    path: PathBuf,
    head: Arc<str>,
    items: Vec<Arc<str>>,
    journal: Option<JournalLines>,
}

impl CassetteSnapshot {
    /// Writes the file atomically, as [`CassetteFile::save`] does.
    pub fn save(&self) -> Result<(), Error> {
        let journal = self.journal.as_ref();
        crate::store::write_atomic_with(&self.path, |file| {
            let mut out = io::BufWriter::with_capacity(1 << 16, file);
            write_file(&mut out, &self.head, &self.items, journal)?;
            out.flush()
        })
        .map_err(|error| match error {
            // A journal that cannot be read back is named as such, not as the cassette.
            Error::Io { source, .. } if source.kind() == io::ErrorKind::InvalidData => {
                io_error(&self.path, journal, source)
            }
            error => error,
        })
    }

    /// Interactions in it.
    pub fn len(&self) -> usize {
        self.items.len() + self.journal.as_ref().map_or(0, |j| j.count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The file: the head, the items, then the journal's lines laid out, read one at a time.
fn write_file(
    out: &mut impl Write,
    head: &str,
    items: &[Arc<str>],
    journal: Option<&JournalLines>,
) -> io::Result<()> {
    out.write_all(head.as_bytes())?;
    let journaled = journal.map_or(0, |j| j.count);
    if items.is_empty() && journaled == 0 {
        return out.write_all(EMPTY_TAIL.as_bytes());
    }
    out.write_all(b"[\n")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        out.write_all(item.as_bytes())?;
    }
    if let Some(journal) = journal.filter(|j| j.count > 0) {
        let mut file = std::fs::File::open(&journal.path)?;
        file.seek(io::SeekFrom::Start(journal.start))?;
        let mut reader =
            io::BufReader::with_capacity(1 << 16, file.take(journal.end - journal.start));
        let (mut line, mut pretty) = (Vec::new(), Vec::new());
        for i in 0..journal.count {
            line.clear();
            reader.read_until(b'\n', &mut line)?;
            let Some(text) = line.strip_suffix(b"\n") else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("it ends before its {} lines", journal.count),
                ));
            };
            if i > 0 || !items.is_empty() {
                out.write_all(b",\n")?;
            }
            pretty.clear();
            pretty_from_line(text, &mut pretty);
            out.write_all(&pretty)?;
        }
    }
    out.write_all(b"\n  ]\n}\n")
}

/// An I/O error of a save, naming the journal it was read from when there is one.
fn io_error(path: &Path, journal: Option<&JournalLines>, source: io::Error) -> Error {
    Error::Io {
        action: "read the journal lines of",
        path: journal.map_or_else(|| path.to_owned(), |j| j.path.clone()),
        source,
    }
}

#[cfg(test)]
mod tests;
