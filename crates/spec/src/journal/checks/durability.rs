//! The journal checks on durability: durability modes, SIGKILL, tick, group commit, power cuts,
//! fsync poisoning, full disk.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use bothways_journal_format::Fs;
use bothways_journal_format::sim::{Call, Fault, SimDisk};

use crate::check::{CheckResult, Failure, Figure, Rng, ensure, seeded};
use crate::journal::fixtures::{
    SIM_QUEUE, Scratch, call, expect_range, kill_at_random, number_after, open, open_sim, payload,
    sim_disk,
};
use crate::journal::{
    ANSWER_WITHIN, CRASH_MODE_VAR, Durability, Error, JournalSpec, SpecJournal, SpecSubscription,
};

/// Rounds of the SIGKILL check.
pub const CRASH_ROUNDS: usize = 50;

/// Check 4: under each durability policy, 4 threads append 100 events each; after close and
/// reopen, a replay gives all 400, contiguous, with their bytes.
pub fn every_durability_reads_back<T: JournalSpec>(imp: &T) -> CheckResult {
    let mut figures = Vec::new();
    for (durability, name) in [
        (Durability::None, "none"),
        (Durability::Flush, "fsync per flush"),
        (Durability::Append, "fsync per append"),
    ] {
        let dir = Scratch::new()?;
        let journal = Arc::new(open(imp, &dir.file(), durability, 1024)?);
        let start = Instant::now();
        let appended: HashMap<u64, Vec<u8>> =
            append_from_threads(&journal, 4, 100, |t, i| format!("t{t} i{i}").into_bytes())?
                .into_iter()
                .collect();
        figures.push(Figure::millis(name, start.elapsed()));
        call("close", journal.close())?;
        drop(journal);
        let journal = open(imp, &dir.file(), durability, 1024)?;
        let mut sub = call("subscribe", journal.subscribe(1))?;
        expect_range(&mut sub, 1, 400, |s| appended.get(&s).cloned())?;
        call("close", journal.close())?;
    }
    Ok(figures)
}

/// Check 6: a child process appending with fsync-before-return is killed with SIGKILL at a
/// random moment, 50 times over the same file; after each, the file opens, every event whose
/// `append` had returned is there with its bytes, and sequences are contiguous.
pub fn acknowledged_appends_survive_sigkill<T: JournalSpec>(imp: &T) -> CheckResult {
    seeded(|seed| acknowledged_appends_survive_sigkill_with(imp, seed))
}

fn acknowledged_appends_survive_sigkill_with<T: JournalSpec>(imp: &T, seed: u64) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    let Some(_) = imp.crash_child(&path) else {
        return Ok(vec![Figure::skipped("cannot re-execute a child")]);
    };
    let mut rng = Rng::new(seed);
    let mut acked_total = 0;
    for round in 0..CRASH_ROUNDS {
        let Some(command) = imp.crash_child(&path) else {
            break;
        };
        let lines = kill_at_random(command, &mut rng)?;
        let acked: Vec<u64> = lines
            .iter()
            .filter_map(|l| number_after(l, "acked "))
            .collect();
        acked_total += acked.len();
        let (journal, marker) = reopen_after_kill(imp, &path, round, &acked)?;
        replay_keeps_acked(&journal, 1, marker, round, &acked)?;
        call("close", journal.close())?;
    }
    // A child that never acknowledged anything would make every round vacuous.
    ensure(
        acked_total > 0,
        "the children to acknowledge appends before they were killed",
        || "no acknowledged append in any round".to_owned(),
    )?;
    Ok(vec![
        Figure::count("rounds", CRASH_ROUNDS as i64, ""),
        Figure::count("acknowledged appends checked", acked_total as i64, ""),
    ])
}

