//! The ticker pattern's contract: a loop that gathers events from a source (a framed TCP stream
//! or an in-process channel) into batches, hands a batch on at every tick when it is not empty,
//! at once when it is full and finally when the source ends, and stops cleanly from outside.

// The layout: this file holds the traits, the types and the error they use, the constants more
// than one theme uses and the suite's macros; the checks are in `checks/`, one file per theme,
// and what they share (a socket pair, framing events, draining batches) in `fixtures.rs`.

use std::net::TcpStream;
use std::time::Duration;

use bothways_wire::Error as WireError;

use crate::check::Check;

mod checks;
mod fixtures;

pub use checks::batching::{
    CONSERVATION_EVENTS, IDLE_CPU_PERCENT, IDLE_FOR, batch_is_handed_on_while_idle,
    batches_concatenate_to_input, full_batch_is_handed_on_at_once,
    idle_loop_costs_under_2_percent_of_a_core, no_empty_batch_when_idle,
};
pub use checks::ending::{
    source_end_flushes_and_exits, stop_from_outside_flushes_and_exits_within_a_tick,
};
pub use checks::errors::{
    ALLOCATION_SLACK, oversized_frame_header_is_a_typed_error,
    peer_reset_is_an_error_and_nothing_is_lost,
    truncated_frame_is_a_typed_error_after_earlier_events,
};

/// One event: the payload of one frame.
pub type Event = Vec<u8>;

/// How late a batch or an exit may come after it is due: generous, for a noisy 2-core machine.
pub const LATE: Duration = Duration::from_millis(100);
/// The maximum frame length the checks configure.
pub const MAX_FRAME: u32 = 1 << 20;

/// How the loop is set up, in terms both styles share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The tick period.
    pub period: Duration,
    /// The size cap: a batch this long is handed on at once.
    pub max_batch: usize,
    /// The longest frame payload accepted from a TCP source.
    pub max_frame: u32,
}

/// What a loop reports when it exits: how many events and batches went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Events handed on, in all batches.
    pub events: u64,
    /// Batches handed on.
    pub batches: u64,
}

/// What a loop can end in besides a clean exit, in words both styles share. Each
/// implementation's adapter maps its own crate's error enum onto this one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The TCP source broke the framing rules (a frame too long, or cut off).
    #[error(transparent)]
    Wire(#[from] WireError),
    /// An I/O error on the TCP source.
    #[error("I/O error: {0}")]
    Io(std::io::ErrorKind),
    /// Anything else the implementation reports.
    #[error("{0}")]
    Other(String),
}

/// What waiting for the next batch gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A batch.
    Batch(Vec<Event>),
    /// Nothing within the wait.
    Idle,
    /// The loop has exited and every batch it handed on has been taken.
    Closed,
}

/// A running loop, as a check sees it: its sink, a way to stop it, and its exit.
pub trait Running: Send {
    /// Waits up to `within` for the next batch from the loop's sink.
    fn next_batch(&mut self, within: Duration) -> Next;
    /// Asks the loop to stop from outside: it flushes what it gathered and exits.
    fn stop(&mut self);
    /// Waits for the loop to exit and returns its report. Call it after [`Next::Closed`].
    fn finish(self) -> Result<Summary, Error>;
}

/// The sending end of an in-process source. Dropping it ends the source.
pub trait Feed: Send {
    /// Sends one event; `false` if the loop is gone.
    fn send(&mut self, event: Event) -> bool;
}

/// What both styles of the ticker pattern must do, stated as blocking calls: each starts a
/// loop in the background and returns at once.
pub trait TickerSpec {
    /// A running loop.
    type Running: Running;
    /// The sending end of an in-process source.
    type Feed: Feed;

    /// Starts a loop reading length-prefixed frames ([`bothways_wire::frame`]) from `stream`.
    fn tcp(&self, stream: TcpStream, config: Config) -> Result<Self::Running, Error>;

