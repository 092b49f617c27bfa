//! A subscription: the history first, streamed from the segments, then the live queue, with no
//! gap and no duplicate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bothways_journal_format::{Event, History, Next, ReplayPlan};
use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::Error;

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
/// use bothways_journal_threads::{Journal, Options};
/// let dir = tempfile::tempdir()?;
/// let journal = Journal::open(dir.path().join("events"), Options::default())?;
/// let mut sub = journal.subscribe(2)?; // past the end: waits for event 2
/// journal.append(b"one")?;
/// assert_eq!(sub.recv_timeout(Duration::from_millis(50))?, None);
/// journal.append(b"two")?;
/// assert_eq!(sub.recv()?.seq, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Subscription {
    /// The events in the journal when it subscribed, read from its segments in chunks; `None`
    /// once they are all handed out.
    history: Option<History>,
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
            live,
            lagged,
        }
    }

    /// The next event, waiting for it. [`Error::Lagged`] if this subscriber fell behind and was
    /// disconnected, [`Error::Closed`] once the journal is closed and every event received.
    pub fn recv(&mut self) -> Result<Event, Error> {
        loop {
            if let Some(event) = self.recv_until(None)? {
                return Ok(event);
            }
        }
    }

    /// As [`recv`](Self::recv), or `Ok(None)` if no event came within `limit`.
    pub fn recv_timeout(&mut self, limit: Duration) -> Result<Option<Event>, Error> {
        self.recv_until(Some(Instant::now() + limit))
    }

    /// The sequence number of the next event this subscription will hand out.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    fn recv_until(&mut self, deadline: Option<Instant>) -> Result<Option<Event>, Error> {
        if let Some(event) = self.next_replayed()? {
            return Ok(Some(event));
        }
        loop {
            let received = match deadline {
                None => self.live.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(deadline) => self.live.recv_deadline(deadline),
            };
            match received {
                // Skipped: a subscriber from past the end waits for its first event.
                Ok(event) if event.seq < self.next => continue,
                Ok(event) => {
                    self.next = event.seq + 1;
                    return Ok(Some(event));
                }
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => return Err(self.ended()),
            }
        }
    }

    /// The next event of the history, reading its next chunk when it needs one.
    // Threads: the read blocks this thread, which is the subscriber's own; the async
    // subscription hands it to tokio's blocking pool.
    // ANCHOR: next_replayed
    fn next_replayed(&mut self) -> Result<Option<Event>, Error> {
        let Some(history) = &mut self.history else {
            return Ok(None);
        };
        loop {
            match history.next_buffered()? {
                Next::Event(event) => {
                    self.next = event.seq + 1;
                    return Ok(Some(event));
                }
                Next::Read => history.read()??,
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

impl Iterator for Subscription {
    type Item = Result<Event, Error>;

    /// The next event; `None` once the journal is closed.
    fn next(&mut self) -> Option<Self::Item> {
        match self.recv() {
            Err(Error::Closed) => None,
            other => Some(other),
        }
    }
}
