//! The pause checks under load: a thousand cycles, bounded input, pause latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{CheckResult, Figure, ensure};
use crate::pause::fixtures::{Flood, finish, ids_in_order, ms, paused, start, wait_until};
use crate::pause::{ANSWER_WITHIN, Item, Log, PauseSpec, PauseWorker};

/// The pause latency the issue sets when items are short: the median must stay below it.
pub const QUICK: Duration = Duration::from_millis(10);
/// How many pause/resume cycles the "nothing lost" check runs under load.
pub const CYCLES: usize = 1000;

/// Check 4: A thousand pause/resume cycles under a flood of items lose, reorder and duplicate
/// nothing: the worker goes on after every resume, and its record is exactly the ids sent, in
/// order.
pub fn thousand_cycles_lose_nothing<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 16, &log)?;
    let flood = Flood::start(&worker, Item::quick);
    let started = Instant::now();
    for cycle in 0..CYCLES {
        let guard = paused("pause()", worker.pause())?;
        let before = log.ended().count();
        drop(guard);
        // Each resume must really resume: otherwise the next pause would find the worker still
        // parked, and the cycles would not run under load at all.
        ensure(
            wait_until(ANSWER_WITHIN, || log.ended().count() > before),
            "the worker to go on after every resume",
            || format!("no item done within 2 s of resume {cycle}"),
        )?;
    }
    let took = started.elapsed();
    let sent = flood.stop()?;
    finish(&worker)?;
    ids_in_order(&log, sent)?;
    Ok(vec![
        Figure::micros(
            "per cycle",
            took / u32::try_from(CYCLES).unwrap_or(u32::MAX),
        ),
        Figure::count("items", i64::try_from(sent).unwrap_or(i64::MAX), ""),
    ])
}

/// Check 5: The input stays bounded while paused: a producer of 100 items gets no more than the
/// input's 8 slots accepted, waits, and goes on once the guard is dropped; all 100 arrive.
pub fn input_bounded_while_paused<T: PauseSpec>(imp: &T) -> CheckResult {
    let capacity = 8;
    let log = Log::new();
    let worker = start(imp, capacity, &log)?;
    let guard = paused("pause()", worker.pause())?;
    let accepted = Arc::new(AtomicU64::new(0));
    {
        let (worker, accepted) = (Arc::clone(&worker), Arc::clone(&accepted));
        thread::spawn(move || {
            for id in 0..100 {
                if worker.send(Item::quick(id)).is_err() {
                    return;
                }
                accepted.store(id + 1, Ordering::SeqCst);
            }
        });
    }
    thread::sleep(Duration::from_millis(200));
    let while_paused = accepted.load(Ordering::SeqCst);
    let begun = log.begun().count();
    drop(guard);
    ensure(
        while_paused <= capacity as u64,
        &format!("at most {capacity} items accepted while paused (the input's capacity)"),
        || format!("{while_paused}"),
    )?;
    ensure(
        while_paused > 0,
        "the producer to fill the input while paused",
        || "nothing accepted",
    )?;
    ensure(begun == 0, "no item begun while paused", || {
        format!("{begun} begun")
    })?;
    ensure(
        wait_until(ANSWER_WITHIN, || accepted.load(Ordering::SeqCst) == 100),
        "the producer to go on after the resume: 100 accepted within 2 s",
        || format!("{}", accepted.load(Ordering::SeqCst)),
    )?;
    finish(&worker)?;
    ids_in_order(&log, 100)?;
    Ok(vec![Figure::count(
        "accepted while paused",
        i64::try_from(while_paused).unwrap_or(i64::MAX),
        "of 100",
    )])
}

/// Check 6: Pause latency: with a flood of short items, the median time from asking to holding
/// the guard is under 10 ms (two hundred pauses; p99 reported).
pub fn pause_is_quick_between_short_items<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 64, &log)?;
    let flood = Flood::start(&worker, Item::quick);
    let mut took = Vec::with_capacity(200);
    for _ in 0..200 {
        let asked = Instant::now();
        let guard = paused("pause()", worker.pause())?;
        took.push(asked.elapsed());
        drop(guard);
        thread::sleep(Duration::from_millis(1));
    }
    let sent = flood.stop()?;
    finish(&worker)?;
    ids_in_order(&log, sent)?;
    took.sort();
    let median = took[took.len() / 2];
    let p99 = took[took.len() * 99 / 100];
    ensure(
        median < QUICK,
        &format!("a median pause latency under {}", ms(QUICK)),
        || format!("{} (p99 {})", ms(median), ms(p99)),
    )?;
    Ok(vec![
        Figure::micros("median", median),
        Figure::micros("p99", p99),
    ])
}