    /// Starts a loop over an in-process channel and returns its sending end.
    fn in_process(&self, config: Config) -> Result<(Self::Feed, Self::Running), Error>;
}

macro_rules! checks {
    (; $($name:ident),+ $(,)?) => {
        /// The names of the checks, in the order the suite runs them.
        pub const CHECK_NAMES: &[&str] = &[$(stringify!($name)),+];

        /// Every check, in order, for the runner.
        ///
        /// ```
        /// use bothways_spec::ticker::{CHECK_NAMES, checks};
        /// # use bothways_spec::ticker::*;
        /// # struct Nothing;
        /// # struct Never;
        /// # impl Running for Never {
        /// #     fn next_batch(&mut self, _: std::time::Duration) -> Next { Next::Closed }
        /// #     fn stop(&mut self) {}
        /// #     fn finish(self) -> Result<Summary, Error> { Ok(Summary::default()) }
        /// # }
        /// # impl Feed for Never { fn send(&mut self, _: Event) -> bool { false } }
        /// # impl TickerSpec for Nothing {
        /// #     type Running = Never;
        /// #     type Feed = Never;
        /// #     fn tcp(&self, _: std::net::TcpStream, _: Config) -> Result<Never, Error> { Ok(Never) }
        /// #     fn in_process(&self, _: Config) -> Result<(Never, Never), Error> { Ok((Never, Never)) }
        /// # }
        /// let all = checks::<Nothing>();
        /// assert_eq!(all.len(), CHECK_NAMES.len());
        /// assert_eq!(all[0].name, "batches_concatenate_to_input");
        /// // A loop that hands nothing on fails, saying what it expected and saw.
        /// let failure = bothways_spec::check::run_check(all[0].run, &Nothing).unwrap_err();
        /// assert!(failure.expected.contains("100000 events"), "{failure}");
        /// ```
        pub fn checks<T: TickerSpec>() -> Vec<Check<T>> {
            vec![$(Check { name: stringify!($name), run: $name::<T> }),+]
        }
    };
}

/// The checks that measure the whole process (CPU time, peak address space), so run alone.
pub const PROCESS_WIDE: &[&str] = &[
    "idle_loop_costs_under_2_percent_of_a_core",
    "oversized_frame_header_is_a_typed_error",
];

crate::__ticker_checks!([checks]);

/// Stamps out the ticker suite: one `#[test]` per check.
///
/// `threads: make` calls `make()`; `async: make` calls `make(flavour)` once per runtime
/// flavour, in modules `current_thread` and `multi_thread`. `make` returns `Result<Impl, E>`.
/// Used exactly like [`timeout_suite!`](crate::timeout_suite).
#[macro_export]
macro_rules! ticker_suite {
    (threads: $make:expr) => {
        $crate::__ticker_tests!($make);
    };
    (async: $make:expr) => {
        mod current_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__ticker_tests!(|| ($make)($crate::Flavour::CurrentThread));
        }
        mod multi_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__ticker_tests!(|| ($make)($crate::Flavour::MultiThread));
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __ticker_tests {
    ($make:expr) => {
        $crate::__ticker_checks!([$crate::__stamp] ticker, $make);
    };
}

/// The one list of the ticker checks, in the order the suite runs them: handed to a callback
/// macro, which either defines [`CHECK_NAMES`] and [`checks`] or stamps out the tests.
#[doc(hidden)]
#[macro_export]
macro_rules! __ticker_checks {
    ([$($callback:tt)*] $($args:tt)*) => {
        $($callback)*! { $($args)* ;
            batches_concatenate_to_input,
            batch_is_handed_on_while_idle,
            full_batch_is_handed_on_at_once,
            source_end_flushes_and_exits,
            stop_from_outside_flushes_and_exits_within_a_tick,
            no_empty_batch_when_idle,
            idle_loop_costs_under_2_percent_of_a_core,
            oversized_frame_header_is_a_typed_error,
            truncated_frame_is_a_typed_error_after_earlier_events,
            peer_reset_is_an_error_and_nothing_is_lost,
        }
    };
}
