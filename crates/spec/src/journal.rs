//! The journal pattern's contract: appends get contiguous sequence numbers, a subscriber gets
//! the file's events then the live ones with no gap and no duplicate (in process and over TCP),
//! acknowledged events survive a SIGKILL, a damaged file is a typed error naming its offset,
//! and a slow subscriber is cut off with `Lagged` instead of growing memory or stalling the
//! writer.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bothways_journal_format::sim::{Call, Fault, SimDisk};
use bothways_journal_format::wire::{self, MAX_FRAME, ServerMessage};
use bothways_journal_format::{Fs, HEADER_LEN, Header, MAX_SEQ, RECORD_HEADER_LEN, Storage};
use bothways_wire::{FrameDecoder, frame};

use crate::check::{Check, CheckResult, Failure, Figure, Rng, ensure, seeded};

/// How long a subscriber waits for an event the check knows is coming.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// How long a subscriber listens to show that nothing comes.
pub const QUIET: Duration = Duration::from_millis(50);
/// Events in the handover check, appended by [`PRODUCERS`] threads.
pub const HANDOVER_EVENTS: u64 = 100_000;
/// Producers in the handover check.
pub const PRODUCERS: u64 = 4;
/// Subscribers joining at random moments in the handover check.
pub const SUBSCRIBERS: usize = 8;
/// Rounds of the SIGKILL check.
pub const CRASH_ROUNDS: usize = 50;
/// The environment variable that turns the stamped `journal_crash_child` test into the
/// crash check's child: the journal's path.
pub const CRASH_PATH_VAR: &str = "BOTHWAYS_JOURNAL_CRASH_PATH";
/// The environment variable naming which implementation the child must be
/// ([`JournalSpec::name`]), as one test binary may stamp the suite twice.
pub const CRASH_IMPL_VAR: &str = "BOTHWAYS_JOURNAL_CRASH_IMPL";
/// The environment variable the prune crash check adds to the child's command (value
/// `prune`): the child then prunes every [`PRUNE_EVERY`] appends as well. With the value
/// `serve`, the child serves the journal over TCP instead ([`tcp_server_survives_fd_exhaustion`]).
pub const CRASH_MODE_VAR: &str = "BOTHWAYS_JOURNAL_CRASH_MODE";
/// How many appends the pruning crash child makes between two prunes.
pub const PRUNE_EVERY: u64 = 5;
/// How many of its latest events the pruning crash child keeps at each prune.
pub const PRUNE_KEEP: u64 = 10;

/// When appended events reach the disk, in words both styles share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Never fsynced.
    None,
    /// Fsynced at each flush.
    Flush,
    /// Fsynced before `append` returns, with group commit.
    Append,
}

/// The segment size of the suite's journals unless a check says otherwise: small, so that every
/// check crosses segments and rolls over, and checks its recovery and replay there.
pub const SEGMENT: u64 = 64 << 10;

/// How a check opens a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// When appended events reach the disk.
    pub durability: Durability,
    /// How many live events a subscriber may have waiting before it lags.
    pub subscriber_queue: usize,
    /// How large a segment grows before the next starts.
    pub segment_size: u64,
}

/// What a journal call can end in, in words both styles share. Each implementation's adapter
/// maps its own crate's error enum onto this one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The file is damaged or not a journal; `offset` is where.
    #[error("invalid journal at offset {offset}: {message}")]
    Format {
        /// The byte offset named by the error.
        offset: u64,
        /// The error's text.
        message: String,
    },
    /// The subscriber fell behind and was disconnected after `last_seq`.
    #[error("lagged after {last_seq}")]
    Lagged {
        /// The last sequence number received.
        last_seq: u64,
    },
    /// Events before `first` were pruned.
    #[error("pruned before {first}, asked from {from}")]
    Pruned {
        /// Asked from.
        from: u64,
        /// First kept.
        first: u64,
    },
    /// Every sequence number is taken: nothing more can be appended.
    #[error("sequence numbers exhausted")]
    SequenceExhausted,
    /// A write or an fsync failed (now or earlier): the journal is poisoned.
    #[error("failed: {0}")]
    Failed(String),
    /// The journal is closed.
    #[error("closed")]
    Closed,
    /// Anything else the implementation reports.
    #[error("{0}")]
    Other(String),
}

/// What both styles of the journal must do, stated as blocking calls: open a journal file.
pub trait JournalSpec {
    /// An open journal, as the checks drive it.
    type Journal: SpecJournal;

    /// Opens (creating or recovering) the journal at `path` on the real filesystem, with
    /// segments of [`SEGMENT`] bytes.
    fn open(
        &self,
        path: &Path,
        durability: Durability,
        subscriber_queue: usize,
    ) -> Result<Self::Journal, Error> {
        self.open_on(Fs::shared(), path, durability, subscriber_queue)
    }

    /// Opens (creating or recovering) the journal at `path` on `storage`, with segments of
    /// [`SEGMENT`] bytes: every file operation goes through the storage (the power-cut checks
    /// give it a simulated disk).
    fn open_on(
        &self,
        storage: Arc<dyn Storage>,
        path: &Path,
        durability: Durability,
        subscriber_queue: usize,
    ) -> Result<Self::Journal, Error> {
        let settings = Settings {
            durability,
            subscriber_queue,
            segment_size: SEGMENT,
        };
        self.open_with(storage, path, settings)
    }

    /// Opens (creating or recovering) the journal directory at `path` on `storage`, as
    /// `settings` say.
    fn open_with(
        &self,
        storage: Arc<dyn Storage>,
        path: &Path,
        settings: Settings,
    ) -> Result<Self::Journal, Error>;

    /// A name for the implementation, unique within a test binary (`"threads"`,
    /// `"async current_thread"`): the crash child checks it is the one asked for.
    fn name(&self) -> String;

    /// The command that runs this implementation's crash child: the current test binary,
    /// filtered to its `journal_crash_child` test, with [`CRASH_PATH_VAR`] set to `path` and
    /// [`CRASH_IMPL_VAR`] to [`JournalSpec::name`]. `None` where the process cannot re-execute
    /// itself as a test (the `bothways` runner): the checks that need a child are then skipped,
    /// saying so.
    fn crash_child(&self, path: &Path) -> Option<Command>;
}

/// An open journal, stated as blocking calls. Shared between a check's threads.
pub trait SpecJournal: Send + Sync + 'static {
    /// A subscription.
    type Subscription: SpecSubscription;
    /// Appends one event, returning its sequence number.
    fn append(&self, event: &[u8]) -> Result<u64, Error>;
    /// Flushes what was appended.
    fn flush(&self) -> Result<(), Error>;
    /// Subscribes from sequence number `from`.
    fn subscribe(&self, from: u64) -> Result<Self::Subscription, Error>;
    /// Keeps only the events after `after`.
    fn prune(&self, after: u64) -> Result<(), Error>;
    /// Flushes and closes the journal.
    fn close(&self) -> Result<(), Error>;
    /// Serves subscribers over TCP on `listener` (bound by the check, on loopback) with the
    /// implementation's own server, in the background; returns once it is serving. The
    /// server may outlive the journal's close: each client it still has then sees the
    /// connection end. A client that stalls for `stall_limit` (sends nothing while its
    /// subscribe frame is due, or takes nothing while a frame waits for it) is disconnected.
    /// A client that hangs up — ends its side of the connection — is let go without waiting
    /// for the next event, however quiet the journal.
    fn serve_tcp(&self, listener: TcpListener, stall_limit: Duration) -> Result<(), Error>;
    /// Shuts down every server [`SpecJournal::serve_tcp`] started for this journal, with the
    /// implementation's own way to stop a server, and returns once each has returned: it
    /// accepts no one more, and each client it had sees its connection end. The journal stays
    /// open.
    fn stop_tcp(&self) -> Result<(), Error>;
}

/// A subscription, stated as a blocking call.
pub trait SpecSubscription: Send + 'static {
    /// The next event as `(seq, payload)`, or `Ok(None)` if none came within `limit`.
    fn recv_within(&mut self, limit: Duration) -> Result<Option<(u64, Vec<u8>)>, Error>;
}

macro_rules! checks {
    (; $($name:ident),+ $(,)?) => {
        /// The names of the checks, in the order the suite runs them.
        pub const CHECK_NAMES: &[&str] = &[$(stringify!($name)),+];

        /// Every check, in order, for the runner.
        pub fn checks<T: JournalSpec>() -> Vec<Check<T>> {
            vec![$(Check { name: stringify!($name), run: $name::<T> }),+]
        }
    };
}

