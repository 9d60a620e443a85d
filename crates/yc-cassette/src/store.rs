//! A cassette's files on disk: the pretty file `NAME.json`, the journal beside it (`NAME.json.journal`, see
//! [`journal`]) and the lock a recorder holds (`NAME.json.lock`, see [`lock`]).
//!
//! Reading is bounded and never hangs: a cassette must be a regular file (a FIFO, a device, a socket or a folder is
//! an error naming it) no larger than a limit ([`DEFAULT_MAX_CASSETTE_SIZE`] unless told). Every reader goes through
//! [`Cassette::open`], which also recovers a journal left by a recording that did not finish and says so
//! ([`Recovery`]); it never writes and never waits for a lock.

pub mod journal;
pub mod lock;

use std::fmt;
use std::io::{IoSlice, Read as _, Write as _};
use std::path::{Path, PathBuf};

use yc_proto::Schema;

use crate::Error;
use crate::format::Keep;
use crate::model::Cassette;
use journal::{Journal, JournalHeader};

/// The largest cassette (and journal) read unless told otherwise: 1 GiB, about half a million interactions.
pub const DEFAULT_MAX_CASSETTE_SIZE: u64 = 1 << 30;

/// `NAME.json.journal` for `NAME.json`.
pub fn journal_path(cassette: &Path) -> PathBuf {
    beside(cassette, "journal")
}

/// `NAME.json.lock` for `NAME.json`.
pub fn lock_path(cassette: &Path) -> PathBuf {
    beside(cassette, "lock")
}

fn beside(cassette: &Path, suffix: &str) -> PathBuf {
    let mut name = cassette.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Reads a whole text file that must be a regular file of at most `max_size` bytes.
pub fn read_text(path: &Path, max_size: u64) -> Result<String, Error> {
    read_all(&mut open_regular(path, max_size)?, path, max_size)
}

/// Opens a file to read that must be a regular file of at most `max_size` bytes.
pub(crate) fn open_regular(path: &Path, max_size: u64) -> Result<std::fs::File, Error> {
    let io = |source| read_error(path, source);
    // Look before opening: opening a FIFO for reading would wait for a writer.
    let metadata = std::fs::metadata(path).map_err(io)?;
    check_regular(path, &metadata)?;
    check_size(path, metadata.len(), max_size)?;
    let file = std::fs::File::open(path).map_err(io)?;
    // The path may have been swapped between the look and the open.
    check_regular(path, &file.metadata().map_err(io)?)?;
    Ok(file)
}

/// The rest of `file` (opened by [`open_regular`]) as text, at most `max_size` bytes of it.
pub(crate) fn read_all(
    file: &mut std::fs::File,
    path: &Path,
    max_size: u64,
) -> Result<String, Error> {
    let size = file.metadata().map_or(0, |m| m.len());
    let mut bytes = Vec::with_capacity(usize::try_from(size.min(max_size)).unwrap_or(0));
    file.take(max_size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| read_error(path, source))?;
    check_size(path, bytes.len() as u64, max_size)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..at]);
        let line = text.matches('\n').count() + 1;
        let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Error::Parse {
            origin: path.display().to_string(),
            line,
            column,
            message: "the file is not UTF-8 text".to_owned(),
        }
    })
}

pub(crate) fn read_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    }
}

/// Writes `pieces` one after the other as the new content of `path`: a temporary file in the same directory
/// (`tempfile`, removed again on any failure), fsync, rename, fsync of the directory, so a reader (or a crash) sees
/// the old file or the new one, never a mix.
pub(crate) fn write_atomic(path: &Path, pieces: &[&[u8]]) -> Result<(), Error> {
    write_atomic_with(path, |file| write_all_vectored(file, pieces))
}

/// [`write_atomic`], the content written by `write` into the temporary file.
pub(crate) fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cassette".to_owned());
    let io = |action: &'static str, p: &Path| {
        let p = p.to_owned();
        move |source| Error::Io {
            action,
            path: p,
            source,
        }
    };
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // What `File::create` gives (before the umask), not tempfile's owner-only default: a cassette is shared data.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut file = builder
        .tempfile_in(dir)
        .map_err(io("create a file in", dir))?;
    write(file.as_file_mut())
        .and_then(|()| file.as_file().sync_all())
        .map_err(io("write", file.path()))?;
    file.persist(path)
        .map_err(|error| io("replace", path)(error.error))?;
    // Make the rename itself durable; not every platform can open a directory, so this is best effort.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes every piece, many per system call.
fn write_all_vectored(file: &mut std::fs::File, pieces: &[&[u8]]) -> std::io::Result<()> {
    // Below the usual IOV_MAX of 1024.
    const BATCH: usize = 512;
    for group in pieces.chunks(BATCH) {
        let mut slices: Vec<IoSlice<'_>> = group
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| IoSlice::new(p))
            .collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            match file.write_vectored(rest) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn check_regular(path: &Path, metadata: &std::fs::Metadata) -> Result<(), Error> {
    if metadata.is_file() {
        return Ok(());
    }
    let kind = file_kind(metadata);
    Err(Error::NotAFile {
        path: path.to_owned(),
        kind,
    })
}

fn check_size(path: &Path, size: u64, limit: u64) -> Result<(), Error> {
    if size > limit {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            size,
            limit,
        });
    }
    Ok(())
}

