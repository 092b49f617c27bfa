//! The journal checks on segments: prune, seeking, open cost.

use std::path::Path;
use std::time::Instant;

use bothways_journal_format::sim::SimDisk;
use bothways_journal_format::{RECORD_HEADER_LEN, Storage};

use crate::check::{CheckResult, Failure, Figure, ensure};
use crate::journal::fixtures::{
    Scratch, TCP_EVENT_LEN, append_big, big_payload, call, expect_range, open, open_sim_sized,
    payload, sim_disk,
};
use crate::journal::{Durability, Error, JournalSpec, SEGMENT, SpecJournal};

/// Check 12: after 50 events, pruning after 30 keeps 31..=50: a subscription from 31 replays
/// them, one from 10 is refused with `Pruned`, and sequences continue, also after reopening.
pub fn prune_keeps_only_later_events<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::Flush, 1024)?;
    for seq in 1..=50 {
        call("append", journal.append(&payload(seq)))?;
    }
    call("prune", journal.prune(30))?;
    let mut sub = call("subscribe", journal.subscribe(31))?;
    expect_range(&mut sub, 31, 50, |s| Some(payload(s)))?;
    let early = journal.subscribe(10).map(|_| ());
    ensure(
        matches!(early, Err(Error::Pruned { first: 31, .. })),
        "a subscription from 10 refused: Pruned { first: 31 }",
        || format!("{early:?}"),
    )?;
    let next = call("append", journal.append(&payload(51)))?;
    ensure(next == 51, "the sequence to continue at 51", || {
        next.to_string()
    })?;
    call("close", journal.close())?;
    drop(journal);
    let journal = open(imp, &dir.file(), Durability::Flush, 1024)?;
    let next = call("append", journal.append(&payload(52)))?;
    ensure(
        next == 52,
        "the sequence to continue at 52 after reopening",
        || next.to_string(),
    )?;
    let mut sub = call("subscribe", journal.subscribe(31))?;
    expect_range(&mut sub, 31, 52, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    Ok(Vec::new())
}

/// Check 32: a subscriber from late in a long journal seeks to its first event through the
/// sparse index instead of reading what comes before. On a simulated disk that counts bytes
/// read, 4 MiB of 1 KiB events in segments of 1 MiB: a subscriber from 200 events before the
/// end of the third segment (a sealed one, whose index is on disk) and one from 100 events
/// before the end of the journal (the active segment, whose index is in memory) each get their
/// first event having read at most 384 KiB (an index, a header and a chunk of 256 KiB; the
/// segment before the event is 800 KiB, the history before it 3 MiB), then every event to the
/// end, in order.
pub fn late_subscriber_seeks_without_reading_the_past<T: JournalSpec>(imp: &T) -> CheckResult {
    const SEGMENT_SIZE: u64 = 1 << 20;
    const EVENTS: u64 = 4 << 10;
    const BOUND: u64 = 384 << 10;
    let (disk, path) = sim_disk()?;
    let journal = open_sim_sized(imp, &disk, &path, Durability::None, SEGMENT_SIZE)?;
    append_big(&journal, EVENTS)?;
    let per_segment = SEGMENT_SIZE / (RECORD_HEADER_LEN + TCP_EVENT_LEN) as u64;
    let mut figures = Vec::new();
    for (name, from) in [
        ("sealed segment", 3 * per_segment - 200),
        ("active segment", EVENTS - 100),
    ] {
        let before = disk.bytes_read();
        let mut sub = call("subscribe", journal.subscribe(from))?;
        expect_range(&mut sub, from, from, |s| Some(big_payload(s)))?;
        let read = disk.bytes_read() - before;
        ensure(
            read <= BOUND,
            &format!(
                "the first event from {from} (in the {name}) after at most {BOUND} bytes read"
            ),
            || format!("{read} bytes read"),
        )?;
        expect_range(&mut sub, from + 1, EVENTS, |s| Some(big_payload(s)))?;
        figures.push(Figure::count(name, read as i64, "bytes to the first event"));
    }
    call("close", journal.close())?;
    Ok(figures)
}

/// The `.seg` files of a journal directory on a simulated disk.
fn sim_segments(disk: &SimDisk, path: &Path) -> Result<usize, Failure> {
    Ok(disk
        .list(path)
        .map_err(|e| Failure::new("the journal's files", e.to_string()))?
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .count())
}

