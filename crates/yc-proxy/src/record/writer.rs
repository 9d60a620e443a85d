//! The cassette's writer, shared by every call: the task that completes a call turns it into an interaction
//! ([`yc_cassette::wire`]), redacts it, checks that no secret shape survived and serialises it, all on its own
//! thread, and queues its line; the lines of every call that was ready together go to the journal
//! (`NAME.json.journal`) with one `write` and are counted in the cassette's digest. Only then does each of those
//! calls' last frame go to its client (see [`super::tee`]), so a call its client saw complete is in the kernel's copy
//! of the journal.
//!
//! The journal is written by group commit without a thread of its own: the first call to queue a line (the batch's
//! leader) yields to the runtime once, so the other calls already woken queue theirs behind it, then writes them all
//! and wakes their tasks. A `write` per call was a fifth of what recording cost a call (ext4's per-write work);
//! handing each call to a writer thread instead cost two context switches a call, more than the `write`
//! (`cargo xtask bench record`). What the lock guards is the queue and the `write` into the page cache; everything
//! slow is done before it (the conversion) or by the saver after it.
//!
//! The pretty cassette is the journal's digest ([`CassetteFile`]): the old interactions' pretty text when appending,
//! then the journal's lines, which each save reads back and lays out, so nothing is kept per call. A
//! second thread (the saver, [`Saver`]) rewrites the file from a snapshot of it each time the cassette has grown
//! fourfold (so the rewrites cost O(1) per call, amortised) and, while it is short, whenever no call has come for a
//! while, and syncs the journal to the disk in the background. A call never waits for a rewrite or an
//! fsync.
//! It never writes an interaction in which the secret scan still finds something: that one is left out, and the
//! error (with where the secret is) is reported at the end.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use yc_cassette::journal::{JournalHeader, JournalWriter, WriteFault};
use yc_cassette::wire::{self, Call};
use yc_cassette::{CassetteFile, CassetteLock, CassetteSnapshot, Interaction, Redactor};
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

/// How a recording ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// Rewrite the cassette from the journal, then remove the journal.
    Finish,
    /// Leave the cassette as it was and the journal as written, for the next reader to recover (or, replacing,
    /// to ignore while the old file exists).
    Abandon,
}

/// Everything a [`Writer`] starts from.
pub(crate) struct Setup {
    pub file: CassetteFile,
    pub redactor: Redactor,
    pub schema: Arc<Schema>,
    pub limits: FrameLimits,
    pub header: JournalHeader,
    pub journal_path: PathBuf,
    pub fault: Option<WriteFault>,
    pub rewrites: Rewrites,
    /// Held until the end, after the last write.
    pub lock: CassetteLock,
}

/// One cassette being recorded; see the module comment. Dropped without [`Writer::end`], it finishes the
/// cassette itself, only logging errors.
pub(crate) struct Writer {
    redactor: Redactor,
    schema: Arc<Schema>,
    limits: FrameLimits,
    rewrites: Rewrites,
    state: Arc<Mutex<State>>,
    saver: Saver,
    /// Interactions of this run in the journal so far.
    written: AtomicUsize,
    /// The `write`s that put them there.
    writes: AtomicUsize,
}

/// What the lock guards: the journal and the digest, in the same order.
struct State {
    file: CassetteFile,
    /// Created at the first append.
    journal: Option<JournalWriter>,
    header: JournalHeader,
    journal_path: PathBuf,
    fault: Option<WriteFault>,
    /// Interactions in the file at its last rewrite (the policy's measure).
    at_last_rewrite: usize,
    last_call: Instant,
    report: Report,
    /// Set by [`Writer::end`]: later calls fail.
    ended: bool,
    lock: Option<CassetteLock>,
    /// Lines queued for the next journal write.
    batch: Option<Batch>,
}

/// Lines made ready since the last journal write, and how their calls hear how it went.
struct Batch {
    lines: Vec<u8>,
    count: usize,
    written: Arc<Written>,
}

/// The outcome of one batch's write, for every call in it.
#[derive(Default)]
struct Written {
    result: OnceLock<Result<(), String>>,
    notify: tokio::sync::Notify,
}

impl Written {
    async fn wait(&self) -> Result<(), String> {
        loop {
            let mut notified = std::pin::pin!(self.notify.notified());
            // Registered before the check, so a result set after it still wakes this task.
            notified.as_mut().enable();
            if let Some(result) = self.result.get() {
                return result.clone();
            }
            notified.await;
        }
    }
}

/// Where a call's line went in the queue.
enum Queued {
    /// Not queued: a secret survived redaction (reported at the end).
    Skipped,
    /// The first line of a batch: this call writes it.
    Leader(Arc<Written>),
    /// Behind the leader's.
    Follower(Arc<Written>),
}

