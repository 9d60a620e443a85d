//! What redaction already knows when the fail-closed scan follows it on the same interaction: the strings it ran
//! the detector over and found nothing in. The detector is a pure function of the text and the rules, so the scan
//! can skip those strings and still report exactly what scanning them would; everything redaction changed, every
//! byte path and every name rule is scanned as before. Recording ran the detector twice over every string of every
//! call (about 6 of the writer's 30 µs a call); see [`Redactor::redact_and_scan`].
//!
//! Kept on the thread for the span of one [`remembering`] call, so that redaction's many entry points need no
//! extra parameter; outside one (replay, `check`, a plain scan) nothing is remembered or skipped.
//!
//! Across calls, the thread also keeps short strings the detector found clean ([`known_clean`]), exactly (the
//! strings themselves, not hashes), for the same rules: traffic repeats most of its strings (field names in every
//! message, header values, ids, states), and running the detector over each again was most of redaction's cost
//! (`cargo xtask bench cassette`). Bounded: past [`KNOWN_MAX`] strings it starts again.

use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::rc::Rc;

use regex::Regex;

// foldhash, seeded per memo: a third of SipHash's cost on short strings (SipHash took back most of the saving), and
// a traffic author cannot aim a collision without the seed.
use foldhash::fast::RandomState;

use super::Redactor;

struct Memo {
    /// The redactor whose detector found nothing: a scan by any other skips nothing.
    redactor: *const Redactor,
    hasher: RandomState,
    /// Hashes (seeded per memo, so not forgeable by traffic) of the strings found clean; a chance collision
    /// (about n² / 2⁶⁴ for n strings in one call) is the only way a skipped string could differ.
    clean: HashSet<u64, foldhash::fast::FixedState>,
}

thread_local! {
    static MEMO: RefCell<Option<Memo>> = const { RefCell::new(None) };
    static KNOWN: RefCell<Known> = RefCell::new(Known::default());
    /// The user's patterns of one set of rules, cloned for this thread, as `thread_regex!` does for the built-in
    /// ones: a `Regex` is fast only on the thread that used it first, and loading or scanning on every core with
    /// `--redaction-rules` patterns met in their shared cache pools.
    static PATTERNS: RefCell<(u64, Rc<[Regex]>)> = RefCell::new((0, Rc::from(Vec::new())));
}

/// This thread's copies of `redactor`'s patterns.
pub(crate) fn patterns(redactor: &Redactor) -> Rc<[Regex]> {
    PATTERNS.with(|patterns| {
        let mut patterns = patterns.borrow_mut();
        if patterns.0 != redactor.rules {
            *patterns = (redactor.rules, redactor.patterns.iter().cloned().collect());
        }
        Rc::clone(&patterns.1)
    })
}

/// Strings found clean under one set of rules ([`Redactor`]'s `rules`).
#[derive(Default)]
struct Known {
    rules: u64,
    clean: HashSet<Box<str>, RandomState>,
}

/// The longest string remembered across calls: longer ones rarely repeat, and would cost memory.
const KNOWN_LEN: usize = 256;
/// The most strings remembered on one thread (a few MB at most).
const KNOWN_MAX: usize = 16_384;

/// Whether the detector, under `redactor`'s rules, is known to find nothing in `text`.
pub(crate) fn known_clean(redactor: &Redactor, text: &str) -> bool {
    text.len() <= KNOWN_LEN
        && KNOWN.with(|known| {
            let known = known.borrow();
            known.rules == redactor.rules && known.clean.contains(text)
        })
}

/// Remembers that the detector, under `redactor`'s rules, found nothing in `text`.
pub(crate) fn learn_clean(redactor: &Redactor, text: &str) {
    if text.len() > KNOWN_LEN {
        return;
    }
    KNOWN.with(|known| {
        let mut known = known.borrow_mut();
        if known.rules != redactor.rules || known.clean.len() >= KNOWN_MAX {
            known.rules = redactor.rules;
            known.clean.clear();
        }
        known.clean.insert(Box::from(text));
    });
}

/// Runs `f` with a memo of clean strings for `redactor` on this thread.
pub(crate) fn remembering<R>(redactor: &Redactor, f: impl FnOnce() -> R) -> R {
    let memo = Memo {
        redactor: redactor as *const Redactor,
        hasher: RandomState::default(),
        clean: HashSet::default(),
    };
    let outer = MEMO.with(|m| m.replace(Some(memo)));
    let result = f();
    MEMO.with(|m| m.replace(outer));
    result
}

/// Notes that `redactor`'s detector found nothing in `text`. A short string is in [`KNOWN`] already.
pub(crate) fn found_clean(redactor: &Redactor, text: &str) {
    if text.len() <= KNOWN_LEN {
        return;
    }
    MEMO.with(|m| {
        if let Some(memo) = m.borrow_mut().as_mut()
            && std::ptr::eq(memo.redactor, redactor)
        {
            let hash = memo.hasher.hash_one(text);
            memo.clean.insert(hash);
        }
    });
}

/// Whether `redactor`'s detector is known to find nothing in `text`.
pub(crate) fn is_clean(redactor: &Redactor, text: &str) -> bool {
    if text.len() <= KNOWN_LEN {
        return known_clean(redactor, text);
    }
    MEMO.with(|m| {
        m.borrow().as_ref().is_some_and(|memo| {
            std::ptr::eq(memo.redactor, redactor)
                && memo.clean.contains(&memo.hasher.hash_one(text))
        })
    })
}