#[cfg(unix)]
fn file_kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = metadata.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn file_kind(metadata: &std::fs::Metadata) -> &'static str {
    if metadata.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// A cassette as a reader sees it: the file, and what its journal added.
#[derive(Debug)]
pub struct Opened {
    pub cassette: Cassette,
    /// Set when a journal lay beside the file: what was done with it.
    pub recovery: Option<Recovery>,
}

/// What a reader did with a journal it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub journal: PathBuf,
    /// Interactions taken from the journal (not yet in the pretty file).
    pub recovered: usize,
    /// Interactions in the journal that were not used, and why.
    pub ignored: Option<(usize, &'static str)>,
    /// A torn last line (a crash mid-write) was dropped.
    pub torn: bool,
    /// The pid of a recorder holding the cassette's lock right now: the journal is live, not left by a crash.
    pub holder: Option<u32>,
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let journal = self.journal.display();
        let whose = match self.holder {
            Some(pid) => format!("of the recording running as pid {pid}"),
            None => "left by a recording that did not finish".to_owned(),
        };
        match self.ignored {
            Some((n, why)) => write!(
                f,
                "journal `{journal}` ({whose}): {n} interactions ignored: {why}"
            )?,
            None => write!(
                f,
                "journal `{journal}` ({whose}): recovered {} interactions not yet in the cassette",
                self.recovered
            )?,
        }
        if self.torn {
            write!(f, "; dropped a torn last line (a crash mid-write)")?;
        }
        Ok(())
    }
}

/// Why a replace-mode journal is not used while the old cassette exists.
const INTERRUPTED_REPLACE: &str =
    "an interrupted re-recording; the cassette it was to replace is kept";

impl Cassette {
    /// Reads a cassette as every reader should: a regular file of at most `max_size` bytes, plus the interactions
    /// of a journal beside it that the file does not hold yet (a recording killed before it rewrote the file).
    /// A journal alone (killed before the first rewrite) is a cassette too. Never writes, never blocks on a lock.
    /// Messages are checked against `schema`.
    pub fn open(path: &Path, max_size: u64, schema: &Schema) -> Result<Opened, Error> {
        Cassette::open_keeping(path, max_size, Keep::All, schema)
    }

    /// [`Cassette::open`], keeping of each interaction what `keep` says (see [`Cassette::from_json_str_keeping`]).
    pub fn open_keeping(
        path: &Path,
        max_size: u64,
        keep: Keep,
        schema: &Schema,
    ) -> Result<Opened, Error> {
        let journal_path = journal_path(path);
        let journal = match std::fs::symlink_metadata(&journal_path) {
            Ok(_) => Some(Journal::read(&journal_path, max_size, schema)?),
            Err(_) => None,
        };
        let file = match (&journal, std::fs::symlink_metadata(path)) {
            // No file yet: the journal is the whole recording.
            (Some(_), Err(e)) if e.kind() == std::io::ErrorKind::NotFound => None,
            _ => Some(crate::format::load_file(path, max_size, keep, schema, |_, _| ())?.0),
        };
        let Some(journal) = journal else {
            return Ok(Opened {
                cassette: file.unwrap_or_else(|| Cassette::new(Default::default())),
                recovery: None,
            });
        };
        let holder = lock::holder(path);
        let (cassette, recovery) = merge(file, journal, journal_path, holder);
        Ok(Opened {
            cassette,
            recovery: Some(recovery),
        })
    }
}

/// The cassette a journal and the file beside it (if any) stand for.
///
/// The journal's header says how many interactions the file held when the journal was started (`base`); the file
/// may since have been rewritten with some of the journal's lines, so the journal's lines from `file - base` on are
/// the ones to add. A journal of a re-recording (`replace`) is not used while a file exists: that file is the old
/// cassette, kept until the new one is complete.
pub(crate) fn merge(
    file: Option<Cassette>,
    journal: Journal,
    journal_path: PathBuf,
    holder: Option<u32>,
) -> (Cassette, Recovery) {
    let Journal {
        header,
        interactions,
        torn,
    } = journal;
    let mut recovery = Recovery {
        journal: journal_path,
        recovered: 0,
        ignored: None,
        torn,
        holder,
    };
    let lines = interactions.len();
    let mut cassette = match file {
        Some(file) if header.replace => {
            recovery.ignored = Some((lines, INTERRUPTED_REPLACE));
            return (file, recovery);
        }
        Some(file) => file,
        None => from_header(&header),
    };
    let have = cassette.interactions.len();
    let Some(skip) = have.checked_sub(header.base).filter(|&skip| skip <= lines) else {
        recovery.ignored = Some((
            lines,
            "it does not continue this cassette (the file was changed by something else)",
        ));
        return (cassette, recovery);
    };
    cassette
        .interactions
        .extend(interactions.into_iter().skip(skip));
    recovery.recovered = lines - skip;
    (cassette, recovery)
}

fn from_header(header: &JournalHeader) -> Cassette {
    let mut cassette = Cassette::new(header.meta.clone());
    cassette.matching = header.matching.clone();
    cassette
}

#[cfg(test)]
mod tests;
