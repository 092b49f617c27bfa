//! A subscription: the replayed file first, then the live queue, with no gap and no duplicate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bothways_journal_format::{Event, Reader, Step, read_record};
use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::Error;

/// Events from a sequence number on: the ones in the file when it subscribed, then live ones.
///
/// The file's bytes were read while the writer was paused; they are decoded (and their
/// checksums checked) here, on the subscriber's own thread, as it receives them.
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
    replay: Vec<u8>,
    offset: usize,
    replay_seq: u64,
    /// Events before this were in the file when it subscribed; from it on, they come live.
    live_from: u64,
    /// The next sequence number to hand out.
    next: u64,
    live: Receiver<Event>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    pub(crate) fn new(
        replay: Vec<u8>,
        from: u64,
        live_from: u64,
        live: Receiver<Event>,
        lagged: Arc<AtomicBool>,
    ) -> Result<Self, Error> {
        let reader = Reader::new(&replay)?;
        let first = reader.header().base_seq;
        let from = from.max(1);
        if from < first {
            return Err(Error::Pruned { from, first });
        }
        Ok(Subscription {
            offset: bothways_journal_format::HEADER_LEN,
            replay_seq: first,
            replay,
            live_from,
            next: from,
            live,
            lagged,
        })
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

    fn next_replayed(&mut self) -> Result<Option<Event>, Error> {
        while self.replay_seq < self.live_from {
            match read_record(&self.replay, self.offset, self.replay_seq)? {
                Step::Record(record) => {
                    // record.end lies within the replay bytes, whose length is a usize.
                    self.offset = record.end as usize;
                    self.replay_seq += 1;
                    if record.seq >= self.next {
                        self.next = record.seq + 1;
                        return Ok(Some(record.into()));
                    }
                }
                // The writer flushed before the file was read, so this is a short file.
                Step::End | Step::Torn { .. } => break,
            }
        }
        if !self.replay.is_empty() {
            self.replay = Vec::new(); // the replay is done: give its memory back
        }
        Ok(None)
    }

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
