//! The loop over an in-process source: any channel of events.

use crossbeam_channel::{Receiver, Sender, select_biased};

use crate::batch::{Batcher, ticks};
use crate::{Config, Error, Summary};

/// Gathers events from `source` into batches and hands them to `sink`: at each tick when the
/// batch is not empty, at once when it reaches the size cap, and finally when the source ends
/// or `stop` fires. Returns how many events and batches went through.
///
/// A full sink pauses the loop until a batch is taken — backpressure, not loss — and a stop
/// is seen once that batch has gone.
///
/// Threads: stopping from outside is a channel — a message or its sender's drop both mean stop;
/// pass `crossbeam_channel::never()` for a loop that only its source ends.
///
/// ```
/// use std::time::Duration;
/// use bothways_ticker_threads::{Config, run};
///
/// let (events, source) = crossbeam_channel::unbounded();
/// let (sink, batches) = crossbeam_channel::unbounded();
/// let (stop, stopped) = crossbeam_channel::bounded(1);
/// let config = Config { period: Duration::from_millis(20), ..Config::default() };
/// let looping = std::thread::spawn(move || run(source, sink, config, stopped));
/// events.send("a")?;
/// events.send("b")?;
/// // Handed on at the tick, with no need for a third event.
/// assert_eq!(batches.recv()?, ["a", "b"]);
/// stop.send(())?;
/// assert_eq!(looping.join().unwrap()?.events, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run<T>(
    source: Receiver<T>,
    sink: Sender<Vec<T>>,
    config: Config,
    stop: Receiver<()>,
) -> Result<Summary, Error> {
    let mut batch = Batcher::new(sink, &config)?;
    let ticks = ticks(config.period);
    loop {
        select_biased! {
            // In this order when several are ready: a stop is seen at once, and a tick is
            // never starved by a source that is always ready.
            recv(stop) -> _ => break,
            recv(ticks) -> _ => batch.flush()?,
            recv(source) -> event => match event {
                Ok(event) => batch.push(event)?,
                Err(_) => break,
            },
        }
    }
    batch.flush()?;
    Ok(batch.summary())
}
