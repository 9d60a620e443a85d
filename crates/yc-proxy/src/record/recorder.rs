//! The cassette writer as a library: a [`Recorder`] owns one cassette for the length of a recording (its lock, its
//! journal, its digest), and any number of services feed it completed calls through [`RecorderHandle`]s.
//!
//! The semantics every mode builds on:
//! - **durable before complete**: [`RecorderHandle::record`] returns once the interaction (redacted and scanned, on
//!   the calling thread) is in the journal beside the cassette (`NAME.json.journal`), one JSON line, written with
//!   those of the calls ready at the same time in one `write`; from then on it survives the process being killed
//!   (the data is in the kernel once `write` returns; the journal is synced to the disk in the background, batched).
//!   The forwarding service ([`super::Forwarder`]) releases each call's last frame only then;
//! - **no empty cassettes**: nothing is written until the first interaction is journaled; a recording that captured
//!   nothing leaves no file (and, replacing, leaves the old file as it was); [`Summary::wrote_file`] says which;
//! - [`Mode::Replace`]: the old cassette stays intact until [`Recorder::finish`] renames the new one over it. Killed
//!   before that, the old file is still there; the journal of the new recording is marked `replace` and ignored by
//!   every reader while the old file exists (they say so), and the next recorder discards it;
//! - [`Mode::Append`]: the existing interactions stay first and the new ones follow, through the same journal;
//!   [`Recorder::take_existing`] hands them over (as loaded, a crash's journal recovered) for a service that
//!   replays them and records only what is new (`new_episodes`);
//! - **one writer per cassette**: the lock (`NAME.json.lock`, see [`yc_cassette::lock`]) is held from
//!   [`Recorder::open`] to the end; a second writer is refused with the holder's pid. Readers never block.
//! - **crash recovery**: [`Recorder::open`] first folds a journal left by a killed recording into the cassette (under
//!   the lock, logging what it did), so every run starts from one whole file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use yc_cassette::journal::{JOURNAL_VERSION, JournalHeader, WriteFault};
use yc_cassette::wire::Call;
use yc_cassette::{Cassette, CassetteFile, CassetteLock, Interaction, Meta, Redactor};
use yc_proto::Schema;

pub use super::writer::Recorded;
use super::writer::{End, Report, Rewrites, Setup, Writer};
use crate::Error;
use crate::grpc::{DEFAULT_MAX_MESSAGE_SIZE, FrameLimits};

/// What to do with a cassette file that already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Refuse to start if the cassette exists (a file, or a journal left by a crash).
    New,
    /// Record a new cassette and put it in place of the old one only when the recording finishes cleanly
    /// (VCR's `all`).
    Replace,
    /// Keep its interactions and add the new ones after them (today's `--append`, and `new_episodes`).
    Append,
}

/// Everything a [`Recorder`] needs.
#[derive(Clone, Debug)]
pub struct RecorderConfig {
    pub cassette_path: PathBuf,
    pub mode: Mode,
    /// Applied to every interaction before it is stored.
    pub redactor: Redactor,
    /// Types messages are stored as, and an existing cassette is checked against.
    pub schema: Arc<Schema>,
    /// The largest gRPC message decoded for recording.
    pub max_message_size: usize,
    /// The largest cassette (and journal) read when appending or recovering.
    pub max_cassette_size: u64,
    /// `meta.description` of a new cassette.
    pub description: String,
    /// Test seam: journal writes fail past this many bytes, as on a full disk or a read-only folder.
    #[doc(hidden)]
    pub journal_fault: Option<WriteFault>,
}

impl RecorderConfig {
    /// Defaults: a new cassette, built-in redaction, 4 MiB messages, the default size limit.
    pub fn new(cassette_path: impl Into<PathBuf>) -> RecorderConfig {
        RecorderConfig {
            cassette_path: cassette_path.into(),
            mode: Mode::New,
            redactor: Redactor::default(),
            schema: Schema::embedded(),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_cassette_size: yc_cassette::DEFAULT_MAX_CASSETTE_SIZE,
            description: String::new(),
            journal_fault: None,
        }
    }
}

