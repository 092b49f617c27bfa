//! The ticker checks on batching: batches concatenate to the input, are handed on at a tick or
//! when full, are never empty, and an idle loop costs little.

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{CheckResult, Failure, Figure, ensure, panic_text};
use crate::resources;
use crate::ticker::fixtures::{
    drain, drain_to_exit, event, events_of, fixture, frames, ms, no_empty, pair, summary_matches,
};
use crate::ticker::{Config, Event, Feed, LATE, MAX_FRAME, Running, Summary, TickerSpec};

/// How many events the conservation check sends over TCP.
pub const CONSERVATION_EVENTS: usize = 100_000;
/// How long the idle check leaves the loop without traffic.
pub const IDLE_FOR: Duration = Duration::from_secs(2);
/// The share of one core the idle loop may cost, in percent.
pub const IDLE_CPU_PERCENT: f64 = 2.0;

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
