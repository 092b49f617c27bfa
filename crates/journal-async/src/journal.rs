//! The journal: appenders take sequence numbers in order and hand events to a pausable writer
//! task; subscribers pause it to note where their history ends.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use async_channel::{Sender, bounded};
use bothways_journal_format::{
    Directory, Fs, MAX_PAYLOAD, MAX_SEQ, Opened, PREALLOCATE, Storage, Torn,
};
use bothways_pause_async::{PauseHandle, Worker};
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;

use crate::subscription::Subscription;
use crate::writer::{self, Command, Durable, Live, State};
use crate::{Durability, Error, Options};

/// An append-only event journal: a directory of segment files.
///
/// ```
/// use bothways_journal_async::{Durability, Journal, Options};
///
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("events");
/// let options = Options { durability: Durability::Append, ..Options::default() };
/// let journal = Journal::open(&path, options).await?;
/// journal.append(b"a").await?; // on disk, fsynced, when this returns
/// journal.close().await?;
///
/// // Reopening continues the sequence.
/// let journal = Journal::open(&path, options).await?;
/// assert_eq!(journal.append(b"b").await?, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Journal {
    // Async: a tokio Mutex, because an appender awaits room in the input while holding it.
    input: Mutex<Input>,
    state: Arc<Mutex<State>>,
    /// How far the journal is fsynced: what appenders under [`Durability::Append`] wait on.
    durable: Arc<Durable>,
    pause: PauseHandle,
    worker: StdMutex<Option<Worker>>,
    // Async: the periodic flush is a task of its own, stopped through a oneshot.
    ticker: StdMutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
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
    pub async fn open(path: impl AsRef<Path>, options: Options) -> Result<Journal, Error> {
        Journal::open_on(Fs::shared(), path, options).await
    }

    /// [`Journal::open`], on `storage` instead of the real filesystem: every file operation
    /// goes through it (a simulated disk in the power-cut tests).
    ///
    /// ```
    /// use bothways_journal_async::{Journal, Options};
    /// # tokio::runtime::Runtime::new()?.block_on(async {
    /// let dir = tempfile::tempdir()?;
    /// let storage = bothways_journal_format::Fs::shared();
    /// let journal = Journal::open_on(storage, dir.path().join("events"), Options::default()).await?;
    /// assert_eq!(journal.append(b"a").await?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn open_on(
        storage: Arc<dyn Storage>,
        path: impl AsRef<Path>,
        options: Options,
    ) -> Result<Journal, Error> {
        let options = options.checked()?;
        let path = path.as_ref().to_path_buf();
        // Async: recovery reads and checks the active segment: blocking work, on the blocking
        // pool.
        let Opened {
            directory,
            torn: recovered,
            migrated,
        } = tokio::task::spawn_blocking({
            let path = path.clone();
            let (size, step) = (options.segment_size, preallocation(&options));
            move || Directory::open(storage, &path, size, step)
        })
        .await
        .map_err(|e| Error::failed(&e))???;
        if migrated {
            tracing::info!(path = %path.display(), "bothways-journal: a single-file journal became a directory");
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
        let ticker = spawn_ticker(tx.clone(), options);
        Ok(Journal {
            input: Mutex::new(Input {
                next_seq,
                tx: Some(tx),
            }),
            state,
            durable,
            pause: worker.handle(),
            worker: StdMutex::new(Some(worker)),
            ticker: StdMutex::new(Some(ticker)),
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
    pub async fn append(&self, event: &[u8]) -> Result<u64, Error> {
        if event.len() > MAX_PAYLOAD as usize {
            return Err(bothways_journal_format::Error::TooLarge {
                offset: 0,
                len: event.len() as u64,
                max: MAX_PAYLOAD,
            }
            .into());
        }
        let payload = event.to_vec();
        let seq = {
            let mut input = self.input.lock().await;
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
                .await
                .map_err(|_| Error::Closed)?;
            input.next_seq += 1;
            seq
        };
        if self.options.durability == Durability::Append {
            self.durable.wait_for(seq).await?;
        }
        Ok(seq)
    }

    /// Flushes every event appended so far (and fsyncs it unless the policy is
    /// [`Durability::None`]).
    pub async fn flush(&self) -> Result<(), Error> {
        let (ack, acked) = oneshot::channel();
        self.send(Command::Flush(ack)).await?;
        wait(acked).await
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
    pub async fn subscribe(&self, from: u64) -> Result<Subscription, Error> {
        let _paused = self.pause.pause().await.map_err(|_| Error::Closed)?;
        let mut state = self.state.lock().await;
        let plan = state.plan(from).await?;
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
    pub async fn prune(&self, after: u64) -> Result<(), Error> {
        // Appends that returned before this call may still wait in the writer's input: a flush
        // goes through the input behind them, so they are in the file before it is cut.
        self.flush().await?;
        let _paused = self.pause.pause().await.map_err(|_| Error::Closed)?;
        self.state.lock().await.prune(after).await
    }

    /// The torn tail cut off the active segment when the journal was opened, if there was one.
    pub fn recovered(&self) -> Option<Torn> {
        self.recovered
    }

    /// The sequence number the next append will get.
    pub async fn next_seq(&self) -> u64 {
        self.input.lock().await.next_seq
    }

    /// Flushes, fsyncs (unless [`Durability::None`]), ends every subscription once drained,
    /// and stops the writer. Appends after this give [`Error::Closed`].
    // Async: dropping the journal cannot wait, so it only asks for the same; await `close` to
    // know the events are on disk.
    pub async fn close(&self) -> Result<(), Error> {
        let tx = self.input.lock().await.tx.take();
        let Some(tx) = tx else { return Ok(()) };
        let (ack, acked) = oneshot::channel();
        let sent = tx.send(Command::Close(ack)).await;
        drop(tx);
        let ticker = self
            .ticker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, task)) = ticker {
            let _ = stop.send(());
            let _ = task.await;
        }
        let result = match sent {
            Ok(()) => wait(acked).await,
            Err(_) => Err(Error::Closed),
        };
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker {
            worker.join().await.map_err(|e| Error::failed(&e))?;
        }
        result
    }

    async fn send(&self, command: Command) -> Result<(), Error> {
        let input = self.input.lock().await;
        let tx = input.tx.as_ref().ok_or(Error::Closed)?;
        tx.send(command).await.map_err(|_| Error::Closed)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Async: no await here. Ask the writer to flush and stop: a Close command if there is
        // room, then the input closes once the ticker stops.
        if let Some(tx) = self.input.get_mut().tx.take() {
            let (ack, _) = oneshot::channel();
            let _ = tx.try_send(Command::Close(ack));
        }
        if let Some((stop, _)) = self
            .ticker
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = stop.send(());
        }
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

async fn wait(acked: oneshot::Receiver<Result<(), String>>) -> Result<(), Error> {
    match acked.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(Error::Failed { message }),
        Err(_) => Err(Error::Closed),
    }
}

/// Sends a `Tick` every `flush_every`, skipping it when the writer's input is full (the writer
/// is busy anyway, and a tick must never make an appender wait).
fn spawn_ticker(tx: Sender<Command>, options: Options) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let every = options.flush_every;
    let task = tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = interval.tick() => { let _ = tx.try_send(Command::Tick); }
            }
        }
    });
    (stop, task)
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

    #[tokio::test]
    async fn a_paused_writer_leaves_the_file_alone() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("events");
        let options = Options {
            durability: Durability::None,
            flush_every: Duration::from_millis(1),
            ..Options::default()
        };
        let journal = Journal::open(&path, options).await?;
        let before = bytes_in(&path)?;
        let paused = journal.pause.pause().await?;
        for _ in 0..100 {
            journal
                .append(b"appended while the writer is paused")
                .await?;
        }
        tokio::time::sleep(Duration::from_millis(100)).await; // a hundred ticks
        let during = bytes_in(&path)?;
        assert_eq!(
            during, before,
            "the file changed while the writer was paused"
        );
        drop(paused);
        journal.flush().await?;
        let plan = read_plan(Fs::shared(), &path, 1)??;
        let events = History::new(plan).count();
        assert_eq!(
            events, 100,
            "every event appended during the pause, once resumed"
        );
        Ok(())
    }
}
