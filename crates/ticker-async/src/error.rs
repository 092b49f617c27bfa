//! The one error enum of this crate: what a loop can end in besides a clean exit.

/// What a loop can end in besides a clean exit. Whatever the error, the batch gathered before
/// it has been handed on (unless the error is that the sink is gone).
///
/// ```
/// use bothways_ticker_async::{Config, Error, run};
/// use tokio_util::sync::CancellationToken;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let (sink, _) = async_channel::unbounded::<Vec<u8>>();
/// let config = Config { max_batch: 0, ..Config::default() };
/// let got = run(futures::stream::empty(), sink, config, CancellationToken::new()).await;
/// assert!(matches!(got, Err(Error::InvalidConfig { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP source broke the framing rules: a frame longer than the maximum, or one cut off
    /// by the end of the stream.
    #[error(transparent)]
    Wire(#[from] bothways_wire::Error),
    /// An I/O error on the TCP source, such as a reset by the peer.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The sink's receiver is gone, so a batch could not be handed on.
    #[error("the sink is closed; a batch of {unsent} events could not be handed on")]
    SinkClosed {
        /// Events in the batch that could not be handed on.
        unsent: usize,
    },
    /// The configuration cannot work (a zero period or a zero size cap).
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong with it.
        reason: &'static str,
    },
}
