//! The writer's state and the effect the pausable worker applies to each command: buffer,
//! broadcast, flush, and fsync once for every appender waiting at the same moment.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bothways_journal_format::{Event, HEADER_LEN, Header, Reader, encode_record};
use crossbeam_channel::{Receiver, Select, Sender, TrySendError};

use crate::{Durability, Error};

/// Past this many buffered bytes the writer hands them to the OS without waiting for a flush.
const BUFFER: usize = 256 << 10;
/// At most this many appenders share one fsync, so that a steady stream of appends whose input
/// is never empty still gets answered.
const GROUP_MAX: usize = 1024;

/// What an acknowledgement carries: a writer failure is shared by many waiters, so as text.
pub(crate) type Ack = Sender<Result<(), String>>;

/// One command to the writer, in the order appenders took their sequence numbers.
#[derive(Debug)]
pub(crate) enum Command {
    Append {
        seq: u64,
        payload: Vec<u8>,
        /// `Some` under [`Durability::Append`]: answered after the fsync.
        ack: Option<Ack>,
    },
    Flush(Ack),
    Tick,
    Close(Ack),
}

/// A live subscriber's bounded queue, and the flag that tells it why the queue was closed.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) tx: Sender<Event>,
    pub(crate) lagged: Arc<AtomicBool>,
}

