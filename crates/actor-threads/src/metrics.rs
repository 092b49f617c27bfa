//! Mailbox metrics, counted by the actor as it runs and readable from any reference to it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of one actor's mailbox metrics.
///
/// ```
/// use bothways_actor_threads::{Actor, Config, Context, spawn};
///
/// struct Echo;
/// impl Actor for Echo {
///     type Msg = u32;
///     type Reply = u32;
///     fn handle(&mut self, n: u32, _: &Context<Self>) -> u32 { n }
/// }
///
/// let echo = spawn(|| Echo, Config::default())?;
/// echo.tell(1)?;
/// assert_eq!(echo.ask(2, std::time::Duration::from_secs(5))?, 2);
/// let m = echo.metrics();
/// assert_eq!((m.received, m.handled, m.queue_depth), (2, 2, 0));
/// println!("{m}"); // received 2, handled 2, panicked 0, dropped 0, queued 0, handler time …
/// # Ok::<(), bothways_actor_threads::Error>(())
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
    /// Time spent in the handler, all messages — zero unless [`Config::handler_time`] is on:
    /// timing a handler reads the clock twice, which costs more than passing a message.
    ///
    /// [`Config::handler_time`]: crate::Config::handler_time
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
/// and a snapshot is not promised to be one instant across counters.
///
/// In this order, first in the actor's shared state: what senders write, padding, what the actor
/// writes, padding, then what both only read (its state, its id).
#[repr(C)]
pub(crate) struct Counters {
    /// Written by every sender.
    pub(crate) received: AtomicU64,
    _apart: [u8; APART],
    /// Written by the actor alone.
    pub(crate) own: Own,
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

/// The counts only the actor writes.
#[derive(Debug, Default)]
pub(crate) struct Own {
    pub(crate) handled: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) restarts: AtomicU64,
    handler_nanos: AtomicU64,
}

impl Counters {
    /// Counts one more; for a counter any sender may write.
    #[inline]
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one more; for a counter only the actor writes: a load and a store, without the
    /// locked read-modify-write of `bump`, since no other writer can come in between.
    #[inline]
    pub(crate) fn bump_own(counter: &AtomicU64) {
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    pub(crate) fn add_time(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let total = &self.own.handler_nanos;
        total.store(
            total.load(Ordering::Relaxed).saturating_add(nanos),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn snapshot(&self, queue_depth: usize) -> Metrics {
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
