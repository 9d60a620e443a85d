//! Unit tests of `record::writer`: the pacing of saves (with explicit instants, no clock reads).

use std::time::{Duration, Instant};

use super::{PAUSE_FACTOR, Pace};

#[test]
fn a_writer_that_never_saved_may_save_at_once() {
    assert_eq!(Pace::default().remaining_at(Instant::now()), None);
}

#[test]
fn after_a_save_the_next_waits_a_multiple_of_its_duration() {
    let started = Instant::now();
    let ended = started + Duration::from_millis(10);
    let mut pace = Pace::default();
    pace.saved_between(started, ended);
    let pause = Duration::from_millis(10) * PAUSE_FACTOR;
    assert_eq!(pace.remaining_at(ended), Some(pause));
    assert_eq!(
        pace.remaining_at(ended + Duration::from_millis(5)),
        Some(pause - Duration::from_millis(5))
    );
    assert_eq!(pace.remaining_at(ended + pause), None);
    assert_eq!(pace.remaining_at(ended + pause * 3), None);
}

#[test]
fn an_instant_save_adds_no_pause() {
    let at = Instant::now();
    let mut pace = Pace::default();
    pace.saved_between(at, at);
    assert_eq!(pace.remaining_at(at), None);
}
