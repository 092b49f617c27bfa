//! The pause handshake: callers count themselves in, the worker (or a [`Pausable`]'s poll)
//! acknowledges at a safe point, and the last guard dropped lets it go on.
//!
//! [`Pausable`]: crate::Pausable
//!
//! Why this file and its threads twin differ so much: the async worker pauses by *not
//! polling* — the handshake only has to publish "parked" and wake whoever waits, with a watch
//! channel and an atomic — while a thread can only pause itself, so the threads gate is a
//! mutex, a condvar and a wake channel the worker checks at its safe point. Same names, same
//! states; the machinery is each style's own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::Error;

/// What the callers and the worker share: one `watch` value, so that a change wakes every
/// task waiting on it — the worker's select loop as much as the callers of `pause()`.
#[derive(Debug)]
pub(crate) struct Gate {
    state: watch::Sender<State>,
    /// `pausers > 0`, readable without the watch's lock: the worker's fast path between items.
    /// Only written inside the watch's lock, and the slow path reads the count itself.
    asked: AtomicBool,
}

#[derive(Debug)]
pub(crate) struct State {
    /// How many guards are out or being waited for: the worker parks while this is above zero.
    pausers: usize,
    /// The worker may make progress without looking at `pausers` again: inside an item, or
    /// (for a [`Pausable`](crate::Pausable)) inside a poll. A pause is granted once it is false.
    busy: bool,
    /// Why the worker ended, once it has.
    exit: Option<Exit>,
    /// The task of a [`Pausable`](crate::Pausable) that returned `Pending` because it was
    /// paused: woken when the last guard is dropped.
    waker: Option<Waker>,
}

/// Why a worker ended.
#[derive(Debug, Clone)]
pub(crate) enum Exit {
    /// Its input was closed and drained (or, for a `Pausable`, the inner future finished).
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
    /// A gate whose worker starts `busy` (a task not yet polled may take an item as soon as it
    /// runs) or idle (a `Pausable` not yet polled makes no progress until it is).
    pub(crate) fn new(busy: bool) -> Arc<Gate> {
        Arc::new(Gate {
            state: watch::Sender::new(State {
                pausers: 0,
                busy,
                exit: None,
                waker: None,
            }),
            asked: AtomicBool::new(false),
        })
    }

    /// Whether anyone is asking for a pause, without taking the watch's lock.
    // Inline: called once per item by the worker's loop, which is compiled in the caller's
    // crate, where a call across crates is not inlined without this.
    #[inline]
    pub(crate) fn asked(&self) -> bool {
        self.asked.load(Ordering::Acquire)
    }

    /// A receiver that sees every change.
    pub(crate) fn watch(&self) -> watch::Receiver<State> {
        self.state.subscribe()
    }

    /// Worker side, at the top of its loop: parks (acknowledging) if anyone wants a pause,
    /// otherwise goes busy. Returns whether it is paused.
    pub(crate) fn settle(&self) -> bool {
        let mut paused = false;
        self.state.send_if_modified(|s| {
            paused = s.pausers > 0;
            let changed = s.busy == paused;
            s.busy = !paused;
            changed
        });
        paused
    }

    /// `Pausable` side, before polling the inner future: `false` (and the task's waker kept
    /// for the resume) if paused, otherwise marked busy for the poll.
    pub(crate) fn enter_poll(&self, waker: &Waker) -> bool {
        let mut entered = false;
        self.state.send_if_modified(|s| {
            if s.pausers > 0 {
                store(&mut s.waker, waker);
                false
            } else {
                s.busy = true;
                entered = true;
                // Nobody waits for `busy` to become true.
                false
            }
        });
        entered
    }

    /// `Pausable` side, after polling the inner future: no longer busy; if a pause came during
    /// the poll, this is its acknowledgement, and the waker is kept for the resume.
    pub(crate) fn leave_poll(&self, waker: &Waker) {
        self.state.send_modify(|s| {
            s.busy = false;
            if s.pausers > 0 {
                store(&mut s.waker, waker);
            }
        });
    }

