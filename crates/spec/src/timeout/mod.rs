//! The timeout pattern's contract: bound any operation — including connect-then-read-many — with
//! real cancellation, so that after the deadline the operation makes no further progress.

// The layout: this file holds the trait, the error, the constants more than one theme uses and
// the suite's macros; the checks are in `checks/`, one file per theme, and what they share
// (the check that a result is `Elapsed` on time) in `fixtures.rs`.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use crate::check::Check;
use crate::recorder::Recorder;

mod checks;
mod fixtures;

pub use checks::cancellation::{
    CLOSE_WITHIN, LEAK_ROUNDS, THREAD_SLACK, connection_closed_after_deadline,
    no_leak_after_many_timeouts, no_progress_after_deadline,
};
pub use checks::deadline::{
    concurrent_callers_keep_their_own_deadlines, fast_operation_returns_its_value,
    finishing_at_the_limit_gives_one_answer, huge_limit_means_no_limit,
    slow_operation_elapses_within_bound, zero_limit_elapses_at_once,
};
pub use checks::errors::{
    eof_before_newline_is_a_typed_error, overlong_line_is_a_typed_error,
    panic_becomes_typed_error_and_pool_survives, refused_connection_is_a_typed_error,
};
pub use checks::network::{
    OVERSHOOT, PRECISION_FETCHES, PRECISION_ROUNDS, PRECISION_STAGGER,
    accept_elapses_when_nobody_connects, accept_returns_the_connection,
    fetch_line_keeps_its_deadline, one_deadline_bounds_a_dripping_read,
    whole_message_arrives_within_deadline,
};

/// How late an `Elapsed` may come after the limit: generous, for a noisy 2-core machine.
pub const LATE: Duration = Duration::from_millis(150);
/// How long an operation may keep making progress once `Elapsed` has been returned.
pub const STOP_WITHIN: Duration = Duration::from_millis(50);

/// What an operation under a timeout ended in, in words both styles share. Each
/// implementation's adapter maps its own crate's error enum onto this one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The deadline passed before the operation finished.
    #[error("the deadline passed")]
    Elapsed,
    /// The operation panicked; the caller got this instead of the unwind.
    #[error("the operation panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// The peer's message broke the framing rules both styles share (too long, or cut off).
    #[error(transparent)]
    Wire(#[from] bothways_wire::Error),
    /// An I/O error other than the deadline.
    #[error("I/O error: {0}")]
    Io(std::io::ErrorKind),
    /// Anything else the implementation reports.
    #[error("{0}")]
    Other(String),
}

/// What both styles of the timeout pattern must do, stated as blocking calls.
///
/// Every method bounds its operation by `limit`, measured from the call. An async adapter
/// blocks on its runtime inside each method; a threads implementation just runs. Callers on
/// several threads may use one implementation at once, hence `Sync`.
pub trait TimeoutSpec: Sync {
    /// Runs `n` operations that finish at once — the `i`th returns `i` — each under its own
    /// timeout of `limit`, and returns the sum of what they returned (or the first error).
    fn instant(&self, n: u32, limit: Duration) -> Result<u64, Error>;

    /// Runs one operation of `steps` steps, each recording one side effect in `recorder` and
    /// then waiting `step`; returns the number of steps done.
    fn steps(
        &self,
        steps: u32,
        step: Duration,
        recorder: &Recorder,
        limit: Duration,
    ) -> Result<u32, Error>;

    /// Connects to `addr` and reads one newline-terminated message of at most `max_len` bytes
    /// (newline excluded), with one deadline over the connect and every read. Returns the
    /// message without its newline.
    fn fetch_line(
        &self,
        addr: SocketAddr,
        limit: Duration,
        max_len: usize,
    ) -> Result<Vec<u8>, Error>;

    /// Accepts one connection on `listener` and returns the peer's address.
    fn accept(&self, listener: &TcpListener, limit: Duration) -> Result<SocketAddr, Error>;

