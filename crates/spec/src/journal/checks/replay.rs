//! The journal checks on subscribers: handover, resume, past the end, lag, large replay, history
//! streaming.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use bothways_journal_format::RECORD_HEADER_LEN;

use crate::check::{CheckResult, Failure, Figure, Rng, ensure, seeded};
use crate::journal::fixtures::{
    Scratch, TCP_EVENT_LEN, append_big, big_payload, call, expect_range, open, open_sim_sized,
    payload, sim_disk,
};
use crate::journal::{
    ANSWER_WITHIN, Durability, Error, JournalSpec, QUIET, SEGMENT, SpecJournal, SpecSubscription,
};

/// Events in the handover check, appended by [`PRODUCERS`] threads.
pub const HANDOVER_EVENTS: u64 = 100_000;
/// Producers in the handover check.
pub const PRODUCERS: u64 = 4;
/// Subscribers joining at random moments in the handover check.
pub const SUBSCRIBERS: usize = 8;

/// Check 1: 8 subscribers join at random moments, from random sequence numbers, while 4
/// producers append 100,000 events; each sees exactly `from..=last`, in order, once each, with
/// the bytes its producer appended under that number.
pub fn handover_is_gapless_and_once<T: JournalSpec>(imp: &T) -> CheckResult {
    seeded(|seed| handover_is_gapless_and_once_with(imp, seed))
}

fn handover_is_gapless_and_once_with<T: JournalSpec>(imp: &T, seed: u64) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, 1 << 18)?);
    let appended: Arc<Mutex<HashMap<u64, Vec<u8>>>> = Arc::default();
    let count = Arc::new(AtomicU64::new(0));
    let per = HANDOVER_EVENTS / PRODUCERS;
    let start = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (journal, appended, count) = (
                Arc::clone(&journal),
                Arc::clone(&appended),
                Arc::clone(&count),
            );
            thread::spawn(move || -> Result<(), Error> {
                let mut mine = Vec::with_capacity(per as usize);
                for i in 0..per {
                    let bytes = format!("p{p} i{i}").into_bytes();
                    let seq = journal.append(&bytes)?;
                    mine.push((seq, bytes));
                    count.fetch_add(1, Ordering::Relaxed);
                }
                appended
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend(mine);
                Ok(())
            })
        })
        .collect();
    let mut rng = Rng::new(seed);
    let mut subscribers = Vec::new();
    for _ in 0..SUBSCRIBERS {
        // Join at a random moment, from a random point at or before what is appended so far
        // (or a little past it).
        thread::sleep(Duration::from_micros(rng.below(30_000)));
        let so_far = count.load(Ordering::Relaxed);
        let from = (1 + rng.below(so_far + 100)).min(HANDOVER_EVENTS);
        let sub = call("subscribe", journal.subscribe(from))?;
        subscribers.push((
            from,
            thread::spawn(move || {
                let mut sub = sub;
                let mut seen = Vec::new();
                let mut next = from;
                while next <= HANDOVER_EVENTS {
                    match sub.recv_within(ANSWER_WITHIN) {
                        Ok(Some((seq, payload))) => {
                            seen.push((seq, payload));
                            next = seq + 1;
                        }
                        Ok(None) => {
                            return Err(format!(
                                "nothing after {} within {ANSWER_WITHIN:?}",
                                next - 1
                            ));
                        }
                        Err(e) => return Err(format!("{e:?} after {}", next - 1)),
                    }
                }
                Ok(seen)
            }),
        ));
    }
    for p in producers {
        let r = p
            .join()
            .map_err(|_| Failure::new("producers to finish", "a panic"))?;
        call("append", r)?;
    }
    let appended = appended
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    ensure(
        (1..=HANDOVER_EVENTS).all(|s| appended.contains_key(&s)),
        &format!("appends to return 1..={HANDOVER_EVENTS}, each once"),
        || format!("{} distinct sequence numbers", appended.len()),
    )?;
    for (from, sub) in subscribers {
        let seen = sub
            .join()
            .map_err(|_| Failure::new("subscribers to finish", "a panic"))?
            .map_err(|e| Failure::new(format!("events {from}..={HANDOVER_EVENTS}"), e))?;
        for (next, (seq, bytes)) in (from..).zip(&seen) {
            ensure(
                *seq == next,
                &format!("events {from}..={HANDOVER_EVENTS} in order, each once"),
                || format!("{seq} where {next} was due"),
            )?;
            ensure(
                appended.get(seq) == Some(bytes),
                &format!("event {seq}'s own bytes"),
                || String::from_utf8_lossy(bytes).into_owned(),
            )?;
        }
    }
    let elapsed = start.elapsed();
    call("close", journal.close())?;
    Ok(vec![
        Figure::count("events", HANDOVER_EVENTS as i64, "events"),
        Figure::millis("whole handover", elapsed),
    ])
}

