//! The pause checks on typed errors: a deadline shorter than the item, a panicking worker, a
//! stopped one.

use std::thread;
use std::time::{Duration, Instant};

use crate::check::{CheckResult, Failure, Figure, ensure};
use crate::pause::fixtures::{finish, ids_in_order, ms, start, wait_until, within};
use crate::pause::{ANSWER_WITHIN, Error, Item, LATE, Log, PANIC_MESSAGE, PauseSpec, PauseWorker};

/// Check 7: A pause with a deadline shorter than the item in progress gives `PauseTimeout` near
/// its deadline, and leaves the worker running: the item ends, the next items are done, a later
/// pause works.
pub fn deadline_shorter_than_item_is_typed_error<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 8, &log)?;
    worker
        .send(Item::slow(0, Duration::from_millis(300)))
        .map_err(|e| Failure::new("the item to be sent", format!("{e:?}")))?;
    ensure(
        wait_until(ANSWER_WITHIN, || log.begun().count() == 1),
        "the 300 ms item to begin",
        || "it not begun after 2 s",
    )?;
    let limit = Duration::from_millis(50);
    let asked = Instant::now();
    let result = within(&worker, ANSWER_WITHIN, "pause_within(50 ms)", move |w| {
        w.pause_within(limit).map(drop)
    })?;
    let took = asked.elapsed();
    ensure(
        matches!(result, Err(Error::PauseTimeout { waited }) if waited >= limit),
        "Err(PauseTimeout { waited >= 50 ms })",
        || format!("{result:?} after {}", ms(took)),
    )?;
    ensure(
        took <= limit + LATE,
        &format!("PauseTimeout within {}", ms(limit + LATE)),
        || format!("it after {}", ms(took)),
    )?;
    for id in 1..=5 {
        worker
            .send(Item::quick(id))
            .map_err(|e| Failure::new("more items to be sent", format!("{e:?}")))?;
    }
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() == 6),
        "the worker to go on after the failed pause: 6 items done within 2 s",
        || format!("{} done", log.ended().count()),
    )?;
    let later = within(&worker, ANSWER_WITHIN, "a later pause()", |w| {
        w.pause().map(drop)
    })?;
    ensure(later.is_ok(), "a later pause() to work", || {
        format!("{later:?}")
    })?;
    finish(&worker)?;
    ids_in_order(&log, 6)?;
    Ok(vec![Figure::millis("gave up after", took)])
}

/// Check 9: A worker that panics gives callers a typed error instead of a hang: a pause waiting
/// on the panicking item, a later pause and `finish()` all answer `Panicked`, and a send answers
/// an error.
pub fn worker_panic_is_typed_error<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 4, &log)?;
    worker
        .send(Item::panicking(0, Duration::from_millis(100)))
        .map_err(|e| Failure::new("the item to be sent", format!("{e:?}")))?;
    ensure(
        wait_until(ANSWER_WITHIN, || log.begun().count() == 1),
        "the panicking item to begin",
        || "it not begun after 2 s",
    )?;
    let is_panicked = |r: &Result<(), Error>| matches!(r, Err(Error::Panicked { message }) if message.contains(PANIC_MESSAGE));
    let waiting = within(
        &worker,
        ANSWER_WITHIN,
        "a pause waiting on the panic",
        |w| w.pause().map(drop),
    )?;
    ensure(
        is_panicked(&waiting),
        "Err(Panicked { message: \"boom\" }) for the waiting pause",
        || format!("{waiting:?}"),
    )?;
    let later = within(&worker, ANSWER_WITHIN, "a later pause()", |w| {
        w.pause().map(drop)
    })?;
    ensure(
        is_panicked(&later),
        "Err(Panicked { message: \"boom\" }) for a later pause",
        || format!("{later:?}"),
    )?;
    let sent = within(&worker, ANSWER_WITHIN, "a send to the dead worker", |w| {
        // More than the input holds: a send into a buffer nobody reads would block.
        (1..=16).try_for_each(|id| w.send(Item::quick(id)))
    })?;
    ensure(sent.is_err(), "a send to the dead worker to fail", || {
        format!("{sent:?}")
    })?;
    let finished = within(&worker, ANSWER_WITHIN, "finish()", |w| w.finish())?;
    ensure(
        is_panicked(&finished),
        "Err(Panicked { message: \"boom\" }) from finish()",
        || format!("{finished:?}"),
    )?;
    Ok(Vec::new())
}

/// Check 10: Once its input is closed and drained the worker has stopped: a pause answers
/// `Stopped` instead of waiting for an item that will never come, and nothing sent was lost.
pub fn pause_after_stop_is_typed_error<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 4, &log)?;
    for id in 0..3 {
        worker
            .send(Item::quick(id))
            .map_err(|e| Failure::new("the items to be sent", format!("{e:?}")))?;
    }
    worker.close();
    let end = Instant::now() + ANSWER_WITHIN;
    let result = loop {
        let result = within(&worker, ANSWER_WITHIN, "pause() after close", |w| {
            w.pause().map(drop)
        })?;
        // A pause that lands while the worker is still draining may be granted: try again.
        if result.is_err() || Instant::now() >= end {
            break result;
        }
        thread::sleep(Duration::from_millis(1));
    };
    ensure(
        result == Err(Error::Stopped),
        "Err(Stopped) from a pause once the input is closed and drained",
        || format!("{result:?}"),
    )?;
    finish(&worker)?;
    ids_in_order(&log, 3)?;
    Ok(Vec::new())
}