/// Check 33: a prune deletes whole segments and never the active one, and what it cuts stays
/// cut. On a simulated disk, 1,000 events of 1 KiB in segments of 64 KiB: pruning after 500
/// deletes segments (fewer files), refuses a subscriber from 1 with `Pruned { first: 501 }`
/// and replays 501..=1,000 to one from 501 — events 501.. that share a segment with pruned
/// ones are skipped, not replayed. Pruning after the last event keeps the active segment:
/// the journal goes on at 1,001. After a reopen the cut holds (the low-water mark is on disk).
pub fn prune_deletes_whole_segments_and_keeps_the_active<T: JournalSpec>(imp: &T) -> CheckResult {
    const EVENTS: u64 = 1_000;
    let (disk, path) = sim_disk()?;
    let journal = open_sim_sized(imp, &disk, &path, Durability::Flush, SEGMENT)?;
    append_big(&journal, EVENTS)?;
    let before = sim_segments(&disk, &path)?;
    let start = Instant::now();
    call("prune", journal.prune(500))?;
    let pruned = start.elapsed();
    let after = sim_segments(&disk, &path)?;
    ensure(
        after < before && after > 0,
        "a prune after 500 of 1,000 events to delete whole segments",
        || format!("{before} segments before, {after} after"),
    )?;
    let early = journal.subscribe(1).map(|_| ());
    ensure(
        matches!(early, Err(Error::Pruned { first: 501, .. })),
        "a subscription from 1 refused: Pruned { first: 501 }",
        || format!("{early:?}"),
    )?;
    let mut sub = call("subscribe", journal.subscribe(501))?;
    expect_range(&mut sub, 501, EVENTS, |s| Some(big_payload(s)))?;
    call("prune", journal.prune(EVENTS))?;
    let next = call("append", journal.append(&big_payload(EVENTS + 1)))?;
    ensure(
        next == EVENTS + 1,
        "the journal to go on at 1,001 after a prune of everything",
        || next.to_string(),
    )?;
    let mut sub = call("subscribe", journal.subscribe(EVENTS + 1))?;
    expect_range(&mut sub, EVENTS + 1, EVENTS + 1, |s| Some(big_payload(s)))?;
    call("close", journal.close())?;
    drop(journal);
    let journal = open_sim_sized(imp, &disk, &path, Durability::Flush, SEGMENT)?;
    let early = journal.subscribe(EVENTS).map(|_| ());
    ensure(
        matches!(early, Err(Error::Pruned { first, .. }) if first == EVENTS + 1),
        "after reopening, a subscription from 1,000 refused: Pruned { first: 1001 }",
        || format!("{early:?}"),
    )?;
    let mut sub = call("subscribe", journal.subscribe(EVENTS + 1))?;
    expect_range(&mut sub, EVENTS + 1, EVENTS + 1, |s| Some(big_payload(s)))?;
    call("close", journal.close())?;
    Ok(vec![
        Figure::count("segments deleted", (before - after) as i64, ""),
        Figure::millis("prune", pruned),
    ])
}

/// Check 34: opening a journal reads its active segment, not its history. On a simulated disk,
/// 2 MiB of 1 KiB events in segments of 64 KiB, closed; reopening it reads at most 256 KiB
/// (the active segment and the sealed ones' headers), and it goes on at the next event.
pub fn open_reads_only_the_active_segment<T: JournalSpec>(imp: &T) -> CheckResult {
    const EVENTS: u64 = 2 << 10;
    const BOUND: u64 = 256 << 10;
    let (disk, path) = sim_disk()?;
    let journal = open_sim_sized(imp, &disk, &path, Durability::Flush, SEGMENT)?;
    append_big(&journal, EVENTS)?;
    call("close", journal.close())?;
    drop(journal);
    let before = disk.bytes_read();
    let start = Instant::now();
    let journal = open_sim_sized(imp, &disk, &path, Durability::Flush, SEGMENT)?;
    let opened = start.elapsed();
    let read = disk.bytes_read() - before;
    ensure(
        read <= BOUND,
        &format!("opening a journal of 2 MiB to read at most {BOUND} bytes"),
        || format!("{read} bytes read"),
    )?;
    let next = call("append", journal.append(&big_payload(EVENTS + 1)))?;
    ensure(next == EVENTS + 1, "the journal to go on at 2,049", || {
        next.to_string()
    })?;
    call("close", journal.close())?;
    Ok(vec![
        Figure::count("read to open 2 MiB", read as i64, "bytes"),
        Figure::millis("open", opened),
    ])
}
