//! The writer's state and the effect the pausable worker applies to each command: buffer,
//! broadcast, flush, and fsync once for every appender waiting at the same moment.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_channel::{Receiver, Sender, TrySendError};
use bothways_journal_format::{Event, HEADER_LEN, Header, Reader, encode_record};
use tokio::sync::{Mutex, oneshot};

use crate::{Durability, Error};

/// Past this many buffered bytes the writer hands them to the OS without waiting for a flush.
const BUFFER: usize = 256 << 10;
/// At most this many appenders share one fsync, so that a steady stream of appends whose input
/// is never empty still gets answered.
const GROUP_MAX: usize = 1024;

/// What an acknowledgement carries: a writer failure is shared by many waiters, so as text.
pub(crate) type Ack = oneshot::Sender<Result<(), String>>;

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
// Async: a tokio Mutex, because a flush is awaited while it is held.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) path: PathBuf,
    // Async: the file moves into a blocking task for each write, and comes back.
    file: Option<File>,
    buf: Vec<u8>,
    /// The sequence number of the next event the writer will write.
    pub(crate) next_seq: u64,
    pub(crate) subscribers: Vec<Live>,
    waiting: Vec<Ack>,
    failed: Option<String>,
}

impl State {
    pub(crate) fn new(path: PathBuf, file: File, next_seq: u64) -> Self {
        State {
            path,
            file: Some(file),
            buf: Vec::with_capacity(BUFFER),
            next_seq,
            subscribers: Vec::new(),
            waiting: Vec::new(),
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
    pub(crate) async fn flush(&mut self, fsync: bool) -> Result<(), Error> {
        self.check()?;
        if self.buf.is_empty() && !fsync {
            return Ok(());
        }
        let Some(mut file) = self.file.take() else {
            return Err(Error::Closed);
        };
        let mut buf = std::mem::take(&mut self.buf);
        // Async: file writes and fsync block, so they run on tokio's blocking pool, never on a
        // runtime worker.
        let joined = tokio::task::spawn_blocking(move || {
            let result = file
                .write_all(&buf)
                .and_then(|()| if fsync { file.sync_data() } else { Ok(()) });
            buf.clear();
            (file, buf, result)
        })
        .await;
        match joined {
            Ok((file, buf, Ok(()))) => {
                self.file = Some(file);
                self.buf = buf;
                Ok(())
            }
            Ok((file, _, Err(e))) => {
                self.file = Some(file);
                self.failed = Some(e.to_string());
                Err(e.into())
            }
            Err(e) => {
                self.failed = Some(e.to_string());
                Err(Error::failed(&e))
            }
        }
    }

    async fn write(&mut self, seq: u64, payload: Vec<u8>) {
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
            let _ = self.flush(false).await;
        }
        self.broadcast(Event { seq, payload });
    }

    /// Offers the event to every subscriber without ever waiting: a full queue disconnects its
    /// subscriber with `Lagged`, so one slow reader neither stalls the writer nor grows memory.
    fn broadcast(&mut self, event: Event) {
        self.subscribers
            .retain(|live| match live.tx.try_send(event.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    live.lagged.store(true, Ordering::Release);
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            });
    }

    async fn answer_waiting(&mut self) {
        let result = self.flush(true).await.map_err(|e| e.to_string());
        for ack in self.waiting.drain(..) {
            let _ = ack.send(result.clone());
        }
    }

    /// Rewrites the file keeping only the events after `after`: a temporary file, fsync,
    /// rename over the journal, fsync of the directory, so a crash leaves one or the other.
    pub(crate) async fn prune(&mut self, after: u64) -> Result<(), Error> {
        self.flush(true).await?;
        let (path, next_seq) = (self.path.clone(), self.next_seq);
        // Async: the rewrite is blocking file work, on the blocking pool.
        let file = tokio::task::spawn_blocking(move || rewrite(&path, after, next_seq))
            .await
            .map_err(|e| Error::failed(&e))??;
        self.file = Some(file);
        Ok(())
    }
}

fn rewrite(path: &Path, after: u64, next_seq: u64) -> Result<File, Error> {
    let bytes = fs::read(path)?;
    let mut reader = Reader::new(&bytes)?;
    let first = reader.header().base_seq;
    let base = after.saturating_add(1).clamp(first, next_seq);
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
    let tmp = path.with_extension("prune");
    {
        let mut out = File::create(&tmp)?;
        out.write_all(&Header::new(base).encode())?;
        out.write_all(keep)?;
        out.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(path)?;
    Ok(OpenOptions::new().append(true).open(path)?)
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
pub(crate) fn effect(
    state: Arc<Mutex<State>>,
    input: Receiver<Command>,
    durability: Durability,
) -> impl FnMut(Command) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static {
    let fsync_on_flush = durability != Durability::None;
    move |command| {
        let (shared, input) = (Arc::clone(&state), input.clone());
        Box::pin(async move {
            let mut state = shared.lock().await;
            match command {
                Command::Append { seq, payload, ack } => {
                    state.write(seq, payload).await;
                    if let Some(ack) = ack {
                        state.waiting.push(ack);
                    }
                }
                Command::Flush(ack) => {
                    let result = state.flush(fsync_on_flush).await;
                    let _ = ack.send(result.map_err(|e| e.to_string()));
                }
                Command::Tick => {
                    let _ = state.flush(fsync_on_flush).await;
                }
                Command::Close(ack) => {
                    let result = state.flush(fsync_on_flush).await;
                    let _ = ack.send(result.map_err(|e| e.to_string()));
                    // Dropping the queues ends every subscription once it has drained.
                    state.subscribers.clear();
                }
            }
            if !state.waiting.is_empty() && (input.is_empty() || state.waiting.len() >= GROUP_MAX) {
                // Appenders just answered are still waking up to send their next event: one
                // yield lets them, so the fsync below is shared by more of them.
                // Async: one yield is enough, as they are tasks already queued on this runtime
                // and run before the writer is polled again; the threads writer instead waits
                // (bounded) for OS threads to wake.
                if input.is_empty() {
                    drop(state);
                    tokio::task::yield_now().await;
                    state = shared.lock().await;
                    if !input.is_empty() && state.waiting.len() < GROUP_MAX {
                        return;
                    }
                }
                state.answer_waiting().await;
            }
        })
    }
}
