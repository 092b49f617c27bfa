//! Deliberately broken implementations of the journal contract, one flaw each, showing that
//! every check in `bothways_spec::journal` can fail — a check is trusted only once it has been
//! seen to.
//!
//! The spec crate must not depend on a real implementation, so the baseline is written here with
//! std and the shared file format alone: the format crate's journal directory (segments, their
//! indexes, the low-water mark) behind one mutex, appends written straight through (fsynced
//! under `Durability::Append`, with group commit; at each flush under `Durability::Flush`),
//! and a subscription that notes its history's end and registers its bounded queue under that
//! same mutex, then reads the history from the segments. Its file work goes through the
//! storage seam, so the power-cut checks can run it on a simulated disk; a write or an fsync
//! that fails poisons it. Module `baseline` runs the whole suite against it, so when a
//! variant fails a check, the one change that variant makes is to blame. Variants whose flaw
//! is in the file layer's use of the disk get a storage that misbehaves the same way
//! ([`Flawed`]).

use std::collections::VecDeque;
use std::io;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bothways_journal_format::{
    self as format, Directory, Entry, HEADER_LEN, History, INDEX_MAGIC, MAGIC, MAX_SEQ, Next,
    PREALLOCATE, RECORD_HEADER_LEN, Storage, StorageFile, VERSION_MAJOR, crc32c, encode_record,
    read_exact_prefix, read_plan, scan, segment_path, wire,
};
use bothways_spec::journal::{
    CRASH_IMPL_VAR, CRASH_PATH_VAR, Durability, Error, JournalSpec, Settings, SpecJournal,
    SpecSubscription,
};
use bothways_wire::{FrameDecoder, frame};

/// The one thing a broken variant gets wrong, and the check that catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// A subscriber reads the file, lets go of the lock, and only then registers for live
    /// events: what is appended in between is lost. `handover_is_gapless_and_once`.
    RegisterAfterRead,
    /// The replay ignores `from` and starts at the first event: `resume_from_sequence`.
    ReplayFromStart,
    /// A `from` past the end starts at the current end instead: `subscribe_past_end_waits`.
    PastEndStartsAtEnd,
    /// Without fsync, events stay in memory and close forgets them:
    /// `every_durability_reads_back`.
    NoFlushOnClose,
    /// Opening refuses a file with a torn tail instead of cutting it:
    /// `reopen_cuts_torn_tail_and_continues`.
    TornTailRefused,
    /// `append` returns before the event is written; writes go out in batches of 64:
    /// `acknowledged_appends_survive_sigkill`.
    AckBeforeWrite,
    /// Corruption is treated as a torn tail and cut off — a silent skip:
    /// `flipped_bit_is_typed_error_at_offset`.
    CorruptionIsTorn,
    /// A file shorter than a header is started afresh: `truncated_header_is_typed_error`.
    ShortFileIsNew,
    /// The magic bytes are not checked: `wrong_magic_is_typed_error`.
    MagicUnchecked,
    /// The version is not checked: `newer_version_is_typed_error`.
    VersionUnchecked,
    /// Subscriber queues are unbounded, so nobody ever lags:
    /// `slow_subscriber_lags_with_bounded_memory`.
    UnboundedQueue,
    /// `prune` does nothing: `prune_keeps_only_later_events`.
    PruneIgnored,
    /// The TCP server ignores the client's `from` and sends live events only:
    /// `tcp_subscriber_gets_history_then_live`.
    TcpLiveOnly,
    /// The TCP server hangs up on a lagging client without the typed `Lagged` frame:
    /// `tcp_slow_subscriber_lags_and_resumes`.
    TcpLagUntyped,
    /// Events stay buffered until `flush` or `close`; no tick: `tick_flushes_without_a_call`.
    NoTick,
    /// An oversized event takes a sequence number before it is refused:
    /// `oversized_event_is_typed_error`.
    OversizedTakesSeq,
    /// The TCP server ignores its stall limit and waits on any client forever:
    /// `tcp_stalled_clients_are_disconnected`.
    TcpNoStallLimit,
    /// The TCP server limits a client's silence but not its refusal to read: a full socket
    /// keeps the server waiting: `tcp_stalled_clients_are_disconnected`.
    TcpReadLimitOnly,
    /// `prune` truncates the journal and writes the kept events into it, with a moment
    /// between the two that a kill can land in: `prune_is_atomic_under_sigkill`.
    PruneInPlace,
    /// Each append fsyncs while it holds the journal's lock, so no two appenders ever share
    /// an fsync: `group_commit_shares_fsyncs`.
    FsyncUnderLock,
    /// The replay stops at the first 64 KiB of the file: `large_replay_is_whole_and_in_order`.
    ReplayCut,
    /// The TCP server also cuts a client that waits on a quiet journal for its stall limit:
    /// `tcp_stalled_clients_are_disconnected`.
    TcpCutsQuietClients,
    /// Close leaves the zeros of a preallocating writer after the last record:
    /// `zero_tail_is_cut_and_close_trims`.
    CloseKeepsZeros,
    /// Zeros followed by stray bytes are taken for corruption, so a file a power cut left
    /// does not open: `zero_tail_is_cut_and_close_trims`.
    StrayBytesRefused,
    /// The TCP server waits for the next event before it notices a client that hung up:
    /// `tcp_hung_up_client_is_let_go`.
    HangUpUnnoticed,
    /// Cannot start a crash child, as the runner cannot: the crash checks skip, and a skip in
    /// a stamped test must fail it (`a_skipped_check_fails_its_stamped_test`).
    NoCrashChild,
    /// Header fields are not checked, so major version 0 and a first sequence number 0 open
    /// as if they were 1: `impossible_header_is_typed_error`.
    HeaderUnchecked,
    /// Sequence numbers wrap: the append after 2^64 - 2 gets 2^64 - 1, then 0:
    /// `sequence_space_ends_with_typed_error`.
    SequenceWraps,
    /// Bytes that come in the same read as the subscribe frame are dropped unseen:
    /// `tcp_bytes_after_subscribe_disconnect`.
    JunkWithFrameIgnored,
    /// The socket is looked at only when no event came for a while, so junk sent while events
    /// flow goes unnoticed: `tcp_bytes_after_subscribe_disconnect`.
    JunkSeenOnlyWhenQuiet,
    /// A client that hung up is let go at once, without the events appended before its
    /// hang-up that had not reached the server yet: `tcp_hung_up_client_is_let_go`.
    HangUpDropsOwed,
    /// `append` under `Durability::Append` returns once the event is written, and an fsync
    /// comes every eighth append: `acknowledged_events_survive_power_cuts`.
    AckBeforeSync,
    /// Nothing is ever fsynced, files nor directory: `acknowledged_events_survive_power_cuts`.
    NeverSyncs,
    /// `prune` renames its new low-water mark into place without syncing it first:
    /// `acknowledged_events_survive_power_cuts`.
    PruneFileUnsynced,
    /// `prune` does not sync the directory after its rename:
    /// `acknowledged_events_survive_power_cuts`.
    PruneDirUnsynced,
    /// Cutting a file's zeros or torn tail (at open, at a segment's sealing) is not synced
    /// before writing after it: `acknowledged_events_survive_power_cuts`.
    TrimUnsynced,
    /// A failed fsync is retried, and the retry's success acknowledges the events:
    /// `failed_fsync_poisons_the_journal`.
    FsyncRetried,
    /// A failed write is not kept: the next append carries on as if nothing happened:
    /// `full_disk_is_typed_error_and_reopen_continues`.
    WriteFailureForgotten,
    /// `subscribe` reads the whole history while it holds the writer:
    /// `history_is_read_after_the_pause_in_bounded_chunks`.
    ReplayUnderPause,
    /// Each sealed segment's index names the record after the one at each offset:
    /// `late_subscriber_seeks_without_reading_the_past`.
    IndexOffByOne,
    /// Index files are never written, so readers scan segments from their start:
    /// `late_subscriber_seeks_without_reading_the_past`.
    IndexDropped,
    /// `prune` deletes the active segment too: `prune_deletes_whole_segments_and_keeps_the_active`.
    PruneDeletesActive,
    /// The low-water mark is never put in place, so a reopened journal forgets the cut:
    /// `prune_deletes_whole_segments_and_keeps_the_active`.
    LowWaterForgotten,
    /// Opening reads every segment: `open_reads_only_the_active_segment`.
    OpenScansAll,
    /// A journal in one file is refused instead of moved into a directory:
    /// `single_file_journal_is_migrated`.
    MigrationRefused,
    /// A subscriber that meets damage in its history skips the rest of it:
    /// `damage_in_a_sealed_segment_is_a_typed_error`.
    DamageSkipped,
    /// The TCP server ends at the first `accept` that fails, EMFILE included:
    /// `tcp_server_survives_fd_exhaustion`.
    AcceptErrorEndsServer,
    /// Stopping the TCP server closes its listener but leaves its clients' threads running:
    /// `tcp_shutdown_lets_clients_go`.
    StopLeavesClients,
    /// Stopping the TCP server lets its clients go but leaves its listener open, so new
    /// connections wait in its queue: `tcp_shutdown_lets_clients_go`.
    StopKeepsListening,
}

