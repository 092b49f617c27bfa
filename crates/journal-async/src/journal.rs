//! The journal: appenders take sequence numbers in order and hand events to a pausable writer
//! task; subscribers pause it while they read the file.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use async_channel::{Sender, bounded};
use bothways_journal_format::{Fs, MAX_PAYLOAD, MAX_SEQ, Recovered, Storage, Torn, recover};
use bothways_pause_async::{PauseHandle, Worker};
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;

use crate::subscription::Subscription;
use crate::writer::{self, Command, Durable, Live, State};
use crate::{Durability, Error, Options};

/// An append-only event journal in one file.
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
    /// How far the file is fsynced: what appenders under [`Durability::Append`] wait on.
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
    /// Opens the journal at `path`, creating it if it does not exist. An existing file is
    /// checked record by record: corruption before the tail is an error naming its offset; a
    /// torn tail is cut off (see [`Journal::recovered`]; also a `tracing` warning), and sequence
    /// numbers continue.
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
        let path = path.as_ref().to_path_buf();
        // Async: recovery reads and checks the whole file: blocking work, on the blocking pool.
        let preallocate = options.durability != Durability::None;
        let Recovered {
            file,
            next_seq,
            torn: recovered,
        } = tokio::task::spawn_blocking({
            let (storage, path) = (Arc::clone(&storage), path.clone());
            move || recover(storage.as_ref(), &path, preallocate)
        })
        .await
        .map_err(|e| Error::failed(&e))???;
        let durable = Arc::new(Durable::default());
        let state = Arc::new(Mutex::new(State::new(
            storage,
            path,
            file,
            next_seq,
            Arc::clone(&durable),
        )));
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
    /// the file, then live, with no gap and no duplicate. A `from` past the end waits for it.
    ///
    /// The writer is paused while the file is read and the subscriber registered, so the file
    /// is never read while it is being written.
    pub async fn subscribe(&self, from: u64) -> Result<Subscription, Error> {
        let _paused = self.pause.pause().await.map_err(|_| Error::Closed)?;
        let mut state = self.state.lock().await;
        state.check()?;
        state.flush(false).await?;
        let bytes = state.read_records().await?;
        let (tx, rx) = bounded(self.options.subscriber_queue.max(1));
        let lagged = Arc::new(AtomicBool::new(false));
        state.subscribers.push(Live {
            tx,
            lagged: Arc::clone(&lagged),
        });
        let live_from = state.next_seq;
        drop(state);
        Subscription::new(bytes, from, live_from, rx, lagged)
    }

    /// Keeps only the events after `after`, atomically: a temporary file, fsync, rename,
    /// fsync of the directory. Sequence numbers continue; subscribing before `after + 1`
    /// then gives [`Error::Pruned`].
    pub async fn prune(&self, after: u64) -> Result<(), Error> {
        // Appends that returned before this call may still wait in the writer's input: a flush
        // goes through the input behind them, so they are in the file before it is cut.
        self.flush().await?;
        let _paused = self.pause.pause().await.map_err(|_| Error::Closed)?;
        self.state.lock().await.prune(after).await
    }

    /// The torn tail cut off when the file was opened, if there was one.
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

    use bothways_journal_format::scan;

    use super::*;

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
        let before = fs::metadata(&path)?.len();
        let paused = journal.pause.pause().await?;
        for _ in 0..100 {
            journal
                .append(b"appended while the writer is paused")
                .await?;
        }
        tokio::time::sleep(Duration::from_millis(100)).await; // a hundred ticks
        let during = fs::metadata(&path)?.len();
        assert_eq!(
            during, before,
            "the file changed while the writer was paused"
        );
        drop(paused);
        journal.flush().await?;
        let events = scan(&fs::read(&path)?)?.next_seq - 1;
        assert_eq!(
            events, 100,
            "every event appended during the pause, once resumed"
        );
        Ok(())
    }
}
