//! The one error enum of this crate: what an operation under a deadline can end in.

use std::time::Duration;

/// What an operation under a deadline can end in.
///
/// ```
/// use std::time::Duration;
/// use bothways_timeout_threads::{Error, fetch_line};
///
/// // Nobody listens on this port any more: a typed error at once, not a wait.
/// let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
/// match fetch_line(addr, Duration::from_secs(5), 64) {
///     Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
///     other => panic!("expected a refused connection, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The deadline passed before the operation finished.
    #[error("the operation did not finish within {limit:?}")]
    Elapsed {
        /// The limit the operation was given.
        limit: Duration,
    },
    /// The operation panicked; the caller gets this instead of the unwind.
    #[error("the operation panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// The peer's message broke the framing rules (too long, or cut off).
    #[error(transparent)]
    Wire(#[from] bothways_wire::Error),
    /// An I/O error other than the deadline.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    // Threads only: a pool is a thing you build, size and can get wrong.
    /// A pool was asked for zero workers.
    #[error("a pool needs at least one worker")]
    NoWorkers,
    /// The worker running the operation, or every worker, is gone: nobody can answer.
    #[error("the pool's worker exited without answering")]
    WorkersGone,
}
