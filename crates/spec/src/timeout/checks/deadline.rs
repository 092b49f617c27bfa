//! The timeout checks on when the answer comes: a fast operation's value, a slow one's
//! `Elapsed`, concurrent callers' own deadlines, and a zero, a just-reached or a huge limit.

use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{CheckResult, Failure, Figure, ensure, panic_text};
use crate::recorder::Recorder;
use crate::server::{LineServer, Script};
use crate::timeout::fixtures::{expect_elapsed, fixture, ms};
use crate::timeout::{Error, LATE, STOP_WITHIN, TimeoutSpec};

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