const FLAWS: &[Flaw] = &[
    Flaw::AckBeforeWrite,
    Flaw::PruneInPlace,
    Flaw::AcceptErrorEndsServer,
];

/// The baseline (`flaw: None`) or one broken variant of it.
#[derive(Debug)]
struct Imp {
    flaw: Option<Flaw>,
}

type Event = (u64, Vec<u8>);

#[derive(Debug)]
enum Queue {
    Bounded(SyncSender<Event>),
    Unbounded(Sender<Event>),
}

#[derive(Debug)]
struct Live {
    tx: Queue,
    lagged: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Inner {
    /// The storage the journal was opened on, behind the variant's [`Flawed`] one.
    storage: Arc<dyn Storage>,
    path: PathBuf,
    directory: Directory,
    settings: Settings,
    /// The first write or fsync that failed: the journal then refuses everything.
    failed: Option<String>,
    next_seq: u64,
    /// Encoded records not yet written (`NoFlushOnClose`, `AckBeforeWrite`).
    pending: Vec<u8>,
    pending_count: usize,
    live: Vec<Live>,
    closed: bool,
}

/// Cloned into the TCP server's threads: every clone is the same journal.
#[derive(Debug, Clone)]
struct Journal {
    inner: Arc<Mutex<Inner>>,
    /// How far the file is fsynced, and whether an fsync is under way.
    synced: Arc<(Mutex<Synced>, Condvar)>,
    flaw: Option<Flaw>,
    durability: Durability,
    queue: usize,
    /// Each TCP server: the flag that stops it, its address, and its accept loop's thread.
    servers: Arc<Mutex<Vec<Server>>>,
}

type Server = (Arc<AtomicBool>, SocketAddr, JoinHandle<()>);

#[derive(Debug)]
struct Synced {
    /// Every event up to this one is fsynced.
    upto: u64,
    /// An appender is fsyncing for everyone.
    leading: bool,
    /// An fsync failed: no later one is trusted.
    failed: bool,
}

#[derive(Debug)]
struct Subscription {
    /// The history read under the lock (`ReplayUnderPause`).
    replay: VecDeque<Event>,
    /// The history, read after the lock, from the segments.
    history: Option<History>,
    /// Payload bytes of history still to hand out before it stops (`ReplayCut`).
    cut: Option<usize>,
    skip_damage: bool,
    next: u64,
    live: Receiver<Event>,
    lagged: Arc<AtomicBool>,
}

fn io(e: std::io::Error) -> Error {
    Error::Other(e.to_string())
}

fn fmt(e: format::Error) -> Error {
    Error::Format {
        offset: e.offset(),
        message: e.to_string(),
    }
}

impl Imp {
    fn has(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }

