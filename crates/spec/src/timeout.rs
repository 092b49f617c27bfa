//! The timeout pattern's contract: bound any operation — including connect-then-read-many — with
//! real cancellation, so that after the deadline the operation makes no further progress.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;
use std::time::{Duration, Instant};

use bothways_wire::Error as WireError;

use crate::check::{Check, CheckResult, Failure, Figure, ensure, panic_text};
use crate::recorder::Recorder;
use crate::resources::Resources;
use crate::server::{LineServer, Script};

/// How late an `Elapsed` may come after the limit: generous, for a noisy 2-core machine.
pub const LATE: Duration = Duration::from_millis(150);
/// How long an operation may keep making progress once `Elapsed` has been returned.
pub const STOP_WITHIN: Duration = Duration::from_millis(50);
/// How soon the server must see the connection of a timed-out fetch closed.
pub const CLOSE_WITHIN: Duration = Duration::from_millis(100);
/// How late a fetch may end in `Elapsed` in the precision check: loose enough for a noisy
/// 2-core machine, tight enough that a kernel-rounded socket timeout fails it.
pub const OVERSHOOT: Duration = Duration::from_millis(15);
/// How many fetches a round of the precision check starts, [`PRECISION_STAGGER`] apart.
pub const PRECISION_FETCHES: usize = 4;
/// How far apart the fetches of a precision round start: together they span 24 ms of the
/// kernel timer wheel's phase.
pub const PRECISION_STAGGER: Duration = Duration::from_millis(8);
/// How many rounds the precision check may run to see one in which every fetch was on time.
pub const PRECISION_ROUNDS: usize = 3;
/// How many timed-out operations the leak check runs, of each kind.
pub const LEAK_ROUNDS: usize = 1000;
/// Threads the leak check tolerates above its baseline: test-harness threads that start while
/// it runs (libtest starts the next test's thread, which then waits for the exclusive lock).
pub const THREAD_SLACK: usize = 2;

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

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn fixture<T>(what: &str, r: std::io::Result<T>) -> Result<T, Failure> {
    r.map_err(|e| Failure::new(format!("the fixture to {what}"), format!("I/O error {e}")))
}

/// Checks that `result` is `Elapsed` and that it came no earlier than `limit` and no later
/// than `limit + LATE` after `start`; returns how long it took.
fn expect_elapsed<V: std::fmt::Debug>(
    what: &str,
    result: Result<V, Error>,
    start: Instant,
    limit: Duration,
) -> Result<Duration, Failure> {
    let took = start.elapsed();
    ensure(
        matches!(result, Err(Error::Elapsed)),
        &format!("{what} to end in Elapsed"),
        || format!("{result:?} after {}", ms(took)),
    )?;
    ensure(
        took >= limit,
        &format!("Elapsed no earlier than {}", ms(limit)),
        || format!("Elapsed after {}", ms(took)),
    )?;
    ensure(
        took <= limit + LATE,
        &format!("Elapsed no later than {}", ms(limit + LATE)),
        || format!("Elapsed after {}", ms(took)),
    )?;
    Ok(took)
}

/// Check 1a: An operation that finishes at once returns its own value through the timeout.
pub fn fast_operation_returns_its_value<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let n: u32 = 2_000;
    let start = Instant::now();
    let sum = imp.instant(n, Duration::from_secs(5));
    let took = start.elapsed();
    let want = u64::from(n) * u64::from(n - 1) / 2;
    ensure(
        sum == Ok(want),
        &format!("Ok({want}), the sum of 0..{n}"),
        || format!("{sum:?}"),
    )?;
    Ok(vec![Figure::micros("per call", took / n)])
}

/// Check 1b: A slow operation ends in `Elapsed`, no earlier than the limit and no later than
/// limit + 150 ms.
pub fn slow_operation_elapses_within_bound<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let limit = Duration::from_millis(200);
    let recorder = Recorder::new();
    let start = Instant::now();
    let result = imp.steps(1_000, Duration::from_millis(10), &recorder, limit);
    let took = expect_elapsed(
        "a 10 s operation under a 200 ms limit",
        result,
        start,
        limit,
    )?;
    Ok(vec![Figure::millis("late by", took - limit)])
}