/// The checks that must run alone in their process: none since the group-commit check counts
/// the fsyncs of a simulated disk instead of comparing rates on the real one.
pub const PROCESS_WIDE: &[&str] = &[];

crate::__journal_checks!([checks]);

/// Stamps out the journal suite: one `#[test]` per check, plus the `journal_crash_child` test
/// the crash check re-executes (it does nothing unless [`CRASH_PATH_VAR`] is set).
///
/// `threads: make` calls `make()`; `async: make` calls `make(flavour)` once per runtime
/// flavour, in modules `current_thread` and `multi_thread`. `make` returns `Result<Impl, E>`.
#[macro_export]
macro_rules! journal_suite {
    (threads: $make:expr) => {
        $crate::__journal_tests!($make);
    };
    (async: $make:expr) => {
        mod current_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__journal_tests!(|| ($make)($crate::Flavour::CurrentThread));
        }
        mod multi_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__journal_tests!(|| ($make)($crate::Flavour::MultiThread));
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __journal_tests {
    ($make:expr) => {
        $crate::__journal_checks!([$crate::__stamp] journal, $make);

        #[test]
        fn journal_crash_child() {
            if ::std::env::var_os($crate::journal::CRASH_PATH_VAR).is_none() {
                return;
            }
            let imp = match ($make)() {
                Ok(imp) => imp,
                Err(error) => panic!("cannot build the implementation under test: {error:?}"),
            };
            $crate::journal::crash_child(&imp);
        }
    };
}

/// The one list of the journal checks, in the order the suite runs them.
#[doc(hidden)]
#[macro_export]
macro_rules! __journal_checks {
    ([$($callback:tt)*] $($args:tt)*) => {
        $($callback)*! { $($args)* ;
            handover_is_gapless_and_once,
            resume_from_sequence,
            subscribe_past_end_waits,
            every_durability_reads_back,
            reopen_cuts_torn_tail_and_continues,
            acknowledged_appends_survive_sigkill,
            flipped_bit_is_typed_error_at_offset,
            truncated_header_is_typed_error,
            wrong_magic_is_typed_error,
            newer_version_is_typed_error,
            slow_subscriber_lags_with_bounded_memory,
            prune_keeps_only_later_events,
            tcp_subscriber_gets_history_then_live,
            tcp_slow_subscriber_lags_and_resumes,
            tick_flushes_without_a_call,
            oversized_event_is_typed_error,
            tcp_stalled_clients_are_disconnected,
            prune_is_atomic_under_sigkill,
            group_commit_shares_fsyncs,
            large_replay_is_whole_and_in_order,
            zero_tail_is_cut_and_close_trims,
            tcp_hung_up_client_is_let_go,
            impossible_header_is_typed_error,
            sequence_space_ends_with_typed_error,
            tcp_bytes_after_subscribe_disconnect,
            acknowledged_events_survive_power_cuts,
            failed_fsync_poisons_the_journal,
            full_disk_is_typed_error_and_reopen_continues,
            tcp_server_survives_fd_exhaustion,
            tcp_shutdown_lets_clients_go,
            history_is_read_after_the_pause_in_bounded_chunks,
            late_subscriber_seeks_without_reading_the_past,
            prune_deletes_whole_segments_and_keeps_the_active,
            open_reads_only_the_active_segment,
            single_file_journal_is_migrated,
            damage_in_a_sealed_segment_is_a_typed_error,
        }
    };
}

/// A directory of its own under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh, empty directory.
    pub fn new() -> Result<Scratch, Failure> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bothways-journal-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::new("a scratch directory", e.to_string()))?;
        Ok(Scratch(dir))
    }

    /// The journal's path inside it.
    pub fn file(&self) -> PathBuf {
        self.0.join("events")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open<T: JournalSpec>(
    imp: &T,
    path: &Path,
    durability: Durability,
    queue: usize,
) -> Result<T::Journal, Failure> {
    imp.open(path, durability, queue)
        .map_err(|e| Failure::new("the journal to open", format!("{e:?}")))
}

fn call<R>(what: &str, result: Result<R, Error>) -> Result<R, Failure> {
    result.map_err(|e| Failure::new(format!("{what} to succeed"), format!("{e:?}")))
}

/// Receives events until `last`, checking they are exactly `from..=last`, each once, in order,
/// with the payloads `expect` gives (when it knows them).
fn expect_range<S: SpecSubscription>(
    sub: &mut S,
    from: u64,
    last: u64,
    expect: impl Fn(u64) -> Option<Vec<u8>>,
) -> Result<(), Failure> {
    let mut next = from;
    while next <= last {
        match sub.recv_within(ANSWER_WITHIN) {
            Ok(Some((seq, payload))) => {
                ensure(
                    seq == next,
                    &format!("events {from}..={last} in order, each once"),
                    || format!("{seq} where {next} was due"),
                )?;
                if let Some(want) = expect(seq) {
                    ensure(payload == want, &format!("event {seq}'s own bytes"), || {
                        format!("{:?}", String::from_utf8_lossy(&payload))
                    })?;
                }
                next += 1;
            }
            Ok(None) => {
                return Err(Failure::new(
                    format!("events {from}..={last}"),
                    format!("nothing after {} within {ANSWER_WITHIN:?}", next - 1),
                ));
            }
            Err(e) => {
                return Err(Failure::new(
                    format!("events {from}..={last}"),
                    format!("{e:?} at {next}"),
                ));
            }
        }
    }
    Ok(())
}

fn payload(seq: u64) -> Vec<u8> {
    format!("event {seq}").into_bytes()
}

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

/// Check 5: a file with half a record at its end opens; the half record is cut off; the next
/// append continues the sequence, and a replay gives every whole event.
pub fn reopen_cuts_torn_tail_and_continues<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    let whole = written(imp, &dir, 10)?;
    // Half of the record that would have been event 11: its header and part of its bytes.
    let mut record = Vec::new();
    bothways_journal_format::encode_record(11, &payload(11), &mut record)
        .map_err(|e| Failure::new("a record to encode", e.to_string()))?;
    let mut torn = whole;
    torn.extend_from_slice(&record[..RECORD_HEADER_LEN + 3]);
    continues_at_11(imp, &path, &torn, Durability::Flush)
}

