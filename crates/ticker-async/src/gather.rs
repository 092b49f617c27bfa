//! The loop over an in-process source: any stream of events.

use std::pin::pin;

use async_channel::Sender;
use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::batch::{Batcher, Ticks};
use crate::{Config, Error, Summary};

/// Gathers events from `source` into batches and hands them to `sink`: at each tick when the
/// batch is not empty, at once when it reaches the size cap, and finally when the source ends
/// or `stop` is cancelled. Returns how many events and batches went through.
///
/// A full sink pauses the loop until a batch is taken — backpressure, not loss — and a stop
/// is seen once that batch has gone.
///
/// Async: stopping from outside is a `CancellationToken`, one more branch of the `select!`.
///
/// ```
/// use std::time::Duration;
/// use bothways_ticker_async::{Config, run};
/// use tokio_util::sync::CancellationToken;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let (events, source) = async_channel::unbounded();
/// let (sink, batches) = async_channel::unbounded();
/// let stop = CancellationToken::new();
/// let config = Config { period: Duration::from_millis(20), ..Config::default() };
/// let task = tokio::spawn(run(source, sink, config, stop.clone()));
/// events.send("a").await?;
/// events.send("b").await?;
/// // Handed on at the tick, with no need for a third event.
/// assert_eq!(batches.recv().await?, ["a", "b"]);
/// stop.cancel();
/// assert_eq!(task.await??.events, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn run<S, T>(
    source: S,
    sink: Sender<Vec<T>>,
    config: Config,
    stop: CancellationToken,
) -> Result<Summary, Error>
where
    S: Stream<Item = T>,
{
    let mut batch = Batcher::new(sink, &config)?;
    let mut ticks = Ticks::new(config.period);
    let mut source = pin!(source);
    loop {
        tokio::select! {
            // In this order when several are ready: a stop is seen at once, and a tick is
            // never starved by a source that is always ready.
            biased;
            () = stop.cancelled() => break,
            _ = ticks.tick() => batch.flush().await?,
            // Cancel safe: `next` only polls the stream, so when another branch wins, the
            // stream keeps its item for the next round.
            event = source.next() => match event {
                Some(event) => {
                    batch.push(event).await?;
                    // Async: a source that is always ready can starve the timer; see `Ticks::due`.
                    if ticks.due() {
                        batch.flush().await?;
                        // Async: let a receiver on this thread run; see `run_tcp`.
                        tokio::task::yield_now().await;
                    }
                }
                None => break,
            },
        }
    }
    batch.flush().await?;
    Ok(batch.summary())
}