/// A fetch from a server that answers at once returns the message, newline removed.
pub fn whole_message_arrives_within_deadline<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let server = fixture(
        "start",
        LineServer::start(Script::fast(b"hello, bothways\n")),
    )?;
    let start = Instant::now();
    let got = imp.fetch_line(server.addr(), Duration::from_secs(2), 1024);
    let took = start.elapsed();
    ensure(
        got.as_deref() == Ok(b"hello, bothways".as_slice()),
        "Ok(\"hello, bothways\")",
        || format!("{:?}", got.as_ref().map(|v| String::from_utf8_lossy(v))),
    )?;
    Ok(vec![Figure::micros("fetch", took)])
}

/// Check 2: One deadline covers the whole multi-step operation: a server dripping one byte every
/// 20 ms of a 2 s message, under a 300 ms limit, ends in `Elapsed` near 300 ms. A per-read
/// timeout alone would never fire, since every read gets a byte within 20 ms.
pub fn one_deadline_bounds_a_dripping_read<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let mut message = vec![b'x'; 99];
    message.push(b'\n');
    let server = fixture(
        "start",
        LineServer::start(Script::drip(&message, Duration::from_millis(20))),
    )?;
    let limit = Duration::from_millis(300);
    let start = Instant::now();
    let result = imp.fetch_line(server.addr(), limit, 1024);
    let result = result.map(|line| String::from_utf8_lossy(&line).into_owned());
    let took = expect_elapsed(
        "a 2 s dripped message under a 300 ms limit",
        result,
        start,
        limit,
    )?;
    Ok(vec![Figure::millis("elapsed after", took)])
}

/// A fetch keeps its deadline to within a few milliseconds, whatever the limit: under a 1 s
/// limit, against a silent server and against one dripping a byte every 70 ms (never a newline,
/// never closing), four fetches started 8 ms apart all end in `Elapsed` less than 15 ms after
/// their limit — in at least one of three such rounds, since noise on a loaded machine only
/// ever adds delay. (So a fetch later even than [`LATE`] only spoils its round here; the other
/// checks hold that bound.)
///
/// The stagger is what makes a coarse deadline fail every round. A read bounded only by its
/// socket timeout (`SO_RCVTIMEO`) ends when the kernel's timer wheel gets to it: rounded up to
/// the next slot of a wheel level whose slots grow with the timeout — 32 ms wide for 1 s on a
/// 250 Hz kernel, wider elsewhere — so late by anything up to a slot, depending on when the
/// read began. A lone fetch can be lucky; of four begun 8 ms apart, one is at least 24 ms late.
pub fn fetch_line_keeps_its_deadline<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let limit = Duration::from_secs(1);
    let silent = fixture("start", LineServer::start(Script::silent()))?;
    let dripping = fixture(
        "start",
        LineServer::start(Script::drip(&[b'x'; 200], Duration::from_millis(70))),
    )?;
    let servers = [
        ("silent", "silent: latest late by", &silent),
        ("dripping", "dripping: latest late by", &dripping),
    ];
    let mut figures = Vec::new();
    for (name, figure, server) in servers {
        let addr = server.addr();
        // Each round's latest overshoot; a round within the bound ends the search.
        let mut rounds: Vec<Duration> = Vec::with_capacity(PRECISION_ROUNDS);
        while rounds.len() < PRECISION_ROUNDS && rounds.last().is_none_or(|&l| l >= OVERSHOOT) {
            let round = thread::scope(|s| {
                let fetches: Vec<_> = (0..PRECISION_FETCHES)
                    .map(|i| {
                        s.spawn(move || {
                            thread::sleep(PRECISION_STAGGER * u32::try_from(i).unwrap_or(0));
                            let start = Instant::now();
                            let result = imp.fetch_line(addr, limit, 1024);
                            let took = start.elapsed();
                            let result =
                                result.map(|line| String::from_utf8_lossy(&line).into_owned());
                            // Anything but Elapsed, or Elapsed early, is wrong whatever the
                            // noise; lateness, however large, is judged by rounds below.
                            ensure(
                                matches!(result, Err(Error::Elapsed)),
                                &format!("a fetch from a {name} server to end in Elapsed"),
                                || format!("{result:?} after {}", ms(took)),
                            )?;
                            ensure(
                                took >= limit,
                                &format!("Elapsed no earlier than {}", ms(limit)),
                                || format!("Elapsed after {}", ms(took)),
                            )?;
                            Ok(took - limit)
                        })
                    })
                    .collect();
                fetches
                    .into_iter()
                    .map(|fetch| {
                        fetch
                            .join()
                            .map_err(|p| Failure::new("no panic", panic_text(&*p)))?
                    })
                    .collect::<Result<Vec<Duration>, Failure>>()
            })?;
            rounds.push(round.into_iter().max().unwrap_or(Duration::ZERO));
        }
        let best = rounds.iter().copied().min().unwrap_or(Duration::MAX);
        ensure(
            best < OVERSHOOT,
            &format!(
                "every fetch of a round from a {name} server to end in Elapsed less than {} \
                 after its 1 s limit, in one of {PRECISION_ROUNDS} rounds of \
                 {PRECISION_FETCHES} started {} apart",
                ms(OVERSHOOT),
                ms(PRECISION_STAGGER),
            ),
            || {
                let all: Vec<String> = rounds.iter().map(|&d| ms(d)).collect();
                format!("the latest of each round late by {}", all.join(", "))
            },
        )?;
        figures.push(Figure::millis(figure, best));
    }
    Ok(figures)
}

