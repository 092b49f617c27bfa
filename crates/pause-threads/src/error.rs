//! The one error enum of this crate: what a pause, or the worker, can end in.

use std::time::Duration;

/// What a pause, or the worker, can end in.
///
/// ```
/// use std::time::Duration;
/// use bothways_pause_threads::{Error, Worker};
///
/// let (tx, rx) = crossbeam_channel::bounded::<u32>(4);
/// let worker = Worker::spawn(rx, |_| std::thread::sleep(Duration::from_millis(300)))?;
/// tx.send(1)?;
/// std::thread::sleep(Duration::from_millis(50)); // the item is now in progress
/// // The item will not end within 10 ms: a typed error, and the worker goes on.
/// match worker.pause_within(Duration::from_millis(10)) {
///     Err(Error::PauseTimeout { waited }) => assert!(waited >= Duration::from_millis(10)),
///     other => panic!("expected PauseTimeout, got {other:?}"),
/// }
/// drop(tx);
/// worker.join()?;
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
    // Threads: a worker is an OS thread, and starting one can fail.
    /// The worker's thread could not be started.
    #[error("cannot start the worker thread: {0}")]
    Spawn(#[from] std::io::Error),
}