/// The file and everything the writer keeps. Shared with `subscribe` and `prune`, which take it
/// only while the writer is paused, so the lock is never contended on the hot path.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) path: PathBuf,
    file: File,
    buf: Vec<u8>,
    /// The sequence number of the next event the writer will write.
    pub(crate) next_seq: u64,
    pub(crate) subscribers: Vec<Live>,
    waiting: Vec<Ack>,
    /// How many appenders the last fsync answered, and how long it took: the group the writer
    /// expects back, and how long it may wait for it.
    last_group: usize,
    last_fsync: Duration,
    /// When the writer stops waiting for the rest of the group.
    group_deadline: Option<Instant>,
    failed: Option<String>,
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic inside the effect is caught by the worker; the state it leaves is whole between
    // statements that matter (the buffer is only cleared after a successful write).
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(crate) fn new(path: PathBuf, file: File, next_seq: u64) -> Self {
        State {
            path,
            file,
            buf: Vec::with_capacity(BUFFER),
            next_seq,
            subscribers: Vec::new(),
            waiting: Vec::new(),
            last_group: 0,
            last_fsync: Duration::ZERO,
            group_deadline: None,
            failed: None,
        }
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        match &self.failed {
            Some(message) => Err(Error::Failed {
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Hands the buffer to the OS, and fsyncs if asked. A failure is kept: the journal refuses
    /// everything after it rather than leave a gap in the file.
    pub(crate) fn flush(&mut self, fsync: bool) -> Result<(), Error> {
        self.check()?;
        let result = self
            .file
            .write_all(&self.buf)
            .and_then(|()| if fsync { self.file.sync_data() } else { Ok(()) });
        match result {
            Ok(()) => {
                self.buf.clear();
                Ok(())
            }
            Err(e) => {
                self.failed = Some(e.to_string());
                Err(e.into())
            }
        }
    }

    fn write(&mut self, seq: u64, payload: Vec<u8>) {
        if self.failed.is_some() {
            return;
        }
        // `append` refused oversized payloads before they got a sequence number.
        if let Err(e) = encode_record(seq, &payload, &mut self.buf) {
            self.failed = Some(e.to_string());
            return;
        }
        self.next_seq = seq + 1;
        if self.buf.len() >= BUFFER {
            let _ = self.flush(false);
        }
        self.broadcast(Event { seq, payload });
    }

    /// Offers the event to every subscriber without ever waiting: a full queue disconnects its
    /// subscriber with `Lagged`, so one slow reader neither stalls the writer nor grows memory.
    fn broadcast(&mut self, event: Event) {
        let last = self.subscribers.len().saturating_sub(1);
        let mut event = Some(event);
        let mut i = 0;
        self.subscribers.retain(|live| {
            let mine = if i == last {
                event.take()
            } else {
                event.clone()
            };
            i += 1;
            let Some(mine) = mine else { return false };
            match live.tx.try_send(mine) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    live.lagged.store(true, Ordering::Release);
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
    }

    fn answer_waiting(&mut self) {
        let start = Instant::now();
        let result = self.flush(true).map_err(|e| e.to_string());
        self.last_fsync = start.elapsed();
        self.last_group = self.waiting.len();
        self.group_deadline = None;
        for ack in self.waiting.drain(..) {
            let _ = ack.send(result.clone());
        }
    }

    /// Rewrites the file keeping only the events after `after`: a temporary file, fsync,
    /// rename over the journal, fsync of the directory, so a crash leaves one or the other.
    pub(crate) fn prune(&mut self, after: u64) -> Result<(), Error> {
        self.flush(true)?;
        let bytes = fs::read(&self.path)?;
        let mut reader = Reader::new(&bytes)?;
        let first = reader.header().base_seq;
        let base = after.saturating_add(1).clamp(first, self.next_seq);
        let mut keep_from = bytes.len();
        for record in reader.by_ref() {
            let record = record?;
            if record.seq >= base {
                // Records are contiguous to the end, so the rest is copied as bytes.
                keep_from = record.offset as usize;
                break;
            }
        }
        let keep = bytes.get(keep_from.max(HEADER_LEN)..).unwrap_or(&[]);
        let tmp = self.path.with_extension("prune");
        {
            let mut out = File::create(&tmp)?;
            out.write_all(&Header::new(base).encode())?;
            out.write_all(keep)?;
            out.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        sync_dir(&self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
}

/// Fsyncs the directory holding `path`, so a creation or rename in it is durable.
pub(crate) fn sync_dir(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// The worker's effect: applies one command, then, if appenders wait for an fsync and no
/// other command is queued behind this one, fsyncs once for all of them (group commit).
///
/// The appenders the last fsync answered are still waking up when the writer's input first
/// runs dry: fsyncing then would answer one or two of them and leave the rest for the next
/// fsync, halving the group. So while fewer than that group wait, the writer gives them up to
/// the last fsync's duration to come back — a late one would wait a whole fsync anyway.
pub(crate) fn effect(
    state: Arc<Mutex<State>>,
    input: Receiver<Command>,
    durability: Durability,
) -> impl FnMut(Command) + Send + 'static {
    let fsync_on_flush = durability != Durability::None;
    let state_arc = state;
    move |command| {
        let mut state = lock(&state_arc);
        match command {
            Command::Append { seq, payload, ack } => {
                state.write(seq, payload);
                if let Some(ack) = ack {
                    state.waiting.push(ack);
                }
            }
            Command::Flush(ack) => {
                let _ = ack.send(state.flush(fsync_on_flush).map_err(|e| e.to_string()));
            }
            Command::Tick => {
                let _ = state.flush(fsync_on_flush);
            }
            Command::Close(ack) => {
                let _ = ack.send(state.flush(fsync_on_flush).map_err(|e| e.to_string()));
                // Dropping the queues ends every subscription once it has drained.
                state.subscribers.clear();
            }
        }
        if state.waiting.is_empty() {
            return;
        }
        if state.waiting.len() < GROUP_MAX {
            if !input.is_empty() {
                return; // take what is queued first: it shares this fsync
            }
            if state.waiting.len() < state.last_group {
                let patience = state.last_fsync;
                let deadline = *state
                    .group_deadline
                    .get_or_insert_with(|| Instant::now() + patience);
                drop(state);
                // Threads: the writer sleeps until the input has a command or the deadline
                // passes, without taking the command: the worker's loop takes it, so a pause
                // still falls between two commands. A closed input is "ready" too, but empty:
                // then the waiting appenders are answered now, not dropped.
                let mut ready = Select::new();
                ready.recv(&input);
                if ready.ready_deadline(deadline).is_ok() && !input.is_empty() {
                    return;
                }
                state = lock(&state_arc);
            }
        }
        state.answer_waiting();
    }
}
