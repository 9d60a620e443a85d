//! The journal: a write-ahead log of a recording, one JSON line per completed interaction, beside the cassette.
//!
//! A recorder appends each interaction (already redacted and scanned) before the client sees the call complete, so
//! a recording killed at any moment keeps every call its clients saw finish: the data is in the kernel once `write`
//! returns. The first line is a [`JournalHeader`]; every other line is one [`Interaction`] as compact JSON.
//! Lines only ever grow at the end; a crash mid-write can leave a torn last line, which readers drop with a note.
//! This module knows the format and does the file IO; when to write, sync or rewrite the cassette is the
//! recorder's business.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yc_proto::Schema;

use crate::Error;
use crate::model::{Interaction, MatchRules, Meta};

/// The version of the journal format.
pub const JOURNAL_VERSION: u32 = 1;

/// The first line of a journal: what cassette the lines continue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalHeader {
    #[serde(rename = "yc_vcr_journal")]
    pub version: u32,
    /// Interactions in the cassette file when the journal was started; line `1 + i` is interaction `base + i`.
    pub base: usize,
    /// The journal re-records a cassette that exists: it replaces that file only when the recording finishes.
    #[serde(default)]
    pub replace: bool,
    /// For a cassette that has no file yet.
    #[serde(default)]
    pub meta: Meta,
    #[serde(default)]
    pub matching: MatchRules,
}

/// A journal as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Journal {
    pub header: JournalHeader,
    pub interactions: Vec<Interaction>,
    /// The last line had no newline (a crash mid-write) and was dropped.
    pub torn: bool,
}

impl Journal {
    /// Reads a journal: a regular file of at most `max_size` bytes.
    pub fn read(path: &Path, max_size: u64, schema: &Schema) -> Result<Journal, Error> {
        let text = super::read_text(path, max_size)?;
        Journal::parse(&text, &path.display().to_string(), schema)
    }

    /// Parses journal text; `origin` names it in errors. Only a torn last line is forgiven: any other line that does
    /// not parse is an error with its line and column.
    pub fn parse(text: &str, origin: &str, schema: &Schema) -> Result<Journal, Error> {
        let (whole, torn) = match text.rfind('\n') {
            Some(end) => (&text[..=end], end + 1 < text.len()),
            None => ("", !text.is_empty()),
        };
        let mut lines = whole.lines();
        let Some(first) = lines.next() else {
            return Ok(Journal {
                header: JournalHeader::default(),
                interactions: Vec::new(),
                torn,
            });
        };
        let error = |line: usize, e: &serde_json::Error| Error::Parse {
            origin: origin.to_owned(),
            line,
            column: e.column().max(1),
            message: crate::format::strip_position(&e.to_string()),
        };
        let header: JournalHeader = serde_json::from_str(first).map_err(|e| error(1, &e))?;
        if header.version != JOURNAL_VERSION {
            return Err(Error::Version {
                origin: origin.to_owned(),
                line: 1,
                column: 1,
                found: header.version.to_string(),
                expected: JOURNAL_VERSION,
            });
        }
        let mut interactions = Vec::new();
        for (i, line) in lines.enumerate() {
            let interaction: Interaction =
                serde_json::from_str(line).map_err(|e| error(i + 2, &e))?;
            crate::format::check_interaction(&interaction, schema).map_err(|message| {
                Error::Invalid {
                    origin: origin.to_owned(),
                    interaction: header.base + i,
                    line: Some(i + 2),
                    message,
                }
            })?;
            interactions.push(interaction);
        }
        Ok(Journal {
            header,
            interactions,
            torn,
        })
    }
}

