//! The actor's mailbox metrics, counted by the actor as it runs and readable from any reference
//! to it: one layout and one way of counting for both actor crates, which re-export
//! [`Metrics`] and keep the [`Counters`] in the state an actor shares with its references.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of one actor's mailbox metrics: what `ActorRef::metrics` returns and what an
/// actor's exit carries, in both actor crates.
///
/// ```
/// use bothways_shared::Counters;
///
/// let counters = Counters::default();
/// Counters::bump(&counters.received); // a sender put a message in the mailbox
/// Counters::bump_own(&counters.own.handled); // the actor handled it
/// let m = counters.snapshot(0);
/// assert_eq!((m.received, m.handled, m.queue_depth), (1, 1, 0));
/// assert!(m.to_string().starts_with("received 1, handled 1, panicked 0"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Metrics {
    /// Messages waiting in the mailbox now.
    pub queue_depth: usize,
    /// Messages accepted into the mailbox (tells and asks).
    pub received: u64,
    /// Messages whose handler returned.
    pub handled: u64,
    /// Messages whose handler panicked.
    pub panicked: u64,
    /// Messages dropped unhandled (by a kill, or after the actor gave up).
    pub dropped: u64,
    /// Times the actor was rebuilt from its factory after a panic.
    pub restarts: u64,
    /// Time spent in the handler, all messages — zero unless the actor's
    /// `Config::handler_time` is on: timing a handler reads the clock twice, which costs more
    /// than passing a message.
    pub handler_time: Duration,
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs = self.handled + self.panicked;
        let each = if runs == 0 {
            Duration::ZERO
        } else {
            self.handler_time / u32::try_from(runs).unwrap_or(u32::MAX)
        };
        write!(
            f,
            "received {}, handled {}, panicked {}, dropped {}, queued {}, restarts {}, \
             handler time {:.3?} ({:.3?} each)",
            self.received,
            self.handled,
            self.panicked,
            self.dropped,
            self.queue_depth,
            self.restarts,
            self.handler_time,
            each,
        )
    }
}

/// Bytes of padding that keep what senders write apart from what the actor writes: two
/// 64-byte cache lines, since x86 fetches lines in pairs. A message counted on one side then does
/// not pull the line away from the other. Padding rather than `#[repr(align(128))]`: an
/// over-aligned allocation is slower to make and wastes more memory per actor.
const APART: usize = 128;

/// The live counters behind [`Metrics`]. Relaxed atomics: each counter is exact on its own,
/// and a snapshot is not promised to be one instant across counters. An actor crate keeps
/// them in the state the actor shares with its references; a user of the crate sees only
/// [`Metrics`].
///
/// In this order, first in the actor's shared state: what senders write, padding, what the actor
/// writes, padding, then what both only read (its state, its id).
#[repr(C)]
pub struct Counters {
    /// Messages accepted into the mailbox; written by every sender.
    pub received: AtomicU64,
    _apart: [u8; APART],
    /// What the actor alone writes.
    pub own: Own,
    _after: [u8; APART],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            received: AtomicU64::new(0),
            _apart: [0; APART],
            own: Own::default(),
            _after: [0; APART],
        }
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counters")
            .field("received", &self.received)
            .field("own", &self.own)
            .finish()
    }
}

/// The counts only the actor writes: count them with [`Counters::bump_own`].
#[derive(Debug, Default)]
pub struct Own {
    /// Messages whose handler returned.
    pub handled: AtomicU64,
    /// Messages whose handler panicked.
    pub panicked: AtomicU64,
    /// Messages dropped unhandled.
    pub dropped: AtomicU64,
    /// Times the actor was rebuilt after a panic.
    pub restarts: AtomicU64,
    handler_nanos: AtomicU64,
}

impl Counters {
    /// Counts one more; for a counter any sender may write.
    #[inline]
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one more; for a counter only the actor writes: a load and a store, without the
    /// locked read-modify-write of `bump`, since no other writer can come in between. Only for
    /// the fields of [`Own`], from the actor's own thread or task: with two writers a count
    /// could be lost (never memory safety; it is still an atomic).
    #[inline]
    pub fn bump_own(counter: &AtomicU64) {
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Adds a handler's run time to the total; the actor alone calls it. Saturates rather than
    /// wraps: a total past 584 years of handler time stays at the maximum.
    pub fn add_time(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let total = &self.own.handler_nanos;
        total.store(
            total.load(Ordering::Relaxed).saturating_add(nanos),
            Ordering::Relaxed,
        );
    }

    /// The counts now, with `queue_depth` — the mailbox's length, which only the crate that owns
    /// the mailbox can read.
    pub fn snapshot(&self, queue_depth: usize) -> Metrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let own = &self.own;
        Metrics {
            queue_depth,
            received: get(&self.received),
            handled: get(&own.handled),
            panicked: get(&own.panicked),
            dropped: get(&own.dropped),
            restarts: get(&own.restarts),
            handler_time: Duration::from_nanos(get(&own.handler_nanos)),
        }
    }
}
