//! What the detector is known to find nothing in, remembered per thread: the detector is a pure function of the
//! text and the rules, and traffic repeats most of its strings (field names in every message, header values, ids,
//! states), so running it again over a string it found clean under the same rules can only find nothing again.
//! Redaction, then the fail-closed scan of the same interaction, then the next call's redaction all skip those
//! strings; everything redaction changed, every byte path and every name rule is checked as before. Recording ran
//! the detector twice over every string of every call, most of redaction's cost (`cargo xtask bench cassette`).
//!
//! A string is remembered by two 64-bit foldhash hashes with seeds of this thread's own, not by its text: a set of
//! strings cost replay's loading threads tens of MB (each allocated, most of them ids seen once), a hash costs
//! 16 bytes and no allocation. A string can be skipped wrongly only if its 128 bits equal those of one found
//! clean: about n / 2¹²⁸ for n remembered, and traffic cannot aim at it without the seeds. Bounded: past
//! [`KNOWN_MAX`] strings the thread starts again.
//!
//! Header names' verdicts ([`secret_header`]) are remembered too, per thread and set of rules, by the name itself
//! (at most [`HEADERS_MAX`] of them): traffic uses a few dozen names, and the verdict is a pure function of the name
//! and the rules as well.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::rc::Rc;

use foldhash::fast::{FixedState, RandomState};
use regex::Regex;

use super::Redactor;

thread_local! {
    static KNOWN: RefCell<Known> = RefCell::new(Known::default());
    /// The user's patterns of one set of rules, cloned for this thread, as `thread_regex!` does for the built-in
    /// ones: a `Regex` is fast only on the thread that used it first, and loading or scanning on every core with
    /// `--redaction-rules` patterns met in their shared cache pools.
    static PATTERNS: RefCell<(u64, Rc<[Regex]>)> = RefCell::new((0, Rc::from(Vec::new())));
    /// Header names' verdicts ([`Redactor::is_secret_header`]) under one set of rules: a call carries a dozen
    /// headers, each classified by redaction and again by the scan, and the few dozen names traffic uses were a
    /// quarter of redacting and scanning a call (callgrind over `bench cassette`).
    static HEADERS: RefCell<Headers> = RefCell::new(Headers::default());
}

#[derive(Default)]
struct Headers {
    rules: u64,
    /// Seeded per thread: the names come from the traffic.
    secret: HashMap<Box<str>, bool, RandomState>,
}

/// The most header names remembered on one thread; past it the thread starts again.
const HEADERS_MAX: usize = 1024;

/// Whether the header `name` is secret under `redactor`'s rules: remembered, else `decide`d and remembered.
pub(crate) fn secret_header(
    redactor: &Redactor,
    name: &str,
    decide: impl FnOnce() -> bool,
) -> bool {
    let known = HEADERS.with(|headers| {
        let headers = headers.borrow();
        (headers.rules == redactor.rules)
            .then(|| headers.secret.get(name).copied())
            .flatten()
    });
    if let Some(secret) = known {
        return secret;
    }
    let secret = decide();
    HEADERS.with(|headers| {
        let mut headers = headers.borrow_mut();
        if headers.rules != redactor.rules || headers.secret.len() >= HEADERS_MAX {
            headers.rules = redactor.rules;
            headers.secret.clear();
        }
        headers.secret.insert(name.into(), secret);
    });
    secret
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
    seeds: [RandomState; 2],
    /// Already uniform: a fixed hasher is enough for the set itself.
    clean: HashSet<u128, FixedState>,
}

/// The most strings remembered on one thread (under 1 MB of table).
const KNOWN_MAX: usize = 16_384;

/// A string looked up: `None` if the detector is known to find nothing in it, else the key to remember it by.
pub(crate) fn lookup(redactor: &Redactor, text: &str) -> Option<u128> {
    KNOWN.with(|known| {
        let known = known.borrow();
        let key = (u128::from(known.seeds[0].hash_one(text)) << 64)
            | u128::from(known.seeds[1].hash_one(text));
        let clean = known.rules == redactor.rules && known.clean.contains(&key);
        (!clean).then_some(key)
    })
}

/// Remembers that the detector, under `redactor`'s rules, found nothing in the string [`lookup`] gave `key` for.
pub(crate) fn learn(redactor: &Redactor, key: u128) {
    KNOWN.with(|known| {
        let mut known = known.borrow_mut();
        if known.rules != redactor.rules || known.clean.len() >= KNOWN_MAX {
            known.rules = redactor.rules;
            known.clean.clear();
        }
        known.clean.insert(key);
    });
}
