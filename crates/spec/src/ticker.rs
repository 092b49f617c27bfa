//! The ticker pattern's contract: a loop that gathers events from a source (a framed TCP stream
//! or an in-process channel) into batches, hands a batch on at every tick when it is not empty,
//! at once when it is full and finally when the source ends, and stops cleanly from outside.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use bothways_wire::Error as WireError;
use bothways_wire::frame::encode;

use crate::check::{Check, CheckResult, Failure, Figure, ensure, panic_text};
use crate::resources;

/// One event: the payload of one frame.
pub type Event = Vec<u8>;

/// How late a batch or an exit may come after it is due: generous, for a noisy 2-core machine.
pub const LATE: Duration = Duration::from_millis(100);
/// How many events the conservation check sends over TCP.
pub const CONSERVATION_EVENTS: usize = 100_000;
/// How long the idle check leaves the loop without traffic.
pub const IDLE_FOR: Duration = Duration::from_secs(2);
/// The share of one core the idle loop may cost, in percent.
pub const IDLE_CPU_PERCENT: f64 = 2.0;
/// The maximum frame length the checks configure.
pub const MAX_FRAME: u32 = 1 << 20;
/// How far the process's peak virtual size may grow during the oversized-header check: far
/// less than the 4 GiB the header announces, far more than a thread stack or malloc arena.
pub const ALLOCATION_SLACK: u64 = 2 << 30;

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

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn fixture<T>(what: &str, r: std::io::Result<T>) -> Result<T, Failure> {
    r.map_err(|e| Failure::new(format!("the fixture to {what}"), format!("I/O error {e}")))
}

/// A connected pair of loopback sockets: `(peer, for_the_loop)`.
fn pair() -> Result<(TcpStream, TcpStream), Failure> {
    let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
    let addr = fixture("read its address", listener.local_addr())?;
    let peer = fixture("connect", TcpStream::connect(addr))?;
    let (ours, _) = fixture("accept", listener.accept())?;
    fixture("set nodelay", peer.set_nodelay(true))?;
    Ok((peer, ours))
}

/// The frames of `events`, back to back.
fn frames(events: &[Event]) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    for e in events {
        encode(e, &mut out).map_err(|e| Failure::new("events that fit a frame", e.to_string()))?;
    }
    Ok(out)
}

/// Event `i` of a check: its index, then a few bytes more so events differ in length.
fn event(i: usize) -> Event {
    let mut e = (i as u64).to_be_bytes().to_vec();
    e.resize(8 + i % 57, (i % 251) as u8);
    e
}

/// Batches, each with the instant the check took it from the sink.
type Timed = Vec<(Instant, Vec<Event>)>;

/// Takes batches until the loop closes or `within` passes; returns them with when each came.
fn drain<R: Running>(running: &mut R, within: Duration) -> (Timed, bool) {
    let until = Instant::now() + within;
    let mut got = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match running.next_batch(left) {
            Next::Batch(b) => got.push((Instant::now(), b)),
            Next::Closed => return (got, true),
            Next::Idle if left.is_zero() => return (got, false),
            Next::Idle => {}
        }
    }
}

/// Fails if any batch is empty.
fn no_empty(batches: &[(Instant, Vec<Event>)]) -> Result<(), Failure> {
    let empty = batches.iter().filter(|(_, b)| b.is_empty()).count();
    ensure(empty == 0, "never an empty batch", || {
        format!("{empty} empty of {}", batches.len())
    })
}

/// Drains until the loop closes (within `within`) and returns its batches and its exit.
fn drain_to_exit<R: Running>(
    mut running: R,
    within: Duration,
) -> Result<(Timed, Result<Summary, Error>), Failure> {
    let (batches, closed) = drain(&mut running, within);
    if !closed {
        // Stop it so the test does not leave it behind, then report.
        running.stop();
        return Err(Failure::new(
            format!("the loop to exit within {}", ms(within)),
            format!("it still running, {} batches in", batches.len()),
        ));
    }
    no_empty(&batches)?;
    let exit = running.finish();
    Ok((batches, exit))
}