/// A batch's leader until it has written the batch. Dropped before that (its call's client went away), it writes
/// the batch there and then, so the calls behind it do not wait for ever.
struct Leader<'a> {
    writer: &'a Writer,
    written: Arc<Written>,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.writer.flush(&self.written);
    }
}

/// A call made ready for the journal outside the lock.
enum Ready {
    /// Its journal line.
    Line(Vec<u8>),
    /// A secret survived redaction: what the call was and where the secrets are.
    Secret {
        what: String,
        findings: Vec<yc_cassette::Finding>,
    },
}

impl Writer {
    pub fn start(setup: Setup) -> Writer {
        let at_last_rewrite = setup.file.len();
        let state = Arc::new(Mutex::new(State {
            file: setup.file,
            journal: None,
            header: setup.header,
            journal_path: setup.journal_path,
            fault: setup.fault,
            at_last_rewrite,
            last_call: Instant::now(),
            report: Report::default(),
            ended: false,
            lock: Some(setup.lock),
            batch: None,
        }));
        let idle_rewrites = (setup.rewrites == Rewrites::Paced).then(|| Arc::clone(&state));
        Writer {
            redactor: setup.redactor,
            schema: setup.schema,
            limits: setup.limits,
            rewrites: setup.rewrites,
            state,
            saver: Saver::start(idle_rewrites),
            written: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
        }
    }

    /// Records a call as it came off the wire; returns once it is in the journal or deliberately left out. `Err`
    /// says why it could not be written.
    pub async fn record_call(&self, call: Call) -> Result<Recorded, String> {
        match wire::interaction(call, self.limits, &self.schema) {
            Ok(interaction) => self.record(interaction).await,
            Err(why) => {
                tracing::warn!("call not recorded: {why}");
                Ok(Recorded::Skipped)
            }
        }
    }

    /// Records one finished interaction (redacted and scanned here first); returns once it is in the journal.
    pub async fn record(&self, interaction: Interaction) -> Result<Recorded, String> {
        let ready = self.ready(interaction);
        let written = match self.enqueue(ready)? {
            Queued::Skipped => return Ok(Recorded::Skipped),
            Queued::Follower(written) => written,
            Queued::Leader(written) => {
                let leader = Leader {
                    writer: self,
                    written,
                };
                // The calls the runtime has already woken run first and queue their lines behind this one.
                tokio::task::yield_now().await;
                let written = Arc::clone(&leader.written);
                drop(leader);
                written
            }
        };
        written.wait().await.map(|()| Recorded::Journaled)
    }

    /// Interactions of this run in the journal so far.
    pub fn recorded(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }

    /// The journal `write`s that took them there: fewer than the calls when calls complete together.
    pub fn journal_writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// The part of a call that needs no lock: redaction, the fail-closed scan (under the same rules as
    /// redaction, the built-in ones and the user's, in one pass with it) and the text.
    fn ready(&self, mut interaction: Interaction) -> Ready {
        let findings = self.redactor.redact_and_scan(&mut interaction);
        if !findings.is_empty() {
            let what = match &interaction {
                Interaction::Grpc(g) => format!("`{}`", g.method),
                Interaction::Rest(r) => format!("`{} {}`", r.request.method, r.request.path),
            };
            return Ready::Secret { what, findings };
        }
        Ready::Line(CassetteFile::line(&interaction))
    }

    /// Queues the line for the next journal write.
    fn enqueue(&self, ready: Ready) -> Result<Queued, String> {
        let mut state = lock(&self.state);
        if state.ended {
            return Err("the recorder has stopped".to_owned());
        }
        state.last_call = Instant::now();
        let line = match ready {
            Ready::Line(line) => line,
            Ready::Secret { what, findings } => {
                let index = state.file.len();
                for finding in findings {
                    let location = finding.location.replacen(
                        "interactions[0]",
                        &format!("interactions[{index}]"),
                        1,
                    );
                    let finding = format!("{location} in {what}: `{}` survived", finding.kind);
                    tracing::error!(
                        "secret survived redaction, interaction not written: {finding}"
                    );
                    state.report.secrets.push(finding);
                }
                return Ok(Queued::Skipped);
            }
        };
        Ok(match &mut state.batch {
            Some(batch) => {
                batch.lines.extend_from_slice(&line);
                batch.count += 1;
                Queued::Follower(Arc::clone(&batch.written))
            }
            None => {
                let written = Arc::new(Written::default());
                state.batch = Some(Batch {
                    lines: line,
                    count: 1,
                    written: Arc::clone(&written),
                });
                Queued::Leader(written)
            }
        })
    }