/// Check 3a: After the deadline the operation makes no further progress: its side effects stop
/// within 50 ms of `Elapsed` being returned.
pub fn no_progress_after_deadline<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let recorder = Recorder::new();
    let limit = Duration::from_millis(100);
    let result = imp.steps(10_000, Duration::from_millis(5), &recorder, limit);
    let returned = Instant::now();
    ensure(matches!(result, Err(Error::Elapsed)), "Elapsed", || {
        format!("{result:?}")
    })?;
    ensure(
        recorder.count() > 0,
        "some progress before the deadline",
        || "no side effect at all",
    )?;
    // Give a runaway operation every chance to show itself.
    thread::sleep(Duration::from_millis(250));
    let late = recorder.count_after(returned + STOP_WITHIN);
    let last = recorder
        .last()
        .map_or(Duration::ZERO, |t| t.saturating_duration_since(returned));
    ensure(
        late == 0,
        "no side effect later than 50 ms after Elapsed",
        || format!("{late} more, the last {} after Elapsed", ms(last)),
    )?;
    Ok(vec![Figure::millis("stopped after", last)])
}

/// Check 3b: A fetch that times out lets go of its connection: the server sees it closed within
/// 100 ms.
pub fn connection_closed_after_deadline<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let message = vec![b'x'; 200];
    let server = fixture(
        "start",
        LineServer::start(Script::drip(&message, Duration::from_millis(20))),
    )?;
    let result = imp.fetch_line(server.addr(), Duration::from_millis(200), 1024);
    let returned = Instant::now();
    ensure(matches!(result, Err(Error::Elapsed)), "Elapsed", || {
        format!("{result:?}")
    })?;
    let closed = server.wait_for_close(0, Duration::from_secs(1));
    let Some(closed) = closed else {
        return Err(Failure::new(
            "the server to see the connection closed",
            "it still open 1 s after Elapsed",
        ));
    };
    let after = closed.saturating_duration_since(returned);
    ensure(
        after <= CLOSE_WITHIN,
        "the connection closed within 100 ms of Elapsed",
        || format!("it closed {} after", ms(after)),
    )?;
    Ok(vec![Figure::millis("closed after", after)])
}

/// Check 4a: Accept with a deadline returns `Elapsed` when nobody connects.
pub fn accept_elapses_when_nobody_connects<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
    let limit = Duration::from_millis(200);
    let start = Instant::now();
    let result = imp.accept(&listener, limit);
    let took = expect_elapsed("an accept nobody answers", result, start, limit)?;
    Ok(vec![Figure::millis("late by", took - limit)])
}