fn events_of(batches: &[(Instant, Vec<Event>)]) -> Vec<Event> {
    batches
        .iter()
        .flat_map(|(_, b)| b.iter().cloned())
        .collect()
}

fn summary_matches(
    exit: &Result<Summary, Error>,
    batches: &[(Instant, Vec<Event>)],
) -> Result<(), Failure> {
    let want = Summary {
        events: batches.iter().map(|(_, b)| b.len() as u64).sum(),
        batches: batches.len() as u64,
    };
    ensure(
        exit == &Ok(want),
        &format!("a clean exit reporting {want:?}"),
        || format!("{exit:?}"),
    )
}

/// Writes `bytes` in pieces of pseudo-random sizes, from 1 byte to 64 KiB, so frames are split
/// anywhere; `seed` makes the sizes the same on every run.
fn write_scattered(peer: &mut TcpStream, bytes: &[u8], mut seed: u64) -> std::io::Result<()> {
    let mut rest = bytes;
    while !rest.is_empty() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Mostly small writes, some large: a size drawn on a log scale.
        let bits = seed % 17; // 2^0 ..= 2^16
        let n = (1 + (seed >> 8) % (1 << bits)) as usize;
        let n = n.min(64 * 1024).min(rest.len());
        peer.write_all(&rest[..n])?;
        rest = &rest[n..];
    }
    Ok(())
}

/// Conservation: 100,000 events sent over TCP in writes of random sizes (1 byte to 64 KiB,
/// splitting frames anywhere) with a 1 ms tick: the batches concatenate to exactly the events
/// sent, in order, none is empty, and the exit reports the same counts.
pub fn batches_concatenate_to_input<T: TickerSpec>(imp: &T) -> CheckResult {
    let (mut peer, ours) = pair()?;
    let config = Config {
        period: Duration::from_millis(1),
        max_batch: 4096,
        max_frame: MAX_FRAME,
    };
    let running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..CONSERVATION_EVENTS).map(event).collect();
    let bytes = frames(&sent)?;
    let start = Instant::now();
    let writer = thread::spawn(move || {
        let written = write_scattered(&mut peer, &bytes, 0x2545_f491_4f6c_dd1d);
        drop(peer); // the source ends: the loop flushes and exits
        written
    });
    let (batches, exit) = drain_to_exit(running, Duration::from_secs(20))?;
    let took = start.elapsed();
    let written = writer
        .join()
        .map_err(|p| Failure::new("the writer thread", panic_text(&*p)))?;
    let got = events_of(&batches);
    let first_wrong = got.iter().zip(&sent).position(|(a, b)| a != b);
    ensure(
        got.len() == sent.len() && first_wrong.is_none(),
        &format!("{} events, in order", sent.len()),
        || match first_wrong {
            Some(i) => format!("{} events, the first wrong at index {i}", got.len()),
            None => format!("{} events", got.len()),
        },
    )?;
    // After the events: a loop that quits early breaks the writer's pipe, and the events say
    // more about why.
    fixture("write", written)?;
    summary_matches(&exit, &batches)?;
    let rate = sent.len() as f64 / took.as_secs_f64();
    Ok(vec![
        Figure::count("batches", batches.len() as i64, ""),
        Figure::new("throughput", rate / 1e6, "M events/s"),
    ])
}

