//! The batch being gathered: pushed to one event at a time, handed on to the sink whole.

use std::mem;
use std::time::Duration;

use async_channel::Sender;
use tokio::time::{Instant, Interval, MissedTickBehavior, interval_at};

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
    pub(crate) async fn push(&mut self, event: T) -> Result<(), Error> {
        self.batch.push(event);
        if self.batch.len() >= self.max {
            self.flush().await?;
        }
        Ok(())
    }

    /// Hands the batch on, unless it is empty: never an empty batch.
    pub(crate) async fn flush(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let next = Vec::with_capacity(self.max.min(RESERVE));
        let batch = mem::replace(&mut self.batch, next);
        let n = batch.len() as u64;
        // Async: a bounded sink that is full makes this wait, and the wait is an await point,
        // so the loop pauses here without blocking its worker thread.
        self.sink.send(batch).await.map_err(|e| Error::SinkClosed {
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
#[derive(Debug)]
pub(crate) struct Ticks {
    interval: Interval,
    period: Duration,
    due: Instant,
}

impl Ticks {
    pub(crate) fn new(period: Duration) -> Self {
        let due = Instant::now() + period;
        // `interval` would tick at once; `interval_at` one period from now, as crossbeam's
        // `tick` does, so both styles start alike.
        let mut interval = interval_at(due, period);
        // The default, `Burst`, fires every missed tick back to back after a stall; `Delay`
        // restarts the period from the late tick — crossbeam's `tick` behaviour.
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Ticks {
            interval,
            period,
            due,
        }
    }

    /// Waits for the next tick. Cancel safe, as `Interval::tick` is: nothing awaits after it.
    pub(crate) async fn tick(&mut self) {
        self.interval.tick().await;
        self.due = Instant::now() + self.period;
    }

    /// Whether a tick is due by the clock; if so it counts as taken, and the period restarts.
    ///
    /// Async: a tokio timer fires only when the runtime's driver runs, and a task whose source
    /// is always ready runs up to 128 reads (its cooperative budget) per poll, with the driver
    /// polled only every few dozen polls — under a flood, ticks came 9 ms late at the median.
    /// So the busy branch also looks at the clock, as crossbeam's `select!` does every time.
    pub(crate) fn due(&mut self) -> bool {
        let now = Instant::now();
        if now < self.due {
            return false;
        }
        self.interval.reset();
        self.due = now + self.period;
        true
    }
}
