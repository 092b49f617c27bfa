//! After a stall the threads loop fires one late tick and then waits a full period: no burst of
//! catch-up ticks. Real time, so only lower bounds are asserted.

use std::thread;
use std::time::{Duration, Instant};

use bothways_ticker_threads::{Config, Summary, run};

#[test]
fn after_a_stall_the_next_tick_is_a_full_period_after_the_late_one() {
    let period = Duration::from_millis(100);
    let ms = Duration::from_millis;
    let (events, source) = crossbeam_channel::unbounded();
    // Room for one batch: a second one stalls the loop until the first is taken.
    let (sink, batches) = crossbeam_channel::bounded(1);
    let config = Config {
        period,
        ..Config::default()
    };
    let start = Instant::now();
    let looping = thread::spawn(move || run(source, sink, config, crossbeam_channel::never()));
    events.send(1).unwrap();
    // Event 2 only once a tick has handed [1] on (the sink then holds it): on a busy machine
    // the first tick may come late, and must not take both. Looked at, not taken.
    while batches.is_empty() {
        thread::sleep(ms(1));
    }
    events.send(2).unwrap();
    // The next tick stalls with [2], the sink being full, until the first batch is taken at
    // 1050 ms — off the 100 ms grid.
    thread::sleep((start + ms(1050)).saturating_duration_since(Instant::now()));
    assert_eq!(batches.recv().unwrap(), [1]);
    let unstalled = Instant::now();
    assert_eq!(batches.recv().unwrap(), [2]);
    thread::sleep(ms(10));
    events.send(3).unwrap();
    assert_eq!(batches.recv().unwrap(), [3]);
    // A burst of catch-up ticks would put the next tick on the 100 ms grid, about 50 ms after
    // the stall; crossbeam's `tick` puts it a full period after the late one. (A few ms of
    // slack: the loop may resume a moment before this thread reads the clock.)
    let after = unstalled.elapsed();
    assert!(
        after >= period - ms(5),
        "[3] came {after:?} after the stall"
    );
    drop(events);
    assert_eq!(
        looping.join().unwrap().unwrap(),
        Summary {
            events: 3,
            batches: 3
        }
    );
}

#[test]
fn the_first_tick_is_one_period_after_the_start() {
    let (events, source) = crossbeam_channel::unbounded();
    let (sink, batches) = crossbeam_channel::unbounded();
    let config = Config {
        period: Duration::from_millis(300),
        ..Config::default()
    };
    let start = Instant::now();
    let looping = thread::spawn(move || run(source, sink, config, crossbeam_channel::never()));
    events.send("a").unwrap();
    assert_eq!(batches.recv().unwrap(), ["a"]);
    assert!(start.elapsed() >= Duration::from_millis(300));
    drop(events);
    looping.join().unwrap().unwrap();
}

#[test]
fn a_source_that_is_always_ready_does_not_starve_the_tick() {
    // A source with a backlog far larger than one tick's worth: only the tick can hand anything
    // on before the cap.
    let (events, source) = crossbeam_channel::unbounded();
    for _ in 0..1_000_000 {
        events.send(0u8).unwrap();
    }
    let (sink, batches) = crossbeam_channel::unbounded();
    let config = Config {
        period: Duration::from_millis(10),
        max_batch: usize::MAX,
        ..Config::default()
    };
    let (stop, stopped) = crossbeam_channel::bounded(1);
    let looping = thread::spawn(move || run(source, sink, config, stopped));
    let first = batches.recv().unwrap();
    assert!(
        !first.is_empty() && first.len() < 1_000_000,
        "{}",
        first.len()
    );
    stop.send(()).unwrap();
    looping.join().unwrap().unwrap();
}