/// Opens the journal a killed child left and appends a marker past its end: every event whose
/// append had returned (`acked`) must come before the marker. Returns the journal and the
/// marker's sequence number.
fn reopen_after_kill<T: JournalSpec>(
    imp: &T,
    path: &Path,
    round: usize,
    acked: &[u64],
) -> Result<(T::Journal, u64), Failure> {
    let journal = imp.open(path, Durability::Append, 1 << 16).map_err(|e| {
        Failure::new(
            format!("the file to open after SIGKILL {round}"),
            format!("{e:?}"),
        )
    })?;
    let marker = call("append", journal.append(b"marker"))?;
    let last_acked = acked.iter().copied().max().unwrap_or(0);
    ensure(
        marker > last_acked,
        &format!("every acknowledged event (up to {last_acked}) kept"),
        || format!("the next sequence number is {marker}"),
    )?;
    Ok((journal, marker))
}

/// Replays `first..=marker`, which must be contiguous, and checks every acknowledged event
/// from `first` on is there with its bytes.
fn replay_keeps_acked<J: SpecJournal>(
    journal: &J,
    first: u64,
    marker: u64,
    round: usize,
    acked: &[u64],
) -> Result<(), Failure> {
    let mut sub = call("subscribe", journal.subscribe(first))?;
    let mut contents = HashMap::new();
    for next in first..=marker {
        match sub.recv_within(ANSWER_WITHIN) {
            Ok(Some((seq, bytes))) if seq == next => {
                contents.insert(seq, bytes);
            }
            other => {
                return Err(Failure::new(
                    format!("a contiguous replay of {first}..={marker} after SIGKILL {round}"),
                    format!("{other:?} at {next}"),
                ));
            }
        }
    }
    for seq in acked.iter().filter(|&&seq| seq >= first) {
        ensure(
            contents.get(seq) == Some(&payload(*seq)),
            &format!("acknowledged event {seq} kept with its bytes"),
            || {
                format!(
                    "{:?}",
                    contents
                        .get(seq)
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                )
            },
        )?;
    }
    Ok(())
}

/// Check 18: a child process appending with fsync-before-return and pruning every 5 appends
/// to its latest 10 events is killed with SIGKILL at a random moment, 50 times over the same
/// file; after each, the file opens, its first event is past every prune that returned and
/// not past any that started, and from there the replay is contiguous and holds every
/// acknowledged event after it with its bytes: a prune cut short leaves the old file or the
/// new one, never a mix, an empty file or a lost event.
pub fn prune_is_atomic_under_sigkill<T: JournalSpec>(imp: &T) -> CheckResult {
    seeded(|seed| prune_is_atomic_under_sigkill_with(imp, seed))
}

fn prune_is_atomic_under_sigkill_with<T: JournalSpec>(imp: &T, seed: u64) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    let Some(_) = imp.crash_child(&path) else {
        return Ok(vec![Figure::skipped("cannot re-execute a child")]);
    };
    let mut rng = Rng::new(seed);
    let (mut started, mut returned, mut cut_short) = (0u64, 0u64, 0);
    let mut acked_total = 0;
    for round in 0..CRASH_ROUNDS {
        let Some(mut command) = imp.crash_child(&path) else {
            break;
        };
        command.env(CRASH_MODE_VAR, "prune");
        let lines = kill_at_random(command, &mut rng)?;
        let acked: Vec<u64> = lines
            .iter()
            .filter_map(|l| number_after(l, "acked "))
            .collect();
        acked_total += acked.len();
        let began = lines
            .iter()
            .filter_map(|l| number_after(l, "pruning "))
            .max();
        let ended = lines
            .iter()
            .filter_map(|l| number_after(l, "pruned "))
            .max();
        if began.is_some() && began != ended {
            cut_short += 1;
        }
        started = started.max(began.unwrap_or(0));
        returned = returned.max(ended.unwrap_or(0));
        let (journal, marker) = reopen_after_kill(imp, &path, round, &acked)?;
        let first = match journal.subscribe(1) {
            Ok(_) => 1,
            Err(Error::Pruned { first, .. }) => first,
            Err(e) => {
                return Err(Failure::new(
                    "a subscription from 1, or Pruned naming the first event",
                    format!("{e:?}"),
                ));
            }
        };
        ensure(
            first > returned && first <= started + 1,
            &format!(
                "the first event after prune {returned} returned and at most {} (prune {started} \
                 started)",
                started + 1
            ),
            || format!("the file starts at {first}"),
        )?;
        replay_keeps_acked(&journal, first, marker, round, &acked)?;
        call("close", journal.close())?;
    }
    ensure(
        returned > 0,
        "the children to complete prunes before they were killed",
        || "no prune returned in any round".to_owned(),
    )?;
    // A kill that never lands inside a prune would leave the check's point untested.
    ensure(cut_short > 0, "some kills to land inside a prune", || {
        format!("none in {CRASH_ROUNDS} rounds")
    })?;
    Ok(vec![
        Figure::count("rounds", CRASH_ROUNDS as i64, ""),
        Figure::count("killed inside a prune", cut_short as i64, "rounds"),
        Figure::count("acknowledged appends checked", acked_total as i64, ""),
    ])
}

