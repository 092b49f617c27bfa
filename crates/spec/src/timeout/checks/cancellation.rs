//! The timeout checks on what follows the deadline: no more progress, the connection closed,
//! no leaks.

use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{CheckResult, Failure, Figure, ensure};
use crate::recorder::Recorder;
use crate::resources::Resources;
use crate::server::{LineServer, Script};
use crate::timeout::fixtures::{fixture, ms};
use crate::timeout::{Error, STOP_WITHIN, TimeoutSpec};

/// How soon the server must see the connection of a timed-out fetch closed.
pub const CLOSE_WITHIN: Duration = Duration::from_millis(100);
/// How many timed-out operations the leak check runs, of each kind.
pub const LEAK_ROUNDS: usize = 1000;
/// Threads the leak check tolerates above its baseline: test-harness threads that start while
/// it runs (libtest starts the next test's thread, which then waits for the exclusive lock).
pub const THREAD_SLACK: usize = 2;

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
