//! The one thread that owns the cassette: it turns finished calls into interactions ([`yc_cassette::wire`]),
//! redacts them, checks that no secret shape survived, and appends them in completion order to the journal
//! (`NAME.json.journal`) with one `write` per batch, then acknowledges each call, so that the call's last frame
//! reaches its client only once the call is in the journal (see [`super::tee`]).
//!
//! The pretty cassette is the journal's digest: each interaction's pretty text is kept ([`CassetteFile`]), and a
//! second thread (the saver, [`Saver`]) rewrites the file from a snapshot of it when the writer is idle and, under a
//! steady stream of calls, each time the cassette has grown fourfold (so the rewrites cost O(1) per call, amortised), and syncs the journal to the disk in the background. Neither waits for the other: a call's
//! acknowledgement never waits for a rewrite or an fsync.
//! It never writes an interaction in which the secret scan still finds something: that one is left out, and the
//! error (with where the secret is) is reported at shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use yc_cassette::journal::{self, JournalHeader, JournalWriter, WriteFault};
use yc_cassette::wire::{self, Call};
use yc_cassette::{CassetteFile, CassetteSnapshot, Interaction, Redactor};
use yc_proto::Schema;

use crate::grpc::FrameLimits;

/// What became of one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// In the journal: it survives the recorder being killed from now on.
    Journaled,
    /// Not recorded, deliberately: it could not be (a body over the limit, bad framing) or a secret survived
    /// redaction in it; the log says which.
    Skipped,
}

/// The answer to one call: `Err` says why it could not be written.
pub(crate) type Ack = oneshot::Sender<Result<Recorded, String>>;

pub(crate) enum Command {
    Record(Box<Call>, Ack),
    Interaction(Box<Interaction>, Ack),
    /// Write what is pending, rewrite the cassette, remove the journal and stop.
    Close,
    /// Stop without rewriting the cassette: what is journaled stays in the journal, for the next reader to recover
    /// (or, replacing, to ignore while the old file exists).
    Abandon,
}

/// What the writer reports when it stops.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Interactions in the cassette (old ones included when appending).
    pub interactions: usize,
    /// Interactions recorded in this run.
    pub recorded: usize,
    /// Whether the cassette file was written (nothing is when nothing was recorded).
    pub wrote_file: bool,
    /// Interactions left out because a secret survived redaction, with where.
    pub secrets: Vec<String>,
    /// The first error writing the journal or the cassette, if any.
    pub write_error: Option<String>,
}

/// Where the pretty cassette may be written while recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rewrites {
    /// Whenever the policy says so.
    Paced,
    /// Only at the end: the file at the path is the old cassette, replaced only when the new one is complete.
    AtEnd,
}

pub(crate) struct Writer {
    pub file: CassetteFile,
    pub redactor: Redactor,
    pub schema: Arc<Schema>,
    pub limits: FrameLimits,
    pub header: JournalHeader,
    pub journal_path: std::path::PathBuf,
    pub fault: Option<WriteFault>,
    pub rewrites: Rewrites,
    /// Held until the thread ends, after the last write.
    pub lock: yc_cassette::CassetteLock,
    /// Interactions of this run in the journal so far; read by [`super::Recorder::recorded`].
    pub written: Arc<AtomicUsize>,
}

/// How long without a call before the writer rewrites the cassette from the journal.
const IDLE: Duration = Duration::from_millis(200);
/// The most calls in one journal write; a bound on how long the first of them waits.
const MAX_BATCH: usize = 256;

