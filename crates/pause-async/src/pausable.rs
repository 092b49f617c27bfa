//! Pause *any* future or stream by not polling it — and why that still needs an
//! acknowledgement.
//!
//! A future makes progress only inside `poll`, so async can pause anything from the outside:
//! stop polling it. On a `current_thread` runtime that is the whole story — when your code runs,
//! nothing else is being polled. On a `multi_thread` runtime it is not: at the moment you decide
//! "stop polling", the future may be *in the middle of a poll on another worker thread*, and
//! that poll runs on, side effects and all, until it returns. A pause that merely set a flag
//! would return while the future was still working, and the caller's "nothing happens now"
//! window would overlap the end of that poll. So [`PauseHandle::pause`] waits for the
//! acknowledgement: the wrapper clears its `busy` mark when a poll returns, and the pause is
//! granted only once no poll is running and none will start until the guard is dropped.
//!
//! The safe points of a wrapped future are its `.await`s that return `Pending`, not item
//! boundaries: to pause between items, pause the loop that takes them, as
//! [`Worker`](crate::Worker) does.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use crate::PauseHandle;
use crate::gate::{Exit, Gate};

// Async only: with threads there is no outside from which to stop a running thread, so this
// has no counterpart in the threads crate; a thread must be asked, as its `Worker` is.
/// Any future or stream, made pausable: while a guard from its [`handle`](Self::handle) is held,
/// it is not polled.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use bothways_pause_async::Pausable;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let ticks = Arc::new(AtomicU32::new(0));
/// let counting = Pausable::new({
///     let ticks = Arc::clone(&ticks);
///     async move {
///         loop {
///             ticks.fetch_add(1, Ordering::SeqCst);
///             tokio::time::sleep(Duration::from_millis(1)).await;
///         }
///     }
/// });
/// let handle = counting.handle();
/// let task = tokio::spawn(counting);
/// tokio::time::sleep(Duration::from_millis(20)).await;
/// let guard = handle.pause().await?;
/// let frozen = ticks.load(Ordering::SeqCst);
/// tokio::time::sleep(Duration::from_millis(20)).await;
/// assert_eq!(ticks.load(Ordering::SeqCst), frozen); // not polled: no progress
/// drop(guard);
/// tokio::time::sleep(Duration::from_millis(20)).await;
/// assert!(ticks.load(Ordering::SeqCst) > frozen);
/// task.abort();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Pausable<F> {
    // Boxed so that `Pausable` is `Unpin` whatever `F` is, without `unsafe` pin projection.
    inner: Pin<Box<F>>,
    gate: Arc<Gate>,
}

impl<F> Pausable<F> {
    /// Wraps `inner`. It is polled as usual until a pause is asked.
    pub fn new(inner: F) -> Self {
        Pausable {
            inner: Box::pin(inner),
            // Not polled yet, so not busy: a pause before the first poll is granted at once.
            gate: Gate::new(false),
        }
    }

    /// A cloneable handle for pausing the wrapped future or stream from elsewhere.
    pub fn handle(&self) -> PauseHandle {
        PauseHandle::new(Arc::clone(&self.gate))
    }
}

impl<F: Future> Future for Pausable<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if !this.gate.enter_poll(cx.waker()) {
            // Paused: the waker is kept, and woken by the last guard dropped.
            return Poll::Pending;
        }
        let out = this.inner.as_mut().poll(cx);
        // The acknowledgement: this poll is over, so a pause asked during it is granted now.
        this.gate.leave_poll(cx.waker());
        if out.is_ready() {
            this.gate.exit(Exit::Stopped);
        }
        out
    }
}

impl<S: Stream> Stream for Pausable<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        if !this.gate.enter_poll(cx.waker()) {
            return Poll::Pending;
        }
        let out = this.inner.as_mut().poll_next(cx);
        this.gate.leave_poll(cx.waker());
        if let Poll::Ready(None) = out {
            this.gate.exit(Exit::Stopped);
        }
        out
    }
}

impl<F> Drop for Pausable<F> {
    fn drop(&mut self) {
        // Dropped, it will never be polled again: callers waiting to pause it hear so.
        self.gate.exit(Exit::Stopped);
    }
}
