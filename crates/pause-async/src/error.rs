//! The one error enum of this crate: what a pause, or the worker, can end in.

use std::time::Duration;

/// What a pause, or the worker, can end in.
///
/// ```
/// use std::time::Duration;
/// use bothways_pause_async::{Error, Worker};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let (tx, rx) = async_channel::bounded::<u32>(4);
/// let worker = Worker::spawn(rx, |_| tokio::time::sleep(Duration::from_millis(300)))?;
/// tx.send(1).await?;
/// tokio::time::sleep(Duration::from_millis(50)).await; // the item is now in progress
/// // The item will not end within 10 ms: a typed error, and the worker goes on.
/// match worker.pause_within(Duration::from_millis(10)).await {
///     Err(Error::PauseTimeout { waited }) => assert!(waited >= Duration::from_millis(10)),
///     other => panic!("expected PauseTimeout, got {other:?}"),
/// }
/// drop(tx);
/// worker.join().await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The worker was still inside an item when the pause's deadline passed; the pause was
    /// withdrawn and the worker left running.
    #[error("could not pause: an item was still in progress after {waited:?}")]
    PauseTimeout {
        /// How long the caller waited.
        waited: Duration,
    },
    /// The worker's effect panicked; callers get this instead of a hang.
    #[error("the worker panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// The worker has stopped: its input was closed and drained.
    #[error("the worker has stopped: its input is closed and drained")]
    Stopped,
    // Async: a worker is a task, and a task needs a runtime to be spawned on.
    /// Called outside a tokio runtime, where no task can be spawned and no timer can fire.
    #[error("no tokio runtime: call from within one, with its time driver enabled")]
    NoRuntime,
}
