//! The writer's state and the effect the pausable worker applies to each command: buffer,
//! broadcast, flush, and fsync once for every appender waiting at the same moment.
//!
//! Why this file and its threads twin differ: every write, fsync and prune blocks, so here the
//! directory moves into `spawn_blocking` and back (`State::blocking`), and appenders wait for
//! their fsync on a watch channel; the threads writer calls the same file layer inline, and its
//! waiters nap, yield and sleep on a condvar, because waking a sleeping thread costs what waking
//! a task does not. The group-commit rule and the poisoning are the same in both.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_channel::{Receiver, Sender, TrySendError};
use bothways_journal_format::{Directory, Event, ReplayPlan, encode_record};
use tokio::sync::{Mutex, oneshot, watch};

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
    /// Under [`Durability::Append`], its appender then waits in [`Durable::wait_for`].
    Append {
        seq: u64,
        payload: Vec<u8>,
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

/// How far the file is on disk: the one value every appender under [`Durability::Append`]
/// waits on. An fsync answers its whole group by moving the mark once and waking them all;
/// no channel is made per append.
// Async: a tokio watch channel, one value and a wake-up for every task that waits on it. The
// threads journal builds the same from a Mutex and a Condvar, and has its waiters yield a few
// times before they sleep, because waking a sleeping thread costs what waking a task does not.
#[derive(Debug, Default)]
pub(crate) struct Durable {
    mark: watch::Sender<Mark>,
    /// Set once the mark ended with a failure: what every append looks at, one atomic load,
    /// before it takes the watch channel's lock to learn the failure.
    poisoned: AtomicBool,
}

/// The durable mark, and why it will move no more.
#[derive(Debug, Default)]
struct Mark {
    /// Every event up to this sequence number is fsynced.
    synced: u64,
    /// Set once nothing after `synced` will reach the disk: `Err` if a write or an fsync
    /// failed, `Ok` if the writer stopped.
    ended: Option<Result<(), String>>,
}

impl Durable {
    fn update(&self, change: impl FnOnce(&mut Mark)) {
        self.mark.send_modify(change);
    }

    /// Waits until event `seq` is fsynced, or the writer says it never will be.
    pub(crate) async fn wait_for(&self, seq: u64) -> Result<(), Error> {
        let mut moved = self.mark.subscribe();
        // The sender lives as long as `self`, so this wait ends only through the mark.
        let mark = moved
            .wait_for(|mark| mark.synced >= seq || mark.ended.is_some())
            .await
            .map_err(|_| Error::Closed)?;
        if mark.synced >= seq {
            return Ok(());
        }
        match &mark.ended {
            Some(Err(message)) => Err(Error::Failed {
                message: message.clone(),
            }),
            _ => Err(Error::Closed),
        }
    }

    /// The failure that ended the mark, if a write or an fsync failed: the journal is poisoned
    /// and refuses every later append. (After a failed fsync the kernel may have dropped the
    /// pages it could not write, so a retried fsync could report success for data that is
    /// gone: nothing is retried.)
    // Inlined so that an append's check is the one load below, not a call that saves
    // registers and writes a large `Option<Error>` (measured: 21–32 instructions an append).
    #[inline]
    pub(crate) fn failure(&self) -> Option<Error> {
        if !self.poisoned.load(Ordering::Acquire) {
            return None;
        }
        match &self.mark.borrow().ended {
            Some(Err(message)) => Some(Error::Failed {
                message: message.clone(),
            }),
            _ => None,
        }
    }

    fn end(&self, outcome: Result<(), String>) {
        // The first ending is the one that stays: a failure is not overwritten by the close.
        self.update(|mark| {
            if mark.ended.get_or_insert(outcome).is_err() {
                self.poisoned.store(true, Ordering::Release);
            }
        });
    }
}

/// Ends [`Durable`] when the writer's effect is dropped, that is when the writer stops for
/// any reason, a panic included: no appender waits for an fsync that cannot come.
#[derive(Debug)]
struct CloseOnDrop(Arc<Durable>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.end(Ok(()));
    }
}

/// The journal's directory and everything the writer keeps. Shared with `subscribe` and
/// `prune`, which take it only while the writer is paused, so the lock is never contended on
/// the hot path.
// Async: a tokio Mutex, because a flush is awaited while it is held.
#[derive(Debug)]
pub(crate) struct State {
    // Async: the directory moves into a blocking task for each write, and comes back.
    directory: Option<Directory>,
    buf: Vec<u8>,
    /// The sequence number of the next event the writer will write.
    pub(crate) next_seq: u64,
    pub(crate) subscribers: Vec<Live>,
    durable: Arc<Durable>,
    /// How many appenders wait for the next fsync.
    waiting: usize,
    failed: Option<String>,
}

