//! The journal: appenders take sequence numbers in order and hand events to a pausable writer
//! thread; subscribers pause it to note where their history ends.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use bothways_journal_format::{
    Directory, Fs, MAX_PAYLOAD, MAX_SEQ, Opened, PREALLOCATE, Storage, Torn,
};
use bothways_pause_threads::{PauseHandle, Worker};
use crossbeam_channel::{Receiver, Sender, bounded, select};

use crate::subscription::Subscription;
use crate::writer::{self, Command, Durable, Live, State, lock};
use crate::{Durability, Error, Options};

/// An append-only event journal: a directory of segment files.
///
/// ```
/// use bothways_journal_threads::{Durability, Journal, Options};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("events");
/// let options = Options { durability: Durability::Append, ..Options::default() };
/// let journal = Journal::open(&path, options)?;
/// journal.append(b"a")?; // on disk, fsynced, when this returns
/// journal.close()?;
///
/// // Reopening continues the sequence.
/// let journal = Journal::open(&path, options)?;
/// assert_eq!(journal.append(b"b")?, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Journal {
    input: Mutex<Input>,
    state: Arc<Mutex<State>>,
    /// How far the journal is fsynced: what appenders under [`Durability::Append`] wait on.
    durable: Arc<Durable>,
    pause: PauseHandle,
    worker: Mutex<Option<Worker>>,
    // Threads: the periodic flush is a thread of its own, stopped through a channel.
    ticker: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
    options: Options,
    recovered: Option<Torn>,
}

/// The appenders' side: sequence numbers are taken and commands sent under one lock, so the
/// writer receives them in sequence order.
#[derive(Debug)]
struct Input {
    next_seq: u64,
    tx: Option<Sender<Command>>,
}