/// Check 4b: Accept with a deadline returns the connection when a client comes in time.
pub fn accept_returns_the_connection<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
    let addr = fixture("read its address", listener.local_addr())?;
    let connected_at = std::sync::Arc::new(std::sync::Mutex::new(None));
    let client = {
        let connected_at = std::sync::Arc::clone(&connected_at);
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            let stream = TcpStream::connect(addr)?;
            let local = stream.local_addr()?;
            *connected_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
            // Hold the stream until the accept has been checked.
            thread::sleep(Duration::from_millis(200));
            std::io::Result::Ok((stream, local))
        })
    };
    let result = imp.accept(&listener, Duration::from_secs(2));
    let accepted_at = Instant::now();
    let joined = client
        .join()
        .map_err(|p| Failure::new("the client thread", panic_text(&*p)))?;
    let (_stream, local) = fixture("connect", joined)?;
    ensure(result == Ok(local), &format!("Ok({local})"), || {
        format!("{result:?}")
    })?;
    let connected = *connected_at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let lag = connected.map_or(Duration::ZERO, |c| accepted_at.saturating_duration_since(c));
    ensure(lag <= LATE, "the connection noticed within 150 ms", || {
        format!("it noticed {} after the connect", ms(lag))
    })?;
    Ok(vec![Figure::millis("accepted after connect", lag)])
}

/// Callers on several threads at once each get their answer by their own deadline: four slow
/// operations with limits from 100 to 400 ms, and two accepts sharing one listener with limits
/// of 150 and 450 ms, all started together. One caller's deadline must not end, delay or
/// strand another's — e.g. an accept that restores the shared listener's blocking mode when
/// it returns leaves the other waiting in a blocking accept past its deadline.
pub fn concurrent_callers_keep_their_own_deadlines<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
    let addr = fixture("read its address", listener.local_addr())?;
    let step_limits = [100, 200, 300, 400].map(Duration::from_millis);
    let accept_limits = [150, 450].map(Duration::from_millis);
    let give_up = Instant::now() + Duration::from_millis(450) + LATE + Duration::from_secs(1);
    let (steps, accepts) = thread::scope(|s| {
        let steps: Vec<_> = step_limits
            .iter()
            .map(|&limit| {
                s.spawn(move || {
                    let start = Instant::now();
                    let got = imp.steps(10_000, Duration::from_millis(5), &Recorder::new(), limit);
                    (limit, got.map(|n| n.to_string()), start.elapsed())
                })
            })
            .collect();
        let listener = &listener;
        let accepts: Vec<_> = accept_limits
            .iter()
            .map(|&limit| {
                s.spawn(move || {
                    let start = Instant::now();
                    let got = imp.accept(listener, limit);
                    (limit, got.map(|peer| peer.to_string()), start.elapsed())
                })
            })
            .collect();
        // A stranded accept would never return: past every deadline, connect to release it,
        // so the check fails instead of hanging.
        while accepts.iter().any(|h| !h.is_finished()) && Instant::now() < give_up {
            thread::sleep(Duration::from_millis(5));
        }
        let mut rescues = 0;
        while accepts.iter().any(|h| !h.is_finished()) && rescues < accepts.len() {
            let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
            rescues += 1;
            thread::sleep(Duration::from_millis(50));
        }
        let join = |handles: Vec<thread::ScopedJoinHandle<'_, _>>| -> Result<Vec<_>, Failure> {
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .map_err(|p| Failure::new("no panic", panic_text(&*p)))
                })
                .collect()
        };
        (join(steps), join(accepts))
    });
    let mut worst = Duration::ZERO;
    for (limit, got, took) in steps?.into_iter().chain(accepts?) {
        ensure(
            matches!(got, Err(Error::Elapsed)),
            "every caller to end in Elapsed",
            || format!("{got:?} for the caller with {}", ms(limit)),
        )?;
        ensure(
            took >= limit && took <= limit + LATE,
            "each Elapsed within its own limit + 150 ms",
            || format!("the caller with {} answered after {}", ms(limit), ms(took)),
        )?;
        worst = worst.max(took - limit);
    }
    Ok(vec![Figure::millis("latest by", worst)])
}