    /// Worker side: records why the worker ended and wakes every waiting pauser.
    pub(crate) fn exit(&self, exit: Exit) {
        self.state.send_modify(|s| {
            if s.exit.is_none() {
                s.exit = Some(exit);
            }
        });
    }

    /// Why the worker ended, if it has.
    pub(crate) fn exited(&self) -> Option<Exit> {
        self.state.borrow().exit.clone()
    }
}

fn store(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(kept) if kept.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// A cloneable handle that pauses one worker or [`Pausable`](crate::Pausable).
///
/// ```
/// use bothways_pause_async::Worker;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let (tx, rx) = async_channel::bounded::<u32>(16);
/// let worker = Worker::spawn(rx, |n| async move { println!("item {n}") })?;
/// let handle = worker.handle();
/// let guard = handle.pause().await?; // the worker is parked between two items
/// tx.send(1).await?; // accepted into the input, but not applied until the guard is dropped
/// drop(guard);
/// drop(tx);
/// worker.join().await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
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
    ///
    /// Async: cancel-safe — dropping this future before it is ready withdraws the request.
    pub async fn pause(&self) -> Result<PauseGuard, Error> {
        let mut seen = self.gate.watch();
        let mut refused = None;
        self.gate.state.send_if_modified(|s| match &s.exit {
            Some(exit) => {
                refused = Some(Error::from(exit));
                false
            }
            None => {
                s.pausers += 1;
                self.gate.asked.store(true, Ordering::Release);
                true
            }
        });
        if let Some(error) = refused {
            return Err(error);
        }
        // Armed before the wait, so that a caller who gives up (a timeout, a dropped future)
        // withdraws the request instead of leaving the worker parked.
        let guard = PauseGuard {
            gate: Arc::clone(&self.gate),
        };
        let exit = match seen.wait_for(|s| s.exit.is_some() || !s.busy).await {
            Ok(state) => state.exit.clone(),
            // The sender lives in the gate this handle holds: it cannot be gone.
            Err(_) => Some(Exit::Stopped),
        };
        match exit {
            Some(exit) => Err(Error::from(&exit)),
            None => Ok(guard),
        }
    }

    /// As [`pause`](Self::pause), but gives up with [`Error::PauseTimeout`] once `limit` has
    /// passed (an item too long to wait out); the request is then withdrawn and the worker
    /// goes on. A `limit` too large to add to the clock means no limit.
    pub async fn pause_within(&self, limit: Duration) -> Result<PauseGuard, Error> {
        // Async: the timer needs a runtime; outside one, say so instead of panicking.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::NoRuntime);
        }
        let start = Instant::now();
        match tokio::time::timeout(limit, self.pause()).await {
            Ok(result) => result,
            Err(_) => Err(Error::PauseTimeout {
                waited: start.elapsed(),
            }),
        }
    }
}

/// Held while the worker is paused; dropping it resumes the worker (once every other guard is
/// gone too).
///
/// ```
/// use bothways_pause_async::Worker;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let (_tx, rx) = async_channel::bounded::<u32>(1);
/// let worker = Worker::spawn(rx, |_| async {})?;
/// let first = worker.pause().await?;
/// let second = worker.handle().pause().await?; // already parked: granted at once
/// drop(first); // still paused: `second` is held
/// drop(second); // now it goes on
/// # Ok::<(), bothways_pause_async::Error>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "the worker resumes as soon as the guard is dropped"]
pub struct PauseGuard {
    gate: Arc<Gate>,
}

impl Drop for PauseGuard {
    fn drop(&mut self) {
        let mut waker = None;
        self.gate.state.send_modify(|s| {
            s.pausers = s.pausers.saturating_sub(1);
            if s.pausers == 0 {
                self.gate.asked.store(false, Ordering::Release);
                waker = s.waker.take();
            }
        });
        // Woken outside the watch's lock: waking may run code of its own.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