/// Writes `bytes` (ten events, then whatever a crash left) to `path`, opens it, and checks the
/// next append is event 11 and a replay gives exactly events 1..=11.
fn continues_at_11<T: JournalSpec>(
    imp: &T,
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> CheckResult {
    put_file(path, bytes)?;
    let journal = open(imp, path, durability, 1024)?;
    let next = call("append", journal.append(&payload(11)))?;
    ensure(next == 11, "the sequence to continue at 11", || {
        next.to_string()
    })?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 11, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    Ok(Vec::new())
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

/// Starts a crash child, kills it with SIGKILL a random moment (up to 20 ms) after its first
/// acknowledged append, and returns every line it printed.
fn kill_at_random(mut command: Command, rng: &mut Rng) -> Result<Vec<String>, Failure> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Failure::new("the crash child to start", e.to_string()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Failure::new("the child's stdout", "none"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = thread::spawn(move || {
        let mut lines = Vec::new();
        let mut started = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("acked ")
                && let Some(tx) = started.take()
            {
                let _ = tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let _ = rx.recv_timeout(ANSWER_WITHIN);
    thread::sleep(Duration::from_micros(rng.below(20_000)));
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
    reader
        .join()
        .map_err(|_| Failure::new("the child's output", "a panic"))
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

/// The number in a child's line `<prefix><number>`.
fn number_after(line: &str, prefix: &str) -> Option<u64> {
    line.strip_prefix(prefix)?.parse().ok()
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

/// The body of the crash checks' child: appends with fsync-before-return forever, printing
/// `acked <seq>` after each append returns, until killed; with [`CRASH_MODE_VAR`] set to
/// `prune`, it also prunes to its latest [`PRUNE_KEEP`] events every [`PRUNE_EVERY`] appends,
/// printing `pruning <after>` before and `pruned <after>` once the prune returned. Does
/// nothing unless [`CRASH_PATH_VAR`] is set and [`CRASH_IMPL_VAR`] names `imp`. With
/// [`CRASH_MODE_VAR`] set to `serve`, it serves the journal over TCP instead (see
/// [`tcp_server_survives_fd_exhaustion`]).
pub fn crash_child<T: JournalSpec>(imp: &T) {
    let Some(path) = std::env::var_os(CRASH_PATH_VAR) else {
        return;
    };
    if std::env::var(CRASH_IMPL_VAR).ok() != Some(imp.name()) {
        return;
    }
    if std::env::var(CRASH_MODE_VAR).is_ok_and(|mode| mode == "serve") {
        return serve_child(imp, Path::new(&path));
    }
    let prunes = std::env::var(CRASH_MODE_VAR).is_ok_and(|mode| mode == "prune");
    let Ok(journal) = imp.open(Path::new(&path), Durability::Append, 16) else {
        return;
    };
    let mut out = std::io::stdout().lock();
    // The first append learns where the file's sequence stands; each later one carries the
    // bytes of the number it must get, which the check compares after the crash.
    let Ok(mut seq) = journal.append(b"child started") else {
        return;
    };
    loop {
        let Ok(got) = journal.append(&payload(seq + 1)) else {
            return;
        };
        if got != seq + 1 {
            return;
        }
        seq = got;
        if writeln!(out, "acked {got}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
        if prunes && seq % PRUNE_EVERY == 0 {
            let after = seq.saturating_sub(PRUNE_KEEP);
            if writeln!(out, "pruning {after}")
                .and_then(|()| out.flush())
                .is_err()
                || journal.prune(after).is_err()
                || writeln!(out, "pruned {after}")
                    .and_then(|()| out.flush())
                    .is_err()
            {
                return;
            }
        }
    }
}

fn written<T: JournalSpec>(imp: &T, dir: &Scratch, n: u64) -> Result<Vec<u8>, Failure> {
    written_with(imp, dir, n, Durability::Flush)
}

/// Events 1..=`n` appended under `durability` to a fresh journal, closed: the file's bytes.
fn written_with<T: JournalSpec>(
    imp: &T,
    dir: &Scratch,
    n: u64,
    durability: Durability,
) -> Result<Vec<u8>, Failure> {
    let journal = open(imp, &dir.file(), durability, 1024)?;
    for seq in 1..=n {
        call("append", journal.append(&payload(seq)))?;
    }
    call("close", journal.close())?;
    drop(journal);
    let segments = segment_files(&dir.file())?;
    let [segment] = segments.as_slice() else {
        return Err(Failure::new(
            format!("{n} small events in one segment"),
            format!("{} segments", segments.len()),
        ));
    };
    let bytes = std::fs::read(segment).map_err(|e| Failure::new("the segment", e.to_string()))?;
    // The path is left free: checks write these bytes back as a single-file journal (the
    // older layout, which opening moves into a directory) after changing them.
    std::fs::remove_dir_all(dir.file())
        .map_err(|e| Failure::new("the journal's directory removed", e.to_string()))?;
    Ok(bytes)
}

/// The segment files of the journal directory at `path`, in order.
fn segment_files(path: &Path) -> Result<Vec<PathBuf>, Failure> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Failure::new("the journal's directory", e.to_string()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    Ok(segments)
}

/// Writes `bytes` at `path` as a file, whatever was there (a journal directory included).
fn put_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
            .map_err(|e| Failure::new("the old journal removed", e.to_string()))?;
    }
    std::fs::write(path, bytes).map_err(|e| Failure::new("the file", e.to_string()))
}

fn open_fails_at<T: JournalSpec>(
    imp: &T,
    dir: &Scratch,
    bytes: &[u8],
    offset: u64,
    what: &str,
) -> CheckResult {
    put_file(&dir.file(), bytes)?;
    match imp.open(&dir.file(), Durability::Flush, 1024) {
        Err(Error::Format { offset: at, .. }) if at == offset => Ok(Vec::new()),
        Err(e) => Err(Failure::new(
            format!("{what}: a format error at offset {offset}"),
            format!("{e:?}"),
        )),
        Ok(journal) => {
            let _ = journal.close();
            Err(Failure::new(
                format!("{what}: a format error at offset {offset}"),
                "the file opened",
            ))
        }
    }
}

/// Check 7: a flipped bit in the payload of event 5 of 20 makes opening fail with a typed error
/// naming that record's offset — not a panic, not a silent skip.
pub fn flipped_bit_is_typed_error_at_offset<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let mut bytes = written(imp, &dir, 20)?;
    let record = (RECORD_HEADER_LEN + payload(1).len()) as u64; // events 1..=9 share a length
    let offset = HEADER_LEN as u64 + 4 * record;
    let bit = offset as usize + RECORD_HEADER_LEN + 2;
    bytes[bit] ^= 0x04;
    open_fails_at(imp, &dir, &bytes, offset, "a flipped bit in event 5")
}

/// Check 8: a file cut inside its header is a typed error at offset 0.
pub fn truncated_header_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let bytes = written(imp, &dir, 3)?;
    open_fails_at(imp, &dir, &bytes[..HEADER_LEN / 2], 0, "a truncated header")
}

/// Check 9: a file with the wrong magic bytes is a typed error at offset 0.
pub fn wrong_magic_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let mut bytes = written(imp, &dir, 3)?;
    bytes[0] ^= 0xFF;
    open_fails_at(imp, &dir, &bytes, 0, "wrong magic bytes")
}

/// Check 10: a file of a newer major format version is a typed error at the version's offset.
pub fn newer_version_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let mut bytes = written(imp, &dir, 3)?;
    bytes[8..10].copy_from_slice(&(bothways_journal_format::VERSION_MAJOR + 1).to_be_bytes());
    open_fails_at(imp, &dir, &bytes, 8, "a newer major version")
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

/// What a raw TCP client of the journal's protocol read next.
#[derive(Debug)]
enum Frame {
    Event(u64, Vec<u8>),
    Lagged(u64),
    /// The server closed the connection.
    End,
    /// Nothing within the limit.
    Nothing,
}

/// A TCP subscriber written here, from the protocol's bytes alone (`bothways-wire` frames of
/// `bothways_journal_format::wire` messages), so the check tests what goes over the socket
/// rather than the implementation's own client.
struct TcpSub {
    stream: TcpStream,
    decoder: FrameDecoder,
    pending: VecDeque<Vec<u8>>,
    buf: Vec<u8>,
}

impl TcpSub {
    fn connect(addr: SocketAddr, from: u64) -> Result<TcpSub, Failure> {
        TcpSub::connect_with(addr, from, &[])
    }

    /// Connects and sends the subscribe frame followed by `extra`, in one write.
    fn connect_with(addr: SocketAddr, from: u64, extra: &[u8]) -> Result<TcpSub, Failure> {
        let fail =
            |e: std::io::Error| Failure::new("a TCP connection to the journal", e.to_string());
        let mut stream = TcpStream::connect(addr).map_err(fail)?;
        let mut out = Vec::new();
        frame::encode(&wire::subscribe_frame(from), &mut out)
            .map_err(|e| Failure::new("a subscribe frame to encode", e.to_string()))?;
        out.extend_from_slice(extra);
        stream.write_all(&out).map_err(fail)?;
        Ok(TcpSub {
            stream,
            decoder: FrameDecoder::new(MAX_FRAME),
            pending: VecDeque::new(),
            buf: vec![0; 64 << 10],
        })
    }

    fn next(&mut self, limit: Duration) -> Result<Frame, Failure> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(payload) = self.pending.pop_front() {
                return match wire::decode_server(&payload) {
                    Ok(ServerMessage::Event(event)) => Ok(Frame::Event(event.seq, event.payload)),
                    Ok(ServerMessage::Lagged { last_seq }) => Ok(Frame::Lagged(last_seq)),
                    Err(len) => Err(Failure::new(
                        "well-formed server frames",
                        format!("a malformed frame of {len} bytes"),
                    )),
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Frame::Nothing);
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| Failure::new("a read timeout on the socket", e.to_string()))?;
            let n = match self.stream.read(&mut self.buf) {
                Ok(0) => return Ok(Frame::End),
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(Frame::Nothing);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // A reset is how a server that closed with unread bytes ends the connection.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(Frame::End),
                Err(e) => return Err(Failure::new("the socket to read", e.to_string())),
            };
            let mut input = &self.buf[..n];
            while let Some(payload) = self
                .decoder
                .decode(&mut input)
                .map_err(|e| Failure::new("well-formed server frames", e.to_string()))?
            {
                self.pending.push_back(payload);
            }
        }
    }

    /// Receives frames until event `last`, checking they are exactly `from..=last`, in order,
    /// once each, with the bytes `expect` gives.
    fn expect_range(
        &mut self,
        from: u64,
        last: u64,
        expect: impl Fn(u64) -> Vec<u8>,
    ) -> Result<(), Failure> {
        let mut next = from;
        while next <= last {
            match self.next(ANSWER_WITHIN)? {
                Frame::Event(seq, bytes) => {
                    ensure(
                        seq == next,
                        &format!("TCP events {from}..={last} in order, each once"),
                        || format!("{seq} where {next} was due"),
                    )?;
                    ensure(
                        bytes == expect(seq),
                        &format!("TCP event {seq}'s own bytes"),
                        || format!("{} bytes", bytes.len()),
                    )?;
                    next += 1;
                }
                other => {
                    return Err(Failure::new(
                        format!("TCP events {from}..={last}"),
                        format!("{other:?} where {next} was due"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The stall limit of the TCP checks that do not test it: longer than any stall they make.
const PATIENT: Duration = Duration::from_secs(120);

/// A loopback listener on a port the system picks, served with a stall limit no check
/// reaches but the one about it.
fn serve<J: SpecJournal>(journal: &J) -> Result<SocketAddr, Failure> {
    serve_limited(journal, PATIENT)
}

fn serve_limited<J: SpecJournal>(journal: &J, limit: Duration) -> Result<SocketAddr, Failure> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Failure::new("a loopback listener", e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::new("the listener's address", e.to_string()))?;
    call("serve_tcp", journal.serve_tcp(listener, limit))?;
    Ok(addr)
}

/// Events in the TCP handover check; the first [`TCP_HISTORY`] are in the file before the
/// client connects, the rest are appended while it connects and reads.
pub const TCP_EVENTS: u64 = 5_000;
/// Events appended before the TCP client of the handover check connects.
pub const TCP_HISTORY: u64 = 100;

/// Check 13: over TCP, with `bothways-wire` frames: after 100 events, a client subscribing from
/// 40 while a producer appends up to 5,000 gets exactly 40..=5,000, in order, once each, then
/// nothing, then the next event when it is appended; a client from past the end gets nothing
/// until that event exists, then exactly it; when the journal closes, the connection ends.
pub fn tcp_subscriber_gets_history_then_live<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, 1 << 16)?);
    for seq in 1..=TCP_HISTORY {
        call("append", journal.append(&payload(seq)))?;
    }
    let addr = serve(journal.as_ref())?;
    let start = Instant::now();
    let producer = {
        let journal = Arc::clone(&journal);
        thread::spawn(move || -> Result<(), Failure> {
            for seq in TCP_HISTORY + 1..=TCP_EVENTS {
                let got = call("append", journal.append(&payload(seq)))?;
                ensure(got == seq, "sequence numbers in append order", || {
                    format!("{got} for the {seq}th")
                })?;
            }
            Ok(())
        })
    };
    let mut client = TcpSub::connect(addr, 40)?;
    let received = client.expect_range(40, TCP_EVENTS, payload);
    producer
        .join()
        .map_err(|_| Failure::new("the producer to finish", "a panic"))??;
    received?;
    let elapsed = start.elapsed();
    let extra = client.next(QUIET)?;
    ensure(
        matches!(extra, Frame::Nothing),
        &format!("nothing over TCP after event {TCP_EVENTS}"),
        || format!("{extra:?}"),
    )?;
    // A client from past the end: nothing until its event exists.
    let ahead = TCP_EVENTS + 3;
    let mut early = TcpSub::connect(addr, ahead)?;
    for seq in TCP_EVENTS + 1..ahead {
        call("append", journal.append(&payload(seq)))?;
    }
    client.expect_range(TCP_EVENTS + 1, ahead - 1, payload)?;
    let none = early.next(QUIET)?;
    ensure(
        matches!(none, Frame::Nothing),
        &format!("nothing over TCP before event {ahead} exists"),
        || format!("{none:?}"),
    )?;
    call("append", journal.append(&payload(ahead)))?;
    early.expect_range(ahead, ahead, payload)?;
    client.expect_range(ahead, ahead, payload)?;
    call("close", journal.close())?;
    for (name, sub) in [("the first", &mut client), ("the second", &mut early)] {
        let end = sub.next(ANSWER_WITHIN)?;
        ensure(
            matches!(end, Frame::End),
            &format!("{name} TCP connection to end when the journal closes"),
            || format!("{end:?}"),
        )?;
    }
    Ok(vec![
        Figure::count("events over TCP", (TCP_EVENTS - 40 + 1) as i64, "events"),
        Figure::millis("handover over TCP", elapsed),
    ])
}

/// The queue of the subscriber in the TCP lag check.
pub const TCP_QUEUE: usize = 64;
/// Events of [`TCP_EVENT_LEN`] bytes appended past the stalled TCP client: 16 MiB, four times
/// what loopback socket buffers hold for a client that does not read (Linux grows a receive
/// buffer only as its reader reads, and send buffers stop at 4 MiB by default), so the
/// server's queue must fill.
pub const TCP_LAG_EVENTS: u64 = 16_000;
/// The size of each event in the TCP lag check.
pub const TCP_EVENT_LEN: usize = 1024;

fn big_payload(seq: u64) -> Vec<u8> {
    let mut bytes = payload(seq);
    bytes.resize(TCP_EVENT_LEN, b'.');
    bytes
}

/// Check 14: a TCP client with a server-side queue of 64 reads event 1, then stops reading
/// while 16,000 events of 1 KiB are appended: every append returns (the writer never waits for
/// the client) within the usual bound. When the client reads again it gets 1..=k in order,
/// then the typed `Lagged { last_seq: k }` frame with k short of the end (the server held a
/// bounded amount for it, not everything), then the end of the connection; a new client from
/// `k + 1` gets the rest, then live events.
pub fn tcp_slow_subscriber_lags_and_resumes<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, TCP_QUEUE)?);
    let addr = serve(journal.as_ref())?;
    let mut slow = TcpSub::connect(addr, 1)?;
    call("append", journal.append(&big_payload(1)))?;
    // Once event 1 has come, the server has subscribed: what follows goes through its queue.
    slow.expect_range(1, 1, big_payload)?;
    let start = Instant::now();
    let (done, finished) = std::sync::mpsc::channel();
    {
        let journal = Arc::clone(&journal);
        thread::spawn(move || {
            let result = (2..=TCP_LAG_EVENTS)
                .try_for_each(|seq| journal.append(&big_payload(seq)).map(drop))
                .and_then(|()| journal.flush());
            let _ = done.send(result);
        });
    }
    // Generous: 16 MiB through the page cache and the CRC, on a noisy machine.
    let limit = ANSWER_WITHIN * 3;
    match finished.recv_timeout(limit) {
        Ok(result) => call("append", result)?,
        Err(_) => {
            return Err(Failure::new(
                format!("{TCP_LAG_EVENTS} appends past a stalled TCP client to return"),
                format!("still appending after {limit:?}"),
            ));
        }
    }
    let appending = start.elapsed();
    let mut got = 1u64;
    let last_seq = loop {
        match slow.next(ANSWER_WITHIN)? {
            Frame::Event(seq, _) => {
                ensure(seq == got + 1, "TCP events in order before the cut", || {
                    format!("{seq} after {got}")
                })?;
                got = seq;
            }
            Frame::Lagged(last_seq) => break last_seq,
            other => {
                return Err(Failure::new(
                    "a typed Lagged frame after the stalled client's events",
                    format!("{other:?} after event {got}"),
                ));
            }
        }
    };
    ensure(
        last_seq == got,
        "Lagged to name the last event the client received",
        || format!("last_seq {last_seq} after event {got}"),
    )?;
    ensure(
        last_seq < TCP_LAG_EVENTS,
        &format!("Lagged before event {TCP_LAG_EVENTS}: a bounded amount held for the client"),
        || format!("Lagged at {last_seq}"),
    )?;
    let end = slow.next(ANSWER_WITHIN)?;
    ensure(
        matches!(end, Frame::End),
        "the connection to end after the Lagged frame",
        || format!("{end:?}"),
    )?;
    let mut again = TcpSub::connect(addr, last_seq + 1)?;
    again.expect_range(last_seq + 1, TCP_LAG_EVENTS, big_payload)?;
    let live = call("append", journal.append(&big_payload(TCP_LAG_EVENTS + 1)))?;
    again.expect_range(live, live, big_payload)?;
    call("close", journal.close())?;
    Ok(vec![
        Figure::count("received before the cut", got as i64, "events"),
        Figure::millis("appending 16 MiB past a stalled TCP client", appending),
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

/// Check 16: an event larger than the format's maximum is refused with a typed error (no
/// panic, nothing written) and takes no sequence number: the next event gets 1, and a replay
/// gives exactly it.
pub fn oversized_event_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::Flush, 1024)?;
    let huge = vec![0u8; bothways_journal_format::MAX_PAYLOAD as usize + 1];
    let refused = journal.append(&huge);
    ensure(
        matches!(refused, Err(Error::Format { .. })),
        "an event past the maximum refused with a typed format error",
        || format!("{refused:?}"),
    )?;
    let seq = call("append", journal.append(&payload(1)))?;
    ensure(
        seq == 1,
        "the refused event to take no sequence number",
        || format!("the next event got {seq}"),
    )?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 1, |s| Some(payload(s)))?;
    let extra = call("recv", sub.recv_within(QUIET))?;
    ensure(extra.is_none(), "nothing after event 1", || {
        format!("{extra:?}")
    })?;
    call("close", journal.close())?;
    Ok(Vec::new())
}

/// The stall limit the server gets in the stalled-client check.
pub const STALL_LIMIT: Duration = Duration::from_millis(250);

/// Check 17: a TCP server with a stall limit of 250 ms disconnects a client that connects
/// and says nothing (not before half the limit, and within the usual bound), and a client
/// that subscribes, takes event 1 and then reads nothing while 16 MiB are appended: after a
/// stall of eight times the limit it reads the events the server had sent, in order, then the
/// end of the connection, short of the last event: the server gave up on the full socket
/// instead of waiting there to send the rest. Subscriber queues hold more than is appended,
/// so the journal never cuts a client with `Lagged` here: only the stall limit can. A client
/// waiting on a quiet journal for twice the limit is kept, and gets the next event.
pub fn tcp_stalled_clients_are_disconnected<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let queue = (TCP_LAG_EVENTS as usize + 1).next_power_of_two();
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, queue)?);
    let addr = serve_limited(journal.as_ref(), STALL_LIMIT)?;
    // A client waiting for events on a quiet journal is not stalled: the server waits on the
    // journal, not on it.
    let mut patient = TcpSub::connect(addr, 1)?;
    let quiet_since = Instant::now();
    // The silent client: connected, never a subscribe frame.
    let start = Instant::now();
    let silent = TcpStream::connect(addr)
        .map_err(|e| Failure::new("a TCP connection to the journal", e.to_string()))?;
    let mut silent = TcpSub {
        stream: silent,
        decoder: FrameDecoder::new(MAX_FRAME),
        pending: VecDeque::new(),
        buf: vec![0; 64],
    };
    let end = silent.next(ANSWER_WITHIN)?;
    let cut_after = start.elapsed();
    ensure(
        matches!(end, Frame::End),
        &format!("a client that sends nothing cut off within {ANSWER_WITHIN:?}"),
        || format!("{end:?} after {cut_after:?}"),
    )?;
    ensure(
        cut_after >= STALL_LIMIT / 2,
        &format!("a silent client kept for its stall limit of {STALL_LIMIT:?}"),
        || format!("cut off after {cut_after:?}"),
    )?;
    // The client that stops reading; event 1 only once the patient client has waited twice
    // the limit.
    let mut stalled = TcpSub::connect(addr, 1)?;
    thread::sleep((quiet_since + STALL_LIMIT * 2).saturating_duration_since(Instant::now()));
    call("append", journal.append(&big_payload(1)))?;
    stalled.expect_range(1, 1, big_payload)?;
    patient.expect_range(1, 1, big_payload)?;
    for seq in 2..=TCP_LAG_EVENTS {
        call("append", journal.append(&big_payload(seq)))?;
    }
    call("flush", journal.flush())?;
    thread::sleep(STALL_LIMIT * 8);
    let mut got = 1u64;
    loop {
        match stalled.next(ANSWER_WITHIN)? {
            Frame::Event(seq, _) => {
                ensure(
                    seq == got + 1,
                    "TCP events in order before the stall cut",
                    || format!("{seq} after {got}"),
                )?;
                got = seq;
            }
            Frame::End => break,
            other => {
                return Err(Failure::new(
                    "the end of the connection after the events sent before the stall",
                    format!("{other:?} after event {got}"),
                ));
            }
        }
    }
    ensure(
        got < TCP_LAG_EVENTS,
        &format!("the stalled client cut off before event {TCP_LAG_EVENTS}"),
        || format!("all {got} events"),
    )?;
    // The patient client lagged (it read nothing either); a new one is served as before.
    drop(patient);
    let mut after = TcpSub::connect(addr, TCP_LAG_EVENTS + 1)?;
    let live = call("append", journal.append(&big_payload(TCP_LAG_EVENTS + 1)))?;
    after.expect_range(live, live, big_payload)?;
    call("close", journal.close())?;
    Ok(vec![
        Figure::millis("silent client cut off after", cut_after),
        Figure::count("events sent before the stall cut", got as i64, "events"),
    ])
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
/// The subscriber queue of the checks on a [`SimDisk`]: more than they append, and small, as
/// a bounded channel's slots are made when it is.
const SIM_QUEUE: usize = 1024;
/// The simulated journal's directory and file in the checks that run on a [`SimDisk`].
pub const SIM_DIR: &str = "/journal";

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

/// A simulated disk with the journal's directory made, and the journal's path on it.
fn sim_disk() -> Result<(SimDisk, PathBuf), Failure> {
    let disk = SimDisk::new();
    disk.create_dir_all(Path::new(SIM_DIR))
        .map_err(|e| Failure::new("a simulated directory", e.to_string()))?;
    Ok((disk, Path::new(SIM_DIR).join("events")))
}

fn open_sim<T: JournalSpec>(
    imp: &T,
    disk: &SimDisk,
    path: &Path,
    durability: Durability,
) -> Result<T::Journal, Failure> {
    imp.open_on(Arc::new(disk.clone()), path, durability, SIM_QUEUE)
        .map_err(|e| {
            Failure::new(
                "the journal to open on the simulated disk",
                format!("{e:?}"),
            )
        })
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

/// Check 21: a closed journal's file ends at its last record, whatever the writer preallocated
/// while it was open; and a file whose records are followed by zeros and then stray bytes —
/// a power cut during an in-place write into preallocated space, which lost the page where the
/// write began and kept a later one — opens, is cut at the zeros, and continues from there.
pub fn zero_tail_is_cut_and_close_trims<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    let closed = written_with(imp, &dir, 10, Durability::Append)?;
    let found = bothways_journal_format::scan(&closed)
        .map_err(|e| Failure::new("the closed file to read", e.to_string()))?;
    ensure(
        found.next_seq == 11 && found.good_len == closed.len() as u64,
        "the closed file to end at its 10th and last record",
        || {
            format!(
                "{} records, then {} bytes",
                found.next_seq - 1,
                closed.len() as u64 - found.good_len
            )
        },
    )?;
    let mut cut = closed;
    cut.extend_from_slice(&[0; 4096]);
    bothways_journal_format::encode_record(13, &payload(13), &mut cut)
        .map_err(|e| Failure::new("a record to encode", e.to_string()))?;
    cut.extend_from_slice(&[0; 100]);
    continues_at_11(imp, &path, &cut, Durability::Append)
}

/// Events appended in a burst right before the second client of check 22 hangs up.
pub const HANG_UP_BURST: u64 = 2_000;

/// Check 22: a TCP client that hangs up on a quiet journal — it ended its side of the
/// connection right after its subscribe frame — gets the history, and is then let go: the
/// server closes the connection without waiting for a next event that may never come. A
/// second one, live, that hangs up right after a burst of 2,000 appends returned, gets every
/// event appended before it hung up, the ones still on their way through the writer included. Otherwise every client that ever left a quiet journal would
/// keep a thread or a task, a socket and a subscriber queue. The journal goes on unaffected.
pub fn tcp_hung_up_client_is_let_go<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::None, 1 << 16)?;
    for seq in 1..=5 {
        call("append", journal.append(&payload(seq)))?;
    }
    let addr = serve_limited(&journal, PATIENT)?;
    let mut client = TcpSub::connect(addr, 1)?;
    // Its side ended at once, after the subscribe frame: what is there is still its due.
    client
        .stream
        .shutdown(Shutdown::Write)
        .map_err(|e| Failure::new("the client's side to shut down", e.to_string()))?;
    client.expect_range(1, 5, payload)?;
    let start = Instant::now();
    let end = client.next(ANSWER_WITHIN)?;
    let let_go = start.elapsed();
    ensure(
        matches!(end, Frame::End),
        &format!("a client that hung up on a quiet journal let go within {ANSWER_WITHIN:?}"),
        || format!("{end:?} after {let_go:?}"),
    )?;
    // A client that is live (it has event 6), then hangs up right after a burst of appends
    // returned: much of the burst is still in the writer's input at the hang-up, and reaches
    // the server after it. All of it was appended before the hang-up: all of it is its due.
    let burst = HANG_UP_BURST;
    let mut late = TcpSub::connect(addr, 6)?;
    call("append", journal.append(&payload(6)))?;
    late.expect_range(6, 6, payload)?;
    for seq in 7..6 + burst {
        call("append", journal.append(&payload(seq)))?;
    }
    late.stream
        .shutdown(Shutdown::Write)
        .map_err(|e| Failure::new("the client's side to shut down", e.to_string()))?;
    late.expect_range(7, 5 + burst, payload)?;
    let end = late.next(ANSWER_WITHIN)?;
    ensure(
        matches!(end, Frame::End),
        "a client that hung up let go once sent what was appended before",
        || format!("{end:?}"),
    )?;
    let next = call("append", journal.append(&payload(6 + burst)))?;
    ensure(
        next == 6 + burst,
        &format!("the journal to go on at event {}", 6 + burst),
        || next.to_string(),
    )?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 6 + burst, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    Ok(vec![Figure::millis("hung-up client let go after", let_go)])
}