    /// What a flawed variant does to the file that opening will recover (a journal in one
    /// file, or the last segment of a directory) before the format crate's directory opens
    /// it: it patches, cuts or deletes what it should have refused, or refuses what it
    /// should have cut.
    fn meddle(&self, storage: &dyn Storage, path: &Path) -> Result<(), Error> {
        let target = match storage.entry(path).map_err(io)? {
            Some(Entry::File) => path.to_path_buf(),
            Some(Entry::Dir) => match storage
                .list(path)
                .map_err(io)?
                .into_iter()
                .rfind(|p| p.extension().is_some_and(|x| x == "seg"))
            {
                Some(last) => last,
                None => return Ok(()),
            },
            None => return Ok(()),
        };
        let file = storage.open(&target, false).map_err(io)?;
        let size = file.size().map_err(io)?;
        let bytes = read_exact_prefix(file.as_ref(), size).map_err(io)?;
        if self.has(Flaw::ShortFileIsNew) && bytes.len() < HEADER_LEN {
            return storage.remove(&target).map_err(io);
        }
        if bytes.len() >= HEADER_LEN {
            if self.has(Flaw::MagicUnchecked) {
                file.write_all_at(&MAGIC, 0).map_err(io)?;
            }
            if self.has(Flaw::VersionUnchecked) || self.has(Flaw::HeaderUnchecked) {
                file.write_all_at(&VERSION_MAJOR.to_be_bytes(), 8)
                    .map_err(io)?;
            }
            if self.has(Flaw::HeaderUnchecked) && bytes[12..20] == [0; 8] {
                file.write_all_at(&1u64.to_be_bytes(), 12).map_err(io)?;
            }
        }
        match scan(&bytes) {
            Err(e) if self.has(Flaw::CorruptionIsTorn) && e.offset() >= HEADER_LEN as u64 => {
                file.set_len(e.offset()).map_err(io)
            }
            Ok(found) => match found.torn {
                Some(torn) if self.has(Flaw::TornTailRefused) => {
                    Err(fmt(format::Error::Checksum {
                        offset: torn.offset,
                        part: "header",
                    }))
                }
                Some(torn)
                    if self.has(Flaw::StrayBytesRefused)
                        && bytes[torn.offset as usize..].iter().any(|&b| b != 0)
                        && torn.len >= RECORD_HEADER_LEN as u64 =>
                {
                    Err(fmt(format::Error::Checksum {
                        offset: torn.offset,
                        part: "header",
                    }))
                }
                _ => Ok(()),
            },
            Err(_) => Ok(()),
        }
    }
}

impl JournalSpec for Imp {
    type Journal = Journal;

    fn open_with(
        &self,
        storage: Arc<dyn Storage>,
        path: &Path,
        settings: Settings,
    ) -> Result<Journal, Error> {
        let storage: Arc<dyn Storage> = Arc::new(Flawed {
            inner: storage,
            flaw: self.flaw,
            renamed: Arc::default(),
        });
        self.meddle(storage.as_ref(), path)?;
        if self.has(Flaw::MigrationRefused) && storage.entry(path).map_err(io)? == Some(Entry::File)
        {
            return Err(Error::Format {
                offset: 0,
                message: "a journal in one file".into(),
            });
        }
        if self.has(Flaw::OpenScansAll)
            && storage.entry(path).map_err(io)? == Some(Entry::Dir)
            && let Ok(Ok(plan)) = read_plan(Arc::clone(&storage), path, 1)
        {
            let _ = History::new(plan).count();
        }
        let step = if settings.durability == Durability::None {
            0
        } else {
            PREALLOCATE.min(settings.segment_size)
        };
        let directory = Directory::open(Arc::clone(&storage), path, settings.segment_size, step)
            .map_err(io)?
            .map_err(fmt)?
            .directory;
        let next_seq = directory.next_seq();
        Ok(Journal {
            inner: Arc::new(Mutex::new(Inner {
                storage,
                path: path.to_path_buf(),
                directory,
                settings,
                failed: None,
                next_seq,
                pending: Vec::new(),
                pending_count: 0,
                live: Vec::new(),
                closed: false,
            })),
            synced: Arc::new((
                Mutex::new(Synced {
                    upto: next_seq - 1,
                    leading: false,
                    failed: false,
                }),
                Condvar::new(),
            )),
            flaw: self.flaw,
            durability: settings.durability,
            queue: settings.subscriber_queue,
            servers: Arc::default(),
        })
    }

    fn name(&self) -> String {
        format!("{:?}", self.flaw)
    }

    fn crash_child(&self, path: &Path) -> Option<Command> {
        if self.flaw == Some(Flaw::NoCrashChild) {
            return None;
        }
        let exe = std::env::current_exe().ok()?;
        let mut command = Command::new(exe);
        let test = match self.flaw {
            None => "baseline::journal_crash_child",
            Some(_) => "flawed_crash_child",
        };
        command
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CRASH_PATH_VAR, path)
            .env(CRASH_IMPL_VAR, self.name());
        Some(command)
    }
}

/// The crash check's child for a flawed variant: the variant is named in the environment.
#[test]
fn flawed_crash_child() {
    let Ok(name) = std::env::var(CRASH_IMPL_VAR) else {
        return;
    };
    if let Some(flaw) = FLAWS
        .iter()
        .copied()
        .find(|f| format!("{:?}", Some(*f)) == name)
    {
        bothways_spec::journal::crash_child(&Imp { flaw: Some(flaw) });
    }
}

impl Journal {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn has(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }

    fn write_pending(&self, inner: &mut Inner) -> Result<(), Error> {
        let pending = std::mem::take(&mut inner.pending);
        inner.pending_count = 0;
        self.write(inner, &pending)
    }

    /// Writes whole records after the journal's; a failure poisons it (unless the variant
    /// forgets it).
    fn write(&self, inner: &mut Inner, records: &[u8]) -> Result<(), Error> {
        Self::check(inner)?;
        inner.directory.write(records).map_err(|e| {
            if !self.has(Flaw::WriteFailureForgotten) {
                inner.failed = Some(e.to_string());
            }
            Error::Failed(e.to_string())
        })
    }

    fn check(inner: &Inner) -> Result<(), Error> {
        match &inner.failed {
            Some(message) => Err(Error::Failed(message.clone())),
            None => Ok(()),
        }
    }