/// How many events the journal directory at `path` holds on disk (read directly, through the
/// format crate), or `None` if it cannot be read.
fn events_in_file(path: &Path) -> Option<u64> {
    let plan = bothways_journal_format::read_plan(Fs::shared(), path, 1)
        .ok()?
        .ok()?;
    let mut count = 0;
    for event in bothways_journal_format::History::new(plan) {
        event.ok()?;
        count += 1;
    }
    Some(count)
}

/// Check 15: events appended and never flushed by a call reach the file on the writer's
/// periodic tick: five appends, no `flush`, no `close`, and the file, read directly, holds all
/// five within the usual bound.
pub fn tick_flushes_without_a_call<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::Flush, 1024)?;
    for seq in 1..=5 {
        call("append", journal.append(&payload(seq)))?;
    }
    let start = Instant::now();
    let mut seen = events_in_file(&dir.file());
    while seen != Some(5) && start.elapsed() < ANSWER_WITHIN {
        thread::sleep(Duration::from_millis(5));
        seen = events_in_file(&dir.file());
    }
    let waited = start.elapsed();
    ensure(
        seen == Some(5),
        &format!("the 5 appended events in the file within {ANSWER_WITHIN:?}, without a flush"),
        || format!("{seen:?} events"),
    )?;
    call("close", journal.close())?;
    Ok(vec![Figure::millis("until the file held them", waited)])
}

/// Appenders at once in the group-commit check.
pub const GROUP_APPENDERS: u64 = 16;
/// Appends each of them makes.
pub const GROUP_EACH: u64 = 25;
/// Appends one appender alone makes first.
pub const ALONE: u64 = 20;
/// How long a sync of the simulated disk takes in the group-commit check: a real disk's order
/// of magnitude, so that appenders arriving during one fsync can share the next, whatever the
/// machine's own disk (or tmpfs) costs.
pub const SIM_FSYNC: Duration = Duration::from_millis(1);