/// Check 23: a header field no writer writes is a typed format error naming its offset, not a
/// journal that opens: major version 0 (offset 8), first sequence number 0 (offset 12, as
/// event 0 could never be asked for); and a record numbered past [`MAX_SEQ`], whose successor
/// would not fit in 64 bits, is one naming the record's offset.
pub fn impossible_header_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let good = written(imp, &dir, 3)?;
    let mut major_zero = good.clone();
    major_zero[8..10].copy_from_slice(&0u16.to_be_bytes());
    open_fails_at(imp, &dir, &major_zero, 8, "major version 0")?;
    let mut base_zero = good;
    base_zero[12..20].copy_from_slice(&0u64.to_be_bytes());
    open_fails_at(imp, &dir, &base_zero, 12, "first sequence number 0")?;
    let mut past_max = Header::new(u64::MAX).encode().to_vec();
    bothways_journal_format::encode_record(u64::MAX, b"one too many", &mut past_max)
        .map_err(|e| Failure::new("a record to encode", e.to_string()))?;
    open_fails_at(
        imp,
        &dir,
        &past_max,
        HEADER_LEN as u64,
        "a record numbered 2^64 - 1",
    )
}

/// Check 24: a journal whose sequence numbers run out says so with a typed error and keeps
/// what it has. A file whose header starts at [`MAX_SEQ`] takes one event under that number;
/// the next `append` is refused with `SequenceExhausted` (no panic, no wrap to 0), the event is
/// replayed, and after a reopen the journal still refuses the next one. A file whose header
/// starts past `MAX_SEQ` opens and refuses its first append the same way.
pub fn sequence_space_ends_with_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    put_file(&path, &Header::new(MAX_SEQ).encode())?;
    for round in ["", " after reopening"] {
        let journal = open(imp, &path, Durability::Flush, 1024)?;
        if round.is_empty() {
            let last = call("append", journal.append(b"the last one"))?;
            ensure(last == MAX_SEQ, "the last event numbered 2^64 - 2", || {
                last.to_string()
            })?;
        }
        let refused = journal.append(b"one too many");
        ensure(
            matches!(refused, Err(Error::SequenceExhausted)),
            &format!("SequenceExhausted for the append after 2^64 - 2{round}"),
            || format!("{refused:?}"),
        )?;
        let mut sub = call("subscribe", journal.subscribe(MAX_SEQ))?;
        expect_range(&mut sub, MAX_SEQ, MAX_SEQ, |_| {
            Some(b"the last one".to_vec())
        })?;
        call("close", journal.close())?;
    }
    put_file(&path, &Header::new(MAX_SEQ + 1).encode())?;
    let journal = open(imp, &path, Durability::Flush, 1024)?;
    let refused = journal.append(b"no room");
    ensure(
        matches!(refused, Err(Error::SequenceExhausted)),
        "SequenceExhausted for the first append to a file that starts past 2^64 - 2",
        || format!("{refused:?}"),
    )?;
    call("close", journal.close())?;
    Ok(Vec::new())
}