/// Check 5: No leaks: a thousand timed-out operations of each kind (a stepping operation, a
/// fetch from a server that never answers, an accept nobody answers) leave the thread count and open-file count where they
/// started. The baseline is taken after the implementation was built, so a pool's own fixed
/// threads are allowed.
pub fn no_leak_after_many_timeouts<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let server = fixture("start", LineServer::start(Script::silent()))?;
    let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
    // The baseline includes the server's own thread and socket, and the count is taken before
    // the server is dropped: stopping it would wake, and so hide, any reader an implementation
    // abandoned on one of its connections.
    let before = fixture("read /proc/self", Resources::now())?;
    let recorder = Recorder::new();
    let mut elapsed = 0;
    for _ in 0..LEAK_ROUNDS {
        let step = Duration::from_millis(1);
        if imp.steps(1_000, step, &recorder, Duration::from_millis(1)) == Err(Error::Elapsed) {
            elapsed += 1;
        }
        if imp.fetch_line(server.addr(), Duration::from_millis(2), 64) == Err(Error::Elapsed) {
            elapsed += 1;
        }
        if imp.accept(&listener, Duration::from_millis(1)) == Err(Error::Elapsed) {
            elapsed += 1;
        }
    }
    ensure(
        elapsed == 3 * LEAK_ROUNDS,
        &format!("{} Elapsed", 3 * LEAK_ROUNDS),
        || format!("{elapsed}"),
    )?;
    // The server's handler for a connection ends when it sees the client's close, and threads
    // told to stop may take a moment to leave /proc/self/task: let both settle.
    let settle = Instant::now() + Duration::from_secs(2);
    let after = loop {
        let now = fixture("read /proc/self", Resources::now())?;
        let settled = now.threads <= before.threads && now.files <= before.files;
        if settled || Instant::now() >= settle {
            break now;
        }
        thread::sleep(Duration::from_millis(10));
    };
    drop(server);
    ensure(
        after.threads <= before.threads + THREAD_SLACK,
        &format!(
            "at most {} threads, as before (+{THREAD_SLACK} harness)",
            before.threads
        ),
        || format!("{}", after.threads),
    )?;
    ensure(
        after.files <= before.files,
        &format!("at most {} open files, as before", before.files),
        || format!("{}", after.files),
    )?;
    let delta = |a: usize, b: usize| {
        i64::try_from(a).unwrap_or(i64::MAX) - i64::try_from(b).unwrap_or(i64::MAX)
    };
    Ok(vec![
        Figure::count("threads Δ", delta(after.threads, before.threads), ""),
        Figure::count("files Δ", delta(after.files, before.files), ""),
    ])
}

/// Check 6a: A zero limit is not an error: a slow operation ends in `Elapsed` at once and makes no
/// progress after; an instant one gives one answer (`Ok` where the style can see it is ready
/// without waiting, `Elapsed` otherwise).
pub fn zero_limit_elapses_at_once<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let recorder = Recorder::new();
    let start = Instant::now();
    let result = imp.steps(1_000, Duration::from_millis(5), &recorder, Duration::ZERO);
    let took = expect_elapsed(
        "a slow operation under a zero limit",
        result,
        start,
        Duration::ZERO,
    )?;
    let returned = Instant::now();
    thread::sleep(Duration::from_millis(100));
    let late = recorder.count_after(returned + STOP_WITHIN);
    ensure(late == 0, "no side effect after Elapsed", || {
        format!("{late} more")
    })?;
    let instant = imp.instant(1, Duration::ZERO);
    ensure(
        matches!(instant, Ok(0) | Err(Error::Elapsed)),
        "Ok(0) or Elapsed",
        || format!("{instant:?}"),
    )?;
    Ok(vec![Figure::millis("elapsed after", took)])
}

/// How long any one answer of check 6b may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(10);

/// Check 6b: An operation that finishes right at the limit gives exactly one answer — its value or
/// `Elapsed` — and never hangs (no answer takes 10 s), and the answer comes promptly: within
/// the usual bound past the limit in the median of 20 tries (one try can be held up by a busy
/// machine; an implementation that is late every time is late in the median).
pub fn finishing_at_the_limit_gives_one_answer<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let limit = Duration::from_millis(20);
    let mut ok = 0;
    let mut took = Vec::new();
    for _ in 0..20 {
        let recorder = Recorder::new();
        let start = Instant::now();
        let result = imp.steps(1, limit, &recorder, limit);
        let this = start.elapsed();
        ensure(
            matches!(result, Ok(1) | Err(Error::Elapsed)),
            "Ok(1) or Elapsed",
            || format!("{result:?}"),
        )?;
        ensure(this <= HANG, "an answer, never a hang", || {
            format!("one after {}", ms(this))
        })?;
        took.push(this);
        ok += i64::from(result.is_ok());
    }
    took.sort_unstable();
    let median = took[took.len() / 2];
    ensure(
        median <= limit + LATE,
        &format!("an answer within {} in the median of 20", ms(limit + LATE)),
        || format!("one after {} in the median", ms(median)),
    )?;
    Ok(vec![
        Figure::count("Ok", ok, "of 20"),
        Figure::millis("median answer", median),
    ])
}