/// A batch is handed on while the source is idle: 3 events, then silence on an open
/// connection — the batch comes within the period plus 100 ms, without a fourth event.
pub fn batch_is_handed_on_while_idle<T: TickerSpec>(imp: &T) -> CheckResult {
    let period = Duration::from_millis(300);
    let (mut peer, ours) = pair()?;
    let config = Config {
        period,
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let mut running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..3).map(event).collect();
    let written_at = Instant::now();
    fixture("write", peer.write_all(&frames(&sent)?))?;
    // Wait well past the bound, so a late batch is seen late rather than not at all.
    let (batches, closed) = drain(&mut running, period * 3);
    ensure(!closed, "the loop still running", || "it exited")?;
    no_empty(&batches)?;
    let got = events_of(&batches);
    let last = batches
        .last()
        .map(|(at, _)| at.saturating_duration_since(written_at));
    ensure(got == sent, "the 3 events, in order", || {
        format!("{} events", got.len())
    })?;
    let last = last.unwrap_or_default();
    ensure(
        last <= period + LATE,
        &format!("them handed on within {}", ms(period + LATE)),
        || format!("the last after {}", ms(last)),
    )?;
    drop(peer);
    let (rest, exit) = drain_to_exit(running, Duration::from_secs(2))?;
    ensure(rest.is_empty(), "no more batches", || {
        format!("{} more", rest.len())
    })?;
    summary_matches(&exit, &batches)?;
    Ok(vec![Figure::millis("handed on after", last)])
}

/// Size cap: with a 10 s tick and a cap of 10, 25 events give two full batches at once, then
/// nothing until the source ends, then a final batch of 5.
pub fn full_batch_is_handed_on_at_once<T: TickerSpec>(imp: &T) -> CheckResult {
    let config = Config {
        period: Duration::from_secs(10),
        max_batch: 10,
        max_frame: MAX_FRAME,
    };
    let (mut feed, mut running) = imp
        .in_process(config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..25).map(event).collect();
    let start = Instant::now();
    for e in &sent {
        ensure(
            feed.send(e.clone()),
            "the loop to take every event",
            || "it gone",
        )?;
    }
    let (full, _) = drain(&mut running, Duration::from_millis(500));
    let sizes: Vec<usize> = full.iter().map(|(_, b)| b.len()).collect();
    ensure(
        sizes == [10, 10],
        "two batches of 10 at once, well before the 10 s tick",
        || format!("batches of {sizes:?} within 500 ms"),
    )?;
    let full_after = full.last().map_or(Duration::ZERO, |(at, _)| {
        at.saturating_duration_since(start)
    });
    drop(feed);
    let (rest, exit) = drain_to_exit(running, Duration::from_secs(2))?;
    let rest_sizes: Vec<usize> = rest.iter().map(|(_, b)| b.len()).collect();
    ensure(
        rest_sizes == [5],
        "a final batch of 5 when the source ends",
        || format!("batches of {rest_sizes:?}"),
    )?;
    let all: Vec<_> = full.into_iter().chain(rest).collect();
    ensure(
        events_of(&all) == sent,
        "the 25 events, in order",
        || "them out of order",
    )?;
    summary_matches(&exit, &all)?;
    Ok(vec![Figure::millis("2 full batches after", full_after)])
}

/// Final flush: with a 10 s tick, 7 events and then the peer's close give one batch of 7 at
/// once, and a clean exit reporting 7 events in 1 batch.
pub fn source_end_flushes_and_exits<T: TickerSpec>(imp: &T) -> CheckResult {
    let config = Config {
        period: Duration::from_secs(10),
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (mut peer, ours) = pair()?;
    let running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..7).map(event).collect();
    fixture("write", peer.write_all(&frames(&sent)?))?;
    let closed_at = Instant::now();
    drop(peer);
    let (batches, exit) = drain_to_exit(running, Duration::from_secs(1))?;
    let took = closed_at.elapsed();
    ensure(
        events_of(&batches) == sent,
        "the 7 events, in order",
        || format!("{} events", events_of(&batches).len()),
    )?;
    ensure(
        exit == Ok(Summary {
            events: 7,
            batches: 1,
        }),
        "a clean exit reporting 7 events in 1 batch",
        || format!("{exit:?}"),
    )?;
    Ok(vec![Figure::millis("exited after", took)])
}