impl Journal {
    /// Opens the journal directory at `path`, creating it if it does not exist. Of an existing
    /// one only the active segment is read, record by record: corruption is an error naming
    /// its offset; a torn tail is cut off (see [`Journal::recovered`]; also a `tracing`
    /// warning), and sequence numbers continue. A journal in one file (the older layout) is
    /// moved into a directory of that name first; a file that is not a journal is refused and
    /// left as it is. Segments are [`Options::segment_size`] bytes; a size under
    /// [`crate::MIN_SEGMENT`] is refused with `Io` of kind `InvalidInput`.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<Journal, Error> {
        Journal::open_on(Fs::shared(), path, options)
    }

    /// [`Journal::open`], on `storage` instead of the real filesystem: every file operation
    /// goes through it (a simulated disk in the power-cut tests).
    ///
    /// ```
    /// use bothways_journal_threads::{Journal, Options};
    /// let dir = tempfile::tempdir()?;
    /// let storage = bothways_journal_format::Fs::shared();
    /// let journal = Journal::open_on(storage, dir.path().join("events"), Options::default())?;
    /// assert_eq!(journal.append(b"a")?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_on(
        storage: Arc<dyn Storage>,
        path: impl AsRef<Path>,
        options: Options,
    ) -> Result<Journal, Error> {
        let options = options.checked()?;
        let Opened {
            directory,
            torn: recovered,
            migrated,
        } = Directory::open(
            storage,
            path.as_ref(),
            options.segment_size,
            preallocation(&options),
        )??;
        if migrated {
            tracing::info!(path = %path.as_ref().display(), "bothways-journal: a single-file journal became a directory");
        }
        let next_seq = directory.next_seq();
        let durable = Arc::new(Durable::default());
        let state = Arc::new(Mutex::new(State::new(directory, Arc::clone(&durable))));
        let (tx, rx) = bounded(options.input_queue.max(1));
        let worker = Worker::spawn(
            rx.clone(),
            writer::effect(
                Arc::clone(&state),
                Arc::clone(&durable),
                rx,
                options.durability,
            ),
        )
        .map_err(|e| Error::failed(&e))?;
        let ticker = spawn_ticker(tx.clone(), options)?;
        Ok(Journal {
            input: Mutex::new(Input {
                next_seq,
                tx: Some(tx),
            }),
            state,
            durable,
            pause: worker.handle(),
            worker: Mutex::new(Some(worker)),
            ticker: Mutex::new(Some(ticker)),
            options,
            recovered,
        })
    }

    /// Appends one event and returns its sequence number. Under [`Durability::Append`] the
    /// event is fsynced when this returns; otherwise it is buffered until the next flush.
    /// An event over [`MAX_PAYLOAD`] bytes, or one after sequence number [`MAX_SEQ`], is
    /// refused with a typed error and takes no number. Once a write or an fsync has failed,
    /// every append is refused with [`Error::Failed`]: the journal is poisoned, and a reopen
    /// recovers what reached the disk.
    pub fn append(&self, event: &[u8]) -> Result<u64, Error> {
        if event.len() > MAX_PAYLOAD as usize {
            return Err(bothways_journal_format::Error::TooLarge {
                offset: 0,
                len: event.len() as u64,
                max: MAX_PAYLOAD,
            }
            .into());
        }
        let payload = event.to_vec();
        let (seq, queued) = {
            let mut input = self.input.lock().unwrap_or_else(PoisonError::into_inner);
            let seq = input.next_seq;
            let tx = input.tx.as_ref().ok_or(Error::Closed)?;
            // A journal whose write or fsync failed takes nothing more: an event appended
            // after the failure could never be made durable.
            if let Some(failure) = self.durable.failure() {
                return Err(failure);
            }
            // Checked before the event takes a number: `next_seq + 1` below cannot overflow.
            if seq > MAX_SEQ {
                return Err(Error::SequenceExhausted { max: MAX_SEQ });
            }
            tx.send(Command::Append { seq, payload })
                .map_err(|_| Error::Closed)?;
            let queued = tx.len();
            input.next_seq += 1;
            (seq, queued)
        };
        if self.options.durability == Durability::Append {
            self.durable.arrived(queued);
            self.durable.wait_for(seq)?;
        }
        Ok(seq)
    }

    /// Flushes every event appended so far (and fsyncs it unless the policy is
    /// [`Durability::None`]).
    pub fn flush(&self) -> Result<(), Error> {
        let (ack, acked) = bounded(1);
        self.send(Command::Flush(ack))?;
        wait(&acked)
    }

    /// Subscribes from sequence number `from`: every event from `from` on, first replayed from
    /// the segments, then live, with no gap and no duplicate. A `from` past the end waits for it.
    ///
    /// The writer is paused only while the end of the history is noted and the subscriber
    /// registered for live events: the history is read from the segments afterwards, as the
    /// subscriber receives it, a chunk at a time. Reading bytes below the noted end while the
    /// writer appends past it is safe because the writer never changes a byte it has written
    /// (records go after the records, a sealed segment is never written again); a prune that
    /// deletes a segment the subscriber has not reached yet ends its history with a typed error.
    // ANCHOR: subscribe
    pub fn subscribe(&self, from: u64) -> Result<Subscription, Error> {
        let _paused = self.pause.pause().map_err(|_| Error::Closed)?;
        let mut state = lock(&self.state);
        let plan = state.plan(from)?;
        let (tx, rx) = bounded(self.options.subscriber_queue.max(1));
        let lagged = Arc::new(AtomicBool::new(false));
        state.subscribers.push(Live {
            tx,
            lagged: Arc::clone(&lagged),
        });
        drop(state);
        Ok(Subscription::new(plan, rx, lagged))
    }
    // ANCHOR_END: subscribe

    /// Keeps only the events after `after`: a low-water mark is written (synced, renamed into
    /// place, the directory synced), then the segments wholly below it are deleted; the events
    /// below it that share a segment with the first kept one are skipped by readers. Sequence
    /// numbers continue; subscribing before `after + 1` then gives [`Error::Pruned`].
    pub fn prune(&self, after: u64) -> Result<(), Error> {
        // Appends that returned before this call may still wait in the writer's input: a flush
        // goes through the input behind them, so they are in the file before it is cut.
        self.flush()?;
        let _paused = self.pause.pause().map_err(|_| Error::Closed)?;
        lock(&self.state).prune(after)
    }

    /// The torn tail cut off the active segment when the journal was opened, if there was one.
    pub fn recovered(&self) -> Option<Torn> {
        self.recovered
    }

    /// The sequence number the next append will get.
    pub fn next_seq(&self) -> u64 {
        self.input
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_seq
    }

    /// Flushes, fsyncs (unless [`Durability::None`]), ends every subscription once drained,
    /// and stops the writer. Appends after this give [`Error::Closed`]. Also done on drop.
    pub fn close(&self) -> Result<(), Error> {
        let tx = self
            .input
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .tx
            .take();
        let Some(tx) = tx else { return Ok(()) };
        let (ack, acked) = bounded(1);
        let sent = tx.send(Command::Close(ack));
        drop(tx);
        if let Some((stop, thread)) = self
            .ticker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            drop(stop);
            let _ = thread.join();
        }
        let result = match sent {
            Ok(()) => wait(&acked),
            Err(_) => Err(Error::Closed),
        };
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker {
            worker.join().map_err(|e| Error::failed(&e))?;
        }
        result
    }

    fn send(&self, command: Command) -> Result<(), Error> {
        let input = self.input.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = input.tx.as_ref().ok_or(Error::Closed)?;
        tx.send(command).map_err(|_| Error::Closed)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// How far ahead of its records a segment is filled with zeros: none without fsyncs (nothing to
/// gain), otherwise a mebibyte, or the segment size if smaller.
fn preallocation(options: &Options) -> u64 {
    if options.durability == Durability::None {
        0
    } else {
        PREALLOCATE.min(options.segment_size)
    }
}

fn wait(acked: &Receiver<Result<(), String>>) -> Result<(), Error> {
    match acked.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(Error::Failed { message }),
        Err(_) => Err(Error::Closed),
    }
}

