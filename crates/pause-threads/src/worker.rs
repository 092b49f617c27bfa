//! The worker: a thread that applies an effect to each item of a bounded input, and stops at a
//! safe point between two items whenever a pause is asked.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bothways_shared::panic_text;
use crossbeam_channel::{Receiver, TryRecvError, select};

use crate::gate::{Exit, Gate};
use crate::{Error, PauseGuard, PauseHandle};

/// A worker applying an effect to each item of a bounded input, pausable between items.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use bothways_pause_threads::Worker;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let (tx, rx) = crossbeam_channel::bounded(8);
/// let worker = {
///     let seen = Arc::clone(&seen);
///     Worker::spawn(rx, move |n: u32| seen.lock().unwrap().push(n))?
/// };
/// tx.send(1)?;
/// {
///     let _paused = worker.pause()?;
///     // No item is applied while the guard is held; the input still accepts up to 8.
///     tx.send(2)?;
/// }
/// drop(tx); // closing the input: the worker drains it, then stops
/// worker.join()?;
/// assert_eq!(*seen.lock().unwrap(), [1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Worker {
    handle: PauseHandle,
    gate: Arc<Gate>,
    // Threads: the worker is an OS thread of its own, joined to learn how it ended.
    thread: JoinHandle<()>,
}

impl Worker {
    /// Starts the worker on `input`, applying `effect` to each item in order. It stops once
    /// `input` is closed (every sender dropped) and drained, or when `effect` panics.
    pub fn spawn<T, F>(input: Receiver<T>, effect: F) -> Result<Worker, Error>
    where
        T: Send + 'static,
        F: FnMut(T) + Send + 'static,
    {
        let (gate, woken) = Gate::new();
        let thread = thread::Builder::new()
            .name("bothways-pause-worker".into())
            .spawn({
                let gate = Arc::clone(&gate);
                move || {
                    // Also reached should anything unwind past the `catch_unwind` below: pausers
                    // are told the worker stopped instead of waiting for it forever.
                    let _exit = ExitOnDrop(Arc::clone(&gate));
                    // One `catch_unwind` around the whole loop, not one per item: a panicking
                    // effect ends the loop either way, and the happy path pays nothing per item.
                    let exit =
                        match catch_unwind(AssertUnwindSafe(|| run(&gate, &input, &woken, effect)))
                        {
                            Ok(exit) => exit,
                            Err(payload) => Exit::Panicked(panic_text(payload.as_ref())),
                        };
                    gate.exit(exit);
                }
            })?;
        Ok(Worker {
            handle: PauseHandle::new(Arc::clone(&gate)),
            gate,
            thread,
        })
    }

    /// A cloneable handle for pausing this worker from elsewhere.
    pub fn handle(&self) -> PauseHandle {
        self.handle.clone()
    }

    /// Returns a guard once the worker is parked between two items; see
    /// [`PauseHandle::pause`].
    pub fn pause(&self) -> Result<PauseGuard, Error> {
        self.handle.pause()
    }

    /// As [`pause`](Self::pause), or [`Error::PauseTimeout`] after `limit`; see
    /// [`PauseHandle::pause_within`].
    pub fn pause_within(&self, limit: Duration) -> Result<PauseGuard, Error> {
        self.handle.pause_within(limit)
    }

    /// Waits for the worker to end: `Ok` once its input was closed and drained,
    /// [`Error::Panicked`] if its effect panicked.
    pub fn join(self) -> Result<(), Error> {
        // The effect runs under `catch_unwind`, so the thread itself does not panic; should it
        // ever, that is reported the same way.
        if let Err(payload) = self.thread.join() {
            return Err(Error::Panicked {
                message: panic_text(payload.as_ref()),
            });
        }
        match self.gate.exited() {
            Some(Exit::Panicked(message)) => Err(Error::Panicked { message }),
            Some(Exit::Stopped) | None => Ok(()),
        }
    }
}

/// The worker's loop: a safe point, then one item.
// ANCHOR: run
fn run<T>(
    gate: &Gate,
    input: &Receiver<T>,
    woken: &Receiver<()>,
    mut effect: impl FnMut(T),
) -> Exit {
    loop {
        // Between two items: the only place the worker parks.
        gate.safe_point();
        // An item already waiting needs no select: the common case under load.
        let item = match try_recv_briefly(gate, input) {
            Ok(item) => Ok(item),
            Err(TryRecvError::Disconnected) => return Exit::Stopped,
            Err(TryRecvError::Empty) => select! {
                recv(input) -> item => item.map_err(drop),
                // A pauser came while the input was empty: go round to the safe point.
                recv(woken) -> _ => continue,
            },
        };
        match item {
            Ok(item) => {
                // The item runs to its end: nothing here looks at the count until the next
                // turn of the loop, so no item is ever split by a pause. A panic unwinds out of
                // the loop, to the `catch_unwind` in `spawn`.
                effect(item);
            }
            Err(()) => return Exit::Stopped,
        }
    }
}
// ANCHOR_END: run

/// The steps of crossbeam's own `Backoff`, which its `recv` runs through before it parks: spin
/// (twice as long each step) up to step `SPIN_LIMIT`, then yield the thread up to step
/// `YIELD_LIMIT`, then give up.
const SPIN_LIMIT: u32 = 6;
/// See [`SPIN_LIMIT`].
const YIELD_LIMIT: u32 = 10;

/// `try_recv`, looking again while the input is empty — spinning, then yielding, step for step
/// as crossbeam's own `recv` does before it parks — unless a pause is asked. A blocking
/// `select!` over two channels costs more than a `recv` on one, and a worker that keeps pace
/// with its producer would otherwise pay it for nearly every item; with the same steps, the
/// worker and a bare `for item in input` loop wait alike.
fn try_recv_briefly<T>(gate: &Gate, input: &Receiver<T>) -> Result<T, TryRecvError> {
    let mut step = 0;
    loop {
        let item = input.try_recv();
        if !matches!(item, Err(TryRecvError::Empty)) || step > YIELD_LIMIT || gate.asked() {
            return item;
        }
        if step <= SPIN_LIMIT {
            for _ in 0..1u32 << step {
                std::hint::spin_loop();
            }
        } else {
            thread::yield_now();
        }
        step += 1;
    }
}

struct ExitOnDrop(Arc<Gate>);

impl Drop for ExitOnDrop {
    fn drop(&mut self) {
        // A no-op when the loop already recorded how it ended.
        self.0.exit(Exit::Stopped);
    }
}
