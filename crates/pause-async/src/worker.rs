//! The worker: a task that applies an async effect to each item of a bounded input, written as
//! the bare form of the pattern — a select loop that does not poll its input branch while a
//! guard is held.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_channel::Receiver;
use bothways_shared::panic_text;
use futures::FutureExt;
use tokio::task::JoinHandle;

use crate::gate::{Exit, Gate};
use crate::{Error, PauseGuard, PauseHandle};

/// A worker applying an effect to each item of a bounded input, pausable between items.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use bothways_pause_async::Worker;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let (tx, rx) = async_channel::bounded(8);
/// let worker = {
///     let seen = Arc::clone(&seen);
///     Worker::spawn(rx, move |n: u32| {
///         let seen = Arc::clone(&seen);
///         async move { seen.lock().unwrap().push(n) }
///     })?
/// };
/// tx.send(1).await?;
/// {
///     let _paused = worker.pause().await?;
///     // No item is applied while the guard is held; the input still accepts up to 8.
///     tx.send(2).await?;
/// }
/// drop(tx); // closing the input: the worker drains it, then stops
/// worker.join().await?;
/// assert_eq!(*seen.lock().unwrap(), [1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Worker {
    handle: PauseHandle,
    gate: Arc<Gate>,
    // Async: the worker is a task on the caller's runtime, joined to learn how it ended.
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts the worker on `input`, applying `effect` to each item in order. It stops once
    /// `input` is closed (every sender dropped) and drained, or when `effect` panics.
    pub fn spawn<T, F, Fut>(input: Receiver<T>, effect: F) -> Result<Worker, Error>
    where
        T: Send + 'static,
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let gate = Gate::new(true);
        let task = runtime.spawn({
            let gate = Arc::clone(&gate);
            async move {
                // Also reached if the task is dropped (its runtime shut down): pausers are
                // told the worker stopped instead of waiting for it forever.
                let _exit = ExitOnDrop(Arc::clone(&gate));
                // One `catch_unwind` around the whole loop, not one per item: a panicking
                // effect ends the loop either way, and the happy path pays nothing per item.
                let exit = match AssertUnwindSafe(run(&gate, input, effect))
                    .catch_unwind()
                    .await
                {
                    Ok(exit) => exit,
                    Err(payload) => Exit::Panicked(panic_text(payload.as_ref())),
                };
                gate.exit(exit);
            }
        });
        Ok(Worker {
            handle: PauseHandle::new(Arc::clone(&gate)),
            gate,
            task,
        })
    }

    /// A cloneable handle for pausing this worker from elsewhere.
    pub fn handle(&self) -> PauseHandle {
        self.handle.clone()
    }

    /// Returns a guard once the worker is parked between two items; see
    /// [`PauseHandle::pause`].
    pub async fn pause(&self) -> Result<PauseGuard, Error> {
        self.handle.pause().await
    }

    /// As [`pause`](Self::pause), or [`Error::PauseTimeout`] after `limit`; see
    /// [`PauseHandle::pause_within`].
    pub async fn pause_within(&self, limit: Duration) -> Result<PauseGuard, Error> {
        self.handle.pause_within(limit).await
    }

    /// Waits for the worker to end: `Ok` once its input was closed and drained,
    /// [`Error::Panicked`] if its effect panicked.
    pub async fn join(self) -> Result<(), Error> {
        // The effect runs under `catch_unwind`, so the task itself does not panic; a task
        // cancelled by its runtime shutting down has stopped.
        if let Err(e) = self.task.await {
            return Err(if e.is_panic() {
                Error::Panicked {
                    message: "the worker task".to_owned(),
                }
            } else {
                Error::Stopped
            });
        }
        match self.gate.exited() {
            Some(Exit::Panicked(message)) => Err(Error::Panicked { message }),
            Some(Exit::Stopped) | None => Ok(()),
        }
    }
}

/// The worker's loop, the bare form of the pattern: while a guard is held the input branch of
/// the select is disabled, so it is not polled and no item is even taken off the input.
// ANCHOR: run
async fn run<T, F, Fut>(gate: &Gate, input: Receiver<T>, mut effect: F) -> Exit
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut seen = gate.watch();
    // What this loop last told the gate: busy (taking items) or parked.
    let mut busy = true;
    // The run below ended on an empty input: no need to look again before the select.
    let mut drained = false;
    // Items applied since the loop last spent a unit of tokio's budget.
    let mut unbudgeted = 0;
    loop {
        if !busy || gate.asked() {
            // Mark everything so far as seen *before* reading the count, so that a pauser who
            // comes after this line wakes `changed()` below and is never missed.
            seen.borrow_and_update();
            // Between two items: park (and acknowledge) or go on.
            busy = !gate.settle();
        }
        // Nobody asking and an item already waiting: no select needed, the common case under
        // load. A pauser who comes now is served after this item, as for any item in progress.
        let ready = if busy && !drained {
            input.try_recv().ok()
        } else {
            None
        };
        drained = false;
        let mut item = match ready {
            Some(item) => item,
            None => tokio::select! {
                // A pauser came or went: go round to look again. First, so a waiting pause
                // wins over a ready item.
                biased;
                changed = seen.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => return Exit::Stopped,
                },
                // Not polled at all while paused: no item is even taken off the input.
                item = input.recv(), if busy => match item {
                    Ok(item) => item,
                    Err(_) => return Exit::Stopped,
                },
            },
        };
        // A run of items, applied in this tight loop while more are waiting and nobody asks:
        // one atomic load per item looks at the gate, and the `select!` above (and its
        // futures) is left alone until the input is empty or a pauser comes. The effect is
        // called from this one place, so that the compiler may inline it; and nothing but the
        // budget count is kept across its `await`, so that the loop's state stays in
        // registers.
        loop {
            // The item runs to its end: nothing here looks at the count until it is done, so no
            // item is ever split by a pause. A panic unwinds out of the loop, to the
            // `catch_unwind` in `spawn`.
            effect(item).await;
            unbudgeted += 1;
            if unbudgeted == BUDGET_EVERY {
                unbudgeted = 0;
                tokio::task::consume_budget().await;
            }
            // A pauser waiting: go round to `settle`, between this item and the next.
            if gate.asked() {
                break;
            }
            item = match input.try_recv() {
                Ok(next) => next,
                Err(_) => {
                    drained = true;
                    break;
                }
            };
        }
    }
}
// ANCHOR_END: run

/// Items applied per unit of tokio's budget spent. A flood of ready items never makes the loop
/// wait (`async_channel` knows nothing of tokio's budget): spend a unit now and then, so that
/// the task yields once the budget is gone and other tasks, the timers and a pauser on a
/// `current_thread` runtime get their turn. Not one unit per item: that yields every 128
/// items, each yield a trip through the scheduler and its driver, and made the loop about 30%
/// slower than a bare one on the tiny items of the `throughput-drain` bench (one per 16 items:
/// still up to 16% on `multi_thread`). One unit per `BUDGET_EVERY` items yields every 8,192
/// items. An effect that awaits a tokio resource (a sleep, a tokio channel, tokio I/O) spends
/// budget itself, and yields sooner.
const BUDGET_EVERY: u32 = 64;

struct ExitOnDrop(Arc<Gate>);

impl Drop for ExitOnDrop {
    fn drop(&mut self) {
        // A no-op when the loop already recorded how it ended.
        self.0.exit(Exit::Stopped);
    }
}