    /// Writes the batch `written` belongs to, unless that is done (at the end, by [`Writer::end`]).
    fn flush(&self, written: &Arc<Written>) {
        let mut state = lock(&self.state);
        if let Some(batch) = state
            .batch
            .take_if(|batch| Arc::ptr_eq(&batch.written, written))
        {
            self.write(&mut state, batch);
        }
    }

    /// Appends a batch to the journal with one `write`, counts it in the digest and tells its calls.
    fn write(&self, state: &mut State, batch: Batch) {
        let result = state.append(&batch.lines, batch.count);
        match &result {
            Ok(()) => {
                state.report.recorded += batch.count;
                self.written.fetch_add(batch.count, Ordering::SeqCst);
                self.writes.fetch_add(1, Ordering::SeqCst);
                if let Some(journal) = &state.journal {
                    self.saver.sync(journal);
                }
                let len = state.file.len();
                if self.rewrites == Rewrites::Paced
                    && rewrite_due(len, state.at_last_rewrite)
                    && self.saver.idle()
                {
                    state.at_last_rewrite = len;
                    self.saver.save(state.file.snapshot());
                }
            }
            Err(message) => {
                tracing::error!(
                    calls = batch.count,
                    "cannot write the journal, calls not recorded: {message}"
                );
                state
                    .report
                    .write_error
                    .get_or_insert_with(|| message.clone());
            }
        }
        // Set once: only this call of `write` has the batch.
        let _ = batch.written.result.set(result);
        batch.written.notify.notify_waiters();
    }

    /// Ends the recording: later calls fail, the saver finishes what it was given, then the cassette is written
    /// from the digest and the journal removed ([`End::Finish`]), or both are left as they are
    /// ([`End::Abandon`]); the lock goes last. Blocks on the disk: call it off the async runtime. Ending twice
    /// reports nothing the second time.
    pub fn end(&self, end: End) -> Report {
        let journal = {
            let mut state = lock(&self.state);
            if std::mem::replace(&mut state.ended, true) {
                return Report::default();
            }
            // Its calls are waiting for it: they complete, and it is in the cassette.
            if let Some(batch) = state.batch.take() {
                self.write(&mut state, batch);
            }
            state.journal.take()
        };
        // Its rewrite must not land after the last one.
        self.saver.stop();
        let mut state = lock(&self.state);
        match end {
            End::Abandon => tracing::info!(
                "recording abandoned: the cassette is left as it was, the journal as written"
            ),
            End::Finish => state.finish(journal),
        }
        let mut report = std::mem::take(&mut state.report);
        report.interactions = state.file.len();
        drop(state.lock.take());
        report
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let report = self.end(End::Finish);
        if let Some(error) = report.write_error {
            tracing::error!(%error, "the recording was not finished cleanly");
        }
    }
}

impl State {
    /// Appends `count` interactions' lines to the journal (created at the first) and counts them in the digest.
    fn append(&mut self, lines: &[u8], count: usize) -> Result<(), String> {
        let writer = match &mut self.journal {
            Some(writer) => writer,
            None => {
                let writer = JournalWriter::create(&self.journal_path, &self.header, self.fault)
                    .map_err(|e| e.to_string())?;
                self.file
                    .follow_journal(&self.journal_path, writer.lines_start());
                self.journal.insert(writer)
            }
        };
        writer.append(lines).map_err(|e| e.to_string())?;
        self.file.journaled(writer.len(), count);
        Ok(())
    }

    /// At a clean stop: the cassette is written whole from the journal's digest, then the journal goes. When the
    /// rewrite fails the journal stays, so the next reader still recovers every call.
    fn finish(&mut self, journal: Option<JournalWriter>) {
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
                self.report.wrote_file = true;
                drop(journal);
                if let Err(error) = std::fs::remove_file(&self.journal_path) {
                    tracing::warn!(journal = %self.journal_path.display(), %error, "cannot remove the journal");
                }
            }
            Err(error) => {
                tracing::error!(%error, journal = %self.journal_path.display(), "cannot write the cassette; the journal keeps every call");
                self.report
                    .write_error
                    .get_or_insert_with(|| error.to_string());
            }
        }
    }
}

/// Locks a mutex; a poisoned lock (a panic elsewhere) still holds usable data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the cassette is due a rewrite while calls keep coming (an idle writer rewrites it anyway): once it has
/// grown to [`GROWTH`] times what it held at its last rewrite, so the bytes rewritten over a run stay under a third
/// of the final file's (O(1) per call, amortised), while the journal holds what the file does not yet.
pub(super) fn rewrite_due(len: usize, at_last_rewrite: usize) -> bool {
    len >= at_last_rewrite.max(1) * GROWTH
}

