//! The batch being gathered: pushed to one event at a time, handed on to the sink whole.

use std::mem;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, tick};

use crate::{Config, Error, Summary};

/// The most a new batch reserves up front, whatever the size cap.
const RESERVE: usize = 1024;

/// The batch in progress, the sink it goes to and the running totals.
#[derive(Debug)]
pub(crate) struct Batcher<T> {
    batch: Vec<T>,
    max: usize,
    sink: Sender<Vec<T>>,
    summary: Summary,
}

impl<T> Batcher<T> {
    /// Checks the configuration and starts an empty batch.
    pub(crate) fn new(sink: Sender<Vec<T>>, config: &Config) -> Result<Self, Error> {
        if config.period.is_zero() {
            return Err(Error::InvalidConfig {
                reason: "the period is zero",
            });
        }
        if config.max_batch == 0 {
            return Err(Error::InvalidConfig {
                reason: "the size cap is zero",
            });
        }
        Ok(Batcher {
            batch: Vec::with_capacity(config.max_batch.min(RESERVE)),
            max: config.max_batch,
            sink,
            summary: Summary::default(),
        })
    }

    /// Adds one event, and hands the batch on at once if that fills it.
    pub(crate) fn push(&mut self, event: T) -> Result<(), Error> {
        self.batch.push(event);
        if self.batch.len() >= self.max {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands the batch on, unless it is empty: never an empty batch.
    pub(crate) fn flush(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let next = Vec::with_capacity(self.max.min(RESERVE));
        let batch = mem::replace(&mut self.batch, next);
        let n = batch.len() as u64;
        // Threads: a bounded sink that is full makes this wait, and the wait blocks the loop's
        // thread — which is all this thread is for.
        self.sink.send(batch).map_err(|e| Error::SinkClosed {
            unsent: e.into_inner().len(),
        })?;
        self.summary.events += n;
        self.summary.batches += 1;
        Ok(())
    }

    /// The totals so far.
    pub(crate) fn summary(&self) -> Summary {
        self.summary
    }
}

/// The loop's tick: first one period from now, then every period; after a stall, one tick at
/// once and the next a full period later — never a burst of catch-up ticks.
pub(crate) fn ticks(period: Duration) -> Receiver<Instant> {
    // crossbeam's `tick` first delivers one period from now, and after each delivery sets the
    // next to now + period: a late tick restarts the period, as tokio's `Delay` does.
    tick(period)
}