/// How a recording ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Interactions in the cassette, old ones included when appending.
    pub interactions: usize,
    /// Interactions recorded in this run.
    pub recorded: usize,
    /// Whether the cassette file was written: not when nothing was recorded (no file appears, a replaced cassette
    /// stays as it was).
    pub wrote_file: bool,
}

/// One cassette being recorded: its lock, journal and digest (see `writer`). Feed it through
/// [`Recorder::handle`]; end it with [`Recorder::finish`]. Dropped without finishing (and once every handle is
/// gone), it still writes the cassette from the journal, only logging errors, and releases the lock after that, so
/// no second recorder can start before it is done.
#[derive(Debug)]
pub struct Recorder {
    handle: RecorderHandle,
    existing: Option<Cassette>,
}

/// A cheap, cloneable way in to a [`Recorder`], for services.
#[derive(Clone)]
pub struct RecorderHandle {
    writer: Arc<Writer>,
    path: Arc<Path>,
}

impl std::fmt::Debug for RecorderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecorderHandle")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Takes the cassette's lock, recovers a journal a killed recording left, applies `config.mode` and starts the
    /// saver thread. Writes nothing else until the first interaction is journaled.
    pub fn open(config: RecorderConfig) -> Result<Recorder, Error> {
        let path = config.cassette_path.clone();
        let lock = CassetteLock::acquire(&path)?;
        let exists = recover(&path, config.max_cassette_size, &config.schema)?;
        let meta = Meta {
            description: config.description.clone(),
            recorded_with: format!("yc-vcr {}", env!("CARGO_PKG_VERSION")),
        };
        let (start, rewrites, replace) = match config.mode {
            Mode::New if exists => return Err(Error::CassetteExists { path }),
            Mode::New => (Cassette::new(meta), Rewrites::Paced, false),
            Mode::Replace => (
                Cassette::new(meta),
                if exists {
                    Rewrites::AtEnd
                } else {
                    Rewrites::Paced
                },
                exists,
            ),
            Mode::Append if exists => (
                Cassette::open(&path, config.max_cassette_size, &config.schema)?.cassette,
                Rewrites::Paced,
                false,
            ),
            Mode::Append => (Cassette::new(meta), Rewrites::Paced, false),
        };
        let header = JournalHeader {
            version: JOURNAL_VERSION,
            base: start.interactions.len(),
            replace,
            meta: start.meta.clone(),
            matching: start.matching.clone(),
        };
        let writer = Writer::start(Setup {
            file: CassetteFile::new(&path, &start)?,
            redactor: config.redactor,
            schema: config.schema,
            limits: FrameLimits {
                max_message_size: config.max_message_size,
                max_body_size: usize::MAX,
            },
            header,
            journal_path: yc_cassette::journal_path(&path),
            fault: config.journal_fault,
            rewrites,
            lock,
        });
        Ok(Recorder {
            handle: RecorderHandle {
                writer: Arc::new(writer),
                path: Arc::from(path.as_path()),
            },
            existing: Some(start).filter(|_| config.mode == Mode::Append),
        })
    }

    /// A handle for services to feed calls with.
    pub fn handle(&self) -> RecorderHandle {
        self.handle.clone()
    }

    /// The cassette as it was before this run (append mode; empty otherwise), once: for a service that replays
    /// what is recorded and records the rest.
    pub fn take_existing(&mut self) -> Cassette {
        self.existing
            .take()
            .unwrap_or_else(|| Cassette::new(Meta::default()))
    }

    /// Interactions of this run in the journal so far.
    pub fn recorded(&self) -> usize {
        self.handle.recorded()
    }

    /// The journal `write`s of this run so far: one for all the calls that were ready together.
    pub fn journal_writes(&self) -> usize {
        self.handle.journal_writes()
    }

    pub fn path(&self) -> &Path {
        &self.handle.path
    }

    /// Stops without writing the cassette: a replaced cassette keeps its old file (the new recording's journal is
    /// ignored by readers and discarded by the next recorder); otherwise the journal stays for the next reader to
    /// recover. For a test that failed: its recording must not become the cassette.
    pub async fn abandon(self) {
        let _ = self.end(End::Abandon).await;
    }

    /// Writes the cassette from the journal (atomically, over the old one when replacing), removes the journal
    /// and releases the lock. Call it after every service feeding the recorder has stopped; calls recorded later
    /// fail.
    ///
    /// Fails if the journal or the cassette could not be written (a cassette write that failed leaves the journal,
    /// so nothing journaled is lost), or if a secret survived redaction in some interaction (that interaction was
    /// left out; the error says where the secret was).
    pub async fn finish(self) -> Result<Summary, Error> {
        let path = self.handle.path.to_path_buf();
        let report = self.end(End::Finish).await?;
        if !report.secrets.is_empty() {
            return Err(Error::SecretsSurvived {
                path,
                findings: report.secrets.join("; "),
            });
        }
        if let Some(message) = report.write_error {
            return Err(Error::CassetteWrite { path, message });
        }
        Ok(Summary {
            interactions: report.interactions,
            recorded: report.recorded,
            wrote_file: report.wrote_file,
        })
    }

    /// Ends the writer off the runtime: writing the cassette blocks on the disk.
    async fn end(self, end: End) -> Result<Report, Error> {
        let writer = Arc::clone(&self.handle.writer);
        tokio::task::spawn_blocking(move || writer.end(end))
            .await
            .map_err(|error| Error::CassetteWrite {
                path: self.handle.path.to_path_buf(),
                message: format!("the cassette writer failed: {error}"),
            })
    }
}

