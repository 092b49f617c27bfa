//! The one error enum of this crate: what an operation under a deadline can end in.

use std::time::Duration;

/// What an operation under a deadline can end in.
///
/// ```
/// use std::time::Duration;
/// use bothways_timeout_async::{Error, fetch_line};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// // Nobody listens on this port any more: a typed error at once, not a wait.
/// let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
/// match fetch_line(addr, Duration::from_secs(5), 64).await {
///     Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
///     other => panic!("expected a refused connection, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
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
    // Async only: a timer needs a runtime to fire it.
    /// Called outside a tokio runtime, where no timer can fire.
    #[error("no tokio runtime: call from within one, with its time driver enabled")]
    NoRuntime,
}
