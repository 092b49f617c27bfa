//! The ticker checks on ending: the source's end and a stop from outside both flush and exit.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{CheckResult, Failure, Figure, ensure};
use crate::ticker::fixtures::{
    drain_to_exit, event, events_of, fixture, frames, pair, summary_matches,
};
use crate::ticker::{Config, Event, LATE, MAX_FRAME, Running, Summary, TickerSpec};

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