/// Events the producer of check 25 appends, one a millisecond at most, while a client sends
/// junk: more than any bound the check waits for.
const BUSY_EVENTS: u64 = 20_000;
/// The stall limit of check 25: a breach must be noticed within it.
pub const BREACH_LIMIT: Duration = Duration::from_secs(1);

/// Check 25: a client that sends anything after its subscribe frame breaks the protocol and is
/// disconnected, whatever the timing. Junk in the same write as the subscribe frame: the
/// connection ends with no event sent, though the journal has some. Junk sent later, while
/// events flow to the client every millisecond (so a server that looks at the socket only
/// when the journal is quiet never would): the connection ends within the stall limit of
/// 1 s (the bound checked is three times that, for a noisy machine), the client reading all
/// the while. The journal goes on, and a well-behaved client is still served.
pub fn tcp_bytes_after_subscribe_disconnect<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, 1 << 16)?);
    for seq in 1..=5 {
        call("append", journal.append(&payload(seq)))?;
    }
    let addr = serve_limited(journal.as_ref(), BREACH_LIMIT)?;
    // Junk in the same write as the subscribe frame.
    let mut same = TcpSub::connect_with(addr, 1, b"junk")?;
    let end = same.next(ANSWER_WITHIN)?;
    ensure(
        matches!(end, Frame::End),
        "a client with bytes after its subscribe frame, in the same write, disconnected at once",
        || format!("{end:?}"),
    )?;
    // Junk while events flow.
    let mut busy = TcpSub::connect(addr, 1)?;
    busy.expect_range(1, 5, payload)?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let (journal, stop) = (Arc::clone(&journal), Arc::clone(&stop));
        thread::spawn(move || -> Result<u64, Error> {
            let mut last = 5;
            while !stop.load(Ordering::Relaxed) && last < 5 + BUSY_EVENTS {
                last = journal.append(&payload(last + 1))?;
                thread::sleep(Duration::from_millis(1));
            }
            Ok(last)
        })
    };
    // Let events flow for a while first, then break the protocol.
    let mut got = 5;
    let flowing = Instant::now();
    while flowing.elapsed() < BREACH_LIMIT / 2 {
        match busy.next(ANSWER_WITHIN)? {
            Frame::Event(seq, _) => got = seq,
            other => {
                stop.store(true, Ordering::Relaxed);
                return Err(Failure::new(
                    "events to flow before the client breaks the protocol",
                    format!("{other:?} after event {got}"),
                ));
            }
        }
    }
    busy.stream
        .write_all(b"junk")
        .map_err(|e| Failure::new("the junk to be sent", e.to_string()))?;
    let sent = Instant::now();
    let bound = BREACH_LIMIT * 3;
    let outcome = loop {
        if sent.elapsed() > bound {
            break Err(format!(
                "still connected after {:?}, at event {got}",
                sent.elapsed()
            ));
        }
        match busy.next(bound) {
            Ok(Frame::Event(seq, _)) => got = seq,
            Ok(Frame::End) => break Ok(sent.elapsed()),
            Ok(other) => break Err(format!("{other:?} at event {got}")),
            Err(e) => break Err(e.to_string()),
        }
    };
    stop.store(true, Ordering::Relaxed);
    let last = producer
        .join()
        .map_err(|_| Failure::new("the producer to finish", "a panic"))?;
    let last = call("append", last)?;
    let cut_after = outcome.map_err(|seen| {
        Failure::new(
            format!("a client that sent bytes while events flowed disconnected within {bound:?}"),
            seen,
        )
    })?;
    let mut good = TcpSub::connect(addr, last)?;
    good.expect_range(last, last, payload)?;
    call("close", journal.close())?;
    Ok(vec![Figure::millis("breach noticed after", cut_after)])
}