/// Check 2: after 100 events, a subscriber from 40 gets exactly 40..=100, then nothing, then
/// the 101st when it is appended.
pub fn resume_from_sequence<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::Flush, 1024)?;
    for seq in 1..=100 {
        let got = call("append", journal.append(&payload(seq)))?;
        ensure(got == seq, "sequence numbers 1, 2, 3…", || {
            format!("{got} for the {seq}th")
        })?;
    }
    let mut sub = call("subscribe", journal.subscribe(40))?;
    expect_range(&mut sub, 40, 100, |s| Some(payload(s)))?;
    let extra = call("recv", sub.recv_within(QUIET))?;
    ensure(extra.is_none(), "nothing after event 100", || {
        format!("{extra:?}")
    })?;
    call("append", journal.append(&payload(101)))?;
    expect_range(&mut sub, 101, 101, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    Ok(Vec::new())
}

/// Check 3: a subscriber from past the end gets nothing until that event is appended, then
/// exactly it and what follows.
pub fn subscribe_past_end_waits<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::Flush, 1024)?;
    for seq in 1..=10 {
        call("append", journal.append(&payload(seq)))?;
    }
    let mut sub = call("subscribe", journal.subscribe(15))?;
    for seq in 11..=14 {
        call("append", journal.append(&payload(seq)))?;
    }
    let early = call("recv", sub.recv_within(QUIET))?;
    ensure(early.is_none(), "nothing before event 15 exists", || {
        format!("{early:?}")
    })?;
    for seq in 15..=20 {
        call("append", journal.append(&payload(seq)))?;
    }
    expect_range(&mut sub, 15, 20, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    Ok(Vec::new())
}

/// Check 11: a subscriber with a queue of 64 that reads nothing while 20,000 events are
/// appended: every append returns (the writer never waits for it), the subscriber then gets at
/// most 64 events and `Lagged { last_seq }` naming the last one, and a new subscription from
/// `last_seq + 1` gets the rest.
pub fn slow_subscriber_lags_with_bounded_memory<T: JournalSpec>(imp: &T) -> CheckResult {
    const QUEUE: usize = 64;
    const N: u64 = 20_000;
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::None, QUEUE)?;
    let mut slow = call("subscribe", journal.subscribe(1))?;
    let start = Instant::now();
    for seq in 1..=N {
        call("append", journal.append(&payload(seq)))?;
    }
    call("flush", journal.flush())?;
    let appending = start.elapsed();
    let mut got = 0u64;
    let last_seq = loop {
        match slow.recv_within(ANSWER_WITHIN) {
            Ok(Some((seq, _))) => {
                got += 1;
                ensure(seq == got, "events in order before the cut", || {
                    format!("{seq} as the {got}th")
                })?;
                ensure(
                    got <= QUEUE as u64 + 1,
                    &format!("at most {QUEUE} queued events"),
                    || format!("{got} and counting"),
                )?;
            }
            Ok(None) => {
                return Err(Failure::new(
                    "Lagged after the queue drained",
                    "a wait with nothing",
                ));
            }
            Err(Error::Lagged { last_seq }) => break last_seq,
            Err(e) => {
                return Err(Failure::new(
                    "Lagged after the queue drained",
                    format!("{e:?}"),
                ));
            }
        }
    };
    ensure(
        last_seq == got,
        "Lagged to name the last event received",
        || format!("last_seq {last_seq} after {got} events"),
    )?;
    let mut again = call("subscribe", journal.subscribe(last_seq + 1))?;
    expect_range(&mut again, last_seq + 1, N, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    Ok(vec![
        Figure::count("queued before the cut", got as i64, "events"),
        Figure::millis("appending 20,000 past a stalled reader", appending),
    ])
}

/// The size of the journal the replay check reads back, in events of [`TCP_EVENT_LEN`].
pub const REPLAY_EVENTS: u64 = 16 << 10;

