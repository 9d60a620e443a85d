//! Unit tests of `server`: the connection wrapper's scheduling, without sockets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;

use super::*;

/// Counts wake-ups.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Pending until polled `n` times, counting its polls.
struct PendingFor {
    n: usize,
    polls: Arc<AtomicUsize>,
}

impl Future for PendingFor {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<&'static str> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.n == 0 {
            return Poll::Ready("done");
        }
        self.n -= 1;
        Poll::Pending
    }
}

#[test]
fn a_woken_connection_first_goes_to_the_back_of_the_queue_then_runs() {
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::new(Counter::default());
    let waker = std::task::Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = Coalesced::new(PendingFor {
        n: 1,
        polls: polls.clone(),
    });
    let mut future = Pin::new(&mut future);

    // The first poll reaches the connection.
    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert_eq!(polls.load(Ordering::SeqCst), 1);
    // Polled again (it was woken): it reschedules itself instead of polling the connection.
    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert_eq!(polls.load(Ordering::SeqCst), 1);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1, "it woke itself");
    // The next poll reaches the connection, which finishes.
    assert_eq!(future.as_mut().poll(&mut cx), Poll::Ready("done"));
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}

#[test]
fn a_connection_that_finishes_at_once_is_not_delayed() {
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::new(Counter::default());
    let waker = std::task::Waker::from(counter.clone());
    let mut future = Coalesced::new(PendingFor { n: 0, polls });
    let ready = Pin::new(&mut future).poll(&mut Context::from_waker(&waker));
    assert_eq!(ready, Poll::Ready("done"));
    assert_eq!(counter.0.load(Ordering::SeqCst), 0);
}

#[test]
fn the_first_byte_tells_tls_from_http() {
    assert_eq!(sniff(0x16), Sniffed::Tls);
    // `PRI * HTTP/2.0` and every HTTP/1.1 method start with an upper-case letter.
    for first in b"PGHDOCT\r\n" {
        assert_eq!(sniff(*first), Sniffed::Http);
    }
    for other in [0x00, 0x01, 0x80, b'g', b' '] {
        assert_eq!(sniff(other), Sniffed::Other(other));
    }
}