/// Stop from outside: a loop over an open, silent connection (500 ms tick) holding 5 events
/// hands them on and exits within one tick of being told to stop.
pub fn stop_from_outside_flushes_and_exits_within_a_tick<T: TickerSpec>(imp: &T) -> CheckResult {
    let period = Duration::from_millis(500);
    let config = Config {
        period,
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (mut peer, ours) = pair()?;
    let mut running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..5).map(event).collect();
    fixture("write", peer.write_all(&frames(&sent)?))?;
    // Long enough for the loop to read them, short of the first tick.
    thread::sleep(Duration::from_millis(100));
    let stopped_at = Instant::now();
    running.stop();
    let drained = drain_to_exit(running, period + LATE);
    let took = stopped_at.elapsed();
    // The connection is held open throughout: the loop must not wait for the peer.
    drop(peer);
    let (batches, exit) = drained?;
    ensure(
        events_of(&batches) == sent,
        "the 5 events, in order",
        || format!("{} events", events_of(&batches).len()),
    )?;
    summary_matches(&exit, &batches)?;
    Ok(vec![Figure::millis("exited after stop", took)])
}

/// Never an empty batch: a loop with a 5 ms tick and no traffic for 500 ms hands nothing on.
pub fn no_empty_batch_when_idle<T: TickerSpec>(imp: &T) -> CheckResult {
    let config = Config {
        period: Duration::from_millis(5),
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (feed, mut running) = imp
        .in_process(config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let (batches, closed) = drain(&mut running, Duration::from_millis(500));
    ensure(!closed, "the loop still running", || "it exited")?;
    ensure(batches.is_empty(), "no batch from 100 idle ticks", || {
        format!("{} batches", batches.len())
    })?;
    drop(feed);
    let (rest, exit) = drain_to_exit(running, Duration::from_secs(1))?;
    ensure(
        rest.is_empty() && exit == Ok(Summary::default()),
        "a clean exit reporting nothing handed on",
        || format!("{} batches, {exit:?}", rest.len()),
    )?;
    Ok(Vec::new())
}

/// Idle is idle: a loop over an open, silent connection, with the default 500 ms tick, costs
/// the process under 2% of a core over 2 s (process CPU time, all threads).
pub fn idle_loop_costs_under_2_percent_of_a_core<T: TickerSpec>(imp: &T) -> CheckResult {
    let config = Config {
        period: Duration::from_millis(500),
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (peer, ours) = pair()?;
    let mut running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    // Let it settle into its wait before measuring.
    thread::sleep(Duration::from_millis(100));
    let cpu_before = fixture("read the process's CPU time", resources::cpu_time())?;
    let start = Instant::now();
    thread::sleep(IDLE_FOR);
    let cpu = fixture("read the process's CPU time", resources::cpu_time())? - cpu_before;
    let wall = start.elapsed();
    running.stop();
    drop(peer);
    let (batches, exit) = drain_to_exit(running, Duration::from_secs(2))?;
    let percent = cpu.as_secs_f64() / wall.as_secs_f64() * 100.0;
    ensure(
        percent < IDLE_CPU_PERCENT,
        &format!("under {IDLE_CPU_PERCENT}% of a core while idle"),
        || format!("{percent:.2}% ({} over {})", ms(cpu), ms(wall)),
    )?;
    ensure(
        batches.is_empty() && exit == Ok(Summary::default()),
        "a clean exit reporting nothing handed on",
        || format!("{} batches, {exit:?}", batches.len()),
    )?;
    Ok(vec![Figure::new("idle CPU", percent, "%")])
}

/// Bad input: after 2 good events, a frame header announcing 4 GiB ends the loop with
/// `FrameTooLarge`; the 2 events are still handed on, and the process never reserved anything
/// near 4 GiB (its peak virtual size grows by less than [`ALLOCATION_SLACK`]).
pub fn oversized_frame_header_is_a_typed_error<T: TickerSpec>(imp: &T) -> CheckResult {
    let config = Config {
        period: Duration::from_secs(10),
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (mut peer, ours) = pair()?;
    let peak_before = fixture("read VmPeak", resources::peak_virtual())?;
    let running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..2).map(event).collect();
    let mut bytes = frames(&sent)?;
    bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    bytes.extend_from_slice(&[0; 64]);
    fixture("write", peer.write_all(&bytes))?;
    // Held open: the error must come from the header alone, not from the close.
    let drained = drain_to_exit(running, Duration::from_secs(2));
    drop(peer);
    let (batches, exit) = drained?;
    let grew = fixture("read VmPeak", resources::peak_virtual())?.saturating_sub(peak_before);
    ensure(events_of(&batches) == sent, "the 2 good events", || {
        format!("{} events", events_of(&batches).len())
    })?;
    let want = Err(Error::Wire(WireError::FrameTooLarge {
        len: u64::from(u32::MAX),
        max: MAX_FRAME,
    }));
    ensure(exit == want, &format!("{want:?}"), || format!("{exit:?}"))?;
    ensure(
        grew < ALLOCATION_SLACK,
        "no allocation of the announced size (peak virtual size up by under 2 GiB)",
        || format!("it up by {} MiB", grew >> 20),
    )?;
    Ok(vec![Figure::count(
        "peak virtual Δ",
        (grew >> 20) as i64,
        "MiB",
    )])
}

/// Bad input: 3 events, then a frame cut off by the peer's close, give a typed `Truncated`
/// error saying how much of the frame came — and the 3 events are still handed on.
pub fn truncated_frame_is_a_typed_error_after_earlier_events<T: TickerSpec>(
    imp: &T,
) -> CheckResult {
    let config = Config {
        period: Duration::from_secs(10),
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (mut peer, ours) = pair()?;
    let running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..3).map(event).collect();
    let mut bytes = frames(&sent)?;
    bytes.extend_from_slice(&100u32.to_be_bytes());
    bytes.extend_from_slice(&[7; 10]);
    fixture("write", peer.write_all(&bytes))?;
    drop(peer);
    let (batches, exit) = drain_to_exit(running, Duration::from_secs(2))?;
    ensure(
        events_of(&batches) == sent,
        "the 3 events before the cut",
        || format!("{} events", events_of(&batches).len()),
    )?;
    let want = Err(Error::Wire(WireError::Truncated {
        expected: 104,
        received: 14,
    }));
    ensure(exit == want, &format!("{want:?}"), || format!("{exit:?}"))?;
    Ok(Vec::new())
}

/// Bad input: a peer that sends 5 events and then resets the connection gives an I/O error —
/// and the 5 events, gathered but not yet due (10 s tick), are still handed on.
pub fn peer_reset_is_an_error_and_nothing_is_lost<T: TickerSpec>(imp: &T) -> CheckResult {
    let config = Config {
        period: Duration::from_secs(10),
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (mut peer, ours) = pair()?;
    // std cannot set SO_LINGER, so the reset is made the other way the kernel makes one: the
    // peer closes with bytes it never read. A clone of the loop's end sends them.
    let mut back = fixture("clone the loop's end", ours.try_clone())?;
    let running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..5).map(event).collect();
    fixture("write", peer.write_all(&frames(&sent)?))?;
    fixture("write back", back.write_all(b"unread"))?;
    // Long enough for the loop to read the events and for the unread bytes to land.
    thread::sleep(Duration::from_millis(200));
    drop(peer);
    let drained = drain_to_exit(running, Duration::from_secs(2));
    drop(back);
    let (batches, exit) = drained?;
    ensure(
        events_of(&batches) == sent,
        "the 5 events read before the reset",
        || format!("{} events", events_of(&batches).len()),
    )?;
    ensure(
        exit == Err(Error::Io(std::io::ErrorKind::ConnectionReset)),
        "Err(Io(ConnectionReset))",
        || format!("{exit:?}"),
    )?;
    Ok(Vec::new())
}