const GROWTH: usize = 4;

/// Whether an idle writer rewrites the cassette: a small one always (it is cheap, and someone may be reading it),
/// a long one on the same fourfold growth as a busy one, so idle rewrites too cost O(1) per call. A test suite
/// pauses between tests: rewriting 100 MB at every pause cost more CPU than recording the calls, and rewriting at
/// each quarter's growth made the saver's CPU over `cargo xtask bench record`'s 160k calls 1.11 s (0.24 s with
/// fourfold growth), about a fifth of what recording cost, while the journal already holds every call the file
/// lacks.
pub(super) fn idle_rewrite_due(len: usize, at_last_rewrite: usize) -> bool {
    len <= IDLE_REWRITE_ALWAYS || rewrite_due(len, at_last_rewrite)
}

/// Interactions up to which an idle writer always brings the file up to date.
const IDLE_REWRITE_ALWAYS: usize = 4096;

/// How long without a call before the saver rewrites the cassette from the digest.
const IDLE: Duration = Duration::from_millis(200);

/// The least time between two syncs of the journal: a sync costs the disk a flush, and many appends share one.
const SYNC_INTERVAL: Duration = Duration::from_millis(50);

/// The background thread that syncs the journal to the disk and rewrites the cassette from snapshots (given by
/// the calls, or taken by itself when calls pause); work that arrives while it is busy is coalesced (one fsync for
/// many appends, only the latest snapshot).
struct Saver {
    shared: Arc<(Mutex<SaverState>, Condvar)>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
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
    /// `idle_rewrites`: the writer's state, for rewrites when calls pause (`None`: the file is written at the end
    /// only).
    fn start(idle_rewrites: Option<Arc<Mutex<State>>>) -> Saver {
        let shared = Arc::new((Mutex::new(SaverState::default()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("yc-vcr-cassette-saver".to_owned())
            .spawn(move || saver_loop(&theirs, idle_rewrites.as_deref()))
            .map_err(|error| tracing::warn!(%error, "no saver thread: the cassette is written at the end only"))
            .ok();
        Saver {
            shared,
            thread: Mutex::new(thread),
        }
    }

    fn state(&self) -> MutexGuard<'_, SaverState> {
        lock(&self.shared.0)
    }

    /// Asks for the journal's new lines to be synced to the disk. Wakes the saver only for the first ask since its
    /// last sync: it then waits out the sync interval by itself, and waking it for every call (thousands a
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
    fn stop(&self) {
        self.state().stop = true;
        self.shared.1.notify_one();
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
    }
}

/// Lock order: the writer's state before the saver's, never the other way (a call holds the first while it asks
/// the saver for work; the saver takes the first only with the second released).
fn saver_loop(shared: &(Mutex<SaverState>, Condvar), writer: Option<&Mutex<State>>) {
    let (saver, wake) = shared;
    let mut last_sync: Option<Instant> = None;
    let mut state = lock(saver);
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
        let mut snapshot = state.snapshot.take();
        if sync.is_none() && snapshot.is_none() {
            if state.stop && !state.sync_pending {
                return;
            }
            state.busy = false;
            let wait = match (state.sync_pending, sync_wait) {
                (true, Some(wait)) => wait.min(IDLE),
                _ => IDLE,
            };
            let timed_out = {
                let (guard, result) = wake
                    .wait_timeout(state, wait)
                    .unwrap_or_else(PoisonError::into_inner);
                state = guard;
                result.timed_out()
            };
            if !timed_out || state.stop {
                continue;
            }
            drop(state);
            snapshot = writer.and_then(idle_snapshot);
            state = lock(saver);
            if snapshot.is_none() {
                continue;
            }
        }
        state.busy = true;
        drop(state);
        if let Some(file) = sync {
            last_sync = Some(Instant::now());
            if let Err(error) = file.sync_data() {
                tracing::warn!(%error, "cannot sync the journal to the disk");
            }
        }
        if let Some(snapshot) = snapshot
            && let Err(error) = snapshot.save()
        {
            tracing::warn!(%error, "cannot rewrite the cassette; the journal keeps every call");
        }
        state = lock(saver);
    }
}

/// A snapshot of the digest when no call has come for [`IDLE`] and the policy wants the file brought up to date.
fn idle_snapshot(writer: &Mutex<State>) -> Option<CassetteSnapshot> {
    let mut state = lock(writer);
    let len = state.file.len();
    let due = !state.ended
        && state.file.unsaved() > 0
        && state.last_call.elapsed() >= IDLE
        && idle_rewrite_due(len, state.at_last_rewrite);
    due.then(|| {
        state.at_last_rewrite = len;
        state.file.snapshot()
    })
}

#[cfg(test)]
mod tests;