impl RecorderHandle {
    /// Records one finished interaction (it is redacted and scanned here first); returns once it is in the
    /// journal.
    pub async fn record(&self, interaction: Interaction) -> Result<Recorded, Error> {
        self.answer(self.writer.record(interaction).await)
    }

    /// Records a call as it came off the wire, on the calling thread; returns once it is in the journal (or
    /// deliberately left out).
    pub(crate) async fn record_call(&self, call: Call) -> Result<Recorded, Error> {
        self.answer(self.writer.record_call(call).await)
    }

    fn answer(&self, result: Result<Recorded, String>) -> Result<Recorded, Error> {
        result.map_err(|message| Error::CassetteWrite {
            path: self.path.to_path_buf(),
            message,
        })
    }

    /// Interactions of this run in the journal so far.
    pub fn recorded(&self) -> usize {
        self.writer.recorded()
    }

    /// The journal `write`s of this run so far: one for all the calls that were ready together.
    pub fn journal_writes(&self) -> usize {
        self.writer.journal_writes()
    }
}

/// Under the lock: folds a journal a killed recording left into the cassette file (or discards it, for an
/// interrupted re-recording whose old file is kept), logging what it did; says whether the cassette exists.
fn recover(path: &Path, max_size: u64, schema: &Schema) -> Result<bool, Error> {
    let journal = yc_cassette::journal_path(path);
    let journal_exists = std::fs::symlink_metadata(&journal).is_ok();
    if !journal_exists {
        return Ok(std::fs::symlink_metadata(path).is_ok());
    }
    let opened = Cassette::open(path, max_size, schema)?;
    let file_exists = std::fs::symlink_metadata(path).is_ok();
    if let Some(recovery) = &opened.recovery {
        tracing::warn!(cassette = %path.display(), "{recovery}");
        if recovery.recovered > 0 {
            opened.cassette.save(path)?;
            tracing::warn!(cassette = %path.display(), interactions = opened.cassette.interactions.len(), "recovered cassette written");
        }
    }
    std::fs::remove_file(&journal).map_err(|source| yc_cassette::Error::Io {
        action: "remove",
        path: journal.clone(),
        source,
    })?;
    Ok(file_exists || !opened.cassette.interactions.is_empty())
}