/// Power cuts the power-cut check makes per durability mode, unless [`POWER_CUTS_VAR`] says
/// more: it is all in memory, about a millisecond a cut.
pub const POWER_CUTS: u64 = 1_000;
/// The environment variable that sets how many power cuts the power-cut check makes per mode.
pub const POWER_CUTS_VAR: &str = "BOTHWAYS_POWER_CUTS";
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
/// files and may be cut. 1,000 cuts per mode ([`POWER_CUTS_VAR`] for more); a failure names
/// its seed.
pub fn acknowledged_events_survive_power_cuts<T: JournalSpec>(imp: &T) -> CheckResult {
    seeded(|seed| acknowledged_events_survive_power_cuts_with(imp, seed))
}

fn acknowledged_events_survive_power_cuts_with<T: JournalSpec>(imp: &T, seed: u64) -> CheckResult {
    let cuts = std::env::var(POWER_CUTS_VAR)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(POWER_CUTS)
        .max(1);
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
/// one too, and nothing more is acknowledged. After a power cut, a reopen recovers exactly
/// the acknowledged events, whatever the cut kept.
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
    for appender in appenders {
        let results = appender
            .join()
            .map_err(|_| Failure::new("appenders to finish", "a panic"))?;
        for (result, bytes) in results {
            match result {
                Ok(seq) => {
                    acked.insert(seq, bytes);
                }
                Err(Error::Failed(_)) => refused += 1,
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
        ensure(
            replayed == acked,
            &format!(
                "exactly the {} acknowledged events after a power cut (image {cut})",
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

/// The open-file limit of the serving child of check 29 (`ulimit -n`): a few dozen clients
/// reach it.
pub const CHILD_FILES: u32 = 40;
/// Events the serving child appends before it serves.
const CHILD_EVENTS: u64 = 3;
/// How long a client of check 29 waits for its first event before it counts as not served;
/// a served one has it within milliseconds.
pub const UNSERVED_AFTER: Duration = Duration::from_secs(3);

/// Check 29: a TCP server whose process runs out of file descriptors, so that `accept` fails
/// (EMFILE), outlives it. A child process (the crash child, in mode `serve`, its open-file
/// limit lowered to 40 by `ulimit -n`) serves a journal of 3 events. Clients connect one after
/// another and each gets the 3 events, until one gets nothing for 3 s while the others are
/// still connected: the limit is reached. (A client accepted but cut off, as its server could
/// not open the file to replay it, means the limit is a descriptor away — or two, as Linux
/// takes a blocked `accept`'s descriptor before it blocks: a connection that never subscribes
/// is made after each such client, to take one.) Once the others hang up, the client that got
/// nothing is accepted, and a new client is served.
pub fn tcp_server_survives_fd_exhaustion<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let Some(command) = imp.crash_child(&dir.file()) else {
        return Ok(vec![Figure::skipped("cannot re-execute a child")]);
    };
    let mut child = Reaped(
        with_file_limit(&command, CHILD_FILES)
            .env(CRASH_MODE_VAR, "serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Failure::new("the serving child to start", e.to_string()))?,
    );
    let addr = served_at(&mut child.0)?;
    let survive = "the server to survive running out of file descriptors";
    let (mut served, mut silent, mut cut) = (Vec::new(), Vec::new(), 0);
    let waiting = loop {
        ensure(
            served.len() + cut < 4 * CHILD_FILES as usize,
            &format!("the child's limit of {CHILD_FILES} open files to be reached"),
            || format!("{} clients served", served.len()),
        )?;
        let mut client = TcpSub::connect(addr, 1).map_err(|f| {
            Failure::new(
                format!("{survive}: new connections accepted"),
                format!("{} after {} clients served", f.seen, served.len()),
            )
        })?;
        match client.next(UNSERVED_AFTER)? {
            Frame::Event(1, _) => {
                client.expect_range(2, CHILD_EVENTS, payload)?;
                served.push(client);
            }
            Frame::End => {
                cut += 1;
                let stream = TcpStream::connect(addr).map_err(|e| {
                    Failure::new(
                        format!("{survive}: new connections accepted"),
                        e.to_string(),
                    )
                })?;
                silent.push(stream);
            }
            Frame::Nothing => break client,
            other => {
                return Err(Failure::new(
                    "the journal's first event, or nothing",
                    format!("{other:?}"),
                ));
            }
        }
    };
    let open = served.len();
    ensure(open > 0, "clients served before the limit", || {
        "none".to_owned()
    })?;
    drop((served, silent));
    // Once descriptors are free, the waiting client is accepted: it gets its events, or the
    // end of its connection if one descriptor alone was free, as the replay needs another.
    let mut waiting = waiting;
    let start = Instant::now();
    match waiting.next(ANSWER_WITHIN)? {
        Frame::Event(1, _) => waiting.expect_range(2, CHILD_EVENTS, payload)?,
        Frame::End => {}
        other => {
            return Err(Failure::new(
                format!(
                    "{survive}: the client that got nothing while {open} others were connected \
                     accepted once they left"
                ),
                format!("{other:?}"),
            ));
        }
    }
    let accepted = start.elapsed();
    // A new client is served once the server has let go of those that left (a thread may
    // take half a second to notice a hang-up): until then it may be cut off the same way.
    loop {
        let seen = match TcpSub::connect(addr, 1) {
            Ok(mut fresh) => match fresh.next(ANSWER_WITHIN)? {
                Frame::Event(1, _) => break fresh.expect_range(2, CHILD_EVENTS, payload)?,
                Frame::End if start.elapsed() < ANSWER_WITHIN => {
                    thread::sleep(QUIET);
                    continue;
                }
                other => format!("{other:?}"),
            },
            Err(f) => f.seen,
        };
        return Err(Failure::new(
            format!("{survive}: a new client served once the others left"),
            seen,
        ));
    }
    Ok(vec![
        Figure::count("clients served at the limit", open as i64, "clients"),
        Figure::millis("the waiting client accepted after they left", accepted),
        Figure::millis("a new client served after they left", start.elapsed()),
    ])
}

/// A child process, killed and reaped however the check that started it ends.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `command`, run by `sh` once it has lowered its open-file limit to `files`: std cannot set a
/// child's limits without `unsafe`, and `ulimit` is POSIX.
fn with_file_limit(command: &Command, files: u32) -> Command {
    let mut limited = Command::new("sh");
    limited
        .arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\" \"$@\""))
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => limited.env(key, value),
            None => limited.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        limited.current_dir(dir);
    }
    limited
}

/// The address the serving child printed (`serving <address>`), among the test harness's lines.
fn served_at(child: &mut std::process::Child) -> Result<SocketAddr, Failure> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Failure::new("the child's stdout", "none"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads on to the end, so that the child never blocks on a full pipe.
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // After libtest's `test … ` on the same line.
            if let Some((_, addr)) = line.split_once("serving ") {
                let _ = tx.send(addr.parse::<SocketAddr>());
            }
        }
    });
    match rx.recv_timeout(ANSWER_WITHIN) {
        Ok(Ok(addr)) => Ok(addr),
        Ok(Err(e)) => Err(Failure::new("an address after `serving `", e.to_string())),
        Err(_) => Err(Failure::new(
            "the serving child to print `serving <address>`",
            format!("nothing within {ANSWER_WITHIN:?}"),
        )),
    }
}