    /// Runs an operation that panics with `message`.
    fn panics(&self, message: &'static str, limit: Duration) -> Result<(), Error>;
}

macro_rules! checks {
    (; $($name:ident),+ $(,)?) => {
        /// The names of the checks, in the order the suite runs them.
        pub const CHECK_NAMES: &[&str] = &[$(stringify!($name)),+];

        /// Every check, in order, for the runner.
        ///
        /// ```
        /// use std::net::{SocketAddr, TcpListener};
        /// use std::time::Duration;
        /// use bothways_spec::check::run_check;
        /// use bothways_spec::recorder::Recorder;
        /// use bothways_spec::timeout::{Error, TimeoutSpec, checks};
        ///
        /// /// Runs everything inline with no deadline at all: right for instant work only.
        /// struct NoTimeout;
        /// impl TimeoutSpec for NoTimeout {
        ///     fn instant(&self, n: u32, _: Duration) -> Result<u64, Error> {
        ///         Ok((0..u64::from(n)).sum())
        ///     }
        ///     fn steps(&self, steps: u32, step: Duration, r: &Recorder, _: Duration) -> Result<u32, Error> {
        ///         for _ in 0..steps { r.record(); std::thread::sleep(step); }
        ///         Ok(steps)
        ///     }
        ///     fn fetch_line(&self, _: SocketAddr, _: Duration, _: usize) -> Result<Vec<u8>, Error> {
        ///         Err(Error::Other("not implemented".into()))
        ///     }
        ///     fn accept(&self, _: &TcpListener, _: Duration) -> Result<SocketAddr, Error> {
        ///         Err(Error::Other("not implemented".into()))
        ///     }
        ///     fn panics(&self, _: &'static str, _: Duration) -> Result<(), Error> {
        ///         Err(Error::Other("not implemented".into()))
        ///     }
        /// }
        ///
        /// let all = checks::<NoTimeout>();
        /// assert_eq!(all[0].name, "fast_operation_returns_its_value");
        /// assert!(run_check(all[0].run, &NoTimeout).is_ok());
        /// // A check names what it expected and what it saw.
        /// let overlong = all.iter().find(|c| c.name == "overlong_line_is_a_typed_error").unwrap();
        /// let failure = run_check(overlong.run, &NoTimeout).unwrap_err();
        /// assert_eq!(failure.seen, "Err(Other(\"not implemented\"))");
        /// ```
        pub fn checks<T: TimeoutSpec>() -> Vec<Check<T>> {
            vec![$(Check { name: stringify!($name), run: $name::<T> }),+]
        }
    };
}

/// The checks that run alone: one counts the whole process's threads and files, the other's
/// figure is a CPU cost that a neighbouring check would inflate.
pub const PROCESS_WIDE: &[&str] = &[
    "fast_operation_returns_its_value",
    "no_leak_after_many_timeouts",
];

crate::__timeout_checks!([checks]);

/// Stamps out the timeout suite: one `#[test]` per check.
///
/// `threads: make` calls `make()`; `async: make` calls `make(flavour)` once per runtime
/// flavour, in modules `current_thread` and `multi_thread`. `make` returns `Result<Impl, E>`.
///
/// ```
/// # use std::{net::{SocketAddr, TcpListener}, time::Duration};
/// # use bothways_spec::{Flavour, recorder::Recorder, timeout::{Error, TimeoutSpec}};
/// # struct Mine;
/// # impl TimeoutSpec for Mine {
/// #     fn instant(&self, _: u32, _: Duration) -> Result<u64, Error> { Ok(0) }
/// #     fn steps(&self, _: u32, _: Duration, _: &Recorder, _: Duration) -> Result<u32, Error> { Ok(0) }
/// #     fn fetch_line(&self, _: SocketAddr, _: Duration, _: usize) -> Result<Vec<u8>, Error> { Ok(vec![]) }
/// #     fn accept(&self, l: &TcpListener, _: Duration) -> Result<SocketAddr, Error> { Err(Error::Elapsed) }
/// #     fn panics(&self, _: &'static str, _: Duration) -> Result<(), Error> { Ok(()) }
/// # }
/// # impl Mine {
/// #     fn new() -> std::io::Result<Self> { Ok(Mine) }
/// #     fn on(_: Flavour) -> std::io::Result<Self> { Ok(Mine) }
/// # }
/// // In a threads crate's tests/conformance.rs: one #[test] per check.
/// bothways_spec::timeout_suite!(threads: Mine::new);
///
/// // In an async crate's: the same, in modules `current_thread` and `multi_thread`.
/// mod stamped_async {
///     use super::*;
///     bothways_spec::timeout_suite!(async: Mine::on);
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! timeout_suite {
    (threads: $make:expr) => {
        $crate::__timeout_tests!($make);
    };
    (async: $make:expr) => {
        mod current_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__timeout_tests!(|| ($make)($crate::Flavour::CurrentThread));
        }
        mod multi_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__timeout_tests!(|| ($make)($crate::Flavour::MultiThread));
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __timeout_tests {
    ($make:expr) => {
        $crate::__timeout_checks!([$crate::__stamp] timeout, $make);
    };
}

/// The one list of the timeout checks, in the order the suite runs them: handed to a callback
/// macro, which either defines [`CHECK_NAMES`] and [`checks`] or stamps out the tests.
#[doc(hidden)]
#[macro_export]
macro_rules! __timeout_checks {
    ([$($callback:tt)*] $($args:tt)*) => {
        $($callback)*! { $($args)* ;
            fast_operation_returns_its_value,
            slow_operation_elapses_within_bound,
            whole_message_arrives_within_deadline,
            one_deadline_bounds_a_dripping_read,
            fetch_line_keeps_its_deadline,
            no_progress_after_deadline,
            connection_closed_after_deadline,
            accept_elapses_when_nobody_connects,
            accept_returns_the_connection,
            concurrent_callers_keep_their_own_deadlines,
            no_leak_after_many_timeouts,
            zero_limit_elapses_at_once,
            finishing_at_the_limit_gives_one_answer,
            panic_becomes_typed_error_and_pool_survives,
            huge_limit_means_no_limit,
            overlong_line_is_a_typed_error,
            eof_before_newline_is_a_typed_error,
            refused_connection_is_a_typed_error,
        }
    };
}
