//! An appending cassette file: each interaction is serialised once, when it is added, and every save writes the
//! whole file (atomically, as [`Cassette::save`] does) from the cached text.
//!
//! The recorder saves after every burst of completed calls; re-serialising thousands of interactions each time
//! cost tens of milliseconds of CPU per save. Here a save is a copy of cached bytes. The text must stay
//! byte-identical to [`Cassette::to_json_string`]: this module must not have a layout of its own.

use std::io::{self, Write};
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
/// Holds the pretty JSON of the header (version, meta, matching) and of each interaction, not the interactions
/// themselves: the file text is their concatenation.
#[derive(Debug)]
pub struct CassetteFile {
    path: PathBuf,
    /// Everything up to and including `"interactions": `.
    head: Arc<str>,
    /// Each interaction's text, indented for its place in the array, without the separating `,\n`; shared with
    /// snapshots.
    items: Vec<Arc<str>>,
    /// Interactions added since the last successful save.
    unsaved: usize,
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
    /// Returns its text, for the journal ([`crate::journal::push_line_from_pretty`]).
    pub fn push(&mut self, interaction: &Interaction) -> &str {
        self.push_item(CassetteFile::item(interaction));
        self.items.last().map_or("", |item| item)
    }

    /// An interaction's text as [`CassetteFile::push_item`] takes it: pretty, indented for its place in the file.
    /// Needs no file, so a recorder serialises calls in parallel and only pushes under its lock.
    pub fn item(interaction: &Interaction) -> Arc<str> {
        let mut item = Vec::with_capacity(2048);
        item.extend_from_slice(ITEM_INDENT.as_bytes());
        let mut serializer =
            serde_json::Serializer::with_formatter(&mut item, ItemFormatter::default());
        // Serialising plain data with string keys into memory cannot fail.
        let _ = serde::Serialize::serialize(interaction, &mut serializer);
        Arc::from(String::from_utf8(item).unwrap_or_default())
    }

    /// [`CassetteFile::item`] and the interaction's journal line (that text without its layout, newline-terminated,
    /// as [`crate::journal::push_line_from_pretty`] makes it) from one serialisation: stripping the layout off
    /// afterwards cost the recorder as much as serialising.
    pub fn item_and_line(interaction: &Interaction) -> (Arc<str>, Vec<u8>) {
        let layout = std::cell::Cell::new(false);
        let mut both = Both {
            item: Vec::with_capacity(2048),
            line: Vec::with_capacity(1024),
            layout: &layout,
        };
        both.item.extend_from_slice(ITEM_INDENT.as_bytes());
        let formatter = ItemFormatter {
            layout: Some(&layout),
            ..ItemFormatter::default()
        };
        let mut serializer = serde_json::Serializer::with_formatter(&mut both, formatter);
        // As above: writing into memory cannot fail.
        let _ = serde::Serialize::serialize(interaction, &mut serializer);
        let Both { item, mut line, .. } = both;
        line.push(b'\n');
        (Arc::from(String::from_utf8(item).unwrap_or_default()), line)
    }

    /// Adds an interaction's text from [`CassetteFile::item`].
    pub fn push_item(&mut self, item: Arc<str>) {
        self.items.push(item);
        self.unsaved += 1;
    }

    /// The file as it stands, to be written by another thread; shares the text, copies nothing. The interactions
    /// count as saved from here: a snapshot whose save fails is followed by another.
    pub fn snapshot(&mut self) -> CassetteSnapshot {
        self.unsaved = 0;
        CassetteSnapshot {
            path: self.path.clone(),
            head: Arc::clone(&self.head),
            items: self.items.clone(),
        }
    }

    /// Writes the whole file from the cached text: temporary file in the same directory, fsync, rename.
    /// On failure the interactions stay cached and the next save writes them.
    pub fn save(&mut self) -> Result<(), Error> {
        write_items(&self.path, &self.head, &self.items)?;
        self.unsaved = 0;
        Ok(())
    }

    /// The file text, as [`CassetteFile::save`] writes it.
    pub fn to_json_string(&self) -> String {
        let mut text = self.head.to_string();
        if self.items.is_empty() {
            text.push_str(EMPTY_TAIL);
            return text;
        }
        text.push_str("[\n");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                text.push_str(",\n");
            }
            text.push_str(item);
        }
        text.push_str("\n  ]\n}\n");
        text
    }

    /// Interactions in the file, saved or not.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
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

/// The two texts [`CassetteFile::item_and_line`] writes at once: everything goes to both, except the layout, which
/// goes to the item only.
struct Both<'a> {
    item: Vec<u8>,
    line: Vec<u8>,
    layout: &'a std::cell::Cell<bool>,
}

impl Write for Both<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.item.extend_from_slice(bytes);
        if !self.layout.get() {
            self.line.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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
}

impl CassetteSnapshot {
    /// Writes the file atomically, as [`CassetteFile::save`] does.
    pub fn save(&self) -> Result<(), Error> {
        write_items(&self.path, &self.head, &self.items)
    }

    /// Interactions in it.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn write_items(path: &Path, head: &str, items: &[Arc<str>]) -> Result<(), Error> {
    let mut pieces: Vec<&[u8]> = Vec::with_capacity(items.len() * 2 + 2);
    pieces.push(head.as_bytes());
    if items.is_empty() {
        pieces.push(EMPTY_TAIL.as_bytes());
    } else {
        pieces.push(b"[\n");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                pieces.push(b",\n");
            }
            pieces.push(item.as_bytes());
        }
        pieces.push(b"\n  ]\n}\n");
    }
    crate::store::write_atomic(path, &pieces)
}

#[cfg(test)]
mod tests;