/// The body of the serving child of check 29: opens the journal, appends [`CHILD_EVENTS`]
/// events, serves them on a loopback listener with the implementation's own server, prints
/// `serving <address>`, and waits for its stdin to end (the check kills it first).
fn serve_child<T: JournalSpec>(imp: &T, path: &Path) {
    let Ok(journal) = imp.open(path, Durability::None, 1024) else {
        return;
    };
    if (1..=CHILD_EVENTS).any(|seq| journal.append(&payload(seq)).is_err()) {
        return;
    }
    let Ok(listener) = TcpListener::bind(("127.0.0.1", 0)) else {
        return;
    };
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    if journal.serve_tcp(listener, PATIENT).is_err() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "serving {addr}")
        .and_then(|()| out.flush())
        .is_ok()
    {
        drop(out);
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    }
}

/// Check 30: a TCP server shut down from outside lets its clients go. With three clients — one
/// that stopped reading while 16 MiB were appended (the server is stuck writing to it), one
/// that connected and never subscribed (the server waits for its subscribe frame), and one
/// waiting for events on a quiet journal — `stop_tcp` returns within the usual bound, and each
/// client then sees its connection end (the stalled one after the events already sent, in
/// order), although the stall limit is two minutes away. A connection made after is refused
/// or closed without an event. The journal goes on, and a new server serves it.
pub fn tcp_shutdown_lets_clients_go<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let queue = (TCP_LAG_EVENTS as usize + 1).next_power_of_two();
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, queue)?);
    for seq in 1..=5 {
        call("append", journal.append(&payload(seq)))?;
    }
    let addr = serve(journal.as_ref())?;
    let mut stalled = TcpSub::connect(addr, 1)?;
    stalled.expect_range(1, 5, payload)?;
    let last = 5 + TCP_LAG_EVENTS;
    for seq in 6..=last {
        call("append", journal.append(&big_payload(seq)))?;
    }
    let mut silent = TcpSub {
        stream: TcpStream::connect(addr)
            .map_err(|e| Failure::new("a TCP connection to the journal", e.to_string()))?,
        decoder: FrameDecoder::new(MAX_FRAME),
        pending: VecDeque::new(),
        buf: vec![0; 64],
    };
    // Served after the silent one was accepted, as a listener hands connections out in order.
    let mut waiting = TcpSub::connect(addr, last + 1)?;
    call("append", journal.append(&payload(last + 1)))?;
    waiting.expect_range(last + 1, last + 1, payload)?;
    let start = Instant::now();
    let (done, stopped) = std::sync::mpsc::channel();
    {
        let journal = Arc::clone(&journal);
        thread::spawn(move || done.send(journal.stop_tcp()));
    }
    let bound = ANSWER_WITHIN * 3;
    match stopped.recv_timeout(bound) {
        Ok(result) => call("stop_tcp", result)?,
        Err(_) => {
            return Err(Failure::new(
                format!("stop_tcp to return within {bound:?}"),
                "still stopping",
            ));
        }
    }
    let stopping = start.elapsed();
    for (name, client) in [
        ("a client waiting for events", &mut waiting),
        ("a client that never subscribed", &mut silent),
    ] {
        let end = client.next(ANSWER_WITHIN)?;
        ensure(
            matches!(end, Frame::End),
            &format!("{name} to see its connection end when the server stops"),
            || format!("{end:?}"),
        )?;
    }
    let mut got = 5;
    loop {
        match stalled.next(ANSWER_WITHIN)? {
            Frame::Event(seq, _) if seq == got + 1 => got = seq,
            Frame::End => break,
            other => {
                return Err(Failure::new(
                    "a client that stopped reading to see its connection end when the server \
                     stops, after the events already sent, in order",
                    format!("{other:?} after event {got}"),
                ));
            }
        }
    }
    if let Ok(mut late) = TcpSub::connect(addr, 1) {
        let seen = late.next(ANSWER_WITHIN)?;
        ensure(
            matches!(seen, Frame::End),
            "a connection made after the server stopped refused or closed",
            || format!("{seen:?}"),
        )?;
    }
    let next = call("append", journal.append(&payload(last + 2)))?;
    ensure(
        next == last + 2,
        &format!("the journal to go on at event {}", last + 2),
        || next.to_string(),
    )?;
    let mut again = TcpSub::connect(serve(journal.as_ref())?, last + 1)?;
    again.expect_range(last + 1, last + 2, payload)?;
    call("close", journal.close())?;
    Ok(vec![
        Figure::millis("stop_tcp returned after", stopping),
        Figure::count(
            "events sent to the stalled client",
            got as i64 - 5,
            "events",
        ),
    ])
}