impl Writer {
    /// Runs on a thread of its own (decoding, redaction and the file are CPU and disk work that must not stall the
    /// runtime): waits for a call, takes every call that has completed (up to [`MAX_BATCH`]), journals them with one
    /// write and acknowledges them; repeats until closed or until every sender is gone, then writes the cassette.
    pub fn run(mut self, commands: mpsc::Receiver<Command>) -> Report {
        let mut report = Report::default();
        let saver = Saver::start();
        let mut journal: Option<JournalWriter> = None;
        let mut batch = Batch::default();
        // Interactions in the file at its last rewrite (the policy's measure).
        let mut at_last_rewrite = self.file.len();
        let mut closing = false;
        let mut abandoned = false;
        while !closing {
            let first = match commands.recv_timeout(IDLE) {
                Ok(command) => command,
                Err(RecvTimeoutError::Timeout) => {
                    if self.rewrites == Rewrites::Paced
                        && self.file.unsaved() > 0
                        && idle_rewrite_due(self.file.len(), at_last_rewrite)
                    {
                        at_last_rewrite = self.file.len();
                        saver.save(self.file.snapshot());
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if matches!(first, Command::Abandon) {
                abandoned = true;
                break;
            }
            closing = self.handle(first, &mut batch, &mut report);
            while !closing && batch.acks.len() < MAX_BATCH {
                match commands.try_recv() {
                    Ok(command) => closing = self.handle(command, &mut batch, &mut report),
                    Err(_) => break,
                }
            }
            self.commit(&mut batch, &mut journal, &saver, &mut report);
            if self.rewrites == Rewrites::Paced
                && rewrite_due(self.file.len(), at_last_rewrite)
                && saver.idle()
            {
                at_last_rewrite = self.file.len();
                saver.save(self.file.snapshot());
            }
        }
        saver.stop();
        if abandoned {
            tracing::info!(
                "recording abandoned: the cassette is left as it was, the journal as written"
            );
        } else {
            self.finish(journal, &mut report);
        }
        report.interactions = self.file.len();
        drop(self.lock);
        report
    }

    /// Takes one command into the batch; true if it says to stop.
    fn handle(&mut self, command: Command, batch: &mut Batch, report: &mut Report) -> bool {
        let (interaction, ack) = match command {
            Command::Record(call, ack) => match wire::interaction(*call, self.limits, &self.schema)
            {
                Ok(interaction) => (interaction, ack),
                Err(why) => {
                    tracing::warn!("call not recorded: {why}");
                    let _ = ack.send(Ok(Recorded::Skipped));
                    return false;
                }
            },
            Command::Interaction(interaction, ack) => (*interaction, ack),
            Command::Close | Command::Abandon => return true,
        };
        let recorded = self.add(interaction, batch, report);
        batch.acks.push((ack, recorded));
        false
    }

    /// Writes the batch's lines to the journal with one write and answers its calls.
    fn commit(
        &mut self,
        batch: &mut Batch,
        journal: &mut Option<JournalWriter>,
        saver: &Saver,
        report: &mut Report,
    ) {
        let mut result = Ok(());
        if !batch.lines.is_empty() {
            result = self.append(journal, &batch.lines);
            match &result {
                Ok(()) => {
                    self.written.fetch_add(batch.journaled, Ordering::SeqCst);
                    report.recorded += batch.journaled;
                    if let Some(journal) = journal {
                        saver.sync(journal);
                    }
                }
                Err(message) => {
                    tracing::error!(
                        "cannot write the journal, {} calls not recorded: {message}",
                        batch.journaled
                    );
                    report.write_error.get_or_insert_with(|| message.clone());
                    self.file.truncate(self.file.len() - batch.journaled);
                }
            }
        }
        for (ack, recorded) in batch.acks.drain(..) {
            let answer = match (&result, recorded) {
                (Err(message), Recorded::Journaled) => Err(message.clone()),
                (_, recorded) => Ok(recorded),
            };
            let _ = ack.send(answer);
        }
        batch.lines.clear();
        batch.journaled = 0;
    }

    fn append(&self, journal: &mut Option<JournalWriter>, lines: &[u8]) -> Result<(), String> {
        let writer = match journal {
            Some(writer) => writer,
            None => journal.insert(
                JournalWriter::create(&self.journal_path, &self.header, self.fault)
                    .map_err(|e| e.to_string())?,
            ),
        };
        writer.append(lines).map_err(|e| e.to_string())
    }

    /// At a clean stop: the cassette is written whole from the journal's digest, then the journal goes. When the
    /// rewrite fails the journal stays, so the next reader still recovers every call.
    fn finish(&mut self, journal: Option<JournalWriter>, report: &mut Report) {
        let Some(journal) = journal else {
            // Nothing was journaled: no file appears (a replaced cassette stays as it was).
            return;
        };
        if journal.is_empty() {
            drop(journal);
            let _ = std::fs::remove_file(&self.journal_path);
            return;
        }
        match self.file.save() {
            Ok(()) => {
                report.wrote_file = true;
                drop(journal);
                if let Err(error) = std::fs::remove_file(&self.journal_path) {
                    tracing::warn!(journal = %self.journal_path.display(), %error, "cannot remove the journal");
                }
            }
            Err(error) => {
                tracing::error!(%error, journal = %self.journal_path.display(), "cannot write the cassette; the journal keeps every call");
                report.write_error.get_or_insert_with(|| error.to_string());
            }
        }
    }

    /// Adds one interaction to the batch, unless a secret survived in it.
    fn add(
        &mut self,
        mut interaction: Interaction,
        batch: &mut Batch,
        report: &mut Report,
    ) -> Recorded {
        let index = self.file.len();
        // The fail-closed scan, under the same rules as redaction (the built-in ones and the user's), in one pass
        // with it.
        let findings = self.redactor.redact_and_scan(&mut interaction);
        if !findings.is_empty() {
            let what = match &interaction {
                Interaction::Grpc(g) => format!("`{}`", g.method),
                Interaction::Rest(r) => format!("`{} {}`", r.request.method, r.request.path),
            };
            for finding in findings {
                let location = finding.location.replacen(
                    "interactions[0]",
                    &format!("interactions[{index}]"),
                    1,
                );
                let finding = format!("{location} in {what}: `{}` survived", finding.kind);
                tracing::error!("secret survived redaction, interaction not written: {finding}");
                report.secrets.push(finding);
            }
            return Recorded::Skipped;
        }
        journal::push_line_from_pretty(self.file.push(&interaction), &mut batch.lines);
        batch.journaled += 1;
        Recorded::Journaled
    }
}

/// Whether the cassette is due a rewrite while calls keep coming (an idle writer rewrites it anyway): once it has
/// grown to [`GROWTH`] times what it held at its last rewrite, so the bytes rewritten over a run stay under a third
/// of the final file's (O(1) per call, amortised), while the journal holds what the file does not yet.
pub(super) fn rewrite_due(len: usize, at_last_rewrite: usize) -> bool {
    len >= at_last_rewrite.max(1) * GROWTH
}

const GROWTH: usize = 4;

/// Whether an idle writer rewrites the cassette: a small one always (it is cheap, and someone may be reading it),
/// a long one once it has grown by a quarter since its last rewrite. A test suite pauses between tests; rewriting
/// 100 MB at every pause cost more CPU than recording the calls (`cargo xtask bench record`), while the journal
/// already holds every call the file lacks.
pub(super) fn idle_rewrite_due(len: usize, at_last_rewrite: usize) -> bool {
    len <= IDLE_REWRITE_ALWAYS || len >= at_last_rewrite + at_last_rewrite / 4
}

/// Interactions up to which an idle writer always brings the file up to date.
const IDLE_REWRITE_ALWAYS: usize = 4096;

/// The calls taken since the last journal write.
#[derive(Default)]
struct Batch {
    lines: Vec<u8>,
    journaled: usize,
    acks: Vec<(Ack, Recorded)>,
}

/// The background thread that syncs the journal to the disk and rewrites the cassette from snapshots; work that
/// arrives while it is busy is coalesced (one fsync for many appends, only the latest snapshot).
struct Saver {
    shared: Arc<(Mutex<SaverState>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct SaverState {
    /// The journal, for syncing; set at the first append.
    journal: Option<Arc<std::fs::File>>,
    sync_pending: bool,
    snapshot: Option<CassetteSnapshot>,
    busy: bool,
    stop: bool,
}

impl Saver {
    fn start() -> Saver {
        let shared = Arc::new((Mutex::new(SaverState::default()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("yc-vcr-cassette-saver".to_owned())
            .spawn(move || saver_loop(&theirs))
            .map_err(|error| tracing::warn!(%error, "no saver thread: the cassette is written at the end only"))
            .ok();
        Saver { shared, thread }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SaverState> {
        self.shared
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks for the journal's new lines to be synced to the disk. Wakes the saver only for the first ask since its
    /// last sync: it then waits out the sync interval by itself, and waking it for every batch (thousands a
    /// second) cost a context switch each.
    fn sync(&self, journal: &JournalWriter) {
        let mut state = self.state();
        if state.journal.is_none() {
            state.journal = journal.sync_handle().ok().map(Arc::new);
        }
        let asked = std::mem::replace(&mut state.sync_pending, true);
        drop(state);
        if !asked {
            self.shared.1.notify_one();
        }
    }

    fn save(&self, snapshot: CassetteSnapshot) {
        self.state().snapshot = Some(snapshot);
        self.shared.1.notify_one();
    }

    fn idle(&self) -> bool {
        let state = self.state();
        !state.busy && state.snapshot.is_none()
    }

    /// Finishes the work queued and stops.
    fn stop(mut self) {
        self.state().stop = true;
        self.shared.1.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The least time between two syncs of the journal: a sync costs the disk a flush, and many appends share one.
const SYNC_INTERVAL: Duration = Duration::from_millis(50);

fn saver_loop(shared: &(Mutex<SaverState>, Condvar)) {
    let (lock, wake) = shared;
    let lock_state = || {
        lock.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let mut last_sync: Option<std::time::Instant> = None;
    let mut state = lock_state();
    loop {
        // A sync waits out the interval since the last one (unless stopping), gathering the appends meanwhile.
        let sync_wait = last_sync
            .map(|at| SYNC_INTERVAL.saturating_sub(at.elapsed()))
            .filter(|wait| !wait.is_zero() && !state.stop);
        let sync = (state.sync_pending && sync_wait.is_none())
            .then(|| {
                state.sync_pending = false;
                state.journal.clone()
            })
            .flatten();
        let snapshot = state.snapshot.take();
        if sync.is_none() && snapshot.is_none() {
            if state.stop && !state.sync_pending {
                return;
            }
            state.busy = false;
            state = match (state.sync_pending, sync_wait) {
                (true, Some(wait)) => {
                    wake.wait_timeout(state, wait)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0
                }
                _ => wake
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            };
            continue;
        }
        state.busy = true;
        drop(state);
        if let Some(file) = sync {
            last_sync = Some(std::time::Instant::now());
            if let Err(error) = file.sync_data() {
                tracing::warn!(%error, "cannot sync the journal to the disk");
            }
        }
        if let Some(snapshot) = snapshot
            && let Err(error) = snapshot.save()
        {
            tracing::warn!(%error, "cannot rewrite the cassette; the journal keeps every call");
        }
        state = lock_state();
    }
}

#[cfg(test)]
mod tests;