/// The header line, with its newline.
pub fn header_line(header: &JournalHeader) -> Vec<u8> {
    // Serialising plain data with string keys cannot fail.
    let mut line = serde_json::to_vec(header).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Appends the journal line of an interaction to `out`, from its pretty text ([`crate::CassetteFile::item`]): JSON
/// strings escape their newlines, so every newline and the indentation after it are layout and can go. This defines
/// the line; the recorder serialises it directly ([`crate::CassetteFile::line`]) and tests hold that, and the
/// layout's restoration, to this.
pub fn push_line_from_pretty(pretty: &str, out: &mut Vec<u8>) {
    let bytes = pretty.trim_start_matches(' ').as_bytes();
    out.reserve(bytes.len() + 1);
    let mut rest = bytes;
    while let Some(at) = memchr::memchr(b'\n', rest) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at + 1..];
        let indent = rest.iter().take_while(|&&b| b == b' ').count();
        rest = &rest[indent..];
    }
    out.extend_from_slice(rest);
    out.push(b'\n');
}

/// An injected write failure, for tests of a full disk or a read-only folder: writes past `after_bytes` of the
/// journal store what fits and then fail with `kind`, as a full disk does.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteFault {
    pub after_bytes: u64,
    pub kind: std::io::ErrorKind,
}

/// A journal being written. Appends go to the end with one `write` per batch; a failed append is cut back, so the
/// file always ends on a whole line (or on a torn one only when the process dies mid-write).
#[derive(Debug)]
pub struct JournalWriter {
    file: std::fs::File,
    path: PathBuf,
    /// Bytes of whole lines in the file.
    len: u64,
    /// The header, written in front of the first append.
    header: Option<Vec<u8>>,
    header_len: u64,
    fault: Option<WriteFault>,
}

impl JournalWriter {
    /// Creates (or empties) the journal at `path`. Nothing is written until the first append.
    pub fn create(
        path: &Path,
        header: &JournalHeader,
        fault: Option<WriteFault>,
    ) -> Result<JournalWriter, Error> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|source| Error::Io {
                action: "create",
                path: path.to_owned(),
                source,
            })?;
        let header = header_line(header);
        Ok(JournalWriter {
            file,
            path: path.to_owned(),
            len: 0,
            header_len: header.len() as u64,
            header: Some(header),
            fault,
        })
    }

    /// Appends whole lines with one write (the header too, before the first). On failure the file is cut back to
    /// its last whole line and the lines are not in it.
    pub fn append(&mut self, lines: &[u8]) -> Result<(), Error> {
        let header = self.header.take();
        let written = match &header {
            Some(header) => {
                let mut both = Vec::with_capacity(header.len() + lines.len());
                both.extend_from_slice(header);
                both.extend_from_slice(lines);
                self.write(&both)
            }
            None => self.write(lines),
        };
        match written {
            Ok(n) => {
                self.len += n;
                Ok(())
            }
            Err(source) => {
                self.header = header;
                // Cut a partial write back to the last whole line; if even that fails, later lines would follow a
                // torn one, so every later append fails too.
                let cut = self.file.set_len(self.len).and_then(|()| {
                    use std::io::Seek as _;
                    self.file.seek(std::io::SeekFrom::Start(self.len)).map(drop)
                });
                if let Err(cut) = cut {
                    self.fault = Some(WriteFault {
                        after_bytes: self.len,
                        kind: cut.kind(),
                    });
                }
                Err(Error::Io {
                    action: "append to",
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<u64> {
        if let Some(fault) = self.fault {
            let room =
                usize::try_from(fault.after_bytes.saturating_sub(self.len)).unwrap_or(usize::MAX);
            if data.len() > room {
                self.file.write_all(&data[..room])?;
                return Err(fault.kind.into());
            }
        }
        self.file.write_all(data)?;
        Ok(data.len() as u64)
    }

    /// A second handle on the file, for syncing it to the disk from another thread.
    pub fn sync_handle(&self) -> Result<std::fs::File, Error> {
        self.file.try_clone().map_err(|source| Error::Io {
            action: "open",
            path: self.path.clone(),
            source,
        })
    }

    /// Whether anything has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of whole lines in the file, the header's included.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Where the first interaction's line starts: after the header.
    pub fn lines_start(&self) -> u64 {
        self.header_len
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