/// Opens a journal on a simulated disk with the given segment size.
fn open_sim_sized<T: JournalSpec>(
    imp: &T,
    disk: &SimDisk,
    path: &Path,
    durability: Durability,
    segment_size: u64,
) -> Result<T::Journal, Failure> {
    let settings = Settings {
        durability,
        subscriber_queue: SIM_QUEUE,
        segment_size,
    };
    imp.open_with(Arc::new(disk.clone()), path, settings)
        .map_err(|e| {
            Failure::new(
                "the journal to open on the simulated disk",
                format!("{e:?}"),
            )
        })
}

/// Events of [`TCP_EVENT_LEN`] bytes, 1..=`n`, appended and flushed.
fn append_big<J: SpecJournal>(journal: &J, n: u64) -> Result<(), Failure> {
    for seq in 1..=n {
        call("append", journal.append(&big_payload(seq)))?;
    }
    call("flush", journal.flush())
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

/// Check 35: a journal in one file (the older layout, format version 1 or a lone segment)
/// opens as a directory holding it: its events replay and it continues; a move into the
/// directory that a crash interrupted (the file set aside as `<path>.migrating`) is finished
/// by the next open; and a file that is not a journal is refused with a typed error and left
/// as it was.
pub fn single_file_journal_is_migrated<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    let bytes = written(imp, &dir, 10)?;
    let mut old = bytes.clone();
    // The older layout: a file of version 1.
    old[8..10].copy_from_slice(&1u16.to_be_bytes());
    continues_at_11(imp, &path, &old, Durability::Flush)?;
    ensure(path.is_dir(), "the journal's path now a directory", || {
        "not a directory".to_owned()
    })?;
    // A move cut short: the file set aside, the directory not made yet.
    std::fs::remove_dir_all(&path).map_err(|e| Failure::new("a clean path", e.to_string()))?;
    let mut aside = path.as_os_str().to_owned();
    aside.push(".migrating");
    std::fs::write(PathBuf::from(&aside), &bytes)
        .map_err(|e| Failure::new("the file set aside", e.to_string()))?;
    let journal = open(imp, &path, Durability::Flush, 1024)?;
    let next = call("append", journal.append(&payload(11)))?;
    ensure(
        next == 11,
        "an interrupted move finished: the journal going on at 11",
        || next.to_string(),
    )?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 11, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    drop(journal);
    // Not a journal: refused, untouched.
    let other = dir.0.join("notes");
    let text = b"not a journal, just some notes".to_vec();
    std::fs::write(&other, &text).map_err(|e| Failure::new("a file", e.to_string()))?;
    let refused = imp.open(&other, Durability::Flush, 1024).map(|_| ());
    ensure(
        matches!(refused, Err(Error::Format { offset: 0, .. })),
        "a file that is not a journal refused with a format error at offset 0",
        || format!("{refused:?}"),
    )?;
    let after = std::fs::read(&other).map_err(|e| Failure::new("the file", e.to_string()))?;
    ensure(after == text, "a refused file left as it was", || {
        "it changed".to_owned()
    })?;
    Ok(Vec::new())
}

/// Check 36: damage in a sealed segment — synced when it was sealed, so never torn by a crash —
/// is a typed error naming its offset when a subscriber reaches it, not a skip and not a cut:
/// 300 events of 1 KiB in segments of 64 KiB, one bit flipped in event 2's bytes in the first
/// segment; the journal opens (it reads only its active segment), a subscriber from 1 gets
/// event 1 and then a format error, and one from the second segment on gets its events.
pub fn damage_in_a_sealed_segment_is_a_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let (disk, path) = sim_disk()?;
    let journal = open_sim_sized(imp, &disk, &path, Durability::Flush, SEGMENT)?;
    append_big(&journal, 300)?;
    call("close", journal.close())?;
    drop(journal);
    let first = path.join(format!("{:020}.seg", 1));
    let file = disk
        .open(&first, false)
        .map_err(|e| Failure::new("the first segment", e.to_string()))?;
    let record = (RECORD_HEADER_LEN + TCP_EVENT_LEN) as u64;
    let at = HEADER_LEN as u64 + record + RECORD_HEADER_LEN as u64 + 100;
    let mut byte = [0u8; 1];
    file.read_at(&mut byte, at)
        .and_then(|_| file.write_all_at(&[byte[0] ^ 0x10], at))
        .and_then(|()| file.sync_data())
        .map_err(|e| Failure::new("a bit flipped", e.to_string()))?;
    let journal = open_sim_sized(imp, &disk, &path, Durability::Flush, SEGMENT)?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 1, |s| Some(big_payload(s)))?;
    let damaged = sub.recv_within(ANSWER_WITHIN);
    let offset = HEADER_LEN as u64 + record;
    ensure(
        matches!(damaged, Err(Error::Format { offset: at, .. }) if at == offset),
        &format!("a format error at offset {offset} of the first segment, where event 2 is"),
        || format!("{:?}", damaged.map(|e| e.map(|(s, _)| s))),
    )?;
    let per_segment = SEGMENT / record;
    let later = per_segment + 10;
    let mut sub = call("subscribe", journal.subscribe(later))?;
    expect_range(&mut sub, later, 300, |s| Some(big_payload(s)))?;
    call("close", journal.close())?;
    Ok(Vec::new())
}
