//! A subscription: the history first, streamed from the segments, then the live queue, with no
//! gap and no duplicate.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_channel::Receiver;
use bothways_journal_format::{Error as FormatError, Event, History, Next, ReplayPlan};
use tokio::task::JoinHandle;

use crate::Error;

/// What a chunk read on the blocking pool gives back: the history it read into, and how the
/// read went.
type ChunkRead = (History, io::Result<Result<(), FormatError>>);

/// Events from a sequence number on: the ones in the journal when it subscribed, then live ones.
///
/// Where the history ends and live events begin was noted while the writer was paused; the
/// history is read from the segments afterwards, a chunk at a time, and decoded (its
/// checksums checked) here, on the subscriber's own thread, as it receives it. It holds at
/// most a chunk ([`bothways_journal_format::CHUNK`], or one record if larger) and its live
/// queue, however long the history.
///
/// ```
/// use std::time::Duration;
/// use bothways_journal_async::{Journal, Options};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let dir = tempfile::tempdir()?;
/// let journal = Journal::open(dir.path().join("events"), Options::default()).await?;
/// let mut sub = journal.subscribe(2).await?; // past the end: waits for event 2
/// journal.append(b"one").await?;
/// assert_eq!(sub.recv_timeout(Duration::from_millis(50)).await?, None);
/// journal.append(b"two").await?;
/// assert_eq!(sub.recv().await?.seq, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Subscription {
    /// The events in the journal when it subscribed, read from its segments in chunks; `None`
    /// once they are all handed out, or while a chunk is being read.
    history: Option<History>,
    /// Async: the chunk being read on the blocking pool, with the history it is read into.
    /// Kept here, not in a local, so that a `recv` dropped mid-read (a `select!`, a timeout)
    /// loses nothing: the next `recv` awaits the same read.
    reading: Option<JoinHandle<ChunkRead>>,
    /// The next sequence number to hand out.
    next: u64,
    live: Receiver<Event>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    pub(crate) fn new(plan: ReplayPlan, live: Receiver<Event>, lagged: Arc<AtomicBool>) -> Self {
        Subscription {
            next: plan.from(),
            history: Some(History::new(plan)),
            reading: None,
            live,
            lagged,
        }
    }

    /// The next event, waiting for it. [`Error::Lagged`] if this subscriber fell behind and was
    /// disconnected, [`Error::Closed`] once the journal is closed and every event received.
    pub async fn recv(&mut self) -> Result<Event, Error> {
        if let Some(event) = self.next_replayed().await? {
            return Ok(event);
        }
        loop {
            match self.live.recv().await {
                // Skipped: a subscriber from past the end waits for its first event.
                Ok(event) if event.seq < self.next => continue,
                Ok(event) => {
                    self.next = event.seq + 1;
                    return Ok(event);
                }
                Err(_) => return Err(self.ended()),
            }
        }
    }

    /// As [`recv`](Self::recv), or `Ok(None)` if no event came within `limit`.
    // Async: a timeout is a future wrapper; dropping `recv` early loses nothing, as it only
    // advances after an event is in hand.
    pub async fn recv_timeout(&mut self, limit: Duration) -> Result<Option<Event>, Error> {
        match tokio::time::timeout(limit, self.recv()).await {
            Ok(result) => result.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The sequence number of the next event this subscription will hand out.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// The next event of the history, reading its next chunk when it needs one.
    // ANCHOR: next_replayed
    async fn next_replayed(&mut self) -> Result<Option<Event>, Error> {
        loop {
            if let Some(reading) = &mut self.reading {
                let (history, read) = reading.await.map_err(|e| Error::failed(&e))?;
                self.reading = None;
                self.history = Some(history);
                read??;
            }
            let Some(history) = &mut self.history else {
                return Ok(None);
            };
            match history.next_buffered()? {
                Next::Event(event) => {
                    self.next = event.seq + 1;
                    return Ok(Some(event));
                }
                Next::Read => {
                    // Async: the read blocks, so it goes to tokio's blocking pool, with the
                    // history moved there and back; the threads subscription reads inline.
                    if let Some(mut history) = self.history.take() {
                        self.reading = Some(tokio::task::spawn_blocking(move || {
                            let read = history.read();
                            (history, read)
                        }));
                    }
                }
                Next::Done => {
                    // The history is over: its buffer's memory goes with it.
                    self.history = None;
                    return Ok(None);
                }
            }
        }
    }
    // ANCHOR_END: next_replayed

    fn ended(&self) -> Error {
        if self.lagged.load(Ordering::Acquire) {
            Error::Lagged {
                last_seq: self.next - 1,
            }
        } else {
            Error::Closed
        }
    }
}