/// Check 6c: An operation that panics gives the caller a typed error, and the implementation stays
/// usable: sixteen panics in a row (more than a small pool has workers), then normal calls.
pub fn panic_becomes_typed_error_and_pool_survives<T: TimeoutSpec>(imp: &T) -> CheckResult {
    for _ in 0..16 {
        let result = catch_unwind(AssertUnwindSafe(|| {
            imp.panics("boom", Duration::from_secs(2))
        }));
        let result = result.map_err(|p| {
            Failure::new(
                "a typed error",
                format!("the panic reached the caller: {}", panic_text(&*p)),
            )
        })?;
        ensure(
            matches!(&result, Err(Error::Panicked { message }) if message.contains("boom")),
            "Err(Panicked { message: \"boom\" })",
            || format!("{result:?}"),
        )?;
    }
    let after = imp.instant(100, Duration::from_secs(2));
    ensure(
        after == Ok(4950),
        "Ok(4950) from calls after the panics",
        || format!("{after:?}"),
    )?;
    Ok(Vec::new())
}

/// Check 6d: A limit too large to add to the clock (`Duration::MAX`) means no limit, not a panic
/// from an overflowing `Instant + Duration`.
pub fn huge_limit_means_no_limit<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let instant = imp.instant(10, Duration::MAX);
    ensure(instant == Ok(45), "Ok(45)", || format!("{instant:?}"))?;
    let recorder = Recorder::new();
    let steps = imp.steps(3, Duration::from_millis(1), &recorder, Duration::MAX);
    ensure(steps == Ok(3), "Ok(3)", || format!("{steps:?}"))?;
    let server = fixture("start", LineServer::start(Script::fast(b"ok\n")))?;
    let line = imp.fetch_line(server.addr(), Duration::MAX, 16);
    ensure(
        line.as_deref() == Ok(b"ok".as_slice()),
        "Ok(\"ok\")",
        || format!("{line:?}"),
    )?;
    Ok(Vec::new())
}

/// Bad input: a line longer than the maximum is a typed error. (That nothing beyond the
/// maximum is buffered is `bothways_wire::LineDecoder`'s to test.)
pub fn overlong_line_is_a_typed_error<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let mut message = vec![b'a'; 100_000];
    message.push(b'\n');
    let server = fixture("start", LineServer::start(Script::fast(&message)))?;
    let result = imp.fetch_line(server.addr(), Duration::from_secs(2), 1024);
    ensure(
        result == Err(Error::Wire(WireError::LineTooLong { max: 1024 })),
        "Err(Wire(LineTooLong { max: 1024 }))",
        || format!("{:?}", result.map(|v| v.len())),
    )?;
    Ok(Vec::new())
}

/// Bad input: a peer that closes before the newline is a typed error that says how much came.
pub fn eof_before_newline_is_a_typed_error<T: TimeoutSpec>(imp: &T) -> CheckResult {
    let server = fixture(
        "start",
        LineServer::start(Script::fast(b"partial").then_close()),
    )?;
    let result = imp.fetch_line(server.addr(), Duration::from_secs(2), 1024);
    ensure(
        result == Err(Error::Wire(WireError::Closed { received: 7 })),
        "Err(Wire(Closed { received: 7 }))",
        || format!("{result:?}"),
    )?;
    Ok(Vec::new())
}

/// Bad input: nobody listening is a typed I/O error, at once, not a wait for the deadline.
pub fn refused_connection_is_a_typed_error<T: TimeoutSpec>(imp: &T) -> CheckResult {
    // Bind then drop: the port is free and, on loopback, refuses at once.
    let addr = {
        let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
        fixture("read its address", listener.local_addr())?
    };
    let start = Instant::now();
    let result = imp.fetch_line(addr, Duration::from_secs(5), 64);
    let took = start.elapsed();
    ensure(
        result == Err(Error::Io(std::io::ErrorKind::ConnectionRefused)),
        "Err(Io(ConnectionRefused))",
        || format!("{result:?}"),
    )?;
    ensure(
        took < Duration::from_secs(1),
        "the refusal well before the 5 s deadline",
        || format!("it after {}", ms(took)),
    )?;
    Ok(vec![Figure::millis("refused after", took)])
}