/// Check 20: a subscriber from 1 of a journal of 16 MiB of 1 KiB events gets every one, in
/// order, once each, with its bytes, then nothing. Figures: how long `subscribe` took (the
/// writer is paused within it, so this bounds the pause) and the replay's rate.
pub fn large_replay_is_whole_and_in_order<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::None, 1024)?;
    for seq in 1..=REPLAY_EVENTS {
        call("append", journal.append(&big_payload(seq)))?;
    }
    call("flush", journal.flush())?;
    let start = Instant::now();
    let mut sub = call("subscribe", journal.subscribe(1))?;
    let subscribed = start.elapsed();
    expect_range(&mut sub, 1, REPLAY_EVENTS, |s| Some(big_payload(s)))?;
    let replayed = start.elapsed();
    let extra = call("recv", sub.recv_within(QUIET))?;
    ensure(
        extra.is_none(),
        &format!("nothing after event {REPLAY_EVENTS}"),
        || format!("{:?}", extra.map(|(seq, _)| seq)),
    )?;
    call("close", journal.close())?;
    let bytes = (REPLAY_EVENTS * TCP_EVENT_LEN as u64) as f64;
    Ok(vec![
        Figure::millis("subscribe, the writer paused", subscribed),
        Figure::new(
            "replay, every byte compared",
            bytes / replayed.as_secs_f64() / 1e6,
            "MB/s",
        ),
    ])
}

/// How much history the history check replays: 8 MiB of 1 KiB events, in 128 segments.
pub const BOUNDED_EVENTS: u64 = 8 << 10;
/// What a subscriber may have read ahead of what it was handed: two of the format's chunks
/// (`bothways_journal_format::CHUNK`), and some slack for headers and indexes.
pub const READ_AHEAD: u64 = 2 * bothways_journal_format::CHUNK as u64 + (64 << 10);

/// Check 31: `subscribe` reads no history while the writer is paused, and the history is then
/// read in bounded chunks as it is handed out. On a simulated disk that counts the bytes read,
/// a journal of 8 MiB of 1 KiB events: `subscribe(1)` itself reads at most 64 KiB (where the
/// history ends is noted, not read), and at every point of the replay the subscriber has read
/// at most two chunks and some slack (576 KiB) more than it has handed out — so its memory is
/// bounded, whatever the history's size. Every event comes, in order, with its bytes.
pub fn history_is_read_after_the_pause_in_bounded_chunks<T: JournalSpec>(imp: &T) -> CheckResult {
    let (disk, path) = sim_disk()?;
    let journal = open_sim_sized(imp, &disk, &path, Durability::None, SEGMENT)?;
    append_big(&journal, BOUNDED_EVENTS)?;
    let before = disk.bytes_read();
    let start = Instant::now();
    let mut sub = call("subscribe", journal.subscribe(1))?;
    let subscribed = start.elapsed();
    let under_pause = disk.bytes_read() - before;
    ensure(
        under_pause <= 64 << 10,
        "subscribe to read at most 64 KiB of an 8 MiB history: the rest after the pause",
        || format!("{under_pause} bytes read within subscribe"),
    )?;
    let mut handed = 0u64;
    let mut ahead = 0u64;
    for seq in 1..=BOUNDED_EVENTS {
        match sub.recv_within(ANSWER_WITHIN) {
            Ok(Some((got, bytes))) if got == seq && bytes == big_payload(seq) => {
                handed += (RECORD_HEADER_LEN + bytes.len()) as u64;
            }
            other => {
                return Err(Failure::new(
                    format!("events 1..={BOUNDED_EVENTS} in order, with their bytes"),
                    format!("{:?} where {seq} was due", other.map(|e| e.map(|(s, _)| s))),
                ));
            }
        }
        let read = disk.bytes_read() - before;
        ahead = ahead.max(read.saturating_sub(handed));
        ensure(
            read <= handed + READ_AHEAD,
            &format!("the history read at most {READ_AHEAD} bytes ahead of what was handed out"),
            || format!("{read} bytes read for {handed} handed out, at event {seq}"),
        )?;
    }
    call("close", journal.close())?;
    Ok(vec![
        Figure::millis("subscribe to 8 MiB", subscribed),
        Figure::count("read under the pause", under_pause as i64, "bytes"),
        Figure::count("most read ahead", ahead as i64, "bytes"),
    ])
}