impl State {
    pub(crate) fn new(directory: Directory, durable: Arc<Durable>) -> Self {
        // What the journal held when it was opened is on disk: `open` fsynced it.
        let next_seq = directory.next_seq();
        durable.update(|mark| mark.synced = next_seq.saturating_sub(1));
        State {
            directory: Some(directory),
            buf: Vec::with_capacity(BUFFER),
            next_seq,
            subscribers: Vec::new(),
            durable,
            waiting: 0,
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

    /// Runs `work` on the directory on tokio's blocking pool, and takes the directory back. A
    /// failure is kept: the journal refuses everything after it rather than leave a gap.
    // Async: file writes, fsyncs and deletions block, so they run on the blocking pool, never on
    // a runtime worker; the threads writer calls the directory directly.
    async fn blocking<R: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut Directory) -> std::io::Result<R> + Send + 'static,
    ) -> Result<R, Error> {
        self.check()?;
        let Some(mut directory) = self.directory.take() else {
            return Err(Error::Closed);
        };
        let joined = tokio::task::spawn_blocking(move || {
            let result = work(&mut directory);
            (directory, result)
        })
        .await;
        match joined {
            Ok((directory, result)) => {
                self.directory = Some(directory);
                result.map_err(|e| {
                    self.fail(e.to_string());
                    e.into()
                })
            }
            Err(e) => {
                self.fail(e.to_string());
                Err(Error::failed(&e))
            }
        }
    }

    /// Hands the buffer to the OS, and fsyncs if asked. A failure is kept: the journal refuses
    /// everything after it rather than leave a gap in the file.
    pub(crate) async fn flush(&mut self, fsync: bool) -> Result<(), Error> {
        self.check()?;
        if self.buf.is_empty() && !fsync {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let mut buf = self
            .blocking(move |directory| {
                directory.write(&buf)?;
                if fsync {
                    directory.sync_data()?;
                }
                Ok(buf)
            })
            .await?;
        buf.clear();
        self.buf = buf;
        if fsync {
            // Every event written so far is on disk: its appenders may return.
            let synced = self.next_seq.saturating_sub(1);
            self.durable.update(|mark| mark.synced = synced);
            self.waiting = 0;
        }
        Ok(())
    }

    /// The last flush, at close: the zeros preallocated after the records are cut off, so a
    /// closed journal ends at its last record.
    async fn close(&mut self, fsync: bool) -> Result<(), Error> {
        self.flush(fsync).await?;
        self.blocking(move |directory| directory.close(fsync)).await
    }

    /// Where a subscriber from `from` reads its history, taken while the writer is paused:
    /// everything appended so far is handed to the OS first, so the history ends where live
    /// events begin. `Pruned` if `from` is before the first event kept.
    pub(crate) async fn plan(&mut self, from: u64) -> Result<ReplayPlan, Error> {
        self.check()?;
        self.flush(false).await?;
        let Some(directory) = &self.directory else {
            return Err(Error::Closed);
        };
        let first = directory.first();
        let from = from.max(1);
        if from < first {
            return Err(Error::Pruned { from, first });
        }
        Ok(directory.plan(from))
    }

    /// Keeps the first failure, and tells the appenders waiting for an fsync.
    fn fail(&mut self, message: String) {
        self.durable.end(Err(message.clone()));
        self.failed = Some(message);
    }

    async fn write(&mut self, seq: u64, payload: Vec<u8>) {
        if self.failed.is_some() {
            return;
        }
        // `append` refused oversized payloads before they got a sequence number.
        if let Err(e) = encode_record(seq, &payload, &mut self.buf) {
            self.fail(e.to_string());
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
        // The outcome reaches the appenders through `durable`, a failure included.
        let _ = self.flush(true).await;
    }

    /// Keeps only the events after `after`: the low-water mark is written (synced, renamed,
    /// the directory synced), then the segments wholly below it are deleted.
    pub(crate) async fn prune(&mut self, after: u64) -> Result<(), Error> {
        // Handed to the OS, not synced: the mark is clamped to what was written, and a crash
        // that loses unsynced events below it is met at open (numbers go on from the mark).
        self.flush(false).await?;
        self.blocking(move |directory| directory.prune(after)).await
    }
}

/// The worker's effect: applies one command, then, if appenders wait for an fsync and no
/// other command is queued behind this one, fsyncs once for all of them (group commit).
pub(crate) fn effect(
    state: Arc<Mutex<State>>,
    durable: Arc<Durable>,
    input: Receiver<Command>,
    durability: Durability,
) -> impl FnMut(Command) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static {
    let fsync_on_flush = durability != Durability::None;
    let closer = CloseOnDrop(durable);
    move |command| {
        let _moved_in = &closer; // so it is dropped with the effect, when the writer stops
        let (shared, input) = (Arc::clone(&state), input.clone());
        Box::pin(async move {
            let mut state = shared.lock().await;
            match command {
                Command::Append { seq, payload } => {
                    state.write(seq, payload).await;
                    if durability == Durability::Append {
                        state.waiting += 1;
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
                    let result = state.close(fsync_on_flush).await;
                    let _ = ack.send(result.map_err(|e| e.to_string()));
                    // Dropping the queues ends every subscription once it has drained.
                    state.subscribers.clear();
                }
            }
            if state.waiting != 0
                && state.failed.is_none()
                && (input.is_empty() || state.waiting >= GROUP_MAX)
            {
                // Appenders just answered are still waking up to send their next event: one
                // yield lets them, so the fsync below is shared by more of them.
                // Async: one yield is enough, as they are tasks already queued on this runtime
                // and run before the writer is polled again; the threads writer instead waits
                // (bounded) for OS threads to wake.
                if input.is_empty() {
                    drop(state);
                    tokio::task::yield_now().await;
                    state = shared.lock().await;
                    if !input.is_empty() && state.waiting < GROUP_MAX {
                        return;
                    }
                }
                state.answer_waiting().await;
            }
        })
    }
}
