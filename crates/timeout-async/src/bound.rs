//! Bound any operation: one timeout around any future. Dropping the future at the deadline
//! cancels it, so the operation needs no help to stop.
//!
//! Why this file is a fraction of its threads twin: a future can be dropped at its deadline,
//! so one `tokio::time::timeout` is the whole mechanism; a running call on a thread cannot be
//! dropped, so the threads version needs a pool of workers, a token to cancel through, and
//! rules for an answer that comes late.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;

use crate::Error;

/// Runs `operation` and waits for it, at most `limit`.
///
/// At the deadline the caller gets [`Error::Elapsed`] and `operation` is dropped where it
/// stands: whatever it was waiting on — a socket, a timer, a lock — is released, and it makes
/// no further progress. A future that is ready at once wins even against a zero limit, since
/// tokio polls it before the timer. A panic becomes [`Error::Panicked`]. `Duration::MAX`
/// means no limit.
///
/// Outside any tokio runtime it returns [`Error::NoRuntime`] instead of panicking.
///
/// # Panics
///
/// Inside a runtime built without its time driver (no `enable_time` or `enable_all`), as
/// `tokio::time::timeout` itself does: tokio offers no way to ask whether a runtime has one.
///
/// ```
/// use std::time::Duration;
/// use bothways_timeout_async::{Error, run};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let panicked = run(Duration::from_secs(1), async { panic!("boom") }).await;
/// assert!(matches!(panicked, Err(Error::Panicked { .. })));
/// assert_eq!(run(Duration::from_secs(1), async { 7 }).await?, 7); // nothing to repair
/// # Ok::<(), Error>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn run<F: Future>(limit: Duration, operation: F) -> Result<F::Output, Error> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(Error::NoRuntime);
    }
    // Async: the operation is polled right here, in the caller's task, so a panic unwinds
    // through this poll; catching it keeps the caller's task alive.
    let guarded = AssertUnwindSafe(operation).catch_unwind();
    match tokio::time::timeout(limit, guarded).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(payload)) => Err(Error::Panicked {
            message: panic_message(payload),
        }),
        Err(_) => Err(Error::Elapsed { limit }),
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or("a non-string panic", |s| s)
            .into(),
    }
}