/// `threads` threads appending `each` events at once, event `i` of thread `t` being
/// `event(t, i)`: every `(sequence number, bytes)` appended.
fn append_from_threads<J: SpecJournal>(
    journal: &Arc<J>,
    threads: u64,
    each: u64,
    event: fn(u64, u64) -> Vec<u8>,
) -> Result<Vec<(u64, Vec<u8>)>, Failure> {
    let appenders: Vec<_> = (0..threads)
        .map(|t| {
            let journal = Arc::clone(journal);
            thread::spawn(move || {
                (0..each)
                    .map(|i| {
                        let bytes = event(t, i);
                        journal.append(&bytes).map(|seq| (seq, bytes))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
        })
        .collect();
    let mut appended = Vec::new();
    for appender in appenders {
        let r = appender
            .join()
            .map_err(|_| Failure::new("appenders to finish", "a panic"))?;
        appended.extend(call("append", r)?);
    }
    Ok(appended)
}

/// Check 19: with fsync before `append` returns, 16 appenders at once share fsyncs (group
/// commit): their 400 appends take at most one fsync per two appends. On a simulated disk
/// whose every sync takes 1 ms, so the check sees the same on any machine, tmpfs included;
/// an implementation that fsyncs once per append makes 400. Every append gets a distinct
/// sequence number. The figures also give one appender alone, whose appends cannot share.
/// `cargo bench --bench journal` measures group commit on the real disk.
pub fn group_commit_shares_fsyncs<T: JournalSpec>(imp: &T) -> CheckResult {
    let (disk, path) = sim_disk()?;
    disk.set_sync_latency(SIM_FSYNC);
    let journal = Arc::new(open_sim(imp, &disk, &path, Durability::Append)?);
    let before = disk.syncs();
    let start = Instant::now();
    for _ in 0..ALONE {
        call("append", journal.append(b"alone"))?;
    }
    let alone_rate = ALONE as f64 / start.elapsed().as_secs_f64();
    let alone_syncs = disk.syncs() - before;
    let before = disk.syncs();
    let start = Instant::now();
    let appended = append_from_threads(&journal, GROUP_APPENDERS, GROUP_EACH, |_, _| {
        b"grouped".to_vec()
    })?;
    let together_rate = appended.len() as f64 / start.elapsed().as_secs_f64();
    let syncs = disk.syncs() - before;
    call("close", journal.close())?;
    let mut seqs: Vec<u64> = appended.into_iter().map(|(seq, _)| seq).collect();
    let all = GROUP_APPENDERS * GROUP_EACH;
    seqs.sort_unstable();
    seqs.dedup();
    ensure(
        seqs.len() as u64 == all,
        &format!("{all} distinct sequence numbers"),
        || format!("{} distinct", seqs.len()),
    )?;
    let per_sync = all as f64 / syncs.max(1) as f64;
    ensure(
        per_sync >= 2.0,
        &format!("{GROUP_APPENDERS} appenders' {all} appends sharing fsyncs, at least 2 a sync"),
        || format!("{syncs} fsyncs, {per_sync:.1} appends a sync"),
    )?;
    Ok(vec![
        Figure::new("appends per fsync, 16 appenders", per_sync, "×"),
        Figure::count("fsyncs for 20 appends alone", alone_syncs as i64, ""),
        Figure::new("1 appender", alone_rate, "appends/s"),
        Figure::new("16 appenders", together_rate, "appends/s"),
    ])
}

/// Power cuts the power-cut check makes per durability mode, unless [`POWER_CUTS_VAR`] says
/// more: it is all in memory, about a millisecond a cut.
pub const POWER_CUTS: u64 = 1_000;
/// The environment variable that sets how many power cuts the power-cut check makes per mode.
pub const POWER_CUTS_VAR: &str = "BOTHWAYS_POWER_CUTS";

/// The count [`set_power_cuts`] chose, 0 for none.
static CHOSEN_CUTS: AtomicU64 = AtomicU64::new(0);

/// Sets how many power cuts the power-cut check makes per mode when [`POWER_CUTS_VAR`] is not
/// set (it still wins): a program that runs the suite, as the runner's quick run does, can
/// spend less time on them than `cargo test` does, without an environment variable (setting
/// one in-process is `unsafe` in edition 2024). 0 restores [`POWER_CUTS`].
///
/// ```
/// bothways_spec::journal::set_power_cuts(100);
/// assert_eq!(bothways_spec::journal::power_cuts(), 100);
/// # bothways_spec::journal::set_power_cuts(0);
/// ```
pub fn set_power_cuts(cuts: u64) {
    CHOSEN_CUTS.store(cuts, Ordering::Relaxed);
}

/// How many power cuts the power-cut check makes per mode: [`POWER_CUTS_VAR`] if set, else what
/// [`set_power_cuts`] chose, else [`POWER_CUTS`]; at least one.
pub fn power_cuts() -> u64 {
    let chosen = match CHOSEN_CUTS.load(Ordering::Relaxed) {
        0 => POWER_CUTS,
        n => n,
    };
    std::env::var(POWER_CUTS_VAR)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(chosen)
        .max(1)
}
/// Generations of one simulated disk in the power-cut check: each opens the journal on what
/// the last cut left (recovery runs on torn files, and may itself be cut), works, and is cut.
pub const GENERATIONS: u64 = 4;
/// Appenders of one generation, and the appends each makes.
const CUT_APPENDERS: u64 = 3;
const CUT_APPENDS: u64 = 8;
/// Payloads run up to this long, so that records straddle the disk's pages.
const CUT_PAYLOAD_MAX: u64 = 3_000;

/// What the power-cut check knows across the generations of one disk.
#[derive(Debug, Default)]
struct Ledger {
    /// Events acknowledged as durable, with their bytes: `append` returned under
    /// `Durability::Append`; appended before a `flush` (or `close`) that returned, otherwise.
    durable: BTreeMap<u64, Vec<u8>>,
    /// Every payload ever offered to `append`; each is unique.
    issued: HashSet<Vec<u8>>,
    /// The highest `after` of a prune that started: events up to it may be gone.
    prune_started: u64,
    /// The highest `after` of a prune that returned: events up to it must be gone.
    prune_returned: u64,
}

/// An event whose `append` returned: its sequence number and bytes.
type Appended = (u64, Vec<u8>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The bytes of append `i` of appender `t` in generation `generation`: unique, and of a length that
/// varies from 0 to [`CUT_PAYLOAD_MAX`] with the run's `salt`.
fn cut_payload(generation: u64, t: u64, i: u64, salt: u64) -> Vec<u8> {
    let mut bytes = format!("g{generation} t{t} i{i};").into_bytes();
    let mix = (generation * 131 + t * 31 + i * 7 + 1).wrapping_mul(salt | 1) >> 7;
    bytes.resize(
        bytes.len() + (mix % CUT_PAYLOAD_MAX) as usize,
        b'a' + (i % 26) as u8,
    );
    bytes
}

/// One generation's work on an open journal, whatever the disk does under it: appenders,
/// flushes under `Durability::Flush`, a subscriber, perhaps a prune, then a close. Errors end a
/// thread's work (the power may have gone); what was acknowledged goes into the ledger.
fn cut_workload<J: SpecJournal>(
    journal: Arc<J>,
    durability: Durability,
    generation: u64,
    rng: &mut Rng,
    ledger: &Arc<Mutex<Ledger>>,
) {
    let salt = rng.next_u64();
    // Every (sequence number, bytes) an append returned, in the order they returned.
    let returned: Arc<Mutex<Vec<Appended>>> = Arc::default();
    let appenders: Vec<_> = (0..CUT_APPENDERS)
        .map(|t| {
            let (journal, ledger, returned) = (
                Arc::clone(&journal),
                Arc::clone(ledger),
                Arc::clone(&returned),
            );
            thread::spawn(move || {
                for i in 0..CUT_APPENDS {
                    let bytes = cut_payload(generation, t, i, salt);
                    lock(&ledger).issued.insert(bytes.clone());
                    let Ok(seq) = journal.append(&bytes) else {
                        return;
                    };
                    if durability == Durability::Append {
                        lock(&ledger).durable.insert(seq, bytes.clone());
                    }
                    lock(&returned).push((seq, bytes));
                }
            })
        })
        .collect();
    // The main thread flushes, subscribes and prunes while the appenders work.
    for step in 0..3 {
        thread::sleep(Duration::from_micros(rng.below(300)));
        let before = lock(&returned).clone();
        if journal.flush().is_ok() && durability != Durability::None {
            lock(ledger).durable.extend(before.iter().cloned());
        }
        if step == 1
            && let Ok(mut sub) = journal.subscribe(1)
        {
            while let Ok(Some(_)) = sub.recv_within(Duration::from_millis(1)) {}
        }
        if step == 2 && rng.below(3) == 0 {
            let after = before
                .iter()
                .map(|(seq, _)| *seq)
                .max()
                .unwrap_or(0)
                .saturating_sub(rng.below(4));
            {
                let mut ledger = lock(ledger);
                ledger.prune_started = ledger.prune_started.max(after);
            }
            if journal.prune(after).is_ok() {
                let mut ledger = lock(ledger);
                ledger.prune_returned = ledger.prune_returned.max(after);
            }
        }
    }
    for appender in appenders {
        let _ = appender.join();
    }
    let before = lock(&returned).clone();
    if journal.close().is_ok() && durability != Durability::None {
        lock(ledger).durable.extend(before);
    }
}

/// Opens a copy of what a power cut left and checks it against the ledger: it opens (a mere
/// power cut is never corruption); a prune that returned stuck; the replay is contiguous,
/// each event once, each one's bytes a payload that was appended and not seen before; and
/// every event acknowledged as durable past any prune is there with its own bytes.
fn verify_after_cut<T: JournalSpec>(
    imp: &T,
    disk: &SimDisk,
    path: &Path,
    durability: Durability,
    ledger: &Ledger,
    what: &str,
) -> Result<(), Failure> {
    // A restarted disk has nothing unsynced: any image of it is an exact copy, which the
    // check may change (recovery cuts a torn tail) while the disk goes on to the next cut.
    let copy = disk.crash_image(0);
    let journal = imp
        .open_on(Arc::new(copy), path, durability, SIM_QUEUE)
        .map_err(|e| {
            Failure::new(
                format!("the journal to open after {what}"),
                format!("{e:?}"),
            )
        })?;
    let first = match journal.subscribe(1) {
        Ok(_) => 1,
        Err(Error::Pruned { first, .. }) => first,
        Err(e) => {
            return Err(Failure::new(
                format!("a subscription after {what}"),
                format!("{e:?}"),
            ));
        }
    };
    ensure(
        first > ledger.prune_returned,
        &format!("a prune that returned to stick after {what}"),
        || {
            format!(
                "first event {first}, prune after {} returned",
                ledger.prune_returned
            )
        },
    )?;
    let marker = call("append", journal.append(b"marker"))?;
    let mut sub = call("subscribe", journal.subscribe(first))?;
    let mut seen = HashSet::new();
    for next in first..marker {
        let (seq, bytes) = match sub.recv_within(ANSWER_WITHIN) {
            Ok(Some(event)) => event,
            other => {
                return Err(Failure::new(
                    format!("a contiguous replay of {first}..{marker} after {what}"),
                    format!("{other:?} at {next}"),
                ));
            }
        };
        ensure(
            seq == next,
            &format!("events {first}..{marker} in order, each once, after {what}"),
            || format!("{seq} where {next} was due"),
        )?;
        ensure(
            ledger.issued.contains(&bytes) && seen.insert(bytes.clone()),
            &format!("event {seq}'s bytes an appended payload, once, after {what}"),
            || {
                format!(
                    "{:?}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(24)])
                )
            },
        )?;
        if let Some(want) = ledger.durable.get(&seq) {
            ensure(
                &bytes == want,
                &format!("acknowledged event {seq} kept with its own bytes after {what}"),
                || {
                    format!(
                        "{:?}",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(24)])
                    )
                },
            )?;
        }
    }
    let kept_from = first.max(ledger.prune_started + 1);
    if let Some((&lost, _)) = ledger
        .durable
        .range(kept_from..)
        .find(|(seq, _)| **seq >= marker)
    {
        return Err(Failure::new(
            format!("every acknowledged event kept after {what}"),
            format!("event {lost} gone: the journal continues at {marker}"),
        ));
    }
    let early = ledger.durable.range(..first).next_back().map(|(s, _)| *s);
    if let Some(lost) = early.filter(|s| *s > ledger.prune_started) {
        return Err(Failure::new(
            format!("every acknowledged event kept after {what}"),
            format!("event {lost} gone: the journal starts at {first}"),
        ));
    }
    let _ = journal.close();
    Ok(())
}

/// How many storage calls one uncut generation makes: the range the cuts are drawn from.
fn calls_of_a_generation<T: JournalSpec>(
    imp: &T,
    durability: Durability,
    rng: &mut Rng,
) -> Result<u64, Failure> {
    let (disk, path) = sim_disk()?;
    let journal = Arc::new(open_sim(imp, &disk, &path, durability)?);
    cut_workload(journal, durability, 0, rng, &Arc::default());
    Ok(disk.calls())
}

/// Check 26: the journal keeps every acknowledged event through a power cut at any moment.
/// On a simulated disk (`bothways_journal_format::sim`: unsynced writes lost or kept page by
/// page, unsynced renames and creations lost or kept in order, unsynced size changes undone),
/// under each durability mode, a workload of three concurrent appenders, flushes, a
/// subscriber and sometimes a prune is cut after a random number of storage calls; the disk
/// comes back as a power cut may leave it, and a copy is opened and checked (see
/// `verify_after_cut`): it opens — a power cut is never corruption — and holds every event
/// acknowledged as durable, in order, exactly once, and nothing that was never appended. The
/// same disk then goes through the next of four generations, so recovery itself runs on torn
/// files and may be cut. 1,000 cuts per mode ([`power_cuts`] for another count); a failure names
/// its seed.
pub fn acknowledged_events_survive_power_cuts<T: JournalSpec>(imp: &T) -> CheckResult {
    seeded(|seed| acknowledged_events_survive_power_cuts_with(imp, seed))
}

fn acknowledged_events_survive_power_cuts_with<T: JournalSpec>(imp: &T, seed: u64) -> CheckResult {
    let cuts = power_cuts();
    let mut rng = Rng::new(seed);
    let mut figures = Vec::new();
    for (durability, name) in [
        (Durability::Append, "fsync per append"),
        (Durability::Flush, "fsync per flush"),
        (Durability::None, "never fsynced"),
    ] {
        let span = calls_of_a_generation(imp, durability, &mut rng)?;
        let start = Instant::now();
        let mut done = 0;
        let mut acknowledged = 0;
        while done < cuts {
            let (mut disk, path) = sim_disk()?;
            let ledger: Arc<Mutex<Ledger>> = Arc::default();
            for generation in 0..GENERATIONS {
                let at = rng.below(span + span / 4 + 1);
                disk.cut_after(at);
                if let Ok(journal) =
                    imp.open_on(Arc::new(disk.clone()), &path, durability, SIM_QUEUE)
                {
                    cut_workload(Arc::new(journal), durability, generation, &mut rng, &ledger);
                }
                disk = disk.restart(rng.next_u64());
                let what = format!(
                    "power cut {done} ({name}, generation {generation}, after {at} of ~{span} calls)"
                );
                verify_after_cut(imp, &disk, &path, durability, &lock(&ledger), &what)?;
                done += 1;
            }
            acknowledged += lock(&ledger).durable.len();
        }
        figures.push(Figure::count(name, done as i64, "cuts"));
        figures.push(Figure::count(
            "acknowledged events checked",
            acknowledged as i64,
            "",
        ));
        figures.push(Figure::millis("time", start.elapsed()));
    }
    Ok(figures)
}

/// Check 27: a failed fsync poisons the journal (the lesson of PostgreSQL's "fsyncgate": after
/// a failed fsync the kernel may have dropped the pages it could not write, so a retried fsync
/// can report success for data that is gone). On a simulated disk, five events are appended
/// with fsync before `append` returns; then the next sync fails with EIO while four threads
/// append: every append waiting for it gets a typed error, every later append and flush gets
/// one too, and nothing more is acknowledged. After a power cut, a reopen recovers every
/// acknowledged event, whatever the cut kept, and after them at most some of the refused ones,
/// in order: a refused append's outcome is unknown, as after any failed write (an appender
/// that writes while another fsyncs may write between the failure and its report).
pub fn failed_fsync_poisons_the_journal<T: JournalSpec>(imp: &T) -> CheckResult {
    let (disk, path) = sim_disk()?;
    let journal = Arc::new(open_sim(imp, &disk, &path, Durability::Append)?);
    let mut acked: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    for seq in 1..=5 {
        let got = call("append", journal.append(&payload(seq)))?;
        acked.insert(got, payload(seq));
    }
    disk.fail(Call::Sync, 0, Fault::Io);
    let appenders: Vec<_> = (0..4u64)
        .map(|t| {
            let journal = Arc::clone(&journal);
            thread::spawn(move || {
                (0..3u64)
                    .map(|i| {
                        let bytes = format!("t{t} i{i}").into_bytes();
                        (journal.append(&bytes), bytes)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut refused = 0;
    let mut unknown: Vec<Vec<u8>> = Vec::new();
    for appender in appenders {
        let results = appender
            .join()
            .map_err(|_| Failure::new("appenders to finish", "a panic"))?;
        for (result, bytes) in results {
            match result {
                Ok(seq) => {
                    acked.insert(seq, bytes);
                }
                Err(Error::Failed(_)) => {
                    refused += 1;
                    unknown.push(bytes);
                }
                Err(e) => {
                    return Err(Failure::new(
                        "appends after a failed fsync refused with a typed Failed error",
                        format!("{e:?}"),
                    ));
                }
            }
        }
    }
    ensure(
        refused > 0,
        "appends waiting for the failed fsync refused",
        || "every append returned Ok".to_owned(),
    )?;
    let later = journal.append(b"after the failure");
    ensure(
        matches!(later, Err(Error::Failed(_))),
        "an append after the failed fsync refused with Failed",
        || format!("{later:?}"),
    )?;
    let flushed = journal.flush();
    ensure(
        matches!(flushed, Err(Error::Failed(_))),
        "a flush after the failed fsync refused with Failed",
        || format!("{flushed:?}"),
    )?;
    let _ = journal.close();
    drop(journal);
    for cut in 0..8 {
        let image = disk.crash_image(cut);
        let journal = open_sim(imp, &image, &path, Durability::Append)?;
        let marker = call("append", journal.append(b"marker"))?;
        let mut sub = call("subscribe", journal.subscribe(1))?;
        let mut replayed = BTreeMap::new();
        for _ in 1..marker {
            match sub.recv_within(ANSWER_WITHIN) {
                Ok(Some((seq, bytes))) => {
                    replayed.insert(seq, bytes);
                }
                other => {
                    return Err(Failure::new(
                        "a replay of what was durable",
                        format!("{other:?} after {} events", replayed.len()),
                    ));
                }
            }
        }
        // The acknowledged events, then (a contiguous run after them) only refused ones.
        let last_acked = acked.keys().next_back().copied().unwrap_or(0);
        let kept_acked = acked
            .iter()
            .all(|(seq, bytes)| replayed.get(seq) == Some(bytes));
        let rest_refused = replayed
            .iter()
            .filter(|(seq, _)| !acked.contains_key(seq))
            .all(|(seq, bytes)| *seq > last_acked && unknown.contains(bytes));
        ensure(
            kept_acked && rest_refused,
            &format!(
                "the {} acknowledged events after a power cut (image {cut}), then only refused ones",
                acked.len()
            ),
            || {
                format!(
                    "events {:?}",
                    replayed.keys().copied().collect::<Vec<u64>>()
                )
            },
        )?;
        let _ = journal.close();
    }
    Ok(vec![
        Figure::count("appends refused", refused as i64, ""),
        Figure::count("acknowledged and recovered", acked.len() as i64, "events"),
    ])
}

/// Check 28: a full disk (ENOSPC on a write) is a typed error, and the journal keeps nothing
/// half-acknowledged. On a simulated disk, five events are appended with fsync before `append`
/// returns; the next write fails with ENOSPC: that append is refused with a typed error, and so
/// is every later one. Reopened with space available, the journal holds exactly the five and
/// continues at 6 — also after a power cut.
pub fn full_disk_is_typed_error_and_reopen_continues<T: JournalSpec>(imp: &T) -> CheckResult {
    let (disk, path) = sim_disk()?;
    let journal = open_sim(imp, &disk, &path, Durability::Append)?;
    for seq in 1..=5 {
        call("append", journal.append(&payload(seq)))?;
    }
    disk.fail(Call::Write, 0, Fault::NoSpace);
    let full = journal.append(&payload(6));
    ensure(
        matches!(full, Err(Error::Failed(_))),
        "an append on a full disk refused with a typed Failed error",
        || format!("{full:?}"),
    )?;
    let later = journal.append(&payload(6));
    ensure(
        matches!(later, Err(Error::Failed(_))),
        "an append after the full disk refused with Failed",
        || format!("{later:?}"),
    )?;
    let _ = journal.close();
    drop(journal);
    for (what, image) in [
        ("reopened", disk.clone()),
        ("reopened after a power cut", disk.crash_image(3)),
    ] {
        let journal = open_sim(imp, &image, &path, Durability::Append)?;
        let next = call("append", journal.append(&payload(6)))?;
        ensure(
            next == 6,
            &format!("the journal {what} to continue at 6"),
            || next.to_string(),
        )?;
        let mut sub = call("subscribe", journal.subscribe(1))?;
        expect_range(&mut sub, 1, 6, |s| Some(payload(s)))?;
        call("close", journal.close())?;
    }
    Ok(Vec::new())
}
