//! The ticker's loops, set up and reported on the same way in both styles: how a loop is set
//! up, and what it reports when it exits. One type each for both ticker crates, which
//! re-export them (`bothways_ticker_async::Config`, `bothways_ticker_threads::Config`).

use std::time::Duration;

/// How a loop is set up.
///
/// ```
/// use std::time::Duration;
/// let config = bothways_wire::ticker::Config::default();
/// assert_eq!(config.period, Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How often the gathered batch is handed on. The first tick comes one period after the
    /// loop starts. Must not be zero.
    pub period: Duration,
    /// The size cap: a batch this long is handed on at once, without waiting for the tick.
    /// Must not be zero.
    pub max_batch: usize,
    /// The longest frame payload a TCP source may announce; a longer one ends the loop with
    /// `FrameTooLarge` before anything is allocated for it.
    pub max_frame: u32,
}

impl Default for Config {
    /// A 500 ms period, batches of at most 4096 events, frames of at most 1 MiB.
    fn default() -> Self {
        Config {
            period: Duration::from_millis(500),
            max_batch: 4096,
            max_frame: 1 << 20,
        }
    }
}

/// What a loop reports when it exits: how many events and batches went through.
///
/// ```
/// let s = bothways_wire::ticker::Summary::default();
/// assert_eq!((s.events, s.batches), (0, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Events handed on, in all batches.
    pub events: u64,
    /// Batches handed on; never an empty one.
    pub batches: u64,
}