/// Sends a `Tick` every `flush_every`, skipping it when the writer's input is full (the writer
/// is busy anyway, and a tick must never make an appender wait).
fn spawn_ticker(
    tx: Sender<Command>,
    options: Options,
) -> Result<(Sender<()>, JoinHandle<()>), Error> {
    let (stop, stopped) = bounded::<()>(0);
    let every = options.flush_every;
    let thread = thread::Builder::new()
        .name("bothways-journal-ticker".into())
        .spawn(move || {
            loop {
                select! {
                    recv(stopped) -> _ => break,
                    default(every) => { let _ = tx.try_send(Command::Tick); }
                }
            }
        })?;
    Ok((stop, thread))
}

#[cfg(test)]
mod tests {
    //! What `subscribe` and `prune` rely on, seen from inside: while the writer is paused it
    //! writes nothing, ticks included, and once resumed it has lost nothing.

    use std::fs;
    use std::time::Duration;

    use bothways_journal_format::{History, read_plan};

    use super::*;

    /// The bytes of every file in the journal's directory.
    fn bytes_in(path: &Path) -> std::io::Result<u64> {
        let mut total = 0;
        for entry in fs::read_dir(path)? {
            total += entry?.metadata()?.len();
        }
        Ok(total)
    }

    #[test]
    fn a_paused_writer_leaves_the_file_alone() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("events");
        let options = Options {
            durability: Durability::None,
            flush_every: Duration::from_millis(1),
            ..Options::default()
        };
        let journal = Journal::open(&path, options)?;
        let before = bytes_in(&path)?;
        let paused = journal.pause.pause()?;
        for _ in 0..100 {
            journal.append(b"appended while the writer is paused")?;
        }
        thread::sleep(Duration::from_millis(100)); // a hundred ticks
        let during = bytes_in(&path)?;
        assert_eq!(
            during, before,
            "the file changed while the writer was paused"
        );
        drop(paused);
        journal.flush()?;
        let plan = read_plan(Fs::shared(), &path, 1)??;
        let events = History::new(plan).count();
        assert_eq!(
            events, 100,
            "every event appended during the pause, once resumed"
        );
        Ok(())
    }
}
