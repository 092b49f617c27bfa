//! The pause handshake: callers count themselves in, the worker acknowledges at a safe point
//! between items, and the last guard dropped lets it go on.
//!
//! Why this file and its async twin differ so much: a thread can only pause itself, so this
//! gate is a mutex, a condvar and a wake channel the worker checks at its safe point; the async
//! worker pauses by *not polling*, and its gate only publishes "parked" and wakes whoever
//! waits. Same names, same states; the machinery is each style's own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::Error;

/// What the callers and the worker share.
#[derive(Debug)]
pub(crate) struct Gate {
    state: Mutex<State>,
    /// `pausers > 0`, readable without the lock: the worker's fast path between items. Only
    /// written under the lock, and the slow path reads the count itself.
    asked: AtomicBool,
    /// Signalled when the worker parks or exits, and when the last guard is dropped.
    changed: Condvar,
    // Threads: a worker blocked on an empty input cannot see a flag, so a pauser also sends a
    // token on a one-slot channel the worker selects on beside its input.
    wake: Sender<()>,
}

#[derive(Debug, Default)]
struct State {
    /// How many guards are out or being waited for: the worker parks while this is above zero.
    pausers: usize,
    /// The worker has seen `pausers > 0` at a safe point and will take no item until it is 0.
    parked: bool,
    /// Why the worker ended, once it has.
    exit: Option<Exit>,
}

/// Why a worker ended.
#[derive(Debug, Clone)]
pub(crate) enum Exit {
    /// Its input was closed and drained.
    Stopped,
    /// Its effect panicked with this message.
    Panicked(String),
}

impl From<&Exit> for Error {
    fn from(exit: &Exit) -> Self {
        match exit {
            Exit::Stopped => Error::Stopped,
            Exit::Panicked(message) => Error::Panicked {
                message: message.clone(),
            },
        }
    }
}

impl Gate {
    /// A gate, and the wake-up channel its worker selects on.
    pub(crate) fn new() -> (Arc<Gate>, Receiver<()>) {
        let (wake, woken) = crossbeam_channel::bounded(1);
        let gate = Gate {
            state: Mutex::new(State::default()),
            asked: AtomicBool::new(false),
            changed: Condvar::new(),
            wake,
        };
        (Arc::new(gate), woken)
    }

    /// Worker side, between two items: parks while anyone wants a pause, acknowledging first.
    #[inline]
    pub(crate) fn safe_point(&self) {
        // Nobody asking: the common case costs one atomic load, not a lock, nor a call (the
        // worker's loop is compiled in the caller's crate). A pauser who comes just after this
        // load is served at the next safe point; meanwhile it waits, as for an item in
        // progress.
        if self.asked() {
            self.park();
        }
    }

    /// The rest of [`safe_point`](Self::safe_point), out of line: parks while anyone wants a
    /// pause.
    #[cold]
    fn park(&self) {
        let mut state = self.lock();
        if state.pausers == 0 {
            return;
        }
        state.parked = true;
        self.changed.notify_all();
        while state.pausers > 0 {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.parked = false;
    }

    /// Worker side: records why the worker ended and wakes every waiting pauser.
    pub(crate) fn exit(&self, exit: Exit) {
        let mut state = self.lock();
        if state.exit.is_none() {
            state.exit = Some(exit);
        }
        state.parked = false;
        self.changed.notify_all();
    }

    /// Whether anyone is asking for a pause, without taking the lock.
    // Inline: called once per item by the worker's loop, which is compiled in the caller's
    // crate, where a call across crates is not inlined without this.
    #[inline]
    pub(crate) fn asked(&self) -> bool {
        self.asked.load(Ordering::Acquire)
    }

    /// Why the worker ended, if it has.
    pub(crate) fn exited(&self) -> Option<Exit> {
        self.lock().exit.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section is a few assignments that cannot panic halfway: a poisoned
        // lock still guards consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one pauser out, and lets the worker go when it was the last.
    fn release(&self, state: &mut State) {
        state.pausers = state.pausers.saturating_sub(1);
        if state.pausers == 0 {
            self.asked.store(false, Ordering::Release);
            self.changed.notify_all();
        }
    }
}

/// A cloneable handle that pauses one worker.
///
/// ```
/// use bothways_pause_threads::Worker;
///
/// let (tx, rx) = crossbeam_channel::bounded::<u32>(16);
/// let worker = Worker::spawn(rx, |n| println!("item {n}"))?;
/// let handle = worker.handle();
/// let guard = handle.pause()?; // the worker is parked between two items
/// tx.send(1)?; // accepted into the input, but not applied until the guard is dropped
/// drop(guard);
/// drop(tx);
/// worker.join()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PauseHandle {
    gate: Arc<Gate>,
}

impl PauseHandle {
    pub(crate) fn new(gate: Arc<Gate>) -> Self {
        PauseHandle { gate }
    }

    /// Returns a guard once the worker is parked between two items: an item in progress is
    /// finished first, never split. Dropping the guard resumes the worker; with several guards
    /// out, it resumes when the last is dropped.
    ///
    /// Fails with [`Error::Panicked`] or [`Error::Stopped`] if the worker has ended, or ends
    /// while this waits.
    pub fn pause(&self) -> Result<PauseGuard, Error> {
        self.pause_until(None)
    }

    /// As [`pause`](Self::pause), but gives up with [`Error::PauseTimeout`] once `limit` has
    /// passed (an item too long to wait out); the request is then withdrawn and the worker
    /// goes on. A `limit` too large to add to the clock means no limit.
    pub fn pause_within(&self, limit: Duration) -> Result<PauseGuard, Error> {
        self.pause_until(Instant::now().checked_add(limit))
    }

    fn pause_until(&self, deadline: Option<Instant>) -> Result<PauseGuard, Error> {
        let start = Instant::now();
        let gate = &*self.gate;
        let mut state = gate.lock();
        if let Some(exit) = &state.exit {
            return Err(exit.into());
        }
        state.pausers += 1;
        gate.asked.store(true, Ordering::Release);
        // Full means a token is already waiting to wake the worker: one is enough.
        let _ = gate.wake.try_send(());
        loop {
            if let Some(exit) = &state.exit {
                let error = exit.into();
                gate.release(&mut state);
                return Err(error);
            }
            if state.parked {
                return Ok(PauseGuard {
                    gate: Arc::clone(&self.gate),
                });
            }
            state = match deadline {
                None => gate
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        gate.changed
                            .wait_timeout(state, left)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    }
                    _ => {
                        // Withdraw the request, so the worker is not parked by a caller who
                        // has gone.
                        gate.release(&mut state);
                        return Err(Error::PauseTimeout {
                            waited: start.elapsed(),
                        });
                    }
                },
            };
        }
    }
}

/// Held while the worker is paused; dropping it resumes the worker (once every other guard is
/// gone too).
///
/// ```
/// use bothways_pause_threads::Worker;
///
/// let (_tx, rx) = crossbeam_channel::bounded::<u32>(1);
/// let worker = Worker::spawn(rx, |_| {})?;
/// let first = worker.pause()?;
/// let second = worker.handle().pause()?; // already parked: granted at once
/// drop(first); // still paused: `second` is held
/// drop(second); // now it goes on
/// # Ok::<(), bothways_pause_threads::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "the worker resumes as soon as the guard is dropped"]
pub struct PauseGuard {
    gate: Arc<Gate>,
}

impl Drop for PauseGuard {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        self.gate.release(&mut state);
    }
}