    /// An fsync of the journal's active segment under its lock (flush, close); a failure
    /// poisons it.
    fn sync_locked(&self, inner: &mut Inner) -> Result<(), Error> {
        if self.durability == Durability::None {
            return Ok(());
        }
        Self::check(inner)?;
        inner.directory.sync_data().map_err(|e| {
            inner.failed = Some(e.to_string());
            Error::Failed(e.to_string())
        })
    }

    /// The active segment's path, where the events not yet synced are.
    fn active(inner: &Inner) -> PathBuf {
        let base = inner.directory.segments().last().copied().unwrap_or(1);
        segment_path(&inner.path, base)
    }

    /// One TCP client: reads its subscribe frame, then sends an event frame per event, and
    /// a `Lagged` frame before hanging up on it if it falls behind.
    fn serve_one(&self, mut stream: &TcpStream, stall_limit: Duration) -> Result<(), Error> {
        if !self.has(Flaw::TcpNoStallLimit) {
            stream.set_read_timeout(Some(stall_limit)).map_err(io)?;
        }
        if !self.has(Flaw::TcpNoStallLimit) && !self.has(Flaw::TcpReadLimitOnly) {
            stream.set_write_timeout(Some(stall_limit)).map_err(io)?;
        }
        let mut decoder = FrameDecoder::new(8);
        let mut buf = [0u8; 64];
        let from = loop {
            let n = stream.read(&mut buf).map_err(io)?;
            if n == 0 {
                return Ok(());
            }
            let mut input = &buf[..n];
            let decoded = decoder
                .decode(&mut input)
                .map_err(|e| Error::Other(e.to_string()))?;
            if let Some(payload) = decoded {
                if !input.is_empty() && !self.has(Flaw::JunkWithFrameIgnored) {
                    return Err(Error::Other("bytes after the subscribe frame".into()));
                }
                break wire::decode_subscribe(&payload).ok_or(Error::Closed)?;
            }
        };
        let from = if self.has(Flaw::TcpLiveOnly) {
            self.lock().next_seq
        } else {
            from
        };
        let mut sub = self.subscribe(from)?;
        let mut out = Vec::new();
        let quiet = if self.has(Flaw::TcpCutsQuietClients) {
            stall_limit
        } else {
            Duration::from_secs(3600)
        };
        let poll = if self.has(Flaw::HangUpUnnoticed) || self.has(Flaw::TcpCutsQuietClients) {
            quiet
        } else {
            quiet.min(Duration::from_millis(100))
        };
        // Once the client has hung up: the last event it is owed, what was appended before.
        let mut owed: Option<u64> = None;
        let mut looked = std::time::Instant::now();
        loop {
            if owed.is_some_and(|last| sub.next > last) {
                return Ok(());
            }
            let wait = if owed.is_some() { stall_limit } else { poll };
            let payload = match sub.recv_within(wait) {
                Ok(Some((seq, payload))) => wire::event_frame(&format::Event { seq, payload }),
                Ok(None) if owed.is_some() => return Ok(()),
                Ok(None) if self.has(Flaw::TcpCutsQuietClients) => return Ok(()),
                Ok(None) => Vec::new(),
                Err(Error::Lagged { .. }) if self.has(Flaw::TcpLagUntyped) => return Ok(()),
                Err(Error::Lagged { last_seq }) => wire::lagged_frame(last_seq),
                Err(_) => return Ok(()),
            };
            let quiet = payload.is_empty();
            if !quiet {
                out.clear();
                frame::encode(&payload, &mut out).map_err(|e| Error::Other(e.to_string()))?;
                stream.write_all(&out).map_err(io)?;
                if payload[0] == wire::LAGGED {
                    return Ok(());
                }
            }
            let look = if self.has(Flaw::JunkSeenOnlyWhenQuiet) {
                quiet
            } else if self.has(Flaw::HangUpDropsOwed) {
                true // after every event, so the hang-up is seen with events still owed
            } else {
                looked.elapsed() >= poll
            };
            if owed.is_none() && look && !self.has(Flaw::HangUpUnnoticed) {
                looked = std::time::Instant::now();
                if hung_up(stream)? {
                    if self.has(Flaw::HangUpDropsOwed) {
                        return Ok(());
                    }
                    owed = Some(self.lock().next_seq - 1);
                }
            }
        }
    }
}

impl Journal {
    /// The TCP server's accept loop: a failed `accept` is tried again after a pause (10 ms,
    /// doubling up to 1 s). Once `stop` is set (and a connection woke the `accept`), it closes
    /// the listener and lets every client go: shutting a socket down wakes its thread.
    fn accept_until(&self, listener: &TcpListener, stall_limit: Duration, stop: &AtomicBool) {
        let mut clients: Vec<(Weak<TcpStream>, JoinHandle<()>)> = Vec::new();
        let mut pause = Duration::from_millis(10);
        while !stop.load(Ordering::Acquire) {
            match listener.accept() {
                Ok(_) if stop.load(Ordering::Acquire) => break,
                Ok((stream, _)) => {
                    pause = Duration::from_millis(10);
                    clients.retain(|(_, thread)| !thread.is_finished());
                    let (stream, journal) = (Arc::new(stream), self.clone());
                    let socket = Arc::downgrade(&stream);
                    let client = thread::spawn(move || {
                        let _ = journal.serve_one(&stream, stall_limit);
                    });
                    clients.push((socket, client));
                }
                Err(_) if self.has(Flaw::AcceptErrorEndsServer) => break,
                Err(_) => {
                    thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
        if self.has(Flaw::StopKeepsListening)
            && let Ok(kept) = listener.try_clone()
        {
            std::mem::forget(kept);
        }
        if self.has(Flaw::StopLeavesClients) {
            return;
        }
        for (socket, _) in &clients {
            if let Some(socket) = socket.upgrade() {
                let _ = socket.shutdown(std::net::Shutdown::Both);
            }
        }
        for (_, thread) in clients {
            let _ = thread.join();
        }
    }
}

/// Whether the client ended its side of the connection: a read that does not wait.
fn hung_up(mut stream: &TcpStream) -> Result<bool, Error> {
    stream.set_nonblocking(true).map_err(io)?;
    let mut byte = [0u8; 1];
    let read = stream.read(&mut byte);
    stream.set_nonblocking(false).map_err(io)?;
    match read {
        Ok(0) => Ok(true),
        Ok(_) => Err(Error::Other("bytes after the subscribe frame".into())),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(io(e)),
    }
}

impl Journal {
    /// `PruneInPlace`: every kept event read out, every segment deleted, and one new segment
    /// written with them — with a moment between the deletions and the write that a kill
    /// can land in.
    fn prune_in_place(inner: &mut Inner, after: u64) -> Result<(), Error> {
        let first = inner.directory.first();
        let base = (after + 1).clamp(first, inner.next_seq);
        let plan = read_plan(Arc::clone(&inner.storage), &inner.path, base)
            .map_err(io)?
            .map_err(fmt)?;
        let mut out = format::Header::new(base).encode().to_vec();
        for event in History::new(plan) {
            let event = event.map_err(fmt)?;
            encode_record(event.seq, &event.payload, &mut out).map_err(fmt)?;
        }
        for path in inner.storage.list(&inner.path).map_err(io)? {
            inner.storage.remove(&path).map_err(io)?;
        }
        thread::sleep(Duration::from_millis(2));
        let file = inner
            .storage
            .open(&segment_path(&inner.path, base), true)
            .map_err(io)?;
        file.write_all_at(&out, 0).map_err(io)?;
        inner.directory = Directory::open(
            Arc::clone(&inner.storage),
            &inner.path,
            inner.settings.segment_size,
            0,
        )
        .map_err(io)?
        .map_err(fmt)?
        .directory;
        Ok(())
    }
}

/// A storage that misbehaves as a variant's file layer would: fsyncs dropped, an index mangled,
/// a rename skipped. The baseline itself gets it too, with no flaw, and then it only passes
/// every call through.
#[derive(Debug)]
struct Flawed {
    inner: Arc<dyn Storage>,
    flaw: Option<Flaw>,
    /// Set by a rename, taken by the next directory sync (`PruneDirUnsynced`).
    renamed: Arc<AtomicBool>,
}

impl Flawed {
    fn has(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }
}

impl Storage for Flawed {
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn StorageFile>> {
        Ok(Box::new(FlawedFile {
            inner: self.inner.open(path, create)?,
            flaw: self.flaw,
            path: path.to_path_buf(),
            cut: AtomicBool::new(false),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if self.has(Flaw::LowWaterForgotten) && to.ends_with("first") {
            return self.inner.remove(from);
        }
        self.renamed.store(true, Ordering::Release);
        self.inner.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.inner.list(dir)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let after_rename = self.renamed.swap(false, Ordering::AcqRel);
        if self.has(Flaw::NeverSyncs) || (self.has(Flaw::PruneDirUnsynced) && after_rename) {
            return Ok(());
        }
        self.inner.sync_dir(dir)
    }

    fn entry(&self, path: &Path) -> io::Result<Option<Entry>> {
        self.inner.entry(path)
    }
}

#[derive(Debug)]
struct FlawedFile {
    inner: Box<dyn StorageFile>,
    flaw: Option<Flaw>,
    path: PathBuf,
    /// Set when the file was cut shorter, taken by the next sync (`TrimUnsynced`).
    cut: AtomicBool,
}

impl FlawedFile {
    fn has(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }

    fn index(&self) -> bool {
        self.path.extension().is_some_and(|x| x == "idx")
    }

    fn sync(&self, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let after_cut = self.cut.swap(false, Ordering::AcqRel);
        let temporary = self.path.extension().is_some_and(|x| x == "tmp");
        if self.has(Flaw::NeverSyncs)
            || (self.has(Flaw::TrimUnsynced) && after_cut)
            || (self.has(Flaw::PruneFileUnsynced) && temporary)
        {
            return Ok(());
        }
        sync()
    }
}

/// An index file's bytes with every entry after the first naming the record after its own.
fn off_by_one(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.len() < 24 || out[..8] != INDEX_MAGIC {
        return out;
    }
    let body = out.len() - 4;
    let mut at = 20 + 16; // the second entry's sequence number
    while at + 16 <= body {
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&out[at..at + 8]);
        out[at..at + 8].copy_from_slice(&(u64::from_be_bytes(seq) + 1).to_be_bytes());
        at += 16;
    }
    let crc = crc32c(&out[..body]);
    out[body..].copy_from_slice(&crc.to_be_bytes());
    out
}

impl StorageFile for FlawedFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        if self.index() && self.has(Flaw::IndexDropped) {
            return Ok(());
        }
        if self.index() && self.has(Flaw::IndexOffByOne) && offset == 0 {
            return self.inner.write_all_at(&off_by_one(buf), offset);
        }
        self.inner.write_all_at(buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        if len < self.inner.size()? {
            self.cut.store(true, Ordering::Release);
        }
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync(|| self.inner.sync_data())
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync(|| self.inner.sync_all())
    }
}

impl SpecJournal for Journal {
    type Subscription = Subscription;

    fn append(&self, event: &[u8]) -> Result<u64, Error> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(Error::Closed);
        }
        Self::check(&inner)?;
        let seq = inner.next_seq;
        if seq > MAX_SEQ && !self.has(Flaw::SequenceWraps) {
            return Err(Error::SequenceExhausted);
        }
        if self.has(Flaw::OversizedTakesSeq) {
            inner.next_seq += 1;
        }
        let mut record = Vec::new();
        encode_record(seq, event, &mut record).map_err(fmt)?;
        if self.has(Flaw::OversizedTakesSeq) {
            inner.next_seq -= 1;
        }
        let hold = (self.has(Flaw::NoFlushOnClose) && self.durability == Durability::None)
            || self.has(Flaw::AckBeforeWrite)
            || self.has(Flaw::NoTick);
        if hold {
            inner.pending.extend_from_slice(&record);
            inner.pending_count += 1;
            if self.has(Flaw::AckBeforeWrite) && inner.pending_count >= 64 {
                self.write_pending(&mut inner)?;
            }
        } else {
            self.write(&mut inner, &record)?;
        }
        // Group commit, leader style: after letting go of the journal's lock, an appender whose
        // event is not yet fsynced either waits for the fsync under way or, if there is none,
        // fsyncs everything written so far for everyone.
        let fsync = if self.durability == Durability::Append && !hold {
            if self.has(Flaw::AckBeforeSync) {
                if seq.is_multiple_of(8) {
                    inner.directory.sync_data().map_err(io)?;
                }
                false
            } else if self.has(Flaw::FsyncUnderLock) {
                inner.directory.sync_data().map_err(io)?;
                false
            } else {
                true
            }
        } else {
            false
        };
        inner.next_seq = inner.next_seq.wrapping_add(1);
        inner.live.retain(|live| {
            let sent = match &live.tx {
                Queue::Bounded(tx) => tx.try_send((seq, event.to_vec())),
                Queue::Unbounded(tx) => tx
                    .send((seq, event.to_vec()))
                    .map_err(|e| TrySendError::Disconnected(e.0)),
            };
            match sent {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    live.lagged.store(true, Ordering::Release);
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
        drop(inner);
        if fsync {
            let (synced, moved) = &*self.synced;
            let mut state = synced.lock().unwrap_or_else(PoisonError::into_inner);
            while state.upto < seq {
                if state.failed {
                    return Err(Error::Failed("an earlier fsync failed".into()));
                }
                if state.leading {
                    state = moved.wait(state).unwrap_or_else(PoisonError::into_inner);
                    continue;
                }
                state.leading = true;
                drop(state);
                // A handle of its own on the active segment, so the fsync runs outside the
                // journal's lock; segments sealed since were synced when they were sealed.
                let (written, active, storage) = {
                    let inner = self.lock();
                    (
                        inner.next_seq - 1,
                        Self::active(&inner),
                        Arc::clone(&inner.storage),
                    )
                };
                let sync = || {
                    storage
                        .open(&active, false)
                        .and_then(|file| file.sync_data())
                };
                let mut result = sync();
                if result.is_err() && self.has(Flaw::FsyncRetried) {
                    result = sync();
                }
                state = synced.lock().unwrap_or_else(PoisonError::into_inner);
                state.leading = false;
                match &result {
                    Ok(()) => state.upto = state.upto.max(written),
                    Err(e) => {
                        // Poisoned: the kernel may have dropped the pages it could not write.
                        state.failed = true;
                        self.lock().failed = Some(e.to_string());
                    }
                }
                moved.notify_all();
                result.map_err(|e| Error::Failed(e.to_string()))?;
            }
        }
        Ok(seq)
    }

    fn flush(&self) -> Result<(), Error> {
        let mut inner = self.lock();
        self.write_pending(&mut inner)?;
        self.sync_locked(&mut inner)
    }

    fn subscribe(&self, from: u64) -> Result<Subscription, Error> {
        let mut inner = self.lock();
        Self::check(&inner)?;
        let first = inner.directory.first();
        let mut from = from.max(1);
        if from < first {
            return Err(Error::Pruned { from, first });
        }
        if self.has(Flaw::PastEndStartsAtEnd) && from > inner.next_seq {
            from = inner.next_seq;
        }
        let replay_from = if self.has(Flaw::ReplayFromStart) {
            1
        } else {
            from
        };
        let plan = inner.directory.plan(replay_from);
        let mut replay = VecDeque::new();
        let mut history = Some(History::new(plan));
        if self.has(Flaw::ReplayUnderPause) {
            for event in history.take().into_iter().flatten() {
                let event = event.map_err(fmt)?;
                replay.push_back((event.seq, event.payload));
            }
        }
        let lagged = Arc::new(AtomicBool::new(false));
        let (tx, rx) = if self.has(Flaw::UnboundedQueue) {
            let (tx, rx) = mpsc::channel();
            (Queue::Unbounded(tx), rx)
        } else {
            let (tx, rx) = mpsc::sync_channel(self.queue);
            (Queue::Bounded(tx), rx)
        };
        let live = Live {
            tx,
            lagged: Arc::clone(&lagged),
        };
        if self.has(Flaw::RegisterAfterRead) {
            drop(inner);
            thread::sleep(Duration::from_millis(1));
            inner = self.lock();
        }
        inner.live.push(live);
        Ok(Subscription {
            replay,
            history,
            cut: self.has(Flaw::ReplayCut).then_some(64 << 10),
            skip_damage: self.has(Flaw::DamageSkipped),
            next: replay_from.max(first),
            live: rx,
            lagged,
        })
    }

    fn prune(&self, after: u64) -> Result<(), Error> {
        if self.has(Flaw::PruneIgnored) {
            return Ok(());
        }
        let mut inner = self.lock();
        Self::check(&inner)?;
        self.write_pending(&mut inner)?;
        if self.has(Flaw::PruneInPlace) {
            return Self::prune_in_place(&mut inner, after);
        }
        if let Err(e) = inner.directory.prune(after) {
            inner.failed = Some(e.to_string());
            return Err(Error::Failed(e.to_string()));
        }
        if self.has(Flaw::PruneDeletesActive) {
            let active = Self::active(&inner);
            inner.storage.remove(&active).map_err(io)?;
            inner.directory = Directory::open(
                Arc::clone(&inner.storage),
                &inner.path,
                inner.settings.segment_size,
                0,
            )
            .map_err(io)?
            .map_err(fmt)?
            .directory;
        }
        Ok(())
    }

    fn close(&self) -> Result<(), Error> {
        let mut inner = self.lock();
        if inner.closed {
            return Ok(());
        }
        if !self.has(Flaw::NoFlushOnClose) {
            self.write_pending(&mut inner)?;
            self.sync_locked(&mut inner)?;
        }
        if !self.has(Flaw::NoFlushOnClose) {
            let fsync = self.durability != Durability::None;
            inner.directory.close(fsync).map_err(io)?;
        }
        if self.has(Flaw::CloseKeepsZeros) {
            let (at, active) = (inner.directory.active_len(), Self::active(&inner));
            let file = inner.storage.open(&active, false).map_err(io)?;
            file.write_all_at(&[0; 4096], at).map_err(io)?;
        }
        inner.closed = true;
        inner.live.clear();
        Ok(())
    }

    fn serve_tcp(&self, listener: TcpListener, stall_limit: Duration) -> Result<(), Error> {
        let (journal, stop) = (self.clone(), Arc::new(AtomicBool::new(false)));
        let addr = listener.local_addr().map_err(io)?;
        let server = thread::spawn({
            let stop = Arc::clone(&stop);
            move || journal.accept_until(&listener, stall_limit, &stop)
        });
        self.servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((stop, addr, server));
        Ok(())
    }

    fn stop_tcp(&self) -> Result<(), Error> {
        let servers =
            std::mem::take(&mut *self.servers.lock().unwrap_or_else(PoisonError::into_inner));
        for (stop, addr, server) in servers {
            stop.store(true, Ordering::Release);
            // A blocked accept cannot be interrupted: a connection wakes it.
            let _ = TcpStream::connect(addr);
            let _ = server.join();
        }
        Ok(())
    }
}

impl Subscription {
    /// The next event of the history, read from the segments as needed.
    fn next_replayed(&mut self) -> Result<Option<Event>, Error> {
        let Some(history) = &mut self.history else {
            return Ok(None);
        };
        loop {
            let next = match history.next_buffered() {
                Ok(next) => next,
                Err(_) if self.skip_damage => Next::Done,
                Err(e) => return Err(fmt(e)),
            };
            match next {
                Next::Event(event) => {
                    if let Some(left) = &mut self.cut {
                        if *left < event.payload.len() {
                            self.history = None;
                            return Ok(None);
                        }
                        *left -= event.payload.len();
                    }
                    return Ok(Some((event.seq, event.payload)));
                }
                Next::Read => history.read().map_err(io)?.map_err(fmt)?,
                Next::Done => {
                    self.history = None;
                    return Ok(None);
                }
            }
        }
    }
}

impl SpecSubscription for Subscription {
    fn recv_within(&mut self, limit: Duration) -> Result<Option<Event>, Error> {
        if let Some((seq, payload)) = self.replay.pop_front() {
            self.next = seq + 1;
            return Ok(Some((seq, payload)));
        }
        if let Some((seq, payload)) = self.next_replayed()? {
            self.next = seq + 1;
            return Ok(Some((seq, payload)));
        }
        loop {
            match self.live.recv_timeout(limit) {
                Ok((seq, _)) if seq < self.next => continue,
                Ok((seq, payload)) => {
                    self.next = seq + 1;
                    return Ok(Some((seq, payload)));
                }
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) if self.lagged.load(Ordering::Acquire) => {
                    return Err(Error::Lagged {
                        last_seq: self.next - 1,
                    });
                }
                Err(RecvTimeoutError::Disconnected) => return Err(Error::Closed),
            }
        }
    }
}

bothways_spec::broken_tests! {
    pattern: journal, flaws: Flaw, build: |flaw| Imp { flaw: Some(flaw) };
    register_after_read_fails_handover_is_gapless_and_once:
        RegisterAfterRead => handover_is_gapless_and_once, "in order, each once";
    replay_from_start_fails_resume_from_sequence:
        ReplayFromStart => resume_from_sequence, "events 40..=100 in order, each once";
    past_end_starts_at_end_fails_subscribe_past_end_waits:
        PastEndStartsAtEnd => subscribe_past_end_waits, "nothing before event 15 exists";
    no_flush_on_close_fails_every_durability_reads_back:
        NoFlushOnClose => every_durability_reads_back, "events 1..=400";
    torn_tail_refused_fails_reopen_cuts_torn_tail_and_continues:
        TornTailRefused => reopen_cuts_torn_tail_and_continues, "the journal to open";
    ack_before_write_fails_acknowledged_appends_survive_sigkill:
        AckBeforeWrite => acknowledged_appends_survive_sigkill, "every acknowledged event";
    corruption_is_torn_fails_flipped_bit_is_typed_error_at_offset:
        CorruptionIsTorn => flipped_bit_is_typed_error_at_offset, "a format error at offset 128";
    short_file_is_new_fails_truncated_header_is_typed_error:
        ShortFileIsNew => truncated_header_is_typed_error, "a format error at offset 0";
    magic_unchecked_fails_wrong_magic_is_typed_error:
        MagicUnchecked => wrong_magic_is_typed_error, "a format error at offset 0";
    version_unchecked_fails_newer_version_is_typed_error:
        VersionUnchecked => newer_version_is_typed_error, "a format error at offset 8";
    unbounded_queue_fails_slow_subscriber_lags_with_bounded_memory:
        UnboundedQueue => slow_subscriber_lags_with_bounded_memory, "at most 64 queued events";
    prune_ignored_fails_prune_keeps_only_later_events:
        PruneIgnored => prune_keeps_only_later_events, "Pruned { first: 31 }";
    tcp_live_only_fails_tcp_subscriber_gets_history_then_live:
        TcpLiveOnly => tcp_subscriber_gets_history_then_live,
        "TCP events 40..=5000 in order, each once";
    tcp_lag_untyped_fails_tcp_slow_subscriber_lags_and_resumes:
        TcpLagUntyped => tcp_slow_subscriber_lags_and_resumes, "a typed Lagged frame";
    unbounded_queue_fails_tcp_slow_subscriber_lags_and_resumes:
        UnboundedQueue => tcp_slow_subscriber_lags_and_resumes, "a typed Lagged frame";
    no_tick_fails_tick_flushes_without_a_call:
        NoTick => tick_flushes_without_a_call, "without a flush";
    oversized_takes_seq_fails_oversized_event_is_typed_error:
        OversizedTakesSeq => oversized_event_is_typed_error, "take no sequence number";
    tcp_no_stall_limit_fails_tcp_stalled_clients_are_disconnected:
        TcpNoStallLimit => tcp_stalled_clients_are_disconnected, "a client that sends nothing";
    fsync_under_lock_fails_group_commit_shares_fsyncs:
        FsyncUnderLock => group_commit_shares_fsyncs, "sharing fsyncs";
    replay_cut_fails_large_replay_is_whole_and_in_order:
        ReplayCut => large_replay_is_whole_and_in_order, "events 1..=16384";
    prune_in_place_fails_prune_is_atomic_under_sigkill:
        PruneInPlace => prune_is_atomic_under_sigkill, "every acknowledged event";
    tcp_cuts_quiet_clients_fails_tcp_stalled_clients_are_disconnected:
        TcpCutsQuietClients => tcp_stalled_clients_are_disconnected, "TCP events 1..=1";
    close_keeps_zeros_fails_zero_tail_is_cut_and_close_trims:
        CloseKeepsZeros => zero_tail_is_cut_and_close_trims, "to end at its 10th and last record";
    stray_bytes_refused_fails_zero_tail_is_cut_and_close_trims:
        StrayBytesRefused => zero_tail_is_cut_and_close_trims, "the journal to open";
    hang_up_unnoticed_fails_tcp_hung_up_client_is_let_go:
        HangUpUnnoticed => tcp_hung_up_client_is_let_go, "a client that hung up";
    header_unchecked_fails_impossible_header_is_typed_error:
        HeaderUnchecked => impossible_header_is_typed_error, "a format error at offset 8";
    sequence_wraps_fails_sequence_space_ends_with_typed_error:
        SequenceWraps => sequence_space_ends_with_typed_error, "SequenceExhausted";
    junk_with_frame_ignored_fails_tcp_bytes_after_subscribe_disconnect:
        JunkWithFrameIgnored => tcp_bytes_after_subscribe_disconnect, "in the same write";
    junk_seen_only_when_quiet_fails_tcp_bytes_after_subscribe_disconnect:
        JunkSeenOnlyWhenQuiet => tcp_bytes_after_subscribe_disconnect, "while events flowed";
    hang_up_drops_owed_fails_tcp_hung_up_client_is_let_go:
        HangUpDropsOwed => tcp_hung_up_client_is_let_go, "TCP events";
    ack_before_sync_fails_acknowledged_events_survive_power_cuts:
        AckBeforeSync => acknowledged_events_survive_power_cuts, "kept";
    never_syncs_fails_acknowledged_events_survive_power_cuts:
        NeverSyncs => acknowledged_events_survive_power_cuts, "after power cut";
    prune_file_unsynced_fails_acknowledged_events_survive_power_cuts:
        PruneFileUnsynced => acknowledged_events_survive_power_cuts, "after power cut";
    prune_dir_unsynced_fails_acknowledged_events_survive_power_cuts:
        PruneDirUnsynced => acknowledged_events_survive_power_cuts, "after power cut";
    trim_unsynced_fails_acknowledged_events_survive_power_cuts:
        TrimUnsynced => acknowledged_events_survive_power_cuts, "after power cut";
    fsync_retried_fails_failed_fsync_poisons_the_journal:
        FsyncRetried => failed_fsync_poisons_the_journal, "refused";
    write_failure_forgotten_fails_full_disk_is_typed_error_and_reopen_continues:
        WriteFailureForgotten => full_disk_is_typed_error_and_reopen_continues, "refused with Failed";
    replay_under_pause_fails_history_is_read_after_the_pause_in_bounded_chunks:
        ReplayUnderPause => history_is_read_after_the_pause_in_bounded_chunks, "at most 64 KiB";
    index_off_by_one_fails_late_subscriber_seeks_without_reading_the_past:
        IndexOffByOne => late_subscriber_seeks_without_reading_the_past, "bytes read";
    index_dropped_fails_late_subscriber_seeks_without_reading_the_past:
        IndexDropped => late_subscriber_seeks_without_reading_the_past, "bytes read";
    prune_deletes_active_fails_prune_deletes_whole_segments_and_keeps_the_active:
        PruneDeletesActive => prune_deletes_whole_segments_and_keeps_the_active, "";
    low_water_forgotten_fails_prune_deletes_whole_segments_and_keeps_the_active:
        LowWaterForgotten => prune_deletes_whole_segments_and_keeps_the_active, "after reopening";
    open_scans_all_fails_open_reads_only_the_active_segment:
        OpenScansAll => open_reads_only_the_active_segment, "to read at most";
    migration_refused_fails_single_file_journal_is_migrated:
        MigrationRefused => single_file_journal_is_migrated, "the journal to open";
    damage_skipped_fails_damage_in_a_sealed_segment_is_a_typed_error:
        DamageSkipped => damage_in_a_sealed_segment_is_a_typed_error, "a format error at offset";
    tcp_read_limit_only_fails_tcp_stalled_clients_are_disconnected:
        TcpReadLimitOnly => tcp_stalled_clients_are_disconnected,
        "the end of the connection after the events sent before the stall";
    accept_error_ends_server_fails_tcp_server_survives_fd_exhaustion:
        AcceptErrorEndsServer => tcp_server_survives_fd_exhaustion,
        "to survive running out of file descriptors";
    stop_leaves_clients_fails_tcp_shutdown_lets_clients_go:
        StopLeavesClients => tcp_shutdown_lets_clients_go, "connection end when the server stops";
    stop_keeps_listening_fails_tcp_shutdown_lets_clients_go:
        StopKeepsListening => tcp_shutdown_lets_clients_go, "refused or closed";
}

/// A check that skips fails its stamped test: in the test harness a check runs or fails, and
/// only the runner may show "skipped" (here the crash check, against a variant that cannot
/// start a crash child, as the runner cannot).
#[test]
fn a_skipped_check_fails_its_stamped_test() {
    let imp = Imp {
        flaw: Some(Flaw::NoCrashChild),
    };
    let stamped = std::panic::catch_unwind(|| {
        bothways_spec::check::assert_passes(
            "acknowledged_appends_survive_sigkill",
            bothways_spec::journal::acknowledged_appends_survive_sigkill,
            &imp,
        );
    });
    let message = match stamped {
        Ok(()) => panic!("a skipped check passed its stamped test"),
        Err(payload) => bothways_spec::check::panic_text(payload.as_ref()),
    };
    assert!(
        message.contains("saw it skipped: cannot re-execute a child"),
        "the stamped test should fail for the skip; it failed with: {message}"
    );
}

/// The baseline passes the whole suite, stamped exactly as for a real implementation, so each
/// variant's failure above comes from its one flaw.
mod baseline {
    bothways_spec::journal_suite!(threads: || Ok::<_, std::convert::Infallible>(
        super::Imp { flaw: None }
    ));
}
